// The agent example (examples/agent/) end to end: the built agent and tool actors with their
// shipped manifests, in a real runtime with the built-in handlers, talking real HTTP on loopback
// to a scripted chat-completions model (fake_completions_server.py) and reading real files.
// Checked: the conversation kept as state, the tool round trip, the tools' narrow permissions
// (the errors they get outside them), the chain's record of every prompt, reply and tool call,
// and failures of the model endpoint leaving the conversation as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_completions_process.h"
#include "testing/runtime_test_fixture.h"
#include "theater/chain.h"

namespace theater::testing_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

const std::string kExampleDir = AGENT_EXAMPLE_DIR;
const std::string kApiKey = "sk-test-agent";

// A loopback port nothing listens on: bound, then closed.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class AgentTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    ASSERT_TRUE(model_.ok()) << "the fake model (python3 " << AGENT_FAKE_SERVER
                             << ") did not start";
    // The read_file tool serves docs_; secret.txt lies beside it, and docs_/escape links to it.
    work_ = home_ / "work";
    docs_ = work_ / "docs";
    std::filesystem::create_directories(docs_);
    std::ofstream(docs_ / "notes.txt") << "the secret word is persimmon";
    std::ofstream(work_ / "secret.txt") << "outside the tool's directory";
    std::filesystem::create_symlink("../secret.txt", docs_ / "escape");
    // The settings the manifest's environment handler exposes (each test is its own process).
    ::setenv("AGENT_ENDPOINT", model_.Origin().c_str(), 1);
    ::setenv("AGENT_MODEL", "fake-model", 1);
    ::setenv("OPENAI_API_KEY", kApiKey.c_str(), 1);
  }

  // The initial state merged over the shipped init.json: the tools (their manifests named as
  // init.json names them, relative to the agent's) pointed at this test's directory and at the
  // fake server's address; `extra` adds top-level fields.
  std::string Settings(const json& extra = json::object()) {
    json s = {
        {"system", "test system"},
        {"tools",
         {{"read_file", {{"manifest", "tools/read-file/manifest.toml"}, {"root", docs_.string()}}},
          {"fetch_url",
           {{"manifest", "tools/fetch-url/manifest.toml"}, {"allowed_hosts", {"127.0.0.1"}}}}}}};
    s.update(extra);
    return s.dump();
  }

  std::string SpawnAgent(const json& extra = json::object()) {
    return Spawn(kExampleDir + "/manifest.toml", Settings(extra));
  }

  // A message-server request to an actor, as `theater message -r` sends it.
  std::string Ask(const std::string& id, const std::string& text) {
    Result<std::vector<uint8_t>> reply = runtime_->RequestMessage(id, Bytes(text));
    if (!reply.ok()) return "request failed: " + reply.status().ToString();
    return std::string(reply->begin(), reply->end());
  }

  json StateJson(const std::string& id) {
    auto state = runtime_->State(id);
    if (!state.ok() || !*state) return nullptr;
    return json::parse(std::string((*state)->begin(), (*state)->end()));
  }

  // The host calls of `interface` in an actor's chain, oldest first.
  std::vector<chain::HostCall> HostCalls(const std::string& id, std::string_view interface) {
    std::vector<chain::HostCall> calls;
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) return calls;
    for (const chain::Event& e : *events) {
      auto p = chain::DecodePayload(e.payload);
      if (p.ok() && std::holds_alternative<chain::HostCall>(*p)) {
        const auto& call = std::get<chain::HostCall>(*p);
        if (call.interface == interface) calls.push_back(call);
      }
    }
    return calls;
  }

  static std::string Dump(const std::vector<abi::Value>& values) {
    std::string out;
    for (const abi::Value& v : values) out += chain::ValueToJson(v).dump() + "\n";
    return out;
  }

  agent_test::FakeCompletionsProcess model_{AGENT_FAKE_SERVER, kApiKey};
  std::filesystem::path work_, docs_;
};

TEST_F(AgentTest, AToolCallRoundTripIsKeptInTheConversationAndTheChain) {
  std::string agent = SpawnAgent();
  ASSERT_FALSE(agent.empty());
  EXPECT_EQ(Ask(agent, R"(call read_file {"path": "notes.txt"})"),
            "[call_1] the secret word is persimmon");

  // The conversation: system, user, the assistant's tool call, the tool's result, the answer.
  json state = StateJson(agent);
  const json& m = state["messages"];
  ASSERT_EQ(m.size(), 5u) << state.dump(2);
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "test system"}}));
  EXPECT_EQ(m[1], json({{"role", "user"}, {"content", R"(call read_file {"path": "notes.txt"})"}}));
  EXPECT_EQ(m[2]["role"], "assistant");
  EXPECT_TRUE(m[2]["content"].is_null());
  EXPECT_EQ(m[2]["tool_calls"],
            json::parse(R"([{"id": "call_1", "type": "function", "function": {"name": "read_file",
                           "arguments": "{\"path\": \"notes.txt\"}"}}])"));
  EXPECT_EQ(m[3], json({{"role", "tool"},
                        {"tool_call_id", "call_1"},
                        {"content", "the secret word is persimmon"}}));
  EXPECT_EQ(m[4],
            json({{"role", "assistant"}, {"content", "[call_1] the secret word is persimmon"}}));
  EXPECT_FALSE(state.contains("prompt"));

  // The tools run as the agent's children, started at init.
  Result<std::vector<std::string>> children = runtime_->Children(agent);
  ASSERT_TRUE(children.ok());
  const std::string reader = state["children"]["read_file"];
  EXPECT_THAT(*children, ::testing::UnorderedElementsAre(
                             reader, state["children"]["fetch_url"].get<std::string>()));

  // The next prompt goes to the model with the whole conversation and the tool definitions.
  EXPECT_EQ(Ask(agent, "hello"), "You said: hello (6 messages; tools: fetch_url, read_file)");
  EXPECT_EQ(StateJson(agent)["messages"].size(), 7u);

  // The chain holds every model request and response: three calls, each with the model, the
  // bearer token and the conversation so far; the second carries the tool's result to the model.
  ASSERT_TRUE(runtime_->VerifyChain(agent).ok());
  std::vector<chain::HostCall> http = HostCalls(agent, "theater:simple/http-client");
  ASSERT_EQ(http.size(), 3u);
  for (const chain::HostCall& call : http) {
    EXPECT_EQ(call.function, "send-http");
    std::string input = Dump(call.input);
    EXPECT_THAT(input, HasSubstr(model_.Origin() + "/v1/chat/completions"));
    EXPECT_THAT(input, HasSubstr("Bearer " + kApiKey));
    EXPECT_THAT(input, HasSubstr("fake-model"));
    ASSERT_TRUE(call.output.ok());
  }
  EXPECT_THAT(Dump(http[0].output.values), HasSubstr("call_1"));
  EXPECT_THAT(Dump(http[1].input), HasSubstr("the secret word is persimmon"));
  EXPECT_THAT(Dump(http[1].output.values), HasSubstr("[call_1] the secret word is persimmon"));
  EXPECT_THAT(Dump(http[2].input), HasSubstr("hello"));

  // ... and the message to the tool with its reply, which the tool's own chain has as well.
  std::vector<chain::HostCall> requests = HostCalls(agent, "theater:simple/message-server-host");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].function, "request");
  EXPECT_THAT(Dump(requests[0].input), HasSubstr(reader));
  EXPECT_THAT(Dump(requests[0].input), HasSubstr(R"({\"path\": \"notes.txt\"})"));
  EXPECT_THAT(Dump(requests[0].output.values), HasSubstr("the secret word is persimmon"));
  std::vector<chain::HostCall> reads = HostCalls(reader, "theater:simple/filesystem");
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].function, "read-file");
  EXPECT_THAT(Dump(reads[0].input), HasSubstr("notes.txt"));
  // The tools were started by the agent, each from its manifest with its settings.
  std::string spawned;
  for (const chain::HostCall& call : HostCalls(agent, "theater:simple/supervisor")) {
    if (call.function == "spawn") spawned += Dump(call.input);
  }
  EXPECT_THAT(spawned, HasSubstr("tools/read-file/manifest.toml"));
  EXPECT_THAT(spawned, HasSubstr(docs_.string()));
  EXPECT_THAT(spawned, HasSubstr("tools/fetch-url/manifest.toml"));
}

TEST_F(AgentTest, ToolsGetOnlyTheirNarrowPermissions) {
  std::string agent = SpawnAgent();
  ASSERT_FALSE(agent.empty());
  json state = StateJson(agent);
  const std::string reader = state["children"]["read_file"];
  const std::string fetcher = state["children"]["fetch_url"];

  // The reader reads within its directory and nowhere else: "..", absolute paths and a link
  // leading out are refused by the host.
  EXPECT_EQ(Ask(reader, R"({"path": "notes.txt"})"), "the secret word is persimmon");
  EXPECT_THAT(Ask(reader, R"({"path": "../secret.txt"})"),
              StartsWith("error: invalid-argument: path '../secret.txt' contains a '..'"));
  EXPECT_THAT(Ask(reader, R"({"path": "/etc/passwd"})"),
              StartsWith("error: invalid-argument: path '/etc/passwd' is absolute"));
  EXPECT_THAT(Ask(reader, R"({"path": "escape"})"),
              StartsWith("error: permission-denied: path 'escape' escapes the base directory"));
  EXPECT_THAT(Ask(reader, R"({"nope": 1})"), "error: the arguments need a string 'path'");

  // The fetcher gets pages from its allowed host only: the same server under another name is
  // refused before any connection.
  EXPECT_EQ(Ask(fetcher, R"({"url": ")" + model_.Origin() + R"(/page"})"),
            "HTTP 200\nthe fake page");
  EXPECT_EQ(Ask(fetcher, R"({"url": ")" + model_.Origin("localhost") + R"(/page"})"),
            "error: permission-denied: Host 'localhost' not in allowed hosts: [\"127.0.0.1\"]");

  // Asked by the model, the refusals reach the model as the tools' results.
  std::string answer =
      Ask(agent, "call read_file {\"path\": \"../secret.txt\"}\ncall fetch_url {\"url\": \"" +
                     model_.Origin("localhost") + "/page\"}");
  EXPECT_THAT(answer, HasSubstr("[call_1] error: invalid-argument: path '../secret.txt'"));
  EXPECT_THAT(answer, HasSubstr("[call_2] error: permission-denied: Host 'localhost'"));
  EXPECT_THAT(answer, Not(HasSubstr("outside the tool's directory")));
  EXPECT_EQ(StateJson(agent)["messages"].size(), 6u);  // system, user, call, 2 results, answer
}

TEST_F(AgentTest, ModelFailuresGiveClearErrorsAndKeepTheConversation) {
  std::string agent = SpawnAgent({{"max_tool_rounds", 2}});
  ASSERT_FALSE(agent.empty());
  EXPECT_EQ(Ask(agent, "hello"), "You said: hello (2 messages; tools: fetch_url, read_file)");
  const json before = StateJson(agent)["messages"];
  ASSERT_EQ(before.size(), 3u);

  const std::string down = "http://127.0.0.1:" + std::to_string(ClosedPort());
  ::setenv("AGENT_ENDPOINT", down.c_str(), 1);
  EXPECT_THAT(Ask(agent, "are you there?"),
              StartsWith("error: the model endpoint " + down +
                         "/v1/chat/completions could not be reached: connect: "));
  EXPECT_EQ(StateJson(agent)["messages"], before);
  ::setenv("AGENT_ENDPOINT", model_.Origin().c_str(), 1);

  ::setenv("OPENAI_API_KEY", "sk-wrong", 1);
  EXPECT_EQ(Ask(agent, "hello?"), "error: the model endpoint " + model_.Origin() +
                                      "/v1/chat/completions answered HTTP 401: Incorrect API "
                                      "key provided");
  ::setenv("OPENAI_API_KEY", kApiKey.c_str(), 1);

  EXPECT_THAT(Ask(agent, "garbage"), StartsWith("error: the model's response is not valid JSON"));
  EXPECT_EQ(Ask(agent, R"(always call read_file {"path": "notes.txt"})"),
            "error: the model still asked for tools after 2 rounds of tool calls "
            "(max_tool_rounds); no answer");
  EXPECT_EQ(StateJson(agent)["messages"], before);

  // None of that broke the agent.
  EXPECT_EQ(Ask(agent, "hello again"),
            "You said: hello again (4 messages; tools: fetch_url, read_file)");
}

TEST_F(AgentTest, AnInitialPromptIsAnsweredAtStartOrFailsTheStart) {
  std::string agent = SpawnAgent({{"prompt", R"(call read_file {"path": "notes.txt"})"}});
  ASSERT_FALSE(agent.empty());
  json state = StateJson(agent);
  ASSERT_EQ(state["messages"].size(), 5u) << state.dump(2);
  EXPECT_EQ(state["messages"][4]["content"], "[call_1] the secret word is persimmon");
  EXPECT_FALSE(state.contains("prompt"));

  ::setenv("AGENT_ENDPOINT", ("http://127.0.0.1:" + std::to_string(ClosedPort())).c_str(), 1);
  SpawnRequest request;
  request.manifest = kExampleDir + "/manifest.toml";
  request.state = Bytes(Settings({{"prompt", "hello"}}));
  Result<std::string> failed = runtime_->Spawn(request);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().ToString(), HasSubstr("could not be reached: connect: "));
}

}  // namespace
}  // namespace theater::testing_util
