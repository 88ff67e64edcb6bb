// Theater: a WebAssembly actor runtime.
#include "common/lent_buffer.h"

#include <gtest/gtest.h>

namespace theater {
namespace {

TEST(LentBufferTest, ALeaseReusesTheVectorEmptiedWithItsCapacity) {
  LentBuffer<int> buffer;
  const int* storage = nullptr;
  {
    LentBuffer<int>::Lease lease(buffer);
    EXPECT_TRUE(lease.borrowed());
    EXPECT_TRUE(buffer.lent());
    lease.values().assign(100, 7);
    storage = lease.values().data();
  }
  EXPECT_FALSE(buffer.lent());
  LentBuffer<int>::Lease again(buffer);
  EXPECT_TRUE(again.values().empty()) << "what the last user left is gone";
  again.values().resize(100);
  EXPECT_EQ(again.values().data(), storage) << "no new allocation for the same size";
}

// A user that comes while the vector is lent (a nested call) gets one of its own: neither sees
// the other's values, and the first gets its vector back intact.
TEST(LentBufferTest, ANestedLeaseGetsAVectorOfItsOwn) {
  LentBuffer<int> buffer;
  LentBuffer<int>::Lease outer(buffer);
  outer.values() = {1, 2, 3};
  {
    LentBuffer<int>::Lease inner(buffer);
    EXPECT_FALSE(inner.borrowed());
    EXPECT_TRUE(inner.values().empty());
    inner.values().assign(50, 9);
    EXPECT_NE(inner.values().data(), outer.values().data());
  }
  EXPECT_TRUE(buffer.lent()) << "the nested lease's end does not return the outer's vector";
  EXPECT_EQ(outer.values(), (std::vector<int>{1, 2, 3}));
}

}  // namespace
}  // namespace theater
