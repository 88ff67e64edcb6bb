// Theater: a WebAssembly actor runtime.
//
// The Value model: constructors, accessors, equality and rendering.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "theater/abi/value.h"

namespace theater::abi {
namespace {

TEST(ValueTest, ScalarsKeepKindAndValue) {
  EXPECT_EQ(Value::S8(-5).kind(), TypeKind::kS8);
  EXPECT_EQ(Value::S8(-5).as_s64(), -5);
  EXPECT_EQ(Value::S64(std::numeric_limits<int64_t>::min()).as_s64(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Value::U64(~uint64_t{0}).as_u64(), ~uint64_t{0});
  EXPECT_EQ(Value::Char(U'🎭').as_char(), U'🎭');
  EXPECT_EQ(Value::Own(7).handle(), 7u);
  EXPECT_EQ(Value::Borrow(9).kind(), TypeKind::kBorrow);
  EXPECT_TRUE(Value::Bool(true).as_bool());
}

TEST(ValueTest, FloatsKeepTheirBitPatterns) {
  EXPECT_EQ(Value::F32(1.5f).as_f32(), 1.5f);
  EXPECT_EQ(Value::F64(-2.25).as_f64(), -2.25);
  EXPECT_TRUE(std::isnan(Value::F32(std::nanf("")).as_f32()));
  // 0.0 and -0.0 are different values on the wire.
  EXPECT_FALSE(Value::F64(0.0) == Value::F64(-0.0));
  EXPECT_TRUE(Value::F32(std::nanf("")) == Value::F32(std::nanf("")));
  const uint32_t payload_nan = 0x7fa00001;
  float f;
  std::memcpy(&f, &payload_nan, sizeof(f));
  EXPECT_EQ(Value::F32(f).as_u64(), payload_nan);
}

TEST(ValueTest, CompositesAndPayloads) {
  const Value some = Value::Some(Value::U32(3));
  EXPECT_EQ(some.kind(), TypeKind::kOption);
  EXPECT_TRUE(some.is_some());
  ASSERT_NE(some.payload(), nullptr);
  EXPECT_EQ(*some.payload(), Value::U32(3));
  EXPECT_FALSE(Value::None().is_some());
  EXPECT_EQ(Value::None().payload(), nullptr);

  const Value ok = Value::Ok(Value::String("x"));
  EXPECT_TRUE(ok.is_ok());
  EXPECT_FALSE(ok.is_err());
  EXPECT_EQ(ok.payload()->as_string(), "x");
  const Value err = Value::Err();
  EXPECT_TRUE(err.is_err());
  EXPECT_EQ(err.payload(), nullptr);

  const Value variant = Value::Variant(2, Value::Bool(false));
  EXPECT_EQ(variant.kind(), TypeKind::kVariant);
  EXPECT_EQ(variant.case_index(), 2u);
  EXPECT_EQ(*variant.payload(), Value::Bool(false));
  EXPECT_EQ(Value::Variant(1).payload(), nullptr);
  EXPECT_EQ(Value::Enum(4).case_index(), 4u);
  EXPECT_EQ(Value::Enum(4).payload(), nullptr);

  const Value record = Value::Record({Value::U8(1), Value::String("a")});
  EXPECT_EQ(record.items().size(), 2u);
  EXPECT_EQ(Value::Tuple({}).items().size(), 0u);
  EXPECT_EQ(Value::Flags({true, false, true}).flags(), (std::vector<bool>{true, false, true}));

  Value bytes = Value::Bytes({1, 2});
  EXPECT_TRUE(bytes.is_bytes());
  bytes.mutable_bytes().push_back(3);
  EXPECT_EQ(bytes.as_bytes(), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(Value::List({}).is_bytes());
}

TEST(ValueTest, EqualityIsStructural) {
  EXPECT_EQ(Value::Record({Value::U8(1), Value::List({Value::S16(-1)})}),
            Value::Record({Value::U8(1), Value::List({Value::S16(-1)})}));
  EXPECT_NE(Value::Record({Value::U8(1)}), Value::Tuple({Value::U8(1)}));
  EXPECT_NE(Value::U8(1), Value::U16(1));
  EXPECT_NE(Value::Some(Value::U8(1)), Value::Some(Value::U8(2)));
  EXPECT_NE(Value::Ok(), Value::Err());
  EXPECT_NE(Value::Ok(Value::U8(1)), Value::Ok());
  EXPECT_NE(Value::Variant(0), Value::Enum(0));
  EXPECT_NE(Value::Flags({true}), Value::Flags({true, false}));
}

TEST(ValueTest, BytesEqualTheSameListOfU8) {
  const Value bytes = Value::Bytes({1, 200});
  const Value items = Value::List({Value::U8(1), Value::U8(200)});
  EXPECT_EQ(bytes, items);
  EXPECT_EQ(items, bytes);
  EXPECT_NE(bytes, Value::List({Value::U8(1)}));
  EXPECT_NE(bytes, Value::List({Value::U8(1), Value::U8(201)}));
  EXPECT_NE(bytes, Value::List({Value::U8(1), Value::U16(200)}));
  EXPECT_EQ(Value::Bytes({}), Value::List({}));
}

TEST(ValueTest, SharedBytesReadLikeBytesAndCopyBeforeAWrite) {
  auto state = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{7, 8, 9});
  Value shared = Value::SharedBytes(state);
  EXPECT_EQ(shared.kind(), TypeKind::kList);
  EXPECT_TRUE(shared.is_bytes());
  EXPECT_EQ(&shared.as_bytes(), state.get());  // no copy
  EXPECT_EQ(shared, Value::Bytes({7, 8, 9}));
  EXPECT_EQ(Value::Bytes({7, 8, 9}), shared);
  EXPECT_EQ(shared, Value::List({Value::U8(7), Value::U8(8), Value::U8(9)}));
  EXPECT_NE(shared, Value::Bytes({7, 8}));
  EXPECT_EQ(shared.ToString(), Value::Bytes({7, 8, 9}).ToString());
  EXPECT_EQ(Value::Some(shared), Value::Some(Value::Bytes({7, 8, 9})));
  // A copy of the Value shares too; a write goes to a private copy, never to the shared bytes.
  Value copy = shared;
  EXPECT_EQ(&copy.as_bytes(), state.get());
  copy.mutable_bytes().push_back(10);
  EXPECT_EQ(*state, (std::vector<uint8_t>{7, 8, 9}));
  EXPECT_EQ(copy, Value::Bytes({7, 8, 9, 10}));
  EXPECT_EQ(&shared.as_bytes(), state.get());
  EXPECT_EQ(Value::SharedBytes(nullptr), Value::Bytes({}));
}

TEST(ValueTest, ToStringIsReadable) {
  EXPECT_EQ(Value::Bool(true).ToString(), "true");
  EXPECT_EQ(Value::S32(-7).ToString(), "-7");
  EXPECT_EQ(Value::U64(18446744073709551615ull).ToString(), "18446744073709551615");
  EXPECT_EQ(Value::F64(0.5).ToString(), "0.5");
  EXPECT_EQ(Value::F32(std::nanf("")).ToString(), "nan");
  EXPECT_EQ(Value::Char(U'é').ToString(), "'é'");
  EXPECT_EQ(Value::Char(0xD800).ToString(), "'\\u{d800}'");
  EXPECT_EQ(Value::String("a\"b\n").ToString(), "\"a\\\"b\\n\"");
  EXPECT_EQ(Value::Some(Value::Bytes({1, 2})).ToString(), "some([1, 2])");
  EXPECT_EQ(Value::Ok(Value::String("x")).ToString(), "ok(\"x\")");
  EXPECT_EQ(Value::Err().ToString(), "err");
  EXPECT_EQ(Value::None().ToString(), "none");
  EXPECT_EQ(Value::Record({Value::U8(1), Value::Tuple({})}).ToString(), "{1, ()}");
  EXPECT_EQ(Value::Variant(3, Value::U8(1)).ToString(), "#3(1)");
  EXPECT_EQ(Value::Enum(2).ToString(), "#2");
  EXPECT_EQ(Value::Flags({true, false, true}).ToString(), "flags{0, 2}");
  EXPECT_EQ(Value::Own(5).ToString(), "own#5");
  EXPECT_EQ(Value::Borrow(6).ToString(), "borrow#6");
  // Long lists are cut short.
  const std::string big = Value::Bytes(std::vector<uint8_t>(1000, 7)).ToString();
  EXPECT_LT(big.size(), 200u);
  EXPECT_NE(big.find("(1000 items)"), std::string::npos);
}

TEST(ValueTest, ValuesOfKeepsOrderMovesTemporariesAndCopiesNamedValues) {
  Value named = Value::Bytes(std::vector<uint8_t>(1000, 7));
  std::vector<Value> values = ValuesOf(Value::String("first"), named, Value::Some(Value::U32(3)));
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values.capacity(), 3u) << "one allocation, sized once";
  EXPECT_EQ(values[0].as_string(), "first");
  EXPECT_EQ(values[1].as_bytes().size(), 1000u);
  EXPECT_EQ(named.as_bytes().size(), 1000u) << "a named value is copied, not moved from";
  ASSERT_TRUE(values[2].is_some());
  EXPECT_EQ(values[2].payload()->as_u64(), 3u);
  EXPECT_TRUE(ValuesOf().empty());
}

}  // namespace
}  // namespace theater::abi
