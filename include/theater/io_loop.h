// Theater: a WebAssembly actor runtime.
//
// IoLoop: the host's one I/O event loop, which every handler that waits on the outside world
// shares through HostServices::io(): HTTP servers, the HTTP client's transfers (libcurl's multi
// interface driven by the loop's sockets and timers), the pipes of child processes. A handler
// never starts a thread of its own to wait: it puts its sockets, descriptors and timers on the
// loop's io_context, so a host with any number of actors runs on a fixed number of threads
// (docs/architecture.md, "Threads").
//
// The loop is Boost.Asio's io_context, run by IoLoop::threads() threads (RuntimeOptions::
// io_threads, 1 by default). Completion handlers must be quick and never block: they run on the
// threads every handler shares. A handler whose completions touch common state runs them on a
// strand of its own (boost::asio::make_strand(loop.context())) so that it is right for any
// number of loop threads; per-loop singletons (one libcurl multi handle for every actor) are
// Asio services of the context (boost::asio::use_service), destroyed with it.
//
// Thread-safety: every method may be called from any thread. Ownership: the runtime owns the
// loop; it outlives every actor and handler, and stops (joining its threads, then destroying
// the context and its services) only after every actor is gone.
#pragma once

#include <cstddef>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace theater {

class IoLoop {
 public:
  virtual ~IoLoop() = default;
  // The context whose threads run the completions of everything made on it.
  virtual boost::asio::io_context& context() = 0;
  // How many threads run the context.
  virtual size_t threads() const = 0;
};

}  // namespace theater
