// Theater: a WebAssembly actor runtime.
//
// Regression tests for what fuzz/manifest_fuzz found (reproducers in
// fuzz/regressions/manifest_fuzz/): each input must be refused with an error naming the limit (or
// handled), in bounded time, without overflowing the stack.
//
// NOT registered with CTest yet: all of them fail at 43c4bb1 (the first takes minutes, the other
// two crash). Once the fixes land, move this file to src/runtime/ and add
//   theater_add_test(manifest_fuzz_regression_test SOURCES manifest_fuzz_regression_test.cc
//     LIBS theater_manifest GTest::gmock)
// to src/runtime/CMakeLists.txt. The asserted messages assume the depth errors name "depth".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/template.h"
#include "theater/manifest.h"

namespace theater {
namespace {

using nlohmann::json;

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// ParseTemplate computed "line:col" of every expression by scanning from the start of the text:
// quadratic in the number of expressions (50,000 lines of `name = "{{a}}"`, 750 KB, took 20 s of
// CPU in the -O2 build; an inline manifest may be megabytes).
TEST(ManifestFuzzRegression, ManyTemplateExpressionsParseInLinearTime) {
  const std::string text = Repeat("name = \"{{a}}\"\n", 100000);  // 1.5 MB
  auto start = std::chrono::steady_clock::now();
  Result<ParsedTemplate> parsed = ParseTemplate(text, "big.toml");
  auto elapsed = std::chrono::steady_clock::now() - start;
  // Either parsed or refused by a documented limit on expressions/size; never seconds of work.
  if (parsed.ok()) {
    EXPECT_EQ(MaskTemplate(*parsed).size(), text.size());
  }
  EXPECT_LT(elapsed, std::chrono::seconds(2))
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}

// A 100,000-deep JSON initial state overflowed the stack in nlohmann's recursive copy in
// MergeInitState (manifest.cc: `json merged = *init;`) when an object override was given.
TEST(ManifestFuzzRegression, DeepInitStateWithOverrideDoesNotOverflow) {
  const size_t depth = 100'000;
  const std::string init = "{\"a\":" + Repeat("[", depth) + Repeat("]", depth) + "}";
  StoreReader store = [&](const std::string&) -> Result<std::vector<uint8_t>> {
    return std::vector<uint8_t>(init.begin(), init.end());
  };
  Result<ManifestWithState> r = ParseManifestWithState(
      "name = \"a\"\nversion = \"1\"\ncomponent = \"a.wasm\"\ninit_state = \"init.json\"\n", {},
      "m.toml", json{{"x", 1}}, "store://s/m.toml", store);
  ASSERT_FALSE(r.ok());  // refused by the init-state depth limit, which the message names
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("depth"));
}

// A 100,000-deep dotted table header `[a.a.a....]` overflowed the stack inside toml++.
TEST(ManifestFuzzRegression, DeepDottedTableHeaderIsRefused) {
  std::string text = "name = \"a\"\n[" + Repeat("a.", 99'999) + "a]\n";
  Result<Manifest> r = ParseManifest(text, {}, "deep.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("depth"));
}

// A 20,000-deep dotted key inside a [[handler]] table (`a.a.a....a = 1`, 40 KB) overflowed the
// stack in Theater's own recursive TOML-to-JSON conversion (manifest.cc ToJson, from
// ParseHandlers); 15,000 levels already crash the -O2 build on an 8 MiB stack. toml++ itself
// parses it. Found by fuzz/handler_config_fuzz (fuzz/regressions/handler_config_fuzz/).
TEST(ManifestFuzzRegression, DeepDottedKeyInHandlerTableIsRefused) {
  std::string text =
      "name = \"a\"\nversion = \"1\"\ncomponent = \"a.wasm\"\n[[handler]]\n"
      "type = \"timing\"\n" +
      Repeat("a.", 20'000) + "a = 1\n";
  Result<Manifest> r = ParseManifest(text, {}, "deep.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("depth"));
}

// The same in [permission_policy], which is converted the same way.
TEST(ManifestFuzzRegression, DeepDottedKeyInPermissionPolicyIsRefused) {
  std::string text =
      "name = \"a\"\nversion = \"1\"\ncomponent = \"a.wasm\"\n"
      "[permission_policy]\n" +
      Repeat("a.", 20'000) + "a = 1\n";
  Result<Manifest> r = ParseManifest(text, {}, "deep.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("depth"));
}

// An init_state whose bytes hold a number too large for a double (`1e99999`) made nlohmann
// throw out_of_range (406), which LoadInitState (manifest.cc, `json::parse(text)` catching only
// parse_error) let escape: std::terminate, the whole server gone. The bytes come from a file, a
// URL or a store a guest can write. Found by fuzz/manifest_fuzz
// (fuzz/regressions/manifest_fuzz/crash-init-state-number-overflow-uncaught).
TEST(ManifestFuzzRegression, InitStateNumberOverflowIsAnError) {
  for (std::string bytes : {"1e99999", "[-1e400]", "{\"a\": 49e0000000000000400048}"}) {
    StoreReader store = [&](const std::string&) -> Result<std::vector<uint8_t>> {
      return std::vector<uint8_t>(bytes.begin(), bytes.end());
    };
    Result<ManifestWithState> r = ParseManifestWithState(
        "name = \"a\"\nversion = \"1\"\ncomponent = \"a.wasm\"\ninit_state = \"init.json\"\n", {},
        "m.toml", std::nullopt, "store://s/m.toml", store);
    ASSERT_FALSE(r.ok()) << bytes;
    EXPECT_EQ(r.status().code(), StatusCode::kParseError) << r.status().ToString();
  }
}

}  // namespace
}  // namespace theater
