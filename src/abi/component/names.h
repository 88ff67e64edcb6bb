// Theater: a WebAssembly actor runtime.
//
// The component model's name grammar: kebab-case labels (record fields, cases, parameters),
// plain names of imports and exports (`log`, `[method]blob.read`), interface names
// (`wasi:io/streams@0.2.3`), and the dependency/URL/hash forms imports may also take. The
// decoder checks every name against these; the functions return an empty string for a valid name
// and otherwise a phrase saying what is wrong, for the decoder to put in its message.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

namespace theater::component {

// label ::= fragment ('-' fragment)*, fragment ::= [a-z][0-9a-z]* | [A-Z][0-9A-Z]*
std::string CheckLabel(std::string_view name);
// A plain name or an interface name.
std::string CheckExportName(std::string_view name);
// An export name, or `unlocked-dep=<...>`, `locked-dep=<...>`, `url=<...>`, `integrity=<...>`.
std::string CheckImportName(std::string_view name);

// The key under which names are compared for uniqueness: the spec treats labels differing only
// in case as equal.
std::string NameKey(std::string_view name);

}  // namespace theater::component
