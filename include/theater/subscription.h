// Theater: a WebAssembly actor runtime.
//
// SubscriptionHub: fans chain events out to subscribers, each with its own bounded queue.
//
// A subscriber picks an overflow policy for when its queue is full:
//   * kStrict: the publisher waits until the subscriber has made room (or unsubscribes). Nothing
//     is lost; a slow subscriber slows every publisher down.
//   * kLossy: the event is dropped for that subscriber only, and the subscriber later receives a
//     gap marker (Delivery::dropped > 0) saying how many events it missed at that point.
// A subscriber's queue holds at most `capacity` events plus one gap marker per event, and (once
// Subscription::SetByteLimits is called) at most a number of bytes: its own limit, and shares of
// ByteBudgets common to several queues (e.g. every subscriber of one client, of one server). A
// lossy queue past any of them drops, with the same gap marker; a strict one waits for its own
// byte limit and is never refused by a shared budget (it is charged to it all the same).
//
// Bytes are counted as DeliveryBytes(): the event's type, payload and description, the actor id
// and the size of a Delivery. What a subscriber holds is released as it reads, and all at once
// when its handle is destroyed: a subscriber that never reads and then leaves frees everything.
//
// Thread-safety: every method may be called from any thread. Publishers may run concurrently;
// each subscriber sees the events of one publisher in publishing order. A Subscription is used
// by one consumer at a time (Next() from several threads is safe but splits the stream).
//
// Ownership: the hub shares each subscriber's queue with its Subscription handle. Destroying the
// handle (or Close()) unsubscribes and releases publishers waiting on it. Destroying the hub
// closes every subscription: consumers drain what is queued, then Next() returns nullopt.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"
#include "theater/mutex.h"

namespace theater::chain {

enum class OverflowPolicy { kStrict, kLossy };

// A number of bytes several subscriber queues draw on together, with an optional parent that
// every reservation is charged to as well (a client's budget inside a server's). Thread-safe
// (atomic counters); shared by the queues that use it, and each budget holds its parent, so a
// chain of budgets lives as long as its last user.
class ByteBudget {
 public:
  explicit ByteBudget(size_t limit, std::shared_ptr<ByteBudget> parent = nullptr)
      : limit_(limit), parent_(std::move(parent)) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Reserves `n` bytes here and in every ancestor, or nothing when one of them lacks room.
  bool TryReserve(size_t n);
  // Reserves `n` bytes here and in every ancestor even past their limits.
  void Charge(size_t n);
  // Gives back `n` reserved (or charged) bytes here and in every ancestor.
  void Release(size_t n);

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  const std::shared_ptr<ByteBudget> parent_;
  std::atomic<size_t> used_{0};
};

// One item a subscriber receives: an event, or (dropped > 0) a gap marker.
struct Delivery {
  std::string actor_id;
  size_t index = 0;      // the event's index in its chain (events only)
  Event event;           // (events only)
  uint64_t dropped = 0;  // > 0: a gap marker; this many events were dropped here

  bool is_gap() const { return dropped > 0; }
};

// The bytes a queued delivery of `event` for `actor_id` is counted as (its heap parts and the
// Delivery itself; close to what it really holds).
size_t DeliveryBytes(std::string_view actor_id, const Event& event);

class SubscriptionHub {
 private:
  struct Queue;

 public:
  // A subscriber's handle. Move-only; destroying it unsubscribes.
  class Subscription {
   public:
    Subscription(Subscription&&) = default;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();

    // The next delivery, waiting up to `timeout`; nullopt on timeout, or once the subscription is
    // closed and its queue drained.
    std::optional<Delivery> Next(std::chrono::milliseconds timeout);
    // The next delivery if one is ready.
    std::optional<Delivery> TryNext() { return Next(std::chrono::milliseconds(0)); }
    // Unsubscribes: no new events arrive, waiting publishers are released, queued ones remain.
    void Close();
    // Calls `wakeup` each time the queue goes from empty to holding something, on the
    // publisher's thread, after the queue's lock is released (it must be quick: e.g. post a
    // drain to an event loop). A consumer driven by it drains with TryNext() until nullopt.
    void SetWakeup(std::function<void()> wakeup);
    // Bounds the queue in bytes (DeliveryBytes): at most `max_bytes` of its own (but always room
    // for one event when it is empty) and, when `shared` is set, only what `shared` (and its
    // ancestors) can reserve. Deliveries queued before the call are charged to `shared` as they
    // are. Call once, right after subscribing.
    void SetByteLimits(size_t max_bytes, std::shared_ptr<ByteBudget> shared = nullptr);
    // The bytes queued now (DeliveryBytes of every queued event).
    size_t queued_bytes() const;
    // Delivers at most `per_second` events a second (a token bucket holding a second's worth);
    // the others are dropped before they are copied, and reported as gaps like those of a full
    // kLossy queue. 0: no limit. For viewers that cannot use more (a dashboard's live list), so
    // that a fast actor costs them, and itself, no more than a slow one.
    void SetRateLimit(double per_second);

   private:
    friend class SubscriptionHub;
    explicit Subscription(std::shared_ptr<Queue> queue) : queue_(std::move(queue)) {}
    std::shared_ptr<Queue> queue_;
  };

  SubscriptionHub() = default;
  SubscriptionHub(const SubscriptionHub&) = delete;
  SubscriptionHub& operator=(const SubscriptionHub&) = delete;
  ~SubscriptionHub();

  // Subscribes to the events of `actor_id` (every actor when it is empty). `capacity` is at
  // least 1.
  Subscription Subscribe(size_t capacity, OverflowPolicy policy, std::string actor_id = "");

  // Delivers `event` (index `index` of `actor_id`'s chain) to every matching subscriber. Blocks
  // while a matching kStrict subscriber's queue is full. Returns how many subscribers got it.
  size_t Publish(std::string_view actor_id, const Event& event, size_t index);

  // An observer for EventChain::AddObserver that publishes the chain's events as `actor_id`.
  // EventChain runs observers outside its lock, but an append returns only once its event is
  // delivered: with a full kStrict subscriber the append waits for the subscriber (readers of
  // the chain do not). The hub must outlive the registration.
  EventChain::Observer ObserverFor(std::string actor_id);
  // Nonzero while any subscription may be open: the interest to register ObserverFor's observer
  // with (EventChain::AddObserver), so that a chain nobody watches queues nothing for the hub.
  const std::atomic<size_t>* interest() const { return &registered_; }

  size_t subscriber_count() const;
  // The open subscriptions to `actor_id`'s events alone (not those to every actor's).
  size_t subscriber_count(std::string_view actor_id) const;

  // Closes every subscription (see Subscription::Close).
  void Close();

 private:
  struct Queue {
    Queue(size_t capacity, OverflowPolicy policy, std::string actor_id)
        : capacity(capacity), policy(policy), actor_id(std::move(actor_id)) {}
    bool Deliver(std::string_view actor, const Event& event, size_t index);
    void Close();
    // Close() and drop whatever is queued, releasing its bytes (the handle is gone: nobody reads).
    void Abandon();
    // Takes the bytes of a delivery leaving the queue off the counts.
    void Released(size_t bytes) THEATER_REQUIRES(mu);

    const size_t capacity;
    const OverflowPolicy policy;
    const std::string actor_id;  // empty: every actor

    Mutex mu;
    std::condition_variable not_empty;
    std::condition_variable not_full;
    std::deque<Delivery> items THEATER_GUARDED_BY(mu);
    // Items that are events, not gap markers.
    size_t events_queued THEATER_GUARDED_BY(mu) = 0;
    // DeliveryBytes of the queued events.
    size_t bytes_queued THEATER_GUARDED_BY(mu) = 0;
    size_t max_bytes THEATER_GUARDED_BY(mu) = SIZE_MAX;
    // Shared with other queues; may be null.
    std::shared_ptr<ByteBudget> budget THEATER_GUARDED_BY(mu);
    // Dropped since the last gap marker was queued.
    uint64_t dropped THEATER_GUARDED_BY(mu) = 0;
    double rate_limit THEATER_GUARDED_BY(mu) = 0;  // SetRateLimit; 0: none
    double tokens THEATER_GUARDED_BY(mu) = 0;
    std::chrono::steady_clock::time_point refilled THEATER_GUARDED_BY(mu){};
    bool closed THEATER_GUARDED_BY(mu) = false;
    std::function<void()> wakeup THEATER_GUARDED_BY(mu);
  };

  mutable Mutex mu_;
  std::vector<std::shared_ptr<Queue>> queues_ THEATER_GUARDED_BY(mu_);
  // queues_.size() as of the last change, read without the lock by Publish.
  std::atomic<size_t> registered_{0};
};

}  // namespace theater::chain
