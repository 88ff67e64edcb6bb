// Theater: a WebAssembly actor runtime.
//
// UTF-8, the project's one implementation: validation, decoding, encoding and sanitizing. Strict
// RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
// truncated sequences, which is what a Rust `str` or a Python `bytes.decode('utf-8')` accepts and
// what the canonical ABI demands of strings crossing the guest boundary; the component decoder's
// names, the HTTP router's paths and the chain's rendering apply the same rule.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace theater {

// Returns the offset of the first byte that does not start or continue a valid sequence, or
// nullopt when all of `bytes` is valid UTF-8.
std::optional<size_t> FindInvalidUtf8(std::string_view bytes);

// True when all of `bytes` is valid UTF-8.
inline bool IsValidUtf8(std::string_view bytes) {
  return !FindInvalidUtf8(bytes).has_value();
}

// Decodes the UTF-8 sequence at s[i] (i < s.size()) into *cp; returns its length, or 0 when it is
// invalid (overlong, surrogate, beyond U+10FFFF or truncated).
size_t Utf8SequenceAt(std::string_view s, size_t i, char32_t* cp);

// A C0 or C1 control character, or DEL.
inline bool IsControlCodePoint(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

// Valid UTF-8 with no control characters other than tab, newline and carriage return: bytes a
// person can be shown as text (the chain's rendering, the CLI's message output).
bool IsPrintableUtf8(std::string_view s);

// `bytes` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD: text
// from outside (process output, HTTP headers, chain fields) made safe to pass as a WIT string
// or to JSON.
std::string SanitizeUtf8(std::string_view bytes);

// Untrusted input as an error message quotes it: in single quotes, at most `max_bytes` of it (cut
// at a character boundary), every control character, quote, backslash and invalid byte as \xNN,
// and when cut, " (N bytes)" after the closing quote, with "…" before it: a message never
// carries more than a few hundred bytes of what it refuses, however long that was, and a hostile
// text cannot forge or garble the line it is quoted in.
std::string QuoteInput(std::string_view text, size_t max_bytes = 200);

// Text a guest or a peer controls made safe to print on a terminal as one line: invalid bytes
// become U+FFFD, newline, tab and carriage return become \n, \t and \r, and every other control
// character \xNN, so no escape sequence reaches the terminal (the chain's rendering, actor logs).
std::string TerminalSafe(std::string_view s);

// Appends the UTF-8 encoding of scalar value `c` to `out`.
void AppendUtf8(char32_t c, std::string* out);

// True for a Unicode scalar value: at most U+10FFFF and not a surrogate.
inline bool IsScalarValue(uint64_t c) {
  return c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
}

}  // namespace theater
