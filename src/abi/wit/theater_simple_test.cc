// Theater: a WebAssembly actor runtime.
//
// The repository's own `theater:simple` package (wit/): it parses, holds every interface the
// host implements, and its signatures are the ones the handlers and actors agree on.
#include <gtest/gtest.h>

#include <string>

#include "theater/abi/wit.h"

namespace theater::wit {
namespace {

using abi::TypeKind;

class TheaterSimpleTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Package> parsed = ParseWitDirectory(THEATER_SOURCE_DIR "/wit");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    package_ = new Package(std::move(parsed).value());
  }
  static void TearDownTestSuite() {
    delete package_;
    package_ = nullptr;
  }

  // The WIT spelling of a function's signature, e.g. "func(msg: string)".
  static std::string Signature(std::string_view interface, std::string_view function) {
    const Interface* found = package_->FindInterface(interface);
    if (found == nullptr) return "<no interface " + std::string(interface) + ">";
    const abi::FunctionType* type = found->FindFunction(function);
    if (type == nullptr) return "<no function " + std::string(function) + ">";
    std::string out = "func(";
    for (size_t i = 0; i < type->params.size(); ++i) {
      if (i > 0) out += ", ";
      out += type->params[i].name + ": " + type->params[i].type->ToWit();
    }
    out += ")";
    if (type->result) out += " -> " + type->result->ToWit();
    return out;
  }

  static Package* package_;
};

Package* TheaterSimpleTest::package_ = nullptr;

TEST_F(TheaterSimpleTest, PackageHasNoVersion) {
  EXPECT_EQ(package_->Id(), "theater:simple");
  EXPECT_EQ(package_->QualifiedInterfaceName("runtime"), "theater:simple/runtime");
  EXPECT_EQ(package_->FindInterface("runtime")->qualified_name, "theater:simple/runtime");
}

TEST_F(TheaterSimpleTest, HasEveryInterface) {
  for (const char* name : {"types",
                           "actor",
                           "runtime",
                           "runtime-ext",
                           "runtime-leveled",
                           "message-server-client",
                           "message-server-client-simple",
                           "message-server-host",
                           "supervisor",
                           "supervisor-handlers",
                           "store",
                           "filesystem",
                           "process",
                           "process-handlers",
                           "random",
                           "timing",
                           "environment",
                           "http-types",
                           "websocket-types",
                           "http-client",
                           "http-framework",
                           "http-handlers"}) {
    EXPECT_NE(package_->FindInterface(name), nullptr) << name;
  }
  // The legacy interface no handler implements is left out on purpose.
  EXPECT_EQ(package_->FindInterface("websocket-server"), nullptr);
  EXPECT_EQ(package_->interfaces.size(), 22u);
}

TEST_F(TheaterSimpleTest, EveryFunctionIsDocumented) {
  for (const auto& interface : package_->interfaces) {
    EXPECT_FALSE(interface->docs.empty()) << interface->name;
    for (const Function& function : interface->functions) {
      EXPECT_FALSE(function.docs.empty()) << interface->name << "." << function.name;
    }
  }
}

TEST_F(TheaterSimpleTest, ActorAndRuntime) {
  EXPECT_EQ(Signature("actor", "init"),
            "func(state: option<list<u8>>, params: tuple<string>) -> "
            "result<tuple<option<list<u8>>>, string>");
  EXPECT_EQ(Signature("runtime", "log"), "func(msg: string)");
  EXPECT_EQ(Signature("runtime", "get-chain"), "func() -> chain");
  EXPECT_EQ(Signature("runtime", "get-state"), "func() -> option<list<u8>>");
  EXPECT_EQ(Signature("runtime", "shutdown"), "func(data: option<list<u8>>) -> result<_, string>");

  abi::TypePtr chain = package_->FindInterface("runtime")->FindFunction("get-chain")->result;
  ASSERT_EQ(chain->kind, TypeKind::kRecord);
  const abi::Type& meta_event = *chain->fields[0].type->element;
  EXPECT_EQ(meta_event.name, "meta-event");
  EXPECT_EQ(meta_event.fields[1].type->fields[1].type->ToWit(), "option<u64>");
}

TEST_F(TheaterSimpleTest, MessageServer) {
  EXPECT_EQ(Signature("message-server-host", "request"),
            "func(actor-id: actor-id, msg: list<u8>) -> result<list<u8>, string>");
  EXPECT_EQ(Signature("message-server-host", "open-channel"),
            "func(actor-id: actor-id, initial-msg: list<u8>) -> result<channel-id, string>");
  abi::TypePtr actor_id =
      package_->FindInterface("message-server-host")->FindFunction("request")->params[0].type;
  EXPECT_EQ(actor_id->kind, TypeKind::kString);
  EXPECT_EQ(Signature("message-server-client", "handle-request"),
            "func(state: option<list<u8>>, params: tuple<string, list<u8>>) -> "
            "result<tuple<option<list<u8>>, tuple<option<list<u8>>>>, string>");
  EXPECT_EQ(Signature("message-server-client", "handle-channel-open"),
            "func(state: option<list<u8>>, params: tuple<string, list<u8>>) -> "
            "result<tuple<option<list<u8>>, tuple<channel-accept>>, string>");
}

TEST_F(TheaterSimpleTest, ResolvedMismatches) {
  EXPECT_EQ(Signature("store", "remove-from-label"),
            "func(store-id: string, label: string, content-ref: content-ref) -> "
            "result<_, string>");
  EXPECT_EQ(Signature("process", "os-write-stdin"),
            "func(pid: u64, data: list<u8>) -> result<u32, string>");
  EXPECT_EQ(Signature("process", "os-signal"), "func(pid: u64, signal: u32) -> result<_, string>");
  EXPECT_EQ(Signature("http-framework", "disable-websocket"),
            "func(server-id: server-id, path: string) -> result<_, string>");
}

TEST_F(TheaterSimpleTest, OtherHandlers) {
  EXPECT_EQ(Signature("supervisor", "get-child-events"),
            "func(child-id: string) -> result<list<chain-event>, string>");
  EXPECT_EQ(Signature("supervisor-handlers", "handle-child-error"),
            "func(state: option<list<u8>>, params: tuple<string, wit-actor-error>) -> "
            "result<tuple<option<list<u8>>>, string>");
  EXPECT_EQ(Signature("timing", "now"), "func() -> u64");
  EXPECT_EQ(Signature("random", "random-float"), "func() -> result<f64, string>");
  EXPECT_EQ(Signature("environment", "list-vars"), "func() -> list<tuple<string, string>>");
  EXPECT_EQ(Signature("filesystem", "execute-command"),
            "func(dir: string, command: string, args: list<string>) -> "
            "result<command-result, string>");
  EXPECT_EQ(Signature("http-client", "send-http"),
            "func(req: http-request) -> result<http-response, string>");
  EXPECT_EQ(Signature("http-handlers", "handle-websocket-message"),
            "func(state: option<list<u8>>, params: tuple<handler-id, u64, websocket-message>) -> "
            "result<tuple<option<list<u8>>, tuple<list<websocket-message>>>, string>");

  abi::TypePtr request = package_->FindInterface("http-types")->FindType("http-request");
  ASSERT_EQ(request->fields.size(), 4u);
  EXPECT_EQ(request->fields[3].type->ToWit(), "option<bytes>");
  abi::TypePtr message_type = package_->FindInterface("websocket-types")->FindType("message-type");
  ASSERT_EQ(message_type->kind, TypeKind::kVariant);
  EXPECT_EQ(message_type->cases.back().name, "other");
  EXPECT_EQ(message_type->cases.back().type->kind, TypeKind::kString);
  abi::TypePtr error_type = package_->FindInterface("types")->FindType("wit-error-type");
  EXPECT_EQ(error_type->labels.size(), 9u);
}

TEST_F(TheaterSimpleTest, MinimalWorld) {
  const World* minimal = package_->FindWorld("minimal");
  ASSERT_NE(minimal, nullptr);
  const WorldItem* runtime = minimal->FindImport("theater:simple/runtime");
  ASSERT_NE(runtime, nullptr);
  EXPECT_FALSE(runtime->implicit);
  EXPECT_EQ(runtime->interface.get(), package_->FindInterface("runtime"));
  const WorldItem* types = minimal->FindImport("theater:simple/types");
  ASSERT_NE(types, nullptr);
  EXPECT_TRUE(types->implicit);
  ASSERT_EQ(minimal->exports.size(), 1u);
  EXPECT_EQ(minimal->exports[0].name, "theater:simple/actor");

  const World* full = package_->FindWorld("full");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->exports.size(), 5u);
  for (const char* name :
       {"runtime", "message-server-host", "supervisor", "store", "filesystem", "process", "random",
        "timing", "environment", "http-client", "http-framework"}) {
    const WorldItem* item = full->FindImport(name);
    ASSERT_NE(item, nullptr) << name;
    EXPECT_FALSE(item->implicit) << name;
  }
}

}  // namespace
}  // namespace theater::wit
