// Theater: a WebAssembly actor runtime.
#include "runtime/actor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/composed_name.h"
#include "runtime/await.h"
#include "runtime/runtime_impl.h"
#include "runtime/timers.h"

namespace theater {

std::string_view ActorPhaseName(ActorPhase phase) {
  switch (phase) {
    case ActorPhase::kStarting:
      return "Starting";
    case ActorPhase::kIdle:
      return "Idle";
    case ActorPhase::kProcessing:
      return "Processing";
    case ActorPhase::kPaused:
      return "Paused";
    case ActorPhase::kShuttingDown:
      return "ShuttingDown";
    case ActorPhase::kStopped:
      return "Stopped";
  }
  return "?";
}

namespace runtime {

using abi::Value;

Actor::Actor(RuntimeImpl& runtime, Config config)
    : runtime_(runtime),
      config_(std::move(config)),
      mailbox_capacity_(config_.manifest->limits.mailbox_capacity) {}

Actor::~Actor() = default;

TimerService& Actor::timers() {
  return runtime_.timers();
}

Status Actor::Setup(std::shared_ptr<const engine::Module> module, StateBytes initial_state,
                    std::vector<std::unique_ptr<Handler>> handlers) {
  handlers_ = std::move(handlers);
  {
    std::vector<std::string> names;
    for (const auto& handler : handlers_) names.emplace_back(handler->name());
    MutexLock lock(mu_);
    handler_names_ = std::move(names);
    module_ = module;
  }
  THEATER_ASSIGN_OR_RETURN(host_, NewHost(std::move(module), std::move(initial_state)));
  {
    // The actor is not registered yet, so nobody else reads these: the lock is for the analysis.
    MutexLock lock(mu_);
    committed_state_ = host_->state();
    memory_bytes_ = memory_peak_ = host_->instance().memory_size();
  }
  for (auto& handler : handlers_) {
    THEATER_RETURN_IF_ERROR(handler->AddExportFunctions(*this).WithContext(
        "handler '" + std::string(handler->name()) + "'"));
  }
  return Status();
}

Result<std::unique_ptr<ActorHost>> Actor::NewHost(std::shared_ptr<const engine::Module> module,
                                                  StateBytes state) {
  HostFunctionTable table;
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const ImportNames> wanted,
                           runtime_.ImportNamesFor(module));
  for (auto& handler : handlers_) {
    HandlerHostFunctions functions(table, handler->name(),
                                   runtime_.handlers().WitOf(handler->name()), wanted.get());
    Status set_up = handler->SetupHostFunctions(*this, functions);
    if (!set_up.ok()) {
      return set_up.WithContext("setting up handler '" + std::string(handler->name()) + "'");
    }
  }
  const ManifestLimits& limits = config_.manifest->limits;
  ActorHostOptions options;
  options.actor_id = config_.id;
  options.name = config_.manifest->name;
  options.initial_state = std::move(state);
  options.permissions = config_.permissions;
  options.context = this;
  options.instance.max_memory_bytes = limits.memory_limit_mb << 20;
  options.init_deadline = std::chrono::milliseconds(limits.init_deadline_ms);
  options.call_deadline = std::chrono::milliseconds(limits.call_deadline_ms);
  options.stack_size = limits.stack_size_kb * 1024;
  options.log_sink = [this](std::string_view line) { runtime_.Log(*this, line); };
  options.log_bytes_per_second = runtime_.options().log_bytes_per_second;
  options.custom_event_bytes_per_second = runtime_.options().custom_event_bytes_per_second;
  options.record_chain = runtime_.options().record_calls;
  options.byte_spill = runtime_.byte_spill();
  options.plans = &runtime_.plans();
  // Nothing else runs on the actor while a host is created (at spawn, or in an update's task).
  options.instantiating = [this](ActorHost* host) { calling_host_ = host; };
  return ActorHost::Create(std::move(module), std::move(options), config_.chain, std::move(table));
}

Status WaitWhileInstantiating() {
  return FailedPrecondition(
      "a host function cannot wait while the actor's instance is being created (a start "
      "function, such as a component's _initialize)");
}

Status Actor::SleepOn(ActorHost& host, std::chrono::nanoseconds wait) {
  if (wait <= std::chrono::nanoseconds::zero()) return Status::Ok();
  if (!host.has_instance()) return WaitWhileInstantiating();
  // Refused at once rather than cut off by the deadline, so the guest learns why.
  const std::chrono::milliseconds call_deadline(config_.manifest->limits.call_deadline_ms);
  if (wait >= call_deadline) {
    return FailedPrecondition(
        "a wait of " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
        " ms would outlast the call's deadline of " + std::to_string(call_deadline.count()) +
        " ms");
  }
  const TimerService::Clock::time_point when = TimerService::Clock::now() + wait;
  TimerService::TimerId timer = 0;
  Result<uint64_t> woken = Await(host.instance(), [&](Waker waker) {
    timer = timers().Schedule(when, [waker] { waker.Wake(); });
  });
  if (!woken.ok()) {
    timers().Cancel(timer);
    return woken.status();  // cancelled: the call is being stopped
  }
  return Status::Ok();
}

Status Actor::UpdateComponent(std::shared_ptr<const engine::Module> module,
                              std::function<void(Status)> done) {
  Operation op;
  op.kind = Operation::Kind::kUpdate;
  op.module = std::move(module);
  op.reply = [done = std::move(done)](Result<std::vector<Value>> result) { done(result.status()); };
  return Enqueue(std::move(op));
}

void Actor::Begin(bool resume, std::function<void(Status)> ready) {
  // running_ is still true here: a stop that arrives while the handlers start (the actor is
  // registered, so its parent's stop or a Stop of its id can find it) only begins; it is
  // finished below, once nothing here touches the handlers or the host any more.
  bool started = true;
  for (auto& handler : handlers_) {
    {
      MutexLock lock(mu_);
      starting_step_ = "starting handler";
      starting_handler_ = handler->name();
    }
    Status status = handler->Start(*this);
    if (!status.ok()) {
      ready(status.WithContext("starting handler '" + std::string(handler->name()) + "'"));
      ready = nullptr;
      BeginStop(StopKind::kGraceful, std::nullopt, nullptr);
      started = false;
      break;
    }
  }
  if (started) RestoreHandlers();
  std::optional<Operation> next;
  bool finish_stop = false;
  {
    MutexLock lock(mu_);
    running_ = false;
    // A stop that began meanwhile tells the spawner that it stopped before init (FinishStop).
    ready_ = std::move(ready);
    if (began_stop_) {
      finish_stop = true;
    } else {
      starting_step_ = resume ? "resuming (start)" : "running init";
      starting_handler_ = {};
      Operation op;
      op.kind = resume ? Operation::Kind::kStart : Operation::Kind::kInit;
      next = AdmitLocked(std::move(op), /*at_front=*/true);
    }
  }
  if (finish_stop) {
    FinishStop();
  } else if (next) {
    StartTask(std::move(*next));
  }
}

namespace {

// Whether every call of `calls` has the shape its WIT function gives it (in theater:simple, or
// in `own`, the handler's WIT): a handler's Restore reads recorded values as its host functions
// read lifted ones, which the canonical ABI has checked.
Status CheckRecordedCalls(std::span<const chain::HostCall> calls, const wit::Package* own) {
  Result<const wit::Package*> theater = TheaterPackage();
  auto find = [&](const chain::HostCall& call) -> const abi::FunctionType* {
    for (const wit::Package* package : {theater.ok() ? *theater : nullptr, own}) {
      if (package == nullptr) continue;
      const std::string prefix = package->namespace_name + ":" + package->name + "/";
      if (!call.interface.starts_with(prefix)) continue;
      for (const auto& iface : package->interfaces) {
        if (call.interface.size() == prefix.size() + iface->name.size() &&
            call.interface.ends_with(iface->name)) {
          return iface->FindFunction(call.function);
        }
      }
    }
    return nullptr;
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    const chain::HostCall& call = calls[i];
    const std::string where = "recorded call " + std::to_string(i + 1) + " (" + call.interface +
                              "/" + call.function + ")";
    const abi::FunctionType* type = find(call);
    if (type == nullptr) return InvalidArgument(where + ": no such function in its WIT");
    std::vector<abi::TypePtr> params;
    for (const abi::Field& param : type->params) params.push_back(param.type);
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(abi::CheckValues(params, call.input),
                                         where + ": its input");
    if (call.output.ok()) {
      THEATER_RETURN_IF_ERROR_WITH_CONTEXT(
          abi::CheckValues(type->ResultTypes(), call.output.values), where + ": its output");
    }
  }
  return Status();
}

}  // namespace

void Actor::RestoreHandlers() {
  if (config_.handler_history.empty()) return;
  auto history = std::move(config_.handler_history);
  config_.handler_history.clear();
  for (auto& handler : handlers_) {
    auto calls = history.find(handler->name());
    if (calls == history.end()) continue;
    {
      MutexLock lock(mu_);
      starting_step_ = "restoring handler";
      starting_handler_ = handler->name();
    }
    Status recorded = calls->second.problem;
    if (recorded.ok()) {
      recorded = CheckRecordedCalls(calls->second.calls, runtime_.handlers().WitOf(handler->name()));
    }
    Result<std::string> restored =
        recorded.ok() ? handler->Restore(*this, calls->second.calls)
                      : Result<std::string>(recorded.WithContext("what it held is not restored"));
    const std::string what = std::string(handler->name()) + ": " +
                             (restored.ok() ? "ok: " + *restored
                                            : "error: " + restored.status().ToString());
    if (!restored.ok()) spdlog::warn("actor {}: restoring handler {}", config_.id, what);
    config_.chain->Append(chain::Lifecycle{"handler-restored", what});
  }
}

bool Actor::CanStartLocked(Operation::Kind kind) const {
  if (running_) return false;
  // Only the init (or start) operation runs before the actor is ready.
  if (phase_ == ActorPhase::kStarting) return kind != Operation::Kind::kCall;
  return phase_ == ActorPhase::kIdle;
}

void Actor::MarkRunningLocked() {
  running_ = true;
  hibernated_ = false;  // the operation's first way into the instance puts its memory back
  hibernated_bytes_ = 0;
  if (phase_ != ActorPhase::kStarting) phase_ = ActorPhase::kProcessing;
}

std::optional<Operation> Actor::TakeNextLocked() {
  if (mailbox_.empty() || !CanStartLocked(mailbox_.front().kind)) return std::nullopt;
  Operation op = std::move(mailbox_.front());
  mailbox_.pop_front();
  if (!room_waiters_.empty()) WakeRoomWaitersLocked(/*all=*/false);
  MarkRunningLocked();
  return op;
}

std::optional<Operation> Actor::AdmitLocked(Operation op, bool at_front) {
  if (mailbox_.empty() && CanStartLocked(op.kind)) {
    MarkRunningLocked();
    return op;
  }
  if (at_front) {
    mailbox_.push_front(std::move(op));
  } else {
    mailbox_.push_back(std::move(op));
  }
  return TakeNextLocked();
}

Status Actor::Enqueue(Operation op) {
  std::optional<Operation> next;
  std::optional<Operation> dropped;  // what a drop policy let go to make room (or the new one)
  const MailboxOverflow policy = config_.manifest->limits.mailbox_overflow;
  {
    MutexLock lock(mu_);
    if (phase_ == ActorPhase::kShuttingDown || phase_ == ActorPhase::kStopped || began_stop_) {
      return FailedPrecondition("actor " + config_.id + " is " +
                                (phase_ == ActorPhase::kStopped ? "stopped" : "shutting down"));
    }
    if (mailbox_.size() >= mailbox_capacity_) {
      // Only calls are dropped: init, start and an update are the actor's own life, which a
      // full mailbox refuses under every policy.
      if (op.kind == Operation::Kind::kCall && policy == MailboxOverflow::kDropNewest) {
        dropped = std::move(op);
      } else if (op.kind == Operation::Kind::kCall && policy == MailboxOverflow::kDropOldest) {
        dropped = TakeOldestCallLocked();
      }
      if (!dropped) {
        return ResourceExhausted(
            "mailbox of actor " + config_.id + " is full (" + std::to_string(mailbox_capacity_) +
            " operations" +
            (policy == MailboxOverflow::kBlock ? ", mailbox_overflow = \"block\")" : ")"));
      }
      ++mailbox_dropped_;
    }
    if (!dropped || policy == MailboxOverflow::kDropOldest) {
      // Counted as queued even when it starts at once: the depth it would have had.
      mailbox_peak_ = std::max<uint64_t>(mailbox_peak_, mailbox_.size() + 1);
      next = AdmitLocked(std::move(op), /*at_front=*/false);
    }
  }
  if (dropped) RecordDrop(policy, std::move(*dropped));
  if (next) StartTask(std::move(*next));
  return Status();
}

std::optional<Operation> Actor::TakeOldestCallLocked() {
  // The front is the oldest; what stands before the first call (an update waiting its turn) is
  // put back in its order.
  std::vector<Operation> before;
  std::optional<Operation> oldest;
  while (!mailbox_.empty()) {
    Operation front = std::move(mailbox_.front());
    mailbox_.pop_front();
    if (front.kind == Operation::Kind::kCall) {
      oldest = std::move(front);
      break;
    }
    before.push_back(std::move(front));
  }
  for (auto it = before.rbegin(); it != before.rend(); ++it) mailbox_.push_front(std::move(*it));
  return oldest;
}

void Actor::RecordDrop(MailboxOverflow policy, Operation dropped) {
  const std::string what =
      std::string(MailboxOverflowName(policy)) + ": dropped a call of " + dropped.interface_name +
      "#" + dropped.function + ": the mailbox was full (" +
      std::to_string(config_.manifest->limits.mailbox_capacity) + " operations)";
  config_.chain->Append(chain::Lifecycle{"mailbox-overflow", what});
  // Whoever waits on it (a requester, a channel's opener, an HTTP client) is told; a one-way
  // send's reply only gives its bytes back.
  if (dropped.reply) {
    dropped.reply(ResourceExhausted(
        "the mailbox of actor " + config_.id + " was full (" +
        std::to_string(config_.manifest->limits.mailbox_capacity) +
        " operations), and its mailbox_overflow = \"" + std::string(MailboxOverflowName(policy)) +
        "\" dropped this call of " + dropped.interface_name + "#" + dropped.function));
  }
}

uint64_t Actor::WaitForRoom(std::function<void()> room) {
  if (config_.manifest->limits.mailbox_overflow != MailboxOverflow::kBlock) return 0;
  MutexLock lock(mu_);
  const uint64_t ticket = ++next_room_ticket_;
  if (began_stop_) {
    timers().Schedule(TimerService::Clock::now(), std::move(room));  // to hear that it stops
  } else if (mailbox_.size() < mailbox_capacity_) {
    // Room came since the sender was refused, or the refusal was another limit's (the bytes of
    // queued messages, the requests outstanding), which no operation leaving announces: the
    // sender tries again after a millisecond.
    timers().Schedule(TimerService::Clock::now() + std::chrono::milliseconds(1), std::move(room));
  } else {
    room_waiters_.emplace_back(ticket, std::move(room));
  }
  return ticket;
}

void Actor::CancelRoomWait(uint64_t ticket) {
  MutexLock lock(mu_);
  for (auto it = room_waiters_.begin(); it != room_waiters_.end(); ++it) {
    if (it->first == ticket) {
      room_waiters_.erase(it);
      return;
    }
  }
}

void Actor::WakeRoomWaitersLocked(bool all) {
  // One waiter per operation taken, oldest first. A wake can be lost (its sender gave up at the
  // same moment), so an empty mailbox wakes them all: nobody waits while there is room.
  while (!room_waiters_.empty()) {
    timers().Schedule(TimerService::Clock::now(), std::move(room_waiters_.front().second));
    room_waiters_.pop_front();
    if (!all && !mailbox_.empty()) break;
  }
}

bool Actor::HasExport(std::string_view export_name) const {
  // Asks the module, not host_: the host goes away when the actor stops, possibly while a
  // notification is being delivered from another thread.
  std::shared_ptr<const engine::Module> module;
  {
    MutexLock lock(mu_);
    module = module_;
  }
  return module && module->FindExport(export_name);
}

std::string Actor::ExportForm(std::string_view interface_name, std::string_view function) const {
  const std::string export_name = std::string(interface_name) + "#" + std::string(function);
  std::shared_ptr<const engine::Module> module;
  {
    MutexLock lock(mu_);
    if (auto it = export_forms_.find(export_name); it != export_forms_.end()) return it->second;
    module = module_;
  }
  if (!module) return "";
  Result<runtime::ExportForm> found =
      FindExportForm(*module, interface_name, function, &runtime_.plans());
  std::string form = found.ok() ? found->form : "";
  MutexLock lock(mu_);
  if (module_ == module) export_forms_.emplace(export_name, form);
  return form;
}

bool Actor::Notify(std::string_view interface_name, std::string_view function,
                   std::vector<Value> params) {
  if (!HasExport(std::string(interface_name) + "#" + std::string(function))) return false;
  Operation op;
  op.interface_name = std::string(interface_name);
  op.function = std::string(function);
  op.params = std::move(params);
  Status queued = Enqueue(std::move(op));
  if (!queued.ok()) {
    spdlog::warn("actor {}: dropped {}#{}: {}", config_.id, interface_name, function,
                 queued.ToString());
  }
  return queued.ok();
}

void Actor::StartTask(Operation op) {
  const ManifestLimits& limits = config_.manifest->limits;
  engine::CallOptions options;
  bool starting = op.kind != Operation::Kind::kCall;
  if (op.kind == Operation::Kind::kUpdate) {
    // Nothing runs on this actor now, so host_->state() is the committed state to carry over.
    Result<std::unique_ptr<ActorHost>> host = NewHost(op.module, host_->state());
    if (!host.ok()) {
      OnTaskDone(std::move(op), host.status().WithContext("instantiating the new component"), 0);
      return;
    }
    op.new_host = std::move(host).value();
  }
  engine::Instance& instance = op.new_host ? op.new_host->instance() : host_->instance();
  const auto call_deadline = std::chrono::milliseconds(limits.call_deadline_ms);
  options.timeout = starting ? std::chrono::milliseconds(limits.init_deadline_ms) : call_deadline;
  options.stack_size = limits.stack_size_kb * 1024;
  // Everything the task and its completion share, in one allocation.
  struct TaskState {
    std::shared_ptr<Actor> actor;
    Operation op;
    Result<std::vector<Value>> result{std::vector<Value>{}};
    uint64_t started_ns;
  };
  auto task =
      std::make_shared<TaskState>(TaskState{shared_from_this(), std::move(op), std::vector<Value>{},
                                            static_cast<uint64_t>(SteadyNowNs())});
  Result<std::unique_ptr<engine::GuestCall>> call = engine::GuestCall::CreateTask(
      instance,
      [task, instance = &instance, call_deadline]() -> Status {
        // Runs the operation, then — while operations keep arriving and nothing else asks for
        // the actor — the ones queued behind it, on this same fiber: a busy actor costs one task
        // per batch instead of one per operation. Each gets its own deadline.
        Actor& self = *task->actor;
        const uint64_t batch_start = task->started_ns;
        for (uint32_t done = 0;; ++done) {
          task->result = self.Execute(task->op);
          if (task->op.kind != Operation::Kind::kCall || !task->result.ok()) {
            return task->result.status();  // the completion path handles it
          }
          uint64_t now = static_cast<uint64_t>(SteadyNowNs());
          std::optional<Operation> next = self.ContinueInTask(
              task->op, task->result, now - task->started_ns, done + 1, now - batch_start);
          // The last operation of a batch is completed by the completion path, like a lone one.
          if (!next) return Status();
          task->op = std::move(*next);
          task->result = std::vector<Value>{};
          task->started_ns = now;
          instance->active_call()->RestartDeadline(call_deadline);
        }
      },
      options);
  if (!call.ok()) {
    OnTaskDone(std::move(task->op), call.status(), 0);
    return;
  }
  {
    MutexLock lock(mu_);
    current_ = call->get();
    if (began_stop_ && stop_kind_ == StopKind::kForce) current_->Cancel();
  }
  runtime_.executor().Start(
      std::move(call).value(), [task](std::unique_ptr<engine::GuestCall> finished) {
        Status task_status = finished->status();
        // Before the call is freed: a concurrent force stop cancels current_ under mu_.
        task->actor->ForgetFinishedCall(finished.get());
        finished.reset();
        // A task cancelled before its body ran never set a result.
        if (task->result.ok() && !task_status.ok()) {
          task->result = task_status;
        }
        task->actor->OnTaskDone(std::move(task->op), std::move(task->result),
                                static_cast<uint64_t>(SteadyNowNs()) - task->started_ns);
      });
}

Result<std::vector<Value>> Actor::Execute(Operation& op) {
  switch (op.kind) {
    case Operation::Kind::kInit:
      THEATER_RETURN_IF_ERROR(host_->Init());
      return std::vector<Value>{};
    case Operation::Kind::kStart:
      THEATER_RETURN_IF_ERROR(host_->InitializeModule());
      return std::vector<Value>{};
    case Operation::Kind::kUpdate: {
      // The new component's host functions run for its host (CallingHost), not the old one's.
      calling_host_ = op.new_host.get();
      Status initialized = op.new_host->InitializeModule();
      calling_host_ = nullptr;
      THEATER_RETURN_IF_ERROR(initialized);
      return std::vector<Value>{};
    }
    case Operation::Kind::kCall:
      break;
  }
  return host_->CallExport(op.interface_name, op.function, std::move(op.params));
}

void Actor::RecordOutcomeLocked(bool ok, uint64_t elapsed_ns) {
  committed_state_ = host_->state();
  memory_bytes_ = host_->instance().memory_size();
  memory_peak_ = std::max(memory_peak_, memory_bytes_);
  ++calls_;
  if (!ok) ++failures_;
  latency_sum_ns_ += elapsed_ns;
  latency_max_ns_ = std::max(latency_max_ns_, elapsed_ns);
  latency_min_ns_ = calls_ == 1 ? elapsed_ns : std::min(latency_min_ns_, elapsed_ns);
}

std::optional<Operation> Actor::ContinueInTask(Operation& op, Result<std::vector<Value>>& result,
                                               uint64_t elapsed_ns, uint32_t batch_ops,
                                               uint64_t batch_ns) {
  // The batch is bounded so that one busy actor cannot keep a worker from the others.
  constexpr uint32_t kMaxBatchOps = 256;
  constexpr uint64_t kMaxBatchNs = 2'000'000;
  std::optional<Operation> next;
  {
    MutexLock lock(mu_);
    // Anything that wants the actor between operations (a stop, a pause, its own shutdown
    // request, an update) ends the batch, as does an empty mailbox.
    bool more = !began_stop_ && !pause_requested_ && !shutdown_request_ && !mailbox_.empty() &&
                mailbox_.front().kind == Operation::Kind::kCall && batch_ops < kMaxBatchOps &&
                batch_ns < kMaxBatchNs;
    if (!more) return std::nullopt;
    RecordOutcomeLocked(true, elapsed_ns);
    next = std::move(mailbox_.front());
    mailbox_.pop_front();
    if (!room_waiters_.empty()) WakeRoomWaitersLocked(/*all=*/false);
  }
  // Still running: the snapshot, if one is due, follows this operation's events directly.
  if (config_.persisted) ApplyRetention();
  ReleaseHeldOutputs();
  if (op.reply) replies_owed_.fetch_add(1, std::memory_order_seq_cst);  // still running here
  DeliverOutcome(nullptr, std::move(op.reply), std::move(result));
  return next;
}

void Actor::DeliverOutcome(std::function<void(Status)> ready, CallReplyFn reply,
                           Result<std::vector<Value>> result) {
  if (!ready && !reply) return;
  if (!DeliveryWaitsForDurability()) {
    if (ready) ready(result.status());
    if (reply) {
      reply(std::move(result));
      replies_owed_.fetch_sub(1, std::memory_order_seq_cst);
    }
    return;
  }
  auto shared = std::make_shared<Result<std::vector<Value>>>(std::move(result));
  RunWhenDurable([self = shared_from_this(), ready = std::move(ready), reply = std::move(reply),
                  shared](Status durable) {
    if (!durable.ok()) {
      durable = durable.WithContext("the call's events could not be made durable");
      if (ready) ready(durable);
      if (reply) reply(durable);
    } else {
      if (ready) ready(shared->status());
      if (reply) reply(std::move(*shared));
    }
    if (reply) self->replies_owed_.fetch_sub(1, std::memory_order_seq_cst);
  });
}

void Actor::OnTaskDone(Operation op, Result<std::vector<Value>> result, uint64_t elapsed_ns) {
  std::unique_ptr<ActorHost> replaced_host;  // destroyed after the lock is released
  if (op.kind == Operation::Kind::kUpdate) {
    // Still counted as running: nothing else appends to the chain or touches host_ meanwhile.
    if (result.ok()) {
      config_.chain->Append(
          chain::Lifecycle{"component-updated", "component sha256:" + op.module->wasm_sha256()});
      replaced_host = std::exchange(host_, std::move(op.new_host));
      {
        MutexLock lock(mu_);
        module_ = op.module;
        export_forms_.clear();
      }
      runtime_.OnComponentUpdated(*this);
    } else {
      config_.chain->Append(
          chain::Lifecycle{"component-update-failed", result.status().ToString()});
    }
  }
  bool poisoned = host_->instance().poisoned();
  bool starting = op.kind == Operation::Kind::kInit || op.kind == Operation::Kind::kStart;
  // While this operation still counts as running no other one can append to the chain, so a
  // snapshot recorded here directly follows this operation's events.
  if (!starting && !poisoned && config_.persisted) ApplyRetention();
  std::function<void(Status)> ready;
  std::optional<Operation> next;
  bool finish_stop = false;
  {
    MutexLock lock(mu_);
    RecordOutcomeLocked(result.ok(), elapsed_ns);
    // The caller hears why its operation was cut off, not only the engine's "cancelled".
    if (!result.ok() && !termination_.empty()) result = result.status().WithContext(termination_);
    if (starting && result.ok()) {
      ready = std::move(ready_);
      ready_ = nullptr;
    }
    if (!began_stop_) {
      if (starting && !result.ok()) {
        // init failed: the spawner gets the error once the actor is gone; nobody else is told.
        init_error_ = result.status();
        StopAfterLocked(std::nullopt);
      } else if (!result.ok() && poisoned) {
        // The instance cannot run again: the actor fails, and its supervisor decides.
        ChildEvent report;
        report.kind = ChildEvent::Kind::kError;
        report.error = result.status();
        StopAfterLocked(std::move(report));
      }
    }
    // The actor's phase moves on before anyone hears the outcome: a caller that asks right after
    // its reply sees the actor idle (or busy with the next operation), not still on this one.
    // The reply is counted as owed first, so that a drain-and-stop waits for it.
    if (op.reply) replies_owed_.fetch_add(1, std::memory_order_seq_cst);
    EndTaskLocked(&next, &finish_stop);
  }
  ReleaseHeldOutputs();
  DeliverOutcome(std::move(ready), std::move(op.reply), std::move(result));
  if (finish_stop) {
    FinishStop();
  } else if (next) {
    StartTask(std::move(*next));
  }
}

void Actor::StopAfterLocked(std::optional<ChildEvent> report) {
  began_stop_ = true;
  phase_ = ActorPhase::kShuttingDown;
  stop_kind_ = StopKind::kGraceful;
  if (report) report->child_id = config_.id;
  stop_report_ = std::move(report);
}

void Actor::ForgetFinishedCall(const engine::GuestCall* call) {
  MutexLock lock(mu_);
  if (current_ == call) current_ = nullptr;
}

void Actor::EndTaskLocked(std::optional<Operation>* next, bool* finish_stop) {
  bool was_starting = phase_ == ActorPhase::kStarting;
  running_ = false;
  current_ = nullptr;
  if (!began_stop_ && shutdown_request_) {
    ChildEvent report;
    report.kind = ChildEvent::Kind::kExit;
    report.data = std::move(*shutdown_request_);
    StopAfterLocked(std::move(report));
  }
  if (began_stop_) {
    *finish_stop = true;
  } else if (pause_requested_) {
    pause_requested_ = false;
    phase_ = ActorPhase::kPaused;
    spdlog::debug("actor {}: {} -> Paused", config_.id, was_starting ? "Starting" : "Processing");
  } else {
    phase_ = ActorPhase::kIdle;
    *next = TakeNextLocked();
  }
}

void Actor::ApplyRetention() {
  const ManifestLimits& limits = config_.manifest->limits;
  if (!limits.chain_retention_events && !limits.chain_retention_bytes) return;
  chain::EventChain& chain = *config_.chain;
  uint64_t events = chain.size() - snapshot_index_;
  uint64_t bytes = chain.payload_bytes() - snapshot_bytes_;
  bool over = (limits.chain_retention_events && events >= limits.chain_retention_events) ||
              (limits.chain_retention_bytes && bytes >= limits.chain_retention_bytes);
  if (!over) return;
  // The snapshot is an event like any other (hash-linked, decodable): the state the actor holds
  // after everything before it, from which the rest of the chain can be replayed.
  const StateBytes& state = host_->state();
  abi::Value snapshot = state ? Value::Some(Value::Bytes(*state)) : Value::None();
  chain.Append(chain::HostCall{
      "theater:runtime", "state-snapshot", {}, chain::CallOutcome::Ok({std::move(snapshot)})});
  uint64_t index = chain.size() - 1;
  if (previous_snapshot_ = snapshot_index_; previous_snapshot_ > 0) {
    Result<uint64_t> pruned = runtime_.store()->Prune(config_.id, previous_snapshot_);
    if (!pruned.ok()) {
      spdlog::warn("actor {}: pruning its chain: {}", config_.id, pruned.status().ToString());
    }
  }
  snapshot_index_ = index;
  snapshot_bytes_ = chain.payload_bytes();
}

std::string Actor::module_sha256() const {
  MutexLock lock(mu_);
  return module_ ? module_->wasm_sha256() : std::string();
}

void Actor::ReleaseOutput(std::function<void()> output) {
  if (!DeliveryWaitsForDurability()) {
    output();
    return;
  }
  MutexLock lock(mu_);
  held_outputs_.push_back(std::move(output));
}

void Actor::ReleaseHeldOutputs() {
  std::vector<std::function<void()>> outputs;
  {
    MutexLock lock(mu_);
    outputs.swap(held_outputs_);
  }
  if (outputs.empty()) return;
  // After the operation's events (all appended by now) are durable, in the order they were made.
  RunWhenDurable([outputs = std::move(outputs), id = config_.id](Status durable) {
    if (!durable.ok()) {
      spdlog::error("actor {}: {} outgoing message(s) dropped: the events that produced them "
                    "could not be made durable: {}",
                    id, outputs.size(), durable.ToString());
      return;
    }
    for (const std::function<void()>& output : outputs) output();
  });
}

bool Actor::DeliveryWaitsForDurability() const {
  chain::ChainStore* store = runtime_.store();
  return config_.persisted && store && store->durability() == chain::Durability::kStrict;
}

void Actor::RunWhenDurable(std::function<void(Status)> deliver) {
  chain::ChainStore* store = runtime_.store();
  if (!DeliveryWaitsForDurability()) {
    deliver(Status());
    return;
  }
  TimerService* timers = &runtime_.timers();
  store->WhenDurable(store->LastTicket(config_.id), [timers, deliver](Status durable) {
    timers->Schedule(TimerService::Clock::now(), [deliver, durable] { deliver(durable); });
  });
}

Status Actor::Pause(bool when_idle) {
  MutexLock lock(mu_);
  switch (phase_) {
    case ActorPhase::kIdle:
      phase_ = ActorPhase::kPaused;
      spdlog::debug("actor {}: Idle -> Paused", config_.id);
      return Status();
    case ActorPhase::kStarting:
    case ActorPhase::kProcessing:
      if (!when_idle && !pause_requested_) {
        return FailedPrecondition("actor " + config_.id + " cannot pause during operation (it is " +
                                  std::string(phase_ == ActorPhase::kStarting ? "Starting"
                                                                              : "Processing") +
                                  "; pause it when idle to wait for the operation's end)");
      }
      pause_requested_ = true;  // takes effect when the running operation finishes
      return Status();
    case ActorPhase::kPaused:
      return Status();
    case ActorPhase::kShuttingDown:
    case ActorPhase::kStopped:
      break;
  }
  return FailedPrecondition("actor " + config_.id + " is shutting down");
}

Status Actor::Resume() {
  std::optional<Operation> next;
  {
    MutexLock lock(mu_);
    if (pause_requested_) {
      pause_requested_ = false;
      return Status();
    }
    if (phase_ != ActorPhase::kPaused) {
      return FailedPrecondition("actor " + config_.id + " is not paused (actor-not-paused)");
    }
    phase_ = ActorPhase::kIdle;
    spdlog::debug("actor {}: Paused -> Idle", config_.id);
    next = TakeNextLocked();
  }
  if (next) StartTask(std::move(*next));
  return Status();
}

void Actor::BeginStop(StopKind kind, std::optional<ChildEvent> report, std::function<void()> done,
                      std::string termination) {
  bool finish_now = false;
  bool already_stopped = false;
  {
    MutexLock lock(mu_);
    already_stopped = phase_ == ActorPhase::kStopped;
    if (!already_stopped && done) stop_waiters_.push_back(std::move(done));
  }
  if (already_stopped) {
    if (done) done();
    return;
  }
  {
    MutexLock lock(mu_);
    if (!began_stop_) {
      MarkStoppingLocked(kind, std::move(report));
      finish_now = !running_;
    } else if (kind == StopKind::kForce) {
      stop_kind_ = StopKind::kForce;  // escalate a graceful stop in progress
    }
    if (kind == StopKind::kForce && running_ && current_) {
      // Decided under the lock that also ends operations: the note goes with an interruption.
      if (!termination.empty()) termination_ = std::move(termination);
      current_->Cancel();
    }
  }
  RefuseQueued();
  if (finish_now) FinishStop();
}

void Actor::MarkStoppingLocked(StopKind kind, std::optional<ChildEvent> report) {
  began_stop_ = true;
  stop_kind_ = kind;
  stop_report_ = std::move(report);
  spdlog::debug("actor {}: {} -> ShuttingDown", config_.id, ActorPhaseName(phase_));
  phase_ = ActorPhase::kShuttingDown;
}

bool Actor::StopIfDrained(std::function<void()> done) {
  {
    MutexLock lock(mu_);
    // Idle with nothing queued, decided under the lock that queues: nothing is refused.
    if (began_stop_ || running_ || phase_ != ActorPhase::kIdle || !mailbox_.empty() ||
        replies_owed_.load(std::memory_order_seq_cst) != 0) {
      return false;
    }
    if (done) stop_waiters_.push_back(std::move(done));
    MarkStoppingLocked(StopKind::kGraceful, std::nullopt);
  }
  FinishStop();
  return true;
}

bool Actor::TerminateRunningOperation(std::string why) {
  {
    MutexLock lock(mu_);
    // running_ alone also covers setup before Begin and a hibernation: neither is an operation
    // a grace could have let finish, and both end by themselves.
    if (!running_ || current_ == nullptr) return false;
  }
  // Like the shutdown's own stops, it reports to nobody: the actor stays recoverable.
  BeginStop(StopKind::kForce, std::nullopt, nullptr, std::move(why));
  return true;
}

void Actor::RefuseQueued() {
  std::vector<Operation> refused;
  {
    MutexLock lock(mu_);
    while (!mailbox_.empty()) {
      refused.push_back(std::move(mailbox_.front()));
      mailbox_.pop_front();
    }
    WakeRoomWaitersLocked(/*all=*/true);  // they try again, and hear that it stops
  }
  for (Operation& op : refused) {
    if (op.reply) op.reply(FailedPrecondition("actor " + config_.id + " is shutting down"));
  }
}

void Actor::TryHibernate() {
  {
    MutexLock lock(mu_);
    const bool quiet_since_last_sweep = calls_ == calls_at_last_sweep_;
    calls_at_last_sweep_ = calls_;
    if (!quiet_since_last_sweep || hibernated_ || running_ || phase_ != ActorPhase::kIdle ||
        !mailbox_.empty() || began_stop_ || pause_requested_ || shutdown_request_ || !host_ ||
        !host_->has_instance()) {
      return;
    }
    running_ = true;  // claims the instance, as an operation does
  }
  Result<uint64_t> kept = host_->instance().Hibernate();
  if (!kept.ok()) spdlog::warn("actor {}: hibernating: {}", config_.id, kept.status().ToString());
  std::optional<Operation> next;
  bool finish_stop = false;
  {
    MutexLock lock(mu_);
    if (kept.ok() && *kept > 0) {
      hibernated_ = true;
      hibernated_bytes_ = *kept;
      ++hibernations_;
    }
    // What arrived meanwhile (an operation, a stop, a pause) proceeds as after an operation.
    EndTaskLocked(&next, &finish_stop);
  }
  if (finish_stop) {
    FinishStop();
  } else if (next) {
    StartTask(std::move(*next));
  }
}

void Actor::FinishStop() {
  // What was queued before a stop that began without BeginStop (a failed call or init, the
  // actor's own shutdown request); nothing is queued once the stop began.
  RefuseQueued();
  std::vector<std::string> children = this->children();
  std::reverse(children.begin(), children.end());
  auto self = shared_from_this();
  StopChildren(std::move(children), 0, [self] {
    StopKind kind;
    std::optional<ChildEvent> report;
    std::function<void(Status)> ready;
    Status init_error;
    std::string termination;
    {
      MutexLock lock(self->mu_);
      kind = self->stop_kind_;
      report = self->stop_report_;
      termination = self->termination_;
      init_error = self->init_error_;  // set before the stop began, and never after
      ready = std::move(self->ready_);
      self->ready_ = nullptr;
    }
    {
      // A child's spawn asking for this actor's grants from now on finds none.
      MutexLock lock(self->grants_mu_);
      self->handlers_stopped_ = true;
      self->child_read_scope_.reset();
    }
    for (auto& handler : self->handlers_) handler->Stop(kind);
    std::string why = !termination.empty() ? termination
                      : !report            ? "stopped"
                      : report->kind == ChildEvent::Kind::kError
                          ? "failed: " + report->error.ToString()
                      : report->kind == ChildEvent::Kind::kExit ? "exited"
                      : !report->reason.empty()                 ? report->reason
                                                                : "stopped externally";
    // What the rate limits dropped since the last notice is told before the actor's end.
    if (self->host_) self->host_->NoticeAllDrops();
    self->config_.chain->Append(chain::Lifecycle{"actor-stopped", why});
    self->runtime_.OnActorStopped(*self, report);
    std::vector<std::function<void()>> waiters;
    {
      MutexLock lock(self->mu_);
      self->phase_ = ActorPhase::kStopped;
      waiters.swap(self->stop_waiters_);
    }
    spdlog::debug("actor {}: ShuttingDown -> Stopped ({})", self->config_.id, why);
    // The instance and the handlers go now; info readers use the snapshots.
    self->handlers_.clear();
    self->host_.reset();
    if (ready) {
      ready(!init_error.ok()
                ? init_error
                : Cancelled("actor " + self->config_.id + " stopped before init finished"));
    }
    for (auto& w : waiters) w();
  });
}

void Actor::StopChildren(std::vector<std::string> newest_first, size_t next,
                         std::function<void()> then) {
  if (next >= newest_first.size()) {
    then();
    return;
  }
  std::string child = newest_first[next];
  auto self = shared_from_this();
  StopKind kind;
  {
    // Under the lock: a force stop may escalate stop_kind_ meanwhile (BeginStop).
    MutexLock lock(mu_);
    kind = stop_kind_;
  }
  runtime_.StopActor(child, kind, std::nullopt,
                     [self, list = std::move(newest_first), next, then = std::move(then)](
                         bool) mutable { self->StopChildren(std::move(list), next + 1, then); });
}

ActorPhase Actor::phase() const {
  MutexLock lock(mu_);
  return phase_;
}

StateBytes Actor::committed_state() const {
  MutexLock lock(mu_);
  return committed_state_;
}

ActorMetrics Actor::metrics() const {
  ActorMetrics m;
  {
    MutexLock lock(mu_);
    m.calls = calls_;
    m.failures = failures_;
    m.latency_min_ns = latency_min_ns_;
    m.latency_max_ns = latency_max_ns_;
    m.latency_avg_ns = calls_ ? latency_sum_ns_ / calls_ : 0;
    m.mailbox_depth = mailbox_.size();
    m.mailbox_peak = mailbox_peak_;
    m.mailbox_dropped = mailbox_dropped_;
    m.memory_bytes = memory_bytes_;
    m.memory_peak_bytes = memory_peak_;
    m.hibernated = hibernated_;
    m.hibernated_bytes = hibernated_bytes_;
    m.hibernations = hibernations_;
    m.custom = custom_metrics_;
  }
  m.uptime_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - created_)
                                          .count());
  m.events = config_.chain->size();
  return m;
}

ActorSummary Actor::summary() const {
  ActorSummary s;
  s.id = config_.id;
  s.name = config_.manifest->name;
  {
    MutexLock lock(mu_);
    s.phase = phase_;
    s.handlers = handler_names_;
    if (phase_ == ActorPhase::kStarting) {
      s.starting_step = starting_handler_.empty()
                            ? std::string(starting_step_)
                            : ComposedName({starting_step_, " '", starting_handler_, "'"}).str();
    }
  }
  s.parent_id = config_.parent_id;
  s.manifest_source = config_.origin.manifest;
  return s;
}

bool Actor::stopping() const {
  MutexLock lock(mu_);
  return began_stop_;
}

bool Actor::AddChild(const std::string& child_id) {
  MutexLock lock(mu_);
  if (began_stop_) return false;
  if (std::find(children_.begin(), children_.end(), child_id) == children_.end()) {
    children_.push_back(child_id);
  }
  return true;
}

void Actor::RemoveChild(const std::string& child_id) {
  MutexLock lock(mu_);
  children_.erase(std::remove(children_.begin(), children_.end(), child_id), children_.end());
}

std::vector<std::string> Actor::children() const {
  MutexLock lock(mu_);
  return children_;
}

bool Actor::RequestShutdown(std::optional<std::vector<uint8_t>> data) {
  MutexLock lock(mu_);
  if (began_stop_ || shutdown_request_) return false;
  shutdown_request_ = std::move(data);
  return true;
}

void Actor::SetChildListener(std::function<void(const ChildEvent&)> listener) {
  MutexLock lock(mu_);
  child_listener_ = std::move(listener);
}

void Actor::SetSupervisionPolicy(SupervisionPolicy policy) {
  MutexLock lock(mu_);
  supervision_ = policy;
}

SupervisionPolicy Actor::supervision_policy() const {
  MutexLock lock(mu_);
  return supervision_;
}

bool Actor::DeliverChildEvent(const ChildEvent& event) {
  std::function<void(const ChildEvent&)> listener;
  {
    MutexLock lock(mu_);
    listener = child_listener_;
  }
  if (!listener) return false;
  listener(event);
  return true;
}

void Actor::SetCustomMetric(const std::string& name, double value) {
  MutexLock lock(mu_);
  custom_metrics_[name] = value;
}

bool Actor::AdmitRestart() {
  MutexLock lock(mu_);
  auto now = std::chrono::steady_clock::now();
  auto expired =
      std::find_if(restarts_.begin(), restarts_.end(),
                   [&](auto at) THEATER_REQUIRES(mu_) { return now - at <= supervision_.period; });
  restarts_.erase(restarts_.begin(), expired);
  if (restarts_.size() >= supervision_.max_restarts) return false;
  restarts_.push_back(now);
  return true;
}

}  // namespace runtime
}  // namespace theater
