// Theater: a WebAssembly actor runtime.
#include "common/bounded_memo.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace theater {
namespace {

std::shared_ptr<const int> Value(int v) { return std::make_shared<const int>(v); }

TEST(BoundedMemoTest, FindsWhatWasInsertedAndNothingElse) {
  BoundedMemo<int> memo(4, 1 << 20);
  EXPECT_EQ(memo.Find("a"), nullptr);
  memo.Insert("a", Value(1), 0);
  ASSERT_NE(memo.Find("a"), nullptr);
  EXPECT_EQ(*memo.Find("a"), 1);
  memo.Insert("a", Value(2), 0);  // the first value stays
  EXPECT_EQ(*memo.Find("a"), 1);
  EXPECT_EQ(memo.Find("b"), nullptr);
}

TEST(BoundedMemoTest, ForgetsTheOldestPastItsEntryBound) {
  BoundedMemo<int> memo(3, 1 << 20);
  for (int i = 0; i < 5; ++i) memo.Insert("k" + std::to_string(i), Value(i), 0);
  EXPECT_EQ(memo.size(), 3u);
  EXPECT_EQ(memo.Find("k0"), nullptr);
  EXPECT_EQ(memo.Find("k1"), nullptr);
  for (int i = 2; i < 5; ++i) ASSERT_NE(memo.Find("k" + std::to_string(i)), nullptr) << i;
}

TEST(BoundedMemoTest, ForgetsTheOldestPastItsByteBoundAndRefusesWhatCanNeverFit) {
  BoundedMemo<int> memo(100, 1000);
  memo.Insert("a", Value(1), 399);  // weighs 400 with its key
  memo.Insert("b", Value(2), 399);
  memo.Insert("c", Value(3), 399);  // 1,200 > 1,000: "a" goes
  EXPECT_EQ(memo.Find("a"), nullptr);
  EXPECT_NE(memo.Find("b"), nullptr);
  EXPECT_NE(memo.Find("c"), nullptr);
  memo.Insert("huge", Value(4), 1000);
  EXPECT_EQ(memo.Find("huge"), nullptr);
  EXPECT_EQ(memo.size(), 2u);  // and it pushed nothing out
}

TEST(BoundedMemoTest, AValueFoundOutlivesItsForgetting) {
  BoundedMemo<int> memo(1, 1 << 20);
  memo.Insert("a", Value(7), 0);
  std::shared_ptr<const int> held = memo.Find("a");
  memo.Insert("b", Value(8), 0);
  EXPECT_EQ(memo.Find("a"), nullptr);
  EXPECT_EQ(*held, 7);
}

TEST(BoundedMemoTest, FindOrComputeComputesOnceAndNeverRemembersAFailure) {
  BoundedMemo<int> memo(4, 1 << 20);
  int computed = 0;
  auto fails = [&]() -> Result<int> {
    ++computed;
    return InvalidArgument("no");
  };
  EXPECT_FALSE(memo.FindOrCompute("k", 0, fails).ok());
  EXPECT_FALSE(memo.FindOrCompute("k", 0, fails).ok());
  EXPECT_EQ(computed, 2);
  auto succeeds = [&]() -> Result<int> { return ++computed; };
  Result<std::shared_ptr<const int>> first = memo.FindOrCompute("k", 0, succeeds);
  Result<std::shared_ptr<const int>> again = memo.FindOrCompute("k", 0, succeeds);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(**first, 3);
  EXPECT_EQ(**again, 3);
  EXPECT_EQ(computed, 3);
}

TEST(BoundedMemoTest, KeysOfDifferentPartsNeverCollide) {
  EXPECT_NE(MemoKey({"ab", "c"}), MemoKey({"a", "bc"}));
  EXPECT_NE(MemoKey({"a", ""}), MemoKey({"a"}));
  EXPECT_EQ(MemoKey({"a", "bc"}), MemoKey({"a", "bc"}));
}

}  // namespace
}  // namespace theater
