// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/names.h"

#include <algorithm>
#include <array>

namespace theater::bindgen {
namespace {

// Words of kebab-case WIT identifiers, lower-cased; a leading `%` (WIT's keyword escape) is
// dropped first.
std::string Normalise(std::string_view wit_name) {
  if (!wit_name.empty() && wit_name.front() == '%') wit_name.remove_prefix(1);
  std::string out;
  out.reserve(wit_name.size());
  for (char c : wit_name) {
    if (c == '-' || c == '.' || c == ':' || c == '/' || c == '@') {
      out += '_';
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
    } else {
      out += '_';
    }
  }
  if (out.empty() || (out.front() >= '0' && out.front() <= '9')) out.insert(out.begin(), '_');
  return out;
}

constexpr std::array<std::string_view, 113> kKeywords = {
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "co_await",
    "co_return",
    "co_yield",
    "compl",
    "concept",
    "const",
    "consteval",
    "constexpr",
    "constinit",
    "const_cast",
    "continue",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_Bool",
    "_Complex",
    "_Generic",
    "_Imaginary",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
    // Macros of the C library that a field or parameter name would collide with once the actor
    // includes <stdio.h> or <errno.h> (wasi-libc defines stdout as `(stdout)`, so `x.stdout` no
    // longer parses).
    "errno",
    "stdin",
    "stdout",
    "stderr",
    "assert",
    "offsetof",
    "NULL",
    "main",
    "free",
    "malloc",
};

}  // namespace

bool IsKeyword(std::string_view identifier) {
  return std::find(kKeywords.begin(), kKeywords.end(), identifier) != kKeywords.end();
}

std::string SnakeName(std::string_view wit_name) {
  std::string out = Normalise(wit_name);
  if (IsKeyword(out)) out += '_';
  return out;
}

std::string SnakeWords(std::string_view wit_name) {
  return Normalise(wit_name);
}

std::string UpperName(std::string_view wit_name) {
  std::string out = Normalise(wit_name);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string CamelName(std::string_view wit_name) {
  std::string words = Normalise(wit_name);
  std::string out;
  bool upper = true;
  for (char c : words) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  if (out.empty() || (out.front() >= '0' && out.front() <= '9')) out.insert(out.begin(), 'X');
  if (IsKeyword(out)) out += '_';
  return out;
}

std::string RustSnakeName(std::string_view wit_name) {
  static constexpr std::string_view kRustKeywords[] = {
      "as",   "async",  "await",    "box",    "break",  "const",   "continue", "dyn",
      "else", "enum",   "extern",   "false",  "fn",     "for",     "if",       "impl",
      "in",   "let",    "loop",     "macro",  "match",  "mod",     "move",     "mut",
      "pub",  "ref",    "return",   "static", "struct", "trait",   "true",     "try",
      "type", "unsafe", "use",      "where",  "while",  "yield",   "abstract", "become",
      "do",   "final",  "override", "priv",   "typeof", "unsized", "virtual"};
  std::string out = Normalise(wit_name);
  if (out == "self" || out == "super" || out == "crate") return out + "_";
  for (std::string_view keyword : kRustKeywords) {
    if (out == keyword) return "r#" + out;
  }
  return out;
}

std::string RustTypeName(std::string_view wit_name) {
  static constexpr std::string_view kTaken[] = {
      "Option", "Result", "String", "Vec",  "Box",   "Self",    "Some",  "None",  "Ok",
      "Err",    "Drop",   "Sized",  "Copy", "Clone", "Default", "Debug", "Guest", "PartialEq"};
  std::string out = CamelName(wit_name);
  if (!out.empty() && out.back() == '_' && IsKeyword(out.substr(0, out.size() - 1))) {
    out.pop_back();  // CamelName's C++ escape ("Class_" is no Rust keyword): Rust needs none
  }
  for (std::string_view taken : kTaken) {
    if (out == taken) return out + "_";
  }
  return out;
}

std::string StripVersion(std::string_view qualified_name) {
  return std::string(qualified_name.substr(0, qualified_name.find('@')));
}

}  // namespace theater::bindgen
