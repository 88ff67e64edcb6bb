// Theater: a WebAssembly actor runtime.
#include "cli/context.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>

#include "cli/compile_progress_printer.h"
#include "common/uuid.h"

namespace theater::cli {
namespace {

volatile std::sig_atomic_t g_interrupts = 0;

void OnInterrupt(int) {
  g_interrupts = g_interrupts + 1;
}

}  // namespace

Result<std::unique_ptr<CommandContext>> CommandContext::Create(const GlobalOptions& options,
                                                               EnvLookup env) {
  CliConfig config;
  if (!options.config_path.empty()) {
    THEATER_ASSIGN_OR_RETURN(config, LoadConfig(options.config_path, /*must_exist=*/true, env));
  } else if (std::optional<std::filesystem::path> path = DefaultConfigPath(env)) {
    THEATER_ASSIGN_OR_RETURN(config, LoadConfig(*path, /*must_exist=*/false, env));
  }
  ColorMode color = config.color.value_or(ColorMode::kAuto);
  if (!options.color.empty()) {
    THEATER_ASSIGN_OR_RETURN(color, ParseColorMode(options.color));
  }
  const bool json = options.json || config.format == OutputFormat::kJson;
  Output out(json, ShouldColor(color, isatty(STDOUT_FILENO), env),
             ShouldColor(color, isatty(STDERR_FILENO), env));
  std::optional<std::string> address_flag;
  if (!options.address.empty()) address_flag = options.address;
  std::string address = ResolveAddress(address_flag, env, config);
  std::optional<std::string> token_flag;
  if (!options.token.empty()) token_flag = options.token;
  return std::unique_ptr<CommandContext>(
      new CommandContext(out, std::move(config), std::move(address), std::move(token_flag), env));
}

Result<std::unique_ptr<server::ManagementClient>> CommandContext::Connect() const {
  return ConnectTo(address_);
}

Result<std::unique_ptr<server::ManagementClient>> CommandContext::ConnectTo(
    const std::string& address) const {
  server::ManagementClient::Options options;
  options.address = address;
  THEATER_ASSIGN_OR_RETURN(options.token, ResolveToken(token_flag_, env_, config_));
  if (config_.timeout) {
    options.reply_timeout = *config_.timeout;
    options.connect_timeout = std::min(*config_.timeout, options.connect_timeout);
  }
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<server::ManagementClient> client,
                           server::ManagementClient::Connect(std::move(options)));
  // The compiles a command that asked for them waits on (start, update, restart, request).
  auto printer = std::make_shared<CompileProgressPrinter>(CompileProgressPrinter::ForStderr());
  client->OnCompileProgress(
      [printer](const engine::CompileProgress& progress) { printer->Show(progress); });
  return client;
}

const Action* CommandSet::Parsed() const {
  for (const auto& [command, action] : commands_) {
    if (command->parsed()) return &action;
  }
  return nullptr;
}

int UsageError(const CommandContext& ctx, const std::string& message) {
  ctx.out().Error(message + " (see --help)", kExitUsage);
  return kExitUsage;
}

void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the loop notices
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int InterruptCount() {
  return g_interrupts;
}

bool LooksLikeActorId(std::string_view text) {
  // A UUID, and lower-case: an id typed in capitals is matched as a prefix (ResolveActorId).
  return IsUuid(text) &&
         std::none_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'F'; });
}

CLI::Option* AddActorArgument(CLI::App* command, std::string& actor) {
  return command->add_option("actor", actor, "Actor id (or a unique id prefix, or a name)")
      ->required();
}

Result<server::Variant> CallExpect(server::ManagementClient& client, const json& command,
                                   std::string_view expected) {
  THEATER_ASSIGN_OR_RETURN(server::Variant reply, client.Call(command));
  if (reply.name != expected) {
    return InternalError("the server answered " + reply.name + " where " + std::string(expected) +
                         " was expected");
  }
  return reply;
}

std::string JsonString(const json& fields, std::string_view key) {
  if (!fields.is_object()) return "";
  auto it = fields.find(key);
  if (it == fields.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

uint64_t JsonNumber(const json& fields, std::string_view key, uint64_t fallback) {
  if (!fields.is_object()) return fallback;
  auto it = fields.find(key);
  if (it == fields.end() || !it->is_number()) return fallback;
  if (it->is_number_float()) return static_cast<uint64_t>(std::max(0.0, it->get<double>()));
  if (it->is_number_integer() && it->get<int64_t>() < 0) return fallback;
  return it->get<uint64_t>();
}

Result<ActorEventPush> ReadActorEventPush(const json& fields) {
  THEATER_ASSIGN_OR_RETURN(server::EventPush read, server::EventPushFromFields(fields));
  ActorEventPush push;
  push.actor_id = std::move(read.actor_id);
  push.dropped = read.dropped;
  if (read.dropped == 0) push.event = IndexedEvent{read.index, std::move(read.event)};
  return push;
}

void PrintEvent(const Output& out, const IndexedEvent& event) {
  if (out.json()) {
    out.PrintJsonLine(EventJson(event.event, event.index));
  } else {
    std::cout << EventLine(out, event.event, event.index) << "\n";
    std::cout.flush();
  }
}

Result<std::vector<IndexedEvent>> ReadEventList(const json& fields) {
  std::vector<IndexedEvent> events;
  if (!fields.contains("events") || !fields["events"].is_array()) {
    return InvalidArgument("the server's ActorEvents reply has no events list");
  }
  size_t index = 0;
  for (const json& value : fields["events"]) {
    Result<chain::Event> event = server::ChainEventFromJson(value);
    if (!event.ok()) return event.status().WithContext("event " + std::to_string(index));
    events.push_back({index++, std::move(*event)});
  }
  return events;
}

Result<std::string> ResolveActorId(server::ManagementClient& client, const std::string& text) {
  if (LooksLikeActorId(text)) return text;
  if (text.empty()) return InvalidArgument("an actor id is required");
  // (id, name) of every actor the server knows: running ones first, then stored ones.
  std::vector<std::pair<std::string, std::string>> known;
  THEATER_ASSIGN_OR_RETURN(server::Variant list,
                           CallExpect(client, server::MakeVariant("ListActors"), "ActorList"));
  if (list.fields.contains("actors") && list.fields["actors"].is_array()) {
    for (const json& pair : list.fields["actors"]) {
      if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
        known.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
      }
    }
  }
  auto match = [&](const std::vector<std::pair<std::string, std::string>>& candidates)
      -> std::optional<Result<std::string>> {
    std::vector<std::string> found;
    for (const auto& [id, name] : candidates) {
      if ((id.rfind(text, 0) == 0 || name == text) &&
          std::find(found.begin(), found.end(), id) == found.end()) {
        found.push_back(id);
      }
    }
    if (found.size() == 1) return Result<std::string>(found.front());
    if (found.size() > 1) {
      std::string ids;
      for (const std::string& id : found) ids += (ids.empty() ? "" : ", ") + id;
      return Result<std::string>(InvalidArgument("'" + text + "' matches several actors: " + ids));
    }
    return std::nullopt;
  };
  if (auto running = match(known)) return std::move(*running);
  // Stopped actors whose chains are stored (ListStored is an addition; an old server lacks it).
  Result<server::Variant> stored = client.Call(server::MakeVariant("ListStored"));
  std::vector<std::pair<std::string, std::string>> stored_known;
  if (stored.ok() && stored->fields.contains("actors") && stored->fields["actors"].is_array()) {
    for (const json& actor : stored->fields["actors"]) {
      if (!JsonString(actor, "id").empty()) {
        stored_known.emplace_back(JsonString(actor, "id"), JsonString(actor, "name"));
      }
    }
  }
  if (auto found = match(stored_known)) return std::move(*found);
  return NotFound("no actor matches '" + text + "' (give an id, a unique id prefix or a name)");
}

}  // namespace theater::cli
