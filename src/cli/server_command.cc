// Theater: a WebAssembly actor runtime.
//
// `theater server`: the management server (src/server/management_server.h) as a subcommand.
// Flags map onto ServeOptions; the server prints "listening on <address>" once ready and runs
// until SIGTERM or SIGINT.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "common/crash_report.h"
#include "server/management_server.h"
#include "theater/cluster.h"
#include "theater/durability.h"

namespace theater::cli {
namespace {

struct ServerArgs {
  std::string address = std::string(kDefaultAddress);
  std::string token_file;
  std::string home;
  std::string cache_dir;
  std::string durability = "batched";
  int workers = 0;
  int io_threads = 1;  // RuntimeOptions::io_threads
  std::string log_level = "info";
  bool save_all_chains = false;
  bool auto_handlers = false;
  bool no_recover = false;
  std::optional<std::string> dashboard;  // --dashboard [ADDR:PORT]
  std::vector<std::string> manifest_roots;
  std::vector<std::string> spawn_roots;
  std::vector<std::string> handler_plugins;  // --handler PATH.so (repeatable)
  // The lattice (docs/distribution.md): joined when `cluster` is set.
  std::string cluster;
  std::string lattice = "default";
  std::string host_id;
  std::string nats_token_file;
  std::string nats_user;
  std::string nats_password_file;
  std::string nats_creds;
  std::string nats_tls_ca;
  std::string nats_tls_cert;
  std::string nats_tls_key;
  int jetstream_replicas = 1;
  // Limits (ServerOptions; docs/protocol.md, section 6): the defaults are ServerOptions'.
  server::ServerOptions limits;
  // Spawns' http(s) fetches in flight (RuntimeOptions): the defaults are RuntimeOptions'.
  size_t max_spawn_fetches = RuntimeOptions{}.max_spawn_fetches;
  size_t max_spawn_fetches_per_client = RuntimeOptions{}.max_spawn_fetches_per_client;
  size_t max_spawn_fetches_per_actor = RuntimeOptions{}.max_spawn_fetches_per_actor;
  double unauthenticated_timeout_s = 10;
  double frame_header_timeout_s = 10;
  double frame_body_timeout_s = 60;
  // Milliseconds a guest call runs before it yields its worker (EngineOptions::preempt_slice).
  double preempt_slice_ms =
      std::chrono::duration<double, std::milli>(engine::kDefaultPreemptSlice).count();
  // Seconds an actor sits idle before it hibernates (RuntimeOptions::hibernate_after).
  double hibernate_after_s =
      std::chrono::duration<double>(RuntimeOptions{}.hibernate_after).count();
  // Seconds running operations get to finish once the server is told to stop
  // (RuntimeOptions::shutdown_grace).
  double shutdown_grace_s = std::chrono::duration<double>(kDefaultShutdownGrace).count();
};

// A secret read from `file` when one is named, else from the environment variable `env_name`
// (unset or empty: none). Never from the command line, where `ps` shows it.
Result<std::optional<std::string>> SecretFrom(const CommandContext& ctx, const std::string& file,
                                              const char* env_name) {
  if (!file.empty()) {
    THEATER_ASSIGN_OR_RETURN(std::string secret, ReadTokenFile(file));
    return std::optional<std::string>(std::move(secret));
  }
  std::optional<std::string> env = ctx.env()(env_name);
  if (!env || env->empty()) return std::optional<std::string>();
  return env;
}

std::chrono::milliseconds Seconds(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

int Server(CommandContext& ctx, const ServerArgs& args) {
  const Output& out = ctx.out();
  Result<Durability> durability = ParseDurability(args.durability);
  if (!durability.ok()) return UsageError(ctx, durability.status().ToString());
  if (args.workers < 0) return UsageError(ctx, "--workers must be 0 (one per core) or more");
  if (args.io_threads < 1 || args.io_threads > 64) {
    return UsageError(ctx, "--io-threads must be between 1 and 64");
  }
  spdlog::level::level_enum level = spdlog::level::from_str(args.log_level);
  if (level == spdlog::level::off && args.log_level != "off") {
    return UsageError(ctx, "--log-level must be trace, debug, info, warn, error, critical or off");
  }
  spdlog::set_level(level);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::optional<std::string> token,
                                SecretFrom(ctx, args.token_file, "THEATER_SERVER_TOKEN"), out);
  if (args.unauthenticated_timeout_s <= 0 || args.frame_header_timeout_s <= 0 ||
      args.frame_body_timeout_s <= 0) {
    return UsageError(ctx, "timeouts must be positive numbers of seconds");
  }
  if (args.hibernate_after_s < 0 || args.hibernate_after_s > 86'400) {
    return UsageError(ctx, "--hibernate-after must be between 0 (never) and 86400 seconds");
  }
  const double max_grace_s = std::chrono::duration<double>(kMaxShutdownGrace).count();
  if (!(args.shutdown_grace_s >= 0 && args.shutdown_grace_s <= max_grace_s)) {
    return UsageError(ctx, "--shutdown-grace must be between 0 (terminate at once) and " +
                               std::to_string(static_cast<int>(max_grace_s)) + " seconds");
  }
  if (args.preempt_slice_ms < 0 || args.preempt_slice_ms > 60'000) {
    return UsageError(ctx, "--preempt-slice must be between 0 (no time slices) and 60000 ms");
  }
  server::ServeOptions options;
  options.server = args.limits;
  options.server.address = args.address;
  for (const std::string& root : args.manifest_roots) options.server.manifest_roots.push_back(root);
  for (const std::string& root : args.spawn_roots) {
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) {
      return UsageError(ctx, "--spawn-root '" + root + "' is not a directory");
    }
    options.runtime.spawn_roots.push_back(root);
  }
  options.server.unauthenticated_timeout = Seconds(args.unauthenticated_timeout_s);
  options.server.frame_header_timeout = Seconds(args.frame_header_timeout_s);
  options.server.frame_body_timeout = Seconds(args.frame_body_timeout_s);
  options.server.token = std::move(token);
  if (!args.home.empty()) options.runtime.home = args.home;
  if (!args.cache_dir.empty()) options.runtime.engine.cache_dir = args.cache_dir;
  options.runtime.durability = *durability;
  options.runtime.workers = args.workers;
  options.runtime.io_threads = args.io_threads;
  options.runtime.hibernate_after = Seconds(args.hibernate_after_s);
  options.runtime.shutdown_grace = Seconds(args.shutdown_grace_s);
  if (args.max_spawn_fetches == 0 || args.max_spawn_fetches_per_client == 0 ||
      args.max_spawn_fetches_per_actor == 0) {
    return UsageError(ctx, "--max-spawn-fetches, --max-spawn-fetches-per-client and "
                           "--max-spawn-fetches-per-actor must be at least 1");
  }
  options.runtime.max_spawn_fetches = args.max_spawn_fetches;
  options.runtime.max_spawn_fetches_per_client = args.max_spawn_fetches_per_client;
  options.runtime.max_spawn_fetches_per_actor = args.max_spawn_fetches_per_actor;
  options.runtime.save_all_chains = args.save_all_chains;
  options.runtime.auto_handlers = args.auto_handlers;
  options.recover = !args.no_recover;
  options.dashboard = args.dashboard;
  // The config file's plug-ins, then the command line's.
  options.handler_plugins = ctx.config().handler_plugins;
  for (const std::string& plugin : args.handler_plugins) options.handler_plugins.push_back(plugin);
  if (!args.cluster.empty()) {
    ClusterOptions cluster;
    cluster.url = args.cluster;
    cluster.lattice = args.lattice;
    cluster.host_id = args.host_id;
    // Secrets come from files or the environment, never from the command line (where `ps`
    // shows them).
    THEATER_ASSIGN_OR_RETURN_EXIT(cluster.token,
                                  SecretFrom(ctx, args.nats_token_file, "THEATER_NATS_TOKEN"), out);
    if (!args.nats_user.empty()) {
      cluster.user = args.nats_user;
      THEATER_ASSIGN_OR_RETURN_EXIT(
          cluster.password, SecretFrom(ctx, args.nats_password_file, "THEATER_NATS_PASSWORD"),
          out);
    } else if (!args.nats_password_file.empty()) {
      return UsageError(ctx, "--nats-password-file needs --nats-user");
    }
    if (!args.nats_creds.empty()) cluster.creds_file = args.nats_creds;
    if (!args.nats_tls_ca.empty()) cluster.tls_ca = args.nats_tls_ca;
    if (!args.nats_tls_cert.empty()) cluster.tls_cert = args.nats_tls_cert;
    if (!args.nats_tls_key.empty()) cluster.tls_key = args.nats_tls_key;
    cluster.jetstream_replicas = args.jetstream_replicas;
    options.cluster = std::move(cluster);
  } else if (args.lattice != "default" || !args.host_id.empty()) {
    return UsageError(ctx, "--lattice and --host-id need --cluster nats://HOST:PORT");
  }
  options.runtime.engine.preempt_slice =
      std::chrono::microseconds(static_cast<int64_t>(args.preempt_slice_ms * 1000));
  // Compile progress lines would interleave with "listening on ..." for scripts reading stdout.
  options.runtime.engine.progress = engine::EngineOptions::Progress::kOff;
  // A server that crashes says where, in its log (before the runtime's threads and its engine's
  // fault handler, which hands on every fault that is not a guest's).
  InstallCrashReport("theater server");
  // Each compile in the log instead: which module, which tier, how long, and when a background
  // compile has made a module's optimized object.
  options.runtime.engine.compile_log = [](std::string_view line, bool warning) {
    if (warning) {
      spdlog::warn("{}", line);
    } else {
      spdlog::info("{}", line);
    }
  };
  return server::Serve(std::move(options));
}

}  // namespace

void AddServerCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<ServerArgs>();
  CLI::App* cmd =
      app.add_subcommand("server",
                         "Run the management server until SIGTERM or Ctrl-C (prints \"listening on "
                         "<address>\" when ready; running operations get --shutdown-grace "
                         "seconds to finish, a second signal ends them at once)");
  cmd->add_option("-a,--address", args->address,
                  "host:port to listen on (port 0 picks a free one; beyond loopback a token is "
                  "required)")
      ->capture_default_str();
  cmd->add_option("--token-file", args->token_file,
                  "File holding the shared secret clients must present (else "
                  "$THEATER_SERVER_TOKEN)");
  cmd->add_option("--home", args->home,
                  "Directory for the database and compile cache (default $THEATER_HOME, else "
                  "~/.theater)");
  cmd->add_option("--cache-dir", args->cache_dir, "Compile cache directory (default <home>/cache)");
  cmd->add_option("--durability", args->durability,
                  "When chain writes reach the disk: none, batched or strict")
      ->check(CLI::IsMember({"none", "batched", "strict"}))
      ->capture_default_str();
  cmd->add_option("--workers", args->workers, "Worker threads (0 = one per core)")
      ->capture_default_str();
  cmd->add_option("--io-threads", args->io_threads,
                  "Threads of the I/O loop that HTTP servers, HTTP requests and child processes "
                  "share")
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level,
                  "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  cmd->add_option("--preempt-slice", args->preempt_slice_ms,
                  "Milliseconds a guest call may run before it yields its worker to the calls "
                  "waiting (0: no time slices; modules are then compiled without the checks)")
      ->capture_default_str();
  cmd->add_option("--hibernate-after", args->hibernate_after_s,
                  "Seconds an actor sits idle before it gives its memory's pages back, keeping "
                  "what they held compactly until its next message (0: never)")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", args->shutdown_grace_s,
                  "Seconds the operations running when the server is told to stop (SIGTERM, "
                  "Ctrl-C) get to finish; then, or at a second signal, they are terminated and "
                  "their actors come back from their last committed state at the next start "
                  "(0: terminate at once; at most 3600)")
      ->capture_default_str();
  cmd->add_flag("--save-all-chains", args->save_all_chains,
                "Store every actor's chain, also those whose manifest says save_chain = false");
  cmd->add_flag("--no-recover", args->no_recover,
                "Start with no actors: do not bring back those this home's server was running "
                "when it last stopped or crashed (they stay recorded for a later start)");
  cmd->add_option("--dashboard", args->dashboard,
                  "Also serve the web dashboard (docs/dashboard.md) on ADDR:PORT (default "
                  "127.0.0.1:9001); beyond loopback it needs the server's token")
      ->expected(0, 1)
      ->default_str("127.0.0.1:9001")
      ->type_name("[ADDR:PORT]");
  cmd->add_option("--handler", args->handler_plugins,
                  "Load a handler plug-in, a shared object built against the host API "
                  "(include/theater/plugin.h), beside the built-in handlers (repeatable; also the "
                  "config file's [handlers] plugins)")
      ->type_name("PATH.so");
  cmd->add_flag("--auto-handlers", args->auto_handlers,
                "Let actors use handlers their manifests do not declare (for development; a "
                "manifest's auto_handlers key overrides it)");
  cmd->add_option("--manifest-root", args->manifest_roots,
                  "Directory whose files (manifests, and the components and initial states they "
                  "name) clients beyond loopback may have the server read (repeatable; without "
                  "one they may send only manifest text or store:// and http(s):// references)");
  cmd->add_option("--spawn-root", args->spawn_roots,
                  "Directory whose files (manifests, components, initial states) any actor may "
                  "name when it spawns a child, besides its own filesystem grant and the "
                  "directory of its manifest (repeatable; docs/security.md, \"What a spawn may "
                  "read\")");
  cmd->add_option("--cluster", args->cluster,
                  "Join a lattice of hosts through this NATS server (nats://HOST:PORT, several "
                  "separated by commas; JetStream must be on: nats-server -js); "
                  "docs/distribution.md")
      ->type_name("URL");
  cmd->add_option("--lattice", args->lattice,
                  "The lattice's name: hosts of other lattices on the same NATS are never seen")
      ->capture_default_str();
  cmd->add_option("--host-id", args->host_id,
                  "This host's name in the lattice (default: the machine's name and the process "
                  "id)");
  cmd->add_option("--nats-token-file", args->nats_token_file,
                  "File holding the NATS server's token (else $THEATER_NATS_TOKEN)");
  cmd->add_option("--nats-user", args->nats_user, "NATS user name");
  cmd->add_option("--nats-password-file", args->nats_password_file,
                  "File holding the NATS user's password (else $THEATER_NATS_PASSWORD)");
  cmd->add_option("--nats-creds", args->nats_creds,
                  "NATS credentials file (a user JWT and NKey seed, as nsc writes it)");
  cmd->add_option("--nats-tls-ca", args->nats_tls_ca,
                  "PEM file of the authorities that sign the NATS server's certificate (turns TLS "
                  "on)");
  cmd->add_option("--nats-tls-cert", args->nats_tls_cert,
                  "Client certificate (PEM) for a NATS server that asks for one");
  cmd->add_option("--nats-tls-key", args->nats_tls_key, "The client certificate's key (PEM)");
  cmd->add_option("--jetstream-replicas", args->jetstream_replicas,
                  "Copies JetStream keeps of the lattice's directory, buckets and chains when this "
                  "host creates them (1-5; 3 on a NATS cluster of three survives the loss of one "
                  "server)")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  server::ServerOptions& l = args->limits;
  cmd->add_option("--max-connections", l.max_connections, "Open connections, in all")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-peer", l.max_connections_per_peer,
                  "Open connections from one peer address")
      ->capture_default_str();
  cmd->add_option("--max-unauthenticated-connections", l.max_unauthenticated_connections,
                  "Connections not yet authenticated (without a token: that have not sent a "
                  "command); past it the oldest of them is closed")
      ->capture_default_str();
  cmd->add_option("--unauthenticated-timeout", args->unauthenticated_timeout_s,
                  "Seconds a connection may stay unauthenticated (as above)")
      ->capture_default_str();
  cmd->add_option("--frame-header-timeout", args->frame_header_timeout_s,
                  "Seconds for a frame's 4-byte length to arrive once it has begun")
      ->capture_default_str();
  cmd->add_option("--frame-body-timeout", args->frame_body_timeout_s,
                  "Seconds for a frame's body to arrive once its length has")
      ->capture_default_str();
  cmd->add_option("--max-frame-bytes", l.max_frame_bytes, "Largest frame a client may send")
      ->capture_default_str();
  cmd->add_option("--max-message-bytes", l.max_message_bytes,
                  "Largest message (reassembled from fragments) a client may send")
      ->capture_default_str();
  cmd->add_option("--max-reply-bytes", l.max_reply_bytes,
                  "Largest reply built in one piece; longer chains and states go in pages")
      ->capture_default_str();
  cmd->add_option("--max-outbox-bytes", l.max_outbox_bytes,
                  "Bytes waiting to be written to one client before it is disconnected (at "
                  "least twice --max-reply-bytes)")
      ->capture_default_str();
  cmd->add_option("--max-subscriptions-per-connection", l.max_subscriptions_per_connection,
                  "Subscriptions one connection may hold")
      ->capture_default_str();
  cmd->add_option("--subscription-queue-bytes", l.subscription_queue_bytes,
                  "Bytes of events queued for one subscriber before they are dropped (with a "
                  "gap notice)")
      ->capture_default_str();
  cmd->add_option("--total-subscription-bytes", l.total_subscription_bytes,
                  "Bytes of events queued for all subscribers of the server")
      ->capture_default_str();
  cmd->add_option("--max-spawn-fetches", args->max_spawn_fetches,
                  "http(s) references (manifests, components, initial states) spawns may be "
                  "fetching at once, in all; past it a spawn that must fetch is refused")
      ->capture_default_str();
  cmd->add_option("--max-spawn-fetches-per-client", args->max_spawn_fetches_per_client,
                  "The same for the spawns of one management connection and their descendants")
      ->capture_default_str();
  cmd->add_option("--max-spawn-fetches-per-actor", args->max_spawn_fetches_per_actor,
                  "The same for one actor's spawns and its descendants'")
      ->capture_default_str();
  commands.Add(cmd, [args](CommandContext& ctx) { return Server(ctx, *args); });
}

}  // namespace theater::cli
