// Theater: a WebAssembly actor runtime.
//
// The runtime handler: theater:simple/runtime (log, get-state, get-chain, shutdown, which stops
// the actor through the runtime, and the documented identity, time, environment, metric,
// custom-event, version and system-information functions),
// the second form of runtime.log (runtime-leveled), and theater:simple/runtime-ext (the same
// services under their earlier names). It is active for every actor that imports any of them or
// exports theater:simple/actor.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "handlers/environment/environment_permissions.h"
#include "handlers/runtime/runtime_handler.h"
#include "theater/chain.h"
#include "theater/version.h"

namespace theater::handlers {
namespace {

using abi::Value;

constexpr size_t kMaxName = 128;  // a metric's name or a custom event's type

// The host's facts, read each call. `split_os`: the documented record (os-type and os-release
// apart) rather than runtime-ext's host-info (one "sysname release" string).
Value SystemInfo(bool split_os) {
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  struct utsname uts {};
  uname(&uts);
  struct sysinfo si {};
  sysinfo(&si);
  uint64_t unit = si.mem_unit ? si.mem_unit : 1;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<Value> fields{Value::String(hostname)};
  if (split_os) {
    fields.push_back(Value::String(uts.sysname));
    fields.push_back(Value::String(uts.release));
  } else {
    fields.push_back(Value::String(std::string(uts.sysname) + " " + uts.release));
  }
  fields.push_back(Value::U32(static_cast<uint32_t>(cpus > 0 ? cpus : 1)));
  fields.push_back(Value::U64(static_cast<uint64_t>(si.totalram) * unit));
  fields.push_back(Value::U64(static_cast<uint64_t>(si.freeram + si.bufferram) * unit));
  fields.push_back(Value::U64(static_cast<uint64_t>(si.uptime)));
  return Value::Record(std::move(fields));
}

// runtime.get-chain's `chain { events: list<meta-event> }`, meta-event { hash: u64, event: event },
// event { event-type: string, parent: option<u64>, data: list<u8> }. The u64 "hash" is the first
// 8 bytes (big-endian) of the event's SHA-256; the full hash stays in the chain.
Value ChainValue(const std::vector<chain::Event>& events) {
  auto short_hash = [](const chain::Hash& h) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
    return v;
  };
  std::vector<Value> metas;
  metas.reserve(events.size());
  for (const chain::Event& e : events) {
    Value parent = e.parent ? Value::Some(Value::U64(short_hash(*e.parent))) : Value::None();
    Value event = Value::Record({Value::String(e.type), parent, Value::Bytes(e.payload)});
    metas.push_back(Value::Record({Value::U64(short_hash(e.hash)), event}));
  }
  return Value::Record({Value::List(std::move(metas))});
}

std::vector<Value> Err(std::string message) {
  return {Value::Err(Value::String(std::move(message)))};
}

// The level's index in chain::kLogLevels, or none.
std::optional<size_t> LevelIndex(std::string_view level) {
  for (size_t i = 0; i < chain::kLogLevels.size(); ++i) {
    if (level == chain::kLogLevels[i]) return i;
  }
  return std::nullopt;
}

// A name of a metric or custom event type: 1 to 128 bytes, or the error saying so.
std::optional<std::string> CheckName(std::string_view what, std::string_view name) {
  if (!name.empty() && name.size() <= kMaxName) return std::nullopt;
  return std::string(what) + " must be 1 to " + std::to_string(kMaxName) + " bytes";
}

class RuntimeHandler final : public Handler {
 public:
  std::string_view name() const override { return "runtime"; }
  std::optional<std::string> imports() const override { return "theater:simple/runtime"; }
  // Used without a [[handler]] table: it gives the actor nothing of the world beyond itself
  // (Handler::implicit).
  bool implicit() const override { return true; }
  std::optional<std::string> exports() const override { return "theater:simple/actor"; }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_RETURN_IF_ERROR(RequireNoConfig(config));
    return std::unique_ptr<Handler>(new RuntimeHandler());
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(functions.Add("runtime", "shutdown", Shutdown));
    THEATER_RETURN_IF_ERROR(
        functions.Add("runtime", "log", [](ActorContext& actor, HostArgs args) -> HostResults {
          actor.Log(args[0].as_string());
          return std::vector<Value>{};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add("runtime", "get-state", [](ActorContext& actor, HostArgs) -> HostResults {
          std::shared_ptr<const std::vector<uint8_t>> state = actor.CallState();
          return std::vector<Value>{state ? Value::Some(Value::Bytes(*state)) : Value::None()};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add("runtime", "get-chain", [](ActorContext& actor, HostArgs) -> HostResults {
          return std::vector<Value>{ChainValue(actor.HeldEvents())};
        }));
    // The runtime handler's documented interface (wit/runtime.wit) and runtime-ext, which
    // offers the same services under the names it had first.
    struct Both {
      const char* documented;
      const char* ext;
      HostResults (*impl)(ActorContext&, HostArgs);
    };
    for (const Both& both : {Both{"get-actor-id", "actor-id", ActorId},
                             Both{"get-actor-name", "actor-name", ActorName},
                             Both{"get-current-time", "now", Now},
                             Both{"get-env", "get-env", GetEnv},
                             Both{"record-event", "record-event", RecordEvent},
                             Both{"get-theater-version", "theater-version", Version}}) {
      THEATER_RETURN_IF_ERROR(functions.Add("runtime", both.documented, both.impl));
      THEATER_RETURN_IF_ERROR(functions.Add("runtime-ext", both.ext, both.impl));
    }
    THEATER_RETURN_IF_ERROR(functions.Add(
        "runtime", "record-metric", [](ActorContext& actor, HostArgs args) -> HostResults {
          if (auto bad = CheckName("a metric name", args[0].as_string())) return Err(*bad);
          actor.SetCustomMetric(args[0].as_string(), args[1].as_f64());
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "runtime-ext", "record-metric", [](ActorContext& actor, HostArgs args) -> HostResults {
          actor.SetCustomMetric(args[0].as_string(), args[1].as_f64());
          return std::vector<Value>{};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "runtime-leveled", "log", [](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& level = args[0].as_string();
          if (!LevelIndex(level)) {
            return Err("unknown log level '" + level.substr(0, 32) +
                       "' (expected trace, debug, info, warn or error)");
          }
          actor.Log("[" + level + "] " + args[1].as_string());
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "runtime-ext", "log-at", [](ActorContext& actor, HostArgs args) -> HostResults {
          uint64_t level = args[0].case_index();
          const std::string_view name =
              level < chain::kLogLevels.size() ? chain::kLogLevels[level] : "info";
          actor.Log("[" + std::string(name) + "] " + args[1].as_string());
          return std::vector<Value>{};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add("runtime", "get-system-info", [](ActorContext&, HostArgs) -> HostResults {
          return std::vector<Value>{SystemInfo(/*split_os=*/true)};
        }));
    return functions.Add("runtime-ext", "system-info", [](ActorContext&, HostArgs) -> HostResults {
      return std::vector<Value>{SystemInfo(/*split_os=*/false)};
    });
  }

 private:
  static HostResults Shutdown(ActorContext& actor, HostArgs args) {
    std::optional<std::vector<uint8_t>> data;
    if (args[0].is_some()) data = args[0].payload()->as_bytes();
    if (!actor.RequestShutdown(std::move(data))) return Err("the actor is already stopping");
    return std::vector<Value>{Value::Ok()};
  }
  static HostResults ActorId(ActorContext& actor, HostArgs) {
    return std::vector<Value>{Value::String(actor.id())};
  }
  static HostResults ActorName(ActorContext& actor, HostArgs) {
    return std::vector<Value>{Value::String(actor.name())};
  }
  static HostResults Now(ActorContext& actor, HostArgs) {
    return std::vector<Value>{Value::U64(actor.services().clock().WallMs())};
  }
  static HostResults GetEnv(ActorContext& actor, HostArgs args) {
    const std::string& name = args[0].as_string();
    // Fails closed: without an environment permission allowing the variable, it is unset.
    if (!CheckEnvVar(actor.permissions(), name).ok()) return std::vector<Value>{Value::None()};
    const char* value = std::getenv(name.c_str());
    return std::vector<Value>{value ? Value::Some(Value::String(value)) : Value::None()};
  }
  static HostResults RecordEvent(ActorContext& actor, HostArgs args) {
    const std::string& type = args[0].as_string();
    if (auto bad = CheckName("event type", type)) return Err(*bad);
    if (!actor.RecordCustomEvent(type, args[1].as_bytes())) {
      return Err(
          "custom event dropped: over the actor's limit of custom events in bytes per second "
          "(custom_event_bytes_per_second)");
    }
    return std::vector<Value>{Value::Ok()};
  }
  static HostResults Version(ActorContext&, HostArgs) {
    return std::vector<Value>{Value::String(std::string(kVersion))};
  }
};

}  // namespace

std::unique_ptr<Handler> NewRuntimeHandler() {
  return std::make_unique<RuntimeHandler>();
}

}  // namespace theater::handlers
