// Theater: a WebAssembly actor runtime.
#include <pthread.h>

#include "engine/executor.h"

namespace theater::engine {
namespace {
thread_local int tls_worker_index = -1;
}  // namespace

int Executor::CurrentWorker() {
  return tls_worker_index;
}

Executor::Executor(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  for (int i = 0; i < threads; ++i) {
    workers_[i]->thread = std::thread([this, i] {
      std::string name = "theater-w" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      Loop(i);
    });
  }
}

Executor::~Executor() {
  // Cancel what is still suspended so its fiber unwinds through its own frames.
  std::vector<Task*> live;
  {
    std::lock_guard<std::mutex> lock(live_mutex_);
    live.assign(live_.begin(), live_.end());
  }
  for (Task* task : live) task->call->Cancel();
  for (;;) {
    std::lock_guard<std::mutex> lock(live_mutex_);
    if (live_.empty()) break;
    std::this_thread::yield();
  }
  stopping_ = true;
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mutex);
    w->cv.notify_all();
  }
  for (auto& w : workers_) w->thread.join();
}

void Executor::Start(std::unique_ptr<GuestCall> call, DoneFn done, int worker) {
  auto* task = new Task{std::move(call), std::move(done)};
  task->call->set_on_runnable([this, task](GuestCall&) {
    int w = CurrentWorker();
    Enqueue(task, w);
  });
  {
    std::lock_guard<std::mutex> lock(live_mutex_);
    live_.insert(task);
  }
  Enqueue(task, worker);
}

void Executor::Enqueue(Task* task, int worker) {
  if (worker < 0 || worker >= worker_count()) {
    worker = static_cast<int>(next_.fetch_add(1, std::memory_order_relaxed) % workers_.size());
  }
  Worker& w = *workers_[worker];
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    w.queue.push_back(task);
  }
  w.cv.notify_one();
}

void Executor::Loop(int index) {
  tls_worker_index = index;
  Worker& w = *workers_[index];
  for (;;) {
    Task* task;
    {
      std::unique_lock<std::mutex> lock(w.mutex);
      w.cv.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
      if (w.queue.empty()) return;
      task = w.queue.front();
      w.queue.pop_front();
    }
    if (task->call->Resume() != GuestCall::State::kFinished) continue;
    {
      std::lock_guard<std::mutex> lock(live_mutex_);
      live_.erase(task);
    }
    std::unique_ptr<Task> owned(task);
    owned->call->set_on_runnable(nullptr);
    if (owned->done) owned->done(std::move(owned->call));
  }
}

}  // namespace theater::engine
