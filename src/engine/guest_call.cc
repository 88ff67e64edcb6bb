// Theater: a WebAssembly actor runtime.
//
// Direct calls (Instance::Call) and fiber calls (GuestCall), engine-independent parts.
//
// The fiber protocol, in the order things happen (fibers.md rules 1–8):
//   Resume():   EnterCallState(call) → fiber.resume() → [guest runs] → LeaveCallState(prev)
//   Suspend():  record publish fn → scheduler.resume()  (switch back into Resume)
//   Resume() after the switch, on the scheduler stack: state = kSuspending; publish(call);
//               CAS kSuspending → kSuspended (if a Wake() already came, schedule it instead).
//   Wake():     claim the wake (one winner), store the value, CAS → kRunnable, on_runnable().
// TLS is only touched in EnterCallState/LeaveCallState, which run in Resume()'s frame — a frame
// that never migrates. Suspend() reaches its state through `this`.
#include <signal.h>
#include <boost/context/fiber.hpp>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "common/bytes.h"
#include "common/sanitizers.h"
#if THEATER_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
#endif
#include "engine/stack_pool.h"
#include "engine/wasm2c/runtime.h"
#include "engine/watchdog.h"
#include "theater/engine.h"

namespace theater::engine {
namespace ctx = boost::context;

namespace {

// Boost.Context stack allocator backed by the StackPool.
class PooledStackAllocator {
 public:
  PooledStackAllocator(StackPool& pool, Stack* out) : pool_(pool), out_(out) {}
  ctx::stack_context allocate() {
    Stack s = pool_.Acquire();
    ctx::stack_context sc;
    if (!s) throw std::bad_alloc();  // caught in GuestCall::Create
    *out_ = s;
#if THEATER_ADDRESS_SANITIZER
    // A pooled stack may last have run a fiber that never returned (a call cut off by its
    // deadline, a cancelled task): its frames' poisoned shadow is still there, and ASan cannot
    // clear it on a fiber switch it is not told of. The new fiber starts on a clean stack.
    ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<void*>(s.usable_lo()), s.size);
#endif
    sc.size = s.size;
    sc.sp = reinterpret_cast<void*>(s.top());
    return sc;
  }
  void deallocate(ctx::stack_context& sc) {
    Stack s;
    s.size = sc.size;
    s.guard = StackPool::kGuardSize;
    s.base = reinterpret_cast<uintptr_t>(sc.sp) - sc.size - s.guard;
    pool_.Release(s);
  }

 private:
  StackPool& pool_;
  Stack* out_;
};

}  // namespace

Result<std::shared_ptr<const Module>> Engine::LoadModuleFile(const std::filesystem::path& path) {
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, "module"));
  return LoadModule(bytes, path.filename().string());
}

// ---------------------------------------------------------------------------------------------
// Instance

int Instance::Fail(Status status) {
  host_error() = std::move(status);
  return WASM_RT_TRAP_HOST;
}

Status Instance::TrapStatus(int code, std::string_view export_name) {
  if (code == WASM_RT_TRAP_NONE) return Status();
  poisoned_ = true;
  std::string where = "call to '" + std::string(export_name) + "'";
  Status status;
  switch (code) {
    case WASM_RT_TRAP_INTERRUPTED:
      status = DeadlineExceeded("guest interrupted: deadline exceeded");
      break;
    case WASM_RT_TRAP_CANCELLED:
      status = Cancelled("guest call cancelled");
      break;
    case WASM_RT_TRAP_HOST:
      status = host_error().ok() ? InternalError("host function failed")
                                 : host_error().WithContext("host function failed");
      break;
    case WASM_RT_TRAP_EXHAUSTION:
      status = ResourceExhausted(std::string("trap: ") +
                                 wasm_rt_strerror(static_cast<wasm_rt_trap_t>(code)));
      break;
    default:
      status =
          TrapError(std::string("trap: ") + wasm_rt_strerror(static_cast<wasm_rt_trap_t>(code)));
  }
  host_error() = Status();
  return status.WithContext(where);
}

Status Instance::Call(std::string_view export_name, std::span<const uint64_t> args,
                      std::span<uint64_t> results, const CallOptions& options) {
  auto index = module().FindExport(export_name);
  if (!index) return NotFound("export '" + std::string(export_name) + "' not found");
  return Call(*index, args, results, options);
}

// Direct calls share the engine-generic checks; the wasm2c Instance implements Call by calling
// this helper (see wasm2c_engine.cc).
Status RunDirectCall(Instance& instance, uint32_t index, std::span<const uint64_t> args,
                     std::span<uint64_t> results, const CallOptions& options);

// ---------------------------------------------------------------------------------------------
// GuestCall

struct GuestCall::Impl {
  rt::CallState call_state;
  ctx::fiber fiber;      // the guest side while it is not running
  ctx::fiber scheduler;  // the resumer while the guest runs
  Stack stack;
  // Where the stack comes from; taken when the call first runs (GuestCall::StartFiber).
  StackPool* pool = nullptr;
  bool started = false;
  PublishFn pending_publish = nullptr;
  void* pending_arg = nullptr;
  std::atomic<bool> wake_claimed{false};
  uint64_t wake_value = 0;
  bool cancelled = false;
  std::atomic<bool> cancel_requested{false};
};

namespace {
constexpr size_t ImplOffset() {
  return (sizeof(GuestCall) + alignof(GuestCall::Impl) - 1) / alignof(GuestCall::Impl) *
         alignof(GuestCall::Impl);
}
}  // namespace

// Freed GuestCall blocks kept per thread for reuse: a fresh-fiber call then costs no malloc/free
// pair. Blocks are all one size, so a block freed on one thread serves a call created on
// another. Disabled under AddressSanitizer, where reuse would hide use-after-free. Only touched
// by operator new/delete, which never span a fiber switch.
#if THEATER_ADDRESS_SANITIZER
constexpr int kCachedBlocks = 0;
#else
constexpr int kCachedBlocks = 64;
#endif
struct BlockCache {
  void* blocks[kCachedBlocks > 0 ? kCachedBlocks : 1];
  int count = 0;
  ~BlockCache() {
    while (count > 0) ::operator delete(blocks[--count]);
  }
};
thread_local BlockCache tls_blocks;

void* GuestCall::operator new(size_t size) {
  if (size <= ImplOffset() && tls_blocks.count > 0) return tls_blocks.blocks[--tls_blocks.count];
  return ::operator new(std::max(size, ImplOffset()) + sizeof(Impl));
}
void GuestCall::operator delete(void* p) {
  if (tls_blocks.count < kCachedBlocks) {
    tls_blocks.blocks[tls_blocks.count++] = p;
    return;
  }
  ::operator delete(p);
}

GuestCall::GuestCall(Instance& instance, uint32_t export_index, std::vector<uint64_t> args,
                     const CallOptions& options)
    : instance_(instance),
      export_index_(export_index),
      args_(std::move(args)),
      impl_(new (reinterpret_cast<char*>(this) + ImplOffset()) Impl()) {
  impl_->call_state.id = rt::NextCallId();
  impl_->call_state.deadline_ns = rt::DeadlineAfter(options.timeout);
}

Result<std::unique_ptr<GuestCall>> GuestCall::Create(Instance& instance, uint32_t export_index,
                                                     std::vector<uint64_t> args,
                                                     const CallOptions& options) {
  const auto& exports = instance.module().exports();
  if (export_index >= exports.size()) return InvalidArgument("export index out of range");
  const ExportInfo& info = exports[export_index];
  if (args.size() != info.sig.params.size()) {
    return InvalidArgument("export '" + info.name + "' takes " +
                           std::to_string(info.sig.params.size()) + " arguments, got " +
                           std::to_string(args.size()));
  }
  if (instance.poisoned()) return FailedPrecondition("instance is poisoned by an earlier trap");
  std::unique_ptr<GuestCall> call(new GuestCall(instance, export_index, std::move(args), options));
  call->results_.assign(info.sig.results.size(), 0);
  return Prepare(std::move(call), options);
}

Result<std::unique_ptr<GuestCall>> GuestCall::CreateTask(Instance& instance, TaskBody body,
                                                         const CallOptions& options) {
  if (!body) return InvalidArgument("task body is empty");
  if (instance.poisoned()) return FailedPrecondition("instance is poisoned by an earlier trap");
  std::unique_ptr<GuestCall> call(new GuestCall(instance, 0, {}, options));
  call->body_ = std::move(body);
  return Prepare(std::move(call), options);
}

// Picks the pool a new call's fiber stack will come from. The stack itself is taken when the
// call first runs (StartFiber): a call that waits in a queue holds none, so spawning many actors
// at once maps and touches stacks for the calls running, not for every one in flight (which
// made the pool trim stacks with madvise, a TLB shootdown each, and fault them in again).
Result<std::unique_ptr<GuestCall>> GuestCall::Prepare(std::unique_ptr<GuestCall> call,
                                                      const CallOptions& options) {
  static StackPool& default_pool = StackPool::ForSize(StackPool::kDefaultStackSize);
  call->impl_->pool = options.stack_size ? &StackPool::ForSize(options.stack_size) : &default_pool;
  return call;
}

bool GuestCall::StartFiber() {
  impl_->started = true;
  try {
    impl_->fiber = ctx::fiber(std::allocator_arg, PooledStackAllocator(*impl_->pool, &impl_->stack),
                              [this](ctx::fiber&& scheduler) {
                                impl_->scheduler = std::move(scheduler);
                                Run();
                                return std::move(impl_->scheduler);
                              });
  } catch (const std::bad_alloc&) {
    status_ = ResourceExhausted("cannot map a fiber stack");
    return false;
  }
  rt::CallState& cs = impl_->call_state;
  cs.stack_lo = impl_->stack.usable_lo();
  cs.guard_lo = impl_->stack.base;
  cs.guard_hi = impl_->stack.usable_lo();
  return true;
}

GuestCall::~GuestCall() {
  // Never destroy a fiber that is suspended inside guest code: its destructor would unwind C
  // frames of the guest with an exception. Cancel and drive it to completion instead.
  State s = state();
  // A call that never ran has no fiber (nor stack) to unwind.
  if (impl_->started && (s == State::kSuspended || s == State::kRunnable || s == State::kReady)) {
    on_runnable_ = nullptr;  // the owner is going away: drive the call here
    Cancel();
    while (!finished()) {
      State now = state();
      if (now == State::kRunnable || now == State::kReady) {
        Resume();
      } else if (now == State::kSuspended) {
        Wake(0);  // a cancelled call that was re-suspended: keep waking it until it returns
      }
    }
  }
  impl_->~Impl();
}

void GuestCall::Run() {
  instance_.active_call_ = this;
  if (body_) {
    status_ = impl_->cancel_requested.load() ? Cancelled("guest call cancelled") : body_();
    body_ = nullptr;  // release what the body captured while still on the fiber
    instance_.active_call_ = nullptr;
    return;
  }
  int code = WASM_RT_TRAP_NONE;
  if (impl_->cancel_requested.load()) {
    code = WASM_RT_TRAP_CANCELLED;
  } else {
    code = instance_.RunExport(export_index_, args_.data(), results_.data());
  }
  instance_.active_call_ = nullptr;
  status_ = instance_.TrapStatus(code, instance_.module().exports()[export_index_].name);
}

void GuestCall::RestartDeadline(std::chrono::milliseconds timeout) {
  rt::CallState& cs = impl_->call_state;
  cs.deadline_ns = rt::DeadlineAfter(timeout);
  rt::PublishDeadline(&cs);
  if (cs.deadline_ns) Watchdog::Get().Arm(cs.deadline_ns);
}

// CallState::yield of a call with a time slice: suspend, and be woken at once by the publish
// step, which runs after the switch; Resume() then hands the call to its owner's runnable
// callback (marked as yielded), which queues it behind the others.
void GuestCall::YieldSlice(void* self) {
  auto* call = static_cast<GuestCall*>(self);
  Result<uint64_t> resumed = call->Suspend(
      [](GuestCall& yielding, void*) {
        yielding.yielded_.store(true, std::memory_order_relaxed);
        yielding.Wake(0);
      },
      nullptr);
  call->yielded_.store(false, std::memory_order_relaxed);
  // A cancellation is reported by wasm_rt_preempt(), which traps on the call's kill flag.
  resumed.status().IgnoreError();
}

void GuestCall::set_preempt_slice(std::chrono::nanoseconds slice) {
  rt::CallState& cs = impl_->call_state;
  cs.slice_ns = slice.count() > 0 ? slice.count() : 0;
  cs.yield = cs.slice_ns > 0 ? &GuestCall::YieldSlice : nullptr;
  cs.yield_arg = this;
}

GuestCall::State GuestCall::Resume() {
  State current = state_.load(std::memory_order_acquire);
  if ((current != State::kReady && current != State::kRunnable) ||
      !state_.compare_exchange_strong(current, State::kRunning)) {
    return state();  // nothing to do: running elsewhere, suspended, or finished
  }
  if (!impl_->started && !StartFiber()) {
    state_.store(State::kFinished, std::memory_order_release);
    return State::kFinished;
  }
  rt::CallState& cs = impl_->call_state;
  const bool watched = cs.deadline_ns != 0 || cs.slice_ns != 0;
  if (watched) {
    const int64_t now = rt::SteadyNowNs();
    cs.run_start_ns = now;  // the slice counts from here
    if (cs.deadline_ns && now >= cs.deadline_ns && !cs.kill.load()) {
      // The deadline passed while the call was suspended or queued.
      cs.kill_reason.store(WASM_RT_TRAP_INTERRUPTED);
      cs.kill.store(1);
    }
  }
  rt::CallState* previous = rt::EnterCallState(&cs);
  if (watched) Watchdog::Get().Arm(cs.deadline_ns, cs.slice_ns != 0);
  impl_->fiber = std::move(impl_->fiber).resume();
  rt::LeaveCallState(previous);

  if (!impl_->fiber) {
    state_.store(State::kFinished, std::memory_order_release);
    return State::kFinished;
  }
  // Suspended inside a host import. Now, on our own stack, publish the call to its waker. The
  // call stays kSuspending until publish() returns, so that nobody can resume (and finish and
  // free) it while this frame still uses it; a Wake() that comes meanwhile is handed over below.
  impl_->wake_claimed.store(false);
  state_.store(State::kSuspending);
  PublishFn publish = impl_->pending_publish;
  void* arg = impl_->pending_arg;
  impl_->pending_publish = nullptr;
  if (publish) publish(*this, arg);
  if (impl_->cancel_requested.load()) Wake(0);
  State expected = State::kSuspending;
  if (state_.compare_exchange_strong(expected, State::kSuspended)) {
    return State::kSuspended;  // from here on, `this` may be resumed elsewhere: do not touch it
  }
  // Woken while publishing: schedule it now.
  if (on_runnable_) on_runnable_(*this);
  return State::kRunnable;
}

bool GuestCall::Wake(uint64_t value) {
  if (impl_->wake_claimed.exchange(true)) return false;
  impl_->wake_value = value;
  impl_->cancelled = impl_->cancel_requested.load();
  State expected = State::kSuspended;
  if (state_.compare_exchange_strong(expected, State::kRunnable)) {
    if (on_runnable_) on_runnable_(*this);
    return true;
  }
  expected = State::kSuspending;
  if (state_.compare_exchange_strong(expected, State::kRunnable)) {
    return true;  // Resume() is still publishing and schedules the call itself
  }
  impl_->wake_claimed.store(false);
  return false;
}

void GuestCall::Cancel() {
  rt::CallState& cs = impl_->call_state;
  cs.kill_reason.store(WASM_RT_TRAP_CANCELLED);
  cs.kill.store(1);
  impl_->cancel_requested.store(true);
  State s = state();
  if (s == State::kSuspended || s == State::kSuspending) {
    Wake(0);
  } else if (s == State::kRunning) {
    rt::ForEachThreadSlot([&](rt::ThreadSlot& slot) {
      if (slot.running_id.load(std::memory_order_acquire) == cs.id) {
        slot.kill_id.store(cs.id, std::memory_order_release);
        pthread_kill(slot.thread, SIGUSR1);
      }
    });
  }
}

Result<uint64_t> GuestCall::Suspend(PublishFn publish, void* arg) {
  // Runs on the fiber. Everything is reached through `impl_`; nothing thread-local.
  Impl* impl = impl_;
  if (impl->cancel_requested.load()) return Cancelled("guest call cancelled");
  impl->pending_publish = publish;
  impl->pending_arg = arg;
  impl->scheduler = std::move(impl->scheduler).resume();
  if (impl->cancelled) return Cancelled("guest call cancelled while suspended");
  return impl->wake_value;
}

namespace {

// Resumes `call` on this thread until it finishes, blocking while it is suspended.
void RunToEnd(GuestCall& call) {
  std::mutex mutex;
  std::condition_variable runnable;
  bool woken = false;
  call.set_on_runnable([&](GuestCall&) {
    std::lock_guard<std::mutex> lock(mutex);
    woken = true;
    runnable.notify_one();
  });
  for (;;) {
    GuestCall::State state = call.Resume();
    if (state == GuestCall::State::kFinished) break;
    std::unique_lock<std::mutex> lock(mutex);
    runnable.wait(lock, [&] { return woken; });
    woken = false;
  }
}

}  // namespace

Status CallOnFiber(Instance& instance, uint32_t index, std::span<const uint64_t> args,
                   std::span<uint64_t> results, const CallOptions& options) {
  THEATER_ASSIGN_OR_RETURN(
      std::unique_ptr<GuestCall> call,
      GuestCall::Create(instance, index, std::vector<uint64_t>(args.begin(), args.end()), options));
  if (results.size() < call->results().size()) return InvalidArgument("results span too small");
  RunToEnd(*call);
  std::copy(call->results().begin(), call->results().end(), results.begin());
  return call->status();
}

Status RunTaskOnFiber(Instance& instance, GuestCall::TaskBody body, const CallOptions& options) {
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<GuestCall> call,
                           GuestCall::CreateTask(instance, std::move(body), options));
  RunToEnd(*call);
  return call->status();
}

}  // namespace theater::engine
