// Theater: a WebAssembly actor runtime.
//
// The actor host end to end with real guests: the hello example's init (state threaded, log
// recorded, chain verified), canonical-ABI round trips of randomised values of every WIT type
// kind through tests/actors/abi_echo.c, and guests that lie through the ABI
// (tests/actors/hostile.c), each with its stated expected error.
#include "runtime/actor_host.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "theater/manifest.h"

namespace theater::runtime {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;

engine::Engine& SharedEngine() {
  static std::unique_ptr<engine::Engine> engine = [] {
    engine::EngineOptions options;
    options.progress = engine::EngineOptions::Progress::kOff;
    auto e = engine::Engine::Create(options);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }();
  return *engine;
}

std::shared_ptr<const engine::Module> LoadActor(const std::string& name) {
  auto m =
      SharedEngine().LoadModuleFile(std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

wit::Package ParseTestWit(const std::string& name) {
  std::ifstream in(std::string(THEATER_SOURCE_DIR) + "/tests/actors/" + name + ".wit");
  std::stringstream text;
  text << in.rdbuf();
  auto package = wit::ParseWitText(text.str(), name + ".wit");
  EXPECT_TRUE(package.ok()) << package.status().ToString();
  return std::move(package).value();
}

struct Harness {
  std::vector<std::string> log;
  std::shared_ptr<chain::EventChain> chain = std::make_shared<chain::EventChain>();
  std::unique_ptr<ActorHost> host;

  Status Create(const std::string& actor, std::optional<std::vector<uint8_t>> state = {}) {
    auto module = LoadActor(actor);
    if (!module) return NotFound(actor);
    ActorHostOptions options;
    options.actor_id = "00000000-0000-4000-8000-000000000001";
    options.name = actor;
    if (state) options.initial_state = std::make_shared<const std::vector<uint8_t>>(*state);
    options.log_sink = [this](std::string_view line) { log.emplace_back(line); };
    auto created = ActorHost::Create(module, options, chain);
    if (!created.ok()) return created.status();
    host = std::move(created).value();
    return Status();
  }
};

TEST(ActorHostTest, HelloInitThreadsStateLogsAndRecordsAVerifiedChain) {
  Harness h;
  auto module =
      SharedEngine().LoadModuleFile(std::string(THEATER_BUILD_DIR) + "/examples/hello/hello.wasm");
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  auto manifest = LoadManifest(std::string(THEATER_BUILD_DIR) + "/examples/hello/manifest.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  auto state = LoadInitState(*manifest);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ActorHostOptions options;
  options.actor_id = "11111111-2222-4333-8444-555555555555";
  options.name = "hello";
  ASSERT_TRUE(state->has_value());
  options.initial_state = std::make_shared<const std::vector<uint8_t>>(**state);
  options.log_sink = [&](std::string_view line) { h.log.emplace_back(line); };
  auto host = ActorHost::Create(*module, options, h.chain);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  Status init = (*host)->Init();
  ASSERT_TRUE(init.ok()) << init.ToString();

  ASSERT_FALSE(h.log.empty());
  EXPECT_NE(h.log[0].find("Hello from 11111111-2222-4333-8444-555555555555"), std::string::npos)
      << h.log[0];
  ASSERT_NE((*host)->state(), nullptr);
  EXPECT_NE(*(*host)->state(), **state) << "init must return a new state";

  // The chain: the log host call(s) init made, then the export call itself with its params,
  // result and the state it left; all verified.
  std::vector<chain::Event> events = h.chain->events();
  ASSERT_GE(events.size(), 2u);
  bool saw_log = false;
  for (const chain::Event& e : events) {
    auto p = chain::DecodePayload(e.payload);
    ASSERT_TRUE(p.ok());
    if (auto* call = std::get_if<chain::HostCall>(&*p)) {
      saw_log |= call->interface == "theater:simple/runtime" && call->function == "log";
    }
  }
  EXPECT_TRUE(saw_log);
  auto last = chain::DecodePayload(events.back().payload);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(std::holds_alternative<chain::ExportCall>(*last));
  const auto& call = std::get<chain::ExportCall>(*last);
  EXPECT_EQ(call.function, "theater:simple/actor#init");
  ASSERT_EQ(call.params.size(), 1u);
  EXPECT_EQ(call.params[0].as_string(), "11111111-2222-4333-8444-555555555555");
  EXPECT_TRUE(call.result.ok());
  EXPECT_EQ(call.new_state, chain::StateRecord::OfBytes(*(*host)->state()));
  EXPECT_TRUE(h.chain->Verify().ok());

  // A second init sees the state the first one returned.
  std::vector<uint8_t> before = *(*host)->state();
  ASSERT_TRUE((*host)->Init().ok());
  EXPECT_NE(*(*host)->state(), before);
}

TEST(ActorHostTest, ModuleWithoutCabiReallocIsRejected) {
  Harness h;
  Status status = h.Create("no_realloc");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.ToString().find("cabi_realloc"), std::string::npos) << status.ToString();
}

// ---- randomised round trips through the echo actor -------------------------------------------

class ValueGenerator {
 public:
  explicit ValueGenerator(uint32_t seed) : rng_(seed) {}

  Value Make(const Type& t, int depth = 0) {
    switch (t.kind) {
      case TypeKind::kBool:
        return Value::Bool(Uniform(0, 1));
      case TypeKind::kS8:
        return Value::S8(static_cast<int8_t>(Bits()));
      case TypeKind::kU8:
        return Value::U8(static_cast<uint8_t>(Bits()));
      case TypeKind::kS16:
        return Value::S16(static_cast<int16_t>(Bits()));
      case TypeKind::kU16:
        return Value::U16(static_cast<uint16_t>(Bits()));
      case TypeKind::kS32:
        return Value::S32(static_cast<int32_t>(Bits()));
      case TypeKind::kU32:
        return Value::U32(static_cast<uint32_t>(Bits()));
      case TypeKind::kS64:
        return Value::S64(static_cast<int64_t>(Bits()));
      case TypeKind::kU64:
        return Value::U64(Bits());
      case TypeKind::kF32:
        return Value::F32(std::uniform_real_distribution<float>(-1e30f, 1e30f)(rng_));
      case TypeKind::kF64:
        return Value::F64(std::uniform_real_distribution<double>(-1e300, 1e300)(rng_));
      case TypeKind::kChar:
        return Value::Char(Char());
      case TypeKind::kString:
        return Value::String(String());
      case TypeKind::kList: {
        size_t n = Length();
        if (t.element->kind == TypeKind::kU8) {
          std::vector<uint8_t> bytes(n);
          for (auto& b : bytes) b = static_cast<uint8_t>(Bits());
          return Value::Bytes(std::move(bytes));
        }
        std::vector<Value> items;
        for (size_t i = 0; i < std::min<size_t>(n, depth > 2 ? 2 : 12); ++i) {
          items.push_back(Make(*t.element, depth + 1));
        }
        return Value::List(std::move(items));
      }
      case TypeKind::kRecord: {
        std::vector<Value> fields;
        for (const auto& f : t.fields) fields.push_back(Make(*f.type, depth + 1));
        return Value::Record(std::move(fields));
      }
      case TypeKind::kTuple: {
        std::vector<Value> items;
        for (const auto& e : t.elements) items.push_back(Make(*e, depth + 1));
        return Value::Tuple(std::move(items));
      }
      case TypeKind::kVariant: {
        uint32_t c = Uniform(0, static_cast<int>(t.cases.size()) - 1);
        if (!t.cases[c].type) return Value::Variant(c);
        return Value::Variant(c, Make(*t.cases[c].type, depth + 1));
      }
      case TypeKind::kEnum:
        return Value::Enum(Uniform(0, static_cast<int>(t.labels.size()) - 1));
      case TypeKind::kFlags: {
        std::vector<bool> set(t.labels.size());
        for (size_t i = 0; i < set.size(); ++i) set[i] = Uniform(0, 1);
        return Value::Flags(set);
      }
      case TypeKind::kOption:
        return Uniform(0, 1) ? Value::Some(Make(*t.element, depth + 1)) : Value::None();
      case TypeKind::kResult: {
        bool ok = Uniform(0, 1);
        const abi::TypePtr& payload = ok ? t.ok : t.err;
        std::optional<Value> v;
        if (payload) v = Make(*payload, depth + 1);
        return ok ? Value::Ok(std::move(v)) : Value::Err(std::move(v));
      }
      case TypeKind::kOwn:
      case TypeKind::kBorrow:
        return Value::Own(Uniform(0, 1000));
    }
    return Value::Bool(false);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  uint64_t Bits() { return rng_(); }
  size_t Length() {
    int pick = Uniform(0, 20);
    if (pick == 0) return 0;
    if (pick == 1) return 70'000;  // a large list
    return Uniform(1, 40);
  }
  char32_t Char() {
    static const char32_t kSamples[] = {U'a', U'Z',      U'é',      U'ö',         U'✓',
                                        U'🎭', U'\u0000', U'\uFFFD', U'\U0010FFFF'};
    if (Uniform(0, 1)) return kSamples[Uniform(0, std::size(kSamples) - 1)];
    char32_t c;
    do {
      c = static_cast<char32_t>(Uniform(0, 0x10FFFF));
    } while (c >= 0xD800 && c <= 0xDFFF);
    return c;
  }
  std::string String() {
    static const char* kPieces[] = {"a", "héllo", " wörld ", "✓", "🎭", "", "\n", "漢字", "x"};
    std::string s;
    size_t n = Length() % 64;
    for (size_t i = 0; i < n; ++i) s += kPieces[Uniform(0, std::size(kPieces) - 1)];
    return s;
  }
  std::mt19937_64 rng_;
};

TEST(ActorHostAbiTest, RandomisedEchoRoundTripsOfEveryTypeKind) {
  Harness h;
  ASSERT_TRUE(h.Create("abi_echo").ok());
  wit::Package package = ParseTestWit("abi_echo");
  const wit::Interface* echo = package.FindInterface("echo");
  ASSERT_NE(echo, nullptr);
  int checked_functions = 0;
  ValueGenerator gen(20261121);
  for (const wit::Function& fn : echo->functions) {
    const abi::FunctionType& type = fn.type;
    bool single_echo = fn.name.rfind("echo-", 0) == 0 && type.params.size() == 1;
    bool tuple_echo = fn.name == "echo-flags";
    if (!single_echo && !tuple_echo) continue;
    ++checked_functions;
    for (int round = 0; round < 25; ++round) {
      std::vector<Value> args;
      for (const auto& p : type.params) args.push_back(gen.Make(*p.type));
      auto result = h.host->CallFunction("theater:test/echo#" + fn.name, type, args,
                                         std::chrono::seconds(10));
      ASSERT_TRUE(result.ok()) << fn.name << ": " << result.status().ToString();
      ASSERT_EQ(result->size(), 1u);
      Value expected = single_echo ? args[0] : Value::Tuple(args);
      ASSERT_EQ((*result)[0], expected)
          << fn.name << " round " << round << "\n  sent " << expected.ToString() << "\n  got  "
          << (*result)[0].ToString();
    }
  }
  EXPECT_GE(checked_functions, 24);
}

TEST(ActorHostAbiTest, ParamsThroughMemoryAndNamedResults) {
  Harness h;
  ASSERT_TRUE(h.Create("abi_echo").ok());
  wit::Package package = ParseTestWit("abi_echo");
  const wit::Interface* echo = package.FindInterface("echo");
  // sum20: 20 params (more than 16 flat values: passed through memory).
  std::vector<Value> args;
  uint64_t sum = 0, weighted = 0;
  for (uint32_t i = 0; i < 20; ++i) {
    uint64_t v = 1000 + i * 7;
    args.push_back(i % 2 == 0 ? Value::U32(static_cast<uint32_t>(v)) : Value::U64(v));
    sum += v;
    weighted += (i + 1) * v;
  }
  auto r = h.host->CallFunction("theater:test/echo#sum20", *echo->FindFunction("sum20"), args,
                                std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], Value::Tuple({Value::U64(sum), Value::U64(weighted), Value::U32(20)}));
  // stats: named results (count, sum, max) returned through memory.
  std::vector<Value> numbers{Value::U32(5), Value::U32(9), Value::U32(2)};
  std::vector<Value> stats_args{Value::List(numbers)};
  auto s = h.host->CallFunction("theater:test/echo#stats", *echo->FindFunction("stats"), stats_args,
                                std::chrono::seconds(10));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0], Value::U32(3));
  EXPECT_EQ((*s)[1], Value::U64(16));
  EXPECT_EQ((*s)[2], Value::U32(9));
  // An import call from inside an export: log-twice logs twice and both calls are recorded.
  std::vector<Value> msg{Value::String("héllo ✓")};
  auto l = h.host->CallFunction("theater:test/echo#log-twice", *echo->FindFunction("log-twice"),
                                msg, std::chrono::seconds(10));
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(h.log, (std::vector<std::string>{"héllo ✓", "héllo ✓"}));
}

// ---- guests that lie through the ABI ---------------------------------------------------------

TEST(ActorHostAbiTest, LyingGuestsGetErrorsNotCrashes) {
  wit::Package package = ParseTestWit("hostile");
  const wit::Interface* hostile = package.FindInterface("hostile");
  ASSERT_NE(hostile, nullptr);
  struct Case {
    const char* function;
    StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"string-oob", StatusCode::kGuestError, "exceeds guest memory"},
      {"string-huge-len", StatusCode::kGuestError, ""},
      {"string-wrap", StatusCode::kGuestError, ""},
      {"string-bad-utf8", StatusCode::kGuestError, "UTF-8"},
      {"string-utf8-surrogate", StatusCode::kGuestError, "UTF-8"},
      {"string-utf8-overlong", StatusCode::kGuestError, "UTF-8"},
      {"list-u64-overflow", StatusCode::kGuestError, ""},
      {"list-u32-misaligned", StatusCode::kGuestError, "align"},
      {"option-bad-discriminant", StatusCode::kGuestError, "discriminant"},
      {"result-bad-discriminant", StatusCode::kGuestError, "discriminant"},
      {"retptr-oob", StatusCode::kGuestError, ""},
      {"retptr-misaligned", StatusCode::kGuestError, "align"},
      {"enum-bad-discriminant", StatusCode::kGuestError, ""},
      {"char-surrogate", StatusCode::kGuestError, ""},
      {"char-out-of-range", StatusCode::kGuestError, ""},
      {"log-oob", StatusCode::kGuestError, "theater:simple/runtime.log"},
      {"log-wrap", StatusCode::kGuestError, "theater:simple/runtime.log"},
      {"log-bad-utf8", StatusCode::kGuestError, "UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.function);
    Harness h;
    ASSERT_TRUE(h.Create("hostile").ok());
    const abi::FunctionType* type = hostile->FindFunction(c.function);
    ASSERT_NE(type, nullptr);
    auto r = h.host->CallFunction(std::string("theater:test/hostile#") + c.function, *type, {},
                                  std::chrono::seconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().ToString().find(c.message), std::string::npos) << r.status().ToString();
  }
  // A non-canonical bool (2) is lifted as true, not rejected.
  Harness h;
  ASSERT_TRUE(h.Create("hostile").ok());
  auto b = h.host->CallFunction("theater:test/hostile#bool-non-canonical",
                                *hostile->FindFunction("bool-non-canonical"), {},
                                std::chrono::seconds(10));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)[0], Value::Bool(true));
}

}  // namespace
}  // namespace theater::runtime
