// Theater: a WebAssembly actor runtime.
#include "handlers/wasi-preview2/wasi_preview2.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "handlers/wasi-preview2/wasi_internal.h"

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;
using Values = std::vector<Value>;

// What check-write grants, so that the adapter writes in pieces of this size at most.
constexpr uint64_t kWriteBudget = 64u << 10;

// "wasi:io/streams@0.2.3" -> "wasi:io/streams", when the version is 0.2.x or absent.
std::optional<std::string_view> Unversioned(std::string_view name) {
  const size_t at = name.find('@');
  if (at == std::string_view::npos) return name;
  if (!name.substr(at + 1).starts_with("0.2.")) return std::nullopt;
  return name.substr(0, at);
}

}  // namespace

namespace wasi_internal {

Result<const Type*> ResultType(const ComponentImport& import) {
  if (!import.type.result) return InvalidArgument("the function has no result");
  return import.type.result.get();
}

Result<Value> StreamClosed(const ComponentImport& import) {
  THEATER_ASSIGN_OR_RETURN(const Type* result, ResultType(import));
  if (result->kind == TypeKind::kResult && result->err && result->err->kind == TypeKind::kVariant) {
    for (uint32_t i = 0; i < result->err->cases.size(); ++i) {
      if (result->err->cases[i].name == "closed" && !result->err->cases[i].type) {
        return Value::Err(Value::Variant(i));
      }
    }
  }
  return InvalidArgument("expected a result whose error is a stream-error with a closed case");
}

}  // namespace wasi_internal

using wasi_internal::kMaxTransfer;
using wasi_internal::StreamClosed;

WasiPreview2::WasiPreview2(Options options) : options_(std::move(options)) {}

uint32_t WasiPreview2::New(Kind kind, int stream) {
  const uint32_t rep = next_rep_++;
  Object& object = objects_[rep];
  object.kind = kind;
  object.stream = stream;
  return rep;
}

Result<WasiPreview2::Object*> WasiPreview2::Get(const Value& handle, Kind kind) {
  auto it = objects_.find(handle.handle());
  if (it == objects_.end() && handle.handle() >= (1u << 31)) {
    // An exchange's resource, touched for the first time: it moves into the actor's table.
    MutexLock lock(adopted_mu_);
    auto adopted = adopted_.find(handle.handle());
    if (adopted != adopted_.end()) {
      it = objects_.emplace(adopted->first, std::move(adopted->second)).first;
      adopted_.erase(adopted);
    }
  }
  if (it == objects_.end() || it->second.kind != kind) {
    return InternalError("no such WASI object " + std::to_string(handle.handle()));
  }
  return &it->second;
}

void WasiPreview2::DropResource(uint32_t rep) {
  if (objects_.erase(rep) == 0 && rep >= (1u << 31)) {
    MutexLock lock(adopted_mu_);
    adopted_.erase(rep);
  }
}

std::pair<uint32_t, uint32_t> WasiPreview2::AdoptIncoming(std::shared_ptr<HttpExchange> exchange) {
  MutexLock lock(adopted_mu_);
  if (next_adopted_rep_ > UINT32_MAX - 2) next_adopted_rep_ = 1u << 31;  // start again
  const uint32_t request = next_adopted_rep_++;
  const uint32_t outparam = next_adopted_rep_++;
  Object& r = adopted_[request];
  r.kind = Kind::kIncomingRequest;
  r.exchange = exchange;
  Object& o = adopted_[outparam];
  o.kind = Kind::kResponseOutparam;
  o.exchange = std::move(exchange);
  return {request, outparam};
}

void WasiPreview2::ForgetIncoming(std::pair<uint32_t, uint32_t> reps) {
  MutexLock lock(adopted_mu_);
  adopted_.erase(reps.first);
  adopted_.erase(reps.second);
}

Result<std::vector<uint8_t>> WasiPreview2::RandomBytes(uint64_t len) {
  if (len > kMaxTransfer) {
    return ResourceExhausted("asked for " + std::to_string(len) + " random bytes, more than " +
                             std::to_string(kMaxTransfer));
  }
  if (!options_.random) return FailedPrecondition("no random source is configured");
  std::vector<uint8_t> bytes(len);
  THEATER_RETURN_IF_ERROR(options_.random(bytes));
  return bytes;
}

Result<uint64_t> WasiPreview2::RandomU64() {
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, RandomBytes(8));
  uint64_t value = 0;
  for (uint8_t b : bytes) value = value << 8 | b;
  return value;
}

Status WasiPreview2::WaitUntil(int64_t ready_at_ns) {
  if (SteadyNowNs() >= ready_at_ns || !options_.wait_until) return Status::Ok();
  return options_.wait_until(ready_at_ns);
}

void WasiPreview2::Write(int stream, std::span<const uint8_t> bytes) {
  std::string& pending = pending_[stream];
  pending.append(bytes.begin(), bytes.end());
  size_t newline;
  while ((newline = pending.find('\n')) != std::string::npos) {
    if (options_.log) options_.log(std::string_view(pending).substr(0, newline));
    pending.erase(0, newline + 1);
  }
}

Result<ComponentHostFunction> WasiPreview2::Resolve(const ComponentImport& import) {
  if (!granted_) {
    granted_ = true;
    if (options_.preopens) {
      for (const WasiPreopen& preopen : options_.preopens()) THEATER_RETURN_IF_ERROR(Grant(preopen));
    }
  }
  const std::optional<std::string_view> interface_name = Unversioned(import.interface_name);
  if (!interface_name) {
    return NotFound("'" + import.interface_name + "' is not a WASI 0.2 interface");
  }
  THEATER_ASSIGN_OR_RETURN(Impl impl, Find(*interface_name, import.function));
  return ComponentHostFunction(
      [this, impl = std::move(impl)](const ComponentImport& call,
                                     std::vector<Value>& params) -> Result<Values> {
        Result<Values> results = impl(call, params);
        if (results.ok() && options_.record) {
          options_.record(call.interface_name, call.function, params, *results);
        }
        return results;
      });
}

bool WasiPreview2::Serves(std::string_view interface_name, std::string_view function, bool http) {
  const std::optional<std::string_view> unversioned = Unversioned(interface_name);
  if (!unversioned) return false;
  // Find only builds the implementation (a closure over an object with no options), which is
  // dropped unused.
  Options options;
  options.http = http;
  WasiPreview2 probe{std::move(options)};
  return probe.Find(*unversioned, function).ok();
}

Result<WasiPreview2::Impl> WasiPreview2::Find(std::string_view interface_name,
                                              std::string_view function) {
  const std::string name = std::string(interface_name) + "#" + std::string(function);

  // ----- wasi:cli
  if (interface_name == "wasi:cli/stdin" && function == "get-stdin") {
    return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
      return Values{Value::Own(New(Kind::kInputStream, 0))};
    });
  }
  if ((interface_name == "wasi:cli/stdout" && function == "get-stdout") ||
      (interface_name == "wasi:cli/stderr" && function == "get-stderr")) {
    const int stream = function == "get-stdout" ? 1 : 2;
    return Impl([this, stream](const ComponentImport&, Values&) -> Result<Values> {
      return Values{Value::Own(New(Kind::kOutputStream, stream))};
    });
  }
  if (interface_name.starts_with("wasi:cli/terminal-std") &&
      function.starts_with("get-terminal-")) {
    return Impl(
        [](const ComponentImport&, Values&) -> Result<Values> { return Values{Value::None()}; });
  }
  if (interface_name == "wasi:cli/environment") {
    if (function == "get-environment" || function == "get-arguments") {
      return Impl(
          [](const ComponentImport&, Values&) -> Result<Values> { return Values{Value::List({})}; });
    }
    if (function == "initial-cwd") {
      return Impl(
          [](const ComponentImport&, Values&) -> Result<Values> { return Values{Value::None()}; });
    }
  }
  if (interface_name == "wasi:cli/exit" && (function == "exit" || function == "exit-with-code")) {
    return Impl([](const ComponentImport& import, Values& params) -> Result<Values> {
      std::string status = params.empty() ? "" : params[0].ToString();
      return FailedPrecondition("actor called " + import.function + "(" + status + ")");
    });
  }

  // ----- wasi:io
  if (interface_name == "wasi:io/error" && function == "[method]error.to-debug-string") {
    return Impl([](const ComponentImport&, Values&) -> Result<Values> {
      return Values{Value::String("stream error")};
    });
  }
  if (interface_name == "wasi:io/poll") {
    if (function == "[method]pollable.ready") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * pollable, Get(params[0], Kind::kPollable));
        return Values{Value::Bool(SteadyNowNs() >= pollable->ready_at_ns)};
      });
    }
    if (function == "[method]pollable.block") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * pollable, Get(params[0], Kind::kPollable));
        THEATER_RETURN_IF_ERROR(WaitUntil(pollable->ready_at_ns));
        return Values{};
      });
    }
    if (function == "poll") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        const std::vector<Value>& list = params[0].items();
        if (list.empty()) return InvalidArgument("poll of an empty list of pollables");
        std::vector<int64_t> ready_at;
        ready_at.reserve(list.size());
        for (const Value& handle : list) {
          THEATER_ASSIGN_OR_RETURN(Object * pollable, Get(handle, Kind::kPollable));
          ready_at.push_back(pollable->ready_at_ns);
        }
        // Waits for the first to become ready, then reports every one that is.
        THEATER_RETURN_IF_ERROR(WaitUntil(*std::min_element(ready_at.begin(), ready_at.end())));
        const int64_t now = SteadyNowNs();
        Values ready;
        for (size_t i = 0; i < ready_at.size(); ++i) {
          if (now >= ready_at[i]) ready.push_back(Value::U32(static_cast<uint32_t>(i)));
        }
        return Values{Value::List(std::move(ready))};
      });
    }
  }
  if (interface_name == "wasi:io/streams") {
    const std::string_view prefix_in = "[method]input-stream.";
    const std::string_view prefix_out = "[method]output-stream.";
    if (function == "[method]input-stream.subscribe" ||
        function == "[method]output-stream.subscribe") {
      return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
        return Values{Value::Own(New(Kind::kPollable))};
      });
    }
    if (function.starts_with(prefix_in)) {
      // A file's stream reads the file; stdin is closed: every read and skip reports it.
      const std::string_view method = function.substr(prefix_in.size());
      const bool skip = method == "skip" || method == "blocking-skip";
      return Impl([this, skip](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * stream, Get(params[0], Kind::kInputStream));
        if (stream->exchange && params.size() > 1) {
          return ReadHttpBody(import, *stream, params[1].as_u64(), skip);
        }
        if (stream->file && params.size() > 1) {
          return ReadFileStream(import, *stream, params[1].as_u64(), skip);
        }
        THEATER_ASSIGN_OR_RETURN(Value closed, StreamClosed(import));
        return Values{std::move(closed)};
      });
    }
    const std::string_view method =
        function.starts_with(prefix_out) ? function.substr(prefix_out.size()) : std::string_view();
    if (method == "check-write") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_RETURN_IF_ERROR(Get(params[0], Kind::kOutputStream).status());
        return Values{Value::Ok(Value::U64(kWriteBudget))};
      });
    }
    if (method == "write" || method == "blocking-write-and-flush") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * stream, Get(params[0], Kind::kOutputStream));
        const std::vector<uint8_t>& bytes = params[1].as_bytes();
        if (bytes.size() > kMaxTransfer) {
          return ResourceExhausted("a write of " + std::to_string(bytes.size()) + " bytes");
        }
        if (stream->file) return WriteFileStream(import, *stream, bytes);
        if (stream->response) return WriteHttpBody(import, *stream, bytes);
        Write(stream->stream, bytes);
        return Values{Value::Ok()};
      });
    }
    if (method == "write-zeroes" || method == "blocking-write-zeroes-and-flush") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * stream, Get(params[0], Kind::kOutputStream));
        const uint64_t len = params[1].as_u64();
        if (len > kMaxTransfer) return ResourceExhausted("a write of " + std::to_string(len));
        const std::vector<uint8_t> zeroes(len, 0);
        if (stream->file) return WriteFileStream(import, *stream, zeroes);
        if (stream->response) return WriteHttpBody(import, *stream, zeroes);
        Write(stream->stream, zeroes);
        return Values{Value::Ok()};
      });
    }
    if (method == "flush" || method == "blocking-flush") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_RETURN_IF_ERROR(Get(params[0], Kind::kOutputStream).status());
        return Values{Value::Ok()};
      });
    }
    if (method == "splice" || method == "blocking-splice") {
      // Splicing is not offered: the output stream reports itself closed.
      return Impl([](const ComponentImport& import, Values&) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Value closed, StreamClosed(import));
        return Values{std::move(closed)};
      });
    }
  }

  // ----- wasi:clocks
  if (interface_name == "wasi:clocks/wall-clock" &&
      (function == "now" || function == "resolution")) {
    const bool now = function == "now";
    return Impl([now](const ComponentImport&, Values&) -> Result<Values> {
      const uint64_t ns = now ? WallClockNs() : 1;
      return Values{Value::Record({Value::U64(ns / 1'000'000'000u),
                                   Value::U32(static_cast<uint32_t>(ns % 1'000'000'000u))})};
    });
  }
  if (interface_name == "wasi:clocks/monotonic-clock") {
    if (function == "now" || function == "resolution") {
      const bool now = function == "now";
      return Impl([now](const ComponentImport&, Values&) -> Result<Values> {
        return Values{Value::U64(now ? static_cast<uint64_t>(SteadyNowNs()) : 1)};
      });
    }
    if (function == "subscribe-instant" || function == "subscribe-duration") {
      const bool instant = function == "subscribe-instant";
      return Impl([this, instant](const ComponentImport&, Values& params) -> Result<Values> {
        // Instants are monotonic-clock nanoseconds, the base of SteadyNowNs(); both saturate.
        constexpr uint64_t kLatest = std::numeric_limits<int64_t>::max();
        const uint64_t value = std::min(params[0].as_u64(), kLatest);
        const uint64_t now = static_cast<uint64_t>(SteadyNowNs());
        const uint64_t ready_at = instant ? value : std::min(now + value, kLatest);
        const uint32_t rep = New(Kind::kPollable);
        objects_[rep].ready_at_ns = static_cast<int64_t>(ready_at);
        return Values{Value::Own(rep)};
      });
    }
  }

  // ----- wasi:random
  if ((interface_name == "wasi:random/random" && function == "get-random-bytes") ||
      (interface_name == "wasi:random/insecure" && function == "get-insecure-random-bytes")) {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, RandomBytes(params[0].as_u64()));
      return Values{Value::Bytes(std::move(bytes))};
    });
  }
  if ((interface_name == "wasi:random/random" && function == "get-random-u64") ||
      (interface_name == "wasi:random/insecure" && function == "get-insecure-random-u64")) {
    return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(uint64_t value, RandomU64());
      return Values{Value::U64(value)};
    });
  }
  if (interface_name == "wasi:random/insecure-seed" && function == "insecure-seed") {
    return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(uint64_t a, RandomU64());
      THEATER_ASSIGN_OR_RETURN(uint64_t b, RandomU64());
      return Values{Value::Tuple({Value::U64(a), Value::U64(b)})};
    });
  }

  // ----- wasi:filesystem (wasi_filesystem.cc)
  if (interface_name.starts_with("wasi:filesystem/"))
    return FindFilesystem(interface_name, function);
  if (options_.http && interface_name == "wasi:http/types") {
    return FindHttp(interface_name, function);
  }
  if (options_.http && interface_name == "wasi:http/outgoing-handler") {
    return FindHttpOutgoing(interface_name, function);
  }
  if (!options_.http && interface_name.starts_with("wasi:http/")) {
    return NotFound(name +
                    " is not provided to actors without the wasi-http handler: a component of "
                    "the wasi:http/proxy world declares [[handler]] type = \"wasi-http\"");
  }
  return NotFound(name + " is not provided to actors");
}

}  // namespace theater::handlers
