// Theater: a WebAssembly actor runtime.
//
// A line-at-a-time C lexer for the passes that read wasm2c's output as text (preempt_pass.h,
// unit_splitter.h). It answers one question: does the next line start in code, or inside a
// comment or a string/character literal? Export names are copied into comments and literals,
// newlines included, so a name could otherwise forge a line that a pass would rewrite or take
// for the start of a definition. Linear in the input, without backtracking.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace theater::engine {

// Where the lexer is at a point of the C text.
enum class CLexState { kCode, kBlockComment, kLineComment, kString, kChar };

// The state after `line` (without its newline), starting in `state`.
CLexState AdvanceCLine(CLexState state, std::string_view line);

// Calls visit(line, starts_in_code, ends_with_newline) for each line of `source`, in order; the
// line is without its newline. The one walk the passes over wasm2c's text share.
template <typename Visit>
void ForEachCLine(std::string_view source, Visit&& visit) {
  CLexState state = CLexState::kCode;
  size_t pos = 0;
  while (pos < source.size()) {
    const size_t newline = source.find('\n', pos);
    const size_t end = newline == std::string_view::npos ? source.size() : newline;
    const std::string_view line = source.substr(pos, end - pos);
    visit(line, state == CLexState::kCode, newline != std::string_view::npos);
    state = AdvanceCLine(state, line);
    if (newline == std::string_view::npos) break;
    pos = newline + 1;
  }
}

inline bool IsCIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool IsCIdentChar(char c) {
  return IsCIdentStart(c) || (c >= '0' && c <= '9');
}

}  // namespace theater::engine
