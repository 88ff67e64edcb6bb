// Theater: a WebAssembly actor runtime.
//
// SubscriptionHub: fans chain events out to subscribers, each with its own bounded queue.
//
// A subscriber picks an overflow policy for when its queue is full:
//   * kStrict: the publisher waits until the subscriber has made room (or unsubscribes). Nothing
//     is lost; a slow subscriber slows every publisher down.
//   * kLossy: the event is dropped for that subscriber only, and the subscriber later receives a
//     gap marker (Delivery::dropped > 0) saying how many events it missed at that point.
// A subscriber's queue holds at most `capacity` events plus one gap marker per event.
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
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"

namespace theater::chain {

enum class OverflowPolicy { kStrict, kLossy };

// One item a subscriber receives: an event, or (dropped > 0) a gap marker.
struct Delivery {
  std::string actor_id;
  size_t index = 0;      // the event's index in its chain (events only)
  Event event;           // (events only)
  uint64_t dropped = 0;  // > 0: a gap marker; this many events were dropped here

  bool is_gap() const { return dropped > 0; }
};

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
  // EventChain runs observers under its lock: with a full kStrict subscriber the append (and
  // every reader of that chain) waits for the subscriber. The hub must outlive the registration.
  EventChain::Observer ObserverFor(std::string actor_id);

  size_t subscriber_count() const;

  // Closes every subscription (see Subscription::Close).
  void Close();

 private:
  struct Queue {
    Queue(size_t capacity, OverflowPolicy policy, std::string actor_id)
        : capacity(capacity), policy(policy), actor_id(std::move(actor_id)) {}
    bool Deliver(std::string_view actor, const Event& event, size_t index);
    void Close();

    const size_t capacity;
    const OverflowPolicy policy;
    const std::string actor_id;  // empty: every actor

    std::mutex mu;
    std::condition_variable not_empty;
    std::condition_variable not_full;
    std::deque<Delivery> items;
    size_t events_queued = 0;  // items that are events, not gap markers
    uint64_t dropped = 0;      // dropped since the last gap marker was queued
    bool closed = false;
    std::function<void()> wakeup;
  };

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Queue>> queues_;
  // queues_.size() as of the last change, read without the lock by Publish.
  std::atomic<size_t> registered_{0};
};

}  // namespace theater::chain
