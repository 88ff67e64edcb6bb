// Theater: a WebAssembly actor runtime.
//
// Actors and manifests written against the design documents (../shared/reference/design-docs in
// the project's history; the interfaces copied into wit/design.wit) run unchanged:
//   * runtime_actor.c, against the runtime handler's documented interface: every function, the
//     leveled `log` included, links and answers as documented;
//   * json_messenger.c, against the handler system's documented message-server interfaces
//     (`json` messages and states, handle-request without a request id);
// each as a core module and as a component, started from a manifest in the documents' spelling
// (component_path, [[handlers]], config = {}); and handler_configuration.toml, the handler
// system's example manifest, verbatim.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/runtime_test_fixture.h"
#include "testing/runtime_test_util.h"
#include "theater/version.h"

namespace theater {
namespace {

using testing_util::RuntimeTest;

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kDesignDir = THEATER_DESIGN_ACTOR_DIR;

// The module or the component of one of the design actors.
std::string ActorPath(const std::string& base, bool component) {
  return kDesignDir + "/" + base + (component ? ".component.wasm" : ".wasm");
}

// A manifest in the spelling of the handler system's documentation.
std::string DesignManifest(const std::string& name, const std::string& path,
                           bool message_server) {
  std::string manifest = "name = \"" + name + "\"\ncomponent_path = \"" + path + "\"\n\n";
  manifest += "[[handlers]]\ntype = \"runtime\"\nconfig = {}\n";
  if (message_server) manifest += "\n[[handlers]]\ntype = \"message-server\"\nconfig = {}\n";
  return manifest;
}

std::vector<uint8_t> Bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

class DesignConformanceTest : public RuntimeTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool component() const { return GetParam(); }

  json StateJson(const std::string& id) {
    std::string state = State(id);
    json parsed = json::parse(state, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "state is not JSON: " << state;
    return parsed;
  }
};

TEST_P(DesignConformanceTest, AnActorOfTheRuntimeHandlersDocumentationRuns) {
  const uint64_t before = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::string id = Spawn(DesignManifest("documented-runtime",
                                        ActorPath("runtime_actor", component()), false));
  ASSERT_FALSE(id.empty());
  json state = StateJson(id);
  EXPECT_EQ(state["id"], id);
  EXPECT_EQ(state["name"], "documented-runtime");
  EXPECT_GE(state["time"].get<uint64_t>(), before);
  EXPECT_EQ(state["env_set"], false) << "no environment permission: every variable is unset";
  EXPECT_EQ(state["log_ok"], true);
  EXPECT_THAT(state["bad_level_error"].get<std::string>(), HasSubstr("unknown log level 'loud'"));
  EXPECT_EQ(state["metric_ok"], true);
  EXPECT_EQ(state["event_ok"], true);
  EXPECT_EQ(state["version"], std::string(kVersion));
  struct utsname uts {};
  uname(&uts);
  EXPECT_EQ(state["os_type"], std::string(uts.sysname));
  EXPECT_EQ(state["os_release"], std::string(uts.release));
  EXPECT_GE(state["cpu_count"].get<uint32_t>(), 1u);
  EXPECT_GT(state["memory_total"].get<uint64_t>(), 0u);
  EXPECT_LE(state["memory_available"].get<uint64_t>(), state["memory_total"].get<uint64_t>());
  EXPECT_FALSE(state["hostname"].get<std::string>().empty());

  // The leveled log reaches the log with its level; the metric and the custom event are kept.
  EXPECT_TRUE(testing_util::WaitFor([&] {
    return LogContains("[warn] This is a warning message") &&
           LogContains("[debug] This is a debug message");
  }));
  Result<ActorMetrics> metrics = runtime_->Metrics(id);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(metrics->custom["request_duration_ms"], 42.5);
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  bool login = false, leveled_log = false;
  for (const chain::Event& e : *events) {
    if (e.type == "custom/user_login") {
      login = std::string(e.payload.begin(), e.payload.end()) == "User logged in";
    }
    if (e.type == "theater:simple/runtime/log") leveled_log = true;
  }
  EXPECT_TRUE(login) << "record-event appends custom/user_login with its data";
  EXPECT_TRUE(leveled_log) << "each log call is a host-call event";
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

// The handler system's example manifest, byte for byte (handler_configuration.toml): beside it,
// `my_actor.wasm` (here the json messenger, which uses the message-server it declares); the
// filesystem's `data` is created beside the manifest, and the chain's setup event names the
// three declared handlers.
TEST_P(DesignConformanceTest, TheHandlerConfigurationExampleRunsAsWritten) {
  const std::filesystem::path dir = home_ / "my-actor";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(THEATER_DESIGN_SOURCE_DIR) + "/handler_configuration.toml",
                             dir / "manifest.toml");
  std::filesystem::copy_file(ActorPath("json_messenger", component()), dir / "my_actor.wasm");
  ASSERT_FALSE(std::filesystem::exists(dir / "data"));
  const std::string id = Spawn((dir / "manifest.toml").string());
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "data")) << "new_dir creates `path`";
  Result<std::vector<uint8_t>> reply = runtime_->RequestMessage(id, Bytes("{\"q\":2}"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(std::string(reply->begin(), reply->end()), "{\"echo\":{\"q\":2}}");
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GE(events->size(), 2u);
  Result<chain::Payload> setup = chain::DecodePayload((*events)[1].payload);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  const chain::Lifecycle* step = std::get_if<chain::Lifecycle>(&*setup);
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->kind, "runtime-setup");
  for (const char* handler : {"message-server", "http-client", "filesystem"}) {
    EXPECT_THAT(step->message, HasSubstr(handler));
  }
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

TEST_P(DesignConformanceTest, JsonMessagesTravelThroughTheDocumentedMessageServer) {
  const std::string path = ActorPath("json_messenger", component());
  std::string a = Spawn(DesignManifest("messenger-a", path, true));
  std::string b = Spawn(DesignManifest("messenger-b", path, true));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(StateJson(a), json::object());

  // handle-send with a json message, and message-server-host.send of one.
  const std::string forward = "{\"forward\":\"" + b + "\",\"text\":\"hi\"}";
  ASSERT_TRUE(runtime_->SendMessage(a, Bytes(forward)).ok());
  EXPECT_TRUE(testing_util::WaitFor([&] { return State(b) == forward; })) << State(b);
  // b can take the message before a's handle-send has returned and its state is committed.
  EXPECT_TRUE(testing_util::WaitFor([&] { return State(a) == forward; })) << State(a);

  // handle-request in the documented form: no request id, the reply always given.
  Result<std::vector<uint8_t>> reply = runtime_->RequestMessage(b, Bytes("{\"q\":1}"));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(std::string(reply->begin(), reply->end()), "{\"echo\":{\"q\":1}}");
  EXPECT_EQ(State(b), forward) << "the state handle-request returned is kept";

  // message-server-host.request from one documented actor to another.
  const std::string ask = "{\"ask\":\"" + b + "\"}";
  ASSERT_TRUE(runtime_->SendMessage(a, Bytes(ask)).ok());
  EXPECT_TRUE(testing_util::WaitFor([&] { return State(a) == "{\"echo\":" + ask + "}"; }))
      << State(a);
  EXPECT_TRUE(runtime_->VerifyChain(a).ok());
  EXPECT_TRUE(runtime_->VerifyChain(b).ok());
}

INSTANTIATE_TEST_SUITE_P(ModuleAndComponent, DesignConformanceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Component" : "CoreModule";
                         });

}  // namespace
}  // namespace theater
