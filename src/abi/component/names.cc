// Theater: a WebAssembly actor runtime.
#include "abi/component/names.h"

#include "abi/wit/lexer.h"
#include "common/ascii.h"

#include <vector>

namespace theater::component {
namespace {

std::string Quote(std::string_view s) {
  return "`" + std::string(s) + "`";
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// words ::= word ('-' word)*, word ::= [a-z][0-9a-z]*  (namespaces admit no acronyms)
bool IsWords(std::string_view s) {
  for (std::string_view word : Split(s, '-')) {
    if (word.empty() || !AsciiIsLower(word[0])) return false;
    for (char c : word) {
      if (!AsciiIsLower(c) && !AsciiIsDigit(c)) return false;
    }
  }
  return true;
}

std::string CheckPlainName(std::string_view name) {
  struct Annotation {
    std::string_view prefix;
    bool dotted;
  };
  static constexpr Annotation kAnnotations[] = {
      {"[constructor]", false}, {"[method]", true}, {"[static]", true}};
  if (!name.empty() && name[0] == '[') {
    for (const Annotation& a : kAnnotations) {
      if (name.substr(0, a.prefix.size()) != a.prefix) continue;
      std::string_view rest = name.substr(a.prefix.size());
      if (!a.dotted) return CheckLabel(rest);
      const size_t dot = rest.find('.');
      if (dot == std::string_view::npos) {
        return Quote(name) + " needs `resource.function` after " + Quote(a.prefix);
      }
      if (std::string e = CheckLabel(rest.substr(0, dot)); !e.empty()) return e;
      return CheckLabel(rest.substr(dot + 1));
    }
    return Quote(name) + " has an unknown annotation (expected [constructor], [method] or " +
           "[static])";
  }
  return CheckLabel(name);
}

std::string CheckInterfaceName(std::string_view name) {
  std::string_view path = name;
  if (const size_t at = name.find('@'); at != std::string_view::npos) {
    if (!wit::VersionProblem(name.substr(at + 1)).empty()) {
      return Quote(name) + " has an invalid semver version " + Quote(name.substr(at + 1));
    }
    path = name.substr(0, at);
  }
  const auto namespaces = Split(path, ':');
  for (size_t i = 0; i + 1 < namespaces.size(); ++i) {
    if (!IsWords(namespaces[i])) {
      return Quote(name) + " has an invalid namespace " + Quote(namespaces[i]);
    }
  }
  const auto labels = Split(namespaces.back(), '/');
  if (labels.size() < 2) return Quote(name) + " names no interface after the package";
  for (std::string_view label : labels) {
    if (std::string e = CheckLabel(label); !e.empty()) return Quote(name) + ": " + e;
  }
  return "";
}

// `prefix<...>` followed by nothing or by `,integrity=<...>` when `allow_integrity`.
bool IsBracketed(std::string_view name, std::string_view prefix, bool allow_integrity) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = name.substr(prefix.size());
  if (rest.empty() || rest[0] != '<') return false;
  // Version ranges (`@{>=1.0.0 <2.0.0}`) put angle brackets inside braces.
  size_t close = 1;
  int braces = 0;
  for (; close < rest.size(); ++close) {
    const char c = rest[close];
    if (c == '{') ++braces;
    if (c == '}' && --braces < 0) return false;
    if (braces == 0 && c == '<') return false;
    if (braces == 0 && c == '>') break;
  }
  if (close == rest.size() || close == 1) return false;
  rest = rest.substr(close + 1);
  if (rest.empty()) return true;
  return allow_integrity && rest[0] == ',' &&
         IsBracketed(rest.substr(1), "integrity=", /*allow_integrity=*/false);
}

}  // namespace

// The same grammar as WIT identifiers, so one check serves both.
std::string CheckLabel(std::string_view name) {
  const std::string problem = wit::IdentifierProblem(name);
  return problem.empty() ? "" : Quote(name) + " is not kebab-case: " + problem;
}

std::string CheckExportName(std::string_view name) {
  if (name.find(':') != std::string_view::npos) return CheckInterfaceName(name);
  return CheckPlainName(name);
}

std::string CheckImportName(std::string_view name) {
  static constexpr std::string_view kPrefixes[] = {
      "unlocked-dep=", "locked-dep=", "url=", "integrity="};
  for (std::string_view prefix : kPrefixes) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    if (IsBracketed(name, prefix, prefix != "integrity=")) return "";
    return Quote(name) + " is not a valid " + std::string(prefix.substr(0, prefix.size() - 1)) +
           " name";
  }
  return CheckExportName(name);
}

std::string NameKey(std::string_view name) {
  std::string key(name);
  for (char& c : key) {
    if (AsciiIsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

}  // namespace theater::component
