// Theater: a WebAssembly actor runtime.
//
// What every `theater` subcommand shares: the global options (--address, --token, --json,
// --color, --config), the config file they combine with, the Output to print through, a way to
// connect to the management server, and the Ctrl-C flag for commands that stay attached.
//
// Each area of the command line (actor_commands.cc, event_commands.cc, ...) adds its
// subcommands to the CLI11 tree with an action to run once parsing has succeeded; main.cc runs
// the action of the subcommand that was given.
//
// Thread-safety: everything here belongs to the command's main thread, except the interrupt
// flag, which a signal handler sets.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/config.h"
#include "cli/event_query.h"
#include "cli/output.h"
#include "server/client.h"
#include "theater/status.h"

// In a subcommand's action: `lhs = value of expr` (a Result<T>), or print its error through
// `out` and return kExitFailure.
#define THEATER_ASSIGN_OR_RETURN_EXIT(lhs, expr, out)                                            \
  THEATER_ASSIGN_OR_RETURN_EXIT_IMPL_(THEATER_CONCAT_(theater_cli_result_, __LINE__), lhs, expr, \
                                      out)
#define THEATER_ASSIGN_OR_RETURN_EXIT_IMPL_(tmp, lhs, expr, out) \
  auto tmp = (expr);                                             \
  if (!tmp.ok()) return (out).Error(tmp.status());               \
  lhs = std::move(tmp).value()

namespace theater::cli {

// The names every command file speaks: JSON fields and the protocol's variants (server/protocol.h).
using json = nlohmann::json;
using server::MakeVariant;
using server::Variant;

struct GlobalOptions {
  std::string address;  // empty: not given
  std::string token;    // empty: not given
  bool json = false;
  std::string color;        // empty: the config's, else auto
  std::string config_path;  // empty: the default location
};

// One run of a `theater` command: its options, config, output and management connection.
class CommandContext {
 public:
  // Loads the config file and decides the output format and colours. Errors: a malformed config
  // file (naming file:line), a bad --color.
  static Result<std::unique_ptr<CommandContext>> Create(const GlobalOptions& options,
                                                        EnvLookup env);

  const Output& out() const { return out_; }
  const CliConfig& config() const { return config_; }
  // The server address after precedence (flag, env, config, default).
  const std::string& address() const { return address_; }
  const EnvLookup& env() const { return env_; }

  // Connects (authenticating when a token is configured). Errors: the server is not running
  // ("no Theater server is running at ..."), the token file is unreadable.
  Result<std::unique_ptr<server::ManagementClient>> Connect() const;
  // The same, to another server at `address` (a host of the lattice), with this one's token.
  Result<std::unique_ptr<server::ManagementClient>> ConnectTo(const std::string& address) const;

 private:
  CommandContext(Output out, CliConfig config, std::string address,
                 std::optional<std::string> token_flag, EnvLookup env)
      : out_(out),
        config_(std::move(config)),
        address_(std::move(address)),
        token_flag_(std::move(token_flag)),
        env_(std::move(env)) {}

  Output out_;
  CliConfig config_;
  std::string address_;
  std::optional<std::string> token_flag_;
  EnvLookup env_;
};

// The action a subcommand runs; returns the process exit code.
using Action = std::function<int(CommandContext&)>;

// The subcommands the areas registered, leaves only (`chain verify`, not `chain`).
class CommandSet {
 public:
  void Add(CLI::App* command, Action action) { commands_.push_back({command, std::move(action)}); }
  // The action of the subcommand that was parsed, or nullptr.
  const Action* Parsed() const;

 private:
  std::vector<std::pair<CLI::App*, Action>> commands_;
};

// Each area adds its subcommands.
void AddActorCommands(CLI::App& app, CommandSet& commands);      // actor_commands.cc
void AddEventCommands(CLI::App& app, CommandSet& commands);      // event_commands.cc
void AddLogsCommand(CLI::App& app, CommandSet& commands);        // logs_command.cc
void AddDevCommand(CLI::App& app, CommandSet& commands);         // dev_command.cc
void AddMessageCommands(CLI::App& app, CommandSet& commands);    // message_commands.cc
void AddLocalCommands(CLI::App& app, CommandSet& commands);      // local_commands.cc
void AddProjectCommands(CLI::App& app, CommandSet& commands);    // project_commands.cc
void AddServerCommand(CLI::App& app, CommandSet& commands);      // server_command.cc
void AddLatticeCommands(CLI::App& app, CommandSet& commands);    // lattice_commands.cc

// The host of the lattice `on` names (a host id, or "least-loaded": the one with the fewest
// actors, then the lowest load), as the server `client` is connected to lists them
// (lattice_commands.cc). kNotFound for a name not in the lattice; the server's own error when it
// is not in one.
struct PlacedHost {
  std::string host_id;
  std::string management_address;
  bool self = false;  // the server the client is connected to
};
Result<PlacedHost> ChooseHost(server::ManagementClient& client, const std::string& on);
void AddCompletionCommand(CLI::App& app, CommandSet& commands);  // completion.cc
void AddReplayCommand(CLI::App& app, CommandSet& commands);      // replay_command.cc

// A usage error found after parsing (e.g. two options that exclude each other): prints it with
// a hint to --help and returns kExitUsage.
int UsageError(const CommandContext& ctx, const std::string& message);

// --- Ctrl-C ----------------------------------------------------------------------------------

// Installs a SIGINT handler (and SIGTERM, treated the same) that sets a flag instead of killing
// the process, so attached commands can clean up (stop the actor, close the channel).
void CatchInterrupts();
// How many interrupts have arrived since CatchInterrupts().
int InterruptCount();

// --- Actor ids -------------------------------------------------------------------------------

// Whether `text` is a UUID in the lower-case hyphenated form the server uses.
bool LooksLikeActorId(std::string_view text);
// Adds the required positional argument `actor` that every command about one actor takes (an
// id, a unique id prefix or a name; ResolveActorId reads it) to `command`, stored in `actor`.
CLI::Option* AddActorArgument(CLI::App* command, std::string& actor);
// A full actor id for what the user typed: a full id as is; otherwise a unique id prefix or an
// exact actor name among running actors (then stored ones). Errors: none or several match.
Result<std::string> ResolveActorId(server::ManagementClient& client, const std::string& text);

// Calls `command`, expecting the reply variant `expected`. Errors: the server's error, or an
// unexpected reply (kInternal naming it).
Result<server::Variant> CallExpect(server::ManagementClient& client, const nlohmann::json& command,
                                   std::string_view expected);

// An ActorEvent push: an event of `actor_id`'s chain, or a gap notice (`dropped` > 0).
struct ActorEventPush {
  std::string actor_id;
  std::optional<IndexedEvent> event;
  uint64_t dropped = 0;
};
// Reads an ActorEvent push's fields. Errors: a malformed event.
Result<ActorEventPush> ReadActorEventPush(const nlohmann::json& fields);
// Prints an event: one JSON line with --json, else one human line.
void PrintEvent(const Output& out, const IndexedEvent& event);
// Reads the `events` of an ActorEvents reply, numbered from 0.
Result<std::vector<IndexedEvent>> ReadEventList(const nlohmann::json& fields);

// fields.<key> when it is a string, else "" (replies are read leniently: unknown or missing
// additions must not break an old server's answers).
std::string JsonString(const nlohmann::json& fields, std::string_view key);
// fields.<key> when it is an unsigned number, else `fallback`.
uint64_t JsonNumber(const nlohmann::json& fields, std::string_view key, uint64_t fallback = 0);

}  // namespace theater::cli
