// Theater: a WebAssembly actor runtime.
#include <pthread.h>

#include "engine/executor.h"

#include "engine/wasm2c/runtime.h"

namespace theater::engine {
namespace {
thread_local int tls_worker_index = -1;
}  // namespace

int Executor::CurrentWorker() {
  return tls_worker_index;
}

Executor::Executor(int threads, std::chrono::nanoseconds slice) : slice_(slice) {
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
  task->call->set_preempt_slice(slice_);
  task->call->set_on_runnable([this, task](GuestCall& call) {
    int w = CurrentWorker();
    Enqueue(task, w, call.yielded());
  });
  {
    std::lock_guard<std::mutex> lock(live_mutex_);
    live_.insert(task);
  }
  Enqueue(task, worker);
}

void Executor::Enqueue(Task* task, int worker, bool yielded) {
  int self = CurrentWorker();
  if (worker < 0 || worker >= worker_count()) {
    worker =
        self >= 0
            ? self
            : static_cast<int>(next_.fetch_add(1, std::memory_order_relaxed) % workers_.size());
  }
  Worker& w = *workers_[worker];
  // A worker that queues a call for itself between calls (a guest's suspend publishing, a call's
  // completion) returns to its loop right away: when its queue was empty it runs the call next
  // itself, and waking another worker would only make that one find nothing (a futex wake and
  // two context switches per request/reply otherwise). Inside a guest call the worker may stay
  // busy for a whole slice, so there an idle worker is still woken to steal.
  const bool own_between_calls = worker == self && rt::CurrentCallState() == nullptr;
  bool target_sleeps, runs_next_here;
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    runs_next_here = own_between_calls && w.queue.empty() && w.yielded.empty();
    (yielded ? w.yielded : w.queue).push_back(task);
    w.queued.store(w.queue.size() + w.yielded.size());
    target_sleeps = w.sleeping.load();
    if (target_sleeps) w.wake = true;
  }
  if (target_sleeps) {
    w.cv.notify_one();
  } else if (!runs_next_here) {
    // Its owner is busy (often it is us): let an idle worker take it.
    WakeIdle(worker);
  }
}

void Executor::WakeIdle(int except) {
  for (int i = 0; i < worker_count(); ++i) {
    if (i == except) continue;
    Worker& other = *workers_[i];
    if (!other.sleeping.load()) continue;
    {
      std::lock_guard<std::mutex> lock(other.mutex);
      if (!other.sleeping.load() || other.wake) continue;
      other.wake = true;
    }
    other.cv.notify_one();
    return;
  }
}

Executor::Task* Executor::PopOwn(Worker& w) {
  std::lock_guard<std::mutex> lock(w.mutex);
  const bool take_yielded =
      !w.yielded.empty() && (w.queue.empty() || w.fresh_in_a_row >= kFreshBeforeYielded);
  std::deque<Task*>& from = take_yielded ? w.yielded : w.queue;
  if (from.empty()) return nullptr;
  Task* task = from.front();
  from.pop_front();
  w.fresh_in_a_row = take_yielded || w.yielded.empty() ? 0 : w.fresh_in_a_row + 1;
  w.queued.store(w.queue.size() + w.yielded.size());
  return task;
}

Executor::Task* Executor::Steal(int thief) {
  for (int k = 1; k < worker_count(); ++k) {
    Worker& victim = *workers_[(thief + k) % worker_count()];
    if (victim.queued.load() == 0) continue;
    Task* task = PopOwn(victim);
    if (task) return task;
  }
  return nullptr;
}

bool Executor::AnyQueued() const {
  for (const auto& w : workers_) {
    if (w->queued.load() > 0) return true;
  }
  return false;
}

void Executor::Loop(int index) {
  tls_worker_index = index;
  Worker& w = *workers_[index];
  for (;;) {
    Task* task = PopOwn(w);
    if (!task) task = Steal(index);
    if (!task) {
      std::unique_lock<std::mutex> lock(w.mutex);
      // Announce the sleep before the last look: an enqueuer that missed it left a queue this
      // look sees (both sides use sequentially consistent atomics).
      w.sleeping.store(true);
      if (w.queue.empty() && w.yielded.empty() && !stopping_ && !AnyQueued()) {
        w.cv.wait(lock,
                  [&] { return stopping_ || !w.queue.empty() || !w.yielded.empty() || w.wake; });
      }
      w.sleeping.store(false);
      w.wake = false;
      if (stopping_ && w.queue.empty() && w.yielded.empty()) return;
      continue;
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
