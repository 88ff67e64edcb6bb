// Theater: a WebAssembly actor runtime.
//
// Components made by the standard tools (tools/jco: `wasm-tools component embed` + `component
// new`) run as actors wherever core modules do: the example actors built both ways behave the
// same, the chain names the component that ran, and components whose imports or exports do not
// match the host's WIT are refused before they run.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "component/component_module.h"
#include "component/linker.h"
#include "testing/actor_test_fixture.h"
#include "testing/runtime_test_util.h"
#include "theater/builtins.h"
#include "theater/chain.h"

namespace theater::component {
namespace {

std::string ExampleFile(const std::string& example, const std::string& file) {
  return std::string(THEATER_BUILD_DIR) + "/examples/" + example + "/" + file;
}

class ComponentRuntimeTest : public testing_util::ActorTestFixture {
 protected:
  ComponentRuntimeTest() : ActorTestFixture("theater-component") {}

  Result<std::string> SpawnExample(const std::string& example, const std::string& wasm) {
    SpawnRequest request;
    request.manifest = "name = \"" + example + "\"\nversion = \"0.1.0\"\ncomponent = \"" +
                       ExampleFile(example, wasm) + "\"\ninit_state = \"" +
                       ExampleFile(example, "init.json") + "\"\n";
    return runtime_->Spawn(request);
  }
};

TEST(ComponentBinaryTest, TellsComponentsFromCoreModules) {
  Result<std::vector<uint8_t>> component =
      ReadFileBytes(ExampleFile("hello", "hello.component.wasm"), "component");
  Result<std::vector<uint8_t>> core = ReadFileBytes(ExampleFile("hello", "hello.wasm"), "module");
  ASSERT_TRUE(component.ok() && core.ok());
  EXPECT_TRUE(IsComponentBinary(*component));
  EXPECT_FALSE(IsComponentBinary(*core));
  EXPECT_FALSE(IsComponentBinary(std::vector<uint8_t>{0x00, 0x61, 0x73}));
}

TEST_F(ComponentRuntimeTest, LaterSpawnsReplayTheLinkPlanWithoutTheGlueAndRunTheSame) {
  // The first spawn walks the component; the others replay its plan, which leaves out the
  // tools' trampoline table, filler and start forwarder (docs/components.md): their host calls
  // (log) and `_initialize` must happen exactly as on the first.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Result<std::string> id = SpawnExample("hello", "hello.component.wasm");
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  auto first = runtime_->Events(ids[0]);
  ASSERT_TRUE(first.ok());
  for (const std::string& id : ids) {
    SCOPED_TRACE(id);
    bool greeted = false;
    for (const std::string& line : Log()) {
      if (line.find("Hello from " + id + "!") != std::string::npos) greeted = true;
    }
    EXPECT_TRUE(greeted);
    auto events = runtime_->Events(id);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), first->size());
    for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].type, (*first)[i].type);
    EXPECT_EQ(**runtime_->State(id), **runtime_->State(ids[0]));
    EXPECT_TRUE(runtime_->VerifyChain(id).ok());
  }
}

TEST_F(ComponentRuntimeTest, TheHelloExampleRunsTheSameAsAComponent) {
  for (const char* example : {"hello", "hello-cpp"}) {
    SCOPED_TRACE(example);
    Result<std::string> core = SpawnExample(example, std::string(example) + ".wasm");
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    Result<std::string> component = SpawnExample(example, std::string(example) + ".component.wasm");
    ASSERT_TRUE(component.ok()) << component.status().ToString();

    // Both counted their first start in the same state, and greeted with their own id.
    auto core_state = runtime_->State(*core);
    auto component_state = runtime_->State(*component);
    ASSERT_TRUE(core_state.ok() && component_state.ok());
    ASSERT_TRUE(core_state->has_value() && component_state->has_value());
    EXPECT_EQ(**core_state, **component_state);
    bool greeted = false;
    for (const std::string& line : Log()) {
      if (line.find("Hello from " + *component + "!") != std::string::npos) greeted = true;
    }
    EXPECT_TRUE(greeted);

    // The chain records the same kinds of events, and names the component's bytes.
    auto core_events = runtime_->Events(*core);
    auto component_events = runtime_->Events(*component);
    ASSERT_TRUE(core_events.ok() && component_events.ok());
    ASSERT_EQ(core_events->size(), component_events->size());
    for (size_t i = 0; i < core_events->size(); ++i) {
      EXPECT_EQ((*core_events)[i].type, (*component_events)[i].type) << i;
    }
    Result<std::vector<uint8_t>> bytes =
        ReadFileBytes(ExampleFile(example, std::string(example) + ".component.wasm"), "component");
    ASSERT_TRUE(bytes.ok());
    bool named = false;
    for (const chain::Event& e : *component_events) {
      std::string payload(e.payload.begin(), e.payload.end());
      if (payload.find("component sha256:" + Sha256Hex(*bytes)) != std::string::npos) named = true;
    }
    EXPECT_TRUE(named);
    EXPECT_TRUE(runtime_->VerifyChain(*component).ok());
  }
}

TEST_F(ComponentRuntimeTest, AnActorUpdatesFromItsCoreModuleToItsComponentKeepingItsState) {
  Result<std::string> id = SpawnExample("hello", "hello.wasm");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto before = runtime_->State(*id);
  ASSERT_TRUE(before.ok() && before->has_value());
  const std::string component = ExampleFile("hello", "hello.component.wasm");
  ASSERT_TRUE(runtime_->UpdateComponent(*id, component).ok());
  Result<std::vector<uint8_t>> bytes = ReadFileBytes(component, "component");
  ASSERT_TRUE(bytes.ok());
  // The update is applied through the actor's mailbox: wait for its event.
  EXPECT_TRUE(testing_util::WaitFor([&] {
    auto events = runtime_->Events(*id);
    if (!events.ok()) return false;
    for (const chain::Event& e : *events) {
      std::string payload(e.payload.begin(), e.payload.end());
      if (payload.find("component-updated") != std::string::npos &&
          payload.find("component sha256:" + Sha256Hex(*bytes)) != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  auto after = runtime_->State(*id);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ(**before, **after);
  EXPECT_TRUE(runtime_->VerifyChain(*id).ok());
}

TEST_F(ComponentRuntimeTest, AComponentThatDisagreesWithTheHostsWitIsRefusedBeforeItRuns) {
  SpawnRequest request;
  request.manifest = "name = \"mismatched\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) + "/mismatched_log.component.wasm\"\n";
  Result<std::string> id = runtime_->Spawn(request);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().ToString().find(
                "import theater:simple/runtime.log: the component's type is func(msg: u32), the "
                "host's WIT declares func(msg: string)"),
            std::string::npos)
      << id.status().ToString();
  EXPECT_TRUE(Log().empty());  // init never ran
  EXPECT_TRUE(runtime_->List().empty());
}

TEST_F(ComponentRuntimeTest, AnActorUsingWasiRunsAsAComponentMadeWithTheAdapter) {
  // wasi_probe.c uses wasi-libc; as a component, its preview-1 calls go through the adapter to
  // the host's WASI preview-2 interfaces.
  SpawnRequest request;
  request.manifest = "name = \"wasi-probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) + "/wasi_probe.component.wasm\"\n";
  Result<std::string> id = runtime_->Spawn(request);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  const std::vector<std::string> expected = {
      "hello from stdout", "second line, 42", "and one from stderr",
      "probe: clock=1 monotonic=1 entropy=1 fopen=denied env=none"};
  std::vector<std::string> log;
  testing_util::WaitFor([&] {
    log = Log();
    return log.size() >= expected.size();
  });
  EXPECT_EQ(log, expected);

  // Everything it did through WASI is in the chain, and the chain verifies.
  auto events = runtime_->Events(*id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  auto recorded = [&](std::string_view interface_prefix, std::string_view function) {
    for (const chain::Event& e : *events) {
      if (e.type.rfind(interface_prefix, 0) == 0 && e.type.size() > function.size() &&
          e.type.compare(e.type.size() - function.size(), function.size(), function) == 0) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(recorded("wasi:cli/stdout@0.2.", "/get-stdout"));
  EXPECT_TRUE(recorded("wasi:io/streams@0.2.", "-write-and-flush") ||
              recorded("wasi:io/streams@0.2.", "[method]output-stream.write"));
  EXPECT_TRUE(recorded("wasi:clocks/wall-clock@0.2.", "/now"));
  EXPECT_TRUE(recorded("wasi:random/random@0.2.", "/get-random-bytes"));
  EXPECT_TRUE(recorded("wasi:filesystem/preopens@0.2.", "/get-directories"));
  EXPECT_TRUE(runtime_->VerifyChain(*id).ok());
}

// WASI preview 2 is a handler like the others: a parent can disallow it for a child, whose WASI
// calls then trap. The probe makes them from its start function, so the child never spawns, and
// the error says which handler was refused; the parent, which has it, ran the same code.
TEST_F(ComponentRuntimeTest, AParentCanDisallowWasiPreview2ForAChild) {
  const std::string manifest = "name = \"wasi-probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
                               std::string(THEATER_TEST_ACTOR_DIR) +
                               "/wasi_probe.component.wasm\"\n";
  SpawnRequest parent_request;
  parent_request.manifest = manifest;
  Result<std::string> parent = runtime_->Spawn(parent_request);
  ASSERT_TRUE(parent.ok()) << parent.status().ToString();

  SpawnRequest child_request;
  child_request.parent_id = *parent;
  child_request.manifest = manifest + "[permission_policy.wasi_preview2]\ntype = \"disallow\"\n";
  Result<std::string> child = runtime_->Spawn(child_request);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().ToString().find(
                "Handler type 'wasi-preview2' not permitted by effective permissions"),
            std::string::npos)
      << child.status().ToString();
  EXPECT_EQ(runtime_->List().size(), 1u);  // the parent only
}

// A component whose static constructor sleeps asks the host to wait while it is being
// instantiated, before any call exists to park: the wait is refused with an error that says so,
// the spawn fails cleanly, and the host and its other actors carry on.
TEST_F(ComponentRuntimeTest, AWaitWhileTheComponentIsInstantiatedIsRefusedNotACrash) {
  SpawnRequest request;
  request.manifest = "name = \"start-sleep\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) + "/wasi_start_sleep.component.wasm\"\n";
  Result<std::string> id = runtime_->Spawn(request);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().ToString().find(
                "a host function cannot wait while the actor's instance is being created"),
            std::string::npos)
      << id.status().ToString();
  EXPECT_TRUE(runtime_->List().empty());
  // The runtime still spawns and runs components.
  request.manifest = "name = \"wasi-probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) + "/wasi_probe.component.wasm\"\n";
  Result<std::string> probe = runtime_->Spawn(request);
  EXPECT_TRUE(probe.ok()) << probe.status().ToString();
}

}  // namespace
}  // namespace theater::component
