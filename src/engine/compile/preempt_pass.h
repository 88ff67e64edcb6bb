// Theater: a WebAssembly actor runtime.
//
// The preemption pass: inserts a yield check (WASM_RT_PREEMPT_CHECK(), defined in wasm-rt.h) into
// the C that wasm2c wrote, at the entry of every function and at the head of every loop, so that
// a guest running past its time slice gives its worker back at the next loop iteration or call
// (docs/engine.md, "Time slices").
//
// It reads wabt 1.0.32's output as text, one line at a time, with a small C lexer that knows when
// a line starts inside a comment or a literal (export names are copied into comments, newlines
// included, so a name could otherwise forge a line the pass would rewrite). Outside those, and
// only there, it rewrites two kinds of lines exactly:
//   "  FUNC_PROLOGUE;"      the first statement of every translated function (once each);
//   "<spaces><ident>: "     a loop's label, which is where its back-edge `goto`s jump.
// wasm2c writes block labels as "<ident>:;" and switch cases with their statement on the same
// line, so neither matches. The work is linear in the size of the input, without backtracking.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::engine {

struct PreemptPassResult {
  std::string source;          // the instrumented C
  size_t function_checks = 0;  // one per translated function
  size_t loop_checks = 0;      // one per loop
};

// Instruments `c_source`. `defined_functions` is the count of the module's function section: the
// pass must find exactly that many function prologues, or the output of wasm2c is not what it
// expects and the module is refused (kInternal) rather than compiled without checks.
Result<PreemptPassResult> InsertPreemptChecks(std::string_view c_source, size_t defined_functions);

}  // namespace theater::engine
