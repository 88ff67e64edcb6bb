// Theater: a WebAssembly actor runtime.
#include "common/pinned_list.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace theater {
namespace {

TEST(PinnedListTest, ElementsKeepTheirAddressesAsTheListGrows) {
  PinnedList<std::string> list(2);
  std::vector<const std::string*> addresses;
  for (int i = 0; i < 100; ++i) {
    addresses.push_back(&list.emplace_back("element " + std::to_string(i) +
                                           std::string(40, 'x')));  // heap strings: ASan checks
  }
  ASSERT_EQ(list.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(&list[i], addresses[i]);
    const std::string expected = "element " + std::to_string(i) + "x";
    EXPECT_EQ(list[i].substr(0, expected.size()), expected);
  }
  EXPECT_EQ(&list.back(), addresses.back());
}

TEST(PinnedListTest, DestroysItsElementsNewestFirst) {
  std::vector<int> order;
  struct Noisy {
    std::vector<int>* order;
    int n;
    ~Noisy() { order->push_back(n); }
  };
  {
    PinnedList<Noisy> list(1);
    for (int i = 0; i < 5; ++i) list.emplace_back(Noisy{&order, i});
    order.clear();  // the temporaries' destructors
  }
  EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
}

TEST(PinnedListTest, AnEmptyListHoldsNoBlock) {
  PinnedList<std::unique_ptr<int>> list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
}

}  // namespace
}  // namespace theater
