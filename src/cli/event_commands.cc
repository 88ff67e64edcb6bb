// Theater: a WebAssembly actor runtime.
//
// Subcommands about event chains on a running server: events (history with filters, sorting and
// --follow), subscribe (live events), chain verify and chain export.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/chain_file.h"
#include "cli/context.h"
#include "cli/event_pages.h"
#include "cli/event_stream.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

struct EventsArgs {
  std::string actor;
  size_t limit = 0;
  std::string type;
  std::string from;
  std::string to;
  std::string search;
  std::string sort = "chain";
  bool reverse = false;
  bool follow = false;
};

Result<EventQuery> BuildQuery(const EventsArgs& args) {
  EventQuery query;
  const uint64_t now = NowMs();
  if (!args.type.empty()) query.type_contains = args.type;
  if (!args.search.empty()) query.search = args.search;
  if (!args.from.empty()) {
    THEATER_ASSIGN_OR_RETURN(query.from_ms, ParseTimeSpec(args.from, now));
  }
  if (!args.to.empty()) {
    THEATER_ASSIGN_OR_RETURN(query.to_ms, ParseTimeSpec(args.to, now));
  }
  THEATER_ASSIGN_OR_RETURN(query.sort, ParseEventSort(args.sort));
  query.reverse = args.reverse;
  query.limit = args.limit;
  return query;
}

// Prints the live events that match `filter`, at most `limit` of them (0: no limit).
int Stream(const CommandContext& ctx, server::ManagementClient& client, const std::string& id,
           const std::string& subscription_id, const EventQuery& filter, size_t limit,
           std::chrono::milliseconds idle_timeout, size_t skip_below) {
  size_t printed = 0;
  return FollowActorEvents(ctx, client, id, subscription_id, skip_below, idle_timeout,
                           [&](const IndexedEvent& event) {
                             if (!EventMatches(event.event, filter)) return true;
                             PrintEvent(ctx.out(), event);
                             return limit == 0 || ++printed < limit;
                           });
}

int Events(CommandContext& ctx, const EventsArgs& args) {
  const Output& out = ctx.out();
  Result<EventQuery> query = BuildQuery(args);
  if (!query.ok()) return UsageError(ctx, query.status().ToString());
  if (args.follow) CatchInterrupts();
  THEATER_ASSIGN_OR_RETURN_EXIT(ActorChainReader reader,
                                OpenActorChain(ctx, args.actor, args.follow), out);
  server::ManagementClient* client = reader.client.get();
  const std::string& id = reader.id;
  const std::string& subscription = reader.subscription;
  // The history comes in pages. In chain order each event is printed as it arrives and the
  // read stops at --limit; another order needs every matching event first (only those are
  // kept).
  const bool streaming = query->sort == EventSort::kChain && !query->reverse;
  const bool json_list = out.json() && !args.follow;
  std::vector<IndexedEvent> selected;
  size_t printed = 0;
  if (json_list && streaming) std::cout << "[";
  Result<ChainPages> pages = ForEachEvent(*client, id, [&](IndexedEvent&& e) {
    if (!EventMatches(e.event, *query)) return true;
    if (!streaming) {
      selected.push_back(std::move(e));
      return true;
    }
    if (json_list) {
      // The same text PrintJson gives a list, one element at a time.
      std::string item = EventJson(e.event, e.index).dump(2, ' ', false,
                                                         json::error_handler_t::replace);
      std::string indented = printed ? ",\n  " : "\n  ";
      for (char c : item) {
        indented.push_back(c);
        if (c == '\n') indented += "  ";
      }
      std::cout << indented;
    } else {
      PrintEvent(out, e);
    }
    ++printed;
    return query->limit == 0 || printed < query->limit;
  });
  if (json_list && streaming) std::cout << (printed ? "\n]\n" : "]\n") << std::flush;
  if (!pages.ok()) return out.Error(pages.status());
  if (!streaming) {
    selected = ApplyEventQuery(std::move(selected), *query);
    if (json_list) {
      json list = json::array();
      for (const IndexedEvent& e : selected) list.push_back(EventJson(e.event, e.index));
      out.PrintJson(list);
    } else {
      for (const IndexedEvent& e : selected) PrintEvent(out, e);
    }
  }
  if (!args.follow) return kExitOk;
  EventQuery live = *query;  // filters only: live events come in chain order
  return Stream(ctx, *client, id, subscription, live, 0, 0ms, pages->next_index);
}

struct SubscribeArgs {
  std::string actor;
  std::string type;
  size_t limit = 0;
  double timeout_s = 0;
};

int SubscribeCommand(CommandContext& ctx, const SubscribeArgs& args) {
  const Output& out = ctx.out();
  CatchInterrupts();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, args.actor), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string subscription, SubscribeToActor(*client, id), out);
  if (!out.json()) std::cerr << "subscribed to " << id << " (Ctrl-C to stop)\n";
  EventQuery filter;
  if (!args.type.empty()) filter.type_contains = args.type;
  return Stream(ctx, *client, id, subscription, filter, args.limit,
                std::chrono::milliseconds(static_cast<int64_t>(args.timeout_s * 1000)), 0);
}

// `chain verify FILE`: an exported chain checked here, with no server.
int ChainFileVerify(CommandContext& ctx, const std::string& path) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(ChainFile file, ReadChainFile(path), out);
  const Status verified = VerifyChainFile(file);
  if (out.json()) {
    out.PrintJson({{"file", path},
                   {"id", file.actor_id.empty() ? json() : json(file.actor_id)},
                   {"valid", verified.ok()},
                   {"events", file.events.size()},
                   {"first_index", file.first_index},
                   {"error", verified.ok() ? json() : json(verified.message())}});
  } else if (verified.ok()) {
    std::cout << out.Paint("chain valid", Style::kGreen) << ": " << file.events.size()
              << " events of actor " << file.actor_id
              << (file.first_index > 0 ? " from event #" + std::to_string(file.first_index) : "")
              << " (" << path << ")\n";
  } else {
    std::cout << out.Paint("chain INVALID", Style::kRed) << ": " << verified.message() << "\n";
  }
  return verified.ok() ? kExitOk : kExitFailure;
}

int ChainVerify(CommandContext& ctx, const std::string& given) {
  const Output& out = ctx.out();
  std::error_code ec;
  if (std::filesystem::is_regular_file(given, ec)) return ChainFileVerify(ctx, given);
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  Result<Variant> reply =
      CallExpect(*client, MakeVariant("VerifyChain", {{"id", id}}), "ChainVerified");
  if (!reply.ok()) return out.Error(reply.status());
  const bool valid = reply->fields.value("valid", false);
  const uint64_t events = JsonNumber(reply->fields, "events");
  if (out.json()) {
    out.PrintJson({{"id", id},
                   {"valid", valid},
                   {"events", events},
                   {"error", reply->fields.value("error", json())}});
  } else if (valid) {
    std::cout << out.Paint("chain valid", Style::kGreen) << ": " << events << " events\n";
  } else {
    std::cout << out.Paint("chain INVALID", Style::kRed) << ": "
              << JsonString(reply->fields, "error") << "\n";
  }
  return valid ? kExitOk : kExitFailure;
}

// `chain save`: the server writes the chain to a file under its home and names it.
int ChainSave(CommandContext& ctx, const std::string& given) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  Result<Variant> reply = CallExpect(*client, MakeVariant("SaveChain", {{"id", id}}), "ChainSaved");
  if (!reply.ok()) return out.Error(reply.status());
  if (out.json()) {
    out.PrintJson({{"id", id}, {"path", JsonString(reply->fields, "path")}});
  } else {
    std::cout << "chain of " << id << " saved to " << JsonString(reply->fields, "path") << "\n";
  }
  return kExitOk;
}

int ChainExport(CommandContext& ctx, const std::string& given, const std::string& output) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  // Written as the pages arrive, in the same shape (and text) as TheaterRuntime::SaveChain's
  // files, so one reader handles both and a long chain is never held whole.
  std::ofstream file;
  const bool to_stdout = output.empty() || output == "-";
  if (!to_stdout) {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file) return out.Error(IOError("writing " + output));
  }
  std::ostream& sink = to_stdout ? std::cout : file;
  size_t written = 0;
  auto indent = [](const json& value, std::string_view by) {
    std::string text = value.dump(2, ' ', false, json::error_handler_t::replace);
    std::string indented(by);
    for (char c : text) {
      indented.push_back(c);
      if (c == '\n') indented += by;
    }
    return indented;
  };
  Result<ChainPages> pages = ForEachEvent(*client, id, [&](IndexedEvent&& e) {
    if (written == 0) {
      sink << "{\n  \"actor_id\": " << json(id).dump() << ",\n  \"anchor\": "
           << (e.event.parent ? json(chain::ToHex(*e.event.parent)) : json()).dump()
           << ",\n  \"events\": [\n";
    } else {
      sink << ",\n";
    }
    sink << indent(EventJson(e.event, e.index), "    ");
    ++written;
    return static_cast<bool>(sink);
  });
  if (!pages.ok()) return out.Error(pages.status());
  if (written == 0) {
    sink << "{\n  \"actor_id\": " << json(id).dump()
         << ",\n  \"anchor\": null,\n  \"events\": [],\n  \"first_index\": 0\n}\n";
  } else {
    sink << "\n  ],\n  \"first_index\": " << pages->first_index << "\n}\n";
  }
  sink.flush();
  if (!sink) return out.Error(IOError("writing " + (to_stdout ? std::string("stdout") : output)));
  if (!to_stdout) std::cerr << "wrote " << written << " events to " << output << "\n";
  return kExitOk;
}

}  // namespace

void AddEventCommands(CLI::App& app, CommandSet& commands) {
  auto events = std::make_shared<EventsArgs>();
  CLI::App* events_cmd = app.add_subcommand(
      "events", "Print an actor's event chain (also of a stopped actor whose chain is stored)");
  AddActorArgument(events_cmd, events->actor);
  events_cmd->add_option("-l,--limit", events->limit,
                         "Print at most this many events (after sorting; 0 = all)");
  events_cmd->add_option("-t,--type", events->type, "Only events whose type contains this text");
  events_cmd->add_option("--from", events->from,
                         "Only events at or after this time: Unix seconds, or an age like 30s, "
                         "10m, 2h, 1d, 1w");
  events_cmd->add_option("--to", events->to, "Only events at or before this time (as --from)");
  events_cmd->add_option("--search", events->search,
                         "Only events whose description or data contains this text (any case)");
  events_cmd->add_option("-s,--sort", events->sort, "Order: chain, time, type or size")
      ->check(CLI::IsMember({"chain", "time", "type", "size"}))
      ->capture_default_str();
  events_cmd->add_flag("-r,--reverse", events->reverse, "Reverse the order");
  events_cmd->add_flag("-f,--follow", events->follow,
                       "After the history, print new events as they happen until the actor "
                       "stops or Ctrl-C");
  commands.Add(events_cmd, [events](CommandContext& ctx) { return Events(ctx, *events); });

  auto sub = std::make_shared<SubscribeArgs>();
  CLI::App* sub_cmd = app.add_subcommand("subscribe", "Print an actor's new events as they happen");
  AddActorArgument(sub_cmd, sub->actor);
  sub_cmd->add_option("-t,--type", sub->type, "Only events whose type contains this text");
  sub_cmd->add_option("-l,--limit", sub->limit, "Exit after this many events (0 = no limit)");
  sub_cmd->add_option("--timeout", sub->timeout_s,
                      "Exit after this many seconds without an event (0 = never)");
  commands.Add(sub_cmd, [sub](CommandContext& ctx) { return SubscribeCommand(ctx, *sub); });

  CLI::App* chain_cmd =
      app.add_subcommand("chain", "Verify, export or save an actor's event chain");
  chain_cmd->require_subcommand(1);
  auto verify_id = std::make_shared<std::string>();
  CLI::App* verify_cmd = chain_cmd->add_subcommand(
      "verify",
      "Recompute every hash and parent link of the chain (an actor's on the server, or a file "
      "`chain export` wrote, checked here); exit 1 when it is broken");
  AddActorArgument(verify_cmd, *verify_id);
  commands.Add(verify_cmd,
               [verify_id](CommandContext& ctx) { return ChainVerify(ctx, *verify_id); });
  auto export_id = std::make_shared<std::string>();
  auto export_out = std::make_shared<std::string>();
  CLI::App* export_cmd =
      chain_cmd->add_subcommand("export", "Write the chain as JSON (stdout, or -o FILE)");
  AddActorArgument(export_cmd, *export_id);
  export_cmd->add_option("-o,--output", *export_out, "Write to this file instead of stdout");
  commands.Add(export_cmd, [export_id, export_out](CommandContext& ctx) {
    return ChainExport(ctx, *export_id, *export_out);
  });
  auto save_id = std::make_shared<std::string>();
  CLI::App* save_cmd = chain_cmd->add_subcommand(
      "save", "Have the server write the chain to <its home>/chains/<id>.json; print the path");
  AddActorArgument(save_cmd, *save_id);
  commands.Add(save_cmd, [save_id](CommandContext& ctx) { return ChainSave(ctx, *save_id); });
}

}  // namespace theater::cli
