// Theater: a WebAssembly actor runtime.
//
// The WIT lexer: turns WIT source text into tokens on demand, one at a time, for the parser in
// parser.h. It owns no memory beyond the pending doc comment; token text points into the source,
// which the caller keeps alive while the lexer is in use.
//
// Besides splitting tokens it enforces the lexical rules of WIT: valid UTF-8, no control
// characters, no bidirectional overrides, non-ASCII only inside comments, balanced nested block
// comments and kebab-case identifiers. Doc comments (`///` and `/** */`) are not discarded but
// attached to the token that follows them.
//
// Thread-safety: a Lexer is a single-threaded cursor; use one per parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::wit::internal {

enum class TokenKind : uint8_t {
  kEnd,
  kIdentifier,  // kebab-case label; `%`-escaped keywords arrive here too, without the `%`
  kInteger,     // digits where no version is expected; no WIT construct takes one
  kVersion,     // the raw text of a version: digits right after '@' or '=' (`@0.2.0`)
  kEquals,
  kComma,
  kColon,
  kSemicolon,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLess,
  kGreater,
  kStar,
  kArrow,
  kSlash,
  kDot,
  kAt,
  kUnderscore,
  // Keywords.
  kAs,
  kAsync,
  kBool,
  kBorrow,
  kChar,
  kConstructor,
  kEnum,
  kErrorContext,
  kExport,
  kF32,
  kF64,
  kFlags,
  kFloat32,
  kFloat64,
  kFrom,
  kFunc,
  kFuture,
  kImport,
  kInclude,
  kInterface,
  kList,
  kOption,
  kOwn,
  kPackage,
  kRecord,
  kResource,
  kResult,
  kS16,
  kS32,
  kS64,
  kS8,
  kStatic,
  kStream,
  kString,
  kTuple,
  kType,
  kU16,
  kU32,
  kU64,
  kU8,
  kUse,
  kVariant,
  kWith,
  kWorld,
};

// A source position; lines and columns count from 1, columns in Unicode scalar values.
struct Location {
  int line = 1;
  int column = 1;
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // identifier name without `%`; the raw text for everything else
  Location location;
  size_t offset = 0;  // byte offset of the token in the source
  std::string docs;   // doc comments written immediately before the token, joined by '\n'
};

// A human-readable name of a token for messages: "identifier 'foo'", "';'", "end of file".
std::string Describe(const Token& token);
// The spelling of a token kind for "expected ..." messages: "';'", "an identifier".
std::string_view Spelling(TokenKind kind);
// Formats "file:line:column: message" as a Status with `code`.
Status ErrorAt(StatusCode code, std::string_view file, Location location, std::string_view message);

class Lexer {
 public:
  Lexer(std::string_view text, std::string file_name);

  // The next token, or a kParseError located at the offending character.
  Result<Token> Next();

  const std::string& file_name() const { return file_name_; }

 private:
  Result<Token> NextToken();
  // Skips whitespace and comments, collecting doc comments into pending_docs_.
  Status SkipTrivia();
  // Decodes the UTF-8 scalar at pos_ into *scalar and *length, or fails.
  Status DecodeScalar(uint32_t* scalar, size_t* length);
  // Moves past `length` bytes holding one scalar (or one ASCII byte), tracking line and column.
  void Advance(size_t length);
  Status ErrorHere(std::string_view message) const;

  std::string_view text_;
  std::string file_name_;
  size_t pos_ = 0;
  Location location_;
  std::string pending_docs_;
  // Versions are only lexed right after '@' (package names) and '=' (feature gates), because
  // elsewhere `1.2` would be three tokens.
  TokenKind last_kind_ = TokenKind::kEnd;
};

}  // namespace theater::wit::internal

namespace theater::wit {

// Checks the kebab-case rules of a WIT identifier (without any `%`), which are also the
// component model's label rules (the binary decoder uses them); returns why it is invalid, or an
// empty string when it is valid.
std::string IdentifierProblem(std::string_view name);

// Checks a semantic version string (the text of a kVersion token, a version in a component's
// interface name); returns why it is invalid, or an empty string when valid.
std::string VersionProblem(std::string_view version);

}  // namespace theater::wit
