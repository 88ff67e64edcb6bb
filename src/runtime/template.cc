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

}  // namespace

Result<ParsedTemplate> ParseTemplate(std::string_view text, std::string_view source_name) {
  ParsedTemplate parsed;
  LineColumns positions(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, open - i));
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
    if (std::string err = ParseExpression(body, &expr); !err.empty()) {
      return ParseError(where + ": malformed template expression: " + err);
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
  auto append_value = [&](const json& value) -> Status {
    if (value.is_string()) return append(value.get_ref<const std::string&>());
    if (value.is_null()) return Status::Ok();
    dumped = JsonText(value);
    return append(dumped);
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
      THEATER_RETURN_IF_ERROR(use_fallback ? append(expr.fallback) : append_value(*value));
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
    THEATER_RETURN_IF_ERROR(append_value(*value));
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
