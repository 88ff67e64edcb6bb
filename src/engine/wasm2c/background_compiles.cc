// Theater: a WebAssembly actor runtime.
#include "engine/wasm2c/background_compiles.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace theater::engine {

namespace {
// The nice value of the thread and of the compilers it starts: the lowest priority there is.
constexpr int kBackgroundNice = 19;
}  // namespace

BackgroundCompiles::~BackgroundCompiles() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cancel_.store(true, std::memory_order_release);
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundCompiles::Add(Job job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  jobs_.push_back(std::move(job));
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  changed_.notify_all();
}

size_t BackgroundCompiles::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size() + running_;
}

bool BackgroundCompiles::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [this] { return jobs_.empty() && running_ == 0; });
}

void BackgroundCompiles::Run() {
  // On Linux a nice value belongs to a thread, and a child process starts with its parent
  // thread's. Failing to lower it is harmless: the compile still runs, only not as politely.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kBackgroundNice);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = 1;
    lock.unlock();
    job(cancel_);
    job = nullptr;  // what the job holds goes before the next one starts
    lock.lock();
    running_ = 0;
    changed_.notify_all();
  }
}

}  // namespace theater::engine
