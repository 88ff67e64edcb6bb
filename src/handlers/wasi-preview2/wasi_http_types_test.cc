// Theater: a WebAssembly actor runtime.
//
// wasi:http/types on its own (wasi_http_types.cc): an adopted exchange read through its
// incoming-request, body and input stream; a response built with fields, an outgoing body and
// its output stream, handed over by response-outparam.set; the errors a guest gets for headers
// it may not set; and the resources a forgotten exchange leaves (none).
// wasi_http_runtime_test.cc runs a real component behind the wasi-http handler.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "handlers/wasi-preview2/wasi_preview2.h"

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypePtr;
using abi::Value;

constexpr const char* kTypes = "wasi:http/types@0.2.0";
constexpr const char* kStreams = "wasi:io/streams@0.2.0";

ComponentImport Import(std::string interface_name, std::string function,
                       std::vector<TypePtr> params, TypePtr result) {
  ComponentImport import;
  import.interface_name = std::move(interface_name);
  import.function = std::move(function);
  for (size_t i = 0; i < params.size(); ++i) {
    import.type.params.push_back({"p" + std::to_string(i), std::move(params[i])});
  }
  import.type.result = std::move(result);
  return import;
}

TypePtr Variant(std::string name, std::vector<std::string> cases, size_t with_string = ~size_t{0}) {
  std::vector<abi::Case> list;
  for (size_t i = 0; i < cases.size(); ++i) {
    list.push_back(
        {cases[i], i == with_string ? Type::Primitive(abi::TypeKind::kString) : nullptr});
  }
  return Type::Variant(std::move(name), std::move(list));
}

TypePtr Method() {
  return Variant(
      "method",
      {"get", "head", "post", "put", "delete", "connect", "options", "trace", "patch", "other"}, 9);
}
TypePtr Scheme() {
  return Variant("scheme", {"HTTP", "HTTPS", "other"}, 2);
}
TypePtr HeaderError() {
  return Variant("header-error", {"invalid-syntax", "forbidden", "immutable"});
}
TypePtr ErrorCode() {
  return Type::Variant("error-code",
                       {{"DNS-timeout", nullptr},
                        {"internal-error", Type::Option(Type::Primitive(abi::TypeKind::kString))}});
}
TypePtr StreamResult(TypePtr ok) {
  return Type::Result(std::move(ok),
                      Type::Variant("stream-error", {{"last-operation-failed", Type::Own("error")},
                                                     {"closed", nullptr}}));
}
TypePtr Bytes() {
  return Type::List(Type::Primitive(abi::TypeKind::kU8));
}
TypePtr Str() {
  return Type::Primitive(abi::TypeKind::kString);
}
Value Text(std::string_view s) {
  return Value::Bytes(std::vector<uint8_t>(s.begin(), s.end()));
}
std::string AsText(const Value& bytes) {
  return std::string(bytes.as_bytes().begin(), bytes.as_bytes().end());
}

class WasiHttpTypesTest : public ::testing::Test {
 protected:
  static WasiPreview2::Options HttpOptions() {
    WasiPreview2::Options options;
    options.http = true;
    return options;
  }
  WasiHttpTypesTest() : wasi_(HttpOptions()) {}

  Result<std::vector<Value>> Call(const ComponentImport& import, std::vector<Value> params) {
    Result<ComponentHostFunction> fn = wasi_.Resolve(import);
    if (!fn.ok()) return fn.status();
    return (*fn)(import, params);
  }
  // The single result of a call that must succeed.
  Value One(const ComponentImport& import, std::vector<Value> params) {
    Result<std::vector<Value>> r = Call(import, std::move(params));
    EXPECT_TRUE(r.ok()) << import.function << ": " << r.status().ToString();
    if (!r.ok() || r->size() != 1) return Value::None();
    return (*r)[0];
  }

  WasiPreview2 wasi_;
};

TEST_F(WasiHttpTypesTest, AnAdoptedRequestIsReadThroughItsResourcesAndItsBodyStream) {
  auto exchange = std::make_shared<HttpExchange>();
  exchange->method = "PROPFIND";
  exchange->scheme = "http";
  exchange->authority = "example.test:8080";
  exchange->path_with_query = "/a/b?c=d";
  exchange->headers->emplace_back("Accept", std::vector<uint8_t>{'*', '/', '*'});
  const std::string body = "hello world";
  exchange->body.assign(body.begin(), body.end());
  const auto [request, outparam] = wasi_.AdoptIncoming(exchange);
  EXPECT_NE(request, outparam);
  const Value req = Value::Borrow(request);

  Value method = One(Import(kTypes, "[method]incoming-request.method", {}, Method()), {req});
  EXPECT_EQ(method.case_index(), 9u) << "an unknown method is other(name)";
  ASSERT_NE(method.payload(), nullptr);
  EXPECT_EQ(method.payload()->as_string(), "PROPFIND");
  exchange->method = "PATCH";
  EXPECT_EQ(
      One(Import(kTypes, "[method]incoming-request.method", {}, Method()), {req}).case_index(), 8u);
  EXPECT_EQ(One(Import(kTypes, "[method]incoming-request.path-with-query", {}, nullptr), {req})
                .payload()
                ->as_string(),
            "/a/b?c=d");
  EXPECT_EQ(One(Import(kTypes, "[method]incoming-request.authority", {}, nullptr), {req})
                .payload()
                ->as_string(),
            "example.test:8080");
  EXPECT_EQ(
      One(Import(kTypes, "[method]incoming-request.scheme", {}, Type::Option(Scheme())), {req})
          .payload()
          ->case_index(),
      0u);

  // Its headers are a view that cannot be changed.
  const Value headers = One(Import(kTypes, "[method]incoming-request.headers", {}, nullptr), {req});
  Value entries =
      One(Import(kTypes, "[method]fields.entries", {}, nullptr), {Value::Borrow(headers.handle())});
  ASSERT_EQ(entries.items().size(), 1u);
  EXPECT_EQ(entries.items()[0].items()[0].as_string(), "Accept");
  Value got = One(Import(kTypes, "[method]fields.get", {}, nullptr),
                  {Value::Borrow(headers.handle()), Value::String("accept")});
  ASSERT_EQ(got.items().size(), 1u) << "names match without case";
  EXPECT_EQ(AsText(got.items()[0]), "*/*");
  Value set = One(Import(kTypes, "[method]fields.set", {}, Type::Result(nullptr, HeaderError())),
                  {Value::Borrow(headers.handle()), Value::String("x"), Value::List({Text("1")})});
  EXPECT_TRUE(set.is_err());
  EXPECT_EQ(set.payload()->case_index(), 2u) << "immutable";

  // The body, once, and its stream to the end.
  Value consumed = One(Import(kTypes, "[method]incoming-request.consume", {}, nullptr), {req});
  ASSERT_TRUE(consumed.is_ok());
  EXPECT_TRUE(One(Import(kTypes, "[method]incoming-request.consume", {}, nullptr), {req}).is_err());
  const uint32_t body_rep = consumed.payload()->handle();
  Value stream =
      One(Import(kTypes, "[method]incoming-body.stream", {}, nullptr), {Value::Borrow(body_rep)});
  ASSERT_TRUE(stream.is_ok());
  const Value read_stream = Value::Borrow(stream.payload()->handle());
  const ComponentImport read =
      Import(kStreams, "[method]input-stream.read", {}, StreamResult(Bytes()));
  Value first = One(read, {read_stream, Value::U64(5)});
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(AsText(*first.payload()), "hello");
  Value rest = One(read, {read_stream, Value::U64(100)});
  EXPECT_EQ(AsText(*rest.payload()), " world");
  Value end = One(read, {read_stream, Value::U64(100)});
  ASSERT_TRUE(end.is_err());
  EXPECT_EQ(end.payload()->case_index(), 1u) << "closed";

  Value trailers =
      One(Import(kTypes, "[static]incoming-body.finish", {}, nullptr), {Value::Own(body_rep)});
  Value trailers_got = One(Import(kTypes, "[method]future-trailers.get", {}, nullptr),
                           {Value::Borrow(trailers.handle())});
  ASSERT_TRUE(trailers_got.is_some());
  EXPECT_TRUE(trailers_got.payload()->is_ok());
}

TEST_F(WasiHttpTypesTest, AResponseIsBuiltAndItsBodyStillArrivesAfterTheOutparamIsSet) {
  auto exchange = std::make_shared<HttpExchange>();
  const auto [request, outparam] = wasi_.AdoptIncoming(exchange);
  const ComponentImport from_list =
      Import(kTypes, "[static]fields.from-list", {}, Type::Result(nullptr, HeaderError()));
  auto entry = [](std::string name, std::string value) {
    return Value::Tuple({Value::String(std::move(name)), Text(value)});
  };
  Value forbidden = One(from_list, {Value::List({entry("Connection", "close")})});
  ASSERT_TRUE(forbidden.is_err());
  EXPECT_EQ(forbidden.payload()->case_index(), 1u) << "forbidden";
  Value bad_name = One(from_list, {Value::List({entry("a b", "1")})});
  EXPECT_EQ(bad_name.payload()->case_index(), 0u) << "invalid-syntax";
  Value bad_value = One(from_list, {Value::List({entry("x", "a\r\nb: c")})});
  EXPECT_EQ(bad_value.payload()->case_index(), 0u) << "invalid-syntax";
  Value fields = One(from_list, {Value::List({entry("content-type", "text/plain")})});
  ASSERT_TRUE(fields.is_ok());

  const uint32_t response =
      One(Import(kTypes, "[constructor]outgoing-response", {}, nullptr), {*fields.payload()})
          .handle();
  const Value resp = Value::Borrow(response);
  const ComponentImport set_status =
      Import(kTypes, "[method]outgoing-response.set-status-code", {}, nullptr);
  EXPECT_TRUE(One(set_status, {resp, Value::U16(999)}).is_err());
  EXPECT_TRUE(One(set_status, {resp, Value::U16(202)}).is_ok());
  // Its headers are a view that cannot be changed (they were given to the constructor).
  const Value view = One(Import(kTypes, "[method]outgoing-response.headers", {}, nullptr), {resp});
  Value appended =
      One(Import(kTypes, "[method]fields.append", {}, Type::Result(nullptr, HeaderError())),
          {Value::Borrow(view.handle()), Value::String("x-a"), Text("1")});
  ASSERT_TRUE(appended.is_err());
  EXPECT_EQ(appended.payload()->case_index(), 2u) << "immutable";
  EXPECT_EQ(
      One(Import(kTypes, "[method]fields.entries", {}, nullptr), {Value::Borrow(view.handle())})
          .items()
          .size(),
      1u);

  Value body = One(Import(kTypes, "[method]outgoing-response.body", {}, nullptr), {resp});
  ASSERT_TRUE(body.is_ok());
  EXPECT_TRUE(One(Import(kTypes, "[method]outgoing-response.body", {}, nullptr), {resp}).is_err());
  const uint32_t body_rep = body.payload()->handle();
  Value stream =
      One(Import(kTypes, "[method]outgoing-body.write", {}, nullptr), {Value::Borrow(body_rep)});
  ASSERT_TRUE(stream.is_ok());
  const ComponentImport write =
      Import(kStreams, "[method]output-stream.blocking-write-and-flush", {}, StreamResult(nullptr));
  const Value out = Value::Borrow(stream.payload()->handle());
  EXPECT_TRUE(One(write, {out, Text("abc")}).is_ok());

  ASSERT_TRUE(Call(Import(kTypes, "[static]response-outparam.set", {}, nullptr),
                   {Value::Own(outparam), Value::Ok(Value::Own(response))})
                  .ok());
  EXPECT_TRUE(exchange->responded);
  EXPECT_TRUE(One(write, {out, Text("def")}).is_ok());
  EXPECT_TRUE(One(Import(kTypes, "[static]outgoing-body.finish", {}, nullptr),
                  {Value::Own(body_rep), Value::None()})
                  .is_ok());
  EXPECT_TRUE(One(write, {out, Text("ghi")}).is_err()) << "nothing is written after finish";

  ASSERT_NE(exchange->response, nullptr);
  EXPECT_EQ(exchange->response->status, 202);
  EXPECT_EQ(std::string(exchange->response->body.begin(), exchange->response->body.end()),
            "abcdef");
  EXPECT_TRUE(exchange->response->body_finished);
  ASSERT_EQ(exchange->response->headers->size(), 1u);
  EXPECT_EQ((*exchange->response->headers)[0].first, "content-type");
  // A second answer is the guest's error.
  EXPECT_FALSE(Call(Import(kTypes, "[static]response-outparam.set", {}, nullptr),
                    {Value::Own(outparam), Value::Err(Value::Variant(0))})
                   .ok());
  wasi_.DropResource(request);
}

TEST_F(WasiHttpTypesTest, AnErrorCodeGivenInsteadOfAResponseIsNamed) {
  auto exchange = std::make_shared<HttpExchange>();
  const auto [request, outparam] = wasi_.AdoptIncoming(exchange);
  ComponentImport set =
      Import(kTypes, "[static]response-outparam.set",
             {Type::Own("response-outparam"), Type::Result(Type::Own("r"), ErrorCode())}, nullptr);
  ASSERT_TRUE(Call(set, {Value::Own(outparam),
                         Value::Err(Value::Variant(1, Value::Some(Value::String("boom"))))})
                  .ok());
  EXPECT_TRUE(exchange->responded);
  ASSERT_TRUE(exchange->error.has_value());
  EXPECT_NE(exchange->error->find("internal-error"), std::string::npos) << *exchange->error;
  EXPECT_NE(exchange->error->find("boom"), std::string::npos) << *exchange->error;
  wasi_.DropResource(request);
  EXPECT_EQ(wasi_.live_objects(), 0u);
}

// An outgoing request as the component builds it reaches Options::send_request whole (here a
// stand-in for the network: wasi_http_runtime_test sends real ones), and its response comes back
// through a ready future; failures become the component's own error-code cases.
TEST_F(WasiHttpTypesTest, AnOutgoingRequestIsSentWholeAndItsResponseReadBack) {
  HttpOutgoingMessage sent;
  std::variant<HttpIncomingResponse, HttpRequestFailure> answer =
      HttpIncomingResponse{203, {{"x-r", {'1'}}}, {'o', 'k'}};
  WasiPreview2::Options options;
  options.http = true;
  options.send_request = [&](const HttpOutgoingMessage& request) {
    sent = request;
    return answer;
  };
  WasiPreview2 wasi(std::move(options));
  auto call = [&](const ComponentImport& import, std::vector<Value> params) {
    Result<ComponentHostFunction> fn = wasi.Resolve(import);
    EXPECT_TRUE(fn.ok()) << fn.status().ToString();
    Result<std::vector<Value>> r = (*fn)(import, params);
    EXPECT_TRUE(r.ok()) << import.function << ": " << r.status().ToString();
    return r.ok() && !r->empty() ? (*r)[0] : Value::None();
  };
  auto build = [&] {
    const Value headers = call(Import(kTypes, "[constructor]fields", {}, nullptr), {});
    const uint32_t request =
        call(Import(kTypes, "[constructor]outgoing-request", {}, nullptr), {headers}).handle();
    const Value req = Value::Borrow(request);
    EXPECT_TRUE(
        call(Import(kTypes, "[method]outgoing-request.set-method", {nullptr, Method()}, nullptr),
             {req, Value::Variant(2)})
            .is_ok());
    EXPECT_TRUE(call(Import(kTypes, "[method]outgoing-request.set-scheme",
                            {nullptr, Type::Option(Scheme())}, nullptr),
                     {req, Value::Some(Value::Variant(0))})
                    .is_ok());
    EXPECT_TRUE(call(Import(kTypes, "[method]outgoing-request.set-authority", {}, nullptr),
                     {req, Value::Some(Value::String("127.0.0.1:1"))})
                    .is_ok());
    EXPECT_TRUE(call(Import(kTypes, "[method]outgoing-request.set-authority", {}, nullptr),
                     {req, Value::Some(Value::String("a/b"))})
                    .is_err());
    EXPECT_TRUE(call(Import(kTypes, "[method]outgoing-request.set-path-with-query", {}, nullptr),
                     {req, Value::Some(Value::String("/p?q=1"))})
                    .is_ok());
    const Value body = call(Import(kTypes, "[method]outgoing-request.body", {}, nullptr), {req});
    const Value out = call(Import(kTypes, "[method]outgoing-body.write", {}, nullptr),
                           {Value::Borrow(body.payload()->handle())});
    EXPECT_TRUE(call(Import(kStreams, "[method]output-stream.blocking-write-and-flush", {},
                            StreamResult(nullptr)),
                     {Value::Borrow(out.payload()->handle()), Text("xyz")})
                    .is_ok());
    return request;
  };
  const ComponentImport handle =
      Import("wasi:http/outgoing-handler@0.2.0", "handle", {},
             Type::Result(Type::Own("future-incoming-response"), ErrorCode()));
  const ComponentImport get =
      Import(kTypes, "[method]future-incoming-response.get", {},
             Type::Option(
                 Type::Result(Type::Result(Type::Own("incoming-response"), ErrorCode()), nullptr)));

  Value future = call(handle, {Value::Own(build()), Value::None()});
  ASSERT_TRUE(future.is_ok());
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.scheme, "http");
  EXPECT_EQ(sent.authority, "127.0.0.1:1");
  EXPECT_EQ(sent.path_with_query, "/p?q=1");
  EXPECT_EQ(std::string(sent.body.begin(), sent.body.end()), "xyz");
  Value got = call(get, {Value::Borrow(future.payload()->handle())});
  ASSERT_TRUE(got.is_some() && got.payload()->is_ok() && got.payload()->payload()->is_ok());
  const Value response = Value::Borrow(got.payload()->payload()->payload()->handle());
  EXPECT_EQ(
      call(Import(kTypes, "[method]incoming-response.status", {}, nullptr), {response}).as_u64(),
      203u);
  const Value consumed =
      call(Import(kTypes, "[method]incoming-response.consume", {}, nullptr), {response});
  const Value stream = call(Import(kTypes, "[method]incoming-body.stream", {}, nullptr),
                            {Value::Borrow(consumed.payload()->handle())});
  Value read = call(Import(kStreams, "[method]input-stream.read", {}, StreamResult(Bytes())),
                    {Value::Borrow(stream.payload()->handle()), Value::U64(10)});
  EXPECT_EQ(AsText(*read.payload()), "ok");

  // A request that left and failed: the future's error, in the component's numbering.
  answer = HttpRequestFailure{"internal-error", "reset"};
  Value failed = call(handle, {Value::Own(build()), Value::None()});
  Value failure = call(get, {Value::Borrow(failed.payload()->handle())});
  ASSERT_TRUE(failure.payload()->payload()->is_err());
  EXPECT_EQ(failure.payload()->payload()->payload()->case_index(), 1u);
  // One the permission refused never left: handle's own error.
  answer = HttpRequestFailure{"HTTP-request-denied", "host not allowed"};
  Value denied = call(handle, {Value::Own(build()), Value::None()});
  ASSERT_TRUE(denied.is_err());
  EXPECT_EQ(denied.payload()->case_index(), 1u) << "not a case of this error-code: internal-error";
}

TEST_F(WasiHttpTypesTest, AForgottenExchangeLeavesNothingAndHttpIsServedOnlyWhenAsked) {
  const auto reps = wasi_.AdoptIncoming(std::make_shared<HttpExchange>());
  wasi_.ForgetIncoming(reps);
  EXPECT_FALSE(Call(Import(kTypes, "[method]incoming-request.consume", {}, nullptr),
                    {Value::Borrow(reps.first)})
                   .ok());
  EXPECT_EQ(wasi_.live_objects(), 0u);

  EXPECT_TRUE(WasiPreview2::Serves(kTypes, "[method]fields.get", /*http=*/true));
  EXPECT_FALSE(WasiPreview2::Serves(kTypes, "[method]fields.get"));
  WasiPreview2 plain{WasiPreview2::Options{}};
  Result<ComponentHostFunction> refused =
      plain.Resolve(Import(kTypes, "[constructor]fields", {}, nullptr));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("wasi-http"), std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace theater::handlers
