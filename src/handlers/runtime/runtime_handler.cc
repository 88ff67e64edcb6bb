// Theater: a WebAssembly actor runtime.
//
// The runtime handler: theater:simple/runtime (log, get-state, get-chain — served by the actor
// host itself — and shutdown, which stops the actor through the runtime) and
// theater:simple/runtime-ext (identity, time, levelled logging, metrics, custom events, version
// and system information). It is active for every actor that imports either interface or
// exports theater:simple/actor.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "handlers/environment/environment_permissions.h"
#include "handlers/runtime/runtime_handler.h"
#include "theater/version.h"

namespace theater::handlers {
namespace {

using abi::Value;

constexpr size_t kMaxCustomEventType = 128;
constexpr const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};

Value SystemInfo() {
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  struct utsname uts {};
  uname(&uts);
  struct sysinfo si {};
  sysinfo(&si);
  uint64_t unit = si.mem_unit ? si.mem_unit : 1;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return Value::Record({Value::String(hostname),
                        Value::String(std::string(uts.sysname) + " " + uts.release),
                        Value::U32(static_cast<uint32_t>(cpus > 0 ? cpus : 1)),
                        Value::U64(static_cast<uint64_t>(si.totalram) * unit),
                        Value::U64(static_cast<uint64_t>(si.freeram + si.bufferram) * unit),
                        Value::U64(static_cast<uint64_t>(si.uptime))});
}

class RuntimeHandler final : public Handler {
 public:
  std::string_view name() const override { return "runtime"; }
  std::optional<std::string> imports() const override { return "theater:simple/runtime"; }
  std::optional<std::string> exports() const override { return "theater:simple/actor"; }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig&) const override {
    return std::unique_ptr<Handler>(new RuntimeHandler());
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    using Args = std::span<const Value>;
    using Out = Result<std::vector<Value>>;
    THEATER_RETURN_IF_ERROR(functions.Add("runtime", "shutdown", [](ActorContext& actor, Args args) -> Out {
          std::optional<std::vector<uint8_t>> data;
          if (args[0].is_some()) data = args[0].payload()->as_bytes();
          if (!actor.RequestShutdown(std::move(data))) {
            return std::vector<Value>{Value::Err(Value::String("the actor is already stopping"))};
          }
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "actor-id", [](ActorContext& actor, Args) -> Out {
          return std::vector<Value>{Value::String(actor.id())};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "actor-name", [](ActorContext& actor, Args) -> Out {
                                              return std::vector<Value>{Value::String(actor.name())};
                                            }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "now", [](ActorContext& actor, Args) -> Out { return std::vector<Value>{Value::U64(actor.services().clock().WallMs())}; }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "get-env", [](ActorContext& actor, Args args) -> Out {
          const std::string& name = args[0].as_string();
          // Fails closed: without an environment permission allowing the variable, it is unset.
          if (!CheckEnvVar(actor.permissions(), name).ok()) {
            return std::vector<Value>{Value::None()};
          }
          const char* value = std::getenv(name.c_str());
          return std::vector<Value>{value ? Value::Some(Value::String(value)) : Value::None()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "log-at", [](ActorContext& actor, Args args) -> Out {
          uint64_t level = args[0].case_index();
          const char* name = level < std::size(kLevels) ? kLevels[level] : "info";
          actor.Log(std::string("[") + name + "] " + args[1].as_string());
          return std::vector<Value>{};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "record-metric", [](ActorContext& actor, Args args) -> Out {
          actor.SetCustomMetric(args[0].as_string(), args[1].as_f64());
          return std::vector<Value>{};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "record-event", [](ActorContext& actor, Args args) -> Out {
          const std::string& type = args[0].as_string();
          if (type.empty() || type.size() > kMaxCustomEventType) {
            return std::vector<Value>{Value::Err(Value::String(
                "event type must be 1 to " + std::to_string(kMaxCustomEventType) + " bytes"))};
          }
          if (!actor.RecordCustomEvent(type, args[1].as_bytes())) {
            return std::vector<Value>{Value::Err(Value::String(
                "custom event dropped: over the actor's limit of custom events in bytes per "
                "second (custom_event_bytes_per_second)"))};
          }
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", "theater-version", [](ActorContext&, Args) -> Out {
          return std::vector<Value>{Value::String(std::string(kVersion))};
        }));
    return functions.Add("runtime-ext", "system-info", [](ActorContext&, Args) -> Out { return std::vector<Value>{SystemInfo()}; });
  }
};

}  // namespace

std::unique_ptr<Handler> NewRuntimeHandler() {
  return std::make_unique<RuntimeHandler>();
}

}  // namespace theater::handlers
