// Theater: a WebAssembly actor runtime.
//
// Identifier mangling for the guest binding generators: turns WIT names (kebab-case, possibly
// written with a leading `%` or in upper case) into C and C++ identifiers that never collide
// with a keyword of either language, because the C layer of the bindings is compiled as C11 and
// as C++20.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace theater::bindgen {

// "open-channel" -> "open_channel"; keywords get a trailing underscore ("new" -> "new_").
std::string SnakeName(std::string_view wit_name);
// Like SnakeName without the keyword escape, for parts of longer identifiers.
std::string SnakeWords(std::string_view wit_name);
// "open-channel" -> "OPEN_CHANNEL" (for enum, flags and variant tag constants).
std::string UpperName(std::string_view wit_name);
// "channel-accept" -> "ChannelAccept" (C++ types and functions).
std::string CamelName(std::string_view wit_name);
// Rust identifiers: "open-channel" -> "open_channel"; a Rust keyword becomes a raw identifier
// ("type" -> "r#type"), except the four that cannot be raw (self, super, crate, Self), which get a
// trailing underscore.
std::string RustSnakeName(std::string_view wit_name);
// "channel-accept" -> "ChannelAccept"; a name the bindings or the prelude need unshadowed
// (Option, Result, String, Vec, Box, Self, ...) gets a trailing underscore.
std::string RustTypeName(std::string_view wit_name);
// True for the reserved words of C11 and C++20, and the C library's macros and functions (errno,
// stdout, assert, malloc, ...), that could clash with generated identifiers.
bool IsKeyword(std::string_view identifier);
// "theater:simple/runtime@0.1.0" -> "theater:simple/runtime": the core-module naming
// convention leaves versions out of import modules and export names.
std::string StripVersion(std::string_view qualified_name);

}  // namespace theater::bindgen
