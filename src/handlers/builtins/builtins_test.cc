// Theater: a WebAssembly actor runtime.
//
// The built-in handler registry: each handler's type name and interfaces (the strings the
// manifest and the WIT use) and config errors. That each actor gets its own instances is tested
// end to end beside the handlers (supervisor_test.cc: supervisors hear only their own children;
// random_runtime_test.cc: seeded random streams differ per actor).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "theater/abi/wit.h"
#include "theater/builtins.h"
#include "theater/engine.h"
#include "theater/manifest.h"

namespace theater {
namespace {

using ::testing::HasSubstr;

TEST(BuiltinHandlersTest, NamesAndInterfacesAreExact) {
  HandlerRegistry registry = BuiltinHandlers();
  struct Expected {
    const char* name;
    std::optional<std::string> imports;
    std::optional<std::string> exports;
  };
  const Expected expected[] = {
      {"runtime", "theater:simple/runtime", "theater:simple/actor"},
      {"supervisor", "theater:simple/supervisor", "theater:simple/supervisor-handlers"},
      {"timing", "theater:simple/timing", std::nullopt},
      {"random", "theater:simple/random", std::nullopt},
      {"environment", "theater:simple/environment", std::nullopt},
      {"message-server", "theater:simple/message-server-host",
       "theater:simple/message-server-client"},
      {"store", "theater:simple/store", std::nullopt},
      {"filesystem", "theater:simple/filesystem", std::nullopt},
      {"process", "theater:simple/process", "theater:simple/process-handlers"},
      {"http-client", "theater:simple/http-client", std::nullopt},
      {"http-framework", "theater:simple/http-framework", "theater:simple/http-handlers"},
      {"wasi-preview1", "wasi_snapshot_preview1", std::nullopt},
      {"wasi-preview2", "wasi:*", std::nullopt},
      {"wasi-http", "wasi:*", "wasi:http/incoming-handler"},
  };
  for (const Expected& e : expected) {
    const Handler* h = registry.Find(e.name);
    ASSERT_NE(h, nullptr) << e.name;
    EXPECT_EQ(h->name(), e.name);
    EXPECT_EQ(h->imports(), e.imports) << e.name;
    EXPECT_EQ(h->exports(), e.exports) << e.name;
  }
  EXPECT_EQ(registry.Find("teleporter"), nullptr);
  EXPECT_EQ(registry.Names().size(), std::size(expected));
}

// Every handler refuses a key it does not know, naming it; the runtime handler and the WASI ones,
// which take no config, included (a misspelt setting must not pass as a default).
TEST(BuiltinHandlersTest, EveryHandlerRefusesAnUnknownKeyNamingIt) {
  HandlerRegistry registry = BuiltinHandlers();
  for (std::string_view name : registry.Names()) {
    HandlerConfig config;
    config.type = std::string(name);
    config.config = {{"bogus_key", 1}};
    Result<std::unique_ptr<Handler>> instance = registry.Find(name)->CreateInstance(config);
    ASSERT_FALSE(instance.ok()) << name;
    EXPECT_NE(instance.status().ToString().find("unknown key 'bogus_key'"), std::string::npos)
        << name << ": " << instance.status().ToString();
  }
  HandlerConfig empty;
  empty.type = "runtime";
  EXPECT_TRUE(registry.Find("runtime")->CreateInstance(empty).ok());
}

TEST(BuiltinHandlersTest, ConfigErrorsNameTheKey) {
  HandlerRegistry registry = BuiltinHandlers();
  HandlerConfig config;
  config.type = "timing";
  config.config = {{"max_sleep_duration", -5}};
  auto r = registry.Find("timing")->CreateInstance(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("max_sleep_duration"), std::string::npos);
  config.config = {{"min_sleep_duration", 10}, {"max_sleep_duration", 5}};
  EXPECT_FALSE(registry.Find("timing")->CreateInstance(config).ok());
  config.type = "supervisor";
  config.config = {{"restart_period_ms", 0}};
  r = registry.Find("supervisor")->CreateInstance(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("restart_period_ms"), std::string::npos);
  config.config = {{"surprise", true}};
  EXPECT_FALSE(registry.Find("supervisor")->CreateInstance(config).ok());
}

}  // namespace
}  // namespace theater

namespace theater {
namespace {

// A third-party handler whose WIT is given by the test.
class WitHandler final : public Handler {
 public:
  explicit WitHandler(std::string wit) : wit_(std::move(wit)) {}
  std::string_view name() const override { return "counter"; }
  std::optional<std::string> imports() const override { return "example:counter/counter"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  std::string_view wit() const override { return wit_; }
  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig&) const override {
    return std::unique_ptr<Handler>(new WitHandler(wit_));
  }
  Status SetupHostFunctions(ActorContext&, HostFunctions&) override { return Status(); }

 private:
  std::string wit_;
};

TEST(HandlerRegistryTest, AHandlersWitIsParsedWhenItIsRegistered) {
  HandlerRegistry registry = BuiltinHandlers();
  const size_t builtins = registry.Names().size();
  Status bad = registry.Register(std::make_unique<WitHandler>("package example:counter;\n"
                                                              "interface counter { next: func( }\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find("handler 'counter' wit()"), std::string::npos) << bad.ToString();
  EXPECT_EQ(registry.Find("counter"), nullptr);  // nothing registered
  EXPECT_EQ(registry.Names().size(), builtins);

  ASSERT_TRUE(registry
                  .Register(std::make_unique<WitHandler>(
                      "package example:counter;\ninterface counter { next: func() -> u64; }\n"))
                  .ok());
  const wit::Package* wit = registry.WitOf("counter");
  ASSERT_NE(wit, nullptr);
  EXPECT_NE(wit->FindInterface("counter"), nullptr);
  EXPECT_EQ(registry.WitOf("timing"), nullptr);  // built-ins use theater:simple's WIT
  // A handler without rules has a yes/no permission, granted at the root, keyed by its name.
  EXPECT_TRUE(registry.RootPermissions().Permits("counter"));
  bool listed = false;
  for (const PolicyHandler& h : registry.PolicyHandlers()) {
    if (h.name == "counter") listed = h.policy_key == "counter" && h.rules == nullptr;
  }
  EXPECT_TRUE(listed);
  // Registering the same name again replaces it.
  ASSERT_TRUE(registry
                  .Register(std::make_unique<WitHandler>(
                      "package example:counter;\ninterface counter { next: func() -> u32; }\n"))
                  .ok());
  EXPECT_EQ(registry.Names().size(), builtins + 1);
}

// What Activate reads of a module is the list of its imports and exports: a module that is
// only those lists (a test double, since the point is which names activate what, not running it).
class ImportsOnlyModule final : public engine::Module {
 public:
  explicit ImportsOnlyModule(std::vector<std::string> interfaces) {
    for (std::string& interface_name : interfaces) {
      imports_.push_back({std::move(interface_name), "f", {"", ""}});
    }
  }
  const std::string& name() const override { return name_; }
  const std::string& wasm_sha256() const override { return name_; }
  const std::vector<engine::ImportInfo>& imports() const override { return imports_; }
  const std::vector<engine::ExportInfo>& exports() const override { return exports_; }
  std::optional<uint32_t> FindExport(std::string_view) const override { return std::nullopt; }
  const std::vector<engine::ExternExportInfo>& extern_exports() const override {
    return extern_exports_;
  }
  engine::MemoryMode memory_mode() const override { return engine::MemoryMode::kBoundsChecks; }
  bool exports_memory() const override { return true; }
  Result<std::unique_ptr<engine::Instance>> Instantiate(engine::ImportResolver&,
                                                        const engine::InstanceOptions&) const override {
    return FailedPrecondition("an imports-only module cannot be instantiated");
  }

 private:
  std::string name_ = "imports-only";
  std::vector<engine::ImportInfo> imports_;
  std::vector<engine::ExportInfo> exports_;
  std::vector<engine::ExternExportInfo> extern_exports_;
};

// The handlers a manifest without tables activates for a module importing `interfaces`, with
// the runtime adding undeclared ones (`auto_handlers`) or not.
std::vector<std::string> ActivatedNames(const HandlerRegistry& registry,
                                        std::vector<std::string> interfaces,
                                        bool auto_handlers = true) {
  Manifest manifest;
  manifest.source_name = "test.toml";
  Result<std::vector<std::unique_ptr<Handler>>> active =
      registry.Activate(manifest, ImportsOnlyModule(std::move(interfaces)), auto_handlers);
  std::vector<std::string> names;
  if (!active.ok()) return {"error: " + active.status().ToString()};
  for (const auto& handler : *active) names.emplace_back(handler->name());
  return names;
}

// An import activates the handler whose imports() names its interface; a name ending in '*'
// (wasi-preview2's "wasi:*") stands for every interface it is a prefix of, whatever its version.
TEST(HandlerRegistryTest, AnImportActivatesItsHandlerAndAStarNamesAFamily) {
  HandlerRegistry registry = BuiltinHandlers();
  EXPECT_EQ(ActivatedNames(registry, {"theater:simple/timing"}),
            (std::vector<std::string>{"timing"}));
  EXPECT_EQ(ActivatedNames(registry, {"wasi:io/streams@0.2.3", "wasi:cli/stdout@0.2.0"}),
            (std::vector<std::string>{"wasi-preview2"}));
  EXPECT_EQ(ActivatedNames(registry, {"wasi_snapshot_preview1"}),
            (std::vector<std::string>{"wasi-preview1"}));
  // Neither a name that only starts like the family's prefix nor one it is a prefix of.
  EXPECT_TRUE(ActivatedNames(registry, {"wasi", "wasix:io/streams", "theater:simple/tim"}).empty());

  // Without auto_handlers only the implicit handlers (runtime, WASI) come undeclared; a table
  // declares the others.
  EXPECT_EQ(ActivatedNames(registry, {"wasi_snapshot_preview1"}, false),
            (std::vector<std::string>{"wasi-preview1"}));
  EXPECT_EQ(ActivatedNames(registry, {"wasi:cli/stdout@0.2.0"}, false),
            (std::vector<std::string>{"wasi-preview2"}));
  EXPECT_EQ(ActivatedNames(registry, {"theater:simple/runtime"}, false),
            (std::vector<std::string>{"runtime"}));
  const std::vector<std::string> refused =
      ActivatedNames(registry, {"theater:simple/timing"}, false);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0],
            "error: test.toml: the actor imports theater:simple/timing but its manifest does not "
            "declare the 'timing' handler; add\n[[handler]]\ntype = \"timing\"\n(actors declare the "
            "handlers they use; auto_handlers = true, for development, lets the runtime add them)");
  // Several at once: one error lists them all, with their tables.
  const std::vector<std::string> two =
      ActivatedNames(registry, {"theater:simple/timing", "theater:simple/random"}, false);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_THAT(two[0], HasSubstr("theater:simple/timing"));
  EXPECT_THAT(two[0], HasSubstr("theater:simple/random"));
  EXPECT_THAT(two[0], HasSubstr("' handlers; add\n[[handler]]\ntype = \""));
  EXPECT_THAT(two[0], HasSubstr("[[handler]]\ntype = \"timing\"\n"));
  EXPECT_THAT(two[0], HasSubstr("[[handler]]\ntype = \"random\"\n"));
  // A manifest that spells its tables as the design documents do is told to add one so spelt.
  Result<Manifest> design_spelling =
      ParseManifest("name = \"d\"\ncomponent = \"d.wasm\"\n\n[[handlers]]\ntype = \"random\"\n", "",
                    "design.toml");
  ASSERT_TRUE(design_spelling.ok()) << design_spelling.status().ToString();
  Result<std::vector<std::unique_ptr<Handler>>> advised = registry.Activate(
      *design_spelling, ImportsOnlyModule({"theater:simple/timing", "theater:simple/random"}),
      false);
  ASSERT_FALSE(advised.ok());
  EXPECT_THAT(advised.status().message(),
              HasSubstr("declare the 'timing' handler; add\n[[handlers]]\ntype = \"timing\"\n"));
  Manifest declared;
  declared.source_name = "test.toml";
  declared.handlers.push_back(HandlerConfig{"timing", nlohmann::json::object(), "test.toml:3:1"});
  Result<std::vector<std::unique_ptr<Handler>>> active =
      registry.Activate(declared, ImportsOnlyModule({"theater:simple/timing"}), false);
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0]->name(), "timing");
}

}  // namespace
}  // namespace theater
