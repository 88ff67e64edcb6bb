// Theater: a WebAssembly actor runtime.
//
// Manifest templates: `{{path}}` and `{{default path "fallback"}}` expressions in manifest text,
// filled in from the actor's initial state (a JSON object) before the TOML is parsed. The syntax
// and semantics are specified in docs/manifest.md ("Templates").
//
// ParseTemplate() splits text into literal runs and expressions and reports malformed templates
// with line:column; it also notes where in the TOML each expression sits (bare, in a basic or
// literal string, in a comment), so that RenderTemplate() can insert each value as that place
// needs it (escaped in a basic string, checked in a literal string or bare) and no value can
// leave its string and add TOML of its own. MaskTemplate() replaces each expression with a
// same-sized neutral value so the text can be parsed before the state is known (to find
// `init_state`).
//
// Thread-safety: plain values and pure functions. Nothing here throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/limits.h"
#include "theater/status.h"

namespace theater {

// One step of a variable path: an object key or an array index (`[0]`).
struct TemplatePathSegment {
  std::string key;   // the key, when !is_index
  size_t index = 0;  // the index, when is_index
  bool is_index = false;
};

// Where in the TOML text an expression sits, as the literal text around it says.
enum class TomlContext {
  kBare,                    // outside strings and comments: a value, a key, ...
  kBasicString,             // "..."
  kMultiLineBasicString,    // """..."""
  kLiteralString,           // '...'
  kMultiLineLiteralString,  // '''...'''
  kComment,                 // # ... to the end of the line
};

// One `{{...}}` expression.
struct TemplateExpression {
  std::string path_text;  // the path as written, for messages
  std::vector<TemplatePathSegment> path;
  bool has_default = false;  // `{{default path "fallback"}}`
  std::string fallback;      // the unescaped fallback text
  size_t offset = 0;         // byte offset of `{{` in the source
  size_t length = 0;         // bytes from `{{` through `}}`
  std::string position;      // "line:col" of `{{`
  TomlContext context = TomlContext::kBare;
};

// A parsed template: literal text and expressions in source order.
struct ParsedTemplate {
  std::vector<std::variant<std::string, TemplateExpression>> parts;
};

// Parses `text`. Errors: kParseError "source:line:col: <what>" for an unterminated `{{`, an empty
// expression, a malformed path, an unknown helper, a bad `default` call, or an expression right
// after a `\` in a TOML basic string (the backslash would escape the value's first character).
Result<ParsedTemplate> ParseTemplate(std::string_view text, std::string_view source_name);

// The text with every expression filled in from `state` (see docs/manifest.md, "What is
// inserted", for the rules): in a basic string a value is escaped as string content; in a literal
// string, or bare, a value the place cannot hold is refused; in a comment a value cannot end the
// line. Each variable that does not exist adds "source:line:col: template variable 'x' not found
// in the initial state (inserted as empty)" to `warnings`.
// Warnings stop at limits::kMaxTemplateWarnings, then one line counts the rest. Errors:
// kInvalidArgument "source:line:col: template variable 'x' ..." for a value its place cannot
// hold, saying what to write instead; kResourceExhausted when the text would grow past
// `max_bytes`.
Result<std::string> RenderTemplate(const ParsedTemplate& parsed, const nlohmann::json& state,
                                   std::string_view source_name, std::vector<std::string>* warnings,
                                   size_t max_bytes = limits::kMaxManifestBytes);

// The text with every expression replaced by `mark` (default `0`) padded with spaces to the
// expression's length, so positions in the result equal positions in the source.
std::string MaskTemplate(const ParsedTemplate& parsed, char mark = '0');

// Looks `path` up in `state`; nullptr when any step is missing.
const nlohmann::json* LookupTemplatePath(const nlohmann::json& state,
                                         const std::vector<TemplatePathSegment>& path);

}  // namespace theater
