// Theater: a WebAssembly actor runtime.
#include "engine/compile/preempt_pass.h"

#include "engine/compile/c_line_lexer.h"

namespace theater::engine {
namespace {

// What wasm2c 1.0.32 writes as the first statement of every function it translates.
constexpr std::string_view kPrologueLine = "  FUNC_PROLOGUE;";
// The statement inserted; the macro lives in the runtime header (wasm-rt.h), so the check's code
// is part of the compile cache key like the rest of that header.
constexpr std::string_view kCheck = "WASM_RT_PREEMPT_CHECK();";

// "<one or more spaces><identifier>: " and nothing else: how wasm2c opens a loop (the loop body
// follows on the next lines; the back-edges are `goto <identifier>;`).
bool IsLoopLabel(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == 0 || i == line.size() || !IsCIdentStart(line[i])) return false;
  const size_t start = i;
  while (i < line.size() && IsCIdentChar(line[i])) ++i;
  if (line.substr(start, i - start) == "default") return false;
  return line.substr(i) == ": ";
}

}  // namespace

Result<PreemptPassResult> InsertPreemptChecks(std::string_view c_source, size_t defined_functions) {
  PreemptPassResult out;
  // Each check adds about 25 bytes; one per 64 bytes of input is a generous first guess.
  out.source.reserve(c_source.size() + c_source.size() / 64 * kCheck.size());
  ForEachCLine(c_source, [&](std::string_view line, bool in_code, bool newline) {
    out.source.append(line);
    if (in_code) {
      if (line == kPrologueLine) {
        out.source.push_back(' ');
        out.source.append(kCheck);
        ++out.function_checks;
      } else if (IsLoopLabel(line)) {
        out.source.append(kCheck);
        ++out.loop_checks;
      }
    }
    if (newline) out.source.push_back('\n');
  });
  if (out.function_checks != defined_functions) {
    return InternalError("the preemption pass found " + std::to_string(out.function_checks) +
                         " function prologues in wasm2c's output for a module that defines " +
                         std::to_string(defined_functions) +
                         " functions (is this wasm2c not wabt 1.0.32?)");
  }
  return out;
}

}  // namespace theater::engine
