// Theater: a WebAssembly actor runtime.
//
// Manifest templates (docs/manifest.md, "Templates"). A small hand-written scanner: the syntax is
// a tiny subset of Handlebars, and owning the scanner lets every error carry line:column.
#include "runtime/template.h"
#include "common/json_writer.h"

#include <cctype>
#include <string>

namespace theater {
namespace {

using nlohmann::json;

// "line:col" (both from 1) of byte offsets in `text`, asked in increasing order: each call scans
// only from the previous offset, so positioning every expression of a text costs one pass over
// it (from the start each time, 100,000 expressions took seconds).
class LineColumns {
 public:
  explicit LineColumns(std::string_view text) : text_(text) {}
  std::string At(size_t pos) {
    for (; scanned_ < pos && scanned_ < text_.size(); ++scanned_) {
      if (text_[scanned_] == '\n') {
        ++line_;
        line_start_ = scanned_ + 1;
      }
    }
    return std::to_string(line_) + ":" + std::to_string(pos - line_start_ + 1);
  }

 private:
  std::string_view text_;
  size_t scanned_ = 0;
  size_t line_ = 1;
  size_t line_start_ = 0;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses `a.b`, `servers.[0].hostname`, `servers[0]`, `[odd key]`. On error returns a message.
std::string ParsePath(std::string_view text, std::vector<TemplatePathSegment>* out) {
  if (text.empty()) return "empty variable path";
  size_t i = 0;
  bool expect_segment = true;  // at the start, or just after '.'
  while (i < text.size()) {
    char c = text[i];
    if (c == '[') {
      size_t close = text.find(']', i + 1);
      if (close == std::string_view::npos)
        return "unclosed '[' in path '" + std::string(text) + "'";
      std::string_view inner = text.substr(i + 1, close - i - 1);
      if (inner.empty()) return "empty '[]' in path '" + std::string(text) + "'";
      TemplatePathSegment seg;
      if (AllDigits(inner) && inner.size() <= 18) {
        seg.is_index = true;
        seg.index = std::stoull(std::string(inner));
      } else {
        seg.key = std::string(inner);
      }
      out->push_back(std::move(seg));
      i = close + 1;
      expect_segment = false;
    } else if (c == '.') {
      if (expect_segment) return "empty segment in path '" + std::string(text) + "'";
      expect_segment = true;
      ++i;
    } else {
      if (!expect_segment) return "expected '.' after ']' in path '" + std::string(text) + "'";
      size_t start = i;
      while (i < text.size() && text[i] != '.' && text[i] != '[') {
        char d = text[i];
        if (d == ']' || d == '"' || d == '{' || d == '}' || IsSpace(d)) {
          return "unexpected '" + std::string(1, d) + "' in path '" + std::string(text) + "'";
        }
        ++i;
      }
      TemplatePathSegment seg;
      seg.key = std::string(text.substr(start, i - start));
      out->push_back(std::move(seg));
      expect_segment = false;
    }
  }
  if (expect_segment) return "path '" + std::string(text) + "' ends with '.'";
  return "";
}

// The end of the word starting at `i`: the next space outside `[...]`.
size_t WordEnd(std::string_view body, size_t i) {
  while (i < body.size() && !IsSpace(body[i])) {
    if (body[i] == '[') {
      size_t close = body.find(']', i);
      if (close == std::string_view::npos) return body.size();
      i = close;
    }
    ++i;
  }
  return i;
}

// Parses the inside of `{{ ... }}` (already trimmed). On error returns a message.
std::string ParseExpression(std::string_view body, TemplateExpression* expr) {
  if (body.empty()) return "empty template expression '{{}}'";
  // The first word: a path, or the name of a helper.
  size_t word_end = WordEnd(body, 0);
  std::string_view first = body.substr(0, word_end);
  if (word_end == body.size()) {
    expr->path_text = std::string(first);
    return ParsePath(first, &expr->path);
  }
  if (first != "default") {
    return "unknown helper '" + std::string(first) + "' (only 'default' is supported)";
  }
  expr->has_default = true;
  size_t i = word_end;
  while (i < body.size() && IsSpace(body[i])) ++i;
  size_t path_start = i;
  i = WordEnd(body, i);
  std::string_view path = body.substr(path_start, i - path_start);
  if (path.empty() || path[0] == '"') return "'default' needs a variable path and a \"fallback\"";
  expr->path_text = std::string(path);
  if (std::string err = ParsePath(path, &expr->path); !err.empty()) return err;
  while (i < body.size() && IsSpace(body[i])) ++i;
  if (i >= body.size() || body[i] != '"') {
    return "'default' needs a quoted fallback after '" + std::string(path) + "'";
  }
  ++i;
  bool closed = false;
  while (i < body.size()) {
    char c = body[i++];
    if (c == '"') {
      closed = true;
      break;
    }
    if (c == '\\') {
      if (i >= body.size()) break;
      char e = body[i++];
      if (e != '"' && e != '\\') {
        return "unknown escape '\\" + std::string(1, e) + "' in fallback (only \\\" and \\\\)";
      }
      expr->fallback.push_back(e);
    } else {
      expr->fallback.push_back(c);
    }
  }
  if (!closed) return "unterminated fallback string in 'default'";
  if (i != body.size()) return "unexpected text after the fallback of 'default'";
  return "";
}

// Follows the TOML lexical state over the literal text of a template, expression by expression,
// without parsing TOML: only what opens and closes strings and comments matters for what an
// expression may insert. The literal text between two expressions is fed in one piece, so a run
// of quotes is seen whole; an expression itself is not fed (what it inserts is made to keep the
// state as it was).
class TomlLexer {
 public:
  TomlContext context() const { return context_; }
  // A `\` in a basic string whose escaped character is whatever comes next.
  bool escape_pending() const { return escape_pending_; }

  void Feed(std::string_view s) {
    size_t i = 0;
    if (escape_pending_ && !s.empty()) {
      escape_pending_ = false;
      i = 1;
    }
    while (i < s.size()) {
      const char c = s[i];
      switch (context_) {
        case TomlContext::kBare:
          if (c == '#') {
            context_ = TomlContext::kComment;
          } else if (c == '"' || c == '\'') {
            const bool triple = QuoteRun(s, i, c) >= 3;
            if (c == '"') {
              context_ = triple ? TomlContext::kMultiLineBasicString : TomlContext::kBasicString;
            } else {
              context_ =
                  triple ? TomlContext::kMultiLineLiteralString : TomlContext::kLiteralString;
            }
            i += triple ? 3 : 1;
            continue;
          }
          break;
        case TomlContext::kBasicString:
        case TomlContext::kMultiLineBasicString: {
          const bool multi = context_ == TomlContext::kMultiLineBasicString;
          if (c == '\\') {
            if (i + 1 >= s.size()) {
              escape_pending_ = true;
              return;
            }
            i += 2;
            continue;
          }
          if (c == '"') {
            // `"""` ends a multi-line string; up to two more quotes before it are content, and
            // the run is consumed whole.
            const size_t run = multi ? QuoteRun(s, i, '"') : 1;
            if (!multi || run >= 3) context_ = TomlContext::kBare;
            i += run;
            continue;
          }
          if (c == '\n' && !multi) context_ = TomlContext::kBare;  // a TOML error anyway
          break;
        }
        case TomlContext::kLiteralString:
          if (c == '\'' || c == '\n') context_ = TomlContext::kBare;
          break;
        case TomlContext::kMultiLineLiteralString:
          if (c == '\'') {
            const size_t run = QuoteRun(s, i, '\'');
            if (run >= 3) context_ = TomlContext::kBare;
            i += run;
            continue;
          }
          break;
        case TomlContext::kComment:
          if (c == '\n') context_ = TomlContext::kBare;
          break;
      }
      ++i;
    }
  }

 private:
  static size_t QuoteRun(std::string_view s, size_t i, char quote) {
    size_t n = 0;
    while (i + n < s.size() && s[i + n] == quote) ++n;
    return n;
  }

  TomlContext context_ = TomlContext::kBare;
  bool escape_pending_ = false;
};

// A cursor over a candidate token, for the few fixed shapes of TOML's bare values.
class TokenCursor {
 public:
  explicit TokenCursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool Accept(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AcceptAnyOf(std::string_view chars) {
    if (i_ < s_.size() && chars.find(s_[i_]) != std::string_view::npos) {
      ++i_;
      return true;
    }
    return false;
  }
  // Exactly `n` decimal digits.
  bool Digits(size_t n) {
    for (size_t k = 0; k < n; ++k) {
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
      ++i_;
    }
    return true;
  }
  // One or more digits, with single underscores between digits (TOML's `1_000`).
  bool DigitRun() {
    if (!Digits(1)) return false;
    while (i_ < s_.size()) {
      if (s_[i_] == '_' && i_ + 1 < s_.size() &&
          std::isdigit(static_cast<unsigned char>(s_[i_ + 1]))) {
        i_ += 2;
      } else if (std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        ++i_;
      } else {
        break;
      }
    }
    return true;
  }
  bool Rest(std::string_view word) {
    if (s_.substr(i_) != word) return false;
    i_ = s_.size();
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Bare-key characters: A-Z a-z 0-9 _ - (which also covers true, false, inf, nan, integers and
// hexadecimal, octal and binary numbers).
bool IsBareKeyToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// A TOML decimal integer or float: [+-] digits [. digits] [(e|E) [+-] digits], or [+-]inf/nan.
bool IsTomlNumber(std::string_view s) {
  TokenCursor t(s);
  t.AcceptAnyOf("+-");
  if (t.Rest("inf") || t.Rest("nan")) return true;
  if (!t.DigitRun()) return false;
  if (t.Accept('.') && !t.DigitRun()) return false;
  if (t.AcceptAnyOf("eE")) {
    t.AcceptAnyOf("+-");
    if (!t.DigitRun()) return false;
  }
  return t.done();
}

// HH:MM:SS[.fraction]
bool AcceptTime(TokenCursor& t) {
  if (!t.Digits(2) || !t.Accept(':') || !t.Digits(2) || !t.Accept(':') || !t.Digits(2)) {
    return false;
  }
  if (t.Accept('.') && !t.Digits(1)) return false;
  while (t.Digits(1)) continue;  // any number of fraction digits
  return true;
}

// A TOML offset date-time, local date-time, local date or local time.
bool IsTomlDateTime(std::string_view s) {
  TokenCursor time_only(s);
  if (AcceptTime(time_only) && time_only.done()) return true;
  TokenCursor t(s);
  if (!t.Digits(4) || !t.Accept('-') || !t.Digits(2) || !t.Accept('-') || !t.Digits(2)) {
    return false;
  }
  if (t.done()) return true;
  if (!t.AcceptAnyOf("Tt ") || !AcceptTime(t)) return false;
  if (t.done() || t.AcceptAnyOf("Zz")) return t.done();
  if (!t.AcceptAnyOf("+-") || !t.Digits(2) || !t.Accept(':') || !t.Digits(2)) return false;
  return t.done();
}

// A string that, written without quotes, is one TOML token and nothing more.
bool IsBareSafe(std::string_view s) {
  return IsBareKeyToken(s) || IsTomlNumber(s) || IsTomlDateTime(s);
}

// The control characters a TOML string or comment may not hold raw: U+0000..U+001F but tab,
// and DEL.
bool IsTomlControl(char c) {
  return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
}

// Appends `c` as a TOML escape sequence (`\n`, `\u001B`).
void AppendTomlEscape(char c, std::string* out) {
  switch (c) {
    case '\b':
      out->append("\\b");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto u = static_cast<unsigned char>(c);
  out->append("\\u00");
  out->push_back(kHex[u >> 4]);
  out->push_back(kHex[u & 0xf]);
}

// `value` as the content of a TOML basic string: quotes, backslashes and control characters
// (newlines among them) escaped, so the string cannot end inside it.
void AppendBasicStringContent(std::string_view value, std::string* out) {
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '\t' || IsTomlControl(c)) {
      AppendTomlEscape(c, out);
    } else {
      out->push_back(c);
    }
  }
}

// `value` in a comment: control characters (newlines among them) written as escapes, so the
// value cannot end the comment's line and start TOML of its own.
void AppendCommentContent(std::string_view value, std::string* out) {
  for (char c : value) {
    if (IsTomlControl(c)) {
      AppendTomlEscape(c, out);
    } else {
      out->push_back(c);
    }
  }
}

// What a literal string cannot hold of `value`, or "" when it can hold all of it: a `'`, and
// control characters but tab (a multi-line literal string also holds newlines).
std::string LiteralStringObstacle(std::string_view value, bool multi_line) {
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\'') return "a ' (a literal string has no escapes)";
    if (multi_line && c == '\n') continue;
    if (multi_line && c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    if (c == '\n') return "a newline";
    if (IsTomlControl(c)) return "a control character";
  }
  return "";
}

}  // namespace

Result<ParsedTemplate> ParseTemplate(std::string_view text, std::string_view source_name) {
  ParsedTemplate parsed;
  LineColumns positions(text);
  TomlLexer lexer;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, open - i));
    lexer.Feed(text.substr(i, open - i));
    // Find the closing `}}` on the same line, skipping over a quoted fallback.
    size_t j = open + 2;
    size_t close = std::string_view::npos;
    bool in_string = false;
    while (j < text.size() && text[j] != '\n') {
      char c = text[j];
      if (in_string) {
        if (c == '\\') {
          ++j;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '}' && j + 1 < text.size() && text[j + 1] == '}') {
        close = j;
        break;
      }
      ++j;
    }
    const std::string position = positions.At(open);
    std::string where = std::string(source_name) + ":" + position;
    if (close == std::string_view::npos) {
      return ParseError(where +
                        ": unterminated template expression: '{{' without '}}' on the "
                        "same line");
    }
    std::string_view body = text.substr(open + 2, close - open - 2);
    while (!body.empty() && IsSpace(body.front())) body.remove_prefix(1);
    while (!body.empty() && IsSpace(body.back())) body.remove_suffix(1);
    TemplateExpression expr;
    expr.offset = open;
    expr.length = close + 2 - open;
    expr.position = position;
    expr.context = lexer.context();
    if (std::string err = ParseExpression(body, &expr); !err.empty()) {
      return ParseError(where + ": malformed template expression: " + err);
    }
    if (lexer.escape_pending()) {
      return ParseError(where +
                        ": template expression right after a '\\' in a TOML string: the "
                        "backslash would escape the value's first character (write '\\\\' "
                        "for a backslash before the value)");
    }
    if (!literal.empty()) parsed.parts.emplace_back(std::move(literal));
    literal.clear();
    parsed.parts.emplace_back(std::move(expr));
    i = close + 2;
  }
  if (!literal.empty()) parsed.parts.emplace_back(std::move(literal));
  return parsed;
}

const json* LookupTemplatePath(const json& state, const std::vector<TemplatePathSegment>& path) {
  const json* node = &state;
  for (const TemplatePathSegment& seg : path) {
    if (node->is_array()) {
      size_t index = seg.index;
      if (!seg.is_index) {
        if (!AllDigits(seg.key) || seg.key.size() > 18) return nullptr;
        index = std::stoull(seg.key);
      }
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else if (node->is_object()) {
      std::string key = seg.is_index ? std::to_string(seg.index) : seg.key;
      auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else {
      return nullptr;
    }
  }
  return node;
}

Result<std::string> RenderTemplate(const ParsedTemplate& parsed, const json& state,
                                   std::string_view source_name, std::vector<std::string>* warnings,
                                   size_t max_bytes) {
  std::string out;
  size_t missing = 0;
  // A value is checked before it is appended: `{{big}}` written 100,000 times over a 16 MiB
  // value must fail at the limit, not after building terabytes.
  auto append = [&](std::string_view text) -> Status {
    if (text.size() > max_bytes - out.size()) {
      return ResourceExhausted(std::string(source_name) +
                               ": the manifest with its template expressions filled in would "
                               "exceed the manifest size limit of " +
                               std::to_string(max_bytes) + " bytes");
    }
    out.append(text);
    return Status::Ok();
  };
  std::string dumped;
  std::string escaped;
  // Inserts `text` where `expr` sits. `is_string` says the text is a string's characters (a value
  // or a fallback), not JSON; `is_fallback` that it was written in the manifest itself.
  auto insert = [&](const TemplateExpression& expr, std::string_view text, bool is_string,
                    bool is_fallback) -> Status {
    auto what = [&] {
      return std::string(source_name) + ":" + expr.position + ": " +
             (is_fallback ? "the fallback of template variable '" : "template variable '") +
             expr.path_text + "'";
    };
    switch (expr.context) {
      case TomlContext::kBare:
        // A fallback is manifest text like the rest (`hosts = {{default h "[]"}}`); a string
        // from the state must be one token, or it could add keys and tables of its own.
        if (is_string && !is_fallback && !IsBareSafe(text)) {
          return InvalidArgument(
              what() +
              " is a string that is not a TOML number, boolean, date-time or bare key, and the "
              "expression is not inside a TOML string: quote the expression (\"{{" +
              expr.path_text + "}}\") to insert it as a string");
        }
        return append(text);
      case TomlContext::kBasicString:
      case TomlContext::kMultiLineBasicString:
        // Escaping only lengthens: a value past the limit fails before it is copied.
        if (text.size() > max_bytes - out.size()) return append(text);
        escaped.clear();
        AppendBasicStringContent(text, &escaped);
        return append(escaped);
      case TomlContext::kLiteralString:
      case TomlContext::kMultiLineLiteralString: {
        const bool multi = expr.context == TomlContext::kMultiLineLiteralString;
        if (std::string obstacle = LiteralStringObstacle(text, multi); !obstacle.empty()) {
          return InvalidArgument(
              what() + " holds " + obstacle + ", which a TOML " +
              (multi ? "multi-line literal string ('''...''')" : "literal string ('...')") +
              " cannot hold: write the expression in a basic string (\"{{" + expr.path_text +
              "}}\"), where values are escaped");
        }
        return append(text);
      }
      case TomlContext::kComment:
        if (text.size() > max_bytes - out.size()) return append(text);
        escaped.clear();
        AppendCommentContent(text, &escaped);
        return append(escaped);
    }
    return append(text);
  };
  auto insert_value = [&](const TemplateExpression& expr, const json& value) -> Status {
    if (value.is_string()) return insert(expr, value.get_ref<const std::string&>(), true, false);
    if (value.is_null()) return Status::Ok();
    dumped = JsonText(value);
    return insert(expr, dumped, false, false);
  };
  for (const auto& part : parsed.parts) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      THEATER_RETURN_IF_ERROR(append(*literal));
      continue;
    }
    const TemplateExpression& expr = std::get<TemplateExpression>(part);
    const json* value = LookupTemplatePath(state, expr.path);
    if (expr.has_default) {
      bool use_fallback = value == nullptr || value->is_null() ||
                          (value->is_string() && value->get_ref<const std::string&>().empty());
      THEATER_RETURN_IF_ERROR(use_fallback ? insert(expr, expr.fallback, true, true)
                                           : insert_value(expr, *value));
      continue;
    }
    if (value == nullptr) {
      ++missing;
      if (warnings && missing <= limits::kMaxTemplateWarnings) {
        warnings->push_back(std::string(source_name) + ":" + expr.position +
                            ": template variable '" + expr.path_text +
                            "' not found in the initial state (inserted as empty)");
      }
      continue;
    }
    THEATER_RETURN_IF_ERROR(insert_value(expr, *value));
  }
  if (warnings && missing > limits::kMaxTemplateWarnings) {
    warnings->push_back(std::string(source_name) + ": " +
                        std::to_string(missing - limits::kMaxTemplateWarnings) +
                        " more template variables not found in the initial state");
  }
  return out;
}

std::string MaskTemplate(const ParsedTemplate& parsed, char mark) {
  std::string out;
  for (const auto& part : parsed.parts) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      out.append(*literal);
    } else {
      const TemplateExpression& expr = std::get<TemplateExpression>(part);
      out.push_back(mark);
      out.append(expr.length - 1, ' ');
    }
  }
  return out;
}

}  // namespace theater
