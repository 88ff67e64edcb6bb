// Theater: a WebAssembly actor runtime.
#include "engine/compile/preempt_pass.h"

namespace theater::engine {
namespace {

// What wasm2c 1.0.32 writes as the first statement of every function it translates.
constexpr std::string_view kPrologueLine = "  FUNC_PROLOGUE;";
// The statement inserted; the macro lives in the runtime header (wasm-rt.h), so the check's code
// is part of the compile cache key like the rest of that header.
constexpr std::string_view kCheck = "WASM_RT_PREEMPT_CHECK();";

// Where the lexer is at a point of the C text.
enum class Lex { kCode, kBlockComment, kLineComment, kString, kChar };

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9');
}

// "<one or more spaces><identifier>: " and nothing else: how wasm2c opens a loop (the loop body
// follows on the next lines; the back-edges are `goto <identifier>;`).
bool IsLoopLabel(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == 0 || i == line.size() || !IsIdentStart(line[i])) return false;
  const size_t start = i;
  while (i < line.size() && IsIdentChar(line[i])) ++i;
  if (line.substr(start, i - start) == "default") return false;
  return line.substr(i) == ": ";
}

// The lexer state after `line` (without its newline), starting in `state`. Comments and literals
// are what matters: a rewrite is only ever made to a line that starts in code.
Lex Advance(Lex state, std::string_view line) {
  bool escape_at_end = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    const char next = i + 1 < line.size() ? line[i + 1] : '\0';
    switch (state) {
      case Lex::kCode:
        if (c == '/' && next == '*') {
          state = Lex::kBlockComment;
          ++i;
        } else if (c == '/' && next == '/') {
          state = Lex::kLineComment;
          i = line.size();
        } else if (c == '"') {
          state = Lex::kString;
        } else if (c == '\'') {
          state = Lex::kChar;
        }
        break;
      case Lex::kBlockComment:
        if (c == '*' && next == '/') {
          state = Lex::kCode;
          ++i;
        }
        break;
      case Lex::kString:
      case Lex::kChar:
        if (c == '\\') {
          if (i + 1 == line.size()) escape_at_end = true;
          ++i;
        } else if (c == (state == Lex::kString ? '"' : '\'')) {
          state = Lex::kCode;
        }
        break;
      case Lex::kLineComment:
        i = line.size();
        break;
    }
  }
  // A backslash before the newline continues a line comment or a literal onto the next line.
  const bool continued = !line.empty() && line.back() == '\\';
  switch (state) {
    case Lex::kLineComment:
      return continued ? state : Lex::kCode;
    case Lex::kString:
    case Lex::kChar:
      return escape_at_end ? state : Lex::kCode;
    default:
      return state;
  }
}

}  // namespace

Result<PreemptPassResult> InsertPreemptChecks(std::string_view c_source, size_t defined_functions) {
  PreemptPassResult out;
  // Each check adds about 25 bytes; one per 64 bytes of input is a generous first guess.
  out.source.reserve(c_source.size() + c_source.size() / 64 * kCheck.size());
  Lex state = Lex::kCode;
  size_t pos = 0;
  while (pos < c_source.size()) {
    const size_t newline = c_source.find('\n', pos);
    const size_t end = newline == std::string_view::npos ? c_source.size() : newline;
    const std::string_view line = c_source.substr(pos, end - pos);
    out.source.append(line);
    if (state == Lex::kCode) {
      if (line == kPrologueLine) {
        out.source.push_back(' ');
        out.source.append(kCheck);
        ++out.function_checks;
      } else if (IsLoopLabel(line)) {
        out.source.append(kCheck);
        ++out.loop_checks;
      }
    }
    state = Advance(state, line);
    if (newline == std::string_view::npos) break;
    out.source.push_back('\n');
    pos = newline + 1;
  }
  if (out.function_checks != defined_functions) {
    return InternalError("the preemption pass found " + std::to_string(out.function_checks) +
                         " function prologues in wasm2c's output for a module that defines " +
                         std::to_string(defined_functions) +
                         " functions (is this wasm2c not wabt 1.0.32?)");
  }
  return out;
}

}  // namespace theater::engine
