// Theater: a WebAssembly actor runtime.
#include "common/json_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

namespace theater {
namespace {

using nlohmann::json;

TEST(JsonWriterTest, PlacesCommasAndColonsInNestedObjectsAndArrays) {
  std::string out;
  JsonWriter w(out);
  w.BeginVariant("ActorEvents")
      .BeginObject()
      .Member("id", "a1")
      .Key("events")
      .BeginArray()
      .Uint(1)
      .Int(-2)
      .Bool(true)
      .Null()
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .EndArray()
      .Member("more", false)
      .Key("raw")
      .Raw(R"({"x":[1,2]})")
      .Key("tree")
      .Value(json{{"k", "v"}})
      .EndObject()
      .EndObject();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(out, R"({"ActorEvents":{"id":"a1","events":[1,-2,true,null,{},[]],"more":false,)"
                 R"("raw":{"x":[1,2]},"tree":{"k":"v"}}})");
  EXPECT_EQ(json::parse(out)["ActorEvents"]["events"].size(), 6u);
}

TEST(JsonWriterTest, AnIncompleteDocumentSaysSo) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().BeginObject();
  EXPECT_FALSE(w.complete());
  w.EndObject();
  EXPECT_FALSE(w.complete());
  w.EndArray();
  EXPECT_TRUE(w.complete());
}

TEST(JsonWriterTest, EscapesWhatJsonRequiresAndKeepsValidUtf8) {
  std::string out;
  AppendJsonString(std::string("q\" b\\ n\n t\t r\r f\f b\b nul") + '\0' + " \x1f del\x7f é 😀",
                   out);
  EXPECT_EQ(out, "\"q\\\" b\\\\ n\\n t\\t r\\r f\\f b\\b nul\\u0000 \\u001f del\x7f é 😀\"");
  EXPECT_EQ(json::parse(out).get<std::string>(),
            std::string("q\" b\\ n\n t\t r\r f\f b\b nul") + '\0' + " \x1f del\x7f é 😀");
}

TEST(JsonWriterTest, InvalidUtf8BecomesTheReplacementCharacterAndTheTextStaysJson) {
  // A lone continuation byte, a truncated sequence, an overlong form and a surrogate.
  const std::string bad =
      "a\x80"
      "b\xE2\x82"
      "c\xC0\xAF"
      "d\xED\xA0\x80"
      "e";
  std::string out;
  JsonWriter(out).String(bad);
  const std::string parsed = json::parse(out).get<std::string>();
  EXPECT_EQ(parsed.front(), 'a');
  EXPECT_EQ(parsed.back(), 'e');
  EXPECT_NE(parsed.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(parsed.find('\x80'), std::string::npos);
  // A tree with the same string is written as JSON too, never an exception.
  EXPECT_NO_THROW(json::parse(JsonText(json{{"s", bad}})));
}

// On valid UTF-8 the writer's strings are exactly what nlohmann writes (one JSON dialect).
TEST(JsonWriterTest, StringsMatchTheTreeDumpForValidText) {
  std::mt19937 random(7);
  const std::string alphabet = std::string("az \"\\/\n\t\x01\x1f\x7f", 12) + "é€😀";
  for (int round = 0; round < 500; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) {
      // Pick whole characters: single bytes, or one of the multi-byte ones at the end.
      const size_t pick = random() % 15;
      if (pick < 12) {
        text.push_back(alphabet[pick]);
      } else {
        text += pick == 12 ? "é" : pick == 13 ? "€" : "😀";
      }
    }
    std::string ours;
    AppendJsonString(text, ours);
    EXPECT_EQ(ours, JsonText(json(text))) << round;
  }
}

}  // namespace
}  // namespace theater
