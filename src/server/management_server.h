// Theater: a WebAssembly actor runtime.
//
// ManagementServer: the management protocol's server (docs/protocol.md). It listens on TCP,
// reads commands from each connection, drives a TheaterRuntime with them and writes replies and
// pushes (events of subscriptions, results of actors started with `parent`, channel messages).
//
// Networking runs on its own Boost.Asio thread; runtime operations that wait (spawn, stop,
// requests) use the runtime's asynchronous forms, so a slow command on one connection never
// holds up another. Replies on a connection go out in the order of its commands.
//
// Thread-safety: Start/Stop from one thread; everything else is internal.
// Ownership: the server borrows the runtime (which must outlive it) and owns its sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "theater/cluster.h"
#include "theater/runtime.h"
#include "theater/status.h"

namespace theater::server {

// Every limit the server applies to its clients (docs/protocol.md, section 6, lists them with
// the error each one gives). The defaults suit a management server on one host with a few dozen
// clients; `theater server` exposes those a user may need to change as flags.
struct ServerOptions {
  std::string address = "127.0.0.1:9000";  // host:port; port 0 picks a free one
  // The shared secret clients must present; required to listen beyond loopback.
  std::optional<std::string> token;
  // Manifest files a client beyond loopback may name in StartActor must lie under one of these
  // directories (symlinks resolved); with none, such clients may start actors only from manifest
  // text, store:// or http(s):// references. Loopback clients may name any file.
  std::vector<std::filesystem::path> manifest_roots;
  // The secret of this process's own dashboard (dashboard::DashboardOptions::bridge_key): a
  // connection from loopback whose first message is `BridgedClient` with this key is judged as
  // the browser it names (its address for the rules above, the per-address limits and the
  // wrong-token throttle), not as the loopback bridge it comes through. Unset: `BridgedClient`
  // is refused. `Serve` draws a fresh one at each start; nothing outside the process sees it.
  std::optional<std::string> bridge_key;

  // --- Frames ---
  size_t max_frame_bytes = 64u << 20;
  size_t max_message_bytes = 256u << 20;
  // With a token set, the largest frame (and message) read before the connection authenticated.
  size_t max_unauthenticated_frame_bytes = 4096;
  // A frame's 4-byte length must arrive within frame_header_timeout of its first byte, and its
  // body within frame_body_timeout of its length (slow senders hold no slot for long).
  std::chrono::milliseconds frame_header_timeout{10'000};
  std::chrono::milliseconds frame_body_timeout{60'000};

  // --- Connections ---
  size_t max_connections = 1024;
  // Connections from one peer address.
  size_t max_connections_per_peer = 512;
  // Connections not yet authenticated (without a token: that have not sent a whole command)
  // across the server. Past it the oldest such connection is closed to make room, so a flood of
  // silent connections cannot keep a real client out, and authenticated ones keep their slots.
  size_t max_unauthenticated_connections = 128;
  // An unauthenticated connection (as above) is closed this long after it was accepted.
  std::chrono::milliseconds unauthenticated_timeout{10'000};
  // A wrong token is answered after this delay (the connection reads nothing meanwhile), and
  // the connection is closed after max_auth_failures of them.
  std::chrono::milliseconds auth_failure_delay{1'000};
  size_t max_auth_failures = 3;
  // Across connections, per source address (an IPv4 address or an IPv6 /64): each wrong token
  // from it is answered a delay after its previous wrong answer, the delay doubling from
  // auth_source_delay_initial with each recent failure up to auth_source_delay_max; a right token
  // from it waits the current delay. A source is forgotten after auth_source_quiet without a
  // failure; at most max_auth_sources are remembered (the longest quiet forgotten first).
  std::chrono::milliseconds auth_source_delay_initial{100};
  std::chrono::milliseconds auth_source_delay_max{5'000};
  std::chrono::milliseconds auth_source_quiet{60'000};
  size_t max_auth_sources = 4096;

  // --- Replies and what a connection holds ---
  // The largest reply the server builds in one piece (a page of events, a state, an answer).
  // Longer chains and states are read in pages (docs/protocol.md, "Paging").
  size_t max_reply_bytes = 16u << 20;
  // A page's size when the client asks for pages without saying (max_bytes absent).
  size_t default_page_bytes = 1u << 20;
  // Bytes waiting to be written to one client (replies and pushes, framed). A client that lets
  // more pile up is not reading: it is disconnected. At least max_reply_bytes * 2.
  size_t max_outbox_bytes = 64u << 20;
  // Commands of one connection being worked on or answered but not yet sent; past it the server
  // reads no more of that connection's commands until some are answered.
  size_t max_commands_in_flight = 64;

  // --- Subscriptions ---
  size_t max_subscriptions_per_connection = 64;
  // Events queued for one subscriber before they are dropped (with a gap notice) ...
  size_t subscription_queue = 65536;
  // ... and bytes (theater::chain::DeliveryBytes) for one subscriber, for all subscribers of one
  // connection, and for all subscribers of the server.
  size_t subscription_queue_bytes = 16u << 20;
  size_t connection_subscription_bytes = 64u << 20;
  size_t total_subscription_bytes = 256u << 20;

  std::chrono::milliseconds request_timeout{
      30'000};  // RequestActorMessage, OpenChannel, a send waiting for room

  // --- The lattice (docs/distribution.md) ---
  // When this host is in a lattice: its name, the host's name, and the hosts it hears of (called
  // on the server's network thread; it must not block). Unset: ListHosts says the server is not
  // in a lattice.
  std::string lattice;
  std::string host_id;
  std::function<std::vector<LatticeHost>()> lattice_hosts;
  // Asks every other host for its actors and calls back (on any thread) with their answers:
  // ListActors then lists the whole lattice's actors, each with its host. Unset: this host's.
  std::function<void(std::function<void(std::vector<LatticeActorList>)>)> lattice_actors;
  // Where another host's actor is managed: the management address of the host that holds `id`,
  // nullopt when no other host does (the command runs here), or why it cannot be reached. Set:
  // a command about one actor (state, events, stop, ...) that another host holds is passed to
  // that host's management server, with this server's token, and its reply returned. Called on
  // the server's blocking pool.
  std::function<Result<std::optional<std::string>>(const std::string& id)> lattice_locate;
};

// The local actors as the ActorList reply's `details` (JSON text): what this host answers when
// another host of its lattice asks for its actors.
std::string LocalActorDetailsJson(TheaterRuntime& runtime, const std::string& host_id);

class ManagementServer {
 public:
  // Binds and starts serving. Errors: the address is malformed or cannot be bound, it is not
  // loopback and no token is set, a manifest root is not a directory, or the limits contradict
  // each other (max_outbox_bytes below twice max_reply_bytes, a zero count).
  static Result<std::unique_ptr<ManagementServer>> Start(TheaterRuntime& runtime,
                                                         ServerOptions options);
  virtual ~ManagementServer() = default;

  // The address actually bound ("127.0.0.1:40123" when port 0 was asked for).
  virtual std::string address() const = 0;
  // Stops accepting, closes every connection (ending its subscriptions and channels) and joins
  // the network thread. Idempotent. Does not stop the runtime's actors.
  virtual void Stop() = 0;
};

// `theater server`: brings back the actors it was running when it last stopped or crashed
// (ServeOptions::recover; its actors are durable), serves until SIGTERM or SIGINT, then stops
// every actor, leaving them recorded for the next start, syncs the database and returns 0 (1
// when it could not start). Operations running at the signal may finish within
// `runtime.shutdown_grace` (RuntimeOptions; `--shutdown-grace`); then, or at a second SIGTERM
// or SIGINT, those still running are terminated (TheaterRuntime::Shutdown). Prints "listening on
// <address>" on stdout once ready, so scripts and tests can wait for it (then "dashboard on
// http://<address>/" when it serves the dashboard). Raises the soft limit on open files to the hard
// one first: every connection costs a descriptor.
struct ServeOptions {
  ServerOptions server;
  RuntimeOptions runtime;
  // Bring back the actors the database records as running (TheaterRuntime::Recover) before
  // listening; off (`--no-recover`): start with none (they stay recorded, for a later start).
  bool recover = true;
  // Also serve the web dashboard (docs/dashboard.md) on this address ("127.0.0.1:9001").
  std::optional<std::string> dashboard;
  // Join this lattice of hosts over NATS (`--cluster`; docs/distribution.md) before listening,
  // and leave it at the end. Unset: a single host, with nothing of NATS loaded.
  std::optional<ClusterOptions> cluster;
  // Handler plug-ins to load beside the built-in handlers (`--handler`, the config file's
  // `[handlers] plugins`; theater/plugin.h). One that does not load stops the server before it
  // listens, with the reason.
  std::vector<std::filesystem::path> handler_plugins;
};
int Serve(ServeOptions options);

}  // namespace theater::server
