#include "theater/manifest.h"
#include "theater/limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include <fstream>
#include <random>
#include <string>

namespace theater {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kMinimal[] = R"(name = "hello"
version = "0.1.0"
component = "hello.wasm"
)";

// A fresh directory under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("theater-manifest-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  fs::path path_;
};

Result<Manifest> Parse(std::string_view toml) {
  return ParseManifest(toml, "/actors/x", "m.toml");
}

std::string ErrorOf(std::string_view toml) {
  Result<Manifest> m = Parse(toml);
  EXPECT_FALSE(m.ok()) << "expected an error for:\n" << toml;
  return m.ok() ? "" : m.status().ToString();
}

TEST(ManifestTest, ParsesEveryField) {
  Result<Manifest> m = Parse(R"(name = "hello"
version = "0.1.0"
component = "build/hello.wasm"
description = "says hello"
long_description = "a longer text"
save_chain = true
init_state = "state.json"

[permission_policy.file_system]
type = "restrict"
[permission_policy.file_system.config]
read = true
allowed_paths = ["/tmp/test"]

[[handler]]
type = "runtime"

[[handler]]
type = "timing"
max_sleep_duration = 5000
ratio = 0.5
when = 1979-05-27T07:32:00Z
nested = { a = [1, 2], b = "x" }

[limits]
init_deadline_ms = 1000
call_deadline_ms = 2000
memory_limit_mb = 64
stack_size_kb = 512
mailbox_capacity = 16
chain_retention_events = 5000
chain_retention_bytes = 1048576
)");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "hello");
  EXPECT_EQ(m->version, "0.1.0");
  EXPECT_EQ(m->component, "/actors/x/build/hello.wasm");
  EXPECT_EQ(m->component_kind, ReferenceKind::kFile);
  EXPECT_EQ(m->description, "says hello");
  EXPECT_EQ(m->long_description, "a longer text");
  EXPECT_EQ(m->save_chain, true);
  EXPECT_EQ(m->init_state, "/actors/x/state.json");
  EXPECT_EQ(m->permission_policy, json::parse(R"({"file_system": {"type": "restrict",
                           "config": {"read": true, "allowed_paths": ["/tmp/test"]}}})"));
  ASSERT_EQ(m->handlers.size(), 2u);
  EXPECT_EQ(m->handlers[0].type, "runtime");
  EXPECT_EQ(m->handlers[0].config, json::object());
  EXPECT_EQ(m->handlers[0].location, "m.toml:15:1");
  EXPECT_EQ(m->handlers[1].type, "timing");
  EXPECT_EQ(m->handlers[1].config, json::parse(R"({"max_sleep_duration": 5000, "ratio": 0.5,
                           "when": "1979-05-27T07:32:00Z", "nested": {"a": [1, 2], "b": "x"}})"));
  EXPECT_EQ(m->limits.init_deadline_ms, 1000u);
  EXPECT_EQ(m->limits.call_deadline_ms, 2000u);
  EXPECT_EQ(m->limits.memory_limit_mb, 64u);
  EXPECT_EQ(m->limits.stack_size_kb, 512u);
  EXPECT_EQ(m->limits.mailbox_capacity, 16u);
  EXPECT_EQ(m->limits.chain_retention_events, 5000u);
  EXPECT_EQ(m->limits.chain_retention_bytes, 1048576u);
  EXPECT_TRUE(m->warnings.empty());
  EXPECT_EQ(m->source_name, "m.toml");
  EXPECT_EQ(m->base_dir, fs::path("/actors/x"));
}

TEST(ManifestTest, PlacementIsAHostNameOrLeastLoaded) {
  const std::string rest = "name = \"a\"\ncomponent = \"a.wasm\"\n";
  Result<Manifest> named = Parse("placement = \"h-2_b\"\n" + rest);
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->placement, "h-2_b");
  Result<Manifest> least = Parse("placement = \"least-loaded\"\n" + rest);
  ASSERT_TRUE(least.ok()) << least.status().ToString();
  EXPECT_EQ(least->placement, "least-loaded");
  EXPECT_FALSE(Parse(rest)->placement.has_value());
  for (const std::string& bad : std::vector<std::string>{"\"h 2\"", "\"\"", "\"" + std::string(65, 'h') + "\"", "3"}) {
    Result<Manifest> refused = Parse("placement = " + bad + "\n" + rest);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_THAT(refused.status().message(), HasSubstr("placement")) << bad;
  }
  // Read alone (what a management server does before it knows where to start it), templates
  // and all.
  Result<std::optional<std::string>> alone =
      ManifestPlacement("placement = \"h2\"\n" + rest + "description = \"{{ who }}\"\n");
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_EQ(*alone, "h2");
  EXPECT_EQ(*ManifestPlacement(rest), std::nullopt);
  EXPECT_FALSE(ManifestPlacement("placement = \"a b\"\n").ok());
  EXPECT_FALSE(ManifestPlacement("placement = [").ok());
}

TEST(ManifestTest, DefaultsForOptionalFields) {
  Result<Manifest> m = Parse(kMinimal);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->description);
  EXPECT_FALSE(m->long_description);
  EXPECT_EQ(m->save_chain, std::nullopt);  // the runtime decides (it keeps chains by default)
  EXPECT_FALSE(m->init_state);
  EXPECT_EQ(m->permission_policy, json::object());
  EXPECT_TRUE(m->handlers.empty());
  EXPECT_EQ(m->limits, ManifestLimits{});
  EXPECT_EQ(m->limits.init_deadline_ms, 60000u);
  EXPECT_EQ(m->limits.call_deadline_ms, 300000u);
  EXPECT_EQ(m->limits.memory_limit_mb, 256u);
  EXPECT_EQ(m->limits.stack_size_kb, 256u);
}

TEST(ManifestTest, EachRequiredFieldMissing) {
  EXPECT_EQ(ErrorOf("version = \"1\"\ncomponent = \"a.wasm\"\n"),
            "m.toml: missing required field 'name'");
  EXPECT_EQ(ErrorOf("name = \"a\"\nversion = \"1\"\n"),
            "m.toml: missing required field 'component'");
  EXPECT_EQ(Parse("").status().code(), StatusCode::kInvalidArgument);
}

// The manifest of the design documents (003, "Handler Configuration"), verbatim: `component_path`,
// `[[handlers]]`, settings in `config = { ... }`, no `version`.
TEST(ManifestTest, TheDesignDocumentsSpellingIsAccepted) {
  Result<Manifest> m = Parse(R"(name = "my-actor"
component_path = "my_actor.wasm"

[[handlers]]
type = "message-server"
config = {}

[[handlers]]
type = "http-client"
config = {}

[[handlers]]
type = "filesystem"
config = { path = "data", new_dir = true }
)");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "my-actor");
  EXPECT_EQ(m->version, "0.1.0");  // the default when none is given
  EXPECT_EQ(fs::path(m->component).filename(), "my_actor.wasm");
  ASSERT_EQ(m->handlers.size(), 3u);
  EXPECT_EQ(m->handlers[0].type, "message-server");
  EXPECT_EQ(m->handlers[0].config, json::object());
  EXPECT_EQ(m->handlers[2].type, "filesystem");
  EXPECT_EQ(m->handlers[2].config, (json{{"path", "data"}, {"new_dir", true}}));
  EXPECT_TRUE(m->warnings.empty());

  // `config` as a sub-table means the same.
  Result<Manifest> sub = Parse(
      "name = \"a\"\ncomponent_path = \"a.wasm\"\n[[handlers]]\ntype = \"timing\"\n"
      "[handlers.config]\nmax_sleep_duration = 5\n");
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(sub->handlers[0].config, (json{{"max_sleep_duration", 5}}));
}

TEST(ManifestTest, BothSpellingsOfOneFieldAreRefusedNamingBoth) {
  EXPECT_EQ(ErrorOf("name = \"a\"\ncomponent = \"a.wasm\"\ncomponent_path = \"b.wasm\"\n"),
            "m.toml:3:18: field 'component_path' and 'component' (m.toml:2:13) are two spellings "
            "of one field: give only one");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "[[handler]]\ntype = \"timing\"\n"
                    "[[handlers]]\ntype = \"random\"\n"),
            "m.toml:6:1: field 'handlers' and 'handler' (m.toml:4:1) are two spellings of one "
            "field: give only one");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) +
                    "[[handlers]]\ntype = \"timing\"\nmax_sleep_duration = 5\nconfig = {}\n"),
            "m.toml:6:1: field 'handlers[0].max_sleep_duration' is a setting outside "
            "'handlers[0].config', which holds the others: give the settings either in 'config' "
            "or as keys of the table, not both");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "[[handlers]]\ntype = \"timing\"\nconfig = 5\n"),
            "m.toml:6:10: field 'handlers[0].config' must be a table, not an integer");
  EXPECT_EQ(ErrorOf("name = \"a\"\nversion = \"\"\ncomponent = \"a.wasm\"\n"),
            "m.toml:2:11: field 'version' must not be empty");
}

TEST(ManifestTest, WrongTypesNameFieldAndPosition) {
  EXPECT_EQ(ErrorOf("name = \"a\"\ncomponent = \"a.wasm\"\nversion = 1\n"),
            "m.toml:3:11: field 'version' must be a string, not an integer");
  EXPECT_EQ(ErrorOf("name = [\"a\"]\nversion = \"1\"\ncomponent = \"a.wasm\"\n"),
            "m.toml:1:8: field 'name' must be a string, not an array");
  std::string base = kMinimal;
  EXPECT_EQ(ErrorOf(base + "save_chain = \"yes\"\n"),
            "m.toml:4:14: field 'save_chain' must be a boolean, not a string");
  EXPECT_EQ(ErrorOf(base + "description = 3.5\n"),
            "m.toml:4:15: field 'description' must be a string, not a float");
  EXPECT_EQ(ErrorOf(base + "init_state = { a = 1 }\n"),
            "m.toml:4:14: field 'init_state' must be a string, not a table");
  EXPECT_EQ(ErrorOf(base + "permission_policy = \"all\"\n"),
            "m.toml:4:21: field 'permission_policy' must be a table, not a string");
  EXPECT_THAT(ErrorOf(base + "handler = \"runtime\"\n"),
              HasSubstr("m.toml:4:11: field 'handler' must be an array of tables"));
  EXPECT_THAT(ErrorOf(base + "[handler]\ntype = \"runtime\"\n"),
              HasSubstr("field 'handler' must be an array of tables ([[handler]]), not a table"));
  EXPECT_EQ(ErrorOf(base + "limits = 5\n"),
            "m.toml:4:10: field 'limits' must be a table, not an integer");
  EXPECT_EQ(ErrorOf(base + "name2 = 1\n[[handler]]\nkind = \"x\"\n"),
            "m.toml:5:1: missing required field 'handler[0].type'");
  EXPECT_EQ(ErrorOf(base + "[[handler]]\ntype = \"a\"\n[[handler]]\ntype = 7\n"),
            "m.toml:7:8: field 'handler[1].type' must be a string, not an integer");
  EXPECT_EQ(Parse(base + "save_chain = 1\n").status().code(), StatusCode::kInvalidArgument);
}

TEST(ManifestTest, EmptyRequiredStringsAreRejected) {
  EXPECT_EQ(ErrorOf("name = \"\"\nversion = \"1\"\ncomponent = \"a.wasm\"\n"),
            "m.toml:1:8: field 'name' must not be empty");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "init_state = \"\"\n"),
            "m.toml:4:14: field 'init_state' must not be empty");
}

TEST(ManifestTest, ComponentReferences) {
  auto component = [](const std::string& ref, const fs::path& base) {
    Result<Manifest> m =
        ParseManifest("name = \"a\"\nversion = \"1\"\ncomponent = \"" + ref + "\"\n", base, "m");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::make_pair(m->component, m->component_kind)
                  : std::make_pair(std::string(), ReferenceKind::kFile);
  };
  EXPECT_EQ(component("a.wasm", "/srv/actors"),
            std::make_pair(std::string("/srv/actors/a.wasm"), ReferenceKind::kFile));
  EXPECT_EQ(component("../build/./a.wasm", "/srv/actors"),
            std::make_pair(std::string("/srv/build/a.wasm"), ReferenceKind::kFile));
  EXPECT_EQ(component("/opt/a.wasm", "/srv/actors"),
            std::make_pair(std::string("/opt/a.wasm"), ReferenceKind::kFile));
  EXPECT_EQ(component("a.wasm", ""), std::make_pair(std::string("a.wasm"), ReferenceKind::kFile));
  EXPECT_EQ(component("store://wasm/hello", "/srv"),
            std::make_pair(std::string("store://wasm/hello"), ReferenceKind::kStore));
  EXPECT_EQ(component("https://example.com/a.wasm", "/srv"),
            std::make_pair(std::string("https://example.com/a.wasm"), ReferenceKind::kUrl));
  EXPECT_EQ(component("http://example.com/a.wasm", "/srv"),
            std::make_pair(std::string("http://example.com/a.wasm"), ReferenceKind::kUrl));
}

// Parsing is remembered (a spawn from the same text does not parse it again): every input is
// part of what is remembered, so a different directory, name or URL parses anew.
TEST(ManifestTest, ParsingAgainGivesTheSameManifestForTheSameInputsOnly) {
  const std::string text = "name = \"a\"\nversion = \"1\"\ncomponent = \"a.wasm\"\ncolour = 1\n";
  Result<Manifest> first = ParseManifest(text, "/srv/one", "one.toml");
  Result<Manifest> again = ParseManifest(text, "/srv/one", "one.toml");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(again->component, "/srv/one/a.wasm");
  EXPECT_EQ(again->warnings, first->warnings);
  EXPECT_EQ(again->text, text);
  Result<Manifest> elsewhere = ParseManifest(text, "/srv/two", "two.toml");
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->component, "/srv/two/a.wasm");
  ASSERT_EQ(elsewhere->warnings.size(), 1u);
  EXPECT_THAT(elsewhere->warnings[0], HasSubstr("two.toml:4:1"));
  Result<Manifest> fetched = ParseManifest(text, "", "url", "https://example.com/m/manifest.toml");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->component, "https://example.com/m/a.wasm");
  // A failure is not remembered as a success, nor the other way round.
  EXPECT_FALSE(ParseManifest(text + "name = \"twice\"\n", "/srv/one", "one.toml").ok());
  EXPECT_TRUE(ParseManifest(text, "/srv/one", "one.toml").ok());
}

TEST(ManifestTest, AnOversizedTextIsRefusedNamingTheLimit) {
  const std::string text = "name = \"" + std::string(limits::kMaxManifestBytes, 'a') + "\"\n";
  Result<Manifest> parsed = ParseManifest(text, "/srv", "big.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(parsed.status().message(), HasSubstr("over the manifest size limit"));
  Result<ManifestWithState> with_state = ParseManifestWithState(text, "/srv", "big.toml", {});
  ASSERT_FALSE(with_state.ok());
  EXPECT_THAT(with_state.status().message(), HasSubstr("big.toml: manifest is"));
}

TEST(ManifestTest, UnknownKeysAreWarningsWithPositions) {
  Result<Manifest> m = Parse(std::string(kMinimal) +
                             "colour = \"blue\"\n"
                             "[permissions.file_system]\n"
                             "read = true\n"
                             "[limits]\n"
                             "memory_limit_mb = 32\n"
                             "cpu = 2\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->limits.memory_limit_mb, 32u);
  ASSERT_EQ(m->warnings.size(), 3u);
  EXPECT_EQ(m->warnings[0], "m.toml:4:1: unknown key 'colour' (ignored)");
  EXPECT_EQ(m->warnings[1], "m.toml:5:2: unknown key 'permissions' (ignored)");
  EXPECT_EQ(m->warnings[2], "m.toml:9:1: unknown key 'limits.cpu' (ignored)");
}

// A near miss of a key the format has is an error naming it: a misspelt `permission_policy`
// must not drop a security policy with only a warning.
TEST(ManifestTest, AMisspeltKeyIsAnErrorThatSaysWhatWasMeant) {
  Result<Manifest> m = Parse(std::string(kMinimal) +
                             "[permision_policy.filesystem]\n"
                             "read = false\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "m.toml:4:2: unknown key 'permision_policy' (did you mean 'permission_policy'?)");
  m = Parse(std::string(kMinimal) + "[limits]\nmailbox_capacty = 4\n");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("unknown key 'limits.mailbox_capacty' (did you mean "
                                              "'limits.mailbox_capacity'?)"));
  m = Parse(std::string(kMinimal) + "nmae = \"x\"\n");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("(did you mean 'name'?)"));
}

TEST(ManifestTest, LimitsOverridesAndInvalidValues) {
  std::string base = std::string(kMinimal) + "[limits]\n";
  Result<Manifest> m = Parse(base + "call_deadline_ms = 86400000\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->limits.call_deadline_ms, 86400000u);
  EXPECT_EQ(m->limits.init_deadline_ms, 60000u) << "unset limits keep their defaults";

  EXPECT_EQ(ErrorOf(base + "init_deadline_ms = 0\n"),
            "m.toml:5:20: field 'limits.init_deadline_ms' must be between 1 and 86400000, got 0");
  EXPECT_EQ(ErrorOf(base + "call_deadline_ms = -5\n"),
            "m.toml:5:20: field 'limits.call_deadline_ms' must be between 1 and 86400000, got -5");
  EXPECT_EQ(ErrorOf(base + "memory_limit_mb = 4097\n"),
            "m.toml:5:19: field 'limits.memory_limit_mb' must be between 1 and 4096, got 4097");
  EXPECT_EQ(ErrorOf(base + "mailbox_capacity = 0\n"),
            "m.toml:5:20: field 'limits.mailbox_capacity' must be between 1 and 1048576, got 0");
  EXPECT_EQ(ErrorOf(base + "chain_retention_events = -1\n"),
            "m.toml:5:26: field 'limits.chain_retention_events' must be between 0 and 4294967295, "
            "got -1");
  EXPECT_EQ(ErrorOf(base + "stack_size_kb = 8\n"),
            "m.toml:5:17: field 'limits.stack_size_kb' must be between 16 and 65536, got 8");
  EXPECT_EQ(ErrorOf(base + "stack_size_kb = 1.5\n"),
            "m.toml:5:17: field 'limits.stack_size_kb' must be an integer, not a float");
  EXPECT_EQ(ErrorOf(base + "memory_limit_mb = \"64\"\n"),
            "m.toml:5:19: field 'limits.memory_limit_mb' must be an integer, not a string");
}

TEST(ManifestTest, MailboxOverflowTakesFourPoliciesAndRefusesIsTheDefault) {
  std::string base = std::string(kMinimal) + "[limits]\n";
  Result<Manifest> plain = Parse(std::string(kMinimal));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->limits.mailbox_overflow, MailboxOverflow::kRefuse);
  const std::pair<const char*, MailboxOverflow> kPolicies[] = {
      {"refuse", MailboxOverflow::kRefuse},
      {"drop-oldest", MailboxOverflow::kDropOldest},
      {"drop-newest", MailboxOverflow::kDropNewest},
      {"block", MailboxOverflow::kBlock}};
  for (const auto& [name, policy] : kPolicies) {
    Result<Manifest> m = Parse(base + "mailbox_overflow = \"" + name + "\"\n");
    ASSERT_TRUE(m.ok()) << name << ": " << m.status().ToString();
    EXPECT_EQ(m->limits.mailbox_overflow, policy) << name;
    EXPECT_EQ(MailboxOverflowName(policy), name);
  }
  EXPECT_EQ(ErrorOf(base + "mailbox_overflow = \"drop\"\n"),
            "m.toml:5:20: field 'limits.mailbox_overflow' must be \"refuse\", \"drop-oldest\", "
            "\"drop-newest\" or \"block\", got 'drop'");
  EXPECT_EQ(ErrorOf(base + "mailbox_overflow = 1\n"),
            "m.toml:5:20: field 'limits.mailbox_overflow' must be a string, not an integer");
  EXPECT_THAT(ErrorOf(base + "mailbox_overflw = \"block\"\n"),
              ::testing::HasSubstr("did you mean 'limits.mailbox_overflow'?"));
}

TEST(ManifestTest, HandlerConfigRejectsNonFiniteFloats) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "[[handler]]\ntype = \"random\"\nweight = nan\n"),
            "m.toml:6:10: field 'handler[0].weight' must be a finite number");
}

TEST(ManifestTest, TomlSyntaxErrorCarriesPosition) {
  Result<Manifest> m = Parse("name = \"a\"\nversion = = \"1\"\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kParseError);
  EXPECT_THAT(m.status().message(), HasSubstr("m.toml:2:11: TOML syntax error: "));

  Result<Manifest> dup = Parse("name = \"a\"\nname = \"b\"\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kParseError);
  EXPECT_THAT(dup.status().message(), HasSubstr("m.toml:2:"));
}

TEST(ManifestTest, LoadManifestResolvesAgainstItsOwnDirectory) {
  TempDir dir;
  fs::path path = dir.Write("actors/hello/manifest.toml", kMinimal);
  Result<Manifest> m = LoadManifest(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->component, (dir.path() / "actors/hello/hello.wasm").string());
  EXPECT_EQ(m->source_name, path.string());
  EXPECT_EQ(m->base_dir, dir.path() / "actors/hello");
}

TEST(ManifestTest, LoadManifestErrors) {
  TempDir dir;
  Result<Manifest> missing = LoadManifest(dir.path() / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.toml"));

  fs::path bad = dir.Write("bad.toml", "name = \"a\"\nversion = 2\ncomponent = \"c\"\n");
  Result<Manifest> m = LoadManifest(bad);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().ToString(),
            bad.string() + ":2:11: field 'version' must be a string, not an integer");
}

TEST(ManifestTest, InitStateLoadsBytes) {
  TempDir dir;
  const std::string state = "{\"count\": 1, \"name\": \"x\"}\n";
  dir.Write("state.json", state);
  fs::path path =
      dir.Write("manifest.toml", std::string(kMinimal) + "init_state = \"state.json\"\n");
  Result<Manifest> m = LoadManifest(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Result<std::optional<std::vector<uint8_t>>> bytes = LoadInitState(*m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ASSERT_TRUE(bytes->has_value());
  EXPECT_EQ(std::string((*bytes)->begin(), (*bytes)->end()), state);
}

TEST(ManifestTest, InitStateAbsentIsNullopt) {
  Result<Manifest> m = Parse(kMinimal);
  ASSERT_TRUE(m.ok());
  Result<std::optional<std::vector<uint8_t>>> bytes = LoadInitState(*m);
  ASSERT_TRUE(bytes.ok());
  EXPECT_FALSE(bytes->has_value());
}

TEST(ManifestTest, InitStateMissingFile) {
  TempDir dir;
  fs::path path =
      dir.Write("manifest.toml", std::string(kMinimal) + "init_state = \"gone.json\"\n");
  Result<Manifest> m = LoadManifest(path);
  ASSERT_TRUE(m.ok());
  Result<std::optional<std::vector<uint8_t>>> bytes = LoadInitState(*m);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bytes.status().ToString(), path.string() + ": init_state: init_state file not found: " +
                                           (dir.path() / "gone.json").string());
}

TEST(ManifestTest, InitStateInvalidJsonSaysWhere) {
  TempDir dir;
  fs::path state = dir.Write("state.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  fs::path path =
      dir.Write("manifest.toml", std::string(kMinimal) + "init_state = \"state.json\"\n");
  Result<Manifest> m = LoadManifest(path);
  ASSERT_TRUE(m.ok());
  Result<std::optional<std::vector<uint8_t>>> bytes = LoadInitState(*m);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kParseError);
  EXPECT_THAT(bytes.status().message(), HasSubstr(state.string() + ":3:"));
  EXPECT_THAT(bytes.status().message(), HasSubstr("init_state is not valid JSON: "));
  EXPECT_THAT(bytes.status().message(), ::testing::Not(HasSubstr("json.exception")));

  dir.Write("state.json", "");
  Result<std::optional<std::vector<uint8_t>>> empty = LoadInitState(*m);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kParseError);
}

TEST(ManifestTest, InitStateStoreReferencesAreReadByTheStoreReader) {
  Result<Manifest> m = Parse(std::string(kMinimal) + "init_state = \"store://states/init\"\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->init_state, "store://states/init");
  EXPECT_EQ(m->init_state_kind, ReferenceKind::kStore);
  // Without a reader (no runtime), a store reference cannot be read.
  Result<std::optional<std::vector<uint8_t>>> bytes = LoadInitState(*m);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnavailable);
  std::vector<std::string> asked;
  StoreReader reader = [&](const std::string& ref) -> Result<std::vector<uint8_t>> {
    asked.push_back(ref);
    if (ref == "store://states/init") return std::vector<uint8_t>{'{', '}'};
    return NotFound("no such label");
  };
  bytes = LoadInitState(*m, reader);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(**bytes, (std::vector<uint8_t>{'{', '}'}));
  EXPECT_EQ(asked, std::vector<std::string>{"store://states/init"});
}

TEST(ManifestTest, ManifestFromAStoreResolvesRelativeReferencesInThatStore) {
  const std::string store = "store://0d5c2a0e-8f7b-4d2e-9a51-2d8e6f4b1c3a";
  std::map<std::string, std::string> content = {
      {store + "/app/manifest.toml",
       "name = \"s\"\nversion = \"1\"\ncomponent = \"app.wasm\"\ninit_state = "
       "\"app/state.json\"\n"},
      {store + "/app/state.json", "{\"greeting\": \"hi\"}"},
  };
  StoreReader reader = [&](const std::string& ref) -> Result<std::vector<uint8_t>> {
    auto it = content.find(ref);
    if (it == content.end()) return NotFound("no label for " + ref);
    return std::vector<uint8_t>(it->second.begin(), it->second.end());
  };
  Result<ManifestWithState> loaded =
      LoadManifestWithStateFromStore(store + "/app/manifest.toml", std::nullopt, reader);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->manifest->component, store + "/app.wasm");
  EXPECT_EQ(loaded->manifest->component_kind, ReferenceKind::kStore);
  ASSERT_TRUE(loaded->state.has_value());
  EXPECT_EQ(std::string(loaded->state->begin(), loaded->state->end()), "{\"greeting\": \"hi\"}");
  // A local path in a stored manifest is refused, as in a fetched one.
  content[store + "/bad.toml"] = "name = \"b\"\nversion = \"1\"\ncomponent = \"/etc/x.wasm\"\n";
  Result<ManifestWithState> bad =
      LoadManifestWithStateFromStore(store + "/bad.toml", std::nullopt, reader);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("is a local path"), std::string::npos);
  // A missing manifest names the reference.
  Result<ManifestWithState> missing =
      LoadManifestWithStateFromStore(store + "/nothing", std::nullopt, reader);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// A manifest fetched from a URL: relative references become URLs beside it, absolute local
// paths are refused with the field named, other schemes are kept.
TEST(ManifestTest, ReferencesInAManifestFromAUrl) {
  const std::string base = "https://example.com/actors/m.toml";
  auto parse = [&](const std::string& component) {
    return ParseManifest("name = \"a\"\nversion = \"1\"\ncomponent = \"" + component +
                             "\"\ninit_state = \"state/init.json\"\n",
                         {}, base, base);
  };
  Result<Manifest> m = parse("../wasm/a.wasm");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->component, "https://example.com/wasm/a.wasm");
  EXPECT_EQ(m->component_kind, ReferenceKind::kUrl);
  EXPECT_EQ(m->init_state, "https://example.com/actors/state/init.json");
  EXPECT_EQ(m->init_state_kind, ReferenceKind::kUrl);
  m = parse("store://wasm/a");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->component_kind, ReferenceKind::kStore);
  m = parse("/etc/passwd");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("https://example.com/actors/m.toml:3:"));
  EXPECT_THAT(m.status().message(), HasSubstr("component"));
  EXPECT_THAT(m.status().message(), HasSubstr("is a local path"));
}

TEST(ManifestTest, MergeInitState) {
  json init = {{"a", 1}, {"b", {{"x", 1}}}};
  json over = {{"b", {{"y", 2}}}, {"c", 3}};
  EXPECT_EQ(MergeInitState(init, over), json({{"a", 1}, {"b", {{"y", 2}}}, {"c", 3}}))
      << "shallow: the override's 'b' replaces the whole object";
  EXPECT_EQ(MergeInitState(init, std::nullopt), init);
  EXPECT_EQ(MergeInitState(std::nullopt, over), over);
  EXPECT_EQ(MergeInitState(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(MergeInitState(init, json(5)), json(5));
  EXPECT_EQ(MergeInitState(json::array({1, 2}), over), over);
}

TEST(ManifestTest, ClassifyReference) {
  EXPECT_EQ(ClassifyReference("a/b.wasm"), ReferenceKind::kFile);
  EXPECT_EQ(ClassifyReference("store://s/hash/abc"), ReferenceKind::kStore);
  EXPECT_EQ(ClassifyReference("https://x"), ReferenceKind::kUrl);
  EXPECT_EQ(ClassifyReference("store:/x"), ReferenceKind::kFile);
}

// --- Templates (LoadManifestWithState / ParseManifestWithState). ---

std::string StateText(const ManifestWithState& m) {
  return m.state ? std::string(m.state->begin(), m.state->end()) : "<none>";
}

TEST(ManifestTemplateTest, SubstitutesFromInitStateFile) {
  TempDir dir;
  dir.Write("init.json", R"({"svc": "api", "servers": [{"hostname": "h0"}, {"hostname": "h1"}],
                            "timing": {"max": 5000}})");
  fs::path path = dir.Write("manifest.toml", R"(name = "{{svc}}"
version = "0.1.0"
component = "{{svc}}.wasm"
init_state = "init.json"
description = "{{servers.[1].hostname}}"

[[handler]]
type = "timing"
max_sleep_duration = {{timing.max}}
)");
  Result<ManifestWithState> m = LoadManifestWithState(path, std::nullopt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->name, "api");
  EXPECT_EQ(m->manifest->component, (dir.path() / "api.wasm").string());
  EXPECT_EQ(m->manifest->description, "h1");
  ASSERT_EQ(m->manifest->handlers.size(), 1u);
  EXPECT_EQ(m->manifest->handlers[0].config["max_sleep_duration"], 5000);
  EXPECT_THAT(m->manifest->warnings, ::testing::IsEmpty());
  // Without an override the state is the file's bytes, unchanged.
  EXPECT_THAT(StateText(*m), HasSubstr("\"servers\": [{\"hostname\": \"h0\"}"));
}

// The manifest's text is the same at each spawn, but its init_state file is read every time.
TEST(ManifestTemplateTest, AnInitStateFileThatChangedIsReadAgain) {
  TempDir dir;
  fs::path path = dir.Write("manifest.toml", "name = \"{{svc}}\"\nversion = \"1\"\n"
                                             "component = \"a.wasm\"\ninit_state = \"init.json\"\n");
  dir.Write("init.json", R"({"svc": "first"})");
  Result<ManifestWithState> m = LoadManifestWithState(path, std::nullopt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->name, "first");
  dir.Write("init.json", R"({"svc": "second"})");
  m = LoadManifestWithState(path, std::nullopt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->name, "second");
  EXPECT_EQ(StateText(*m), R"({"svc": "second"})");
}

TEST(ManifestTemplateTest, OverrideIsMergedAndUsedForSubstitution) {
  TempDir dir;
  dir.Write("init.json", R"({"svc": "api", "keep": 1})");
  fs::path path = dir.Write("manifest.toml", R"(name = "{{svc}}"
version = "{{default version "0.0.1"}}"
component = "a.wasm"
init_state = "init.json"
)");
  Result<ManifestWithState> m = LoadManifestWithState(path, json({{"svc", "override"}}));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->name, "override");
  EXPECT_EQ(m->manifest->version, "0.0.1");
  EXPECT_EQ(json::parse(StateText(*m)), json({{"svc", "override"}, {"keep", 1}}));
}

TEST(ManifestTemplateTest, OverrideWithoutInitStateAndRawStrings) {
  Result<ManifestWithState> m =
      ParseManifestWithState(R"(name = "x"
version = "1"
component = "a.wasm"
description = '{{quote}}'
)",
                             "/actors/x", "m.toml", json({{"quote", "say \"hi\" & <b>"}}));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->description, "say \"hi\" & <b>") << "no HTML escaping";
  EXPECT_EQ(StateText(*m), R"({"quote":"say \"hi\" & <b>"})");
}

// Values that try to leave their string and add a handler, or change the component or the
// limits, are kept whole inside it: what the manifest says is only what its author wrote.
TEST(ManifestTemplateTest, HostileValuesStayInsideTheirStrings) {
  const std::string hostile[] = {
      "x\"\n[[handler]]\ntype = \"process\"",
      "x\\\"\ncomponent = \"/evil.wasm\"",
      "\"\"\"\n[limits]\nmemory_limit_mb = 100000\n\"\"\"",
      "'''\n[[handler]]\ntype = 'process'",
      std::string("a\r\n[[handler]]\0\x7f]]", 18),
  };
  for (const std::string& value : hostile) {
    Result<ManifestWithState> m = ParseManifestWithState(
        std::string(kMinimal) + "description = \"{{v}}\"\nlong_description = \"\"\"{{v}}\"\"\"\n" +
            "# {{v}}\n",
        "/actors/x", "m.toml", json({{"v", value}}));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->manifest->description, value);
    EXPECT_EQ(m->manifest->long_description, value);
    EXPECT_THAT(m->manifest->handlers, ::testing::IsEmpty());
    EXPECT_EQ(m->manifest->component, "/actors/x/hello.wasm");
    EXPECT_EQ(m->manifest->limits.memory_limit_mb, Manifest().limits.memory_limit_mb);
  }
}

TEST(ManifestTemplateTest, MissingVariableWarnsWithPosition) {
  Result<ManifestWithState> m = ParseManifestWithState(
      "name = \"x\"\nversion = \"1\"\ncomponent = \"a.wasm\"\ndescription = \"[{{nope.x}}]\"\n",
      "/actors/x", "m.toml", json::object());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->manifest->description, "[]");
  ASSERT_EQ(m->manifest->warnings.size(), 1u);
  EXPECT_EQ(m->manifest->warnings[0],
            "m.toml:4:17: template variable 'nope.x' not found in the initial state (inserted as "
            "empty)");
}

TEST(ManifestTemplateTest, NoSubstitutionWithoutObjectState) {
  const std::string text = std::string(kMinimal) + "description = \"{{x}} {{unterminated\"\n";
  Result<ManifestWithState> none = ParseManifestWithState(text, "/a", "m.toml", std::nullopt);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->manifest->description, "{{x}} {{unterminated");
  EXPECT_FALSE(none->state.has_value());
  Result<ManifestWithState> array = ParseManifestWithState(text, "/a", "m.toml", json({1, 2}));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->manifest->description, "{{x}} {{unterminated");
  EXPECT_EQ(StateText(*array), "[1,2]");
}

TEST(ManifestTemplateTest, MalformedTemplateIsParseErrorWhenSubstituting) {
  const std::string text = std::string(kMinimal) + "description = \"{{x}} {{unterminated\"\n";
  Result<ManifestWithState> m = ParseManifestWithState(text, "/a", "m.toml", json::object());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kParseError);
  EXPECT_THAT(m.status().message(), HasSubstr("m.toml:4:22: unterminated template expression"));
}

TEST(ManifestTemplateTest, InitStateMustNotBeTemplated) {
  TempDir dir;
  dir.Write("init.json", R"({"f": "other.json"})");
  fs::path path = dir.Write("manifest.toml",
                            std::string(kMinimal) + "init_state = '{{default f \"init.json\"}}'\n");
  Result<ManifestWithState> m = LoadManifestWithState(path, json::object());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(),
              HasSubstr(":4:14: field 'init_state' must not use template expressions"));
}

TEST(ManifestTemplateTest, InitStateErrorsPropagate) {
  TempDir dir;
  fs::path path =
      dir.Write("manifest.toml", std::string(kMinimal) + "init_state = \"nope.json\"\n");
  Result<ManifestWithState> m = LoadManifestWithState(path, std::nullopt);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().root().code(), StatusCode::kNotFound);
  fs::path bad = dir.Write("m2.toml", std::string(kMinimal) + "init_state = 5\n");
  Result<ManifestWithState> m2 = LoadManifestWithState(bad, std::nullopt);
  ASSERT_FALSE(m2.ok());
  EXPECT_THAT(m2.status().message(), HasSubstr("field 'init_state' must be a string"));
  Result<ManifestWithState> m3 = LoadManifestWithState(dir.path() / "missing.toml", std::nullopt);
  ASSERT_FALSE(m3.ok());
  EXPECT_EQ(m3.status().code(), StatusCode::kNotFound);
}

TEST(ManifestTemplateTest, TomlErrorsKeepSourcePositions) {
  // The masked probe keeps positions, so a TOML error after an expression points at the source.
  Result<ManifestWithState> m =
      ParseManifestWithState("name = \"{{a}}\"\nversion = = 1\n", "/a", "m.toml", json::object());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kParseError);
  EXPECT_THAT(m.status().message(), HasSubstr("m.toml:2:"));
}

}  // namespace
}  // namespace theater
