// Theater: a WebAssembly actor runtime.
//
// Tests of SubscriptionHub: ordering, filtering, strict back-pressure, lossy gap markers, closing.
#include "theater/subscription.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "testing/wait_for.h"

namespace theater::chain {
namespace {

using namespace std::chrono_literals;
using testing_util::WaitFor;

Event MakeEvent(size_t i) {
  Event e;
  e.type = "test";
  e.payload = {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)};
  e.hash = HashEvent(e.parent, e.type, e.payload);
  return e;
}

TEST(SubscriptionTest, DeliversInOrderAndFiltersByActor) {
  SubscriptionHub hub;
  auto all = hub.Subscribe(16, OverflowPolicy::kStrict);
  auto only_b = hub.Subscribe(16, OverflowPolicy::kLossy, "b");
  EXPECT_EQ(hub.subscriber_count(), 2u);
  EXPECT_EQ(hub.Publish("a", MakeEvent(0), 0), 1u);
  EXPECT_EQ(hub.Publish("b", MakeEvent(1), 0), 2u);
  EXPECT_EQ(hub.Publish("a", MakeEvent(2), 1), 1u);

  for (auto [actor, index, payload] : {std::tuple{"a", 0, 0}, {"b", 0, 1}, {"a", 1, 2}}) {
    auto d = all.TryNext();
    ASSERT_TRUE(d.has_value());
    EXPECT_FALSE(d->is_gap());
    EXPECT_EQ(d->actor_id, actor);
    EXPECT_EQ(d->index, static_cast<size_t>(index));
    EXPECT_EQ(d->event, MakeEvent(payload));
  }
  EXPECT_FALSE(all.TryNext().has_value());
  auto d = only_b.TryNext();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->actor_id, "b");
  EXPECT_FALSE(only_b.TryNext().has_value());
}

TEST(SubscriptionTest, ARateLimitDeliversABurstThenCountsTheRestAsGaps) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(100000, OverflowPolicy::kLossy);
  sub.SetRateLimit(10);  // a burst of 10, then 10 a second
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 1000; ++i) hub.Publish("a", MakeEvent(i), i);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  size_t delivered = 0;
  uint64_t counted = 0;
  while (auto d = sub.TryNext()) {
    if (d->is_gap()) {
      counted += d->dropped;
    } else {
      EXPECT_EQ(d->index, delivered) << "the burst is the first events, in order";
      ++delivered;
    }
  }
  EXPECT_GE(delivered, 10u);
  EXPECT_LE(delivered, 10 + static_cast<size_t>(10 * took) + 1);  // refilled while publishing
  EXPECT_EQ(delivered + counted, 1000u) << "every event is delivered or counted";
  // A second later the bucket holds a second's worth again.
  std::this_thread::sleep_for(1100ms);
  const auto again = std::chrono::steady_clock::now();
  for (size_t i = 1000; i < 1020; ++i) hub.Publish("a", MakeEvent(i), i);
  const double took_again =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count();
  size_t later = 0;
  while (auto d = sub.TryNext()) later += d->is_gap() ? 0 : 1;
  EXPECT_GE(later, 10u);
  EXPECT_LE(later, 10 + static_cast<size_t>(10 * took_again) + 1);
}

TEST(SubscriptionTest, LossyDropsAndReportsTheGapWhereItHappened) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(4, OverflowPolicy::kLossy);
  for (size_t i = 0; i < 10; ++i) hub.Publish("a", MakeEvent(i), i);  // never blocks
  for (size_t i = 0; i < 4; ++i) {
    auto d = sub.TryNext();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->index, i);
  }
  // Nothing followed the drop yet: the gap is reported on its own.
  auto gap = sub.TryNext();
  ASSERT_TRUE(gap.has_value());
  EXPECT_TRUE(gap->is_gap());
  EXPECT_EQ(gap->dropped, 6u);
  EXPECT_FALSE(sub.TryNext().has_value());

  // A drop followed by more events: the marker comes before the first event after the gap.
  for (size_t i = 10; i < 16; ++i) hub.Publish("a", MakeEvent(i), i);  // 14, 15 dropped
  for (size_t i = 10; i < 12; ++i) ASSERT_EQ(sub.TryNext()->index, i);
  hub.Publish("a", MakeEvent(16), 16);
  for (size_t i = 12; i < 14; ++i) ASSERT_EQ(sub.TryNext()->index, i);
  gap = sub.TryNext();
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(gap->dropped, 2u);
  EXPECT_EQ(sub.TryNext()->index, 16u);
  EXPECT_FALSE(sub.TryNext().has_value());
}

TEST(SubscriptionTest, StrictMakesThePublisherWait) {
  SubscriptionHub hub;
  auto slow = hub.Subscribe(2, OverflowPolicy::kStrict);
  auto lossy = hub.Subscribe(2, OverflowPolicy::kLossy);
  std::atomic<size_t> published{0};
  std::thread producer([&] {
    for (size_t i = 0; i < 100; ++i) {
      hub.Publish("a", MakeEvent(i), i);
      published++;
    }
  });
  // Two fit; then it blocks on the third, the strict queue being full.
  ASSERT_TRUE(WaitFor([&] { return published.load() >= 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(published.load(), 2u);
  for (size_t i = 0; i < 100; ++i) {
    auto d = slow.Next(30s);
    ASSERT_TRUE(d.has_value());
    EXPECT_FALSE(d->is_gap());
    EXPECT_EQ(d->index, i);
  }
  producer.join();
  EXPECT_EQ(published.load(), 100u);
  // The lossy subscriber lost events but was told how many.
  uint64_t seen = 0;
  while (auto d = lossy.TryNext()) seen += d->is_gap() ? d->dropped : 1;
  EXPECT_EQ(seen, 100u);
}

TEST(SubscriptionTest, ClosingReleasesWaitingPublishers) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(1, OverflowPolicy::kStrict);
  hub.Publish("a", MakeEvent(0), 0);
  std::atomic<bool> started{false}, done{false};
  std::thread producer([&] {
    started = true;
    EXPECT_EQ(hub.Publish("a", MakeEvent(1), 1), 0u);  // waits, then the subscriber leaves
    done = true;
  });
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  std::this_thread::sleep_for(50ms);  // into the wait (had it not got there, it would not wait)
  EXPECT_FALSE(done.load());
  sub.Close();
  producer.join();
  EXPECT_TRUE(done.load());
  // Queued items remain readable after Close; then the stream ends.
  EXPECT_EQ(sub.TryNext()->index, 0u);
  EXPECT_FALSE(sub.Next(10ms).has_value());
  EXPECT_EQ(hub.Publish("a", MakeEvent(2), 2), 0u);
  EXPECT_EQ(hub.subscriber_count(), 0u);

  // Dropping the handle unsubscribes too, and closing the hub ends every stream.
  { auto temp = hub.Subscribe(1, OverflowPolicy::kStrict); }
  EXPECT_EQ(hub.subscriber_count(), 0u);
  auto last = hub.Subscribe(4, OverflowPolicy::kStrict);
  std::thread consumer([&] { EXPECT_FALSE(last.Next(10s).has_value()); });
  std::this_thread::sleep_for(20ms);
  hub.Close();
  consumer.join();
}

Event SizedEvent(size_t i, size_t payload) {
  Event e;
  e.type = "test";
  e.payload.assign(payload, static_cast<uint8_t>(i));
  e.hash = HashEvent(e.parent, e.type, e.payload);
  return e;
}

// A lossy queue is bounded in bytes as well as in events: past its byte limit it drops, with the
// same gap marker; one event always fits an empty queue.
TEST(SubscriptionTest, LossyQueuesAreBoundedInBytes) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(1000, OverflowPolicy::kLossy);
  const size_t one = DeliveryBytes("a", SizedEvent(0, 1000));
  sub.SetByteLimits(3 * one);
  for (size_t i = 0; i < 10; ++i) hub.Publish("a", SizedEvent(i, 1000), i);
  EXPECT_EQ(sub.queued_bytes(), 3 * one);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(sub.TryNext()->index, i);
  EXPECT_EQ(sub.queued_bytes(), 0u);
  auto gap = sub.TryNext();
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(gap->dropped, 7u);
  // An event larger than the whole limit still reaches an empty queue, alone.
  hub.Publish("a", SizedEvent(10, 10 * one), 10);
  hub.Publish("a", SizedEvent(11, 10), 11);
  EXPECT_EQ(sub.TryNext()->index, 10u);
  EXPECT_EQ(sub.TryNext()->dropped, 1u);
}

// Queues drawing on a shared budget (with a parent) together hold no more than it; a handle
// destroyed with events unread gives everything back.
TEST(SubscriptionTest, SharedBudgetsBoundSeveralQueuesAndAreReleased) {
  SubscriptionHub hub;
  const size_t one = DeliveryBytes("a", SizedEvent(0, 1000));
  auto server = std::make_shared<ByteBudget>(5 * one);
  auto client = std::make_shared<ByteBudget>(4 * one, server);
  auto first = hub.Subscribe(1000, OverflowPolicy::kLossy);
  auto second = hub.Subscribe(1000, OverflowPolicy::kLossy);
  first.SetByteLimits(3 * one, client);
  second.SetByteLimits(3 * one, client);
  auto other =
      std::make_unique<SubscriptionHub::Subscription>(hub.Subscribe(1000, OverflowPolicy::kLossy));
  other->SetByteLimits(3 * one, server);
  for (size_t i = 0; i < 10; ++i) hub.Publish("a", SizedEvent(i, 1000), i);
  EXPECT_LE(client->used(), client->limit());
  EXPECT_LE(server->used(), server->limit());
  EXPECT_EQ(first.queued_bytes() + second.queued_bytes(), client->used());
  EXPECT_EQ(server->used(), client->used() + other->queued_bytes());
  EXPECT_EQ(server->used(), 5 * one);
  // Reading gives bytes back to every budget up the chain.
  const size_t before = server->used();
  ASSERT_TRUE(first.TryNext().has_value());
  EXPECT_EQ(server->used(), before - one);
  // A subscriber that leaves without reading frees all it held.
  other.reset();
  EXPECT_EQ(server->used(), client->used());
  { auto gone = std::move(first); }
  EXPECT_EQ(client->used(), second.queued_bytes());
  second = hub.Subscribe(1, OverflowPolicy::kLossy);  // the old queue is dropped, unread
  EXPECT_EQ(client->used(), 0u);
  EXPECT_EQ(server->used(), 0u);
}

// A strict queue waits for room in bytes as it does in events.
TEST(SubscriptionTest, StrictQueuesWaitForRoomInBytes) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(1000, OverflowPolicy::kStrict);
  const size_t one = DeliveryBytes("a", SizedEvent(0, 1000));
  sub.SetByteLimits(2 * one);
  std::atomic<size_t> published{0};
  std::thread producer([&] {
    for (size_t i = 0; i < 5; ++i) {
      hub.Publish("a", SizedEvent(i, 1000), i);
      published++;
    }
  });
  // Two fit in the bytes; then it blocks on the third.
  ASSERT_TRUE(WaitFor([&] { return published.load() >= 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(published.load(), 2u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(sub.Next(30s)->index, i);
  producer.join();
}

TEST(SubscriptionTest, ObservesAnEventChain) {
  SubscriptionHub hub;
  auto sub = hub.Subscribe(8, OverflowPolicy::kLossy, "actor-1");
  EventChain chain([] { return uint64_t{7}; });
  chain.AddObserver(hub.ObserverFor("actor-1"));
  chain.Append(Log{"info", "one"});
  chain.Append(Log{"info", "two"});
  std::vector<Event> events = chain.events();
  for (size_t i = 0; i < 2; ++i) {
    auto d = sub.TryNext();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->index, i);
    EXPECT_EQ(d->event, events[i]);
  }
}

}  // namespace
}  // namespace theater::chain
