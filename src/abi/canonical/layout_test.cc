// Theater: a WebAssembly actor runtime.
//
// Layout, flattening and signature lowering, against the values CanonicalABI.md defines.
#include <gtest/gtest.h>

#include <random>

#include "abi/canonical/canonical_test_util.h"
#include "abi/canonical/plan.h"
#include "theater/abi/canonical.h"

namespace theater::abi {
namespace {

// The test helpers (T, ListOf, RecordOf, Function, ...) of canonical_test_util.h.
using namespace testing;  // NOLINT(build/namespaces)

struct LayoutCase {
  const char* what;
  TypePtr type;
  uint32_t size;
  uint32_t align;
};

TEST(CanonicalLayoutTest, SizesAndAlignmentsMatchTheSpec) {
  const LayoutCase cases[] = {
      {"bool", T(TypeKind::kBool), 1, 1},
      {"s8", T(TypeKind::kS8), 1, 1},
      {"u8", T(TypeKind::kU8), 1, 1},
      {"s16", T(TypeKind::kS16), 2, 2},
      {"u16", T(TypeKind::kU16), 2, 2},
      {"s32", T(TypeKind::kS32), 4, 4},
      {"u32", T(TypeKind::kU32), 4, 4},
      {"s64", T(TypeKind::kS64), 8, 8},
      {"u64", T(TypeKind::kU64), 8, 8},
      {"f32", T(TypeKind::kF32), 4, 4},
      {"f64", T(TypeKind::kF64), 8, 8},
      {"char", T(TypeKind::kChar), 4, 4},
      {"string", T(TypeKind::kString), 8, 4},
      {"list<u8>", ListOf(T(TypeKind::kU8)), 8, 4},
      {"list<u64>", ListOf(T(TypeKind::kU64)), 8, 4},
      {"own", Type::Own("r"), 4, 4},
      {"borrow", Type::Borrow("r"), 4, 4},
      {"record{u8,u32}", RecordOf({T(TypeKind::kU8), T(TypeKind::kU32)}), 8, 4},
      {"record{u32,u8}", RecordOf({T(TypeKind::kU32), T(TypeKind::kU8)}), 8, 4},
      {"record{u8,u64,u8}", RecordOf({T(TypeKind::kU8), T(TypeKind::kU64), T(TypeKind::kU8)}), 24,
       8},
      {"tuple<u8,u16,u8>", TupleOf({T(TypeKind::kU8), T(TypeKind::kU16), T(TypeKind::kU8)}), 6, 2},
      {"tuple<>", TupleOf({}), 0, 1},
      {"tuple<u8, string>", TupleOf({T(TypeKind::kU8), T(TypeKind::kString)}), 12, 4},
      {"option<u8>", OptionOf(T(TypeKind::kU8)), 2, 1},
      {"option<u64>", OptionOf(T(TypeKind::kU64)), 16, 8},
      {"option<string>", OptionOf(T(TypeKind::kString)), 12, 4},
      {"result", ResultOf(nullptr, nullptr), 1, 1},
      {"result<_, string>", ResultOf(nullptr, T(TypeKind::kString)), 12, 4},
      {"result<u8, u64>", ResultOf(T(TypeKind::kU8), T(TypeKind::kU64)), 16, 8},
      {"result<u16, u8>", ResultOf(T(TypeKind::kU16), T(TypeKind::kU8)), 4, 2},
      {"variant{u8, u64, _}", VariantOf({T(TypeKind::kU8), T(TypeKind::kU64), nullptr}), 16, 8},
      {"enum(3)", EnumOf(3), 1, 1},
      {"enum(256)", EnumOf(256), 1, 1},
      {"enum(257)", EnumOf(257), 2, 2},
      {"flags(0)", FlagsOf(0), 0, 1},
      {"flags(1)", FlagsOf(1), 1, 1},
      {"flags(8)", FlagsOf(8), 1, 1},
      {"flags(9)", FlagsOf(9), 2, 2},
      {"flags(16)", FlagsOf(16), 2, 2},
      {"flags(17)", FlagsOf(17), 4, 4},
      {"flags(32)", FlagsOf(32), 4, 4},
      {"flags(33)", FlagsOf(33), 8, 4},
      {"flags(64)", FlagsOf(64), 8, 4},
      {"flags(65)", FlagsOf(65), 12, 4},
      {"list<option<u64>>", ListOf(OptionOf(T(TypeKind::kU64))), 8, 4},
      {"option<option<u8>>", OptionOf(OptionOf(T(TypeKind::kU8))), 3, 1},
      {"record{u8, tuple<u16,u8>, u64}",
       RecordOf(
           {T(TypeKind::kU8), TupleOf({T(TypeKind::kU16), T(TypeKind::kU8)}), T(TypeKind::kU64)}),
       16, 8},
  };
  for (const LayoutCase& c : cases) {
    EXPECT_EQ(SizeOf(*c.type), c.size) << c.what;
    EXPECT_EQ(AlignmentOf(*c.type), c.align) << c.what;
  }
}

TEST(CanonicalLayoutTest, DiscriminantSizeFollowsCaseCount) {
  EXPECT_EQ(DiscriminantSize(1), 1u);
  EXPECT_EQ(DiscriminantSize(2), 1u);
  EXPECT_EQ(DiscriminantSize(256), 1u);
  EXPECT_EQ(DiscriminantSize(257), 2u);
  EXPECT_EQ(DiscriminantSize(65536), 2u);
  EXPECT_EQ(DiscriminantSize(65537), 4u);

  std::vector<TypePtr> payloads(257);  // 257 payload-less cases
  const TypePtr variant257 = VariantOf(payloads);
  EXPECT_EQ(SizeOf(*variant257), 2u);
  EXPECT_EQ(AlignmentOf(*variant257), 2u);
  EXPECT_EQ(SizeOf(*EnumOf(65537)), 4u);
}

TEST(CanonicalLayoutTest, FieldAndPayloadOffsets) {
  EXPECT_EQ(FieldOffsets(*RecordOf({T(TypeKind::kU8), T(TypeKind::kU32)})),
            (std::vector<uint32_t>{0, 4}));
  EXPECT_EQ(FieldOffsets(*TupleOf({T(TypeKind::kU8), T(TypeKind::kU16), T(TypeKind::kU8)})),
            (std::vector<uint32_t>{0, 2, 4}));
  EXPECT_EQ(
      FieldOffsets(*RecordOf(
          {T(TypeKind::kU8), TupleOf({T(TypeKind::kU16), T(TypeKind::kU8)}), T(TypeKind::kU64)})),
      (std::vector<uint32_t>{0, 2, 8}));
  EXPECT_TRUE(FieldOffsets(*T(TypeKind::kU32)).empty());

  EXPECT_EQ(PayloadOffset(*OptionOf(T(TypeKind::kU64))), 8u);
  EXPECT_EQ(PayloadOffset(*OptionOf(T(TypeKind::kU8))), 1u);
  EXPECT_EQ(PayloadOffset(*ResultOf(nullptr, T(TypeKind::kString))), 4u);
  EXPECT_EQ(PayloadOffset(*EnumOf(3)), 1u);
  std::vector<TypePtr> wide(300, T(TypeKind::kU8));
  EXPECT_EQ(PayloadOffset(*VariantOf(wide)), 2u);
  EXPECT_EQ(PayloadOffset(*T(TypeKind::kU32)), 0u);
}

TEST(CanonicalLayoutTest, PlansAgreeWithTheLayoutFunctions) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const TypePtr type = testing::RandomType(rng, 5);
    canonical_internal::PlanBuilder builder(AbiLimits{});
    auto root = builder.Add(type);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    const canonical_internal::Plan plan = std::move(builder).Finish();
    const canonical_internal::Node& node = plan.node(*root);
    EXPECT_EQ(node.size, SizeOf(*type)) << type->ToWit();
    EXPECT_EQ(node.align, AlignmentOf(*type)) << type->ToWit();
    EXPECT_EQ(node.flat_count, Flatten(*type).size()) << type->ToWit();
    EXPECT_EQ(SizeOf(*type) % AlignmentOf(*type), 0u) << type->ToWit();
  }
}

std::string Letters(const TypePtr& type) {
  return CoreTypeLetters(Flatten(*type));
}

TEST(CanonicalFlattenTest, FlattensEveryKind) {
  EXPECT_EQ(Letters(T(TypeKind::kBool)), "i");
  EXPECT_EQ(Letters(T(TypeKind::kU8)), "i");
  EXPECT_EQ(Letters(T(TypeKind::kS16)), "i");
  EXPECT_EQ(Letters(T(TypeKind::kU32)), "i");
  EXPECT_EQ(Letters(T(TypeKind::kS64)), "I");
  EXPECT_EQ(Letters(T(TypeKind::kU64)), "I");
  EXPECT_EQ(Letters(T(TypeKind::kF32)), "f");
  EXPECT_EQ(Letters(T(TypeKind::kF64)), "F");
  EXPECT_EQ(Letters(T(TypeKind::kChar)), "i");
  EXPECT_EQ(Letters(T(TypeKind::kString)), "ii");
  EXPECT_EQ(Letters(ListOf(T(TypeKind::kF64))), "ii");
  EXPECT_EQ(Letters(Type::Own("r")), "i");
  EXPECT_EQ(Letters(Type::Borrow("r")), "i");
  EXPECT_EQ(Letters(RecordOf({T(TypeKind::kU8), T(TypeKind::kF64), T(TypeKind::kString)})), "iFii");
  EXPECT_EQ(Letters(TupleOf({})), "");
  EXPECT_EQ(Letters(EnumOf(5)), "i");
  EXPECT_EQ(Letters(FlagsOf(0)), "");
  EXPECT_EQ(Letters(FlagsOf(32)), "i");
  EXPECT_EQ(Letters(FlagsOf(33)), "ii");
  EXPECT_EQ(Letters(FlagsOf(65)), "iii");
  EXPECT_EQ(Letters(OptionOf(T(TypeKind::kF32))), "if");
  EXPECT_EQ(Letters(ResultOf(nullptr, nullptr)), "i");
}

TEST(CanonicalFlattenTest, VariantPayloadsJoinSlotBySlot) {
  EXPECT_EQ(Join(CoreType::kI32, CoreType::kI32), CoreType::kI32);
  EXPECT_EQ(Join(CoreType::kI32, CoreType::kF32), CoreType::kI32);
  EXPECT_EQ(Join(CoreType::kF32, CoreType::kI32), CoreType::kI32);
  EXPECT_EQ(Join(CoreType::kF32, CoreType::kF32), CoreType::kF32);
  EXPECT_EQ(Join(CoreType::kF64, CoreType::kF64), CoreType::kF64);
  EXPECT_EQ(Join(CoreType::kI32, CoreType::kI64), CoreType::kI64);
  EXPECT_EQ(Join(CoreType::kF32, CoreType::kF64), CoreType::kI64);
  EXPECT_EQ(Join(CoreType::kI64, CoreType::kF64), CoreType::kI64);
  EXPECT_EQ(Join(CoreType::kI32, CoreType::kF64), CoreType::kI64);

  EXPECT_EQ(Letters(ResultOf(T(TypeKind::kU32), T(TypeKind::kF32))), "ii");
  EXPECT_EQ(Letters(ResultOf(T(TypeKind::kU64), T(TypeKind::kF32))), "iI");
  EXPECT_EQ(Letters(ResultOf(T(TypeKind::kF64), T(TypeKind::kF32))), "iI");
  EXPECT_EQ(Letters(ResultOf(T(TypeKind::kF32), T(TypeKind::kF32))), "if");
  EXPECT_EQ(Letters(ResultOf(T(TypeKind::kF64), nullptr)), "iF");
  // Slots join position by position; a longer payload extends the list.
  EXPECT_EQ(Letters(VariantOf({TupleOf({T(TypeKind::kU8), T(TypeKind::kF32)}),
                               TupleOf({T(TypeKind::kF32), T(TypeKind::kU64)}), nullptr})),
            "iiI");
  EXPECT_EQ(Letters(VariantOf({T(TypeKind::kString), T(TypeKind::kU64)})), "iIi");
  EXPECT_EQ(Letters(VariantOf(
                {nullptr, T(TypeKind::kF32), TupleOf({T(TypeKind::kF32), T(TypeKind::kF32)})})),
            "iff");
}

TEST(CanonicalSignatureTest, ScalarsStayFlat) {
  const FunctionType f =
      Function({T(TypeKind::kU32), T(TypeKind::kF64), T(TypeKind::kS64)}, T(TypeKind::kF32));
  for (Context context : {Context::kLift, Context::kLower}) {
    const CoreSignature sig = LowerSignature(f, context);
    EXPECT_EQ(sig.ParamLetters(), "iFI");
    EXPECT_EQ(sig.ResultLetters(), "f");
    EXPECT_FALSE(sig.params_in_memory);
    EXPECT_FALSE(sig.results_in_memory);
    EXPECT_TRUE(sig.Matches("iFI", "f"));
    EXPECT_FALSE(sig.Matches("iFI", ""));
    EXPECT_FALSE(sig.Matches("iFi", "f"));
  }
  const CoreSignature none = LowerSignature(Function({}, nullptr), Context::kLift);
  EXPECT_EQ(none.ParamLetters(), "");
  EXPECT_EQ(none.ResultLetters(), "");
}

TEST(CanonicalSignatureTest, SixteenFlatParamsStayFlatSeventeenGoThroughMemory) {
  const FunctionType sixteen = Function(std::vector<TypePtr>(16, T(TypeKind::kU32)), nullptr);
  EXPECT_EQ(LowerSignature(sixteen, Context::kLift).ParamLetters(), std::string(16, 'i'));
  EXPECT_FALSE(LowerSignature(sixteen, Context::kLift).params_in_memory);

  const FunctionType seventeen = Function(std::vector<TypePtr>(17, T(TypeKind::kF64)), nullptr);
  for (Context context : {Context::kLift, Context::kLower}) {
    const CoreSignature sig = LowerSignature(seventeen, context);
    EXPECT_EQ(sig.ParamLetters(), "i");
    EXPECT_TRUE(sig.params_in_memory);
    EXPECT_EQ(sig.ResultLetters(), "");
  }
  // Eight strings are sixteen flat values; a ninth pushes them into memory.
  EXPECT_FALSE(LowerSignature(Function(std::vector<TypePtr>(8, T(TypeKind::kString)), nullptr),
                              Context::kLift)
                   .params_in_memory);
  EXPECT_TRUE(LowerSignature(Function(std::vector<TypePtr>(9, T(TypeKind::kString)), nullptr),
                             Context::kLift)
                  .params_in_memory);
}

TEST(CanonicalSignatureTest, MultiValueResultsGoThroughMemory) {
  const FunctionType f = Function({T(TypeKind::kU32)}, T(TypeKind::kString));
  const CoreSignature exported = LowerSignature(f, Context::kLift);
  EXPECT_EQ(exported.ParamLetters(), "i");
  EXPECT_EQ(exported.ResultLetters(), "i");  // pointer to the result area
  EXPECT_TRUE(exported.results_in_memory);

  const CoreSignature imported = LowerSignature(f, Context::kLower);
  EXPECT_EQ(imported.ParamLetters(), "ii");  // the trailing i32 is the return pointer
  EXPECT_EQ(imported.ResultLetters(), "");
  EXPECT_TRUE(imported.results_in_memory);

  FunctionType named;
  named.named_results = {{"a", T(TypeKind::kU32)}, {"b", T(TypeKind::kU32)}};
  EXPECT_EQ(LowerSignature(named, Context::kLift).ResultLetters(), "i");
  EXPECT_EQ(LowerSignature(named, Context::kLower).ParamLetters(), "i");

  // Both at once: one parameter pointer, then the return pointer.
  const FunctionType both =
      Function(std::vector<TypePtr>(17, T(TypeKind::kU8)), ResultOf(T(TypeKind::kU32), nullptr));
  const CoreSignature both_imported = LowerSignature(both, Context::kLower);
  EXPECT_EQ(both_imported.ParamLetters(), "ii");
  EXPECT_EQ(both_imported.ResultLetters(), "");
  EXPECT_EQ(LowerSignature(both, Context::kLift).ParamLetters(), "i");
  EXPECT_EQ(LowerSignature(both, Context::kLift).ResultLetters(), "i");
}

TEST(CanonicalSignatureTest, FunctionPlanCarriesTheSameSignature) {
  const FunctionType f = Function(std::vector<TypePtr>(17, T(TypeKind::kU8)), T(TypeKind::kString));
  for (Context context : {Context::kLift, Context::kLower}) {
    auto plan = FunctionPlan::Build(f, context);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_EQ(plan->signature(), LowerSignature(f, context));
    EXPECT_EQ(plan->context(), context);
  }
}

}  // namespace
}  // namespace theater::abi
