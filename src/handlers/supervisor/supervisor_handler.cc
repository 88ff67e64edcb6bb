// Theater: a WebAssembly actor runtime.
//
// The supervisor handler: theater:simple/supervisor (spawn, resume, list-children, stop-child,
// restart-child, get-child-state, get-child-events) and the child callbacks of
// theater:simple/supervisor-handlers. Each supervising actor has its own instance, so it hears
// about its own children only. Spawning suspends the parent until the child's init has finished,
// without holding a worker; the child may itself be spawned from the parent's init.
//
// Config (`[[handler]] type = "supervisor"`): `strategy` ("none", "one-for-one", "one-for-all",
// "rest-for-one"), `max_restarts` and `restart_period_ms` (docs/handlers.md).
#include <memory>
#include <mutex>

#include "common/utf8.h"
#include "handlers/supervisor/supervisor_handler.h"
#include "handlers/supervisor/supervisor_permissions.h"

namespace theater::handlers {
namespace {

// get-child-events hands a child's whole chain to the guest: a long one is refused, by name,
// before the host holds more of it than this (the canonical ABI refuses past 64 MiB anyway).
constexpr size_t kMaxChildEventsBytes = 32u << 20;

using abi::Value;

constexpr std::string_view kCallbacks = "theater:simple/supervisor-handlers";

// wit-actor-error { error-type: wit-error-type, data: option<list<u8>> }.
Value ActorErrorValue(const Status& error) {
  uint32_t type = 5;  // internal
  switch (error.code()) {
    case StatusCode::kDeadlineExceeded:
      type = 0;  // operation-timeout
      break;
    case StatusCode::kNotFound:
      type = 3;  // function-not-found
      break;
    case StatusCode::kValidationError:
      type = 4;  // type-mismatch
      break;
    default:
      break;
  }
  std::string text = error.ToString();
  return Value::Record({Value::Enum(type),
                        Value::Some(Value::Bytes(std::vector<uint8_t>(text.begin(), text.end())))});
}

Value ChainEventValue(const chain::Event& e) {
  std::vector<uint8_t> hash(e.hash.begin(), e.hash.end());
  Value parent =
      e.parent ? Value::Some(Value::Bytes(std::vector<uint8_t>(e.parent->begin(), e.parent->end())))
               : Value::None();
  Value description = e.description ? Value::Some(Value::String(*e.description)) : Value::None();
  return Value::Record({Value::Bytes(std::move(hash)), parent, Value::String(e.type),
                        Value::Bytes(e.payload), Value::U64(e.timestamp_ms), description});
}

Result<SupervisionPolicy> ParsePolicy(const nlohmann::json& config) {
  SupervisionPolicy policy;
  for (const auto& [key, value] : config.items()) {
    if (key == "strategy") {
      if (!value.is_string()) return InvalidArgument("strategy: must be a string");
      std::string s = value.get<std::string>();
      if (s == "none") {
        policy.strategy = SupervisionPolicy::Strategy::kNone;
      } else if (s == "one-for-one") {
        policy.strategy = SupervisionPolicy::Strategy::kOneForOne;
      } else if (s == "one-for-all") {
        policy.strategy = SupervisionPolicy::Strategy::kOneForAll;
      } else if (s == "rest-for-one") {
        policy.strategy = SupervisionPolicy::Strategy::kRestForOne;
      } else {
        return InvalidArgument(
            "strategy: must be one of none, one-for-one, one-for-all, "
            "rest-for-one; got '" +
            s + "'");
      }
    } else if (key == "max_restarts") {
      THEATER_ASSIGN_OR_RETURN(policy.max_restarts, ConfigUnsigned(value, key));
    } else if (key == "restart_period_ms") {
      THEATER_ASSIGN_OR_RETURN(uint64_t period, ConfigUnsigned(value, key));
      if (period == 0) return InvalidArgument("restart_period_ms: must be at least 1");
      policy.period = std::chrono::milliseconds(period);
    } else {
      return InvalidArgument("unknown key '" + key + "'");
    }
  }
  return policy;
}

class SupervisorHandler final : public Handler {
 public:
  explicit SupervisorHandler(SupervisionPolicy policy = {}) : policy_(policy) {}

  std::string_view name() const override { return "supervisor"; }
  std::optional<std::string> imports() const override { return "theater:simple/supervisor"; }
  std::optional<std::string> exports() const override { return std::string(kCallbacks); }
  const PermissionRules* permission_rules() const override { return &SupervisorPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(SupervisionPolicy policy, ParsePolicy(config.config));
    return std::unique_ptr<Handler>(new SupervisorHandler(policy));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    auto spawn = [](bool resume) {
      return [resume](ActorContext& actor, HostArgs args) -> HostResults {
        const std::string& manifest = args[0].as_string();
        Status allowed =
            CheckSpawnChild(actor.permissions(), manifest, actor.Children().size());
        if (!allowed.ok()) return ErrValue(allowed.ToString());
        SpawnRequest request;
        request.manifest = manifest;
        if (args[1].is_some()) request.state = args[1].payload()->as_bytes();
        request.resume = resume;
        Result<std::string> child = AwaitCallback<std::string>(
            actor, [&actor, &request](std::function<void(Result<std::string>)> done) {
              actor.SpawnChild(std::move(request), std::move(done));
            });
        if (!child.ok()) {
          if (child.status().code() == StatusCode::kCancelled) return child.status();
          return ErrValue(child.status().ToString());
        }
        return std::vector<Value>{Value::Ok(Value::String(*child))};
      };
    };
    THEATER_RETURN_IF_ERROR(functions.Add("supervisor", "spawn", spawn(false)));
    THEATER_RETURN_IF_ERROR(functions.Add("supervisor", "resume", spawn(true)));
    THEATER_RETURN_IF_ERROR(functions.Add("supervisor", "list-children",
                                          [](ActorContext& actor, HostArgs) -> HostResults {
                                            std::vector<Value> ids;
                                            for (const std::string& id : actor.Children())
                                              ids.push_back(Value::String(id));
                                            return std::vector<Value>{Value::List(std::move(ids))};
                                          }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "supervisor", "stop-child", [](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& child = args[0].as_string();
          if (Status s = CheckChild(actor, child); !s.ok()) return ErrValue(s.ToString());
          Result<bool> stopped =
              AwaitCallback<bool>(actor, [&actor, child](std::function<void(Result<bool>)> done) {
                actor.StopChild(child, [done](bool found) { done(found); });
              });
          if (!stopped.ok()) return stopped.status();
          if (!*stopped) return ErrValue(NotFound("child " + child + " is not running").ToString());
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "supervisor", "restart-child", [](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& child = args[0].as_string();
          if (Status s = CheckChild(actor, child); !s.ok()) return ErrValue(s.ToString());
          Result<bool> restarted =
              AwaitCallback<bool>(actor, [&actor, child](std::function<void(Result<bool>)> done) {
                actor.RestartChild(child, [done](Status s) {
                  if (s.ok()) {
                    done(true);
                  } else {
                    done(s);
                  }
                });
              });
          if (!restarted.ok()) {
            if (restarted.status().code() == StatusCode::kCancelled) return restarted.status();
            return ErrValue(restarted.status().ToString());
          }
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "supervisor", "get-child-state", [](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& child = args[0].as_string();
          if (Status s = CheckChild(actor, child); !s.ok()) return ErrValue(s.ToString());
          Result<std::optional<std::vector<uint8_t>>> state = actor.ChildState(child);
          if (!state.ok()) {
            // A wait on another host's answer that was cancelled ends the call.
            if (state.status().code() == StatusCode::kCancelled) return state.status();
            return ErrValue(state.status().ToString());
          }
          Value v = *state ? Value::Some(Value::Bytes(**state)) : Value::None();
          return std::vector<Value>{Value::Ok(std::move(v))};
        }));
    return functions.Add(
        "supervisor", "get-child-events", [](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& child = args[0].as_string();
          if (Status s = CheckChild(actor, child); !s.ok()) return ErrValue(s.ToString());
          Result<std::vector<chain::Event>> events =
              actor.ChildEvents(child, kMaxChildEventsBytes);
          if (!events.ok()) {
            if (events.status().code() == StatusCode::kCancelled) return events.status();
            return ErrValue(events.status().WithContext("get-child-events").ToString());
          }
          std::vector<Value> list;
          for (const chain::Event& e : *events) list.push_back(ChainEventValue(e));
          return std::vector<Value>{Value::Ok(Value::List(std::move(list)))};
        });
  }

  Status AddExportFunctions(ActorContext& actor) override {
    actor.SetSupervisionPolicy(policy_);
    return Status();
  }

  Status Start(ActorContext& actor) override {
    // Runs on runtime threads; Notify only queues a callback operation for the actor.
    ActorContext* self = &actor;
    actor.SetChildListener([self](const ChildEvent& event) {
      switch (event.kind) {
        case ChildEvent::Kind::kError:
          self->Notify(kCallbacks, "handle-child-error",
                       {Value::String(event.child_id), ActorErrorValue(event.error)});
          break;
        case ChildEvent::Kind::kExit:
          self->Notify(kCallbacks, "handle-child-exit",
                       {Value::String(event.child_id),
                        event.data ? Value::Some(Value::Bytes(*event.data)) : Value::None()});
          break;
        case ChildEvent::Kind::kExternalStop:
          self->Notify(kCallbacks, "handle-child-external-stop", {Value::String(event.child_id)});
          break;
      }
    });
    return Status();
  }

 private:
  static Status CheckChild(ActorContext& actor, const std::string& child) {
    for (const std::string& c : actor.Children()) {
      if (c == child) return Status();
    }
    // The id is the guest's words (possibly megabytes): quoted, not echoed.
    return NotFound("actor " + QuoteInput(child) + " is not a child of this actor");
  }

  SupervisionPolicy policy_;
};

}  // namespace

std::unique_ptr<Handler> NewSupervisorHandler() {
  return std::make_unique<SupervisorHandler>();
}

}  // namespace theater::handlers
