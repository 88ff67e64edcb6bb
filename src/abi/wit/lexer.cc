// Theater: a WebAssembly actor runtime.
#include "abi/wit/lexer.h"

#include "common/ascii.h"

#include <array>
#include <cstdio>
#include <utility>
#include <vector>

namespace theater::wit::internal {
namespace {

struct Keyword {
  std::string_view text;
  TokenKind kind;
};

constexpr std::array kKeywords = {
    Keyword{"as", TokenKind::kAs},           Keyword{"async", TokenKind::kAsync},
    Keyword{"bool", TokenKind::kBool},       Keyword{"borrow", TokenKind::kBorrow},
    Keyword{"char", TokenKind::kChar},       Keyword{"constructor", TokenKind::kConstructor},
    Keyword{"enum", TokenKind::kEnum},       Keyword{"error-context", TokenKind::kErrorContext},
    Keyword{"export", TokenKind::kExport},   Keyword{"f32", TokenKind::kF32},
    Keyword{"f64", TokenKind::kF64},         Keyword{"flags", TokenKind::kFlags},
    Keyword{"float32", TokenKind::kFloat32}, Keyword{"float64", TokenKind::kFloat64},
    Keyword{"from", TokenKind::kFrom},       Keyword{"func", TokenKind::kFunc},
    Keyword{"future", TokenKind::kFuture},   Keyword{"import", TokenKind::kImport},
    Keyword{"include", TokenKind::kInclude}, Keyword{"interface", TokenKind::kInterface},
    Keyword{"list", TokenKind::kList},       Keyword{"option", TokenKind::kOption},
    Keyword{"own", TokenKind::kOwn},         Keyword{"package", TokenKind::kPackage},
    Keyword{"record", TokenKind::kRecord},   Keyword{"resource", TokenKind::kResource},
    Keyword{"result", TokenKind::kResult},   Keyword{"s16", TokenKind::kS16},
    Keyword{"s32", TokenKind::kS32},         Keyword{"s64", TokenKind::kS64},
    Keyword{"s8", TokenKind::kS8},           Keyword{"static", TokenKind::kStatic},
    Keyword{"stream", TokenKind::kStream},   Keyword{"string", TokenKind::kString},
    Keyword{"tuple", TokenKind::kTuple},     Keyword{"type", TokenKind::kType},
    Keyword{"u16", TokenKind::kU16},         Keyword{"u32", TokenKind::kU32},
    Keyword{"u64", TokenKind::kU64},         Keyword{"u8", TokenKind::kU8},
    Keyword{"use", TokenKind::kUse},         Keyword{"variant", TokenKind::kVariant},
    Keyword{"with", TokenKind::kWith},       Keyword{"world", TokenKind::kWorld},
};

bool IsWordChar(char c) {
  return AsciiIsAlpha(c) || AsciiIsDigit(c) || c == '-' || c == '_';
}
bool IsVersionChar(char c) {
  return AsciiIsAlpha(c) || AsciiIsDigit(c) || c == '.' || c == '-' || c == '+';
}

// Unicode bidirectional embedding/override/isolate controls, which can make source text read
// differently from how it parses ("trojan source"); WIT forbids them even in comments.
bool IsBidiControl(uint32_t scalar) {
  return (scalar >= 0x202A && scalar <= 0x202E) || (scalar >= 0x2066 && scalar <= 0x2069);
}

// "U+00A0": how Unicode names a code point.
std::string UnicodeNotation(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(value));
  return buffer;
}

// Appends the text of one `///` line (without the slashes) to *docs. Only the one space
// conventionally written after `///` is dropped, so indentation inside docs (examples) survives.
void AppendLineDocs(std::string_view body, std::string* docs) {
  if (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
  if (!docs->empty()) docs->push_back('\n');
  docs->append(body);
}

// Appends the text of a `/** */` comment (without the markers) to *docs, dropping the
// indentation and `*` margin block comments are conventionally written with.
void AppendBlockDocs(std::string_view body, std::string* docs) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    size_t first = line.find_first_not_of(" \t");
    line = first == std::string_view::npos ? std::string_view() : line.substr(first);
    if (!line.empty() && line.front() == '*') {
      line.remove_prefix(1);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    start = end + 1;
  }
  // `/**` and `*/` usually sit on lines of their own.
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!docs->empty()) docs->push_back('\n');
    docs->append(lines[i]);
  }
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!AsciiIsDigit(c)) return false;
  }
  return true;
}

// Checks the dot-separated identifiers of a pre-release or build suffix.
std::string SuffixProblem(std::string_view suffix, bool numeric_without_leading_zero) {
  size_t start = 0;
  while (true) {
    size_t end = suffix.find('.', start);
    if (end == std::string_view::npos) end = suffix.size();
    std::string_view part = suffix.substr(start, end - start);
    if (part.empty()) return "it has an empty identifier after '-' or '+'";
    for (char c : part) {
      if (!AsciiIsAlpha(c) && !AsciiIsDigit(c) && c != '-')
        return "it contains '" + std::string(1, c) + "'";
    }
    if (numeric_without_leading_zero && AllDigits(part) && part.size() > 1 && part[0] == '0') {
      return "numeric identifier '" + std::string(part) + "' has a leading zero";
    }
    if (end == suffix.size()) return "";
    start = end + 1;
  }
}

}  // namespace

std::string_view Spelling(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "end of file";
    case TokenKind::kIdentifier:
      return "an identifier";
    case TokenKind::kInteger:
      return "an integer";
    case TokenKind::kVersion:
      return "a version";
    case TokenKind::kEquals:
      return "'='";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kColon:
      return "':'";
    case TokenKind::kSemicolon:
      return "';'";
    case TokenKind::kLeftParen:
      return "'('";
    case TokenKind::kRightParen:
      return "')'";
    case TokenKind::kLeftBrace:
      return "'{'";
    case TokenKind::kRightBrace:
      return "'}'";
    case TokenKind::kLess:
      return "'<'";
    case TokenKind::kGreater:
      return "'>'";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kArrow:
      return "'->'";
    case TokenKind::kSlash:
      return "'/'";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kAt:
      return "'@'";
    case TokenKind::kUnderscore:
      return "'_'";
    default:
      break;
  }
  for (const Keyword& keyword : kKeywords) {
    if (keyword.kind == kind) return keyword.text;
  }
  return "a token";
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of file";
    case TokenKind::kIdentifier:
      return "identifier '" + std::string(token.text) + "'";
    case TokenKind::kInteger:
      return "integer '" + std::string(token.text) + "'";
    case TokenKind::kVersion:
      return "version '" + std::string(token.text) + "'";
    default:
      break;
  }
  if (token.kind >= TokenKind::kAs) return "keyword '" + std::string(token.text) + "'";
  return std::string(Spelling(token.kind));
}

Status ErrorAt(StatusCode code, std::string_view file, Location location,
               std::string_view message) {
  std::string text(file);
  text += ':' + std::to_string(location.line) + ':' + std::to_string(location.column) + ": ";
  text += message;
  return Status(code, std::move(text));
}

}  // namespace theater::wit::internal

namespace theater::wit {

std::string IdentifierProblem(std::string_view name) {
  if (name.empty()) return "an identifier cannot be empty";
  size_t start = 0;
  while (true) {
    size_t end = name.find('-', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view word = name.substr(start, end - start);
    if (word.empty()) {
      return "identifiers are kebab-case words joined by single '-' (no leading, trailing or "
             "doubled '-')";
    }
    if (!AsciiIsAlpha(word[0])) {
      return "each word of an identifier must start with a letter, '" + std::string(word) +
             "' does not";
    }
    bool lower = false;
    bool upper = false;
    for (char c : word) {
      if (c == '_') return "'_' is not allowed; identifiers are kebab-case (use '-')";
      if (!AsciiIsAlpha(c) && !AsciiIsDigit(c)) {
        return "character '" + std::string(1, c) + "' is not allowed in an identifier";
      }
      lower |= AsciiIsLower(c);
      upper |= AsciiIsUpper(c);
    }
    if (lower && upper) {
      return "word '" + std::string(word) + "' mixes upper and lower case letters";
    }
    if (end == name.size()) return "";
    start = end + 1;
  }
}

std::string VersionProblem(std::string_view version) {
  size_t suffix = version.find_first_of("-+");
  std::string_view core = version.substr(0, suffix);
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t end = core.find('.', start);
    if (end == std::string_view::npos) end = core.size();
    std::string_view part = core.substr(start, end - start);
    if (!internal::AllDigits(part)) return "expected MAJOR.MINOR.PATCH with decimal numbers";
    if (part.size() > 1 && part[0] == '0') {
      return "number '" + std::string(part) + "' has a leading zero";
    }
    ++parts;
    if (end == core.size()) break;
    start = end + 1;
  }
  if (parts != 3) return "expected MAJOR.MINOR.PATCH with decimal numbers";
  if (suffix == std::string_view::npos) return "";
  std::string_view rest = version.substr(suffix);
  size_t plus = rest.find('+');
  if (rest[0] == '-') {
    std::string_view pre = rest.substr(1, plus == std::string_view::npos ? rest.npos : plus - 1);
    std::string problem = internal::SuffixProblem(pre, true);
    if (!problem.empty()) return "pre-release: " + problem;
  }
  if (plus != std::string_view::npos) {
    std::string problem = internal::SuffixProblem(rest.substr(plus + 1), false);
    if (!problem.empty()) return "build metadata: " + problem;
  }
  return "";
}

}  // namespace theater::wit

namespace theater::wit::internal {

Lexer::Lexer(std::string_view text, std::string file_name)
    : text_(text), file_name_(std::move(file_name)) {}

Status Lexer::ErrorHere(std::string_view message) const {
  return ErrorAt(StatusCode::kParseError, file_name_, location_, message);
}

void Lexer::Advance(size_t length) {
  if (text_[pos_] == '\n') {
    ++location_.line;
    location_.column = 1;
  } else {
    ++location_.column;
  }
  pos_ += length;
}

Status Lexer::DecodeScalar(uint32_t* scalar, size_t* length) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text_[pos_ + i]); };
  uint8_t lead = byte(0);
  uint32_t value;
  size_t size;
  uint32_t min;
  if (lead < 0x80) {
    *scalar = lead;
    *length = 1;
    return Status::Ok();
  } else if ((lead & 0xE0) == 0xC0) {
    value = lead & 0x1F, size = 2, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    value = lead & 0x0F, size = 3, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    value = lead & 0x07, size = 4, min = 0x10000;
  } else {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(lead));
    return ErrorHere(std::string("invalid UTF-8 byte ") + hex);
  }
  if (pos_ + size > text_.size()) return ErrorHere("truncated UTF-8 sequence");
  for (size_t i = 1; i < size; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return ErrorHere("invalid UTF-8 sequence");
    value = (value << 6) | (byte(i) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return ErrorHere("invalid UTF-8 sequence");
  }
  *scalar = value;
  *length = size;
  return Status::Ok();
}

Status Lexer::SkipTrivia() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      Advance(1);
      continue;
    }
    if (c != '/' || pos_ + 1 >= text_.size()) return Status::Ok();
    char next = text_[pos_ + 1];
    if (next != '/' && next != '*') return Status::Ok();

    const Location start_location = location_;
    const size_t start = pos_;
    const bool line_comment = next == '/';
    int depth = 0;
    Advance(1);
    Advance(1);
    if (!line_comment) depth = 1;
    while (pos_ < text_.size()) {
      if (line_comment && text_[pos_] == '\n') break;
      if (!line_comment && text_.compare(pos_, 2, "/*") == 0) {
        ++depth;
        Advance(1);
        Advance(1);
        continue;
      }
      if (!line_comment && text_.compare(pos_, 2, "*/") == 0) {
        Advance(1);
        Advance(1);
        if (--depth == 0) break;
        continue;
      }
      uint32_t scalar;
      size_t length;
      THEATER_RETURN_IF_ERROR(DecodeScalar(&scalar, &length));
      if (scalar < 0x20 && scalar != '\t' && scalar != '\n' && scalar != '\r') {
        return ErrorHere("control character " + UnicodeNotation(scalar) +
                         " is not allowed in WIT text");
      }
      if (scalar == 0x7F || IsBidiControl(scalar)) {
        return ErrorHere("character " + UnicodeNotation(scalar) + " is not allowed in WIT text");
      }
      Advance(length);
    }
    if (!line_comment && depth != 0) {
      return ErrorAt(StatusCode::kParseError, file_name_, start_location,
                     "unterminated block comment (expected '*/' before end of file)");
    }
    std::string_view comment = text_.substr(start, pos_ - start);
    if (line_comment) {
      // `///` is a doc comment, `////...` a plain one (a common separator line).
      if (comment.size() >= 3 && comment[2] == '/' && (comment.size() == 3 || comment[3] != '/')) {
        AppendLineDocs(comment.substr(3), &pending_docs_);
      }
    } else if (comment.size() >= 5 && comment[2] == '*' && comment[3] != '*') {
      // `/** ... */` is a doc comment; `/**/` and `/*** ... */` are plain ones.
      AppendBlockDocs(comment.substr(3, comment.size() - 5), &pending_docs_);
    }
  }
  return Status::Ok();
}

Result<Token> Lexer::Next() {
  Result<Token> token = NextToken();
  last_kind_ = token.ok() ? token->kind : TokenKind::kEnd;
  return token;
}

Result<Token> Lexer::NextToken() {
  THEATER_RETURN_IF_ERROR(SkipTrivia());
  Token token;
  token.location = location_;
  token.offset = pos_;
  token.docs = std::move(pending_docs_);
  pending_docs_.clear();
  if (pos_ >= text_.size()) {
    token.kind = TokenKind::kEnd;
    return token;
  }
  const char c = text_[pos_];
  if (AsciiIsDigit(c) && (last_kind_ == TokenKind::kAt || last_kind_ == TokenKind::kEquals)) {
    const size_t start = pos_;
    // A '.' right before '{' ends the version: `use a:b/c@1.0.0.{x};`.
    while (pos_ < text_.size() && IsVersionChar(text_[pos_]) &&
           !(text_[pos_] == '.' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{')) {
      Advance(1);
    }
    token.kind = TokenKind::kVersion;
    token.text = text_.substr(start, pos_ - start);
    return token;
  }
  auto single = [&](TokenKind kind) {
    token.kind = kind;
    token.text = text_.substr(pos_, 1);
    Advance(1);
    return token;
  };
  switch (c) {
    case '=':
      return single(TokenKind::kEquals);
    case ',':
      return single(TokenKind::kComma);
    case ':':
      return single(TokenKind::kColon);
    case ';':
      return single(TokenKind::kSemicolon);
    case '(':
      return single(TokenKind::kLeftParen);
    case ')':
      return single(TokenKind::kRightParen);
    case '{':
      return single(TokenKind::kLeftBrace);
    case '}':
      return single(TokenKind::kRightBrace);
    case '<':
      return single(TokenKind::kLess);
    case '>':
      return single(TokenKind::kGreater);
    case '*':
      return single(TokenKind::kStar);
    case '/':
      return single(TokenKind::kSlash);
    case '.':
      return single(TokenKind::kDot);
    case '@':
      return single(TokenKind::kAt);
    case '-':
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '>') {
        token.kind = TokenKind::kArrow;
        token.text = text_.substr(pos_, 2);
        Advance(1);
        Advance(1);
        return token;
      }
      return ErrorHere("unexpected character '-'");
    default:
      break;
  }

  const bool escaped = c == '%';
  if (escaped) Advance(1);
  const size_t start = pos_;
  while (pos_ < text_.size() && IsWordChar(text_[pos_])) Advance(1);
  std::string_view word = text_.substr(start, pos_ - start);
  if (word.empty()) {
    pos_ = token.offset;
    location_ = token.location;
    if (escaped) return ErrorHere("expected an identifier after '%'");
    uint32_t scalar;
    size_t length;
    THEATER_RETURN_IF_ERROR(DecodeScalar(&scalar, &length));
    if (scalar < 0x20 || scalar == 0x7F) {
      return ErrorHere("control character " + UnicodeNotation(scalar) +
                       " is not allowed in WIT text");
    }
    if (scalar >= 0x80) {
      return ErrorHere("unexpected character " + UnicodeNotation(scalar) +
                       " (non-ASCII text is only allowed in comments)");
    }
    return ErrorHere("unexpected character '" + std::string(1, c) + "'");
  }
  token.text = word;
  if (!escaped && AllDigits(word)) {
    token.kind = TokenKind::kInteger;
    return token;
  }
  if (!escaped && word == "_") {
    token.kind = TokenKind::kUnderscore;
    return token;
  }
  std::string problem = IdentifierProblem(word);
  if (!problem.empty()) {
    return ErrorAt(StatusCode::kParseError, file_name_, token.location,
                   "invalid identifier '" + std::string(word) + "': " + problem);
  }
  token.kind = TokenKind::kIdentifier;
  if (!escaped) {
    for (const Keyword& keyword : kKeywords) {
      if (keyword.text == word) {
        token.kind = keyword.kind;
        break;
      }
    }
  }
  return token;
}

}  // namespace theater::wit::internal
