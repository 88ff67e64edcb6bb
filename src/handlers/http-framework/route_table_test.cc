// Theater: a WebAssembly actor runtime.
//
// The route pattern matcher of the http-framework handler: parsing (including hostile
// patterns), matching (including hostile paths), specificity, 404/405 outcomes, and the
// middleware prefix rule and config parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "handlers/http-framework/http_config.h"
#include "handlers/support/http-server/http_server.h"
#include "handlers/support/http-server/route_table.h"

namespace theater::handlers::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

RoutePattern P(std::string_view text) {
  Result<RoutePattern> p = RoutePattern::Parse(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status().ToString();
  return p.ok() ? *p : RoutePattern();
}

TEST(RoutePatternTest, ParsesLiteralsParamsAndRest) {
  EXPECT_EQ(P("/").Shape(), "/");
  EXPECT_EQ(P("/users/{id}/posts/{post_id}").Shape(), "/users/{}/posts/{}");
  EXPECT_EQ(P("/static/{*rest}").Shape(), "/static/{*}");
  EXPECT_EQ(P("/a/").Shape(), "/a/");
}

TEST(RoutePatternTest, RefusesHostilePatterns) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "must start with '/'"},
      {"users", "must start with '/'"},
      {"/a/{", "must be a literal"},
      {"/a/}", "must be a literal"},
      {"/a/{}", "must be a literal"},
      {"/a/{{x}}", "must be a literal"},
      {"/a/x{id}", "must be a literal"},
      {"/a/{id}x", "must be a literal"},
      {"/a/{*rest}/b", "must be last"},
      {"/a/{*}", "parameter name"},
      {"/a/{b c}", "space"},
      {"/a/{b.c}", "parameter name"},
      {"/a/{id}/{id}", "appears twice"},
      {"/a?x=1", "'?'"},
      {"/a#x", "'#'"},
      {std::string("/a\0b", 4), "control character"},
      {"/a\r\nX: y", "control character"},
      {"/" + std::string(3000, 'a'), "longer than"},
      {"/" + std::string(70, 'x').replace(0, 70, std::string(70, '/')), "segments"},
      {"/{" + std::string(65, 'n') + "}", "parameter name"},
  };
  for (const auto& [pattern, why] : cases) {
    Result<RoutePattern> p = RoutePattern::Parse(pattern);
    ASSERT_FALSE(p.ok()) << pattern;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(), HasSubstr(why)) << pattern.substr(0, 40);
  }
}

TEST(RoutePatternTest, MatchesParamsAndRest) {
  auto m = P("/users/{id}/posts/{post}").Match("/users/42/posts/7");
  ASSERT_TRUE(m);
  EXPECT_THAT(*m, ElementsAre(Pair("id", "42"), Pair("post", "7")));
  EXPECT_FALSE(P("/users/{id}").Match("/users/"));  // a parameter needs a non-empty segment
  EXPECT_FALSE(P("/users/{id}").Match("/users"));
  EXPECT_FALSE(P("/users/{id}").Match("/users/1/2"));
  auto r = P("/static/{*rest}").Match("/static/css/a.css");
  ASSERT_TRUE(r);
  EXPECT_THAT(*r, ElementsAre(Pair("rest", "css/a.css")));
  r = P("/static/{*rest}").Match("/static/");
  ASSERT_TRUE(r);
  EXPECT_THAT(*r, ElementsAre(Pair("rest", "")));
  EXPECT_FALSE(P("/static/{*rest}").Match("/static"));
  EXPECT_FALSE(P("/static/{*rest}").Match("/staticx/a"));
  EXPECT_TRUE(P("/").Match("/"));
  EXPECT_FALSE(P("/").Match("/a"));
  EXPECT_FALSE(P("/a").Match("/a/"));
  EXPECT_TRUE(P("/a/").Match("/a/"));
}

TEST(RoutePatternTest, HostilePathsDoNotEscapeOrCrash) {
  RoutePattern files = P("/files/{name}");
  // Encoded slashes never split a segment; decoding happens after matching.
  auto m = files.Match("/files/a%2Fb");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)[0].second, "a%2Fb");
  EXPECT_EQ(PercentDecode((*m)[0].second), "a/b");
  // No dot-segment normalisation: "/files/../admin" is not "/admin".
  EXPECT_FALSE(P("/admin").Match("/files/../admin"));
  EXPECT_FALSE(files.Match("/files/../../etc/passwd"));
  EXPECT_FALSE(files.Match(""));
  EXPECT_FALSE(files.Match("files/x"));
  EXPECT_FALSE(files.Match("//files/x"));
  EXPECT_TRUE(files.Match(std::string("/files/a\0b", 10)));
  std::string deep = "/files";
  for (int i = 0; i < 100000; ++i) deep += "/x";
  EXPECT_FALSE(files.Match(deep));
  auto rest = P("/{*all}").Match(deep);
  ASSERT_TRUE(rest);
  EXPECT_EQ((*rest)[0].second.size(), deep.size() - 1);
}

TEST(RoutePatternTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%zz%4"), "a b%zz%4");
  EXPECT_EQ(PercentDecode("%"), "%");
  EXPECT_EQ(PercentDecode("%e2%82%AC"), "\xe2\x82\xac");
}

TEST(RoutePatternTest, MethodsAreTokens) {
  EXPECT_EQ(*NormalizeMethod("get"), "GET");
  EXPECT_EQ(*NormalizeMethod("PROPFIND"), "PROPFIND");
  EXPECT_FALSE(NormalizeMethod("").ok());
  EXPECT_FALSE(NormalizeMethod("GE T").ok());
  EXPECT_FALSE(NormalizeMethod("GET\r\n").ok());
  EXPECT_FALSE(NormalizeMethod(std::string(40, 'A')).ok());
}

RouteTable Table() {
  RouteTable t;
  uint64_t id = 1;
  for (auto [pattern, method] :
       std::vector<std::pair<std::string, std::string>>{{"/users/{id}", "GET"},
                                                        {"/users/me", "GET"},
                                                        {"/users/{id}", "DELETE"},
                                                        {"/users/{*rest}", "GET"},
                                                        {"/users/{id}", "POST"}}) {
    Route r;
    r.id = id++;
    r.pattern = P(pattern);
    r.method = method;
    r.handler_id = 100 + r.id;
    EXPECT_TRUE(t.Add(std::move(r)).ok());
  }
  return t;
}

TEST(RouteTableTest, MostSpecificWinsAndMethodsMatter) {
  RouteTable t = Table();
  RouteMatch m = t.Find("GET", "/users/me");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->id, 2u);
  m = t.Find("GET", "/users/7");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->id, 1u);
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "7")));
  // A literal that matches with another method does not hide a parameter route.
  m = t.Find("POST", "/users/me");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->id, 5u);
  m = t.Find("GET", "/users/a/b%20c");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->id, 4u);
  EXPECT_THAT(m.params, ElementsAre(Pair("rest", "a/b c")));
  m = t.Find("PUT", "/users/7");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kMethodNotAllowed);
  EXPECT_THAT(m.allowed, ElementsAre("DELETE", "GET", "POST"));
  EXPECT_EQ(t.Find("GET", "/nothing").outcome, RouteMatch::Outcome::kNotFound);
}

TEST(RouteTableTest, ConflictsAndRemoval) {
  RouteTable t = Table();
  Route dup;
  dup.id = 99;
  dup.pattern = P("/users/{other}");
  dup.method = "GET";
  Status s = t.Add(dup);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("route 1"));
  EXPECT_TRUE(t.Remove(2));
  EXPECT_FALSE(t.Remove(2));
  RouteMatch m = t.Find("GET", "/users/me");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->id, 1u);
  EXPECT_TRUE(t.HasLiteralPath("/users/{id}"));
  EXPECT_FALSE(t.HasLiteralPath("/users"));
}

TEST(MiddlewareTest, AppliesByPathSegment) {
  EXPECT_TRUE(MiddlewareApplies("/", "/anything"));
  EXPECT_TRUE(MiddlewareApplies("/api", "/api"));
  EXPECT_TRUE(MiddlewareApplies("/api", "/api/x"));
  EXPECT_TRUE(MiddlewareApplies("/api/", "/api/x"));
  EXPECT_FALSE(MiddlewareApplies("/api", "/apix"));
  EXPECT_FALSE(MiddlewareApplies("/api", "/"));
}

TEST(HttpFrameworkConfigTest, ParsesStrictly) {
  Result<ServerLimits> l = ParseHttpFrameworkConfig(nlohmann::json::object());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->max_body_bytes, 1u << 20);
  l = ParseHttpFrameworkConfig(nlohmann::json{
      {"request_timeout_ms", 250}, {"max_body_bytes", 10}, {"max_header_bytes", 512}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->request_timeout.count(), 250);
  EXPECT_EQ(l->max_header_bytes, 512u);
  EXPECT_THAT(ParseHttpFrameworkConfig(nlohmann::json{{"max_body", 1}}).status().message(),
              HasSubstr("unknown key 'max_body'"));
  EXPECT_THAT(
      ParseHttpFrameworkConfig(nlohmann::json{{"request_timeout_ms", 0}}).status().message(),
      HasSubstr("at least 1"));
  EXPECT_FALSE(ParseHttpFrameworkConfig(nlohmann::json{{"max_body_bytes", "big"}}).ok());
  EXPECT_FALSE(ParseHttpFrameworkConfig(nlohmann::json{{"max_body_bytes", -1}}).ok());
}

using abi::Value;

Value WsMessage(uint32_t type, std::optional<std::string> data, std::optional<std::string> text) {
  return Value::Record(
      {type == 6 ? Value::Variant(6, Value::String("x")) : Value::Variant(type),
       data ? Value::Some(Value::Bytes({data->begin(), data->end()})) : Value::None(),
       text ? Value::Some(Value::String(*text)) : Value::None()});
}

TEST(WebSocketMessageTest, OutgoingFramesNeedTheirPayload) {
  Result<WsOutgoing> m = WsOutgoingFromValue(WsMessage(0, std::nullopt, "hi"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, WsOutgoing::Kind::kText);
  EXPECT_EQ(m->payload, "hi");
  m = WsOutgoingFromValue(WsMessage(1, std::string("\0\xff", 2), std::nullopt));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, WsOutgoing::Kind::kBinary);
  EXPECT_EQ(m->payload.size(), 2u);
  EXPECT_EQ(WsOutgoingFromValue(WsMessage(3, std::nullopt, std::nullopt))->kind,
            WsOutgoing::Kind::kClose);
  EXPECT_THAT(WsOutgoingFromValue(WsMessage(0, std::nullopt, std::nullopt)).status().message(),
              HasSubstr("needs `text`"));
  EXPECT_FALSE(WsOutgoingFromValue(WsMessage(0, std::string("\xff"), std::nullopt)).ok());
  EXPECT_THAT(WsOutgoingFromValue(WsMessage(1, std::nullopt, std::nullopt)).status().message(),
              HasSubstr("needs `data`"));
  EXPECT_FALSE(WsOutgoingFromValue(WsMessage(2, std::nullopt, "x")).ok());  // connect
  EXPECT_FALSE(WsOutgoingFromValue(WsMessage(6, std::nullopt, "x")).ok());  // other
  EXPECT_FALSE(WsOutgoingFromValue(WsMessage(4, std::string(200, 'p'), std::nullopt)).ok());
  EXPECT_FALSE(WsOutgoingFromValue(Value::U32(1)).ok());
}

TEST(HostTest, OnlyAddressLiterals) {
  EXPECT_TRUE(CheckHost("127.0.0.1").ok());
  EXPECT_TRUE(CheckHost("::1").ok());
  EXPECT_TRUE(CheckHost("localhost").ok());
  EXPECT_FALSE(CheckHost("example.com").ok());
  EXPECT_FALSE(CheckHost("").ok());
  EXPECT_FALSE(CheckHost("127.0.0.1 ").ok());
}

}  // namespace
}  // namespace theater::handlers::http
