// Theater: a WebAssembly actor runtime.
//
// The management server (management_server.h): listening, admitting connections under the
// server's caps, sweeping their deadlines, stopping, and `theater server`. The commands are listed
// in command_table.h, one connection's life is in connection.cc.
#include "server/management_server.h"

#include <signal.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <thread>

#include "cluster/lattice_member.h"
#include "cluster/lattice_messenger.h"
#include "common/bytes.h"
#include "common/os_entropy.h"
#include "dashboard/dashboard_server.h"
#include "server/client.h"
#include "server/server_impl.h"
#include "theater/builtins.h"
#include "theater/engine.h"
#include "theater/mutex.h"
#include "theater/plugin.h"
#include "theater/version.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

// How often the deadlines of every connection are checked (the deadlines' resolution).
constexpr auto kSweepInterval = std::chrono::milliseconds(200);
// How long accepting pauses when the process is out of file descriptors (instead of retrying
// the same failing accept in a loop).
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);

Status CheckOptions(const ServerOptions& o) {
  auto at_least = [](size_t value, size_t minimum, const char* name) -> Status {
    if (value < minimum) {
      return InvalidArgument(std::string(name) + " must be at least " + std::to_string(minimum));
    }
    return Status();
  };
  THEATER_RETURN_IF_ERROR(at_least(o.max_connections, 1, "max_connections"));
  THEATER_RETURN_IF_ERROR(at_least(o.max_connections_per_peer, 1, "max_connections_per_peer"));
  THEATER_RETURN_IF_ERROR(
      at_least(o.max_unauthenticated_connections, 1, "max_unauthenticated_connections"));
  THEATER_RETURN_IF_ERROR(
      at_least(o.max_unauthenticated_frame_bytes, 64, "max_unauthenticated_frame_bytes"));
  THEATER_RETURN_IF_ERROR(at_least(o.max_auth_failures, 1, "max_auth_failures"));
  THEATER_RETURN_IF_ERROR(at_least(o.max_auth_sources, 1, "max_auth_sources"));
  if (o.auth_source_delay_initial.count() < 0 ||
      o.auth_source_delay_max < o.auth_source_delay_initial) {
    return InvalidArgument("auth_source_delay_max (" +
                           std::to_string(o.auth_source_delay_max.count()) +
                           " ms) must be at least auth_source_delay_initial (" +
                           std::to_string(o.auth_source_delay_initial.count()) + " ms)");
  }
  THEATER_RETURN_IF_ERROR(at_least(o.max_reply_bytes, 4096, "max_reply_bytes"));
  THEATER_RETURN_IF_ERROR(at_least(o.default_page_bytes, 1, "default_page_bytes"));
  THEATER_RETURN_IF_ERROR(at_least(o.max_commands_in_flight, 1, "max_commands_in_flight"));
  THEATER_RETURN_IF_ERROR(at_least(o.subscription_queue, 1, "subscription_queue"));
  if (o.max_outbox_bytes / 2 < o.max_reply_bytes) {
    return InvalidArgument("max_outbox_bytes (" + std::to_string(o.max_outbox_bytes) +
                           ") must be at least twice max_reply_bytes (" +
                           std::to_string(o.max_reply_bytes) + ")");
  }
  return Status();
}

// Writes one Error message to a socket that is about to be closed, without waiting: a client
// refused at the door learns why (if its receive buffer has room, which a new one's has).
void Refuse(asio::ip::tcp::socket& socket, const std::string& why) {
  std::string frame;
  FrameEncoder encoder;
  const std::string text = ErrorResponse(ManagementError::kInvalidRequest, why).dump();
  encoder.EncodeTo({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, frame);
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(frame), ec);
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

const char* SignalName(int signal) {
  return signal == SIGINT ? "SIGINT" : "SIGTERM";
}

bool OutOfDescriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

ServerImpl::ServerImpl(TheaterRuntime& runtime, ServerOptions options)
    : runtime_(runtime),
      options_(std::move(options)),
      acceptor_(io_),
      sweep_timer_(io_),
      accept_retry_timer_(io_),
      started_(std::chrono::steady_clock::now()),
      auth_throttle_(AuthThrottle::Options{options_.auth_source_delay_initial,
                                           options_.auth_source_delay_max,
                                           options_.auth_source_quiet, options_.max_auth_sources}),
      subscription_budget_(std::make_shared<chain::ByteBudget>(options_.total_subscription_bytes)) {
}

Status ServerImpl::Listen() {
  THEATER_RETURN_IF_ERROR(CheckOptions(options_));
  THEATER_ASSIGN_OR_RETURN(manifest_roots_, ManifestRoots::Create(options_.manifest_roots));
  THEATER_ASSIGN_OR_RETURN(auto host_port, SplitAddress(options_.address));
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto results = resolver.resolve(host_port.first, std::to_string(host_port.second), ec);
  if (ec || results.empty()) {
    return InvalidArgument("cannot resolve '" + host_port.first + "': " + ec.message());
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  if (!endpoint.address().is_loopback() && !options_.token) {
    return FailedPrecondition("refusing to listen on " + options_.address +
                              " without a token: set --token-file or THEATER_SERVER_TOKEN "
                              "(only loopback addresses may go without one)");
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IOError("listening on " + options_.address + ": " + ec.message());
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  bound_address_ = bound.address().is_v6()
                       ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
                       : bound.address().to_string() + ":" + std::to_string(bound.port());
  blocking_ = std::make_unique<asio::thread_pool>(4);
  runtime_.SetTopLevelListener([this](const ChildEvent& event) {
    asio::post(io_, [this, event] { OnTopLevelEvent(event); });
  });
  compile_watch_ = runtime_.engine().WatchCompiles([this](const engine::CompileProgress& progress) {
    std::string push = CompileProgressPush(progress);
    asio::post(io_, [this, push = std::move(push)] {
      for (const auto& [raw, conn] : connections_) {
        if (conn->watching_compiles()) conn->Push(push);
      }
    });
  });
  Accept();
  Sweep();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  return Status();
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  compile_watch_.Reset();  // no report is posted to the network thread after this
  runtime_.SetTopLevelListener(nullptr);
  if (thread_.joinable()) {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
      accept_retry_timer_.cancel();
      std::vector<std::shared_ptr<Connection>> open;
      for (auto& [ptr, conn] : connections_) open.push_back(conn);
      for (auto& conn : open) conn->Close();
      io_.stop();
    });
    thread_.join();
  }
  if (blocking_) blocking_->join();
}

void ServerImpl::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      if (OutOfDescriptors(ec)) {
        // The pending connection stays in the backlog: free a descriptor held by a client that
        // has not authenticated, if any, and try again shortly rather than spin on the error.
        const auto now = std::chrono::steady_clock::now();
        if (now - last_accept_warning_ >= std::chrono::seconds(5)) {
          last_accept_warning_ = now;
          spdlog::warn("management: accept: {} ({} connections open)", ec.message(), open_);
        }
        EvictOldestUnestablished(
            "closing: the server is out of file descriptors and this "
            "connection has not authenticated");
        accept_retry_timer_.expires_after(kAcceptRetry);
        accept_retry_timer_.async_wait([this](const boost::system::error_code& wait) {
          if (!wait) Accept();
        });
        return;
      }
      spdlog::warn("management: accept: {}", ec.message());
      Accept();
      return;
    }
    Admit(std::move(socket));
    Accept();
  });
}

void ServerImpl::Admit(tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) {
    socket.close(ec);
    return;
  }
  asio::ip::address address = remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string peer = address.to_string();
  auto count = per_peer_.find(peer);
  if (count != per_peer_.end() && count->second >= options_.max_connections_per_peer) {
    return Refuse(socket, "too many connections from " + peer + ": the limit is " +
                              std::to_string(options_.max_connections_per_peer) +
                              " per address (max_connections_per_peer)");
  }
  // A newcomer takes the place of the connection that has waited longest to authenticate:
  // silent or slow connections cannot fill the server, and established ones are never evicted.
  if (unestablished_.size() >= options_.max_unauthenticated_connections) {
    EvictOldestUnestablished("closing: more than " +
                             std::to_string(options_.max_unauthenticated_connections) +
                             " connections are waiting to authenticate "
                             "(max_unauthenticated_connections) and this one waited longest");
  }
  if (open_ >= options_.max_connections &&
      !EvictOldestUnestablished("closing: the server has " +
                                std::to_string(options_.max_connections) +
                                " connections (max_connections) and this one has not "
                                "authenticated")) {
    return Refuse(socket, "the server has " + std::to_string(open_) +
                              " connections, its limit (max_connections)");
  }
  auto conn = std::make_shared<Connection>(*this, std::move(socket), next_serial_++, peer,
                                           address.is_loopback());
  connections_[conn.get()] = conn;
  ++open_;
  ++per_peer_[peer];
  unestablished_[conn->serial()] = conn.get();
  conn->Start();
}

bool ServerImpl::EvictOldestUnestablished(const std::string& why) {
  if (unestablished_.empty()) return false;
  Connection* oldest = unestablished_.begin()->second;
  oldest->CloseWithNotice(why);  // OnClosed takes it off the tables
  return true;
}

void ServerImpl::OnEstablished(Connection& connection) {
  unestablished_.erase(connection.serial());
}

void ServerImpl::OnClosed(Connection& connection) {
  unestablished_.erase(connection.serial());
  --open_;
  auto count = per_peer_.find(connection.peer());
  if (count != per_peer_.end() && --count->second == 0) per_peer_.erase(count);
  // Deferred: the connection may be in the middle of one of its own handlers.
  asio::post(io_, [this, ptr = &connection] { connections_.erase(ptr); });
}

Status ServerImpl::Repeer(Connection& connection, const std::string& peer) {
  if (peer == connection.peer()) return Status::Ok();
  auto count = per_peer_.find(peer);
  if (count != per_peer_.end() && count->second >= options_.max_connections_per_peer) {
    return Status(StatusCode::kResourceExhausted,
                  "too many connections from " + peer + ": the limit is " +
                      std::to_string(options_.max_connections_per_peer) +
                      " per address (max_connections_per_peer)");
  }
  auto old = per_peer_.find(connection.peer());
  if (old != per_peer_.end() && --old->second == 0) per_peer_.erase(old);
  ++per_peer_[peer];
  return Status::Ok();
}

void ServerImpl::Sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (auto& [ptr, conn] : connections_) all.push_back(conn);
  for (auto& conn : all) conn->CheckDeadlines(now);
  auth_throttle_.Expire(now);
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Sweep();
  });
}

// How many more actors fit, and what bounds it (admission control, docs/security.md).
static json CapacityToJson(const RuntimeCapacity& c) {
  return json{{"actors_that_fit", c.actors_that_fit},
              {"address_space_reserved_bytes", c.address_space_reserved_bytes},
              {"address_space_limit_bytes", c.address_space_limit_bytes},
              {"reservation_per_actor_bytes", c.reservation_per_actor_bytes},
              {"memory_available_bytes", c.memory_available_bytes},
              {"memory_floor_bytes", c.memory_floor_bytes}};
}

json ServerImpl::ServerInfo() const {
  size_t subscriptions = 0;
  size_t channels = 0;
  size_t outbox = 0;
  for (auto& [ptr, c] : connections_) {
    if (c->closed()) continue;
    subscriptions += c->subscription_count();
    channels += c->channels().size();
    outbox += c->outbox_bytes();
  }
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  return MakeVariant("ServerInfo", json{{"version", std::string(kVersion)},
                                        {"protocol", kProtocolVersion},
                                        {"uptime_ms", uptime.count()},
                                        {"actors", runtime_.List().size()},
                                        {"connections", open_},
                                        {"unauthenticated_connections", unestablished_.size()},
                                        {"subscriptions", subscriptions},
                                        {"subscription_bytes", subscription_budget_->used()},
                                        {"outbox_bytes", outbox},
                                        {"channels", channels},
                                        {"commands", commands_},
                                        {"capacity", CapacityToJson(runtime_.Capacity())}});
}

Result<std::unique_ptr<ManagementServer>> ManagementServer::Start(TheaterRuntime& runtime,
                                                                  ServerOptions options) {
  auto server = std::make_unique<ServerImpl>(runtime, std::move(options));
  THEATER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<ManagementServer>(std::move(server));
}

int Serve(ServeOptions options) {
  // Every connection costs a descriptor: take all the system allows this process (the caps in
  // ServerOptions keep the server within it).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
      spdlog::warn("management: could not raise the open-file limit to {}", files.rlim_max);
    }
  }
  // SIGINT and SIGTERM are taken by sigwait below; every thread created from here on inherits
  // the mask, so none of them is interrupted by these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // A server owns its home: a second one there would run actors with nothing saved.
  options.runtime.exclusive_home = true;
  options.runtime.durable_actors = true;
  HandlerRegistry handlers = BuiltinHandlers();
  for (const std::filesystem::path& plugin : options.handler_plugins) {
    Result<std::string> added = RegisterHandlerPlugin(handlers, plugin);
    if (!added.ok()) {
      std::fprintf(stderr, "theater server: %s\n", added.status().ToString().c_str());
      return 1;
    }
    // On stderr, as the recovery's count: stdout's first line is "listening on".
    std::fprintf(stderr, "theater server: handler plug-in %s: handler '%s'\n",
                 plugin.string().c_str(), added->c_str());
  }
  Result<std::unique_ptr<TheaterRuntime>> runtime =
      TheaterRuntime::Create(options.runtime, std::move(handlers));
  if (!runtime.ok()) {
    std::fprintf(stderr, "theater server: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  // The lattice is joined before the server listens, so that a client that sees "listening on"
  // finds the host in it, and before recovery, so that each recovered actor is claimed in the
  // lattice's directory. Its heartbeats name the management address once there is one.
  // (The heartbeat thread reads the address; it is written once, below.)
  struct ListeningAddress {
    Mutex mu;
    std::string address THEATER_GUARDED_BY(mu);
  };
  auto listening = std::make_shared<ListeningAddress>();
  std::unique_ptr<cluster::LatticeMember> lattice;
  std::shared_ptr<cluster::LatticeMessenger> messenger;  // the runtime holds it too
  if (options.cluster) {
    TheaterRuntime* rt = runtime->get();  // outlives the member: it is reset first
    Result<std::unique_ptr<cluster::LatticeMember>> joined =
        cluster::LatticeMember::Join(*options.cluster, [rt, listening] {
          cluster::LatticeMember::Facts facts;
          facts.actors = rt->ActorCount();
          MutexLock lock(listening->mu);
          facts.management_address = listening->address;
          return facts;
        });
    if (!joined.ok()) {
      std::fprintf(stderr, "theater server: joining the lattice: %s\n",
                   joined.status().ToString().c_str());
      return 1;
    }
    lattice = std::move(joined).value();
    Result<std::shared_ptr<cluster::LatticeMessenger>> started =
        cluster::LatticeMessenger::Start(*lattice);
    Status linked = started.ok() ? (*runtime)->JoinLattice(*started) : started.status();
    if (!linked.ok()) {
      std::fprintf(stderr, "theater server: joining the lattice: %s\n",
                   linked.ToString().c_str());
      return 1;
    }
    messenger = std::move(started).value();
    options.server.lattice = lattice->lattice();
    options.server.host_id = lattice->host_id();
    options.server.lattice_hosts = [member = lattice.get()] { return member->Hosts(); };
    lattice->SetActorListResponder(
        [rt, host = lattice->host_id()] { return LocalActorDetailsJson(*rt, host); });
    options.server.lattice_locate = [weak = std::weak_ptr<cluster::LatticeMessenger>(messenger)](
                                        const std::string& id) -> Result<std::optional<std::string>> {
      std::shared_ptr<cluster::LatticeMessenger> m = weak.lock();
      return m ? m->ManagementAddressOf(id) : std::optional<std::string>();
    };
    options.server.lattice_actors = [member = lattice.get()](
                                        std::function<void(std::vector<LatticeActorList>)> done) {
      member->AskEveryHostForActors(std::chrono::seconds(2), std::move(done));
    };
  }
  if (options.recover && options.runtime.persist) {
    Result<RecoveryReport> recovered = (*runtime)->Recover();
    if (!recovered.ok()) {
      std::fprintf(stderr, "theater server: recovering actors: %s\n",
                   recovered.status().ToString().c_str());
      return 1;
    }
    if (!recovered->actors.empty()) {
      // On stderr: stdout's first line is "listening on", which scripts wait for.
      std::fprintf(stderr, "theater server: recovered %zu actor%s in %lld ms", recovered->recovered,
                   recovered->recovered == 1 ? "" : "s",
                   static_cast<long long>(recovered->elapsed.count()));
      if (recovered->failed > 0) {
        std::fprintf(stderr, "; %zu could not be recovered (`theater list-stored` shows them "
                     "as unrecovered; the log says why)", recovered->failed);
      }
      std::fprintf(stderr, "\n");
    }
  }
  if (options.dashboard) {
    // The dashboard's bridge names each browser to the server with this (ServerOptions).
    std::array<uint8_t, 32> key{};
    if (Status drawn = FillOsEntropy(key); !drawn.ok()) {
      std::fprintf(stderr, "theater server: %s\n", drawn.ToString().c_str());
      return 1;
    }
    options.server.bridge_key = HexEncode(key);
  }
  Result<std::unique_ptr<ManagementServer>> server =
      ManagementServer::Start(**runtime, options.server);
  if (!server.ok()) {
    std::fprintf(stderr, "theater server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  {
    MutexLock lock(listening->mu);
    listening->address = (*server)->address();
  }
  if (lattice) lattice->Announce();
  std::unique_ptr<dashboard::DashboardServer> web;
  if (options.dashboard) {
    dashboard::DashboardOptions web_options;
    web_options.address = *options.dashboard;
    web_options.management_address = (*server)->address();
    web_options.token_required = options.server.token.has_value();
    web_options.bridge_key = options.server.bridge_key;
    Result<std::unique_ptr<dashboard::DashboardServer>> started =
        dashboard::DashboardServer::Start(std::move(web_options));
    if (!started.ok()) {
      std::fprintf(stderr, "theater server: %s\n", started.status().ToString().c_str());
      (*server)->Stop();
      return 1;
    }
    web = std::move(started).value();
  }
  std::printf("listening on %s\n", (*server)->address().c_str());
  if (lattice) {
    std::printf("host %s in lattice %s\n", lattice->host_id().c_str(), lattice->lattice().c_str());
  }
  if (web) std::printf("dashboard on http://%s/\n", web->address().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info(
      "management: {} received: stopping; operations still running in {:g} s are terminated "
      "(a second SIGTERM or SIGINT terminates them now)",
      SignalName(received), std::chrono::duration<double>(options.runtime.shutdown_grace).count());
  // Signals keep coming during the shutdown: a second one cuts the grace short (an operator's
  // second Ctrl-C, a service manager's final word).
  std::atomic<bool> shut_down{false};
  std::thread second_signal([&] {
    int again = 0;
    sigwait(&signals, &again);
    if (shut_down.load()) return;  // the wake-up below, not an operator
    spdlog::warn("management: {} received again: terminating what still runs", SignalName(again));
    (*runtime)->EndShutdownGrace();
  });
  // A start that is compiling a large module (minutes for a JavaScript engine) fails now rather
  // than holding the shutdown.
  engine::Engine::CancelCompiles();
  if (web) web->Stop();
  // The network stops beside the runtime's shutdown, not before it: a command waiting for an
  // actor (a restart of one whose call spins) holds the server's stop until the grace ends it.
  std::thread server_stop([&] { (*server)->Stop(); });
  Status shut = (*runtime)->Shutdown();
  server_stop.join();
  // The others hear at once that this host left (its heartbeats stop before the server goes).
  if (messenger) messenger->Close();
  lattice.reset();
  shut_down.store(true);
  // Wakes the signal thread (a signal sent to that thread, which only sigwait takes) unless a
  // second signal has already ended it.
  pthread_kill(second_signal.native_handle(), SIGTERM);
  second_signal.join();
  if (!shut.ok()) {
    std::fprintf(stderr, "theater server: shutting down: %s\n", shut.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace theater::server
