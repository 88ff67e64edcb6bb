// Theater: a WebAssembly actor runtime.
//
// SubscriptionHub: bounded per-subscriber queues with strict or lossy overflow (subscription.h).
#include "theater/subscription.h"

#include <algorithm>
#include <utility>

namespace theater::chain {

bool ByteBudget::TryReserve(size_t n) {
  size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used > limit_ || n > limit_ - used) return false;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  if (parent_ && !parent_->TryReserve(n)) {
    used_.fetch_sub(n, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void ByteBudget::Charge(size_t n) {
  used_.fetch_add(n, std::memory_order_relaxed);
  if (parent_) parent_->Charge(n);
}

void ByteBudget::Release(size_t n) {
  used_.fetch_sub(n, std::memory_order_relaxed);
  if (parent_) parent_->Release(n);
}

size_t DeliveryBytes(std::string_view actor_id, const Event& event) {
  return sizeof(Delivery) + actor_id.size() + event.type.size() + event.payload.size() +
         (event.description ? event.description->size() : 0);
}

bool SubscriptionHub::Queue::Deliver(std::string_view actor, const Event& event, size_t index) {
  MutexLock lock(mu);
  if (closed) return false;
  if (rate_limit > 0) {
    const auto now = std::chrono::steady_clock::now();
    tokens = std::min(rate_limit,
                      tokens + std::chrono::duration<double>(now - refilled).count() * rate_limit);
    refilled = now;
    if (tokens < 1) {
      dropped++;
      return false;
    }
    tokens -= 1;
  }
  const size_t cost = DeliveryBytes(actor, event);
  // One event always fits an empty queue, so an event larger than the limit is not lost for good
  // (a shared budget may still refuse it).
  auto fits = [&]() THEATER_REQUIRES(mu) {
    return events_queued < capacity &&
           (events_queued == 0 || (bytes_queued <= max_bytes && cost <= max_bytes - bytes_queued));
  };
  if (policy == OverflowPolicy::kLossy) {
    if (!fits() || (budget && !budget->TryReserve(cost))) {
      dropped++;
      return false;
    }
  } else {
    if (!fits()) {
      lock.Wait(not_full, [&]() THEATER_REQUIRES(mu) { return fits() || closed; });
      if (closed) return false;
    }
    if (budget) budget->Charge(cost);
  }
  bytes_queued += cost;
  if (dropped > 0) {
    // The gap marker sits exactly where the events went missing.
    Delivery gap;
    gap.dropped = dropped;
    items.push_back(std::move(gap));
    dropped = 0;
  }
  const bool was_empty = items.empty();
  items.push_back(Delivery{std::string(actor), index, event, 0});
  events_queued++;
  not_empty.notify_one();
  if (was_empty && wakeup) {
    std::function<void()> wake = wakeup;
    lock.Unlock();
    wake();
  }
  return true;
}

void SubscriptionHub::Queue::Close() {
  MutexLock lock(mu);
  closed = true;
  not_full.notify_all();
  not_empty.notify_all();
}

void SubscriptionHub::Queue::Released(size_t bytes) {
  bytes_queued -= std::min(bytes, bytes_queued);
  if (budget) budget->Release(bytes);
}

void SubscriptionHub::Queue::Abandon() {
  std::deque<Delivery> dropped_items;
  {
    MutexLock lock(mu);
    closed = true;
    dropped_items.swap(items);
    if (budget) budget->Release(bytes_queued);
    bytes_queued = 0;
    events_queued = 0;
    dropped = 0;
    not_full.notify_all();
    not_empty.notify_all();
  }
  // The events are freed here, outside the lock.
}

SubscriptionHub::Subscription& SubscriptionHub::Subscription::operator=(
    Subscription&& other) noexcept {
  if (this != &other) {
    if (queue_) queue_->Abandon();
    queue_ = std::move(other.queue_);
  }
  return *this;
}

SubscriptionHub::Subscription::~Subscription() {
  if (queue_) queue_->Abandon();
}

void SubscriptionHub::Subscription::Close() {
  if (queue_) queue_->Close();
}

void SubscriptionHub::Subscription::SetWakeup(std::function<void()> wakeup) {
  if (!queue_) return;
  MutexLock lock(queue_->mu);
  queue_->wakeup = std::move(wakeup);
  if (!queue_->items.empty() && queue_->wakeup) {
    std::function<void()> wake = queue_->wakeup;
    lock.Unlock();
    wake();
  }
}

void SubscriptionHub::Subscription::SetByteLimits(size_t max_bytes,
                                                  std::shared_ptr<ByteBudget> shared) {
  if (!queue_) return;
  MutexLock lock(queue_->mu);
  queue_->max_bytes = max_bytes;
  if (queue_->budget) queue_->budget->Release(queue_->bytes_queued);
  queue_->budget = std::move(shared);
  if (queue_->budget) queue_->budget->Charge(queue_->bytes_queued);
}

void SubscriptionHub::Subscription::SetRateLimit(double per_second) {
  if (!queue_) return;
  MutexLock lock(queue_->mu);
  queue_->rate_limit = per_second > 0 ? per_second : 0;
  queue_->tokens = queue_->rate_limit;
  queue_->refilled = std::chrono::steady_clock::now();
}

size_t SubscriptionHub::Subscription::queued_bytes() const {
  if (!queue_) return 0;
  MutexLock lock(queue_->mu);
  return queue_->bytes_queued;
}

std::optional<Delivery> SubscriptionHub::Subscription::Next(std::chrono::milliseconds timeout) {
  if (!queue_) return std::nullopt;
  Queue& q = *queue_;
  MutexLock lock(q.mu);
  lock.WaitFor(q.not_empty, timeout, [&]() THEATER_REQUIRES(q.mu) {
    return !q.items.empty() || q.dropped > 0 || q.closed;
  });
  if (q.items.empty()) {
    if (q.dropped == 0) return std::nullopt;
    // Events were dropped and nothing came after them yet: report the gap now.
    Delivery gap;
    gap.dropped = q.dropped;
    q.dropped = 0;
    return gap;
  }
  Delivery d = std::move(q.items.front());
  q.items.pop_front();
  if (!d.is_gap()) {
    q.events_queued--;
    q.Released(DeliveryBytes(d.actor_id, d.event));
    q.not_full.notify_one();
  }
  return d;
}

SubscriptionHub::~SubscriptionHub() {
  Close();
}

SubscriptionHub::Subscription SubscriptionHub::Subscribe(size_t capacity, OverflowPolicy policy,
                                                         std::string actor_id) {
  auto queue = std::make_shared<Queue>(std::max<size_t>(capacity, 1), policy, std::move(actor_id));
  MutexLock lock(mu_);
  queues_.push_back(queue);
  registered_.store(queues_.size(), std::memory_order_release);
  return Subscription(std::move(queue));
}

size_t SubscriptionHub::Publish(std::string_view actor_id, const Event& event, size_t index) {
  // The common case by far: nobody listens. Every chain append of every actor comes here, so it
  // must not take the hub's lock. (A subscription registered concurrently may miss this event,
  // as it would had it subscribed a moment later.)
  if (registered_.load(std::memory_order_acquire) == 0) return 0;
  std::vector<std::shared_ptr<Queue>> targets;
  {
    MutexLock lock(mu_);
    // Forget closed subscriptions.
    std::erase_if(queues_, [](const std::shared_ptr<Queue>& q) {
      MutexLock qlock(q->mu);
      return q->closed;
    });
    registered_.store(queues_.size(), std::memory_order_release);
    for (const auto& q : queues_) {
      if (q->actor_id.empty() || q->actor_id == actor_id) targets.push_back(q);
    }
  }
  // Deliver without the hub lock, so a waiting strict delivery does not block (un)subscribing.
  size_t delivered = 0;
  for (const auto& q : targets) {
    if (q->Deliver(actor_id, event, index)) delivered++;
  }
  return delivered;
}

EventChain::Observer SubscriptionHub::ObserverFor(std::string actor_id) {
  return [this, actor_id = std::move(actor_id)](const Event& event, size_t index) {
    Publish(actor_id, event, index);
  };
}

size_t SubscriptionHub::subscriber_count() const {
  MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& q : queues_) {
    MutexLock qlock(q->mu);
    if (!q->closed) n++;
  }
  return n;
}

size_t SubscriptionHub::subscriber_count(std::string_view actor_id) const {
  MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& q : queues_) {
    if (q->actor_id != actor_id) continue;
    MutexLock qlock(q->mu);
    if (!q->closed) n++;
  }
  return n;
}

void SubscriptionHub::Close() {
  std::vector<std::shared_ptr<Queue>> queues;
  {
    MutexLock lock(mu_);
    queues.swap(queues_);
    registered_.store(0, std::memory_order_release);
  }
  for (const auto& q : queues) q->Close();
}

}  // namespace theater::chain
