// Theater: a WebAssembly actor runtime.
//
// Lowering then lifting gives back the same Value, for every kind, in memory and flat form, and
// through the function-level plans an engine uses.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "abi/canonical/canonical_test_util.h"
#include "abi/canonical/vector_guest_memory.h"
#include "common/sanitizers.h"
#include "theater/abi/canonical.h"

namespace theater::abi {
namespace {

// The test helpers (T, ListOf, RecordOf, Function, ...) of canonical_test_util.h.
using namespace testing;  // NOLINT(build/namespaces)

// Stores `value` in fresh guest memory and loads it back.
Value MemoryRoundTrip(const TypePtr& type, const Value& value, VectorGuestMemory* memory) {
  auto ptr = memory->Realloc(0, 0, AlignmentOf(*type), SizeOf(*type));
  EXPECT_TRUE(ptr.ok());
  Status stored = Store(*memory, *type, value, *ptr);
  EXPECT_TRUE(stored.ok()) << stored.ToString() << " for " << type->ToWit();
  auto loaded = Load(*memory, *type, *ptr);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString() << " for " << type->ToWit();
  return loaded.ok() ? *loaded : Value();
}

Value FlatRoundTrip(const TypePtr& type, const Value& value, VectorGuestMemory* memory) {
  const TypePtr types[] = {type};
  const Value values[] = {value};
  std::vector<uint64_t> flat;
  Status lowered = LowerFlatValues(*memory, types, values, &flat);
  EXPECT_TRUE(lowered.ok()) << lowered.ToString() << " for " << type->ToWit();
  EXPECT_EQ(flat.size(), Flatten(*type).size()) << type->ToWit();
  auto lifted = LiftFlatValues(*memory, types, flat);
  EXPECT_TRUE(lifted.ok()) << lifted.status().ToString() << " for " << type->ToWit();
  return lifted.ok() && lifted->size() == 1 ? lifted->front() : Value();
}

void ExpectRoundTrips(const TypePtr& type, const Value& value) {
  VectorGuestMemory memory;
  EXPECT_EQ(MemoryRoundTrip(type, value, &memory), value)
      << type->ToWit() << " " << value.ToString();
  EXPECT_EQ(FlatRoundTrip(type, value, &memory), value) << type->ToWit() << " " << value.ToString();
}

TEST(CanonicalRoundTripTest, Scalars) {
  ExpectRoundTrips(T(TypeKind::kBool), Value::Bool(true));
  ExpectRoundTrips(T(TypeKind::kBool), Value::Bool(false));
  ExpectRoundTrips(T(TypeKind::kS8), Value::S8(-128));
  ExpectRoundTrips(T(TypeKind::kS8), Value::S8(127));
  ExpectRoundTrips(T(TypeKind::kU8), Value::U8(255));
  ExpectRoundTrips(T(TypeKind::kS16), Value::S16(-32768));
  ExpectRoundTrips(T(TypeKind::kU16), Value::U16(65535));
  ExpectRoundTrips(T(TypeKind::kS32), Value::S32(std::numeric_limits<int32_t>::min()));
  ExpectRoundTrips(T(TypeKind::kU32), Value::U32(0xFFFFFFFF));
  ExpectRoundTrips(T(TypeKind::kS64), Value::S64(std::numeric_limits<int64_t>::min()));
  ExpectRoundTrips(T(TypeKind::kU64), Value::U64(~uint64_t{0}));
  ExpectRoundTrips(T(TypeKind::kF32), Value::F32(-1.25f));
  ExpectRoundTrips(T(TypeKind::kF32), Value::F32(-0.0f));
  ExpectRoundTrips(T(TypeKind::kF32), Value::F32(std::numeric_limits<float>::infinity()));
  ExpectRoundTrips(T(TypeKind::kF64), Value::F64(3.141592653589793));
  ExpectRoundTrips(T(TypeKind::kF64), Value::F64(std::numeric_limits<double>::denorm_min()));
  ExpectRoundTrips(T(TypeKind::kChar), Value::Char(U'🎭'));
  ExpectRoundTrips(T(TypeKind::kChar), Value::Char(0x10FFFF));
  ExpectRoundTrips(T(TypeKind::kChar), Value::Char(0));
  ExpectRoundTrips(Type::Own("r"), Value::Own(42));
  ExpectRoundTrips(Type::Borrow("r"), Value::Borrow(0xFFFFFFFF));
}

TEST(CanonicalRoundTripTest, NegativeSmallIntegersAreZeroExtendedI32s) {
  VectorGuestMemory memory;
  const TypePtr types[] = {T(TypeKind::kS8), T(TypeKind::kS16), T(TypeKind::kS32)};
  const Value values[] = {Value::S8(-1), Value::S16(-2), Value::S32(-3)};
  std::vector<uint64_t> flat;
  ASSERT_TRUE(LowerFlatValues(memory, types, values, &flat).ok());
  EXPECT_EQ(flat, (std::vector<uint64_t>{0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD}));
}

TEST(CanonicalRoundTripTest, NansAreCanonicalised) {
  VectorGuestMemory memory;
  float f;
  const uint32_t payload_nan = 0xffa00001;
  std::memcpy(&f, &payload_nan, sizeof(f));
  const TypePtr types[] = {T(TypeKind::kF32), T(TypeKind::kF64)};
  const Value values[] = {Value::F32(f), Value::F64(-std::nan("7"))};
  std::vector<uint64_t> flat;
  ASSERT_TRUE(LowerFlatValues(memory, types, values, &flat).ok());
  EXPECT_EQ(flat, (std::vector<uint64_t>{0x7fc00000, 0x7ff8000000000000}));

  // Lifting canonicalises too.
  const uint64_t raw[] = {0xffa00001, 0xfff0000000000001};
  auto lifted = LiftFlatValues(memory, types, raw);
  ASSERT_TRUE(lifted.ok());
  EXPECT_EQ((*lifted)[0].as_u64(), 0x7fc00000u);
  EXPECT_EQ((*lifted)[1].as_u64(), 0x7ff8000000000000u);
}

TEST(CanonicalRoundTripTest, LiftAcceptsWhatTheSpecAccepts) {
  VectorGuestMemory memory;
  // Any non-zero bool is true, in memory and flat.
  memory.Bytes()[100] = 2;
  auto in_memory = Load(memory, *T(TypeKind::kBool), 100);
  ASSERT_TRUE(in_memory.ok());
  EXPECT_EQ(*in_memory, Value::Bool(true));

  const TypePtr types[] = {T(TypeKind::kBool), T(TypeKind::kU8), T(TypeKind::kS8),
                           T(TypeKind::kU16)};
  // Narrow integers keep the low bits of their i32.
  const uint64_t flat[] = {0x100, 0x1FF, 0xFFFFFF80, 0x12345};
  auto lifted = LiftFlatValues(memory, types, flat);
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_EQ((*lifted)[0], Value::Bool(true));
  EXPECT_EQ((*lifted)[1], Value::U8(255));
  EXPECT_EQ((*lifted)[2], Value::S8(-128));
  EXPECT_EQ((*lifted)[3], Value::U16(0x2345));
}

TEST(CanonicalRoundTripTest, Strings) {
  for (const char* s : {"", "hello", "héllo wörld ✓ 🎭"}) {
    ExpectRoundTrips(T(TypeKind::kString), Value::String(s));
  }
  ExpectRoundTrips(T(TypeKind::kString), Value::String(std::string("a\0b", 3)));
  ExpectRoundTrips(T(TypeKind::kString), Value::String(std::string(100000, 'x')));
}

TEST(CanonicalRoundTripTest, StringLandsInGuestMemoryAsUtf8) {
  VectorGuestMemory memory;
  const std::string text = "héllo wörld ✓ 🎭";
  const TypePtr types[] = {T(TypeKind::kString)};
  const Value values[] = {Value::String(text)};
  std::vector<uint64_t> flat;
  ASSERT_TRUE(LowerFlatValues(memory, types, values, &flat).ok());
  ASSERT_EQ(flat.size(), 2u);
  ASSERT_EQ(flat[1], text.size());  // length in bytes, not characters
  EXPECT_EQ(std::memcmp(memory.Bytes().data() + flat[0], text.data(), text.size()), 0);
}

TEST(CanonicalRoundTripTest, Lists) {
  ExpectRoundTrips(ListOf(T(TypeKind::kU8)), Value::Bytes({}));
  ExpectRoundTrips(ListOf(T(TypeKind::kU32)), Value::List({}));
  ExpectRoundTrips(ListOf(T(TypeKind::kU8)), Value::Bytes({0, 1, 255}));
  ExpectRoundTrips(ListOf(T(TypeKind::kS64)), Value::List({Value::S64(-1), Value::S64(1)}));
  ExpectRoundTrips(ListOf(T(TypeKind::kString)),
                   Value::List({Value::String("a"), Value::String(""), Value::String("ü")}));
  ExpectRoundTrips(ListOf(ListOf(T(TypeKind::kU8))),
                   Value::List({Value::Bytes({1}), Value::Bytes({}), Value::Bytes({2, 3})}));
  ExpectRoundTrips(ListOf(TupleOf({})), Value::List({Value::Tuple({}), Value::Tuple({})}));
}

TEST(CanonicalRoundTripTest, SharedBytesLowerLikeBytes) {
  auto bytes = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
  ExpectRoundTrips(ListOf(T(TypeKind::kU8)), Value::SharedBytes(bytes));
  ExpectRoundTrips(OptionOf(ListOf(T(TypeKind::kU8))), Value::Some(Value::SharedBytes(bytes)));
}

TEST(CanonicalRoundTripTest, ListOfU8ItemsLiftsAsBytes) {
  VectorGuestMemory memory;
  const TypePtr type = ListOf(T(TypeKind::kU8));
  const Value items = Value::List({Value::U8(9), Value::U8(8)});
  const Value lifted = MemoryRoundTrip(type, items, &memory);
  EXPECT_TRUE(lifted.is_bytes());
  EXPECT_EQ(lifted.as_bytes(), (std::vector<uint8_t>{9, 8}));
}

TEST(CanonicalRoundTripTest, OneMebibyteList) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> bytes(1 << 20);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  ExpectRoundTrips(ListOf(T(TypeKind::kU8)), Value::Bytes(bytes));

  std::vector<Value> words;
  for (int i = 0; i < (1 << 18); ++i) words.push_back(Value::U32(static_cast<uint32_t>(rng())));
  ExpectRoundTrips(ListOf(T(TypeKind::kU32)), Value::List(std::move(words)));  // 1 MiB of u32
}

TEST(CanonicalRoundTripTest, RecordsTuplesVariants) {
  ExpectRoundTrips(RecordOf({T(TypeKind::kU8), T(TypeKind::kU32)}),
                   Value::Record({Value::U8(1), Value::U32(2)}));
  ExpectRoundTrips(TupleOf({T(TypeKind::kU8), T(TypeKind::kU16), T(TypeKind::kU8)}),
                   Value::Tuple({Value::U8(1), Value::U16(2), Value::U8(3)}));
  ExpectRoundTrips(TupleOf({}), Value::Tuple({}));
  ExpectRoundTrips(OptionOf(T(TypeKind::kU64)), Value::None());
  ExpectRoundTrips(OptionOf(T(TypeKind::kU64)), Value::Some(Value::U64(1ull << 63)));
  ExpectRoundTrips(OptionOf(OptionOf(T(TypeKind::kU8))), Value::Some(Value::None()));
  ExpectRoundTrips(ResultOf(nullptr, T(TypeKind::kString)), Value::Ok());
  ExpectRoundTrips(ResultOf(nullptr, T(TypeKind::kString)), Value::Err(Value::String("bad")));
  ExpectRoundTrips(ResultOf(nullptr, nullptr), Value::Err());
  ExpectRoundTrips(EnumOf(3), Value::Enum(2));
  ExpectRoundTrips(EnumOf(70000), Value::Enum(69999));
  std::vector<TypePtr> wide(300, nullptr);
  wide[299] = T(TypeKind::kF32);
  ExpectRoundTrips(VariantOf(wide), Value::Variant(299, Value::F32(2.5f)));
  ExpectRoundTrips(VariantOf(wide), Value::Variant(3));
}

TEST(CanonicalRoundTripTest, JoinedVariantSlots) {
  // f32 carried in an i64 slot, u32 in an i64 slot, f64 in an i64 slot.
  const TypePtr type = VariantOf({T(TypeKind::kF32), T(TypeKind::kU32), T(TypeKind::kF64),
                                  TupleOf({T(TypeKind::kF32), T(TypeKind::kS8)}), nullptr});
  EXPECT_EQ(CoreTypeLetters(Flatten(*type)), "iIi");
  ExpectRoundTrips(type, Value::Variant(0, Value::F32(-3.5f)));
  ExpectRoundTrips(type, Value::Variant(1, Value::U32(0xFFFFFFFF)));
  ExpectRoundTrips(type, Value::Variant(2, Value::F64(-1e300)));
  ExpectRoundTrips(type, Value::Variant(3, Value::Tuple({Value::F32(1.0f), Value::S8(-1)})));
  ExpectRoundTrips(type, Value::Variant(4));

  // Unused slots are zero.
  VectorGuestMemory memory;
  const TypePtr types[] = {type};
  const Value values[] = {Value::Variant(4)};
  std::vector<uint64_t> flat;
  ASSERT_TRUE(LowerFlatValues(memory, types, values, &flat).ok());
  EXPECT_EQ(flat, (std::vector<uint64_t>{4, 0, 0}));
}

TEST(CanonicalRoundTripTest, Flags) {
  for (size_t n : {0, 1, 8, 9, 16, 17, 32, 33, 64, 65, 100}) {
    std::vector<bool> set(n);
    for (size_t i = 0; i < n; i += 3) set[i] = true;
    if (n > 0) set[n - 1] = true;
    ExpectRoundTrips(FlagsOf(n), Value::Flags(set));
  }
  // Bit i is label i: flags(3) {a, c} is 0b101.
  VectorGuestMemory memory;
  ASSERT_TRUE(Store(memory, *FlagsOf(3), Value::Flags({true, false, true}), 200).ok());
  EXPECT_EQ(memory.Bytes()[200], 0b101);
}

TEST(CanonicalRoundTripTest, NestedTypes) {
  const TypePtr entry =
      RecordOf({T(TypeKind::kString), ListOf(T(TypeKind::kString)), OptionOf(T(TypeKind::kF64)),
                ResultOf(ListOf(T(TypeKind::kU8)), EnumOf(4)), FlagsOf(40)});
  const TypePtr type = ListOf(entry);
  std::vector<bool> flags(40);
  flags[39] = true;
  const Value value = Value::List({
      Value::Record({Value::String("héllo"), Value::List({Value::String("a"), Value::String("🎭")}),
                     Value::Some(Value::F64(0.25)), Value::Ok(Value::Bytes({1, 2, 3})),
                     Value::Flags(flags)}),
      Value::Record({Value::String(""), Value::List({}), Value::None(), Value::Err(Value::Enum(3)),
                     Value::Flags(std::vector<bool>(40))}),
  });
  ExpectRoundTrips(type, value);
}

TEST(CanonicalRoundTripTest, RandomTypesAndValues) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    const TypePtr type = testing::RandomType(rng, 5);
    const Value value = testing::RandomValue(*type, rng);
    VectorGuestMemory memory;
    ASSERT_EQ(MemoryRoundTrip(type, value, &memory), value)
        << type->ToWit() << " " << value.ToString();
    ASSERT_EQ(FlatRoundTrip(type, value, &memory), value)
        << type->ToWit() << " " << value.ToString();
  }
}

TEST(CanonicalRoundTripTest, LoweringSurvivesMemoryGrowth) {
  // Starts with one page; a thousand strings force cabi_realloc to grow (and move) memory many
  // times while the list's elements are being written.
  VectorGuestMemory memory(VectorGuestMemory::kPageSize);
  std::vector<Value> items;
  for (int i = 0; i < 1000; ++i) items.push_back(Value::String(std::string(300, 'a' + i % 26)));
  const Value value = Value::List(std::move(items));
  EXPECT_EQ(MemoryRoundTrip(ListOf(T(TypeKind::kString)), value, &memory), value);
  EXPECT_GT(memory.Bytes().size(), 4u * VectorGuestMemory::kPageSize);
}

// --- Function plans -----------------------------------------------------------------------------

TEST(CanonicalFunctionTest, FlatParamsAndResults) {
  const FunctionType f = Function({T(TypeKind::kString), T(TypeKind::kU64)}, T(TypeKind::kU32));
  auto exported = FunctionPlan::Build(f, Context::kLift);
  auto imported = FunctionPlan::Build(f, Context::kLower);
  ASSERT_TRUE(exported.ok() && imported.ok());

  VectorGuestMemory memory;
  const Value params[] = {Value::String("ünïcode"), Value::U64(99)};
  std::vector<uint64_t> args;
  ASSERT_TRUE(exported->LowerExportParams(memory, params, &args).ok());
  ASSERT_EQ(args.size(), 3u);
  auto lifted = imported->LiftImportParams(memory, args);
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_EQ(*lifted, std::vector<Value>(std::begin(params), std::end(params)));

  const Value results[] = {Value::U32(7)};
  std::vector<uint64_t> flat_results{123};  // replaced
  ASSERT_TRUE(imported->LowerImportResults(memory, results, args, &flat_results).ok());
  EXPECT_EQ(flat_results, (std::vector<uint64_t>{7}));
  auto lifted_results = exported->LiftExportResults(memory, flat_results);
  ASSERT_TRUE(lifted_results.ok());
  EXPECT_EQ(*lifted_results, std::vector<Value>{Value::U32(7)});
}

TEST(CanonicalFunctionTest, SeventeenParamsTravelThroughMemory) {
  std::vector<TypePtr> types;
  std::vector<Value> params;
  for (int i = 0; i < 17; ++i) {
    types.push_back(i % 2 ? T(TypeKind::kU8) : T(TypeKind::kF64));
    params.push_back(i % 2 ? Value::U8(static_cast<uint8_t>(i)) : Value::F64(i * 0.5));
  }
  const FunctionType f = Function(types, nullptr);
  VectorGuestMemory memory;
  const uint64_t calls_before = memory.realloc_calls();
  auto args = LowerExportParams(memory, f, params);
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  ASSERT_EQ(args->size(), 1u);  // one pointer to the parameter tuple
  EXPECT_EQ(memory.realloc_calls(), calls_before + 1);
  EXPECT_EQ((*args)[0] % 8, 0u);  // aligned for the tuple's f64s

  // The guest side reads them in place: f64 at 0, u8 at 8, f64 at 16, ...
  double first;
  std::memcpy(&first, memory.Bytes().data() + (*args)[0], sizeof(first));
  EXPECT_EQ(first, 0.0);
  EXPECT_EQ(memory.Bytes()[(*args)[0] + 8], 1);

  auto lifted = LiftImportParams(memory, f, *args);
  ASSERT_TRUE(lifted.ok()) << lifted.status().ToString();
  EXPECT_EQ(*lifted, params);
}

TEST(CanonicalFunctionTest, MultiValueResultsUseTheReturnArea) {
  const FunctionType f =
      Function({T(TypeKind::kU32)}, ResultOf(T(TypeKind::kString), T(TypeKind::kU32)));
  auto exported = FunctionPlan::Build(f, Context::kLift);
  auto imported = FunctionPlan::Build(f, Context::kLower);
  ASSERT_TRUE(exported.ok() && imported.ok());
  EXPECT_EQ(imported->signature().ParamLetters(), "ii");

  VectorGuestMemory memory;
  // The guest calls the import with its argument and a return pointer to 12 bytes it reserved.
  const uint32_t retptr = 0x200;
  const uint64_t args[] = {5, retptr};
  auto lifted = imported->LiftImportParams(memory, args);
  ASSERT_TRUE(lifted.ok());
  EXPECT_EQ(*lifted, std::vector<Value>{Value::U32(5)});

  const Value results[] = {Value::Ok(Value::String("done ✓"))};
  std::vector<uint64_t> flat_results{1, 2};
  ASSERT_TRUE(imported->LowerImportResults(memory, results, args, &flat_results).ok());
  EXPECT_TRUE(flat_results.empty());
  EXPECT_EQ(memory.Bytes()[retptr], 0);  // discriminant: ok

  // An export with the same signature returns that pointer; the host reads through it.
  const uint64_t returned[] = {retptr};
  auto lifted_results = exported->LiftExportResults(memory, returned);
  ASSERT_TRUE(lifted_results.ok()) << lifted_results.status().ToString();
  EXPECT_EQ(*lifted_results, std::vector<Value>(std::begin(results), std::end(results)));
}

TEST(CanonicalFunctionTest, NamedResults) {
  FunctionType f;
  f.named_results = {{"a", T(TypeKind::kU8)}, {"b", T(TypeKind::kString)}};
  auto imported = FunctionPlan::Build(f, Context::kLower);
  auto exported = FunctionPlan::Build(f, Context::kLift);
  ASSERT_TRUE(imported.ok() && exported.ok());
  VectorGuestMemory memory;
  const uint64_t args[] = {0x100};
  const Value results[] = {Value::U8(3), Value::String("b")};
  std::vector<uint64_t> flat;
  ASSERT_TRUE(imported->LowerImportResults(memory, results, args, &flat).ok());
  auto lifted = exported->LiftExportResults(memory, args);
  ASSERT_TRUE(lifted.ok());
  EXPECT_EQ(*lifted, std::vector<Value>(std::begin(results), std::end(results)));
}

TEST(CanonicalFunctionTest, OneKibibyteRoundTripIsFast) {
#if THEATER_ADDRESS_SANITIZER || !defined(__OPTIMIZE__)
  GTEST_SKIP() << "timing is only meaningful in an optimised, unsanitised build";
#endif
  const FunctionType f = Function({ListOf(T(TypeKind::kU8))}, nullptr);
  auto exported = FunctionPlan::Build(f, Context::kLift);
  auto imported = FunctionPlan::Build(f, Context::kLower);
  ASSERT_TRUE(exported.ok() && imported.ok());
  VectorGuestMemory memory;
  const std::vector<Value> params{Value::Bytes(std::vector<uint8_t>(1024, 0x5a))};
  std::vector<uint64_t> args;
  constexpr int kIterations = 20000;
  double best_ns = 1e18;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) {
      memory.set_heap_top(VectorGuestMemory::kHeapBase);
      ASSERT_TRUE(exported->LowerExportParams(memory, params, &args).ok());
      auto lifted = imported->LiftImportParams(memory, args);
      ASSERT_TRUE(lifted.ok());
      ASSERT_EQ((*lifted)[0].as_bytes().size(), 1024u);
    }
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    best_ns = std::min(best_ns, elapsed.count() / kIterations);
  }
  RecordProperty("round_trip_ns", std::to_string(best_ns));
  std::printf("1 KiB list<u8> lower+lift round trip: %.0f ns\n", best_ns);
  EXPECT_LT(best_ns, 2000.0);
}

}  // namespace
}  // namespace theater::abi
