// Theater: a WebAssembly actor runtime.
//
// Unit objects (docs/compile-cache.md): two modules that share a run of functions but not their
// imports (what the JavaScript engine of two worlds is) share the compiled objects of that run,
// and each still computes what its own code says. The modules are written here byte by byte:
// many functions that read and write the instance's global and memory (whose place in the
// instance a shared unit must agree on with each module) and call each other across units.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "common/leb128.h"
#include "common/test_dir.h"
#include "engine/engine_test_util.h"

namespace theater::engine {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using testing::TableResolver;

constexpr uint32_t kFunctions = 24;   // in both modules; the second defines one more after them
constexpr uint32_t kRepeats = 40;     // of the global's update in each function
constexpr uint32_t kScratch = 64;     // the memory address every function writes

void Section(Bytes& out, uint8_t id, const Bytes& payload) {
  out.push_back(id);
  AppendUleb(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

void Name(Bytes& out, const std::string& name) {
  AppendUleb(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
}

void Sleb(Bytes& out, int64_t value) {
  while (true) {
    const uint8_t byte = value & 0x7f;
    value >>= 7;
    if ((value == 0 && !(byte & 0x40)) || (value == -1 && (byte & 0x40))) {
      out.push_back(byte);
      return;
    }
    out.push_back(byte | 0x80);
  }
}

// Function k of the shared run, with `imports` imported functions ahead of it:
//   for kRepeats times: g = (g + x) ^ (k + 1);   memory[kScratch] = g;
//   k < last: return f[k + 1](x + 1) + memory[kScratch];   k == last: return env.twice(x)
Bytes SharedBody(uint32_t k, uint32_t imports) {
  Bytes body = {0};  // no locals
  for (uint32_t r = 0; r < kRepeats; ++r) {
    body.insert(body.end(), {0x23, 0x00, 0x20, 0x00, 0x6a, 0x41});  // global.get, local.get, add
    Sleb(body, k + 1);
    body.insert(body.end(), {0x73, 0x24, 0x00});  // i32.xor, global.set 0
  }
  body.push_back(0x41);
  Sleb(body, kScratch);
  body.insert(body.end(), {0x23, 0x00, 0x36, 0x02, 0x00});  // global.get 0; i32.store
  if (k + 1 < kFunctions) {
    body.insert(body.end(), {0x20, 0x00, 0x41, 0x01, 0x6a, 0x10});  // x + 1; call
    AppendUleb(body, imports + k + 1);
    body.push_back(0x41);
    Sleb(body, kScratch);
    body.insert(body.end(), {0x28, 0x02, 0x00, 0x6a});  // i32.load; i32.add
  } else {
    body.insert(body.end(), {0x20, 0x00, 0x10, 0x00});  // call env.twice (import 0)
  }
  body.push_back(0x0b);
  return body;
}

// The module: imports env.twice (and, for `second`, other.thrice, and a type more), defines the
// shared run and
// (for `second`) one more function calling other.thrice; exports "run" (the run's first) and
// "memory".
Bytes TestModule(bool second) {
  const uint32_t imports = second ? 2 : 1;
  Bytes wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  // Type 0: (i32) -> i32; the second has one more type after it, as another world's engine has.
  if (second) {
    Section(wasm, 1, {0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7e});
  } else {
    Section(wasm, 1, {0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f});
  }
  Bytes import_section;
  AppendUleb(import_section, imports);
  Name(import_section, "env");
  Name(import_section, "twice");
  import_section.insert(import_section.end(), {0x00, 0x00});
  if (second) {
    Name(import_section, "other");
    Name(import_section, "thrice");
    import_section.insert(import_section.end(), {0x00, 0x00});
  }
  Section(wasm, 2, import_section);
  const uint32_t defined = kFunctions + (second ? 1 : 0);
  Bytes functions;
  AppendUleb(functions, defined);
  for (uint32_t i = 0; i < defined; ++i) functions.push_back(0x00);
  Section(wasm, 3, functions);
  Section(wasm, 5, {0x01, 0x00, 0x01});                    // memory: 1 page
  Section(wasm, 6, {0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b});  // global: mut i32 = 0
  Bytes exports;
  AppendUleb(exports, second ? 3 : 2);
  Name(exports, "run");
  exports.push_back(0x00);
  AppendUleb(exports, imports);
  Name(exports, "memory");
  exports.insert(exports.end(), {0x02, 0x00});
  if (second) {
    Name(exports, "extra");
    exports.push_back(0x00);
    AppendUleb(exports, imports + kFunctions);
  }
  Section(wasm, 7, exports);
  Bytes code;
  AppendUleb(code, defined);
  for (uint32_t k = 0; k < kFunctions; ++k) {
    const Bytes body = SharedBody(k, imports);
    AppendUleb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  if (second) {
    const Bytes body = {0x00, 0x20, 0x00, 0x10, 0x01, 0x0b};  // other.thrice(x)
    AppendUleb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  Section(wasm, 10, code);
  return wasm;
}

// What run(x) returns on a fresh instance, as the wasm says.
uint32_t Expected(uint32_t x) {
  uint32_t g = 0;
  std::vector<uint32_t> stored(kFunctions);
  // Calls nest: function k stores, then calls k + 1, then adds what memory holds after it.
  for (uint32_t k = 0; k < kFunctions; ++k) {
    for (uint32_t r = 0; r < kRepeats; ++r) g = (g + (x + k)) ^ (k + 1);
  }
  const uint32_t last_stored = g;  // the innermost call stored last
  uint32_t result = (x + kFunctions - 1) * 2;
  for (uint32_t k = 0; k + 1 < kFunctions; ++k) result += last_stored;
  return result;
}

int Twice(Instance&, void*, const uint64_t* args, uint64_t* results) {
  results[0] = static_cast<uint32_t>(args[0]) * 2;
  return 0;
}

int Thrice(Instance&, void*, const uint64_t* args, uint64_t* results) {
  results[0] = static_cast<uint32_t>(args[0]) * 3;
  return 0;
}

size_t UnitObjects(const fs::path& cache) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(cache / "units", ec), end; !ec && it != end;
       it.increment(ec)) {
    n += it->path().extension() == ".o";
  }
  return n;
}

class UnitObjectsTest : public ::testing::TestWithParam<MemoryMode> {};

TEST_P(UnitObjectsTest, ModulesSharingARunOfFunctionsShareItsObjectsAndKeepTheirOwnLayout) {
  testing_util::TestDir dir("theater-unit-objects");
  EngineOptions options;
  options.cache_dir = dir.path() / "cache";
  options.memory_mode = GetParam();
  options.progress = EngineOptions::Progress::kOff;
  // Small units, so that these small modules are cut into more runs than a module may have,
  // and the run size no longer depends on the module's exact size.
  options.compile_unit_bytes = 256;
  auto engine = Engine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();

  auto first = (*engine)->LoadModule(TestModule(false), "first.wasm");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const size_t after_first = UnitObjects(options.cache_dir);
  EXPECT_GE(after_first, 10u) << "the run is cut into many units";
  auto second = (*engine)->LoadModule(TestModule(true), "second.wasm");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const size_t added = UnitObjects(options.cache_dir) - after_first;
  // The last run (which calls env.twice, and is followed by the second's own function) and the
  // second's own function may be new; every other unit is the first's.
  EXPECT_GE(added, 1u);
  EXPECT_LE(added, 2u);

  TableResolver resolver;
  resolver.Add("env", "twice", Twice);
  resolver.Add("other", "thrice", Thrice);
  for (const std::shared_ptr<const Module>& module : {*first, *second}) {
    for (const uint32_t x : {0u, 7u, 1000u}) {
      auto instance = module->Instantiate(resolver, {});
      ASSERT_TRUE(instance.ok()) << instance.status().ToString();
      uint64_t args[1] = {x};
      uint64_t results[1] = {0};
      ASSERT_TRUE((*instance)->Call("run", args, results).ok());
      EXPECT_EQ(static_cast<uint32_t>(results[0]), Expected(x)) << "x = " << x;
      uint32_t stored = 0;
      std::memcpy(&stored, (*instance)->memory().data() + kScratch, sizeof(stored));
      EXPECT_NE(stored, 0u);
    }
  }
  auto instance = (*second)->Instantiate(resolver, {});
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  uint64_t args[1] = {5};
  uint64_t results[1] = {0};
  ASSERT_TRUE((*instance)->Call("extra", args, results).ok());
  EXPECT_EQ(results[0], 15u);
}

INSTANTIATE_TEST_SUITE_P(BothMemoryModes, UnitObjectsTest, testing::BothMemoryModes(),
                         testing::MemoryModeTestName);

// Two modules that share units, compiled at the same moment (two worlds' first actors started
// together): each shared unit is compiled once, by whichever compile takes it first; the other
// waits for it instead of compiling it too.
TEST(UnitObjectsConcurrencyTest, TwoModulesSharingUnitsCompiledAtOnceCompileEachUnitOnce) {
  testing_util::TestDir dir("theater-unit-objects-race");
  // A C compiler that notes each function unit it compiles (mod_1.o, mod_2.o, ...; unit 0 and
  // the shim are each module's own).
  const fs::path log = dir.path() / "units.log";
  const fs::path cc = dir.path() / "cc";
  {
    std::FILE* script = std::fopen(cc.c_str(), "w");
    ASSERT_NE(script, nullptr);
    std::fprintf(script,
                 "#!/bin/sh\n"
                 "for a in \"$@\"; do case \"$a\" in mod_0.o) ;; mod_*.o) echo \"$a\" >> '%s' ;;"
                 " esac; done\n"
                 "exec cc \"$@\"\n",
                 log.c_str());
    std::fclose(script);
    fs::permissions(cc, fs::perms::owner_all);
  }
  EngineOptions options;
  options.cache_dir = dir.path() / "cache";
  options.progress = EngineOptions::Progress::kOff;
  options.compile_unit_bytes = 256;
  ::setenv("THEATER_CC", cc.c_str(), 1);  // read once, as the engine is created
  auto engine = Engine::Create(options);
  ::unsetenv("THEATER_CC");
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();

  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  auto load = [&](bool second) {
    start.wait();
    return (*engine)->LoadModule(TestModule(second), second ? "second.wasm" : "first.wasm");
  };
  auto first = std::async(std::launch::async, load, false);
  auto second = std::async(std::launch::async, load, true);
  go.set_value();
  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  size_t compiles = 0;
  {
    std::FILE* lines = std::fopen(log.c_str(), "r");
    ASSERT_NE(lines, nullptr);
    for (int c; (c = std::fgetc(lines)) != EOF;) compiles += c == '\n';
    std::fclose(lines);
  }
  const size_t objects = UnitObjects(options.cache_dir);
  EXPECT_GE(objects, 10u);
  EXPECT_EQ(compiles, objects) << "a unit compiled by both";

  // Both run as their code says.
  TableResolver resolver;
  resolver.Add("env", "twice", Twice);
  resolver.Add("other", "thrice", Thrice);
  for (const std::shared_ptr<const Module>& module : {*a, *b}) {
    auto instance = module->Instantiate(resolver, {});
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    uint64_t args[1] = {3};
    uint64_t results[1] = {0};
    ASSERT_TRUE((*instance)->Call("run", args, results).ok());
    EXPECT_EQ(static_cast<uint32_t>(results[0]), Expected(3));
  }
}

}  // namespace
}  // namespace theater::engine
