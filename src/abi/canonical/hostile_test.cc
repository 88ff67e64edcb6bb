// Theater: a WebAssembly actor runtime.
//
// A guest that lies (bad pointers, lengths, encodings, discriminants) and a host that passes bad
// values: each gets a precise error with the right code, never a crash.
#include <gtest/gtest.h>

#include <pthread.h>

#include <cstring>
#include <string>

#include "abi/canonical/canonical_test_util.h"
#include "abi/canonical/vector_guest_memory.h"
#include "common/sanitizers.h"
#include "common/status_test_util.h"
#include "theater/abi/canonical.h"

namespace theater::abi {
namespace {

// The test helpers (T, ListOf, RecordOf, Function, ...) of canonical_test_util.h.
using namespace testing;  // NOLINT(build/namespaces)

void Put32(VectorGuestMemory& memory, uint32_t at, uint32_t value) {
  std::memcpy(memory.Bytes().data() + at, &value, sizeof(value));
}

void PutBytes(VectorGuestMemory& memory, uint32_t at, std::initializer_list<uint8_t> bytes) {
  std::copy(bytes.begin(), bytes.end(), memory.Bytes().begin() + at);
}

// Values that come from a record rather than a lift (a chain's host calls, before a handler's
// Restore reads them) are checked against their types without any memory.
TEST(CanonicalHostileTest, CheckValuesRefusesValuesOfAnotherShape) {
  const TypePtr config = RecordOf({OptionOf(T(TypeKind::kU16)), OptionOf(T(TypeKind::kString))});
  const std::vector<TypePtr> types = {config, T(TypeKind::kU64)};
  const std::vector<Value> good = {
      Value::Record({Value::Some(Value::U16(8080)), Value::None()}), Value::U64(7)};
  EXPECT_TRUE(CheckValues(types, good).ok());
  EXPECT_ERROR(CheckValues(types, std::vector<Value>{good[0]}), StatusCode::kInvalidArgument, "values");
  EXPECT_ERROR(CheckValues(types, std::vector<Value>{good[0], Value::String("7")}), StatusCode::kInvalidArgument,
               "got a string value");
  EXPECT_ERROR(CheckValues(types, std::vector<Value>{Value::Record({Value::None()}), good[1]}),
               StatusCode::kInvalidArgument, "fields");
  EXPECT_ERROR(CheckValues(types, std::vector<Value>{Value::Record({Value::Some(Value::U32(1)), Value::None()}),
                                   good[1]}),
               StatusCode::kInvalidArgument, "got a u32 value");
  EXPECT_ERROR(CheckValues(types, std::vector<Value>{Value::Record({Value::None(), Value::Some(Value::String("\xff"))}),
                                   good[1]}),
               StatusCode::kInvalidArgument, "UTF-8");
  // A result whose case carries no payload where the type has one.
  EXPECT_ERROR(CheckValues(std::vector<TypePtr>{ResultOf(T(TypeKind::kU64), T(TypeKind::kString))},
                           std::vector<Value>{Value::Ok()}),
               StatusCode::kInvalidArgument, "carries a payload");
}

TEST(CanonicalHostileTest, OutOfBoundsPointers) {
  VectorGuestMemory memory;  // 65536 bytes
  EXPECT_ERROR(Load(memory, *T(TypeKind::kU32), 65536).status(), StatusCode::kGuestError,
               "value at 0x10000 for u32 (4 bytes) exceeds guest memory (65536 bytes)");
  EXPECT_ERROR(Load(memory, *T(TypeKind::kU64), 65536).status(), StatusCode::kGuestError,
               "exceeds guest memory");
  EXPECT_TRUE(Load(memory, *T(TypeKind::kU64), 65528).ok());
  EXPECT_ERROR(Load(memory, *T(TypeKind::kU32), 0xFFFFFFFC).status(), StatusCode::kGuestError,
               "exceeds guest memory");
  EXPECT_TRUE(Load(memory, *T(TypeKind::kU32), 65532).ok());
}

TEST(CanonicalHostileTest, MisalignedPointers) {
  VectorGuestMemory memory;
  EXPECT_ERROR(Load(memory, *T(TypeKind::kU32), 0x13).status(), StatusCode::kGuestError,
               "value at 0x13 for u32 is misaligned (alignment 4)");
  EXPECT_ERROR(Load(memory, *OptionOf(T(TypeKind::kU64)), 0x14).status(), StatusCode::kGuestError,
               "misaligned (alignment 8)");
  // The elements of a list must be aligned for their type.
  Put32(memory, 0x10, 0x102);
  Put32(memory, 0x14, 2);
  EXPECT_ERROR(Load(memory, *ListOf(T(TypeKind::kU32)), 0x10).status(), StatusCode::kGuestError,
               "list<u32> at 0x102 is misaligned (element alignment 4)");
  // Strings are byte-aligned (UTF-8).
  Put32(memory, 0x10, 0x101);
  Put32(memory, 0x14, 1);
  memory.Bytes()[0x101] = 'x';
  EXPECT_TRUE(Load(memory, *T(TypeKind::kString), 0x10).ok());
}

TEST(CanonicalHostileTest, ListLengthBeyondMemory) {
  VectorGuestMemory memory;
  Put32(memory, 0x100, 0x10);
  Put32(memory, 0x104, 4294967295u);
  auto lifted = Load(memory, *ListOf(T(TypeKind::kU8)), 0x100);
  EXPECT_EQ(lifted.status().code(), StatusCode::kGuestError);
  EXPECT_EQ(lifted.status().message(),
            "list<u8> at 0x10 with length 4294967295 exceeds guest memory (65536 bytes)");

  // length * 8 wraps to 8 in 32-bit arithmetic; the check must not be fooled.
  Put32(memory, 0x104, 0x20000001);
  EXPECT_ERROR(Load(memory, *ListOf(T(TypeKind::kU64)), 0x100).status(), StatusCode::kGuestError,
               "list<u64> at 0x10 with length 536870913 exceeds guest memory");

  // ptr + len overflows 32 bits.
  Put32(memory, 0x100, 0xFFFFFFF0);
  Put32(memory, 0x104, 0x20);
  EXPECT_ERROR(Load(memory, *ListOf(T(TypeKind::kU8)), 0x100).status(), StatusCode::kGuestError,
               "at 0xfffffff0 with length 32 exceeds guest memory");
  EXPECT_ERROR(Load(memory, *T(TypeKind::kString), 0x100).status(), StatusCode::kGuestError,
               "string at 0xfffffff0 with length 32 exceeds guest memory (65536 bytes)");

  // Flat form: the same checks.
  const TypePtr types[] = {ListOf(T(TypeKind::kU16))};
  const uint64_t flat[] = {0xFFFF0000, 0x10000};
  EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kGuestError,
               "exceeds guest memory");
}

TEST(CanonicalHostileTest, InvalidUtf8) {
  struct Case {
    std::initializer_list<uint8_t> bytes;
    const char* expected;
  };
  const Case cases[] = {
      {{'h', 0xC3, '('}, "(byte 0xc3 at offset 1)"},          // bad continuation
      {{0xC0, 0x80}, "(byte 0xc0 at offset 0)"},              // overlong NUL
      {{0xE0, 0x80, 0x80}, "(byte 0xe0 at offset 0)"},        // overlong 3-byte
      {{'a', 0xED, 0xA0, 0x80}, "(byte 0xed at offset 1)"},   // surrogate U+D800
      {{0xF4, 0x90, 0x80, 0x80}, "(byte 0xf4 at offset 0)"},  // above U+10FFFF
      {{'o', 'k', 0xE2, 0x82}, "(byte 0xe2 at offset 2)"},    // truncated
      {{0xFF}, "(byte 0xff at offset 0)"},
      {{0x80}, "(byte 0x80 at offset 0)"},  // stray continuation
  };
  for (const Case& c : cases) {
    VectorGuestMemory memory;
    PutBytes(memory, 0x200, c.bytes);
    Put32(memory, 0x10, 0x200);
    Put32(memory, 0x14, static_cast<uint32_t>(c.bytes.size()));
    EXPECT_ERROR(Load(memory, *T(TypeKind::kString), 0x10).status(), StatusCode::kGuestError,
                 std::string("string at 0x200 with length ") + std::to_string(c.bytes.size()) +
                     " is not valid UTF-8 " + c.expected);
    const TypePtr types[] = {T(TypeKind::kString)};
    const uint64_t flat[] = {0x200, c.bytes.size()};
    EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kGuestError,
                 "is not valid UTF-8");
  }
  // The longest valid sequences are accepted.
  VectorGuestMemory memory;
  PutBytes(memory, 0x200, {0xF4, 0x8F, 0xBF, 0xBF, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80});
  Put32(memory, 0x10, 0x200);
  Put32(memory, 0x14, 10);
  EXPECT_TRUE(Load(memory, *T(TypeKind::kString), 0x10).ok());
}

TEST(CanonicalHostileTest, BadDiscriminants) {
  VectorGuestMemory memory;
  memory.Bytes()[0x20] = 2;
  EXPECT_ERROR(Load(memory, *OptionOf(T(TypeKind::kU32)), 0x20).status(), StatusCode::kGuestError,
               "discriminant 2 out of range for option<u32> (2 cases)");
  memory.Bytes()[0x20] = 3;
  EXPECT_ERROR(Load(memory, *EnumOf(3), 0x20).status(), StatusCode::kGuestError,
               "discriminant 3 out of range");
  EXPECT_ERROR(Load(memory, *ResultOf(nullptr, nullptr), 0x20).status(), StatusCode::kGuestError,
               "discriminant 3 out of range for result (2 cases)");
  // A 257-case variant has a 16-bit discriminant: both bytes count.
  std::vector<TypePtr> cases(257);
  const TypePtr wide = VariantOf(cases);
  Put32(memory, 0x20, 0x0101);  // 257
  EXPECT_ERROR(Load(memory, *wide, 0x20).status(), StatusCode::kGuestError,
               "discriminant 257 out of range");
  Put32(memory, 0x20, 0x0100);  // 256: the last case
  auto last = Load(memory, *wide, 0x20);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->case_index(), 256u);

  const TypePtr types[] = {ResultOf(T(TypeKind::kU32), T(TypeKind::kF32))};
  const uint64_t flat[] = {7, 0};
  EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kGuestError,
               "discriminant 7 out of range");
  // Nested: the error says where.
  Put32(memory, 0x40, 0x300);
  Put32(memory, 0x44, 1);
  memory.Bytes()[0x300] = 9;
  EXPECT_ERROR(Load(memory, *ListOf(OptionOf(T(TypeKind::kU8))), 0x40).status(),
               StatusCode::kGuestError, "element 0 of list<option<u8>>: discriminant 9");
}

TEST(CanonicalHostileTest, InvalidChars) {
  VectorGuestMemory memory;
  Put32(memory, 0x20, 0xD800);
  EXPECT_ERROR(Load(memory, *T(TypeKind::kChar), 0x20).status(), StatusCode::kGuestError,
               "char 0xd800 is not a Unicode scalar value (surrogate)");
  Put32(memory, 0x20, 0x110000);
  EXPECT_ERROR(Load(memory, *T(TypeKind::kChar), 0x20).status(), StatusCode::kGuestError,
               "char 0x110000 is not a Unicode scalar value (above 0x10ffff)");
  const TypePtr types[] = {T(TypeKind::kChar)};
  const uint64_t flat[] = {0xDFFF};
  EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kGuestError,
               "char 0xdfff");
}

TEST(CanonicalHostileTest, FlagsWithUnknownBits) {
  VectorGuestMemory memory;
  memory.Bytes()[0x20] = 0x08;
  EXPECT_ERROR(Load(memory, *FlagsOf(3), 0x20).status(), StatusCode::kGuestError,
               "value 0x8 has bits set beyond its 3 labels");
  memory.Bytes()[0x20] = 0x07;
  EXPECT_TRUE(Load(memory, *FlagsOf(3), 0x20).ok());

  // 33 labels: the second word may only use bit 0.
  Put32(memory, 0x20, 0xFFFFFFFF);
  Put32(memory, 0x24, 0x2);
  EXPECT_ERROR(Load(memory, *FlagsOf(33), 0x20).status(), StatusCode::kGuestError,
               "beyond its 33 labels");
  const TypePtr types[] = {FlagsOf(33)};
  const uint64_t flat[] = {0xFFFFFFFF, 0x3};
  EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kGuestError,
               "beyond its 33 labels");
}

TEST(CanonicalHostileTest, NestingDepthBomb) {
  TypePtr deep = T(TypeKind::kU8);
  for (int i = 0; i < 5000; ++i) deep = OptionOf(deep);
  VectorGuestMemory memory;
  EXPECT_ERROR(Load(memory, *deep, 0).status(), StatusCode::kResourceExhausted,
               "type nesting depth exceeds the limit of 32");
  const TypePtr types[] = {deep};
  const uint64_t flat[] = {0};
  EXPECT_ERROR(LiftFlatValues(memory, types, flat).status(), StatusCode::kResourceExhausted,
               "nesting depth");
  EXPECT_ERROR(Store(memory, *deep, Value::None(), 0), StatusCode::kResourceExhausted,
               "nesting depth");
  EXPECT_ERROR(FunctionPlan::Build(Function({deep}, nullptr), Context::kLower).status(),
               StatusCode::kResourceExhausted, "param 'p0': type nesting depth");

  // Exactly at the limit is fine.
  TypePtr ok = T(TypeKind::kU8);
  for (int i = 1; i < 32; ++i) ok = OptionOf(ok);
  EXPECT_TRUE(Load(memory, *ok, 0).ok());
  AbiLimits shallow;
  shallow.max_depth = 3;
  EXPECT_ERROR(Load(memory, *ListOf(ListOf(ListOf(T(TypeKind::kU8)))), 0, shallow).status(),
               StatusCode::kResourceExhausted, "limit of 3");
}

// Lifting and lowering recurse once per nesting level; at the default depth limit a call through
// prebuilt plans must fit in the 16 KiB an engine keeps free for host code on a fiber stack.
TEST(CanonicalHostileTest, DeepestAllowedValueFitsASmallStack) {
#if THEATER_ADDRESS_SANITIZER || !defined(__OPTIMIZE__)
  GTEST_SKIP() << "stack frames are only representative in an optimised, unsanitised build";
#endif
  // list<record{option<list<...<u8>>>}>: every kind of recursive step, 32 levels deep.
  TypePtr type = T(TypeKind::kU8);
  Value value = Value::U8(7);
  for (uint32_t level = 1; level < AbiLimits{}.max_depth; ++level) {
    switch (level % 3) {
      case 0:
        type = ListOf(type), value = Value::List({value});
        break;
      case 1:
        type = RecordOf({type}), value = Value::Record({value});
        break;
      default:
        type = OptionOf(type), value = Value::Some(value);
        break;
    }
  }
  const FunctionType f = Function(std::vector<TypePtr>(9, type), nullptr);  // in memory
  auto exported = FunctionPlan::Build(f, Context::kLift);
  auto imported = FunctionPlan::Build(f, Context::kLower);
  ASSERT_TRUE(exported.ok() && imported.ok());
  struct Job {
    const FunctionPlan* exported;
    const FunctionPlan* imported;
    std::vector<Value> params;
    bool ok = false;
    static void* Run(void* arg) {
      auto* job = static_cast<Job*>(arg);
      VectorGuestMemory memory;
      std::vector<uint64_t> args;
      if (!job->exported->LowerExportParams(memory, job->params, &args).ok()) return nullptr;
      auto lifted = job->imported->LiftImportParams(memory, args);
      job->ok = lifted.ok() && *lifted == job->params;
      return nullptr;
    }
  } job{&*exported, &*imported, std::vector<Value>(9, value)};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // 16 KiB for the call, 8 KiB for the thread's own start-up and the job's locals.
  pthread_attr_setstacksize(&attr, 24 * 1024);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, &Job::Run, &job), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(job.ok);
}

TEST(CanonicalHostileTest, ListLengthLimit) {
  VectorGuestMemory memory;
  // Zero-sized elements pass every bounds check; only the length limit stops four billion of them.
  Put32(memory, 0x10, 0);
  Put32(memory, 0x14, 0xFFFFFFFF);
  EXPECT_ERROR(
      Load(memory, *ListOf(TupleOf({})), 0x10).status(), StatusCode::kResourceExhausted,
      "list<tuple<>> at 0x0 with length 4294967295 exceeds the limit of 16777216 elements");

  AbiLimits limits;
  limits.max_list_length = 10;
  Put32(memory, 0x10, 0x100);
  Put32(memory, 0x14, 11);
  EXPECT_ERROR(Load(memory, *ListOf(T(TypeKind::kU32)), 0x10, limits).status(),
               StatusCode::kResourceExhausted, "exceeds the limit of 10 elements");
  Put32(memory, 0x14, 10);
  EXPECT_TRUE(Load(memory, *ListOf(T(TypeKind::kU32)), 0x10, limits).ok());

  // Lowering enforces it too, before allocating anything.
  const uint64_t calls = memory.realloc_calls();
  std::vector<uint64_t> flat;
  const TypePtr types[] = {ListOf(T(TypeKind::kU8))};
  const Value values[] = {Value::Bytes(std::vector<uint8_t>(11))};
  EXPECT_ERROR(LowerFlatValues(memory, types, values, &flat, limits),
               StatusCode::kResourceExhausted, "exceeds the limit of 10 elements");
  EXPECT_EQ(memory.realloc_calls(), calls);
}

TEST(CanonicalHostileTest, StringLengthAndTotalBudget) {
  VectorGuestMemory memory(4 << 20);
  AbiLimits limits;
  limits.max_string_length = 100;
  Put32(memory, 0x10, 0x1000);
  Put32(memory, 0x14, 101);
  EXPECT_ERROR(Load(memory, *T(TypeKind::kString), 0x10, limits).status(),
               StatusCode::kResourceExhausted,
               "string at 0x1000 with length 101 exceeds the limit");
  EXPECT_ERROR(
      Store(memory, *T(TypeKind::kString), Value::String(std::string(101, 'a')), 0x10, limits),
      StatusCode::kResourceExhausted, "exceeds the limit of 100 bytes");

  // Half a million u32s fit in guest memory (2 MiB) but would cost ~32 MB of host Values.
  AbiLimits budget;
  budget.max_total_bytes = 1 << 20;
  Put32(memory, 0x14, 1 << 19);
  EXPECT_ERROR(Load(memory, *ListOf(T(TypeKind::kU32)), 0x10, budget).status(),
               StatusCode::kResourceExhausted, "lifted values exceed the limit of 1048576 bytes");
  // Many small lists add up as well: 15000 Values fit the budget, their 100-byte contents do not.
  Put32(memory, 0x10, 0x10000);
  Put32(memory, 0x14, 15000);
  for (uint32_t i = 0; i < 15000; ++i) {
    Put32(memory, 0x10000 + 8 * i, 0x1000);
    Put32(memory, 0x10000 + 8 * i + 4, 100);
  }
  EXPECT_ERROR(Load(memory, *ListOf(ListOf(T(TypeKind::kU8))), 0x10, budget).status(),
               StatusCode::kResourceExhausted, "lifted values exceed");
  EXPECT_TRUE(Load(memory, *ListOf(ListOf(T(TypeKind::kU8))), 0x10).ok());

  const TypePtr types[] = {ListOf(T(TypeKind::kU8)), ListOf(T(TypeKind::kU8))};
  const Value values[] = {Value::Bytes(std::vector<uint8_t>(600000)),
                          Value::Bytes(std::vector<uint8_t>(600000))};
  std::vector<uint64_t> flat;
  EXPECT_ERROR(LowerFlatValues(memory, types, values, &flat, budget),
               StatusCode::kResourceExhausted, "need more than the limit of 1048576 bytes");
}

TEST(CanonicalHostileTest, HostValuesMustMatchTheirTypes) {
  VectorGuestMemory memory;
  const uint64_t calls = memory.realloc_calls();
  auto store = [&](const TypePtr& type, const Value& value) {
    return Store(memory, *type, value, 0x100);
  };
  EXPECT_ERROR(store(T(TypeKind::kU32), Value::String("x")), StatusCode::kInvalidArgument,
               "expected a value of type u32, got a string value");
  EXPECT_ERROR(store(T(TypeKind::kU32), Value::U64(1)), StatusCode::kInvalidArgument,
               "got a u64 value");
  EXPECT_ERROR(store(ListOf(T(TypeKind::kS8)), Value::Bytes({1})), StatusCode::kInvalidArgument,
               "only list<u8> takes bytes");
  EXPECT_ERROR(store(T(TypeKind::kString), Value::String("\xC3\x28")), StatusCode::kInvalidArgument,
               "string value is not valid UTF-8 (byte 0xc3 at offset 0)");
  EXPECT_ERROR(store(T(TypeKind::kChar), Value::Char(0xD800)), StatusCode::kInvalidArgument,
               "char value 0xd800 is not a Unicode scalar value");
  EXPECT_ERROR(store(T(TypeKind::kChar), Value::Char(0x110000)), StatusCode::kInvalidArgument,
               "not a Unicode scalar value");
  EXPECT_ERROR(store(RecordOf({T(TypeKind::kU8), T(TypeKind::kU8)}), Value::Record({Value::U8(1)})),
               StatusCode::kInvalidArgument, "has 2 fields, the value has 1");
  EXPECT_ERROR(store(FlagsOf(3), Value::Flags({true})), StatusCode::kInvalidArgument,
               "has 3 labels, the value has 1");
  EXPECT_ERROR(store(EnumOf(3), Value::Enum(3)), StatusCode::kInvalidArgument,
               "case 3 out of range");
  EXPECT_ERROR(store(VariantOf({nullptr, T(TypeKind::kU8)}), Value::Variant(1)),
               StatusCode::kInvalidArgument, "carries a payload; the value has none");
  EXPECT_ERROR(store(VariantOf({nullptr, T(TypeKind::kU8)}), Value::Variant(0, Value::U8(1))),
               StatusCode::kInvalidArgument, "carries no payload; the value has one");
  EXPECT_ERROR(store(ResultOf(nullptr, T(TypeKind::kString)), Value::Ok(Value::U8(1))),
               StatusCode::kInvalidArgument, "carries no payload");
  EXPECT_ERROR(store(OptionOf(T(TypeKind::kU8)), Value::Some(Value::S8(1))),
               StatusCode::kInvalidArgument, "some of option<u8>: expected a value of type u8");
  // A bad element deep in a list fails before anything is allocated in the guest.
  EXPECT_ERROR(store(ListOf(T(TypeKind::kString)),
                     Value::List({Value::String("fine"), Value::String("\xFF")})),
               StatusCode::kInvalidArgument, "element 1 of list<string>");
  EXPECT_EQ(memory.realloc_calls(), calls);
}

// A guest whose cabi_realloc misbehaves.
class LyingMemory : public VectorGuestMemory {
 public:
  enum class Lie { kMisaligned, kOutOfBounds, kTrap };
  explicit LyingMemory(Lie lie) : lie_(lie) {}
  Result<uint32_t> Realloc(uint32_t, uint32_t, uint32_t, uint32_t) override {
    switch (lie_) {
      case Lie::kMisaligned:
        return 0x1001u;
      case Lie::kOutOfBounds:
        return 0xFFF0u;
      case Lie::kTrap:
        return TrapError("unreachable executed");
    }
    return 0u;
  }

 private:
  Lie lie_;
};

TEST(CanonicalHostileTest, LyingRealloc) {
  const TypePtr types[] = {ListOf(T(TypeKind::kU32))};
  const Value values[] = {
      Value::List({Value::U32(1), Value::U32(2), Value::U32(3), Value::U32(4), Value::U32(5)})};
  std::vector<uint64_t> flat;
  LyingMemory misaligned(LyingMemory::Lie::kMisaligned);
  EXPECT_ERROR(LowerFlatValues(misaligned, types, values, &flat), StatusCode::kGuestError,
               "cabi_realloc returned 0x1001 for list<u32>, misaligned for alignment 4");
  LyingMemory out_of_bounds(LyingMemory::Lie::kOutOfBounds);
  EXPECT_ERROR(LowerFlatValues(out_of_bounds, types, values, &flat), StatusCode::kGuestError,
               "cabi_realloc returned 0xfff0 for 20 bytes of list<u32>, beyond guest memory");
  LyingMemory trapping(LyingMemory::Lie::kTrap);
  EXPECT_ERROR(LowerFlatValues(trapping, types, values, &flat), StatusCode::kTrap,
               "cabi_realloc of 20 bytes for list<u32>: unreachable executed");
}

TEST(CanonicalHostileTest, GuestOutOfMemoryIsATrap) {
  VectorGuestMemory memory(VectorGuestMemory::kPageSize, 2 * VectorGuestMemory::kPageSize);
  EXPECT_ERROR(Store(memory, *T(TypeKind::kString), Value::String(std::string(200000, 'a')), 0x10),
               StatusCode::kTrap, "out of memory");
}

TEST(CanonicalHostileTest, FunctionLevelPointers) {
  VectorGuestMemory memory;
  const FunctionType f = Function({T(TypeKind::kU32)}, T(TypeKind::kString));
  auto imported = FunctionPlan::Build(f, Context::kLower);
  auto exported = FunctionPlan::Build(f, Context::kLift);
  ASSERT_TRUE(imported.ok() && exported.ok());
  std::vector<uint64_t> flat;
  const Value results[] = {Value::String("x")};

  const uint64_t bad_retptr[] = {1, 0xFFFC};
  EXPECT_ERROR(imported->LowerImportResults(memory, results, bad_retptr, &flat),
               StatusCode::kGuestError,
               "return area at 0xfffc for results (8 bytes) exceeds guest memory");
  const uint64_t misaligned_retptr[] = {1, 0x102};
  EXPECT_ERROR(imported->LowerImportResults(memory, results, misaligned_retptr, &flat),
               StatusCode::kGuestError, "return area at 0x102 for results is misaligned");

  const uint64_t bad_result_ptr[] = {0x7FFFFFFF};
  EXPECT_ERROR(exported->LiftExportResults(memory, bad_result_ptr).status(),
               StatusCode::kGuestError, "result area at 0x7fffffff");

  // Seventeen parameters: the guest's parameter pointer is checked.
  const FunctionType many = Function(std::vector<TypePtr>(17, T(TypeKind::kU64)), nullptr);
  const uint64_t bad_params[] = {0xFFC0};
  EXPECT_ERROR(LiftImportParams(memory, many, bad_params).status(), StatusCode::kGuestError,
               "parameter area at 0xffc0 for parameters (136 bytes) exceeds guest memory");

  // A bad value inside a parameter names the parameter.
  Put32(memory, 0x100, 0xD800);
  const FunctionType chars = Function({T(TypeKind::kU8), T(TypeKind::kChar)}, nullptr);
  const uint64_t char_args[] = {1, 0xD800};
  EXPECT_ERROR(LiftImportParams(memory, chars, char_args).status(), StatusCode::kGuestError,
               "param 'p1': char 0xd800");
}

TEST(CanonicalHostileTest, HostMistakesAtFunctionLevel) {
  VectorGuestMemory memory;
  const FunctionType f = Function({T(TypeKind::kU32)}, T(TypeKind::kU32));
  auto exported = FunctionPlan::Build(f, Context::kLift);
  ASSERT_TRUE(exported.ok());
  std::vector<uint64_t> flat;
  EXPECT_ERROR(exported->LowerExportParams(memory, {}, &flat), StatusCode::kInvalidArgument,
               "parameters: expected 1, got 0");
  const Value wrong[] = {Value::S32(1)};
  EXPECT_ERROR(exported->LowerExportParams(memory, wrong, &flat), StatusCode::kInvalidArgument,
               "param 'p0': expected a value of type u32, got a s32 value");
  const uint64_t two[] = {1, 2};
  EXPECT_ERROR(exported->LiftExportResults(memory, two).status(), StatusCode::kInvalidArgument,
               "core results: expected 1, got 2");
  EXPECT_ERROR(exported->LiftImportParams(memory, two).status(), StatusCode::kFailedPrecondition,
               "needs a plan built for an import");

  // Malformed types are rejected when the plan is built.
  auto broken = std::make_shared<Type>();
  broken->kind = TypeKind::kList;  // no element
  EXPECT_ERROR(FunctionPlan::Build(Function({broken}, nullptr), Context::kLift).status(),
               StatusCode::kInvalidArgument, "element of list has no type");
  EXPECT_ERROR(Load(memory, *broken, 0).status(), StatusCode::kInvalidArgument, "malformed type");
  const TypePtr null_types[] = {nullptr};
  EXPECT_ERROR(LiftFlatValues(memory, null_types, {}).status(), StatusCode::kInvalidArgument,
               "missing type");
  const TypePtr types[] = {T(TypeKind::kString)};
  const uint64_t one[] = {1};
  EXPECT_ERROR(LiftFlatValues(memory, types, one).status(), StatusCode::kInvalidArgument,
               "flat values: expected 2, got 1");
}

}  // namespace
}  // namespace theater::abi
