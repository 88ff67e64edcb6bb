// Theater: a WebAssembly actor runtime.
//
// The wasi-preview2 handler: for each instance of a component actor, a fresh WasiPreview2
// (wasi_preview2.h) wired to the actor through the host API: stdout and stderr lines to its log,
// every call into its chain, waits parked on the runtime's timers (holding no thread), random
// bytes from the OS, and the directories the actor's other handlers grant (the filesystem
// handler's) as its preopens.
//
// Thread-safety: as every handler instance. Each WasiPreview2 belongs to one component instance
// (the runtime keeps it alive with that instance), so an update starts with fresh streams.
#include "handlers/wasi-preview2/wasi_preview2_handler.h"

#include <chrono>
#include <utility>

#include "common/clock.h"
#include "common/os_entropy.h"
#include "handlers/wasi-preview2/wasi_preview2.h"

namespace theater::handlers {
namespace {

class WasiPreview2Handler final : public Handler {
 public:
  std::string_view name() const override { return "wasi-preview2"; }
  std::optional<std::string> imports() const override { return "wasi:*"; }
  std::optional<bool> ServesImport(std::string_view interface_name,
                                   std::string_view function) const override {
    return WasiPreview2::Serves(interface_name, function);
  }
  // Used without a [[handler]] table (Handler::implicit): toolchains link WASI in whether or not
  // an actor means to use it, and the directories it may open come only from a declared
  // filesystem handler.
  bool implicit() const override { return true; }
  std::optional<std::string> exports() const override { return std::nullopt; }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_RETURN_IF_ERROR(RequireNoConfig(config));
    return std::unique_ptr<Handler>(new WasiPreview2Handler());
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    return functions.ServeComponentInterfaces(
        "wasi:", std::make_shared<WasiPreview2>(WasiOptionsFor(actor)));
  }
};

}  // namespace

WasiPreview2::Options WasiOptionsFor(ActorContext& actor) {
  WasiPreview2::Options options;
  options.log = [&actor](std::string_view line) { actor.Log(line); };
  options.random = [](std::span<uint8_t> out) { return FillOsEntropy(out); };
  options.wait_until = [&actor](int64_t steady_deadline_ns) {
    return actor.SleepFor(std::chrono::nanoseconds(steady_deadline_ns - SteadyNowNs()));
  };
  options.record = [&actor](std::string_view interface_name, std::string_view function,
                            std::span<const abi::Value> params,
                            std::span<const abi::Value> results) {
    actor.RecordHostCall(interface_name, function, params, results);
  };
  options.preopens = [&actor] { return actor.WasiPreopens(); };
  return options;
}

std::unique_ptr<Handler> NewWasiPreview2Handler() {
  return std::make_unique<WasiPreview2Handler>();
}

}  // namespace theater::handlers
