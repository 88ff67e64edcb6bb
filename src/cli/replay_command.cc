// Theater: a WebAssembly actor runtime.
//
// `theater replay`: re-runs an actor from its chain on the server (ReplayActor), or a chain
// exported to a file (`theater chain export`; sent whole as ReplayChain), and says whether the
// replay came out identical, where it first diverged, or (--until) what the state was after an
// event. docs/replay.md and docs/cli.md describe it.
#include <filesystem>
#include <iostream>

#include "cli/chain_file.h"
#include "cli/context.h"

namespace theater::cli {
namespace {

using nlohmann::json;

struct ReplayArgs {
  std::string target;
  std::optional<uint64_t> until;
  std::string module;
};

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
    THEATER_ASSIGN_OR_RETURN_EXIT(ChainFile file, ReadChainFile(args.target), out);
    if (file.first_index != 0) {
      return out.Error(InvalidArgument(args.target + " holds the chain from event #" +
                                       std::to_string(file.first_index) +
                                       ": replay needs it from its first event"));
    }
    // A file whose actor_id was changed is refused here, as the server refuses it too.
    if (Status verified = VerifyChainFile(file); !verified.ok()) {
      return out.Error(verified.WithContext(args.target));
    }
    json events = json::array();
    for (const chain::Event& event : file.events) events.push_back(server::ChainEventToJson(event));
    fields["events"] = std::move(events);
    fields["id"] = file.actor_id;
    id = file.actor_id;
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
