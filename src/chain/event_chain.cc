// Theater: a WebAssembly actor runtime.
#include <algorithm>

#include "theater/chain.h"

#include "common/clock.h"

namespace theater::chain {

EventChain::EventChain(Clock clock) : clock_(clock ? std::move(clock) : Clock(WallClockMs)) {}

Result<std::unique_ptr<EventChain>> EventChain::FromEvents(std::vector<Event> events, Clock clock) {
  THEATER_RETURN_IF_ERROR(VerifyEvents(events).WithContext("restoring an event chain"));
  auto chain = std::make_unique<EventChain>(std::move(clock));
  {
    // Nobody else sees the chain yet: the lock is for the analysis (and is never contended).
    MutexLock lock(chain->mu_);
    chain->ring_ = std::move(events);
    if (!chain->ring_.empty()) chain->head_ = chain->ring_.back().hash;
  }
  return chain;
}

std::unique_ptr<EventChain> EventChain::Continuing(size_t next_index, const Hash& head,
                                                  Clock clock) {
  auto chain = std::make_unique<EventChain>(std::move(clock));
  {
    MutexLock lock(chain->mu_);  // as in FromEvents: nobody else sees the chain yet
    // As if every earlier event had been dropped from memory: the next one links to `head`.
    chain->dropped_ = next_index;
    chain->anchor_ = head;
    chain->head_ = head;
  }
  return chain;
}

Event& EventChain::NextSlotLocked() {
  Event* slot;
  if (ring_.size() < max_events_) {
    slot = &ring_.emplace_back();
  } else {
    // Full: the oldest slot becomes the newest, keeping its buffers.
    slot = &ring_[start_];
    anchor_ = slot->hash;
    start_ = (start_ + 1) % ring_.size();
    ++dropped_;
    slot->type.clear();
    slot->payload.clear();
  }
  slot->parent = head_;
  return *slot;
}

Hash EventChain::CommitLocked(Event& event, uint64_t timestamp_ms,
                              std::optional<std::string> description, uint64_t* delivery) {
  event.timestamp_ms = timestamp_ms;
  event.description = std::move(description);
  const size_t index = dropped_ + ring_.size() - 1;
  std::optional<Hash> known = known_hash_ ? known_hash_(event, index) : std::nullopt;
  event.hash = known ? *known : HashEvent(event.parent, event.type, event.payload);
  head_ = event.hash;
  payload_bytes_ += event.payload.size();
  *delivery = 0;
  if (observer_list_ != nullptr && ObservedLocked()) {
    MutexLock lock(delivery_mu_);
    if (outbox_size_ == outbox_.size()) outbox_.emplace_back();
    Outgoing& out = outbox_[outbox_size_++];
    out.event = event;  // copy-assigned into a spent entry: its buffers are reused
    out.index = index;
    out.observers = observer_list_;
    *delivery = ++queued_;
  }
  return event.hash;
}

void EventChain::DeliverThrough(uint64_t through) {
  // Spent entries keep payload buffers up to this size; larger ones are freed.
  constexpr size_t kKeptBuffer = 64 * 1024;
  MutexLock lock(delivery_mu_);
  while (delivered_ < through) {
    if (delivering_) {
      lock.Wait(delivered_cv_);
      continue;
    }
    delivering_ = true;
    std::swap(outbox_, batch_);
    const size_t count = outbox_size_;
    outbox_size_ = 0;
    const uint64_t last = queued_;
    lock.Unlock();
    for (size_t i = 0; i < count; ++i) {
      Outgoing& out = batch_[i];
      for (const Registered& registered : *out.observers) {
        if (registered.interest != nullptr &&
            registered.interest->load(std::memory_order_acquire) == 0) {
          continue;
        }
        registered.observer(out.event, out.index);
      }
      out.observers.reset();
      if (out.event.payload.capacity() > kKeptBuffer) std::vector<uint8_t>().swap(out.event.payload);
    }
    lock.Lock();
    delivered_ = last;
    delivering_ = false;
    delivered_cv_.notify_all();
  }
}

void EventChain::SetKnownHash(KnownHash known) {
  MutexLock lock(mu_);
  known_hash_ = std::move(known);
}

Hash EventChain::Append(std::string type, std::vector<uint8_t> payload,
                        std::optional<std::string> description) {
  const uint64_t now = clock_();
  uint64_t delivery = 0;
  Hash hash;
  {
    MutexLock lock(mu_);
    Event& event = NextSlotLocked();
    event.type = std::move(type);
    event.payload = std::move(payload);
    hash = CommitLocked(event, now, std::move(description), &delivery);
  }
  if (delivery != 0) DeliverThrough(delivery);
  return hash;
}

Hash EventChain::Append(const Payload& payload, std::optional<std::string> description) {
  return AppendWith(
      EventTypeFor(payload), [&](std::vector<uint8_t>& out) { EncodePayloadTo(payload, out); },
      std::move(description));
}

size_t EventChain::size() const {
  MutexLock lock(mu_);
  return dropped_ + ring_.size();
}

void EventChain::LinearizeLocked() {
  std::rotate(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(start_), ring_.end());
  start_ = 0;
}

void EventChain::SetMemoryLimit(size_t max_events) {
  MutexLock lock(mu_);
  LinearizeLocked();
  max_events_ = std::max<size_t>(max_events, 1);
  if (ring_.size() > max_events_) {
    const size_t excess = ring_.size() - max_events_;
    anchor_ = ring_[excess - 1].hash;
    dropped_ += excess;
    ring_.erase(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(excess));
  }
}

uint64_t EventChain::payload_bytes() const {
  MutexLock lock(mu_);
  return payload_bytes_;
}

size_t EventChain::first_index() const {
  MutexLock lock(mu_);
  return dropped_;
}

std::optional<Hash> EventChain::anchor() const {
  MutexLock lock(mu_);
  return anchor_;
}

std::vector<Event> EventChain::events() const {
  MutexLock lock(mu_);
  std::vector<Event> out;
  out.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) out.push_back(HeldLocked(i));
  return out;
}

std::optional<Event> EventChain::event(size_t index) const {
  MutexLock lock(mu_);
  if (index < dropped_ || index - dropped_ >= ring_.size()) return std::nullopt;
  return HeldLocked(index - dropped_);
}

std::optional<Hash> EventChain::head() const {
  MutexLock lock(mu_);
  return head_;
}

EventChain::Tail EventChain::tail() const {
  Tail tail;
  MutexLock lock(mu_);
  tail.events.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) tail.events.push_back(HeldLocked(i));
  tail.first_index = dropped_;
  tail.anchor = anchor_;
  return tail;
}

Status EventChain::Verify() const {
  Tail held = tail();
  return VerifyEvents(held.events, held.anchor, held.first_index);
}

bool EventChain::ObservedLocked() const {
  if (observed_always_) return true;
  for (const std::atomic<size_t>* interest : interests_) {
    if (interest->load(std::memory_order_acquire) != 0) return true;
  }
  return false;
}

void EventChain::SnapshotObserversLocked() {
  observed_always_ = false;
  interests_.clear();
  if (observers_.empty()) {
    observer_list_ = nullptr;
    return;
  }
  auto list = std::make_shared<std::vector<Registered>>();
  for (const auto& [id, registered] : observers_) {
    list->push_back(registered);
    if (registered.interest == nullptr) {
      observed_always_ = true;
    } else {
      interests_.push_back(registered.interest);
    }
  }
  observer_list_ = std::move(list);
}

EventChain::ObserverId EventChain::AddObserver(Observer observer) {
  return AddObserver(std::move(observer), nullptr);
}

EventChain::ObserverId EventChain::AddObserver(Observer observer,
                                               const std::atomic<size_t>* interest) {
  MutexLock lock(mu_);
  ObserverId id = next_observer_id_++;
  observers_.emplace(id, Registered{std::move(observer), interest});
  SnapshotObserversLocked();
  return id;
}

void EventChain::RemoveObserver(ObserverId id) {
  uint64_t queued = 0;
  {
    MutexLock lock(mu_);
    observers_.erase(id);
    SnapshotObserversLocked();
    MutexLock delivery_lock(delivery_mu_);
    queued = queued_;
  }
  // Events queued before now carry the old list: deliver them (or wait for it) before returning.
  DeliverThrough(queued);
}

}  // namespace theater::chain
