// Theater: a WebAssembly actor runtime.
#include "common/utf8.h"

#include <gtest/gtest.h>

namespace theater {
namespace {

TEST(Utf8Test, ValidTextOfEveryLength) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  // 2, 3 and 4 bytes: é, €, 😀; and the largest scalar value, U+10FFFF.
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));
  EXPECT_EQ(FindInvalidUtf8("h\xc3\xa9llo \xe2\x82\xac"), std::nullopt);
}

TEST(Utf8Test, EveryKindOfInvalidSequenceIsFoundWhereItStarts) {
  EXPECT_EQ(FindInvalidUtf8("ab\xc0\x80"), 2u);          // overlong NUL
  EXPECT_EQ(FindInvalidUtf8("/\xc0\xaf"), 1u);           // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u);        // surrogate U+D800
  EXPECT_EQ(FindInvalidUtf8("x\xf4\x90\x80\x80"), 1u);   // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("ok\xe2\x82"), 2u);          // truncated at the end
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);                // a lone continuation byte
  EXPECT_EQ(FindInvalidUtf8("\xff"), 0u);                // never a UTF-8 byte
  EXPECT_FALSE(IsValidUtf8("\xe2\x82x"));                // a sequence cut short
}

TEST(Utf8Test, DecodeEncodeAndSanitize) {
  char32_t cp = 0;
  EXPECT_EQ(Utf8SequenceAt("\xe2\x82\xac", 0, &cp), 3u);
  EXPECT_EQ(cp, U'\u20ac');
  EXPECT_EQ(Utf8SequenceAt("\xed\xa0\x80", 0, &cp), 0u);
  std::string out;
  AppendUtf8(U'\U0001F600', &out);
  EXPECT_EQ(out, "\xf0\x9f\x98\x80");
  EXPECT_EQ(SanitizeUtf8("a\xffz"), "a\xef\xbf\xbdz");
  EXPECT_TRUE(IsPrintableUtf8("line one\n\ttwo"));
  EXPECT_FALSE(IsPrintableUtf8("bell\x07"));
  EXPECT_TRUE(IsScalarValue(0x10FFFF));
  EXPECT_FALSE(IsScalarValue(0xDFFF));
}

TEST(Utf8Test, QuoteInputShowsAFewHundredBytesEscapedAndSaysHowLongItWas) {
  EXPECT_EQ(QuoteInput("plain/path.toml"), "'plain/path.toml'");
  // Quotes, backslashes, control characters and invalid bytes cannot forge or garble a line.
  EXPECT_EQ(QuoteInput("a'b\\c\nd\x01\xff"), "'a\\x27b\\x5cc\\x0ad\\x01\\xff'");
  // Text a person can read stays as it is.
  EXPECT_EQ(QuoteInput("caf\u00e9 \u2603"), "'caf\u00e9 \u2603'");
  // Long input: at most the limit, cut at a character boundary, with its length.
  const std::string long_text(1 << 20, 'A');
  const std::string quoted = QuoteInput(long_text);
  EXPECT_EQ(quoted, "'" + std::string(200, 'A') + "\u2026' (1048576 bytes)");
  EXPECT_EQ(QuoteInput("\u00e9\u00e9\u00e9", 5), "'\u00e9\u00e9\u2026' (6 bytes)");
  EXPECT_EQ(QuoteInput(""), "''");
}

TEST(Utf8Test, TerminalSafeEscapesWhatCouldDriveATerminal) {
  EXPECT_EQ(TerminalSafe("plain text, caf\u00e9"), "plain text, caf\u00e9");
  EXPECT_EQ(TerminalSafe("red\x1b[31m bell\x07 line\nnext\ttab\rcr"),
            "red\\x1b[31m bell\\x07 line\\nnext\\ttab\\rcr");
  EXPECT_EQ(TerminalSafe(std::string("bad \xff byte")), "bad \ufffd byte");
  EXPECT_EQ(TerminalSafe("\xc2\x9b C1 CSI"), "\\x9b C1 CSI");
}

}  // namespace

}  // namespace theater
