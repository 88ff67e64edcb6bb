// The agent example's guest-side code that needs no host, compiled natively: the bounded JSON
// reader and writer (json.h), the chat-completions protocol (chat_completions.h) and the state
// document (agent_state.h). The actors themselves are tested in agent_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent_state.h"
#include "chat_completions.h"
#include "json.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ParseError(std::string_view text, const agent_json::Limits& limits = {}) {
  std::string error;
  std::optional<agent_json::Document> doc = agent_json::Document::Parse(text, &error, limits);
  return doc ? "ok" : error;
}

TEST(AgentJsonTest, ReadsValuesEscapesAndRawSpans) {
  std::string error;
  auto doc = agent_json::Document::Parse(
      R"( {"a": [1, -2.5e3, true, null], "s": "x\"\\\n\u00e9\ud83d\ude00", "o": {"k": {}}} )",
      &error);
  ASSERT_TRUE(doc) << error;
  agent_json::Value root = doc->root();
  EXPECT_EQ(root["a"].size(), 4u);
  EXPECT_EQ(root["a"].at(0).integer(), 1);
  EXPECT_FALSE(root["a"].at(1).integer());  // not an integer
  EXPECT_EQ(root["a"].at(1).raw(), "-2.5e3");
  EXPECT_TRUE(root["a"].at(2).boolean());
  EXPECT_TRUE(root["a"].at(3).is_null());
  EXPECT_FALSE(root["a"].at(4).valid());
  EXPECT_EQ(root["s"].str(), "x\"\\\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(root["o"].raw(), R"({"k": {}})");
  EXPECT_TRUE(root["o"]["k"].is_object());
  EXPECT_FALSE(root["missing"]["deeper"].valid());
}

TEST(AgentJsonTest, RefusesMalformedInputNamingWhere) {
  EXPECT_THAT(ParseError(""), HasSubstr("unexpected end"));
  EXPECT_THAT(ParseError("{\"a\" 1}"), HasSubstr("expected ':' at byte 5"));
  EXPECT_THAT(ParseError("[1 2]"), HasSubstr("expected ',' or ']' at byte 3"));
  EXPECT_THAT(ParseError("[1,]"), HasSubstr("unexpected character at byte 3"));
  EXPECT_THAT(ParseError("01"), HasSubstr("unexpected text after the document"));
  EXPECT_THAT(ParseError("\"a\nb\""), HasSubstr("unescaped control character"));
  EXPECT_THAT(ParseError("\"\\ud800\""), HasSubstr("unpaired surrogate"));
  EXPECT_THAT(ParseError("\"\xc0\xaf\""), HasSubstr("invalid UTF-8"));  // overlong '/'
  EXPECT_THAT(ParseError("\"abc"), HasSubstr("unterminated string"));
  EXPECT_THAT(ParseError("{} {}"), HasSubstr("unexpected text"));
  EXPECT_THAT(ParseError("tru"), HasSubstr("unexpected character"));
}

// Hostile shapes end in a named error, never in deep recursion or unbounded memory: a million
// open brackets are refused at the depth limit, and sizes and value counts have limits too.
TEST(AgentJsonTest, LimitsBoundDepthSizeAndValues) {
  EXPECT_THAT(ParseError(std::string(1000000, '[')), HasSubstr("nested deeper than 32 levels"));
  EXPECT_EQ(ParseError(std::string(32, '[') + std::string(32, ']')), "ok");
  EXPECT_THAT(ParseError("[" + std::string(100, ' ') + "]", {.max_bytes = 50}),
              HasSubstr("more than the limit of 50"));
  EXPECT_THAT(ParseError("[1,2,3,4]", {.max_values = 4}), HasSubstr("more than 4 values"));
}

TEST(AgentJsonTest, WriterEscapesAndReplacesInvalidUtf8) {
  agent_json::Writer w;
  w.BeginObject().Member("a", "q\"\\\n\t\x01").Key("b").BeginArray().Int(-3).Bool(false).Null();
  w.Raw("{\"r\":1}").EndArray().Member("bin", "ok\xff\xc3").EndObject();
  EXPECT_EQ(w.str(),
            "{\"a\":\"q\\\"\\\\\\n\\t\\u0001\",\"b\":[-3,false,null,{\"r\":1}],"
            "\"bin\":\"ok\xef\xbf\xbd\xef\xbf\xbd\"}");
  std::string error;
  EXPECT_TRUE(agent_json::Document::Parse(w.str(), &error)) << error;
}

TEST(ChatCompletionsTest, RequestBodyCarriesModelMessagesAndTools) {
  const chat_completions::ToolSpec tools[] = {{"read_file", "Reads.", "path", "A path."}};
  std::vector<std::string> messages = {chat_completions::UserMessage("hi")};
  std::string body = chat_completions::RequestBody("m1", messages, tools);
  EXPECT_EQ(body,
            R"({"model":"m1","messages":[{"role":"user","content":"hi"}],"tools":[{"type":)"
            R"("function","function":{"name":"read_file","description":"Reads.","parameters":)"
            R"({"type":"object","properties":{"path":{"type":"string","description":"A path."}},)"
            R"("required":["path"]}}}]})");
}

TEST(ChatCompletionsTest, ParsesTextAndToolCalls) {
  std::string error;
  auto text = chat_completions::ParseReply(
      R"({"choices":[{"message":{"role":"assistant","content":"hello"}}]})", &error);
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(text->content, "hello");
  EXPECT_TRUE(text->tool_calls.empty());

  auto calls = chat_completions::ParseReply(
      R"({"choices":[{"message":{"content":null,"refusal":null,"tool_calls":[)"
      R"({"id":"c1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}},)"
      R"({"id":"c2","type":"function","function":{"name":"fetch_url","arguments":{"url":"u"}}}]}}]})",
      &error);
  ASSERT_TRUE(calls) << error;
  EXPECT_FALSE(calls->content);
  ASSERT_EQ(calls->tool_calls.size(), 2u);
  EXPECT_EQ(calls->tool_calls[0].arguments, R"({"path":"a"})");
  EXPECT_EQ(calls->tool_calls[1].arguments, R"({"url":"u"})");
  // What goes back into the conversation holds the protocol's fields only.
  EXPECT_EQ(
      chat_completions::AssistantMessage(*calls),
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
      R"("function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}},{"id":"c2",)"
      R"("type":"function","function":{"name":"fetch_url","arguments":"{\"url\":\"u\"}"}}]})");
}

TEST(ChatCompletionsTest, RefusesMalformedRepliesNamingTheField) {
  const auto error_of = [](std::string_view body) {
    std::string error;
    return chat_completions::ParseReply(body, &error) ? "ok" : error;
  };
  EXPECT_THAT(error_of("<html>"), StartsWith("the model's response is not valid JSON"));
  EXPECT_THAT(error_of(R"({"error":{"message":"quota exceeded"}})"),
              "the model endpoint answered with an error: quota exceeded");
  EXPECT_THAT(error_of(R"({"choices":[]})"), HasSubstr("no choices[0].message"));
  EXPECT_THAT(error_of(R"({"choices":[{"message":{"content":5}}]})"),
              HasSubstr("neither a string nor null"));
  EXPECT_THAT(error_of(R"({"choices":[{"message":{"content":null}}]})"),
              HasSubstr("neither content nor tool calls"));
  EXPECT_THAT(error_of(R"({"choices":[{"message":{"tool_calls":[{"id":"","function":{}}]}}]})"),
              HasSubstr("tool_calls[0].id"));
  EXPECT_THAT(error_of(R"({"choices":[{"message":{"tool_calls":[{"id":"x","function":)"
                       R"({"name":"f","arguments":7}}]}}]})"),
              HasSubstr("tool_calls[0].function.arguments"));
  std::string many = R"({"choices":[{"message":{"tool_calls":[)";
  for (int i = 0; i < 17; ++i) {
    many += std::string(i ? "," : "") + R"({"id":"x","function":{"name":"f","arguments":"{}"}})";
  }
  EXPECT_THAT(error_of(many + "]}}]}"), HasSubstr("17 tool calls at once, more than the limit"));
  EXPECT_EQ(chat_completions::ErrorMessage(R"({"error":{"message":"bad key"}})"), "bad key");
}

TEST(AgentStateTest, RoundTripsAndNamesBadFields) {
  std::string error;
  auto state = agent_state::Load(
      R"({"model":"m","tools":{"read_file":{"manifest":"/t.toml","root":"/d"}},)"
      R"("prompt":"p","children":{"read_file":"id1"},"messages":[{"role":"user","content":"x"}]})",
      &error);
  ASSERT_TRUE(state) << error;
  EXPECT_EQ(state->prompt, "p");
  ASSERT_EQ(state->tools.size(), 1u);
  EXPECT_EQ(state->tools[0].config, R"({"manifest":"/t.toml","root":"/d"})");
  EXPECT_EQ(*state->ChildOf("read_file"), "id1");
  EXPECT_EQ(agent_state::Save(*state),
            R"({"model":"m","max_tool_rounds":8,"tools":{"read_file":{"manifest":"/t.toml",)"
            R"("root":"/d"}},"children":{"read_file":"id1"},"messages":[{"role":"user",)"
            R"("content":"x"}]})");
  EXPECT_TRUE(agent_state::Load("", &error));  // a fresh agent
  EXPECT_FALSE(agent_state::Load("[1]", &error));
  EXPECT_EQ(error, "the state is not a JSON object");
  EXPECT_FALSE(agent_state::Load(R"({"model": 3})", &error));
  EXPECT_EQ(error, "state field 'model' must be a string");
  EXPECT_FALSE(agent_state::Load(R"({"max_tool_rounds": 0})", &error));
  EXPECT_THAT(error, HasSubstr("'max_tool_rounds' must be an integer from 1 to 64"));
  EXPECT_FALSE(agent_state::Load(R"({"tools": {"read_file": {}}})", &error));
  EXPECT_THAT(error, HasSubstr("'tools.read_file' must be an object with a non-empty string"));
  EXPECT_FALSE(agent_state::Load(R"({"messages": [1]})", &error));
  EXPECT_THAT(error, HasSubstr("objects with a string 'role'"));
}

}  // namespace
