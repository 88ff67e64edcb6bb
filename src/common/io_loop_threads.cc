// Theater: a WebAssembly actor runtime.
#include "common/io_loop_threads.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

namespace theater {

struct IoLoopThreads::State {
  boost::asio::io_context context;
  // Keeps run() going while nothing is pending: handlers add work at any time.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      context.get_executor()};
};

IoLoopThreads::IoLoopThreads(size_t threads) : state_(std::make_unique<State>()) {
  threads = std::max<size_t>(threads, 1);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([context = &state_->context] {
      pthread_setname_np(pthread_self(), "theater-io");
      for (;;) {
        try {
          context->run();
          return;
        } catch (const std::exception& e) {
          // A completion threw (none should): what it served is dropped with it; the loop, which
          // every handler shares, goes on.
          std::fprintf(stderr, "theater: a completion on the I/O loop threw: %s\n", e.what());
        }
      }
    });
  }
}

IoLoopThreads::~IoLoopThreads() {
  Stop();
}

boost::asio::io_context& IoLoopThreads::context() {
  return state_->context;
}

void IoLoopThreads::Stop() {
  if (state_->work) {
    state_->work.reset();
    state_->context.stop();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace theater
