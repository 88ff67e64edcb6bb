// Theater: a WebAssembly actor runtime.
//
// The wasi-http handler: runs a component written for the `wasi:http/proxy` world as an actor.
// It serves every `wasi:` import the wasi-preview2 handler serves and wasi:http/types besides
// (one WasiPreview2 per instance, with Options::http), and listens on the address its config
// gives: each request becomes a call of the component's `wasi:http/incoming-handler#handle`,
// queued in the actor's mailbox like any operation, with the request and the response-outparam
// as resources (WasiPreview2::AdoptIncoming). The response the component sets is written when
// the call ends. The server is the shared one (handlers/support/http-server): its limits,
// timeouts (504), back-pressure (503 when the mailbox is full) and graceful stop apply.
//
// Outgoing requests (wasi:http/outgoing-handler) go through the http-client permission and the
// host's libcurl engine, suspending the actor's fiber while they run (SendRequest).
//
// Thread-safety: host functions run on the actor's fiber; requests arrive on the I/O loop's
// threads and reach the instance only through AdoptIncoming (thread-safe) and the mailbox; mu_
// guards the server and the outgoing request in flight (Stop cancels it); the current
// instance's WasiPreview2 (an update replaces it) is kept in a CurrentWasi of its own, which
// the listener's port shares.
#include "handlers/wasi-preview2/wasi_http_handler.h"

#include <mutex>
#include <utility>

#include "common/ascii.h"
#include "common/curl_engine.h"
#include "handlers/http-client/http_client_permissions.h"
#include "handlers/support/http-server/http_server.h"
#include "handlers/support/http-server/route_table.h"
#include "handlers/support/http-server/server_limits_config.h"
#include "handlers/wasi-preview2/wasi_preview2.h"
#include "handlers/wasi-preview2/wasi_preview2_handler.h"

namespace theater::handlers {
namespace {

using abi::Value;

constexpr std::string_view kIncomingHandler = "wasi:http/incoming-handler";
// The header the shared server adds for a route's catch-all parameter: the listener's own
// route, not the client's, so it is not passed on.
constexpr std::string_view kRouteParamHeader = "X-Route-Param-";

struct WasiHttpConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  http::ServerLimits limits;
};

Result<WasiHttpConfig> ParseConfig(const nlohmann::json& config) {
  WasiHttpConfig out;
  if (config.is_null()) return out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    if (key == "host") {
      if (!value.is_string()) return InvalidArgument("config: host must be a string");
      out.host = value.get<std::string>();
      THEATER_RETURN_IF_ERROR(http::CheckHost(out.host).WithContext("config: host"));
    } else if (key == "port") {
      THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 0, 65535));
      out.port = static_cast<uint16_t>(n);
    } else {
      // The shared server's limits, as http-framework reads them.
      THEATER_ASSIGN_OR_RETURN(bool known, http::ReadServerLimit(key, value, out.limits));
      if (!known) {
        return InvalidArgument("unknown key '" + key + "' (expected host, port, " +
                               std::string(http::kServerLimitKeys) + ")");
      }
    }
  }
  return out;
}

// The exchange's response as the shared server's response record (status, headers, body). The
// call is over: the body moves out of the exchange rather than being copied.
Value ResponseValue(HttpExchange& exchange) {
  HttpOutgoingMessage& draft = *exchange.response;
  std::vector<Value> headers;
  for (const auto& [name, value] : *draft.headers) {
    headers.push_back(Value::Tuple(
        {Value::String(name), Value::String(std::string(value.begin(), value.end()))}));
  }
  return Value::Record({Value::U16(draft.status), Value::List(std::move(headers)),
                        Value::Some(Value::Bytes(std::move(draft.body)))});
}

Value TextResponse(uint16_t status, std::string text) {
  return Value::Record({Value::U16(status),
                        Value::List({Value::Tuple({Value::String("content-type"),
                                                   Value::String("text/plain; charset=utf-8")})}),
                        Value::Some(Value::Bytes(std::vector<uint8_t>(text.begin(), text.end())))});
}

// The wasi:http error-code case that names a transfer's failure.
std::string_view ErrorCodeFor(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kInvalidArgument:
      return "HTTP-request-URI-invalid";
    case HttpErrorKind::kPermissionDenied:
      return "HTTP-request-denied";
    case HttpErrorKind::kDns:
      return "DNS-error";
    case HttpErrorKind::kConnect:
      return "connection-refused";
    case HttpErrorKind::kTls:
      return "TLS-certificate-error";
    case HttpErrorKind::kTimeout:
      return "connection-timeout";
    case HttpErrorKind::kLimit:
      return "HTTP-response-body-size";
    case HttpErrorKind::kTransfer:
      return "HTTP-protocol-error";
    case HttpErrorKind::kCancelled:
      return "connection-terminated";
    case HttpErrorKind::kInternal:
      break;
  }
  return "internal-error";
}

// The most a response to an outgoing request may hold.
constexpr uint64_t kMaxOutgoingResponseBytes = 16u << 20;
// Defaults of what request-options leave unset.
constexpr uint64_t kDefaultConnectTimeoutMs = 10'000;
constexpr uint64_t kDefaultTimeoutMs = 30'000;

// The WASI host of the actor's current instance (an update replaces it; null once the actor
// stops). Shared by the handler and its listener's port, which may outlive the handler by the
// server's last completions.
class CurrentWasi {
 public:
  void Set(std::shared_ptr<WasiPreview2> wasi) {
    std::lock_guard<std::mutex> lock(mu_);
    wasi_ = std::move(wasi);
  }
  std::shared_ptr<WasiPreview2> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return wasi_;
  }

 private:
  std::mutex mu_;
  std::shared_ptr<WasiPreview2> wasi_;
};

// Where the listener's requests go: each becomes an exchange and a call of the component's
// incoming-handler, whose reply is turned into the server's response record.
class IncomingPort final : public http::ActorPort {
 public:
  IncomingPort(std::weak_ptr<ActorContext> actor, std::string export_interface, std::string scheme,
               std::shared_ptr<CurrentWasi> wasi)
      : actor_(std::move(actor)),
        export_interface_(std::move(export_interface)),
        scheme_(std::move(scheme)),
        wasi_(std::move(wasi)) {}

  Status Call(std::string_view, std::vector<Value> params, Done done) override {
    std::shared_ptr<ActorContext> actor = actor_.lock();
    std::shared_ptr<WasiPreview2> wasi = wasi_->Get();
    if (!actor || !wasi) return Unavailable("the actor has stopped");
    // params: the route's handler id, then the request record (method, target, headers, body).
    std::vector<Value>& request = params[1].mutable_items();
    auto exchange = std::make_shared<HttpExchange>();
    exchange->method = request[0].as_string();
    exchange->path_with_query = request[1].as_string();
    exchange->scheme = scheme_;
    for (const Value& pair : request[2].items()) {
      const std::string& name = pair.items()[0].as_string();
      const std::string& value = pair.items()[1].as_string();
      if (name.size() >= kRouteParamHeader.size() &&
          AsciiEqualsIgnoreCase(name.substr(0, kRouteParamHeader.size()), kRouteParamHeader)) {
        continue;
      }
      if (exchange->authority.empty() && AsciiEqualsIgnoreCase(name, "host")) {
        exchange->authority = value;
      }
      exchange->headers->emplace_back(name, std::vector<uint8_t>(value.begin(), value.end()));
    }
    // The params are this call's own: the body moves into the exchange.
    if (request[3].is_some())
      exchange->body = std::move(request[3].mutable_payload()->mutable_bytes());

    const std::pair<uint32_t, uint32_t> reps = wasi->AdoptIncoming(exchange);
    ExportInvocation op;
    op.interface_name = export_interface_;
    op.function = "handle";
    op.params = {Value::Own(reps.first), Value::Own(reps.second)};
    op.reply = [exchange, done = std::move(done)](Result<std::vector<Value>> handled) {
      if (!handled.ok()) {
        // The cause (a trap, a deadline) is the actor's, in its chain and log; a client is
        // not told the guest's internals.
        done(std::vector<Value>{
            Value::Tuple({TextResponse(500, "the component failed handling the request")})});
        return;
      }
      if (!exchange->responded) {
        done(std::vector<Value>{Value::Tuple(
            {TextResponse(500, "the component returned without setting a response")})});
        return;
      }
      if (exchange->error) {
        // An error-code the component chose to answer with: its name is its message.
        done(std::vector<Value>{Value::Tuple(
            {TextResponse(500, "the component answered with an error: " + *exchange->error)})});
        return;
      }
      done(std::vector<Value>{Value::Tuple({ResponseValue(*exchange)})});
    };
    Status queued = actor->Post(std::move(op));
    if (!queued.ok()) {
      wasi->ForgetIncoming(reps);
      // Stopping is the server's 503 (kUnavailable), as a full mailbox is.
      if (queued.code() == StatusCode::kFailedPrecondition) return Unavailable(queued.message());
    }
    return queued;
  }

 private:
  std::weak_ptr<ActorContext> actor_;
  std::string export_interface_;
  std::string scheme_;
  std::shared_ptr<CurrentWasi> wasi_;
};

class WasiHttpHandler final : public Handler {
 public:
  WasiHttpHandler() = default;
  explicit WasiHttpHandler(WasiHttpConfig config) : config_(std::move(config)) {}
  ~WasiHttpHandler() override { StopServer(); }

  std::string_view name() const override { return "wasi-http"; }
  // Every WASI interface: this handler serves the whole of WASI 0.2 for its actors (an
  // implicit wasi-preview2 is then not added beside it).
  std::optional<std::string> imports() const override { return "wasi:*"; }
  std::optional<bool> ServesImport(std::string_view interface_name,
                                   std::string_view function) const override {
    return WasiPreview2::Serves(interface_name, function, /*http=*/true);
  }
  std::optional<std::string> exports() const override { return std::string(kIncomingHandler); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(WasiHttpConfig parsed, ParseConfig(config.config));
    return std::unique_ptr<Handler>(new WasiHttpHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    WasiPreview2::Options options = WasiOptionsFor(actor);
    options.http = true;
    options.send_request = [this, &actor](const HttpOutgoingMessage& request) {
      return SendRequest(actor, request);
    };
    auto wasi = std::make_shared<WasiPreview2>(std::move(options));
    wasi_->Set(wasi);  // an update's new instance takes the requests from now on
    return functions.ServeComponentInterfaces("wasi:", std::move(wasi));
  }

  Status Start(ActorContext& actor) override {
    // The export as the component names it, with its 0.2.x version.
    std::string export_interface;
    for (int minor = 0; minor <= 20 && export_interface.empty(); ++minor) {
      std::string name = std::string(kIncomingHandler) + "@0.2." + std::to_string(minor);
      if (actor.HasExport(name + "#handle")) export_interface = std::move(name);
    }
    if (export_interface.empty() && actor.HasExport(std::string(kIncomingHandler) + "#handle")) {
      export_interface = std::string(kIncomingHandler);
    }
    if (export_interface.empty()) {
      return FailedPrecondition(
          "the wasi-http handler calls the component's wasi:http/incoming-handler@0.2.x#handle, "
          "and the component does not export it");
    }
    auto port = std::make_shared<IncomingPort>(actor.WeakSelf(), export_interface, "http", wasi_);
    // One catch-all route per method the shared server knows: every path reaches the
    // component, which decides what it serves.
    auto routing = std::make_shared<http::Routing>();
    THEATER_ASSIGN_OR_RETURN(http::RoutePattern any, http::RoutePattern::Parse("/{*path}"));
    uint64_t route_id = 1;
    for (std::string_view method :
         {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) {
      THEATER_RETURN_IF_ERROR(
          routing->routes.Add(http::Route{route_id++, any, std::string(method), 1}));
    }
    http::HttpServer::Options server;
    server.host = config_.host;
    server.port = config_.port;
    server.limits = config_.limits;
    Result<std::unique_ptr<http::HttpServer>> started =
        http::HttpServer::Start(actor.services().io().context(), server, port, routing);
    if (!started.ok()) {
      return started.status().WithContext("wasi-http: listening on " + config_.host + ":" +
                                          std::to_string(config_.port));
    }
    const uint16_t bound = (*started)->port();
    {
      std::lock_guard<std::mutex> lock(mu_);
      server_ = std::move(started).value();
    }
    actor.Log("wasi-http: listening on http://" + config_.host + ":" + std::to_string(bound));
    return Status::Ok();
  }

  void Stop(StopKind) override { StopServer(); }

 private:
  void StopServer() {
    std::unique_ptr<http::HttpServer> server;
    std::shared_ptr<Transfer> transfer;
    CurlEngine* engine = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      server = std::move(server_);
      stopped_ = true;
      transfer = current_.lock();
      engine = engine_;
    }
    wasi_->Set(nullptr);
    if (server) server->BeginShutdown();
    if (engine != nullptr && transfer) engine->Cancel(transfer);
  }

  // wasi:http/outgoing-handler#handle: the request, checked against the http-client permission
  // (its allowed hosts and methods, its timeout) before anything touches the network, sent by
  // libcurl on the host's loop with TLS verified and no redirect followed (a wasi:http client
  // follows them itself), the actor's fiber suspended until the response is there.
  std::variant<HttpIncomingResponse, HttpRequestFailure> SendRequest(
      ActorContext& actor, const HttpOutgoingMessage& request) {
    using Failure = HttpRequestFailure;
    if (request.authority.empty()) return Failure{"HTTP-request-URI-invalid", "no authority"};
    const std::string scheme = request.scheme.empty() ? "https" : request.scheme;
    const std::string path = request.path_with_query.empty() ? "/" : request.path_with_query;
    Result<ParsedUrl> url = ParseHttpUrl(scheme + "://" + request.authority + path);
    if (!url.ok()) return Failure{"HTTP-request-URI-invalid", url.status().message()};
    if (Status allowed = CheckHttp(actor.permissions(), request.method, url->host); !allowed.ok()) {
      return Failure{"HTTP-request-denied", allowed.message()};
    }
    TransferSpec spec;
    spec.method = request.method;
    spec.url = url->url;
    for (const auto& [name, value] : *request.headers) {
      // Derived from the authority and the body by the host (so that the permission sees the
      // host the request goes to, and the body is framed as sent).
      if (AsciiEqualsIgnoreCase(name, "host") || AsciiEqualsIgnoreCase(name, "content-length")) {
        continue;
      }
      spec.headers.emplace_back(name, std::string(value.begin(), value.end()));
    }
    if (!request.body.empty()) spec.body = request.body;
    spec.max_redirects = 0;
    const HttpClientPermissions* permission =
        actor.permissions().Get<HttpClientPermissions>(kHttpClientHandler);
    auto ms = [](std::optional<uint64_t> ns, uint64_t fallback) {
      return ns ? std::max<uint64_t>(1, *ns / 1'000'000) : fallback;
    };
    spec.timeout_ms = ms(request.first_byte_timeout_ns, kDefaultTimeoutMs);
    if (permission != nullptr && permission->timeout_ms) {
      spec.timeout_ms = std::max<uint64_t>(1, std::min(spec.timeout_ms, *permission->timeout_ms));
    }
    spec.connect_timeout_ms =
        std::min(ms(request.connect_timeout_ns, kDefaultConnectTimeoutMs), spec.timeout_ms);
    spec.max_response_bytes = kMaxOutgoingResponseBytes;
    spec.tls_verify = true;

    Result<CurlEngine*> engine = CurlEngine::Of(actor.services().io().context());
    if (!engine.ok()) return Failure{"internal-error", engine.status().message()};
    std::shared_ptr<Transfer> transfer;
    auto track = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      engine_ = *engine;
      current_ = transfer;
      return !stopped_;
    };
    if (!actor.CanSuspend()) {
      transfer = (*engine)->Start(std::move(spec), nullptr);
      if (!track()) (*engine)->Cancel(transfer);
      transfer->WaitDone();
    } else {
      Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
        transfer = (*engine)->Start(std::move(spec), [waker] { waker.Wake(); });
        if (!track()) (*engine)->Cancel(transfer);
      });
      if (!woken.ok()) {
        if (transfer) (*engine)->Cancel(transfer);
        return Failure{"connection-terminated", woken.status().message()};
      }
    }
    TransferOutcome outcome = transfer->TakeOutcome();
    if (!outcome.ok()) return Failure{std::string(ErrorCodeFor(*outcome.error)), outcome.message};
    HttpIncomingResponse response;
    response.status = outcome.response.status;
    for (auto& [name, value] : outcome.response.headers) {
      response.headers.emplace_back(std::move(name),
                                    std::vector<uint8_t>(value.begin(), value.end()));
    }
    response.body = std::move(outcome.response.body);
    return response;
  }

  WasiHttpConfig config_;
  std::shared_ptr<CurrentWasi> wasi_ = std::make_shared<CurrentWasi>();
  std::mutex mu_;  // guards what follows
  std::unique_ptr<http::HttpServer> server_;
  bool stopped_ = false;
  CurlEngine* engine_ = nullptr;     // the loop's, once a request used it
  std::weak_ptr<Transfer> current_;  // the request in flight (one at a time: one fiber)
};

}  // namespace

std::unique_ptr<Handler> NewWasiHttpHandler() {
  return std::make_unique<WasiHttpHandler>();
}

}  // namespace theater::handlers
