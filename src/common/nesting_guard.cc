// Theater: a WebAssembly actor runtime.
#include "common/nesting_guard.h"

#include <string>

namespace theater {
namespace {

Status TooDeep(std::string_view what, size_t max_depth, size_t at) {
  return InvalidArgument(std::string(what) + " nests deeper than " + std::to_string(max_depth) +
                         " levels (at byte " + std::to_string(at) + "; the limit is " +
                         std::to_string(max_depth) + ")");
}

// The index just past the string that starts at `i` (text[i] is its opening quote), or the end.
size_t SkipJsonString(std::string_view text, size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // the escaped character, whatever it is
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

// TOML strings: basic "…" (escapes, one line), literal '…' (no escapes, one line), and their
// multi-line forms """…""" and '''…'''. `i` is at the first quote; returns the index past the
// closing quote(s), or the end of the text for an unterminated string (the parser reports it).
size_t SkipTomlString(std::string_view text, size_t i) {
  const char quote = text[i];
  const bool escapes = quote == '"';
  const bool multi = text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''");
  i += multi ? 3 : 1;
  while (i < text.size()) {
    const char c = text[i];
    if (escapes && c == '\\') {
      i += 2;
      continue;
    }
    if (!multi && c == '\n') return i;  // unterminated; let the parser say so
    if (c == quote) {
      if (!multi) return i + 1;
      if (text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''")) {
        // Up to two more quotes may belong to the content ("""a"""""): take the run's end.
        size_t end = i + 3;
        while (end < text.size() && end < i + 5 && text[end] == quote) ++end;
        return end;
      }
    }
    ++i;
  }
  return text.size();
}

}  // namespace

Status CheckJsonNesting(std::string_view text, size_t max_depth, std::string_view what) {
  size_t depth = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      i = SkipJsonString(text, i);
      continue;
    }
    if (c == '[' || c == '{') {
      if (++depth > max_depth) return TooDeep(what, max_depth, i);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    ++i;
  }
  return Status::Ok();
}

Status CheckTomlNesting(std::string_view text, size_t max_depth, std::string_view what) {
  size_t depth = 0;
  // Dots since the last character that ends a key ('=', ',', a bracket or a line end): the
  // components of the key or table header being read, less one. A float or a date value has at
  // most one or two, so values never come near the limit.
  size_t dots = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    switch (c) {
      case '"':
      case '\'':
        i = SkipTomlString(text, i);
        continue;
      case '#':
        while (i < text.size() && text[i] != '\n') ++i;
        continue;
      case '[':
      case '{':
        if (++depth > max_depth) return TooDeep(what, max_depth, i);
        dots = 0;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        dots = 0;
        break;
      case '=':
      case ',':
      case '\n':
        dots = 0;
        break;
      case '.':
        if (++dots >= max_depth) {
          return InvalidArgument(std::string(what) + " has a key or table header of more than " +
                                 std::to_string(max_depth) + " dotted parts (at byte " +
                                 std::to_string(i) + "; the limit is " + std::to_string(max_depth) +
                                 ")");
        }
        break;
      default:
        break;
    }
    ++i;
  }
  return Status::Ok();
}

}  // namespace theater
