// Theater: a WebAssembly actor runtime.
//
// The wasi-preview1 handler: wasi-libc's stdio, environment, clock and random entry points,
// enough for C and C++ actors built against wasi-libc to run as core modules. Standard output
// and error go to the actor's log, a line at a time; there is no environment and no argv; clocks
// and random bytes are real and recorded in the chain, since they are nondeterministic. The
// functions work on core values and guest memory (HostFunctions::AddCore): every pointer is
// bounds-checked, and a bad one is the guest's EFAULT, never the host's fault.
//
// Thread-safety: as every handler instance; the pending stdout line is the instance's own.
#include "handlers/wasi-preview1/wasi_preview1_handler.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "common/clock.h"
#include "common/os_entropy.h"

namespace theater::handlers {
namespace {

using abi::Value;

constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";
// Guest stdout/stderr held while waiting for a line end; past it, the text so far is logged.
constexpr size_t kMaxPendingStdoutLine = 64 * 1024;
// Bytes one fd_write takes; the rest is a short write, which wasi-libc's stdio retries. Its
// iovecs may each cover all of memory, 1024 times over: the host copies no more than this.
constexpr size_t kMaxFdWriteBytes = 64 * 1024;
// Bytes one random_get fills (the random handler's per-call limit); more is EINVAL.
constexpr uint64_t kMaxRandomGetBytes = 16u << 20;

// WASI errno values.
constexpr uint64_t kWasiSuccess = 0;
constexpr uint64_t kWasiBadf = 8;
constexpr uint64_t kWasiFault = 21;
constexpr uint64_t kWasiInval = 28;
constexpr uint64_t kWasiSpipe = 70;

// Core signatures of the functions served.
const std::map<std::string, std::pair<std::string, std::string>, std::less<>>& Signatures() {
  static const std::map<std::string, std::pair<std::string, std::string>, std::less<>> sigs = {
      {"fd_write", {"iiii", "i"}},        {"fd_close", {"i", "i"}},
      {"fd_seek", {"iIii", "i"}},         {"fd_fdstat_get", {"ii", "i"}},
      {"environ_sizes_get", {"ii", "i"}}, {"environ_get", {"ii", "i"}},
      {"args_sizes_get", {"ii", "i"}},    {"args_get", {"ii", "i"}},
      {"proc_exit", {"i", ""}},           {"clock_time_get", {"iIi", "i"}},
      {"random_get", {"ii", "i"}},
  };
  return sigs;
}

bool InBounds(std::span<uint8_t> mem, uint64_t ptr, uint64_t len) {
  return ptr <= mem.size() && len <= mem.size() - ptr;
}
bool Write(std::span<uint8_t> mem, uint64_t ptr, const void* src, size_t len) {
  if (!InBounds(mem, ptr, len)) return false;
  std::memcpy(mem.data() + ptr, src, len);
  return true;
}
bool ReadU32(std::span<uint8_t> mem, uint64_t ptr, uint32_t* out) {
  if (!InBounds(mem, ptr, 4)) return false;
  std::memcpy(out, mem.data() + ptr, 4);
  return true;
}

class WasiPreview1Handler final : public Handler {
 public:
  std::string_view name() const override { return "wasi-preview1"; }
  std::optional<std::string> imports() const override { return std::string(kWasiModule); }
  // Used without a [[handler]] table (Handler::implicit): toolchains link WASI in whether or not
  // an actor means to use it, and the directories it may open come only from a declared
  // filesystem handler.
  bool implicit() const override { return true; }
  std::optional<std::string> exports() const override { return std::nullopt; }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_RETURN_IF_ERROR(RequireNoConfig(config));
    return std::unique_ptr<Handler>(new WasiPreview1Handler());
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    for (const auto& [function, sig] : Signatures()) {
      THEATER_RETURN_IF_ERROR(functions.AddCore(
          kWasiModule, function, sig.first, sig.second,
          // Two pointers (the name lives in the static table): small enough for std::function
          // to hold without a heap allocation, for each function at each spawn.
          [this, fn = &function](ActorContext& actor, CoreCall& call) -> Status {
            Crossing crossing = Run(*fn, call, &actor, &stdout_line_, nullptr);
            if (crossing.failure) {
              actor.RecordFailedHostCall(kWasiModule, *fn, crossing.input, *crossing.failure);
              return FailedPrecondition(*crossing.failure);
            }
            actor.RecordHostCall(kWasiModule, *fn, crossing.input, crossing.output);
            return Status();
          }));
    }
    return Status();
  }

  // The same code as a live call, with the clock's and the entropy's answers taken from the
  // recording and nothing logged: what the guest sees is what it saw.
  Result<chain::HostCall> ReplayCore(std::string_view function, CoreCall& call,
                                     const chain::CallOutcome& recorded) const override {
    if (!Signatures().contains(function)) {
      return NotFound("wasi-preview1 serves no function '" + std::string(function) + "'");
    }
    Crossing crossing = Run(function, call, nullptr, nullptr, &recorded);
    if (crossing.replay_error) return *crossing.replay_error;
    chain::HostCall out{std::string(kWasiModule), std::string(function), std::move(crossing.input),
                        {}};
    if (crossing.failure) {
      out.output = chain::CallOutcome::Error(*crossing.failure);
    } else {
      out.output = chain::CallOutcome::Ok(std::move(crossing.output));
    }
    return out;
  }

 private:
  // What one call amounts to, as the chain records it: the input the guest gave (read from its
  // memory where it passed a pointer), the output (the errno first, then what the host chose:
  // the time, the bytes), or the failure that ends the call (proc_exit).
  struct Crossing {
    std::vector<Value> input;
    std::vector<Value> output;
    std::optional<std::string> failure;
    std::optional<Status> replay_error;  // the recording cannot answer this call
  };

  // Runs `name` for the guest. Live (`actor` set) it asks the clock and the entropy source and
  // logs what the guest writes, a line at a time (`pending_line` holds the rest); replaying
  // (`recorded` set) it takes those answers from the recording and logs nothing.
  static Crossing Run(std::string_view name, CoreCall& call, ActorContext* actor,
                      std::string* pending_line, const chain::CallOutcome* recorded) {
    std::span<uint8_t> mem = call.memory;
    std::span<const uint64_t> args = call.args;
    Crossing c;
    uint64_t rc = kWasiSuccess;
    // The value the recording gave at output position `i` (after the errno), if it has one.
    auto recorded_at = [&](size_t i) -> const Value* {
      if (recorded == nullptr || recorded->values.size() <= i) return nullptr;
      return &recorded->values[i];
    };
    if (name == "fd_write") {
      std::string text;
      rc = FdWrite(mem, args, &text);
      c.input = {Value::U32(static_cast<uint32_t>(args[0])), Value::String(text)};
      if (rc == kWasiSuccess) {
        c.output.push_back(Value::U32(static_cast<uint32_t>(text.size())));
        if (actor != nullptr) LogOutput(*actor, text, *pending_line);
      }
    } else if (name == "environ_sizes_get" || name == "args_sizes_get") {
      uint32_t zero = 0;
      if (!Write(mem, args[0], &zero, 4) || !Write(mem, args[1], &zero, 4)) rc = kWasiFault;
    } else if (name == "environ_get" || name == "args_get") {
      rc = kWasiSuccess;
    } else if (name == "fd_close") {
      c.input = {Value::U32(static_cast<uint32_t>(args[0]))};
      rc = kWasiBadf;
    } else if (name == "fd_seek") {
      c.input = {Value::U32(static_cast<uint32_t>(args[0]))};
      rc = args[0] <= 2 ? kWasiSpipe : kWasiBadf;
    } else if (name == "fd_fdstat_get") {
      c.input = {Value::U32(static_cast<uint32_t>(args[0]))};
      if (args[0] > 2) {
        rc = kWasiBadf;
      } else {
        uint8_t stat[24] = {};
        stat[0] = 2;  // character device
        if (!Write(mem, args[1], stat, sizeof stat)) rc = kWasiFault;
      }
    } else if (name == "proc_exit") {
      c.input = {Value::U32(static_cast<uint32_t>(args[0]))};
      c.failure = "actor called proc_exit(" + std::to_string(args[0]) + ")";
      return c;
    } else if (name == "clock_time_get") {
      c.input = {Value::U32(static_cast<uint32_t>(args[0]))};
      uint64_t ns = 0;
      if (actor != nullptr) {
        ns = args[0] == 0 ? actor->services().clock().WallNs()
                          : static_cast<uint64_t>(SteadyNowNs());
      } else if (const Value* v = recorded_at(1); v && v->kind() == abi::TypeKind::kU64) {
        ns = v->as_u64();
      }
      if (!Write(mem, args[2], &ns, 8)) {
        rc = kWasiFault;
      } else {
        c.output.push_back(Value::U64(ns));
      }
    } else if (name == "random_get") {
      uint64_t ptr = args[0], len = args[1];
      c.input = {Value::U32(static_cast<uint32_t>(len))};
      if (!InBounds(mem, ptr, len)) {
        rc = kWasiFault;
      } else if (len > kMaxRandomGetBytes) {
        rc = kWasiInval;
      } else {
        std::vector<uint8_t> bytes(len);
        if (actor != nullptr) {
          if (Status filled = FillOsEntropy(bytes); !filled.ok()) {
            c.failure = filled.ToString();
            return c;
          }
        } else if (const Value* v = recorded_at(1); v && v->is_bytes() &&
                                                    v->as_bytes().size() == len) {
          bytes = v->as_bytes();
        } else {
          c.replay_error = FailedPrecondition("the recording of random_get has no " + std::to_string(len) +
                                   " bytes to give back");
        }
        std::memcpy(mem.data() + ptr, bytes.data(), len);
        c.output.push_back(Value::Bytes(std::move(bytes)));
      }
    }
    c.output.insert(c.output.begin(), Value::U32(static_cast<uint32_t>(rc)));
    call.results[0] = rc;
    return c;
  }

  static uint64_t FdWrite(std::span<uint8_t> mem, std::span<const uint64_t> args,
                          std::string* text) {
    uint64_t fd = args[0], iovs = args[1], iovs_len = args[2], nwritten_ptr = args[3];
    if (fd != 1 && fd != 2) return kWasiBadf;
    if (iovs_len > 1024) return kWasiInval;
    for (uint64_t i = 0; i < iovs_len; ++i) {
      uint32_t ptr = 0, len = 0;
      if (!ReadU32(mem, iovs + 8 * i, &ptr) || !ReadU32(mem, iovs + 8 * i + 4, &len) ||
          !InBounds(mem, ptr, len)) {
        text->clear();
        return kWasiFault;
      }
      // A short write past kMaxFdWriteBytes (every iovec is still checked).
      const size_t take = std::min<size_t>(len, kMaxFdWriteBytes - text->size());
      text->append(reinterpret_cast<const char*>(mem.data() + ptr), take);
    }
    uint32_t written = static_cast<uint32_t>(text->size());
    if (!Write(mem, nwritten_ptr, &written, 4)) {
      text->clear();
      return kWasiFault;
    }
    return kWasiSuccess;
  }

  // Complete lines of what the guest wrote go to its log.
  static void LogOutput(ActorContext& actor, const std::string& text, std::string& pending_line) {
    pending_line += text;
    // One pass, one erase: erasing each line from the front would cost the square of the
    // pending text when the guest writes many short lines at once.
    std::string_view pending(pending_line);
    size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string_view::npos) {
      actor.Log(pending.substr(start, nl - start));
      start = nl + 1;
    }
    pending_line.erase(0, start);
    // Output without a line end is logged in pieces rather than held without bound.
    if (pending_line.size() >= kMaxPendingStdoutLine) {
      actor.Log(pending_line);
      pending_line.clear();
    }
  }

  std::string stdout_line_;
};

}  // namespace

std::unique_ptr<Handler> NewWasiPreview1Handler() {
  return std::make_unique<WasiPreview1Handler>();
}

std::vector<std::string> WasiPreview1Functions() {
  std::vector<std::string> names;
  for (const auto& [name, sig] : Signatures()) names.push_back(name);
  return names;
}

}  // namespace theater::handlers
