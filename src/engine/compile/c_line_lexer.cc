// Theater: a WebAssembly actor runtime.
#include "engine/compile/c_line_lexer.h"

namespace theater::engine {

CLexState AdvanceCLine(CLexState state, std::string_view line) {
  bool escape_at_end = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    const char next = i + 1 < line.size() ? line[i + 1] : '\0';
    switch (state) {
      case CLexState::kCode:
        if (c == '/' && next == '*') {
          state = CLexState::kBlockComment;
          ++i;
        } else if (c == '/' && next == '/') {
          state = CLexState::kLineComment;
          i = line.size();
        } else if (c == '"') {
          state = CLexState::kString;
        } else if (c == '\'') {
          state = CLexState::kChar;
        }
        break;
      case CLexState::kBlockComment:
        if (c == '*' && next == '/') {
          state = CLexState::kCode;
          ++i;
        }
        break;
      case CLexState::kString:
      case CLexState::kChar:
        if (c == '\\') {
          if (i + 1 == line.size()) escape_at_end = true;
          ++i;
        } else if (c == (state == CLexState::kString ? '"' : '\'')) {
          state = CLexState::kCode;
        }
        break;
      case CLexState::kLineComment:
        i = line.size();
        break;
    }
  }
  // A backslash before the newline continues a line comment or a literal onto the next line.
  const bool continued = !line.empty() && line.back() == '\\';
  switch (state) {
    case CLexState::kLineComment:
      return continued ? state : CLexState::kCode;
    case CLexState::kString:
    case CLexState::kChar:
      return escape_at_end ? state : CLexState::kCode;
    default:
      return state;
  }
}

}  // namespace theater::engine
