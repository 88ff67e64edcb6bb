// Theater: a WebAssembly actor runtime.
//
// A crash report on stderr for a long-running process (`theater server`): when the process dies
// of SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, the handler writes which signal, the faulting
// address and the stack (one line per frame, as glibc's backtrace_symbols_fd prints them:
// `theater(+0x1d2e4f)`, which `addr2line -f -C -e theater 0x1d2e4f` names), then dies of the same
// signal with the default action, so that exit statuses and core dumps are what they would have
// been. The wasm engine installs its fault handler after this one and hands it every fault that
// is not a guest's own, so guest traps never reach it.
//
// Not installed under AddressSanitizer, which reports crashes itself. Call once, early, from the
// main thread before other threads start; the handler uses only async-signal-safe calls (the
// unwinder is loaded at install time).
#pragma once

namespace theater {

// `program` names the process in the report's first line; it must outlive the process (a
// string literal).
void InstallCrashReport(const char* program);

}  // namespace theater
