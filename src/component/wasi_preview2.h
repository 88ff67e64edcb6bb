// Theater: a WebAssembly actor runtime.
//
// The WASI preview-2 interfaces a component made with the preview-1 adapter imports, served to
// one actor: what a C or C++ actor built against wasi-libc needs, with the same policy as the
// preview-1 functions core modules get (src/runtime/actor_host.cc):
//
//   wasi:cli/stdout, stderr      output streams whose lines go to the actor's log
//   wasi:cli/stdin               an input stream that is closed
//   wasi:cli/environment         no variables, no arguments, no working directory
//   wasi:cli/exit                fails the running call with the status
//   wasi:cli/terminal-*          no terminal
//   wasi:io/streams, error, poll streams as above; pollables are always ready
//   wasi:clocks/wall-clock, monotonic-clock   the real clocks
//   wasi:random/random, insecure, insecure-seed   bytes from Options::random
//   wasi:filesystem/preopens     no directories: nothing is granted
//   wasi:filesystem/types        served, but unreachable: without a descriptor no method can be
//                                called (a made-up handle traps before the host runs)
//
// Interfaces are matched without their version, for any 0.2.x. Every call is reported to
// `Options::record` with its arguments and results (handles as the host's representations), so
// the runtime records it in the chain like any host call: clocks and random bytes are what a
// replay needs. Functions of other WASI interfaces (sockets, http) are not provided; spawning a
// component that imports one fails with its name.
//
// Thread-safety: one instance serves one actor, which runs one call at a time.
// Ownership: the functions Resolve returns point into this object, which must outlive the
// component instance they serve.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "component/value_host.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::component {

class WasiPreview2 {
 public:
  struct Options {
    // A complete line written to stdout or stderr (without its newline).
    std::function<void(std::string_view line)> log;
    // Fills a buffer with random bytes (the runtime's source, shared with preview 1).
    std::function<Status(std::span<uint8_t>)> random;
    // Every call: interface (as imported, with its version), function, arguments and results.
    std::function<void(std::string_view interface_name, std::string_view function,
                       std::span<const abi::Value> params, std::span<const abi::Value> results)>
        record;
  };

  explicit WasiPreview2(Options options);

  // True when `interface_name` is a WASI interface ("wasi:io/streams@0.2.3").
  static bool IsWasi(std::string_view interface_name);

  // The implementation of `import` (an import of a WASI interface), or kNotFound naming it.
  Result<ValueHost::Function> Resolve(const LoweredImport& import);

  // The guest dropped its last owned handle of a WASI resource.
  void Drop(uint32_t rep);

  // Objects alive (streams, errors, pollables), for tests.
  size_t live_objects() const { return objects_.size(); }

 private:
  enum class Kind : uint8_t { kInputStream, kOutputStream, kError, kPollable };
  struct Object {
    Kind kind = Kind::kPollable;
    int stream = 0;  // 0 stdin, 1 stdout, 2 stderr
  };
  using Impl = std::function<Result<std::vector<abi::Value>>(const LoweredImport& import,
                                                             std::vector<abi::Value>& params)>;

  Result<Impl> Find(std::string_view interface_name, std::string_view function);
  Result<std::vector<uint8_t>> RandomBytes(uint64_t len);
  Result<uint64_t> RandomU64();
  uint32_t New(Kind kind, int stream = 0);
  Result<Object*> Get(const abi::Value& handle, Kind kind);
  void Write(int stream, std::span<const uint8_t> bytes);

  Options options_;
  std::map<uint32_t, Object> objects_;
  uint32_t next_rep_ = 1;
  std::string pending_[3];  // stdout and stderr text after the last newline
};

}  // namespace theater::component
