#include "runtime/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace theater {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Parses and renders `text` against `state` and returns the error of a render that fails.
Status RenderError(std::string_view text, const json& state) {
  Result<ParsedTemplate> parsed = ParseTemplate(text, "m.toml");
  if (!parsed.ok()) return parsed.status();
  std::vector<std::string> warnings;
  Result<std::string> rendered = RenderTemplate(*parsed, state, "m.toml", &warnings);
  EXPECT_FALSE(rendered.ok()) << "rendered " << *rendered;
  return rendered.ok() ? Status::Ok() : rendered.status();
}

// Parses and renders `text` against `state`, failing the test on a parse error.
std::string Render(std::string_view text, const json& state,
                   std::vector<std::string>* warnings = nullptr) {
  Result<ParsedTemplate> parsed = ParseTemplate(text, "m.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return "<parse error>";
  std::vector<std::string> local;
  Result<std::string> rendered =
      RenderTemplate(*parsed, state, "m.toml", warnings ? warnings : &local);
  EXPECT_TRUE(rendered.ok()) << rendered.status().ToString();
  return rendered.ok() ? *rendered : "<render error>";
}

TEST(TemplateTest, TextWithoutExpressionsIsUnchanged) {
  EXPECT_EQ(Render("name = \"x\"\n{ a = 1 }\n}}", json::object()), "name = \"x\"\n{ a = 1 }\n}}");
}

TEST(TemplateTest, SimpleAndNestedPaths) {
  json state = {{"name", "svc"}, {"db", {{"host", "h1"}, {"port", 5432}}}};
  EXPECT_EQ(Render("n = \"{{name}}\"", state), "n = \"svc\"");
  EXPECT_EQ(Render("h = \"{{ db.host }}\" p = {{db.port}}", state), "h = \"h1\" p = 5432");
}

TEST(TemplateTest, ArrayIndex) {
  json state = {{"servers", json::array({{{"hostname", "a"}}, {{"hostname", "b"}}})}};
  EXPECT_EQ(Render("{{servers.[0].hostname}},{{servers.[1].hostname}}", state), "a,b");
  EXPECT_EQ(Render("{{servers[1].hostname}}", state), "b");
  EXPECT_EQ(Render("{{servers.1.hostname}}", state), "b");
}

TEST(TemplateTest, BracketKeyOnObject) {
  json state = {{"odd key", "v"}, {"7", "seven"}};
  EXPECT_EQ(Render("{{[odd key]}} {{[7]}} {{7}}", state), "v seven seven");
}

TEST(TemplateTest, StringsInBasicStringsAreEscapedNotForHtml) {
  json state = {{"s", "a \"quoted\" <b> & c"}};
  EXPECT_EQ(Render("d = \"{{s}}\"", state), R"(d = "a \"quoted\" <b> & c")");
}

// A value that tries to end its string and add a table stays inside the string: its quote,
// backslash and newlines become escapes.
TEST(TemplateTest, AValueCannotLeaveABasicString) {
  json state = {{"n", "x\"\n[[handler]]\ntype = \"process\""},
                {"b", "back\\slash\\\"\ttab\x01\x7f\r"}};
  EXPECT_EQ(Render("name = \"{{n}}\"", state), R"(name = "x\"\n[[handler]]\ntype = \"process\"")");
  EXPECT_EQ(Render("d = \"{{b}}\"", state), R"(d = "back\\slash\\\"\ttab\u0001\u007F\r")");
  // The same in a multi-line basic string, whose `"""` the value cannot write either.
  EXPECT_EQ(Render("d = \"\"\"\n{{n}}\"\"\"", json{{"n", "\"\"\"\n[x]"}}),
            "d = \"\"\"\n\\\"\\\"\\\"\\n[x]\"\"\"");
  // Arrays and objects are JSON text, escaped like any other text in a string.
  EXPECT_EQ(Render("d = \"{{a}}\"", json{{"a", {1, "x\"y"}}}), R"(d = "[1,\"x\\\"y\"]")");
}

// The lexer follows strings and comments over the literal text: what looks like a quote or a
// `#` inside one of them does not change where the next expression sits.
TEST(TemplateTest, TheContextFollowsStringsAndCommentsOfTheLiteralText) {
  json state = {{"q", "a\"b"}};
  EXPECT_EQ(Render("x = \"#{{q}}\"", state), R"(x = "#a\"b")") << "a # in a string";
  EXPECT_EQ(Render("x = \"\\\"{{q}}\"", state), R"(x = "\"a\"b")") << "an escaped quote";
  EXPECT_EQ(Render("x = \"\\\\{{q}}\"", state), R"(x = "\\a\"b")") << "an escaped backslash";
  EXPECT_EQ(Render("x = 'it\"{{q}}'", json{{"q", "ok"}}), "x = 'it\"ok'") << "\" in a literal";
  EXPECT_EQ(Render("x = \"\"\"a\"\"b\n{{q}}\"\"\"", state), "x = \"\"\"a\"\"b\na\\\"b\"\"\"")
      << "two quotes do not end a multi-line string";
  EXPECT_EQ(Render("# it's \"{{q}}\n", state), "# it's \"a\"b\n") << "quotes in a comment";
  // After a string or a comment closes, the expression is bare again.
  EXPECT_THAT(RenderError("x = \"a\" # c\ny = {{q}}", state).message(),
              HasSubstr("m.toml:2:5: template variable 'q' is a string that is not a TOML"));
  EXPECT_THAT(RenderError("x = \"\"{{q}}", state).message(), HasSubstr("quote the expression"));
  EXPECT_THAT(RenderError("x = '''a'''{{q}}", state).message(), HasSubstr("quote the expression"));
}

TEST(TemplateTest, AnExpressionRightAfterABackslashInAStringIsAnError) {
  Result<ParsedTemplate> r = ParseTemplate("x = \"a\\{{q}}\"", "m.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_THAT(r.status().message(),
              HasSubstr("m.toml:1:8: template expression right after a '\\' in a TOML string"));
}

TEST(TemplateTest, ALiteralStringRefusesWhatItCannotHold) {
  EXPECT_EQ(Render("d = '{{s}}'", json{{"s", "C:\\dir \"x\"\ttab"}}), "d = 'C:\\dir \"x\"\ttab'");
  EXPECT_EQ(Render("d = '''{{s}}'''", json{{"s", "two\nlines"}}), "d = '''two\nlines'''");
  struct Case {
    const char* text;
    const char* value;
    const char* expected;
  };
  const Case cases[] = {
      {"d = '{{s}}'", "x'\n[[handler]]\ntype = 'process", "holds a ' (a literal string has no "},
      {"d = '{{s}}'", "two\nlines", "holds a newline, which a TOML literal string ('...')"},
      {"d = '{{s}}'", "bell\x07", "holds a control character"},
      {"d = '''{{s}}'''", "x'''\n[limits]",
       "holds a ' (a literal string has no escapes), which a TOML multi-line literal string "
       "('''...''') cannot hold"},
      {"d = '''{{s}}'''", "cr\rlf", "holds a control character"},
  };
  for (const Case& c : cases) {
    Status s = RenderError(c.text, json{{"s", c.value}});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(s.message(), HasSubstr("m.toml:1:"));
    EXPECT_THAT(s.message(), HasSubstr("template variable 's' " + std::string(c.expected)))
        << c.text;
    EXPECT_THAT(s.message(), HasSubstr("write the expression in a basic string (\"{{s}}\")"));
  }
}

TEST(TemplateTest, BareStringsMustBeOneToken) {
  for (const char* ok :
       {"5000", "-1.5e+3", "1_000", "0x1F", "+inf", "nan", "true", "false", "my-host_1",
        "1979-05-27", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999-07:00", "07:32:00"}) {
    EXPECT_EQ(Render("v = {{s}}", json{{"s", ok}}), std::string("v = ") + ok);
  }
  for (const char* bad : {"", "1 2", "a.b", "1.", "\"x\"", "[1]", "{a = 1}", "1\n[[handler]]",
                          "x # c", "1979-05-27 x", "a=1"}) {
    Status s = RenderError("v = {{s}}", json{{"s", bad}});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("m.toml:1:5: template variable 's' is a string that is "
                                       "not a TOML number, boolean, date-time or bare key"))
        << bad;
    EXPECT_THAT(s.message(), HasSubstr("quote the expression (\"{{s}}\")")) << bad;
  }
}

TEST(TemplateTest, AValueInACommentCannotEndTheLine) {
  json state = {{"s", "a\n[[handler]]\r\ntype = \"process\""}};
  EXPECT_EQ(Render("x = 1 # {{s}}\ny = 2", state),
            "x = 1 # a\\n[[handler]]\\r\\ntype = \"process\"\ny = 2");
}

// A fallback is text of the manifest itself: bare, it is inserted as written (a TOML value of
// any kind); in a string it is treated like a value.
TEST(TemplateTest, FallbacksAreInsertedLikeValuesInStringsAndAsWrittenBare) {
  EXPECT_EQ(Render(R"(h = {{default hosts "[\"a\", \"b\"]"}})", json::object()),
            R"(h = ["a", "b"])");
  EXPECT_EQ(Render(R"(d = "{{default d "say \"hi\""}}")", json::object()), R"(d = "say \"hi\"")");
  Status s = RenderError(R"(d = '{{default d "it's"}}')", json::object());
  EXPECT_THAT(s.message(), HasSubstr("the fallback of template variable 'd' holds a '"));
  // A value found in the state is checked as always.
  EXPECT_THAT(RenderError(R"(p = {{default p "80"}})", json{{"p", "80\n[x]"}}).message(),
              HasSubstr("template variable 'p' is a string that is not"));
}

TEST(TemplateTest, NonStringValuesInsertTheirJson) {
  json state = {{"b", true}, {"f", 1.5}, {"n", nullptr}, {"a", {1, 2}}, {"o", {{"k", "v"}}}};
  EXPECT_EQ(Render("{{b}}|{{f}}|{{n}}|{{a}}|{{o}}", state), "true|1.5||[1,2]|{\"k\":\"v\"}");
}

TEST(TemplateTest, MissingVariableInsertsNothingAndWarns) {
  std::vector<std::string> warnings;
  json state = {{"a", {{"b", 1}}}, {"list", {1}}};
  EXPECT_EQ(Render("x = \"{{nope}}\"\ny = \"{{a.c}}{{list.[5]}}{{a.b.c}}\"", state, &warnings),
            "x = \"\"\ny = \"\"");
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0],
            "m.toml:1:6: template variable 'nope' not found in the initial state (inserted as "
            "empty)");
  EXPECT_THAT(warnings[1], HasSubstr("m.toml:2:6: template variable 'a.c'"));
  EXPECT_THAT(warnings[2], HasSubstr("'list.[5]'"));
  EXPECT_THAT(warnings[3], HasSubstr("'a.b.c'"));
}

TEST(TemplateTest, DefaultUsesValueWhenPresent) {
  std::vector<std::string> warnings;
  json state = {{"api", {{"url", "https://prod.example.com/v1"}}}, {"port", 8080}};
  EXPECT_EQ(Render(R"(u = "{{default api.url "http://localhost"}}")", state, &warnings),
            R"(u = "https://prod.example.com/v1")");
  EXPECT_EQ(Render(R"({{default port "80"}})", state, &warnings), "8080");
  EXPECT_THAT(warnings, IsEmpty());
}

TEST(TemplateTest, DefaultUsesFallbackWhenMissingNullOrEmpty) {
  std::vector<std::string> warnings;
  json state = {{"n", nullptr}, {"e", ""}, {"zero", 0}, {"f", false}};
  EXPECT_EQ(
      Render(R"({{default missing "fb"}}|{{default n "fb"}}|{{default e "fb"}})", state, &warnings),
      "fb|fb|fb");
  // 0 and false are values, not absences.
  EXPECT_EQ(Render(R"({{default zero "fb"}}|{{default f "fb"}})", state, &warnings), "0|false");
  EXPECT_THAT(warnings, IsEmpty());  // a default is an expected absence: no warning
}

TEST(TemplateTest, DefaultFallbackEscapesAndBraces) {
  EXPECT_EQ(Render(R"({{default x "say \"hi\" \\ }}"}})", json::object()), R"(say "hi" \ }})");
}

TEST(TemplateTest, UnterminatedExpressionIsParseErrorWithPosition) {
  Result<ParsedTemplate> r = ParseTemplate("name = \"a\"\nx = \"{{name\"\n}}", "m.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_THAT(r.status().message(), HasSubstr("m.toml:2:6: unterminated template expression"));
}

TEST(TemplateTest, MalformedExpressionsAreParseErrors) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"{{}}", "1:1: malformed template expression: empty template expression"},
      {"ab{{ a..b }}", "1:3: malformed template expression: empty segment"},
      {"{{a.}}", "ends with '.'"},
      {"{{a.[0}}", "unclosed '['"},
      {"{{a.[]}}", "empty '[]'"},
      {"{{lookup a b}}", "unknown helper 'lookup'"},
      {"{{default a}}", "needs a quoted fallback"},
      {"{{default \"x\"}}", "needs a variable path"},
      {"{{default a \"x\" extra}}", "unexpected text after the fallback"},
      {"{{default a \"x}}", "unterminated template expression"},
      {"{{default a \"\\n\"}}", "unknown escape"},
      {"{{{a}}}", "unexpected '{'"},
  };
  for (const Case& c : cases) {
    Result<ParsedTemplate> r = ParseTemplate(c.text, "m.toml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kParseError) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.expected)) << c.text;
  }
}

TEST(TemplateTest, MaskKeepsPositions) {
  Result<ParsedTemplate> r = ParseTemplate("a = {{x}}\nb = \"{{default y \"z\"}}\"", "m.toml");
  ASSERT_TRUE(r.ok());
  std::string masked = MaskTemplate(*r);
  const std::string expr = "{{default y \"z\"}}";
  EXPECT_EQ(masked, "a = 0    \nb = \"0" + std::string(expr.size() - 1, ' ') + "\"");
}

TEST(TemplateTest, LookupPath) {
  json state = {{"a", {{"b", {10, 20}}}}};
  Result<ParsedTemplate> r = ParseTemplate("{{a.b.[1]}}", "m");
  ASSERT_TRUE(r.ok());
  const auto& expr = std::get<TemplateExpression>(r->parts[0]);
  const json* v = LookupTemplatePath(state, expr.path);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 20);
  EXPECT_THAT(expr.path_text, "a.b.[1]");
}

TEST(TemplateTest, RenderingStopsAtTheSizeLimit) {
  // 10,000 copies of a 1 MiB value would be 10 GiB; the render fails at the limit instead.
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "{{big}}";
  Result<ParsedTemplate> parsed = ParseTemplate(text, "m.toml");
  ASSERT_TRUE(parsed.ok());
  json state = {{"big", std::string(1 << 20, 'x')}};
  std::vector<std::string> warnings;
  Result<std::string> rendered = RenderTemplate(*parsed, state, "m.toml", &warnings, 4u << 20);
  ASSERT_FALSE(rendered.ok());
  EXPECT_EQ(rendered.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(rendered.status().message(), HasSubstr("manifest size limit of 4194304 bytes"));
}

TEST(TemplateTest, MissingVariableWarningsAreCapped) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{{missing" + std::to_string(i) + "}}\n";
  Result<ParsedTemplate> parsed = ParseTemplate(text, "m.toml");
  ASSERT_TRUE(parsed.ok());
  std::vector<std::string> warnings;
  ASSERT_TRUE(RenderTemplate(*parsed, json::object(), "m.toml", &warnings).ok());
  ASSERT_EQ(warnings.size(), limits::kMaxTemplateWarnings + 1);
  EXPECT_THAT(warnings.back(), HasSubstr("984 more template variables not found"));
}

}  // namespace
}  // namespace theater
