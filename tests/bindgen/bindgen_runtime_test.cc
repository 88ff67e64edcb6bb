// Theater: a WebAssembly actor runtime.
//
// Actors written only against `theater bindgen` output (tests/bindgen/c_actor.c, cpp_actor.cc
// and rust_actor.rs, built by this directory's CMakeLists.txt) run in a real TheaterRuntime: init
// greets and sets the state, requests are answered, one-way messages and requests reach other
// actors, and complex values (result<record>, result<list<..>>, result<option<record>>, the
// chain's list of records with options) round-trip through host imports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/bytes.h"
#include "testing/actor_test_fixture.h"

namespace theater {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";

// The bindgen actors and the messenger declare the handlers they use.
std::string Manifest(const std::string& name, const std::string& wasm) {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + wasm +
         "\"\n\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"timing\"\n"
         "\n[[handler]]\ntype = \"store\"\n";
}

struct ActorKind {
  const char* name;
  const char* wasm;
};

class BindgenActorTest : public testing_util::ActorTestFixture,
                         public ::testing::WithParamInterface<ActorKind> {
 protected:
  BindgenActorTest() : ActorTestFixture("theater-bindgen") {}

  std::string SpawnActor() {
    return Spawn(
        Manifest(GetParam().name, std::string(THEATER_BINDGEN_ACTOR_DIR) + "/" + GetParam().wasm));
  }

  std::string StateOf(const std::string& id) {
    Result<std::optional<std::vector<uint8_t>>> state = runtime_->State(id);
    if (!state.ok()) return "failed: " + state.status().ToString();
    if (!state->has_value()) return "<none>";
    return std::string((*state)->begin(), (*state)->end());
  }
};

TEST_P(BindgenActorTest, InitGreetsAndSetsTheState) {
  std::string id = SpawnActor();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(StateOf(id), "init");
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  const std::string greeting = "Hello from " + id + "!";
  const bool logged = std::any_of(events->begin(), events->end(), [&](const chain::Event& e) {
    const std::string payload(e.payload.begin(), e.payload.end());
    return e.type.ends_with("runtime/log") && payload.find(greeting) != std::string::npos;
  });
  EXPECT_TRUE(logged) << "no runtime/log event carrying '" << greeting << "'";
}

TEST_P(BindgenActorTest, AnswersRequestsAndKeepsState) {
  std::string id = SpawnActor();
  EXPECT_EQ(Command(id, "echo:hello bindgen"), "hello bindgen");
  EXPECT_EQ(Command(id, "echo:"), "");
  EXPECT_EQ(Command(id, "state"), "init");
  EXPECT_EQ(Command(id, "mark:first"), "ok");
  EXPECT_EQ(Command(id, "mark:second"), "ok");
  EXPECT_EQ(StateOf(id), "init|first|second");
  // runtime.get-state sees the state passed to the running export.
  EXPECT_EQ(Command(id, "get-state"), "init|first|second");
  EXPECT_THAT(Command(id, "bogus"), StartsWith("error:unknown command"));
  EXPECT_EQ(StateOf(id), "init|first|second");  // unknown commands leave the state alone
}

TEST_P(BindgenActorTest, SendsMessagesAndRequestsToOtherActors) {
  std::string id = SpawnActor();
  std::string messenger = Spawn(Manifest("messenger", kMessenger));
  ASSERT_FALSE(messenger.empty());
  EXPECT_EQ(Command(id, "send:" + messenger + ":hi there"), "ok");
  EXPECT_TRUE(testing_util::WaitFor(
      [&] { return Command(messenger, "log").find("send:hi there") != std::string::npos; }));
  EXPECT_EQ(Command(id, "request:" + messenger + ":echo:ping"), "ping");
  // Failures come back as the err side of result<_, string> / result<list<u8>, string>.
  EXPECT_THAT(Command(id, "send:not-an-actor:x"), StartsWith("error:"));
  EXPECT_THAT(Command(id, "request:not-an-actor:x"), StartsWith("error:"));
  // One-way messages to a bindgen actor update its state through handle-send.
  EXPECT_EQ(Command(messenger, "send:" + id + ":from messenger"), "ok");
  EXPECT_TRUE(testing_util::WaitFor([&] { return StateOf(id) == "init|send:from messenger"; }))
      << StateOf(id);
}

TEST_P(BindgenActorTest, ChainRoundTripsAsNestedRecords) {
  std::string id = SpawnActor();
  std::string summary = Command(id, "chain");
  // list<meta-event> of records holding option<u64>: every parent is the previous event's hash.
  EXPECT_THAT(summary, StartsWith("events="));
  EXPECT_THAT(summary, HasSubstr(";linked=yes"));
  EXPECT_NE(summary, "events=0;linked=no");
}

INSTANTIATE_TEST_SUITE_P(Languages, BindgenActorTest,
                         ::testing::Values(ActorKind{"bindgen-c", "bindgen_c_actor.wasm"},
                                           ActorKind{"bindgen-cpp", "bindgen_cpp_actor.wasm"},
                                           ActorKind{"bindgen-rust", "bindgen_rust_actor.wasm"}),
                         [](const ::testing::TestParamInfo<ActorKind>& info) {
                           const std::string name = info.param.name;
                           return name == "bindgen-c"     ? std::string("C")
                                  : name == "bindgen-cpp" ? std::string("Cpp")
                                                          : std::string("Rust");
                         });

class BindgenStoreTest : public testing_util::ActorTestFixture {
 protected:
  BindgenStoreTest() : ActorTestFixture("theater-bindgen-store") {}
};

TEST_F(BindgenStoreTest, CActorRoundTripsStoreResults) {
  std::string id = Spawn(
      Manifest("bindgen-c", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_c_actor.wasm"));
  std::string summary = Command(id, "store");
  EXPECT_EQ(summary, "alpha=" + Sha256Hex(testing_util::Bytes("alpha")) +
                         ";beta=" + Sha256Hex(testing_util::Bytes("beta")) +
                         ";labels=latest;contents=2;bylabel=beta;get=alpha;exists=true;size=9");
}

TEST_F(BindgenStoreTest, CppActorRoundTripsStoreResults) {
  std::string id = Spawn(
      Manifest("bindgen-cpp", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_cpp_actor.wasm"));
  EXPECT_EQ(Command(id, "store"), "labels=latest;bylabel=beta;get=alpha");
}

TEST_F(BindgenStoreTest, RustActorRoundTripsStoreResults) {
  std::string id = Spawn(Manifest(
      "bindgen-rust", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_rust_actor.wasm"));
  EXPECT_EQ(Command(id, "store"), "labels=latest;bylabel=beta;get=alpha");
}

TEST_F(BindgenStoreTest, RustAndCActorsTalkToEachOther) {
  std::string c = Spawn(
      Manifest("bindgen-c", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_c_actor.wasm"));
  std::string rust = Spawn(Manifest(
      "bindgen-rust", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_rust_actor.wasm"));
  EXPECT_EQ(Command(c, "request:" + rust + ":echo:across languages"), "across languages");
  EXPECT_EQ(Command(rust, "request:" + c + ":mark:from rust"), "ok");
  EXPECT_EQ(Command(c, "state"), "init|from rust");
  EXPECT_EQ(Command(rust, "request:" + c + ":nope"), "error:unknown command nope");
}

TEST_F(BindgenStoreTest, CAndCppActorsTalkToEachOther) {
  std::string c = Spawn(
      Manifest("bindgen-c", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_c_actor.wasm"));
  std::string cpp = Spawn(
      Manifest("bindgen-cpp", std::string(THEATER_BINDGEN_ACTOR_DIR) + "/bindgen_cpp_actor.wasm"));
  EXPECT_EQ(Command(c, "request:" + cpp + ":echo:across languages"), "across languages");
  EXPECT_EQ(Command(cpp, "request:" + c + ":mark:from cpp"), "ok");
  EXPECT_EQ(Command(c, "state"), "init|from cpp");
}

}  // namespace
}  // namespace theater
