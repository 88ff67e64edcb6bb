// Theater: a WebAssembly actor runtime.
//
// The http-framework handler: theater:simple/http-framework (wit/http.wit) — HTTP and WebSocket
// servers owned by one actor — and the calls into that actor's theater:simple/http-handlers
// exports. docs/handlers.md, "http-framework", is the reference (config, pipeline, statuses).
//
// Each actor's handler instance owns its servers outright: ids are unique runtime-wide, so an id
// of another actor's server, route or middleware is simply unknown here, and nothing one actor
// does (stop, crash, destroy) can reach another actor's servers. When the actor stops, Stop()
// closes all of its servers at once. When it is recovered after its host restarted, Restore()
// re-creates them, with the ids the guest was given, from the calls its chain recorded.
//
// The routes, middleware and WebSocket endpoints of a server are kept here and published to the
// running server as an immutable snapshot (http::Routing) after every change, so a change
// applies to the next request without a restart. The server (http_server.h) runs on its own
// thread and reaches the actor only through ActorPort, which queues an operation in the actor's
// mailbox: the host functions here never wait for the network, and the network never waits for
// the actor.
//
// Thread-safety: host functions run on the actor's fiber one at a time; Stop runs on a runtime
// thread. mu_ guards all state, so Stop may overlap a host function safely.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include "handlers/http-framework/http_config.h"
#include "handlers/http-framework/http_framework_handler.h"
#include "handlers/http-framework/http_framework_permissions.h"
#include "handlers/support/http-server/http_server.h"
#include "handlers/support/http-server/route_table.h"

namespace theater::handlers {
namespace {

using abi::Value;
namespace fs = std::filesystem;

constexpr std::string_view kHandlersInterface = "theater:simple/http-handlers";
constexpr size_t kMaxHandlerName = 256;
// What one actor may hold, so that a guest calling in a loop cannot take the host's sockets,
// threads and memory (each running server listens on a socket; every change of a server's
// routing copies it for the server's threads). Errors name the limit.
constexpr size_t kMaxServers = 16;
constexpr size_t kMaxHandlers = 1024;
constexpr size_t kMaxRoutesPerServer = 1024;
constexpr size_t kMaxMiddlewarePerServer = 256;
constexpr size_t kMaxWebSocketsPerServer = 256;

Status OverLimit(std::string_view what, size_t limit, std::string_view name) {
  return ResourceExhausted("an actor may have at most " + std::to_string(limit) + " " +
                           std::string(what) + " (" + std::string(name) + ")");
}

// Ids of servers, handlers, routes and middleware: one sequence for the whole process, so an id
// is never valid in two actors.
std::atomic<uint64_t>& IdSequence() {
  static std::atomic<uint64_t> next{1};
  return next;
}
uint64_t NextId() { return IdSequence().fetch_add(1); }
// A recovered actor's ids come back from the chain: the sequence moves past them, so that no id
// given out later in this process is one of them.
void ReserveIdsThrough(uint64_t id) {
  std::atomic<uint64_t>& next = IdSequence();
  uint64_t current = next.load();
  while (current <= id && !next.compare_exchange_weak(current, id + 1)) {
  }
}

// The u64 a recorded call's `result<u64, string>` (or `result<u16, string>`) gave back: the id
// (or port) the guest was told. The shapes were checked against the WIT before Restore.
std::optional<uint64_t> OkNumber(const chain::HostCall& call) {
  if (!call.output.ok() || call.output.values.size() != 1) return std::nullopt;
  const Value& result = call.output.values[0];
  if (!result.is_ok() || result.payload() == nullptr) return std::nullopt;
  return result.payload()->as_u64();
}
bool Succeeded(const chain::HostCall& call) {
  return call.output.ok() && call.output.values.size() == 1 && call.output.values[0].is_ok();
}

// Queues calls of the actor's http-handlers exports.
class ActorPortImpl final : public http::ActorPort {
 public:
  explicit ActorPortImpl(std::weak_ptr<ActorContext> actor) : actor_(std::move(actor)) {}

  Status Call(std::string_view function, std::vector<Value> params, Done done) override {
    std::shared_ptr<ActorContext> actor = actor_.lock();
    if (!actor) return Unavailable("the actor has stopped");
    std::string export_name = std::string(kHandlersInterface) + "#" + std::string(function);
    if (!actor->HasExport(export_name)) {
      return FailedPrecondition("the actor does not export " + export_name);
    }
    ExportInvocation op;
    op.interface_name = std::string(kHandlersInterface);
    op.function = std::string(function);
    op.params = std::move(params);
    op.reply = std::move(done);
    Status queued = actor->Post(std::move(op));
    // Stopping (failed-precondition from the actor) is the server's 503, not a missing export.
    if (!queued.ok() && queued.code() == StatusCode::kFailedPrecondition) {
      return Unavailable(queued.message());
    }
    return queued;
  }

 private:
  std::weak_ptr<ActorContext> actor_;
};

class HttpFrameworkHandler final : public Handler {
 public:
  HttpFrameworkHandler() = default;
  explicit HttpFrameworkHandler(http::ServerLimits limits) : limits_(limits) {}
  ~HttpFrameworkHandler() override { StopAll(); }

  std::string_view name() const override { return "http-framework"; }
  std::optional<std::string> imports() const override { return "theater:simple/http-framework"; }
  std::optional<std::string> exports() const override { return std::string(kHandlersInterface); }
  const PermissionRules* permission_rules() const override { return &HttpFrameworkPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(http::ServerLimits limits,
                             http::ParseHttpFrameworkConfig(config.config));
    return std::unique_ptr<Handler>(new HttpFrameworkHandler(limits));
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    base_dir_ = actor.manifest().base_dir;
    const EffectivePermissions& perms = actor.permissions();
    if (perms.Get<HttpFrameworkPermissions>(kHttpFrameworkHandler) && perms.Get<HttpFrameworkPermissions>(kHttpFrameworkHandler)->max_request_size) {
      limits_.max_body_bytes =
          std::min<uint64_t>(limits_.max_body_bytes, *perms.Get<HttpFrameworkPermissions>(kHttpFrameworkHandler)->max_request_size);
    }
    auto add = [&](std::string_view function, auto method) {
      return functions.AddMethod("http-framework", function, this, method);
    };
    THEATER_RETURN_IF_ERROR(add("create-server", &HttpFrameworkHandler::CreateServer));
    THEATER_RETURN_IF_ERROR(add("get-server-info", &HttpFrameworkHandler::GetServerInfo));
    THEATER_RETURN_IF_ERROR(add("start-server", &HttpFrameworkHandler::StartServer));
    THEATER_RETURN_IF_ERROR(add("stop-server", &HttpFrameworkHandler::StopServer));
    THEATER_RETURN_IF_ERROR(add("destroy-server", &HttpFrameworkHandler::DestroyServer));
    THEATER_RETURN_IF_ERROR(add("register-handler", &HttpFrameworkHandler::RegisterHandler));
    THEATER_RETURN_IF_ERROR(add("add-route", &HttpFrameworkHandler::AddRoute));
    THEATER_RETURN_IF_ERROR(add("remove-route", &HttpFrameworkHandler::RemoveRoute));
    THEATER_RETURN_IF_ERROR(add("add-middleware", &HttpFrameworkHandler::AddMiddleware));
    THEATER_RETURN_IF_ERROR(add("remove-middleware", &HttpFrameworkHandler::RemoveMiddleware));
    THEATER_RETURN_IF_ERROR(add("enable-websocket", &HttpFrameworkHandler::EnableWebSocket));
    THEATER_RETURN_IF_ERROR(add("disable-websocket", &HttpFrameworkHandler::DisableWebSocket));
    THEATER_RETURN_IF_ERROR(
        add("send-websocket-message", &HttpFrameworkHandler::SendWebSocketMessage));
    return add("close-websocket", &HttpFrameworkHandler::CloseWebSocket);
  }

  Status Start(ActorContext& actor) override {
    std::lock_guard<std::mutex> lock(mu_);
    port_ = std::make_shared<ActorPortImpl>(actor.WeakSelf());
    io_ = &actor.services().io();
    stopped_ = false;
    return Status::Ok();
  }

  void Stop(StopKind) override { StopAll(); }

  bool restores() const override { return true; }
  // Queries and WebSocket sends change nothing that lasts.
  bool RestoreReads(std::string_view function) const override {
    return function != "get-server-info" && function != "send-websocket-message" &&
           function != "close-websocket";
  }

  // Re-applies the calls that made and changed this actor's servers, handlers, routes,
  // middleware and WebSocket endpoints, under the ids the guest was given, then starts the
  // servers that were listening: on the port they had (one configured as 0, "any", takes the
  // port it had been given, or any free one when that is taken now). Calls that failed live are
  // skipped; a call that fails now (a permission narrowed since, a port taken) is reported and
  // the rest goes on.
  Result<std::string> Restore(ActorContext& actor, std::span<const chain::HostCall> history) override {
    std::map<uint64_t, uint16_t> listening;  // server id -> the port it was given
    std::vector<std::string> problems;
    // Re-applies one recorded call; what fails now (a permission narrowed since) is noted.
    auto reapply = [&](const chain::HostCall& call, const HostResults& out) {
      if (!out.ok()) {
        problems.push_back(call.function + ": " + out.status().ToString());
      } else if (out->size() == 1 && (*out)[0].is_err() && (*out)[0].payload() != nullptr) {
        problems.push_back(call.function + ": " + (*out)[0].payload()->as_string());
      }
    };
    for (const chain::HostCall& call : history) {
      if (!Succeeded(call)) continue;
      const std::string& f = call.function;
      const HostArgs args(call.input);
      const std::optional<uint64_t> given = OkNumber(call);
      if (given) ReserveIdsThrough(*given);
      if (f == "create-server" && given) {
        reapply(call, CreateServerAs(args, *given));
      } else if (f == "register-handler" && given) {
        reapply(call, RegisterHandlerAs(args, *given));
      } else if (f == "add-route" && given) {
        reapply(call, AddRouteAs(actor, args, *given));
      } else if (f == "add-middleware" && given) {
        reapply(call, AddMiddlewareAs(args, *given));
      } else if (f == "remove-route") {
        reapply(call, RemoveRoute(actor, args));
      } else if (f == "remove-middleware") {
        reapply(call, RemoveMiddleware(actor, args));
      } else if (f == "enable-websocket") {
        reapply(call, EnableWebSocket(actor, args));
      } else if (f == "disable-websocket") {
        reapply(call, DisableWebSocket(actor, args));
      } else if (f == "start-server" && given) {
        listening[args[0].as_u64()] = static_cast<uint16_t>(*given);
      } else if (f == "stop-server") {
        listening.erase(args[0].as_u64());
      } else if (f == "destroy-server") {
        listening.erase(args[0].as_u64());
        reapply(call, DestroyServer(actor, args));
      }
      // get-server-info and the WebSocket sends change nothing that lasts.
    }
    std::string summary;
    size_t servers = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      servers = servers_.size();
    }
    for (const auto& [id, port] : listening) {
      Result<uint16_t> started = StartServerOn(id, port);
      if (!started.ok()) {
        problems.push_back("server " + std::to_string(id) + " does not listen again: " +
                           started.status().ToString());
        continue;
      }
      summary += (summary.empty() ? "" : ", ") + std::string("server ") + std::to_string(id) +
                 " listening on port " + std::to_string(*started) +
                 (*started != port ? " (it had " + std::to_string(port) + ")" : "");
    }
    std::string out = std::to_string(servers) + " server(s) restored" +
                      (summary.empty() ? "" : ": " + summary);
    if (!problems.empty()) {
      std::string all;
      for (const std::string& p : problems) all += (all.empty() ? "" : "; ") + p;
      return FailedPrecondition(out + "; not restored: " + all);
    }
    return out;
  }

 private:
  struct Server {
    uint64_t id = 0;
    std::string host;
    uint16_t port = 0;  // as configured (0: any)
    std::optional<std::string> cert_path, key_path;
    http::Routing routing;  // the working copy; published as a snapshot
    std::unique_ptr<http::HttpServer> running;
  };

  // Everything below runs with mu_ held.

  Result<Server*> FindServer(uint64_t id) {
    auto it = servers_.find(id);
    if (it == servers_.end()) {
      return NotFound("server " + std::to_string(id) + " is not one of this actor's servers");
    }
    return &it->second;
  }
  Status CheckHandler(uint64_t id) const {
    if (!handlers_.contains(id)) {
      return NotFound("handler " + std::to_string(id) + " is not registered by this actor");
    }
    return Status::Ok();
  }
  void Publish(Server& s) {
    if (s.running) s.running->SetRouting(std::make_shared<const http::Routing>(s.routing));
  }
  // Joins servers whose graceful stop has completed.
  void Reap() {
    std::erase_if(draining_,
                  [](const std::unique_ptr<http::HttpServer>& s) { return s->finished(); });
  }
  // A TLS path as the host opens it: relative paths are relative to the manifest's directory.
  std::string ResolvePath(const std::string& path) const {
    fs::path p(path);
    if (p.is_relative() && !base_dir_.empty()) p = base_dir_ / p;
    return p.lexically_normal().string();
  }

  HostResults CreateServer(ActorContext&, HostArgs args) { return CreateServerAs(args, NextId()); }

  HostResults CreateServerAs(HostArgs args, uint64_t id) {
    const auto& config = args[0].items();
    Server s;
    s.id = id;
    s.port = config[0].is_some() ? static_cast<uint16_t>(config[0].payload()->as_u64()) : 0;
    s.host = config[1].is_some() ? config[1].payload()->as_string() : "127.0.0.1";
    if (Status ok = http::CheckHost(s.host); !ok.ok()) return ErrValue(ok);
    if (config[2].is_some()) {
      const auto& tls = config[2].payload()->items();
      const std::string& cert = tls[0].as_string();
      const std::string& key = tls[1].as_string();
      for (const std::string* p : {&cert, &key}) {
        if (p->empty() || p->find('\0') != std::string::npos) {
          return ErrValue(InvalidArgument("TLS cert-path and key-path must be non-empty paths"));
        }
      }
      s.cert_path = ResolvePath(cert);
      s.key_path = ResolvePath(key);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (servers_.size() >= kMaxServers) {
      return ErrValue(OverLimit("HTTP servers", kMaxServers, "max_servers"));
    }
    if (!servers_.emplace(id, std::move(s)).second) {
      return ErrValue(AlreadyExists("server " + std::to_string(id) + " exists already"));
    }
    return OkValue(Value::U64(id));
  }

  HostResults GetServerInfo(ActorContext&, HostArgs args) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(args[0].as_u64());
    if (!s.ok()) return ErrValue(s.status());
    Server& srv = **s;
    return OkValue(Value::Record({
        Value::U64(srv.id),
        Value::U16(srv.running ? srv.running->port() : 0),
        Value::String(srv.host),
        Value::Bool(srv.running != nullptr),
        Value::U32(static_cast<uint32_t>(srv.routing.routes.size())),
        Value::U32(static_cast<uint32_t>(srv.routing.middleware.size())),
        Value::Bool(!srv.routing.websockets.empty()),
    }));
  }

  HostResults StartServer(ActorContext&, HostArgs args) {
    Result<uint16_t> port = StartServerOn(args[0].as_u64(), std::nullopt);
    if (!port.ok()) return ErrValue(port.status());
    return OkValue(Value::U16(*port));
  }

  // Starts server `id` (if it is not listening already) and returns its port. `had`: the port a
  // restored server listened on before, tried first when its configured port is 0 (any).
  Result<uint16_t> StartServerOn(uint64_t id, std::optional<uint16_t> had) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || !port_) return FailedPrecondition("the actor is stopping");
    Reap();
    THEATER_ASSIGN_OR_RETURN(Server * s, FindServer(id));
    Server& srv = *s;
    if (srv.running) return srv.running->port();  // already listening
    http::HttpServer::Options options;
    options.server_id = srv.id;
    options.host = srv.host;
    options.port = srv.port != 0 ? srv.port : had.value_or(0);
    options.cert_path = srv.cert_path;
    options.key_path = srv.key_path;
    options.limits = limits_;
    auto routing = std::make_shared<const http::Routing>(srv.routing);
    Result<std::unique_ptr<http::HttpServer>> started =
        http::HttpServer::Start(io_->context(), options, port_, routing);
    if (!started.ok() && srv.port == 0 && options.port != 0) {
      // The port it had is taken now: any free one, as its config asks.
      options.port = 0;
      started = http::HttpServer::Start(io_->context(), options, port_, routing);
    }
    THEATER_RETURN_IF_ERROR(started.status());
    srv.running = std::move(started).value();
    return srv.running->port();
  }

  // Begins the graceful stop of a running server; it drains on its own thread (Reap joins it).
  void StopLocked(Server& srv) {
    if (!srv.running) return;
    srv.running->BeginShutdown();
    draining_.push_back(std::move(srv.running));
  }

  HostResults StopServer(ActorContext&, HostArgs args) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(args[0].as_u64());
    if (!s.ok()) return ErrValue(s.status());
    StopLocked(**s);
    Reap();
    return OkValue();
  }

  HostResults DestroyServer(ActorContext&, HostArgs args) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = args[0].as_u64();
    Result<Server*> s = FindServer(id);
    if (!s.ok()) return ErrValue(s.status());
    StopLocked(**s);
    std::erase_if(route_owner_, [id](const auto& e) { return e.second == id; });
    std::erase_if(middleware_owner_, [id](const auto& e) { return e.second == id; });
    servers_.erase(id);
    return OkValue();
  }

  HostResults RegisterHandler(ActorContext&, HostArgs args) {
    return RegisterHandlerAs(args, NextId());
  }

  HostResults RegisterHandlerAs(HostArgs args, uint64_t id) {
    const std::string& name = args[0].as_string();
    if (name.empty() || name.size() > kMaxHandlerName) {
      return ErrValue(
          InvalidArgument("handler name must be 1-" + std::to_string(kMaxHandlerName) + " bytes"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (handlers_.size() >= kMaxHandlers) {
      return ErrValue(OverLimit("registered HTTP handlers", kMaxHandlers, "max_handlers"));
    }
    if (!handlers_.emplace(id, name).second) {
      return ErrValue(AlreadyExists("handler " + std::to_string(id) + " exists already"));
    }
    return OkValue(Value::U64(id));
  }

  HostResults AddRoute(ActorContext& actor, HostArgs args) {
    return AddRouteAs(actor, args, NextId());
  }

  HostResults AddRouteAs(ActorContext& actor, HostArgs args, uint64_t id) {
    uint64_t server_id = args[0].as_u64();
    const std::string& path = args[1].as_string();
    uint64_t handler_id = args[3].as_u64();
    Result<std::string> method = http::NormalizeMethod(args[2].as_string());
    if (!method.ok()) return ErrValue(method.status());
    Result<http::RoutePattern> pattern = http::RoutePattern::Parse(path);
    if (!pattern.ok()) return ErrValue(pattern.status());
    if (Status allowed = CheckHttpRoute(actor.permissions(), *method, path);
        !allowed.ok()) {
      return ErrValue(allowed);
    }
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(server_id);
    if (!s.ok()) return ErrValue(s.status());
    if (Status h = CheckHandler(handler_id); !h.ok()) return ErrValue(h);
    Server& srv = **s;
    if (srv.routing.websockets.contains(path)) {
      return ErrValue(AlreadyExists("path '" + path + "' is a WebSocket endpoint"));
    }
    if (std::count_if(route_owner_.begin(), route_owner_.end(), [server_id](const auto& e) {
          return e.second == server_id;
        }) >= static_cast<std::ptrdiff_t>(kMaxRoutesPerServer)) {
      return ErrValue(
          OverLimit("routes on one server", kMaxRoutesPerServer, "max_routes_per_server"));
    }
    if (route_owner_.contains(id)) {
      return ErrValue(AlreadyExists("route " + std::to_string(id) + " exists already"));
    }
    http::Route route;
    route.id = id;
    route.pattern = std::move(pattern).value();
    route.method = *method;
    route.handler_id = handler_id;
    if (Status added = srv.routing.routes.Add(std::move(route)); !added.ok()) {
      return ErrValue(added);
    }
    route_owner_[id] = server_id;
    Publish(srv);
    return OkValue(Value::U64(id));
  }

  HostResults RemoveRoute(ActorContext&, HostArgs args) {
    uint64_t id = args[0].as_u64();
    std::lock_guard<std::mutex> lock(mu_);
    auto owner = route_owner_.find(id);
    if (owner == route_owner_.end()) {
      return ErrValue(NotFound("route " + std::to_string(id) + " is not one of this actor's"));
    }
    Server& srv = servers_.at(owner->second);
    srv.routing.routes.Remove(id);
    route_owner_.erase(owner);
    Publish(srv);
    return OkValue();
  }

  HostResults AddMiddleware(ActorContext&, HostArgs args) {
    return AddMiddlewareAs(args, NextId());
  }

  HostResults AddMiddlewareAs(HostArgs args, uint64_t id) {
    uint64_t server_id = args[0].as_u64();
    const std::string& path = args[1].as_string();
    uint64_t handler_id = args[2].as_u64();
    if (path.empty() || path[0] != '/' || path.size() > http::kMaxPatternBytes ||
        path.find_first_of(std::string_view(" \t\r\n?#\0", 7)) != std::string::npos) {
      return ErrValue(InvalidArgument("middleware path '" + path.substr(0, 80) +
                                      "' must start with '/' and contain no space, '?' or '#'"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(server_id);
    if (!s.ok()) return ErrValue(s.status());
    if (Status h = CheckHandler(handler_id); !h.ok()) return ErrValue(h);
    if ((*s)->routing.middleware.size() >= kMaxMiddlewarePerServer) {
      return ErrValue(OverLimit("middleware on one server", kMaxMiddlewarePerServer,
                                "max_middleware_per_server"));
    }
    if (middleware_owner_.contains(id)) {
      return ErrValue(AlreadyExists("middleware " + std::to_string(id) + " exists already"));
    }
    (*s)->routing.middleware.push_back(http::Middleware{id, path, handler_id});
    middleware_owner_[id] = server_id;
    Publish(**s);
    return OkValue(Value::U64(id));
  }

  HostResults RemoveMiddleware(ActorContext&, HostArgs args) {
    uint64_t id = args[0].as_u64();
    std::lock_guard<std::mutex> lock(mu_);
    auto owner = middleware_owner_.find(id);
    if (owner == middleware_owner_.end()) {
      return ErrValue(NotFound("middleware " + std::to_string(id) + " is not one of this actor's"));
    }
    Server& srv = servers_.at(owner->second);
    std::erase_if(srv.routing.middleware, [id](const http::Middleware& m) { return m.id == id; });
    middleware_owner_.erase(owner);
    Publish(srv);
    return OkValue();
  }

  HostResults EnableWebSocket(ActorContext&, HostArgs args) {
    uint64_t server_id = args[0].as_u64();
    const std::string& path = args[1].as_string();
    if (path.empty() || path[0] != '/' || path.size() > http::kMaxPatternBytes ||
        path.find_first_of(std::string_view(" \t\r\n?#{}\0", 9)) != std::string::npos) {
      return ErrValue(InvalidArgument("WebSocket path '" + path.substr(0, 80) +
                                      "' must be a literal path starting with '/'"));
    }
    http::WebSocketEndpoint endpoint;
    if (args[2].is_some()) endpoint.connect_handler = args[2].payload()->as_u64();
    endpoint.message_handler = args[3].as_u64();
    if (args[4].is_some()) endpoint.disconnect_handler = args[4].payload()->as_u64();
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(server_id);
    if (!s.ok()) return ErrValue(s.status());
    for (std::optional<uint64_t> h :
         {endpoint.connect_handler, std::optional<uint64_t>(endpoint.message_handler),
          endpoint.disconnect_handler}) {
      if (!h) continue;
      if (Status known = CheckHandler(*h); !known.ok()) return ErrValue(known);
    }
    Server& srv = **s;
    if (srv.routing.websockets.contains(path)) {
      return ErrValue(AlreadyExists("path '" + path + "' already has a WebSocket endpoint"));
    }
    if (srv.routing.routes.HasLiteralPath(path)) {
      return ErrValue(AlreadyExists("path '" + path + "' already has a route"));
    }
    if (srv.routing.websockets.size() >= kMaxWebSocketsPerServer) {
      return ErrValue(OverLimit("WebSocket endpoints on one server", kMaxWebSocketsPerServer,
                                "max_websockets_per_server"));
    }
    srv.routing.websockets.emplace(path, endpoint);
    Publish(srv);
    return OkValue();
  }

  HostResults DisableWebSocket(ActorContext&, HostArgs args) {
    const std::string& path = args[1].as_string();
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(args[0].as_u64());
    if (!s.ok()) return ErrValue(s.status());
    Server& srv = **s;
    if (srv.routing.websockets.erase(path) == 0) {
      return ErrValue(NotFound("path '" + path + "' has no WebSocket endpoint"));
    }
    Publish(srv);
    if (srv.running) srv.running->CloseWebSocketsAt(path);
    return OkValue();
  }

  HostResults SendWebSocketMessage(ActorContext&, HostArgs args) {
    Result<http::WsOutgoing> message = http::WsOutgoingFromValue(args[2]);
    if (!message.ok()) return ErrValue(message.status());
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(args[0].as_u64());
    if (!s.ok()) return ErrValue(s.status());
    if (!(*s)->running) return ErrValue(FailedPrecondition("the server is not running"));
    Status sent = (*s)->running->SendWebSocket(args[1].as_u64(), std::move(message).value());
    if (!sent.ok()) return ErrValue(sent);
    return OkValue();
  }

  HostResults CloseWebSocket(ActorContext&, HostArgs args) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<Server*> s = FindServer(args[0].as_u64());
    if (!s.ok()) return ErrValue(s.status());
    if (!(*s)->running) return ErrValue(FailedPrecondition("the server is not running"));
    Status closed = (*s)->running->CloseWebSocket(args[1].as_u64());
    if (!closed.ok()) return ErrValue(closed);
    return OkValue();
  }

  // Closes every server of this actor now (the actor is stopping): connections close, requests
  // in flight are not answered. The servers' threads are joined outside mu_.
  void StopAll() {
    std::vector<std::unique_ptr<http::HttpServer>> closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      for (auto& [id, srv] : servers_) {
        if (srv.running) closing.push_back(std::move(srv.running));
      }
      for (auto& d : draining_) closing.push_back(std::move(d));
      draining_.clear();
    }
    closing.clear();  // ~HttpServer: ForceStop and join
  }

  http::ServerLimits limits_;
  fs::path base_dir_;

  std::mutex mu_;
  std::shared_ptr<ActorPortImpl> port_;
  IoLoop* io_ = nullptr;  // the host's loop, which runs the servers (set by Start)
  bool stopped_ = false;
  std::map<uint64_t, Server> servers_;
  std::map<uint64_t, std::string> handlers_;  // handler id -> name
  std::map<uint64_t, uint64_t> route_owner_;  // route id -> server id
  std::map<uint64_t, uint64_t> middleware_owner_;
  std::vector<std::unique_ptr<http::HttpServer>> draining_;  // stopping gracefully
};

}  // namespace

std::unique_ptr<Handler> NewHttpFrameworkHandler() {
  return std::make_unique<HttpFrameworkHandler>();
}

}  // namespace theater::handlers
