// Theater: a WebAssembly actor runtime.
#include <algorithm>

#include "theater/chain.h"

#include "common/clock.h"

namespace theater::chain {

EventChain::EventChain(Clock clock) : clock_(clock ? std::move(clock) : Clock(WallClockMs)) {}

Result<std::unique_ptr<EventChain>> EventChain::FromEvents(std::vector<Event> events, Clock clock) {
  THEATER_RETURN_IF_ERROR(VerifyEvents(events).WithContext("restoring an event chain"));
  auto chain = std::make_unique<EventChain>(std::move(clock));
  chain->events_.assign(std::make_move_iterator(events.begin()),
                        std::make_move_iterator(events.end()));
  return chain;
}

Hash EventChain::Append(std::string type, std::vector<uint8_t> payload,
                        std::optional<std::string> description) {
  uint64_t now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<Hash> parent = events_.empty() ? anchor_ : std::optional<Hash>(events_.back().hash);
  if (events_.size() >= max_events_) {
    anchor_ = events_.front().hash;
    events_.pop_front();
    ++dropped_;
  }
  Event& e = events_.emplace_back();
  e.parent = parent;
  e.type = std::move(type);
  e.payload = std::move(payload);
  e.timestamp_ms = now;
  e.description = std::move(description);
  e.hash = HashEvent(e.parent, e.type, e.payload);
  payload_bytes_ += e.payload.size();
  for (const auto& [id, observer] : observers_) observer(e, dropped_ + events_.size() - 1);
  return e.hash;
}

Hash EventChain::Append(const Payload& payload, std::optional<std::string> description) {
  return Append(EventTypeFor(payload), EncodePayload(payload), std::move(description));
}

size_t EventChain::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_ + events_.size();
}

void EventChain::SetMemoryLimit(size_t max_events) {
  std::lock_guard<std::mutex> lock(mu_);
  max_events_ = std::max<size_t>(max_events, 1);
  while (events_.size() > max_events_) {
    anchor_ = events_.front().hash;
    events_.pop_front();
    ++dropped_;
  }
}

uint64_t EventChain::payload_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return payload_bytes_;
}

size_t EventChain::first_index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

std::optional<Hash> EventChain::anchor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return anchor_;
}

std::vector<Event> EventChain::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<Event>(events_.begin(), events_.end());
}

std::optional<Event> EventChain::event(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (index < dropped_ || index - dropped_ >= events_.size()) return std::nullopt;
  return events_[index - dropped_];
}

std::optional<Hash> EventChain::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (events_.empty()) return anchor_;
  return events_.back().hash;
}

Status EventChain::Verify() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> held(events_.begin(), events_.end());
  return VerifyEvents(held, anchor_, dropped_);
}

EventChain::ObserverId EventChain::AddObserver(Observer observer) {
  std::lock_guard<std::mutex> lock(mu_);
  ObserverId id = next_observer_id_++;
  observers_.emplace(id, std::move(observer));
  return id;
}

void EventChain::RemoveObserver(ObserverId id) {
  std::lock_guard<std::mutex> lock(mu_);
  observers_.erase(id);
}

}  // namespace theater::chain
