// Theater: a WebAssembly actor runtime.
//
// `theater replay`: re-runs an actor from its chain on the server (ReplayActor), or a chain
// exported to a file (`theater chain export`; sent whole as ReplayChain), and says whether the
// replay came out identical, where it first diverged, or (--until) what the state was after an
// event. docs/replay.md and docs/cli.md describe it.
#include <filesystem>
#include <iostream>

#include "cli/context.h"
#include "common/bytes.h"
#include "common/nesting_guard.h"
#include "theater/limits.h"

namespace theater::cli {
namespace {

using nlohmann::json;

// A chain file larger than this is refused before it is read (the ReplayChain message that
// carries it must stay under the server's message limit too).
constexpr size_t kMaxChainFileBytes = 256u << 20;

struct ReplayArgs {
  std::string target;
  std::optional<uint64_t> until;
  std::string module;
};

// The events of an exported chain file ({"events": [{hash, parent, type, timestamp_ms,
// description, payload_hex}, ...]}), as ChainEvent messages.
Result<json> ChainFileEvents(const std::string& path) {
  THEATER_ASSIGN_OR_RETURN(std::string text,
                           ReadFileText(path, "chain file", kMaxChainFileBytes));
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(text, limits::kMaxJsonDepth, path));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("events") ||
      !doc["events"].is_array()) {
    return InvalidArgument(path + " is not an exported chain ({\"events\": [...]}, as `theater "
                                  "chain export` writes)");
  }
  if (doc.value("first_index", uint64_t{0}) != 0) {
    return InvalidArgument(path + " holds the chain from event #" +
                           std::to_string(doc.value("first_index", uint64_t{0})) +
                           ": replay needs it from its first event");
  }
  json events = json::array();
  const json& list = doc["events"];
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    auto bad = [&](const std::string& why) {
      return InvalidArgument(path + ": events[" + std::to_string(i) + "]: " + why);
    };
    if (!e.is_object()) return bad("not an object");
    chain::Event event;
    std::vector<uint8_t> bytes;
    if (!e.contains("hash") || !e["hash"].is_string() || !HexDecode(e["hash"].get<std::string>(), &bytes) ||
        bytes.size() != event.hash.size()) {
      return bad("'hash' must be 64 hex digits");
    }
    std::copy(bytes.begin(), bytes.end(), event.hash.begin());
    if (e.contains("parent") && !e["parent"].is_null()) {
      chain::Hash parent;
      if (!e["parent"].is_string() || !HexDecode(e["parent"].get<std::string>(), &bytes) ||
          bytes.size() != parent.size()) {
        return bad("'parent' must be 64 hex digits or null");
      }
      std::copy(bytes.begin(), bytes.end(), parent.begin());
      event.parent = parent;
    }
    if (!e.contains("type") || !e["type"].is_string()) return bad("'type' must be a string");
    event.type = e["type"].get<std::string>();
    if (!e.contains("payload_hex") || !e["payload_hex"].is_string() ||
        !HexDecode(e["payload_hex"].get<std::string>(), &event.payload)) {
      return bad("'payload_hex' must be hex (files exported before it was added cannot be "
                 "replayed: export the chain again)");
    }
    event.timestamp_ms = e.value("timestamp_ms", uint64_t{0});
    if (e.contains("description") && e["description"].is_string()) {
      event.description = e["description"].get<std::string>();
    }
    events.push_back(server::ChainEventToJson(event));
  }
  return events;
}

int Replay(CommandContext& ctx, const ReplayArgs& args) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  json fields = json::object();
  if (args.until) fields["until"] = *args.until;
  if (!args.module.empty()) {
    // The server reads the module: a path relative to here means nothing there.
    fields["module"] = std::filesystem::absolute(args.module).lexically_normal().string();
  }
  std::string id;
  std::string command = "ReplayActor";
  std::error_code ec;
  if (std::filesystem::is_regular_file(args.target, ec)) {
    THEATER_ASSIGN_OR_RETURN_EXIT(fields["events"], ChainFileEvents(args.target), out);
    command = "ReplayChain";
  } else {
    THEATER_ASSIGN_OR_RETURN_EXIT(id, ResolveActorId(*client, args.target), out);
    fields["id"] = id;
  }
  Result<server::Variant> reply =
      CallExpect(*client, server::MakeVariant(command, fields), "ActorReplayed");
  if (!reply.ok()) return out.Error(reply.status());
  const json& r = reply->fields;
  const bool identical = r.value("identical", false);
  const uint64_t events = JsonNumber(r, "events");
  Result<std::optional<std::vector<uint8_t>>> state = server::OptionalBytesField(r, "state");
  if (!state.ok()) return out.Error(state.status());
  if (out.json()) {
    json doc{{"identical", identical},
             {"events", events},
             {"total", JsonNumber(r, "total")},
             {"divergence", r.value("divergence", json())},
             {"state", *state ? BytesForJson(**state) : json()}};
    if (!id.empty()) doc["id"] = id;
    if (args.until) doc["until"] = *args.until;
    out.PrintJson(doc);
    return identical ? kExitOk : kExitFailure;
  }
  if (!identical) {
    const json& d = r["divergence"];
    std::cout << out.Paint("replay: diverged", Style::kRed) << " at event #"
              << JsonNumber(d, "index") << " (" << JsonString(d, "event_type") << "), after "
              << events << " identical events\n"
              << "  expected: " << JsonString(d, "expected") << "\n"
              << "  got:      " << JsonString(d, "got") << "\n";
    const std::string detail = JsonString(d, "detail");
    if (!detail.empty()) std::cout << detail << (detail.ends_with('\n') ? "" : "\n");
    return kExitFailure;
  }
  if (args.until) {
    // The state alone on stdout (for pipes); what it is, on stderr.
    std::cerr << "replay: " << events << " events, identical; state after event #" << *args.until
              << ":\n";
    std::cout << (*state ? BytesForHuman(**state) : std::string("none")) << "\n";
    return kExitOk;
  }
  std::cout << "replay: " << events << " events, " << out.Paint("identical", Style::kGreen)
            << "\n";
  return kExitOk;
}

}  // namespace

void AddReplayCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Re-run an actor from its event chain and check that it does what the chain recorded");
  cmd->add_option("target", args->target,
                  "Actor id (or a unique id prefix, or a name), or a file `theater chain export` "
                  "wrote")
      ->required();
  cmd->add_option("--until", args->until,
                  "Stop after this event and print the state the actor had then");
  cmd->add_option("--module", args->module,
                  "Replay with this .wasm instead of the recorded module (another build of the "
                  "actor, checked against its recorded history)");
  commands.Add(cmd, [args](CommandContext& ctx) { return Replay(ctx, *args); });
}

}  // namespace theater::cli
