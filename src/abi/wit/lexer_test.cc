// Theater: a WebAssembly actor runtime.
#include "abi/wit/lexer.h"

#include <gtest/gtest.h>

#include <vector>

namespace theater::wit::internal {
namespace {

// All tokens of `text` up to the end, or the first error.
Result<std::vector<Token>> LexAll(std::string_view text) {
  Lexer lexer(text, "t.wit");
  std::vector<Token> tokens;
  while (true) {
    THEATER_ASSIGN_OR_RETURN(Token token, lexer.Next());
    if (token.kind == TokenKind::kEnd) return tokens;
    tokens.push_back(std::move(token));
  }
}

TEST(LexerTest, SplitsPunctuationKeywordsAndIdentifiers) {
  auto tokens = LexAll("f: func(a-b: list<u8>) -> result<_, %type>;");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  std::vector<TokenKind> kinds;
  for (const Token& token : *tokens) kinds.push_back(token.kind);
  const std::vector<TokenKind> expected = {
      TokenKind::kIdentifier, TokenKind::kColon,   TokenKind::kFunc,       TokenKind::kLeftParen,
      TokenKind::kIdentifier, TokenKind::kColon,   TokenKind::kList,       TokenKind::kLess,
      TokenKind::kU8,         TokenKind::kGreater, TokenKind::kRightParen, TokenKind::kArrow,
      TokenKind::kResult,     TokenKind::kLess,    TokenKind::kUnderscore, TokenKind::kComma,
      TokenKind::kIdentifier, TokenKind::kGreater, TokenKind::kSemicolon};
  EXPECT_EQ(kinds, expected);
  EXPECT_EQ((*tokens)[4].text, "a-b");
  // `%type` is an identifier spelled "type".
  EXPECT_EQ((*tokens)[16].text, "type");
}

TEST(LexerTest, TracksLinesAndColumns) {
  auto tokens = LexAll("a\n  b\r\n\tc // x\n/* y\n */ d");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 4u);
  EXPECT_EQ((*tokens)[0].location.line, 1);
  EXPECT_EQ((*tokens)[1].location.line, 2);
  EXPECT_EQ((*tokens)[1].location.column, 3);
  EXPECT_EQ((*tokens)[2].location.line, 3);
  EXPECT_EQ((*tokens)[2].location.column, 2);
  EXPECT_EQ((*tokens)[3].location.line, 5);
  EXPECT_EQ((*tokens)[3].location.column, 5);
}

TEST(LexerTest, CountsColumnsInCharactersNotBytes) {
  auto tokens = LexAll("/* é */ a");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)[0].location.column, 9);
}

TEST(LexerTest, AttachesDocCommentsToTheNextToken) {
  auto tokens = LexAll(
      "/// one\n///   two\n// plain\n//// not docs\na /** block\n * more */ b /**\n * c\n */ c "
      "/**/ /*** plain */ d");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)[0].docs, "one\n  two");
  EXPECT_EQ((*tokens)[1].docs, "block\nmore");
  EXPECT_EQ((*tokens)[2].docs, "c");
  EXPECT_EQ((*tokens)[3].docs, "");
}

TEST(LexerTest, NestedBlockCommentsMustBalance) {
  auto ok = LexAll("/* a /* b */ c */ x");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 1u);

  auto open = LexAll("x\n  /* a /* b */ c");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), StatusCode::kParseError);
  EXPECT_EQ(open.status().message(),
            "t.wit:2:3: unterminated block comment (expected '*/' before end of file)");
}

TEST(LexerTest, LexesVersionsOnlyAfterAtOrEquals) {
  auto tokens = LexAll("a:b@1.2.3-rc.1+build.5.{x} = 0.2.0");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)[4].kind, TokenKind::kVersion);
  EXPECT_EQ((*tokens)[4].text, "1.2.3-rc.1+build.5");
  EXPECT_EQ((*tokens)[5].kind, TokenKind::kDot);
  EXPECT_EQ((*tokens)[10].kind, TokenKind::kVersion);

  auto plain = LexAll("12");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)[0].kind, TokenKind::kInteger);
}

TEST(LexerTest, RejectsInvalidIdentifiers) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case kCases[] = {
      {"foo_bar",
       "t.wit:1:1: invalid identifier 'foo_bar': '_' is not allowed; identifiers are "
       "kebab-case (use '-')"},
      {"  Foo",
       "t.wit:1:3: invalid identifier 'Foo': word 'Foo' mixes upper and lower case "
       "letters"},
      {"a--b",
       "t.wit:1:1: invalid identifier 'a--b': identifiers are kebab-case words joined by "
       "single '-' (no leading, trailing or doubled '-')"},
      {"a-1b",
       "t.wit:1:1: invalid identifier 'a-1b': each word of an identifier must start with "
       "a letter, '1b' does not"},
      {"%", "t.wit:1:1: expected an identifier after '%'"},
  };
  for (const Case& c : kCases) {
    auto tokens = LexAll(c.text);
    ASSERT_FALSE(tokens.ok()) << c.text;
    EXPECT_EQ(tokens.status().code(), StatusCode::kParseError);
    EXPECT_EQ(tokens.status().message(), c.message);
  }
  auto ok = LexAll("XML parse-XML-document a1-b2");
  EXPECT_TRUE(ok.ok());
}

TEST(LexerTest, RejectsCharactersOutsideWit) {
  EXPECT_EQ(LexAll("a $").status().message(), "t.wit:1:3: unexpected character '$'");
  EXPECT_EQ(LexAll("a\x01").status().message(),
            "t.wit:1:2: control character U+0001 is not allowed in WIT text");
  EXPECT_EQ(LexAll("é").status().message(),
            "t.wit:1:1: unexpected character U+00E9 (non-ASCII text is only allowed in comments)");
  EXPECT_EQ(LexAll("// \xff").status().message(), "t.wit:1:4: invalid UTF-8 byte 0xFF");
  EXPECT_EQ(LexAll("// \xc3").status().message(), "t.wit:1:4: truncated UTF-8 sequence");
  // An overlong encoding of '/'.
  EXPECT_EQ(LexAll("// \xc0\xaf").status().message(), "t.wit:1:4: invalid UTF-8 sequence");
  // U+202E RIGHT-TO-LEFT OVERRIDE, even inside a comment.
  EXPECT_EQ(LexAll("// \xe2\x80\xae").status().message(),
            "t.wit:1:4: character U+202E is not allowed in WIT text");
  EXPECT_EQ(LexAll("a - b").status().message(), "t.wit:1:3: unexpected character '-'");
}

TEST(LexerTest, ChecksVersions) {
  EXPECT_EQ(VersionProblem("1.2.3"), "");
  EXPECT_EQ(VersionProblem("0.2.0-rc.1+build-7"), "");
  EXPECT_NE(VersionProblem("1.2"), "");
  EXPECT_NE(VersionProblem("1.2.3.4"), "");
  EXPECT_NE(VersionProblem("01.2.3"), "");
  EXPECT_NE(VersionProblem("1.2.3-"), "");
  EXPECT_NE(VersionProblem("1.2.3-01"), "");
  EXPECT_NE(VersionProblem("1.2.3+"), "");
  EXPECT_NE(VersionProblem("1.x.3"), "");
}

}  // namespace
}  // namespace theater::wit::internal
