// Theater: a WebAssembly actor runtime.
//
// Unit tests of the `theater` command line's pieces that need no server: the config file and
// the precedence of its settings, time specs, event filtering and sorting, templates, output
// helpers and completion scripts.
#include <gmock/gmock.h>

#include <gtest/gtest.h>
#include <cctype>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "abi/bindgen/ts_generator.h"
#include "cli/build_progress.h"
#include "cli/cli_app.h"
#include "cli/compile_progress_printer.h"
#include "cli/completion.h"
#include "cli/config.h"
#include "cli/context.h"
#include "cli/event_query.h"
#include "cli/js_engine_stub.h"
#include "cli/output.h"
#include "cli/templates.h"
#include "common/uuid.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// An environment made of a map, so tests do not depend on the real one.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() / ("theater-cli-unit-" + NewUuid());
  fs::create_directories(dir);
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// --- config ----------------------------------------------------------------------------------

TEST(ConfigTest, ParsesEveryKey) {
  Result<CliConfig> config = ParseConfig(R"(
[server]
address = "10.0.0.1:9100"
token_file = "token.txt"
timeout_ms = 2500
[output]
color = "never"
format = "json"
)",
                                         "/etc/theater/config.toml", FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->address, "10.0.0.1:9100");
  EXPECT_EQ(config->token_file, fs::path("/etc/theater/token.txt"));
  EXPECT_EQ(config->timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config->color, ColorMode::kNever);
  EXPECT_EQ(config->format, OutputFormat::kJson);
}

TEST(ConfigTest, EmptyFileSetsNothing) {
  Result<CliConfig> config = ParseConfig("", "c.toml", FakeEnv({}));
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->address);
  EXPECT_FALSE(config->color);
}

TEST(ConfigTest, TokenFileUnderHome) {
  Result<CliConfig> config = ParseConfig("[server]\ntoken_file = \"~/.theater/token\"\n",
                                         "/x/c.toml", FakeEnv({{"HOME", "/home/ann"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->token_file, fs::path("/home/ann/.theater/token"));
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  Result<CliConfig> config =
      ParseConfig("[server]\naddress = \"a:1\"\ntimeout_ms = = 3\n", "my.toml", FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().ToString(), HasSubstr("my.toml:3:"));
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  Result<CliConfig> config = ParseConfig("[server]\nadress = \"a:1\"\n", "my.toml", FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().ToString(), HasSubstr("my.toml:2:1"));
  EXPECT_THAT(config.status().ToString(), HasSubstr("server.adress"));
  Result<CliConfig> table = ParseConfig("[sever]\n", "my.toml", FakeEnv({}));
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().ToString(), HasSubstr("unknown key 'sever'"));
}

TEST(ConfigTest, WrongTypesAndValuesAreErrors) {
  for (const char* text :
       {"[server]\naddress = 3\n", "[server]\ntimeout_ms = -1\n", "[server]\ntimeout_ms = \"1\"\n",
        "[output]\ncolor = \"sometimes\"\n", "[output]\nformat = \"yaml\"\n", "server = 1\n"}) {
    Result<CliConfig> config = ParseConfig(text, "c.toml", FakeEnv({}));
    EXPECT_FALSE(config.ok()) << text;
    if (!config.ok()) {
      EXPECT_THAT(config.status().ToString(), HasSubstr("c.toml:")) << text;
    }
  }
}

TEST(ConfigTest, DefaultPathPrefersXdg) {
  EXPECT_EQ(DefaultConfigPath(FakeEnv({{"XDG_CONFIG_HOME", "/xdg"}, {"HOME", "/h"}})),
            fs::path("/xdg/theater/config.toml"));
  EXPECT_EQ(DefaultConfigPath(FakeEnv({{"XDG_CONFIG_HOME", ""}, {"HOME", "/h"}})),
            fs::path("/h/.config/theater/config.toml"));
  EXPECT_EQ(DefaultConfigPath(FakeEnv({})), std::nullopt);
}

TEST(ConfigTest, LoadConfigMissingFile) {
  const fs::path dir = TempDir();
  Result<CliConfig> optional = LoadConfig(dir / "none.toml", false, FakeEnv({}));
  ASSERT_TRUE(optional.ok());
  EXPECT_FALSE(optional->address);
  Result<CliConfig> required = LoadConfig(dir / "none.toml", true, FakeEnv({}));
  EXPECT_FALSE(required.ok());
  WriteText(dir / "c.toml", "[server]\naddress = \"h:1\"\n");
  Result<CliConfig> loaded = LoadConfig(dir / "c.toml", true, FakeEnv({}));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->address, "h:1");
  fs::remove_all(dir);
}

TEST(AddressTest, FlagThenEnvThenConfigThenDefault) {
  CliConfig config;
  config.address = "config:3";
  auto env = FakeEnv({{"THEATER_SERVER_ADDRESS", "env:2"}});
  EXPECT_EQ(ResolveAddress(std::string("flag:1"), env, config), "flag:1");
  EXPECT_EQ(ResolveAddress(std::nullopt, env, config), "env:2");
  EXPECT_EQ(ResolveAddress(std::nullopt, FakeEnv({}), config), "config:3");
  EXPECT_EQ(ResolveAddress(std::nullopt, FakeEnv({}), CliConfig{}), "127.0.0.1:9000");
  // An empty environment variable counts as unset.
  EXPECT_EQ(ResolveAddress(std::nullopt, FakeEnv({{"THEATER_SERVER_ADDRESS", ""}}), config),
            "config:3");
}

TEST(TokenTest, FlagThenEnvThenTokenFile) {
  const fs::path dir = TempDir();
  WriteText(dir / "token", "from-file\n\n");
  CliConfig config;
  config.token_file = dir / "token";
  auto env = FakeEnv({{"THEATER_SERVER_TOKEN", "from-env"}});
  EXPECT_EQ(*ResolveToken(std::string("from-flag"), env, config), "from-flag");
  EXPECT_EQ(*ResolveToken(std::nullopt, env, config), "from-env");
  EXPECT_EQ(*ResolveToken(std::nullopt, FakeEnv({}), config), "from-file");
  EXPECT_EQ(*ResolveToken(std::nullopt, FakeEnv({}), CliConfig{}), std::nullopt);
  WriteText(dir / "empty", "  \n");
  config.token_file = dir / "empty";
  EXPECT_FALSE(ResolveToken(std::nullopt, FakeEnv({}), config).ok());
  config.token_file = dir / "missing";
  EXPECT_FALSE(ResolveToken(std::nullopt, FakeEnv({}), config).ok());
  fs::remove_all(dir);
}

TEST(ColorTest, NoColorWinsAndAutoFollowsTheTerminal) {
  EXPECT_TRUE(ShouldColor(ColorMode::kAuto, true, FakeEnv({})));
  EXPECT_FALSE(ShouldColor(ColorMode::kAuto, false, FakeEnv({})));
  EXPECT_TRUE(ShouldColor(ColorMode::kAlways, false, FakeEnv({})));
  EXPECT_FALSE(ShouldColor(ColorMode::kNever, true, FakeEnv({})));
  EXPECT_FALSE(ShouldColor(ColorMode::kAlways, true, FakeEnv({{"NO_COLOR", "1"}})));
  EXPECT_TRUE(ShouldColor(ColorMode::kAuto, true, FakeEnv({{"NO_COLOR", ""}})));
}

TEST(ContextTest, MalformedConfigIsAnErrorNamingTheFile) {
  const fs::path dir = TempDir();
  WriteText(dir / "theater" / "config.toml", "[output]\ncolor = \"purple\"\n");
  GlobalOptions options;
  Result<std::unique_ptr<CommandContext>> ctx =
      CommandContext::Create(options, FakeEnv({{"XDG_CONFIG_HOME", dir.string()}}));
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(ctx.status().ToString(),
              HasSubstr((dir / "theater" / "config.toml").string() + ":2:"));
  fs::remove_all(dir);
}

TEST(ContextTest, ConfigFormatJsonTurnsOnJson) {
  const fs::path dir = TempDir();
  WriteText(dir / "c.toml", "[output]\nformat = \"json\"\n[server]\naddress = \"cfg:1\"\n");
  GlobalOptions options;
  options.config_path = (dir / "c.toml").string();
  Result<std::unique_ptr<CommandContext>> ctx = CommandContext::Create(options, FakeEnv({}));
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_TRUE((*ctx)->out().json());
  EXPECT_EQ((*ctx)->address(), "cfg:1");
  fs::remove_all(dir);
}

// --- time specs and event queries ------------------------------------------------------------

TEST(TimeSpecTest, AbsoluteSecondsAndRelativeAges) {
  const uint64_t now = 1'700'000'000'000;
  EXPECT_EQ(*ParseTimeSpec("1000", now), 1'000'000u);
  EXPECT_EQ(*ParseTimeSpec("30s", now), now - 30'000);
  EXPECT_EQ(*ParseTimeSpec("10m", now), now - 600'000);
  EXPECT_EQ(*ParseTimeSpec("2h", now), now - 7'200'000);
  EXPECT_EQ(*ParseTimeSpec("1d", now), now - 86'400'000);
  EXPECT_EQ(*ParseTimeSpec("1w", now), now - 7 * 86'400'000ull);
  EXPECT_EQ(*ParseTimeSpec("100000000w", now), 0u);  // before the epoch clamps to 0
}

TEST(TimeSpecTest, RejectsOtherText) {
  for (const char* text :
       {"", "x", "1x", "10mm", "-5", "m", "1.5h", " 1h", "99999999999999999999"}) {
    EXPECT_FALSE(ParseTimeSpec(text, 1000).ok()) << text;
  }
}

chain::Event MakeEvent(std::string type, uint64_t time, std::string payload,
                       std::optional<std::string> description = std::nullopt) {
  chain::Event event;
  event.type = std::move(type);
  event.timestamp_ms = time;
  event.payload.assign(payload.begin(), payload.end());
  event.description = std::move(description);
  event.hash = chain::Sha256(event.payload);
  return event;
}

std::vector<IndexedEvent> SampleEvents() {
  return {
      {0, MakeEvent("theater-runtime", 300, "xx", "actor started")},
      {1, MakeEvent("wasm", 100, "call init", std::nullopt)},
      {2, MakeEvent("theater:simple/runtime/log", 200, "Hello World", std::nullopt)},
      {3, MakeEvent("wasm", 400, "a much longer payload", std::nullopt)},
  };
}

std::vector<size_t> Indices(const std::vector<IndexedEvent>& events) {
  std::vector<size_t> out;
  for (const IndexedEvent& e : events) out.push_back(e.index);
  return out;
}

TEST(EventQueryTest, FiltersByTypeSubstring) {
  EventQuery query;
  query.type_contains = "wasm";
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{1, 3}));
}

// A lifecycle step matches by its kind as well as by its type.
TEST(EventQueryTest, FiltersLifecycleStepsByKind) {
  chain::EventChain chain;
  chain.Append(chain::Lifecycle{"actor-load", "actor x loads y"});
  chain.Append(chain::Lifecycle{"runtime-setup", "ok: handlers runtime"});
  std::vector<IndexedEvent> events;
  for (size_t i = 0; i < chain.events().size(); ++i) events.push_back({i, chain.events()[i]});
  EventQuery query;
  query.type_contains = "runtime-setup";
  EXPECT_EQ(Indices(ApplyEventQuery(events, query)), (std::vector<size_t>{1}));
  query.type_contains = "theater-runtime";
  EXPECT_EQ(Indices(ApplyEventQuery(events, query)), (std::vector<size_t>{0, 1}));
  query.type_contains = "record-metric";
  EXPECT_TRUE(ApplyEventQuery(events, query).empty());
}

TEST(EventQueryTest, FiltersByTimeRangeInclusive) {
  EventQuery query;
  query.from_ms = 200;
  query.to_ms = 300;
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{0, 2}));
}

TEST(EventQueryTest, SearchesDescriptionAndDataIgnoringCase) {
  EventQuery query;
  query.search = "STARTED";
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{0}));
  query.search = "hello world";
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{2}));
  query.search = "nothing like this";
  EXPECT_TRUE(ApplyEventQuery(SampleEvents(), query).empty());
}

TEST(EventQueryTest, SortsReversesAndLimits) {
  EventQuery query;
  query.sort = EventSort::kTime;
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{1, 2, 0, 3}));
  query.sort = EventSort::kType;  // byte order: "theater-runtime" < "theater:simple/..."
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{0, 2, 1, 3}));
  query.sort = EventSort::kSize;
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{0, 1, 2, 3}));
  query.sort = EventSort::kChain;
  query.reverse = true;
  query.limit = 2;
  EXPECT_EQ(Indices(ApplyEventQuery(SampleEvents(), query)), (std::vector<size_t>{3, 2}));
}

TEST(EventQueryTest, ParsesSortNames) {
  EXPECT_EQ(*ParseEventSort("size"), EventSort::kSize);
  EXPECT_FALSE(ParseEventSort("random").ok());
}

// --- templates -------------------------------------------------------------------------------

TEST(TemplateTest, RenderTextReplacesKnownKeysOnly) {
  EXPECT_EQ(RenderText("a {{x}} b {{y}} {{x}}", {{"x", "1"}}), "a 1 b {{y}} 1");
  EXPECT_EQ(RenderText("unterminated {{x", {{"x", "1"}}), "unterminated {{x");
  EXPECT_EQ(RenderText("", {}), "");
}

TEST(TemplateTest, ProjectNames) {
  EXPECT_TRUE(ValidateProjectName("my-actor_2").ok());
  EXPECT_FALSE(ValidateProjectName("").ok());
  EXPECT_FALSE(ValidateProjectName("2fast").ok());
  EXPECT_FALSE(ValidateProjectName("a/b").ok());
  EXPECT_FALSE(ValidateProjectName("a b").ok());
  EXPECT_EQ(SnakeCase("my-actor"), "my_actor");
}

TEST(TemplateTest, EveryTemplateRendersInBothLanguages) {
  ASSERT_EQ(TemplateNames().size(), 4u);
  for (const std::string& name : TemplateNames()) {
    Result<std::string> world = TemplateWorld(name);
    ASSERT_TRUE(world.ok()) << name;
    const std::string w = SnakeCase(*world);
    for (Lang lang : {Lang::kC, Lang::kCpp}) {
      Result<std::vector<ProjectFile>> files = RenderProject(name, lang, "demo-actor");
      ASSERT_TRUE(files.ok()) << name << ": " << files.status().ToString();
      std::map<std::string, std::string> by_path;
      for (const ProjectFile& f : *files) by_path[f.path] = f.contents;
      const std::string source = lang == Lang::kC ? "src/actor.c" : "src/actor.cc";
      ASSERT_TRUE(by_path.count("manifest.toml")) << name;
      ASSERT_TRUE(by_path.count(source)) << name;
      ASSERT_TRUE(by_path.count("Makefile")) << name;
      ASSERT_TRUE(by_path.count(".gitignore")) << name;
      // Theater's WIT, and the bindings generated for the template's world; no SDK.
      ASSERT_TRUE(by_path.count("wit/worlds.wit")) << name;
      ASSERT_TRUE(by_path.count("wit/runtime.wit")) << name;
      const std::string header = "bindings/" + w + (lang == Lang::kC ? ".h" : ".hpp");
      const std::string generated = "bindings/" + w + (lang == Lang::kC ? ".c" : ".cpp");
      ASSERT_TRUE(by_path.count(header)) << name << " lacks " << header;
      ASSERT_TRUE(by_path.count(generated)) << name << " lacks " << generated;
      for (const auto& [path, contents] : by_path) {
        EXPECT_NE(path.rfind("sdk/", 0), 0u) << name << ": " << path;
      }
      // The actor is written against the generated header.
      EXPECT_THAT(by_path[source],
                  HasSubstr("#include \"" + w + (lang == Lang::kC ? ".h\"" : ".hpp\"")));
      EXPECT_THAT(by_path[source], Not(HasSubstr("theater/theater.h"))) << name;
      EXPECT_THAT(by_path["manifest.toml"], HasSubstr("name = \"demo-actor\""));
      EXPECT_THAT(by_path["manifest.toml"], HasSubstr("component = \"demo-actor.wasm\""));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("WORLD = " + *world + "\n"));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("SOURCES = " + source + " $(BINDINGS)"));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("-Ibindings"));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("bindgen wit --world $(WORLD) --lang " +
                                                 std::string(lang == Lang::kC ? "c" : "cpp")));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("demo-actor.wasm:"));
      EXPECT_THAT(by_path["Makefile"], HasSubstr("\n\t$(WASM_CC)"));  // a recipe needs a tab
      if (lang == Lang::kCpp) {
        EXPECT_THAT(by_path["Makefile"], HasSubstr("-std=c++20"));
        EXPECT_THAT(by_path["Makefile"], HasSubstr("-lc++abi"));
      }
      // No placeholder left: "{{" followed by a name and "}}" (C++ braced lists may nest "{{").
      for (const auto& [path, contents] : by_path) {
        if (path.rfind("wit/", 0) == 0 || path.rfind("bindings/", 0) == 0) continue;
        for (size_t at = contents.find("{{"); at != std::string::npos;
             at = contents.find("{{", at + 2)) {
          size_t end = at + 2;
          while (
              end < contents.size() &&
              (std::isalnum(static_cast<unsigned char>(contents[end])) || contents[end] == '_')) {
            ++end;
          }
          EXPECT_FALSE(end > at + 2 && contents.compare(end, 2, "}}") == 0)
              << name << " " << path << ": " << contents.substr(at, end + 2 - at);
        }
      }
    }
  }
  // A template may bring its own world (written beside Theater's WIT).
  Result<std::vector<ProjectFile>> supervisor = RenderProject("supervisor", Lang::kC, "sup");
  ASSERT_TRUE(supervisor.ok());
  bool has_world = false;
  for (const ProjectFile& f : *supervisor) {
    if (f.path == "wit/supervisor-messages.wit") {
      has_world = true;
      EXPECT_THAT(f.contents, HasSubstr("world supervisor-messages"));
      EXPECT_THAT(f.contents, Not(HasSubstr("{{")));
    }
  }
  EXPECT_TRUE(has_world);
  EXPECT_EQ(*TemplateWorld("basic"), "minimal");
  EXPECT_EQ(*TemplateWorld("message-server"), "message-server-actor");
  EXPECT_EQ(*TemplateWorld("http-server"), "http-actor");
  EXPECT_FALSE(TemplateWorld("nope").ok());
}

TEST(TemplateTest, EveryTemplateRendersInJavaScriptAndTypeScript) {
  EXPECT_EQ(*ParseLang("js"), Lang::kJs);
  EXPECT_EQ(*ParseLang("typescript"), Lang::kTs);
  for (const std::string& name : TemplateNames()) {
    const std::string world = *TemplateWorld(name);
    for (Lang lang : {Lang::kJs, Lang::kTs}) {
      const bool ts = lang == Lang::kTs;
      Result<std::vector<ProjectFile>> files = RenderProject(name, lang, "demo-actor");
      ASSERT_TRUE(files.ok()) << name << ": " << files.status().ToString();
      std::map<std::string, std::string> by_path;
      for (const ProjectFile& f : *files) by_path[f.path] = f.contents;
      const std::string source = ts ? "src/actor.ts" : "src/actor.js";
      for (const std::string& path :
           {std::string("manifest.toml"), source, std::string("package.json"),
            std::string("package-lock.json"), std::string(ts ? "tsconfig.json" : "jsconfig.json"),
            std::string("README.md"), std::string(".gitignore"), std::string("wit/worlds.wit"),
            "types/" + SnakeCase(world) + ".d.ts"}) {
        EXPECT_TRUE(by_path.count(path)) << name << " lacks " << path;
      }
      EXPECT_FALSE(by_path.count("Makefile")) << name;
      EXPECT_FALSE(by_path.count("bindings/" + SnakeCase(world) + ".h")) << name;
      // package.json names the entry and the world, and pins the tools the lock file holds.
      nlohmann::json package = nlohmann::json::parse(by_path["package.json"]);
      EXPECT_EQ(package["name"], "demo-actor");
      EXPECT_EQ(package["theater"]["entry"], source);
      EXPECT_EQ(package["theater"]["world"], world);
      EXPECT_EQ(package["devDependencies"]["@bytecodealliance/componentize-js"], "0.23.0");
      EXPECT_EQ(package["devDependencies"].contains("typescript"), ts);
      nlohmann::json lock = nlohmann::json::parse(by_path["package-lock.json"]);
      EXPECT_EQ(lock["packages"][""]["devDependencies"], package["devDependencies"]) << name;
      EXPECT_EQ(lock["packages"]["node_modules/@bytecodealliance/componentize-js"]["version"],
                "0.23.0");
      // The declarations name the world's namespace, which the source's exports are typed by.
      const std::string world_namespace = bindgen::TsTypeName(world);
      EXPECT_THAT(by_path["types/" + SnakeCase(world) + ".d.ts"],
                  HasSubstr("declare namespace " + world_namespace + " {"));
      EXPECT_THAT(by_path[source], HasSubstr(world_namespace + ".Actor"));
      EXPECT_THAT(by_path["manifest.toml"], HasSubstr("# built by `theater build`"));
      EXPECT_THAT(by_path["README.md"], HasSubstr("theater create --template " + name));
      for (const auto& [path, contents] : by_path) {
        if (path.rfind("wit/", 0) == 0 || path.rfind("types/", 0) == 0) continue;
        EXPECT_EQ(contents.find("{{"), std::string::npos) << name << " " << path;
      }
    }
  }
}

TEST(TemplateTest, EveryTemplateRendersInRust) {
  EXPECT_EQ(*ParseLang("rust"), Lang::kRust);
  EXPECT_EQ(*ParseLang("rs"), Lang::kRust);
  for (const std::string& name : TemplateNames()) {
    const std::string world = SnakeCase(*TemplateWorld(name));
    Result<std::vector<ProjectFile>> files = RenderProject(name, Lang::kRust, "demo-actor");
    ASSERT_TRUE(files.ok()) << name << ": " << files.status().ToString();
    std::map<std::string, std::string> by_path;
    for (const ProjectFile& f : *files) by_path[f.path] = f.contents;
    for (const std::string& path :
         {std::string("manifest.toml"), std::string("src/lib.rs"), std::string("Cargo.toml"),
          std::string(".cargo/config.toml"), std::string("README.md"), std::string(".gitignore"),
          std::string("wit/worlds.wit"), "bindings/" + world + ".rs"}) {
      EXPECT_TRUE(by_path.count(path)) << name << " lacks " << path;
    }
    EXPECT_FALSE(by_path.count("Makefile")) << name;
    EXPECT_FALSE(by_path.count("package.json")) << name;
    // The crate is a cdylib named after the project, and the actor includes the world's
    // bindings and exports itself through their macro.
    EXPECT_THAT(by_path["Cargo.toml"], HasSubstr("name = \"demo-actor\""));
    EXPECT_THAT(by_path["Cargo.toml"], HasSubstr("crate-type = [\"cdylib\"]"));
    EXPECT_THAT(by_path["src/lib.rs"], HasSubstr("#[path = \"../bindings/" + world + ".rs\"]"));
    EXPECT_THAT(by_path["src/lib.rs"], HasSubstr("export_" + world + "!(Actor);"));
    EXPECT_THAT(by_path["bindings/" + world + ".rs"], HasSubstr("macro_rules! export_" + world));
    EXPECT_THAT(by_path["README.md"], HasSubstr("--lang rust --out bindings"));
    EXPECT_THAT(by_path[".gitignore"], HasSubstr("/demo-actor.wasm"));
    // Rust's format strings keep their braces; no placeholder is left.
    for (const auto& [path, contents] : by_path) {
      for (const char* placeholder : {"{{project", "{{world", "{{template", "{{summary"}) {
        EXPECT_EQ(contents.find(placeholder), std::string::npos) << name << " " << path;
      }
    }
  }
}

// `theater compile --engine js`: the stub exports every function of the world, each throwing.
TEST(JsEngineStubTest, ExportsEveryFunctionOfTheWorldAsAStub) {
  Result<wit::Package> package = wit::ParseWitText(R"(package a:b;
interface handlers {
    handle-send: func(x: u32);
    handle-request: func() -> string;
}
world w {
    export handlers;
    export run: func();
}
world with-resource {
    export r;
}
interface r {
    resource thing;
}
)",
                                                   "stub.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  Result<std::string> source = JsEngineStubSource(*package->FindWorld("w"));
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_THAT(*source, HasSubstr("export const handlers = {\n  handleSend: stub,\n"
                                 "  handleRequest: stub,\n};\n"));
  EXPECT_THAT(*source, HasSubstr("export const run = stub;\n"));
  EXPECT_THAT(*source, HasSubstr("throw new Error("));
  Result<std::string> refused = JsEngineStubSource(*package->FindWorld("with-resource"));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("exports resources"));
}

TEST(TemplateTest, UnknownTemplateAndBadNameAreErrors) {
  Result<std::vector<ProjectFile>> unknown = RenderProject("nope", Lang::kC, "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().ToString(), HasSubstr("message-server"));
  EXPECT_FALSE(RenderProject("basic", Lang::kC, "../evil").ok());
  EXPECT_FALSE(ParseLang("python").ok());
}

TEST(TemplateTest, CompileCommandHasTargetIncludesAndLanguageFlags) {
  std::vector<std::string> c = WasmCompileCommand("clang-14", Lang::kC, {"/p/bindings"},
                                                  {"/p/src/a.c", "/p/bindings/w.c"}, "/p/a.wasm");
  EXPECT_EQ(c.front(), "clang-14");
  EXPECT_THAT(c, Contains("--target=wasm32-wasi"));
  EXPECT_THAT(c, Contains("-mexec-model=reactor"));
  EXPECT_THAT(c, Contains("-I/p/bindings"));
  EXPECT_THAT(c, Contains("/p/src/a.c"));
  EXPECT_THAT(c, Contains("/p/bindings/w.c"));
  EXPECT_THAT(c, Not(Contains("-lc++")));
  std::vector<std::string> cpp =
      WasmCompileCommand("clang-14", Lang::kCpp, {"/p/sdk"}, {"/p/src/a.cc"}, "/p/a.wasm");
  EXPECT_THAT(cpp, Contains("-I/p/sdk"));
  EXPECT_THAT(cpp, Contains("-std=c++20"));
  EXPECT_THAT(cpp, Contains("-lc++"));
}

// --- output helpers --------------------------------------------------------------------------

std::vector<uint8_t> B(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(OutputTest, BytesForJsonAndHuman) {
  EXPECT_EQ(BytesForJson(B("{\"a\":1}")), nlohmann::json({{"a", 1}}));
  EXPECT_EQ(BytesForJson(B("plain text")), nlohmann::json("plain text"));
  EXPECT_EQ(BytesForJson(std::vector<uint8_t>{0xff, 0x00}), nlohmann::json({{"hex", "ff00"}}));
  EXPECT_EQ(BytesForHuman(B("plain")), "plain");
  EXPECT_EQ(BytesForHuman(std::vector<uint8_t>{0x01}), "hex:01");
  EXPECT_THAT(BytesForHuman(B("{\"a\":1}")), HasSubstr("\"a\": 1"));
  EXPECT_TRUE(IsPrintableText(B("tab\tand\nnewline é")));
  EXPECT_FALSE(IsPrintableText(std::vector<uint8_t>{0xc3}));        // truncated UTF-8
  EXPECT_FALSE(IsPrintableText(std::vector<uint8_t>{0x1b}));        // escape
  EXPECT_FALSE(IsPrintableText(std::vector<uint8_t>{0xc2, 0x9b}));  // C1 control (CSI)
}

TEST(OutputTest, TablePadsAllButTheLastColumn) {
  Output out(false, false, false);
  Table table({"ID", "NAME"});
  table.AddRow({"1", "first"});
  table.AddRow({"1234", "x"});
  std::ostringstream os;
  table.Print(out, os);
  EXPECT_EQ(os.str(), "ID    NAME\n1     first\n1234  x\n");
}

TEST(OutputTest, ActorIdShape) {
  EXPECT_TRUE(LooksLikeActorId("0b7d1a52-8a7c-4c36-9f4e-2f1f3e1a9b10"));
  EXPECT_FALSE(LooksLikeActorId("0b7d1a52"));
  EXPECT_FALSE(LooksLikeActorId("0B7D1A52-8A7C-4C36-9F4E-2F1F3E1A9B10"));
  EXPECT_FALSE(LooksLikeActorId("0b7d1a52x8a7c-4c36-9f4e-2f1f3e1a9b10"));
}

// --- a server's compile progress --------------------------------------------------------------

engine::CompileProgress CompileReport(uint64_t id, std::string line, bool finished = false) {
  engine::CompileProgress progress;
  progress.compile_id = id;
  progress.line = std::move(line);
  progress.finished = finished;
  return progress;
}

std::string Printed(std::FILE* stream) {
  std::fflush(stream);
  std::rewind(stream);
  std::string text;
  char buffer[512];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), stream)) > 0;) text.append(buffer, n);
  std::fclose(stream);
  return text;
}

// On a terminal: one line rewritten in place, padded over a longer one, ended by the summary;
// a second compile's report first ends the line of one still open.
TEST(CompileProgressPrinterTest, ATerminalLineIsRewrittenAndEndedByTheSummary) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  CompileProgressPrinter printer(stream, /*live=*/true);
  printer.Show(CompileReport(1, "compiling a.wasm (1.0 KiB): wasm2c\u2026 12.5 s"));
  printer.Show(CompileReport(1, "compiling a.wasm (1.0 KiB): gcc\u2026 13 s"));
  printer.Show(CompileReport(2, "compiling b.wasm (1.0 KiB): wasm2c\u2026 0.1 s"));
  printer.Show(CompileReport(2, "compiled b.wasm (1.0 KiB) in 0.2 s", true));
  printer.Close();  // nothing open: prints nothing
  EXPECT_EQ(Printed(stream),
            "\rcompiling a.wasm (1.0 KiB): wasm2c\u2026 12.5 s"
            "\rcompiling a.wasm (1.0 KiB): gcc\u2026 13 s     "
            "\n"
            "\rcompiling b.wasm (1.0 KiB): wasm2c\u2026 0.1 s"
            "\rcompiled b.wasm (1.0 KiB) in 0.2 s         \n");
}

// Elsewhere: whole lines, the first report of each compile and its summary (the reports between
// come every second; a line every ten is enough for a log).
TEST(CompileProgressPrinterTest, ElsewhereWholeLinesTheFirstAndTheLast) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  CompileProgressPrinter printer(stream, /*live=*/false);
  printer.Show(CompileReport(1, "compiling a.wasm (1.0 KiB): wasm2c\u2026"));
  printer.Show(CompileReport(1, "compiling a.wasm (1.0 KiB): gcc\u2026 1.0 s"));
  printer.Show(
      CompileReport(1, "compiled a.wasm (1.0 KiB) in 1.2 s (wasm2c 0.1 s, gcc 1.1 s)", true));
  EXPECT_EQ(Printed(stream),
            "compiling a.wasm (1.0 KiB): wasm2c\u2026\n"
            "compiled a.wasm (1.0 KiB) in 1.2 s (wasm2c 0.1 s, gcc 1.1 s)\n");
}

// A build's long stages (npm ci, the JavaScript driver's): a line as each begins, with the items
// done and an estimate once there is one, and a last line with its time.
TEST(BuildProgressTest, EachStageBeginsAndEndsWithALine) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  {
    BuildProgress progress(CompileProgressPrinter(stream, /*live=*/false), /*quiet=*/false,
                           std::chrono::milliseconds(0));
    progress.Stage("npm ci");
    progress.Count(60, 120, "packages");
    progress.Stage("componentize-js", std::chrono::milliseconds(7000));
  }  // ends the last stage
  const std::string text = Printed(stream);
  EXPECT_THAT(text, HasSubstr("  npm ci\u2026 0.0 s\n"));
  EXPECT_THAT(text, HasSubstr("  npm ci: 60 packages in 0.0 s\n"));
  EXPECT_THAT(text, HasSubstr("  componentize-js: about 7 s left\u2026 0.0 s\n"));
  EXPECT_THAT(text, HasSubstr("  componentize-js in 0.0 s\n"));
  // A stage that turns out to be a kind of it with a time of its own: its line (on a terminal,
  // rewritten in place) and its estimate change at once.
  std::FILE* renamed = std::tmpfile();
  {
    BuildProgress progress(CompileProgressPrinter(renamed, /*live=*/true), false,
                           std::chrono::milliseconds(0));
    progress.Stage("componentize-js", std::chrono::milliseconds(14'000));
    progress.Rename("componentize-js (kept)", std::chrono::milliseconds(5'000));
  }
  const std::string renamed_text = Printed(renamed);
  EXPECT_THAT(renamed_text, HasSubstr("  componentize-js: about 14 s left"));
  EXPECT_THAT(renamed_text, HasSubstr("\r  componentize-js (kept): about 5 s left\u2026 0.0 s"));
  EXPECT_THAT(renamed_text, HasSubstr("\r  componentize-js (kept) in 0.0 s "));
  std::FILE* silent = std::tmpfile();
  {
    BuildProgress progress(CompileProgressPrinter(silent, false), /*quiet=*/true);
    progress.Stage("npm ci");
  }
  EXPECT_EQ(Printed(silent), "");
  // A stage shorter than the delay has its last line only.
  std::FILE* quick = std::tmpfile();
  {
    BuildProgress progress(CompileProgressPrinter(quick, false), /*quiet=*/false);
    progress.Stage("bundle (esbuild)");
    progress.Tick();
  }
  EXPECT_EQ(Printed(quick), "  bundle (esbuild) in 0.0 s\n");
  EXPECT_EQ(RoughDuration(std::chrono::milliseconds(400)), "1 s");
  EXPECT_EQ(RoughDuration(std::chrono::milliseconds(70'400)), "1 min 10 s");
}

// --- completion ------------------------------------------------------------------------------

TEST(CompletionTest, ScriptsNameEveryCommand) {
  GlobalOptions global;
  CommandSet commands;
  std::unique_ptr<CLI::App> app = BuildApp(global, commands);
  for (const char* shell : {"bash", "zsh", "fish"}) {
    Result<std::string> script = CompletionScript(*app, shell);
    ASSERT_TRUE(script.ok()) << shell;
    for (const char* command : {"start", "stop", "events", "channel", "open", "chain", "verify",
                                "completion", "server", "create", "build", "bindgen"}) {
      EXPECT_THAT(*script, HasSubstr(command)) << shell << " lacks " << command;
    }
    EXPECT_THAT(*script, HasSubstr("follow")) << shell;
    EXPECT_THAT(*script, HasSubstr("initial-state")) << shell;
  }
  EXPECT_FALSE(CompletionScript(*app, "powershell").ok());
}

TEST(CompletionTest, BashScriptIsValidBash) {
  GlobalOptions global;
  CommandSet commands;
  std::unique_ptr<CLI::App> app = BuildApp(global, commands);
  const fs::path dir = TempDir();
  WriteText(dir / "theater.bash", *CompletionScript(*app, "bash"));
  EXPECT_EQ(std::system(("bash -n " + (dir / "theater.bash").string()).c_str()), 0);
  // Completing "theater chain v" offers "verify".
  const std::string probe = "source " + (dir / "theater.bash").string() +
                            "; COMP_WORDS=(theater chain v); COMP_CWORD=2; _theater; "
                            "[[ \" ${COMPREPLY[*]} \" == *\" verify \"* ]]";
  WriteText(dir / "probe.sh", probe);
  EXPECT_EQ(std::system(("bash " + (dir / "probe.sh").string()).c_str()), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace theater::cli
