// Theater: a WebAssembly actor runtime.
//
// RingQueue: order kept through growth and wrap-around, push at the front, and no memory held
// while empty.
#include "common/ring_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>

namespace theater {
namespace {

TEST(RingQueueTest, KeepsOrderThroughGrowthAndWrapAroundAndAgreesWithADeque) {
  RingQueue<std::string> queue;
  std::deque<std::string> expected;
  // Pushes outpace pops, then pops catch up: the ring grows while its head is mid-buffer.
  for (int i = 0; i < 1000; ++i) {
    const std::string value = "v" + std::to_string(i);
    if (i % 7 == 3) {
      queue.push_front(value);
      expected.push_front(value);
    } else {
      queue.push_back(value);
      expected.push_back(value);
    }
    if (i % 3 == 0) {
      ASSERT_EQ(queue.front(), expected.front()) << i;
      queue.pop_front();
      expected.pop_front();
    }
    ASSERT_EQ(queue.size(), expected.size()) << i;
  }
  while (!expected.empty()) {
    ASSERT_EQ(queue.front(), expected.front());
    queue.pop_front();
    expected.pop_front();
  }
  EXPECT_TRUE(queue.empty());
}

TEST(RingQueueTest, HoldsNoMemoryWhileEmptyAndReleasesWhatAPoppedElementHeld) {
  RingQueue<std::shared_ptr<int>> queue;
  EXPECT_EQ(queue.capacity(), 0u);
  auto held = std::make_shared<int>(7);
  queue.push_back(held);
  queue.push_back(std::make_shared<int>(8));
  EXPECT_EQ(queue.capacity(), 4u);
  EXPECT_EQ(held.use_count(), 2);
  queue.pop_front();
  EXPECT_EQ(held.use_count(), 1) << "the popped slot still held the element";
  queue.pop_front();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.capacity(), 0u) << "an emptied queue keeps its buffer";
  queue.push_front(std::make_shared<int>(9));
  EXPECT_EQ(*queue.front(), 9);
  queue.clear();
  EXPECT_EQ(queue.capacity(), 0u);
}

}  // namespace
}  // namespace theater
