// Theater: a WebAssembly actor runtime.
//
// The http-client handler: theater:simple/http-client.send-http (wit/http.wit) through libcurl.
// docs/handlers.md, "http-client", is the reference: config, limits, error kinds, what is
// recorded.
//
// Per call: the request is validated and the actor's http_client permission checked for its
// method and host before anything connects (BuildTransferSpec); the transfer then runs on the
// host's CurlEngine (one libcurl multi handle on the host's I/O loop, shared by every actor: no
// thread of its own) while the call is suspended with runtime::Await, so a slow server holds no
// worker. The loop wakes the call when the outcome is there. A cancelled call (the actor
// terminated) aborts its transfer; Stop() aborts the one in flight. The actor host records every
// call with its inputs and outputs in the chain.
//
// Thread-safety: one instance per actor; host functions run one at a time on the actor's fiber.
// `current_` is shared with Stop(), which runs on a runtime thread, and is guarded by mu_.
#include "handlers/http-client/http_client_handler.h"
#include "handlers/http-client/http_client_permissions.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/ascii.h"
#include "theater/host_api.h"
#include "theater/io_loop.h"
#include "theater/handler.h"
#include "common/utf8.h"

namespace theater::handlers {
namespace {

using abi::Value;

std::vector<uint8_t> BytesOf(const Value& v) {
  if (v.is_bytes()) return v.as_bytes();
  std::vector<uint8_t> out;
  for (const Value& b : v.items()) out.push_back(static_cast<uint8_t>(b.as_u64()));
  return out;
}

class HttpClientHandler final : public Handler {
 public:
  HttpClientHandler() = default;
  explicit HttpClientHandler(HttpClientConfig config) : config_(std::move(config)) {}
  ~HttpClientHandler() override { StopEngine(); }

  std::string_view name() const override { return "http-client"; }
  std::optional<std::string> imports() const override { return "theater:simple/http-client"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &HttpClientPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(HttpClientConfig parsed, ParseHttpClientConfig(config.config));
    return std::unique_ptr<Handler>(new HttpClientHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(ResolveCaFile(actor));
    io_ = &actor.services().io();
    return functions.Add("http-client", "send-http", [this](ActorContext& actor, HostArgs args) {
      return SendHttp(actor, args);
    });
  }

  void Stop(StopKind) override { StopEngine(); }

 private:
  // A relative ca_file is relative to the manifest's directory (like `component`); it must be
  // readable now, so that a typo fails the actor's start rather than every request.
  Status ResolveCaFile(ActorContext& actor) {
    if (!config_.ca_file) return Status::Ok();
    std::filesystem::path path(*config_.ca_file);
    if (path.is_relative() && !actor.manifest().base_dir.empty()) {
      path = actor.manifest().base_dir / path;
    }
    std::ifstream in(path);
    if (!in) return InvalidArgument("ca_file: cannot read '" + path.string() + "'");
    config_.ca_file = path.string();
    return Status::Ok();
  }

  Result<CurlEngine*> Engine() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Cancelled("the http-client handler has stopped");
    if (io_ == nullptr) return InternalError("the http-client handler was not set up");
    return CurlEngine::Of(io_->context());
  }

  // Aborts the transfer in flight, if any; later calls fail as cancelled.
  void StopEngine() {
    std::shared_ptr<Transfer> current;
    CurlEngine* engine = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      current = current_.lock();
      engine = engine_;
    }
    if (engine != nullptr && current) engine->Cancel(current);
  }

  // Remembers the call's transfer for Stop(); false when the handler stopped meanwhile.
  bool Track(CurlEngine* engine, const std::shared_ptr<Transfer>& transfer) {
    std::lock_guard<std::mutex> lock(mu_);
    engine_ = engine;
    current_ = transfer;
    return !stopped_;
  }

  HostResults SendHttp(ActorContext& actor, HostArgs args) {
    Result<TransferSpec> spec = BuildTransferSpec(args[0], config_, actor.permissions());
    if (!spec.ok()) return ErrValue(spec.status());
    Result<CurlEngine*> engine = Engine();
    if (!engine.ok()) return ErrValue("cancelled: " + engine.status().message());

    std::shared_ptr<Transfer> transfer;
    if (!actor.CanSuspend()) {
      // A direct call cannot suspend: wait on this thread.
      transfer = (*engine)->Start(std::move(spec).value(), nullptr);
      if (!Track(*engine, transfer)) (*engine)->Cancel(transfer);
      transfer->WaitDone();
    } else {
      Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
        transfer = (*engine)->Start(std::move(spec).value(), [waker] { waker.Wake(); });
        if (!Track(*engine, transfer)) (*engine)->Cancel(transfer);
      });
      if (!woken.ok()) {
        // The call was cancelled (the actor is being terminated): abort the transfer now.
        (*engine)->Cancel(transfer);
        return woken.status();
      }
    }
    if (!transfer) return InternalError("http-client: the transfer was not started");
    TransferOutcome outcome = transfer->TakeOutcome();
    if (!outcome.ok()) return ErrValue(outcome.ErrorString());
    std::vector<Value> out;
    out.push_back(Value::Ok(ResponseValue(std::move(outcome.response))));
    return out;
  }

  HttpClientConfig config_;
  IoLoop* io_ = nullptr;  // the host's loop, set up before any call
  std::mutex mu_;
  CurlEngine* engine_ = nullptr;        // guarded by mu_: the loop's, once a call used it
  std::weak_ptr<Transfer> current_;     // guarded by mu_: the call's transfer (one at a time)
  bool stopped_ = false;                // guarded by mu_
};

}  // namespace

Result<TransferSpec> BuildTransferSpec(const abi::Value& request, const HttpClientConfig& config,
                                       const EffectivePermissions& perms) {
  const std::vector<Value>& fields = request.items();
  if (fields.size() != 4) return InternalError("http-request: expected 4 fields");
  TransferSpec spec;

  std::string method = fields[0].as_string();
  if (!IsHttpToken(method) || method.size() > 32) {
    return InvalidArgument("Invalid HTTP method: " + QuoteInput(method));
  }
  spec.method = AsciiUpper(method);

  const std::string& uri = fields[1].as_string();
  if (uri.size() > kMaxUrlBytes) {
    return InvalidArgument("the URL is " + std::to_string(uri.size()) +
                           " bytes, more than the limit of " + std::to_string(kMaxUrlBytes));
  }
  THEATER_ASSIGN_OR_RETURN(ParsedUrl url, ParseHttpUrl(uri));
  // The permission check comes before anything touches the network (even DNS).
  THEATER_RETURN_IF_ERROR(CheckHttp(perms, spec.method, url.host));
  spec.url = url.url;

  const std::vector<Value>& headers = fields[2].items();
  if (headers.size() > kMaxRequestHeaders) {
    return InvalidArgument(std::to_string(headers.size()) + " headers, more than the limit of " +
                           std::to_string(kMaxRequestHeaders));
  }
  for (const Value& h : headers) {
    const std::string& name = h.items()[0].as_string();
    const std::string& value = h.items()[1].as_string();
    if (!IsHttpToken(name)) {
      return InvalidArgument("invalid header name " + QuoteInput(name));
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("header " + QuoteInput(name) + ": the value contains CR, LF or NUL");
    }
    if (name.size() + value.size() > kMaxHeaderLineBytes) {
      return InvalidArgument("header " + QuoteInput(name) + " is longer than " +
                             std::to_string(kMaxHeaderLineBytes) + " bytes");
    }
    // These are derived from the URL and the body. Letting the actor set them would let it
    // reach another virtual host than the permission checked, or frame the body differently
    // from what is sent (request smuggling).
    if (AsciiEqualsIgnoreCase(name, "host") || AsciiEqualsIgnoreCase(name, "content-length") ||
        AsciiEqualsIgnoreCase(name, "transfer-encoding")) {
      return InvalidArgument("header " + QuoteInput(name) +
                             " is set by the host from the URL and body");
    }
    spec.headers.emplace_back(name, value);
  }
  if (fields[3].is_some()) spec.body = BytesOf(*fields[3].payload());

  spec.max_redirects = config.max_redirects;
  spec.timeout_ms = config.timeout_ms;
  if (perms.Get<HttpClientPermissions>(kHttpClientHandler)) {
    if (perms.Get<HttpClientPermissions>(kHttpClientHandler)->max_redirects) {
      spec.max_redirects = std::min(spec.max_redirects, *perms.Get<HttpClientPermissions>(kHttpClientHandler)->max_redirects);
    }
    if (perms.Get<HttpClientPermissions>(kHttpClientHandler)->timeout_ms) {
      spec.timeout_ms =
          std::max<uint64_t>(1, std::min(spec.timeout_ms, *perms.Get<HttpClientPermissions>(kHttpClientHandler)->timeout_ms));
    }
  }
  spec.connect_timeout_ms = std::min(config.connect_timeout_ms, spec.timeout_ms);
  spec.max_response_bytes = config.max_response_bytes;
  spec.tls_verify = config.tls_verify;
  if (config.ca_file) spec.ca_file = *config.ca_file;
  // A copy: the engine thread checks redirects after this call's arguments are gone.
  spec.allow_redirect = [perms](std::string_view method, std::string_view host) {
    return CheckHttp(perms, method, host);
  };
  return spec;
}

abi::Value ResponseValue(HttpResponseData response) {
  std::vector<Value> headers;
  headers.reserve(response.headers.size());
  for (auto& [name, value] : response.headers) {
    headers.push_back(
        Value::Tuple({Value::String(theater::SanitizeUtf8(name)),
                      Value::String(theater::SanitizeUtf8(value))}));
  }
  return Value::Record({Value::U16(response.status), Value::List(std::move(headers)),
                        Value::Some(Value::Bytes(std::move(response.body)))});
}

std::unique_ptr<Handler> NewHttpClientHandler() {
  return std::make_unique<HttpClientHandler>();
}

}  // namespace theater::handlers
