// Theater: a WebAssembly actor runtime.
//
// ServerImpl: the management server behind ManagementServer (management_server.h). It listens,
// admits connections (connection.h) under its caps — per peer address, for connections not yet
// authenticated, in all — sweeps their deadlines, and runs their commands against the runtime
// (command_table.h lists them; each is a member below).
//
// One Boost.Asio thread owns every socket and every connection's state; nothing here is touched
// from another thread except through asio::post. Commands the runtime answers at once (list,
// status, metrics, send) run on that thread. Commands that wait run elsewhere: the runtime's
// asynchronous forms (spawn, stop, request) call back on runtime threads, and the blocking ones
// (terminate, restart, pause, resume, channels, chain reads, state, the stores) run on a small
// pool. Either way the reply is posted back to the network thread, which sends each
// connection's replies in the order of its commands.
//
// Thread-safety: Start/Stop from one thread; everything else on the network thread.
// Ownership: borrows the runtime (which must outlive it); owns the acceptor, the connections
// and the pool.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/auth_throttle.h"
#include "server/command_table.h"
#include "server/connection.h"
#include "server/event_pages.h"
#include "server/management_server.h"
#include "server/manifest_access.h"
#include "server/protocol.h"
#include "theater/runtime.h"
#include "theater/subscription.h"

namespace theater::server {

class ServerImpl final : public ManagementServer {
 public:
  ServerImpl(TheaterRuntime& runtime, ServerOptions options);
  ~ServerImpl() override { Stop(); }

  Status Listen();
  std::string address() const override { return bound_address_; }
  void Stop() override;

  // --- For connections (network thread). ---
  TheaterRuntime& runtime() { return runtime_; }
  const ServerOptions& options() const { return options_; }
  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<chain::ByteBudget>& subscription_budget() const {
    return subscription_budget_;
  }
  // A connection authenticated (or, without a token, sent its first message): it is no longer
  // a candidate for eviction.
  void OnEstablished(Connection& connection);
  // A connection closed: its slot is free (the object goes once its handlers have run).
  void OnClosed(Connection& connection);
  // A bridged connection (BridgedClient) now counts against `peer`'s per-address limit instead
  // of its loopback bridge's. kResourceExhausted (naming max_connections_per_peer) when `peer`
  // already has its share; the connection is then left as it was.
  [[nodiscard]] Status Repeer(Connection& connection, const std::string& peer);
  void Dispatch(const std::shared_ptr<Connection>& conn, Connection::PendingCommand ctx,
                const Variant& command);
  void CountCommand() { ++commands_; }
  // Wrong tokens per source address, across connections.
  AuthThrottle& auth_throttle() { return auth_throttle_; }

 private:
  using tcp = boost::asio::ip::tcp;
  using json = nlohmann::json;

  void Accept();
  void Admit(tcp::socket socket);
  // Closes the connection that has waited longest to authenticate, saying why.
  bool EvictOldestUnestablished(const std::string& why);
  void Sweep();
  void OnTopLevelEvent(const ChildEvent& event);
  // A completion for `ctx` on `conn` from any thread: posts the reply to the network thread.
  std::function<void(json, std::vector<std::string>)> Replier(
      const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx);
  // Runs `work` on the blocking pool and replies with what it returns.
  void Blocking(const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx,
                std::function<json()> work);
  // The same for work that returns the reply as text (large replies, never built as a tree).
  void BlockingText(const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx,
                    std::function<std::string()> work);

  // A command about actor `actor_id` when this server is in a lattice: run here, or passed to
  // the host that holds the actor (ServerOptions::lattice_locate), looked up on the blocking
  // pool.
  void DispatchInLattice(const std::shared_ptr<Connection>& conn, Connection::PendingCommand ctx,
                         const Variant& command, const CommandSpec& spec, std::string actor_id);

  json ServerInfo() const;
  void ScheduleActorsSnapshot(const std::shared_ptr<Connection>& conn);
  void PushActorsSnapshot(const std::shared_ptr<Connection>& conn);

  // --- The commands (command_table.h lists them). ---
 public:
  // Every row: the table is a static member so that it may name private members.
  static std::span<const CommandSpec> Commands();

 private:
  // actor_commands.cc: the actors, their lifecycle and what the runtime knows of them.
  void ListActors(CommandCall& call);
  void GetServerInfo(CommandCall& call);
  void StartActor(CommandCall& call);
  // A start in a lattice whose placement (the command's, else its manifest's) is read on the
  // blocking pool: run here, or passed to the chosen host's management server.
  void PlaceThenStart(const std::shared_ptr<Connection>& conn, Connection::PendingCommand ctx,
                      Variant command, std::optional<std::string> placement, bool attached);
  void StopActor(CommandCall& call);
  void TerminateActor(CommandCall& call);
  void RestartPauseOrResume(CommandCall& call);
  void ListChildren(CommandCall& call);
  void GetActorStatus(CommandCall& call);
  void GetActorManifest(CommandCall& call);
  void GetActorMetrics(CommandCall& call);
  void UpdateActorComponent(CommandCall& call);
  // chain_commands.cc: an actor's chain and state, and the stored chains.
  void GetActorEvents(CommandCall& call);
  void GetActorState(CommandCall& call);
  // The two paged reads: the request's fields (paging from `start_field`), then `reply` on a
  // blocking thread.
  using PagedReply = Result<std::string> (*)(TheaterRuntime&, const PageRequest&,
                                             const PageLimits&);
  void PagedRead(CommandCall& call, const char* start_field, PagedReply reply);
  void VerifyChain(CommandCall& call);
  void SaveChain(CommandCall& call);
  void ListStored(CommandCall& call);
  // message_commands.cc: messages, requests, subscriptions and channels.
  // The refusal of a subscription past max_subscriptions_per_connection, naming the command and
  // what the client can do instead (`remedy`).
  json SubscriptionLimitError(const CommandCall& call, std::string_view remedy) const;
  void SendActorMessage(CommandCall& call);
  void RequestActorMessage(CommandCall& call);
  void SubscribeToActor(CommandCall& call);
  void UnsubscribeFromActor(CommandCall& call);
  void OpenChannel(CommandCall& call);
  void SendOnChannel(CommandCall& call);
  void CloseChannel(CommandCall& call);
  // store_commands.cc: the content stores.
  std::optional<store::ContentStore*> ContentStoreFor(CommandCall& call);
  void NewStore(CommandCall& call);
  void ListStores(CommandCall& call);
  void ListStoreContent(CommandCall& call);
  void GetStoreContent(CommandCall& call);
  // replay_commands.cc.
  std::optional<ReplayOptions> ReplayOptionsOf(CommandCall& call);
  void ReplayActor(CommandCall& call);
  void ReplayChain(CommandCall& call);
  // watch_commands.cc.
  void WatchActors(CommandCall& call);
  // lattice_commands.cc
  void ListHosts(CommandCall& call);
  void MoveActor(CommandCall& call);
  void UnwatchActors(CommandCall& call);

  TheaterRuntime& runtime_;
  ServerOptions options_;
  ManifestRoots manifest_roots_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer accept_retry_timer_;
  std::thread thread_;
  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::string bound_address_;
  const std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_accept_warning_{};
  bool stopped_ = false;
  uint64_t next_serial_ = 1;
  uint64_t commands_ = 0;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  size_t open_ = 0;  // connections not yet closed (connections_ also holds closing ones)
  std::unordered_map<std::string, size_t> per_peer_;  // open connections by peer address
  std::map<uint64_t, Connection*> unestablished_;     // by serial: oldest first
  AuthThrottle auth_throttle_;
  std::shared_ptr<chain::ByteBudget> subscription_budget_;
  // Top-level actors started with `parent: true`, and who hears their result.
  std::unordered_map<std::string, std::weak_ptr<Connection>> parents_;
  // The engine's compiles, told to the connections waiting on a command that asked for their
  // progress (Connection::watching_compiles). Ended first in Stop().
  engine::CompileWatch compile_watch_;
};

}  // namespace theater::server
