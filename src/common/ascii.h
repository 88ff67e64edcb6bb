// Theater: a WebAssembly actor runtime.
//
// ASCII helpers for protocol text: character classes (WIT and component-model names), case
// folding (HTTP methods and header names, host names, WIT keywords, query words) and HTTP token
// characters. Locale-independent on purpose: std::tolower
// follows the C locale, and protocol names are ASCII by definition. Bytes outside A-Z pass through
// unchanged.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace theater {

constexpr bool AsciiIsLower(char c) {
  return c >= 'a' && c <= 'z';
}
constexpr bool AsciiIsUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
constexpr bool AsciiIsDigit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool AsciiIsAlpha(char c) {
  return AsciiIsLower(c) || AsciiIsUpper(c);
}

constexpr char AsciiToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char AsciiToUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiToLower(c);
  return out;
}

inline std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiToUpper(c);
  return out;
}

inline bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiToLower(a[i]) != AsciiToLower(b[i])) return false;
  }
  return true;
}

// RFC 9110 `tchar`: what HTTP methods and header field names are made of.
constexpr bool IsHttpTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A non-empty RFC 9110 token.
constexpr bool IsHttpToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsHttpTokenChar(c)) return false;
  }
  return true;
}

}  // namespace theater
