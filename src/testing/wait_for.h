// Theater: a WebAssembly actor runtime.
//
// WaitFor: how a test waits for something another thread or process is to do. A test that sleeps
// a fixed time and then asserts that something has happened fails on a machine slow or busy enough
// that it had not happened yet; WaitFor polls the condition instead, and the deadline is only how
// long a failing test takes to say so, so it is generous. Test-only; header-only; used from the
// test's thread.
#pragma once

#include <chrono>
#include <thread>

namespace theater::testing_util {

// Polls `pred` every 2 ms until it holds or `timeout` passes; returns its last answer.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace theater::testing_util
