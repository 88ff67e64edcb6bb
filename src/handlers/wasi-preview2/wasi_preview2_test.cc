// Theater: a WebAssembly actor runtime.
//
// The wasi-preview2 handler's WASI host on its own: which interfaces and versions it serves, what
// it records, how stdout becomes lines, and the limits a guest cannot pass.
// component_runtime_test and wasi_filesystem_test run real adapter components through it.
#include "handlers/wasi-preview2/wasi_preview2.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;

ComponentImport Import(std::string interface_name, std::string function,
                     std::vector<abi::TypePtr> params, abi::TypePtr result) {
  ComponentImport import;
  import.interface_name = std::move(interface_name);
  import.function = std::move(function);
  for (size_t i = 0; i < params.size(); ++i) {
    import.type.params.push_back({"p" + std::to_string(i), std::move(params[i])});
  }
  import.type.result = std::move(result);
  return import;
}

abi::TypePtr StreamResult(abi::TypePtr ok) {
  abi::TypePtr error = Type::Variant(
      "stream-error", {{"last-operation-failed", Type::Own("error")}, {"closed", nullptr}});
  return Type::Result(std::move(ok), std::move(error));
}

struct Recorded {
  std::string call;
  std::vector<Value> params, results;
};

class WasiPreview2Test : public ::testing::Test {
 protected:
  static WasiPreview2::Options MakeOptions(WasiPreview2Test* t) {
    WasiPreview2::Options options;
    options.log = [t](std::string_view line) { t->lines_.emplace_back(line); };
    // A recognisable source, to see that random bytes come from the one the host gives.
    options.random = [](std::span<uint8_t> out) {
      for (uint8_t& b : out) b = 0xab;
      return Status::Ok();
    };
    options.record = [t](std::string_view interface_name, std::string_view function,
                         std::span<const Value> params, std::span<const Value> results) {
      t->recorded_.push_back({std::string(interface_name) + "#" + std::string(function),
                              {params.begin(), params.end()},
                              {results.begin(), results.end()}});
    };
    return options;
  }

  WasiPreview2Test() : wasi_(MakeOptions(this)) {}

  Result<std::vector<Value>> Call(const ComponentImport& import, std::vector<Value> params) {
    Result<ComponentHostFunction> fn = wasi_.Resolve(import);
    if (!fn.ok()) return fn.status();
    return (*fn)(import, params);
  }

  WasiPreview2 wasi_;
  std::vector<std::string> lines_;
  std::vector<Recorded> recorded_;
};

TEST_F(WasiPreview2Test, ServesWasi02InterfacesOnlyAndNamesWhatItDoesNotProvide) {
  Result<ComponentHostFunction> sockets =
      wasi_.Resolve(Import("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.connect", {}, nullptr));
  ASSERT_FALSE(sockets.ok());
  EXPECT_EQ(sockets.status().code(), StatusCode::kNotFound);
  EXPECT_NE(sockets.status().message().find("wasi:sockets/tcp#[method]tcp-socket.connect"),
            std::string::npos);
  Result<ComponentHostFunction> future = wasi_.Resolve(
      Import("wasi:random/random@0.3.0", "get-random-u64", {}, Type::Primitive(TypeKind::kU64)));
  EXPECT_FALSE(future.ok());
  EXPECT_TRUE(wasi_
                  .Resolve(Import("wasi:random/random@0.2.0", "get-random-u64", {},
                                  Type::Primitive(TypeKind::kU64)))
                  .ok());
}

// What `theater validate` asks before any actor exists: the same answer Resolve gives.
TEST(WasiPreview2ServesTest, TellsWhatResolveWouldServeWithoutAnActor) {
  EXPECT_TRUE(WasiPreview2::Serves("wasi:random/random@0.2.0", "get-random-u64"));
  EXPECT_TRUE(WasiPreview2::Serves("wasi:cli/stdout@0.2.3", "get-stdout"));
  EXPECT_TRUE(WasiPreview2::Serves("wasi:filesystem/preopens@0.2.0", "get-directories"));
  EXPECT_FALSE(WasiPreview2::Serves("wasi:http/outgoing-handler@0.2.0", "handle"));
  EXPECT_FALSE(WasiPreview2::Serves("wasi:sockets/tcp@0.2.0", "[method]tcp-socket.start-connect"));
  EXPECT_FALSE(WasiPreview2::Serves("wasi:random/random@0.2.0", "get-random-u128"));
  EXPECT_FALSE(WasiPreview2::Serves("wasi:random/random@0.3.0", "get-random-u64"));
}

TEST_F(WasiPreview2Test, StdoutBecomesLinesAndEveryCallIsRecorded) {
  Result<std::vector<Value>> out =
      Call(Import("wasi:cli/stdout@0.2.3", "get-stdout", {}, Type::Own("output-stream")), {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Value stream = Value::Borrow((*out)[0].handle());
  ComponentImport write =
      Import("wasi:io/streams@0.2.3", "[method]output-stream.blocking-write-and-flush",
             {Type::Borrow("output-stream"), Type::List(Type::Primitive(TypeKind::kU8))},
             StreamResult(nullptr));
  auto bytes = [](std::string_view text) {
    return Value::Bytes(std::vector<uint8_t>(text.begin(), text.end()));
  };
  ASSERT_TRUE(Call(write, {stream, bytes("one\ntw")}).ok());
  ASSERT_TRUE(Call(write, {stream, bytes("o\nthree")}).ok());
  EXPECT_EQ(lines_, (std::vector<std::string>{"one", "two"}));  // "three" waits for its newline
  ASSERT_EQ(recorded_.size(), 3u);
  EXPECT_EQ(recorded_[0].call, "wasi:cli/stdout@0.2.3#get-stdout");
  EXPECT_EQ(recorded_[2].params[1], bytes("o\nthree"));
  EXPECT_EQ(recorded_[2].results[0], Value::Ok());

  // stdin is closed.
  Result<std::vector<Value>> in =
      Call(Import("wasi:cli/stdin@0.2.3", "get-stdin", {}, Type::Own("input-stream")), {});
  ASSERT_TRUE(in.ok());
  Result<std::vector<Value>> read =
      Call(Import("wasi:io/streams@0.2.3", "[method]input-stream.blocking-read",
                  {Type::Borrow("input-stream"), Type::Primitive(TypeKind::kU64)},
                  StreamResult(Type::List(Type::Primitive(TypeKind::kU8)))),
           {Value::Borrow((*in)[0].handle()), Value::U64(10)});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)[0], Value::Err(Value::Variant(1)));
  EXPECT_EQ(wasi_.live_objects(), 2u);
  wasi_.DropResource((*in)[0].handle());
  EXPECT_EQ(wasi_.live_objects(), 1u);
}

TEST_F(WasiPreview2Test, AGuestCannotAskForUnboundedBytesOrEscapeItsSandbox) {
  Result<std::vector<Value>> random =
      Call(Import("wasi:random/random@0.2.3", "get-random-bytes", {Type::Primitive(TypeKind::kU64)},
                  Type::List(Type::Primitive(TypeKind::kU8))),
           {Value::U64(uint64_t{1} << 40)});
  ASSERT_FALSE(random.ok());
  EXPECT_EQ(random.status().code(), StatusCode::kResourceExhausted);

  Result<std::vector<Value>> sixteen =
      Call(Import("wasi:random/random@0.2.3", "get-random-bytes", {Type::Primitive(TypeKind::kU64)},
                  Type::List(Type::Primitive(TypeKind::kU8))),
           {Value::U64(16)});
  ASSERT_TRUE(sixteen.ok());
  EXPECT_EQ((*sixteen)[0].as_bytes(), std::vector<uint8_t>(16, 0xab));

  Result<std::vector<Value>> dirs = Call(
      Import(
          "wasi:filesystem/preopens@0.2.3", "get-directories", {},
          Type::List(Type::Tuple({Type::Own("descriptor"), Type::Primitive(TypeKind::kString)}))),
      {});
  ASSERT_TRUE(dirs.ok());
  EXPECT_TRUE((*dirs)[0].items().empty());

  Result<std::vector<Value>> env =
      Call(Import("wasi:cli/environment@0.2.3", "get-environment", {},
                  Type::List(Type::Tuple(
                      {Type::Primitive(TypeKind::kString), Type::Primitive(TypeKind::kString)}))),
           {});
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE((*env)[0].items().empty());

  Result<std::vector<Value>> exit =
      Call(Import("wasi:cli/exit@0.2.3", "exit", {Type::Result(nullptr, nullptr)}, nullptr),
           {Value::Err()});
  ASSERT_FALSE(exit.ok());
  EXPECT_NE(exit.status().message().find("actor called exit"), std::string::npos);
}

}  // namespace
}  // namespace theater::handlers
