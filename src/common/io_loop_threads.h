// Theater: a WebAssembly actor runtime.
//
// IoLoopThreads: an IoLoop (include/theater/io_loop.h) of its own: one Boost.Asio io_context, run
// by a fixed number of threads ("theater-io") from construction until Stop(). The runtime's loop,
// and the loop of tests that drive a handler's parts without a runtime.
//
// Thread-safety: context() and threads() from any thread; Stop() once, by the owner, after every
// user of the loop is gone or stopped. Ownership: owns the context and its threads; destroying
// the service stops it and then destroys the context, whose Asio services (the HTTP client's
// libcurl engine) shut down with it.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "theater/io_loop.h"

namespace theater {

class IoLoopThreads final : public IoLoop {
 public:
  explicit IoLoopThreads(size_t threads);
  ~IoLoopThreads() override;
  IoLoopThreads(const IoLoopThreads&) = delete;
  IoLoopThreads& operator=(const IoLoopThreads&) = delete;

  boost::asio::io_context& context() override;
  size_t threads() const override { return threads_.size(); }

  // Lets the threads finish the handlers that are ready, then stops and joins them. Completions
  // not yet ready are abandoned (their operations are cancelled when the context is destroyed).
  // Idempotent.
  void Stop();

 private:
  struct State;  // the context and its work guard (io_loop_service.cc)
  std::unique_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace theater
