// Theater: a WebAssembly actor runtime.
//
// The timing handler: theater:simple/timing. `now` reads the wall clock; `sleep` and `deadline`
// suspend the actor on the runtime's timer service, so a sleeping actor holds no worker thread.
// Both are bounded by the timing permission (min/max sleep duration) and by the call's own
// deadline: a sleep that would outlast the call fails at once instead of being interrupted.
//
// Config (`[[handler]] type = "timing"`): `max_sleep_duration` and `min_sleep_duration` in ms,
// which narrow the permission further for this actor.
#include <chrono>

#include "handlers/timing/timing_handler.h"
#include "handlers/timing/timing_permissions.h"

namespace theater::handlers {
namespace {

using abi::Value;

class TimingHandler final : public Handler {
 public:
  TimingHandler() = default;
  explicit TimingHandler(TimingPermissions limits) : limits_(limits) {}

  std::string_view name() const override { return "timing"; }
  std::optional<std::string> imports() const override { return "theater:simple/timing"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &TimingPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    TimingPermissions limits;
    for (const auto& [key, value] : config.config.items()) {
      if (key != "max_sleep_duration" && key != "min_sleep_duration") {
        return InvalidArgument("unknown key '" + key + "'");
      }
      THEATER_ASSIGN_OR_RETURN(uint64_t ms, ConfigUnsigned(value, key));
      (key == "max_sleep_duration" ? limits.max_sleep_duration : limits.min_sleep_duration) = ms;
    }
    if (limits.min_sleep_duration > limits.max_sleep_duration) {
      return InvalidArgument("min_sleep_duration exceeds max_sleep_duration");
    }
    return std::unique_ptr<Handler>(new TimingHandler(limits));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(
        functions.Add("timing", "now", [](ActorContext& actor, HostArgs) -> HostResults {
          return std::vector<Value>{Value::U64(actor.services().clock().WallMs())};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add("timing", "sleep", [this](ActorContext& actor, HostArgs args) -> HostResults {
          return Sleep(actor, args[0].as_u64());
        }));
    return functions.Add("timing", "deadline",
                         [this](ActorContext& actor, HostArgs args) -> HostResults {
                           uint64_t target = args[0].as_u64();
                           uint64_t now = actor.services().clock().WallMs();
                           if (target <= now) return std::vector<Value>{Value::Ok()};
                           return Sleep(actor, target - now);
                         });
  }

 private:
  Result<std::vector<Value>> Sleep(ActorContext& actor, uint64_t duration_ms) {
    if (Status allowed = CheckSleep(actor.permissions(), duration_ms); !allowed.ok()) {
      return ErrValue(allowed.message());
    }
    if (Status allowed = CheckSleep(&limits_, duration_ms); !allowed.ok()) {
      return ErrValue(allowed.message());
    }
    // Refused before the conversion to a signed duration, which a guest's 2^64 - 1 ms would
    // wrap to a negative wait (a sleep that returned at once as if it had slept).
    const uint64_t call_deadline_ms = actor.manifest().limits.call_deadline_ms;
    if (duration_ms >= call_deadline_ms) {
      return ErrValue("a wait of " + std::to_string(duration_ms) +
                      " ms would outlast the call's deadline of " +
                      std::to_string(call_deadline_ms) + " ms");
    }
    Status slept = actor.SleepFor(std::chrono::milliseconds(duration_ms));
    // A sleep the call's deadline refuses is the guest's error to handle; a cancelled one traps.
    if (slept.code() == StatusCode::kFailedPrecondition) return ErrValue(slept.message());
    THEATER_RETURN_IF_ERROR(slept);
    return std::vector<Value>{Value::Ok()};
  }

  TimingPermissions limits_;
};

}  // namespace

std::unique_ptr<Handler> NewTimingHandler() {
  return std::make_unique<TimingHandler>();
}

}  // namespace theater::handlers
