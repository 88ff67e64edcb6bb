// Theater: a WebAssembly actor runtime.
//
// `theater logs ACTOR [-f]`: the lines an actor logged (runtime.log in both its forms, log-at,
// and what it wrote to stdout and stderr), read from its chain on the server (chain::LoggedText),
// so the lines of an actor on any host of a lattice, or of a stopped actor whose chain is stored,
// come out as those of a running one; with --follow, then its new lines as they are recorded.
#include <deque>
#include <iostream>

#include "cli/context.h"
#include "cli/event_pages.h"
#include "cli/event_stream.h"
#include "common/utf8.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

struct LogsArgs {
  std::string actor;
  bool follow = false;
  size_t tail = 0;  // 0: every line
  bool timestamps = false;
};

struct LogLine {
  size_t index = 0;
  uint64_t timestamp_ms = 0;
  std::string text;
};

std::optional<LogLine> LineOf(const IndexedEvent& e) {
  std::optional<std::string> text = chain::LoggedText(e.event);
  if (!text) return std::nullopt;
  return LogLine{e.index, e.event.timestamp_ms, std::move(*text)};
}

json LineJson(const LogLine& line) {
  return {{"index", line.index},
          {"timestamp_ms", line.timestamp_ms},
          {"line", SanitizeUtf8(line.text)}};
}

// One line for a terminal: the guest's text with its control characters escaped, so a hostile
// actor cannot drive the terminal.
void PrintLine(const Output& out, const LogsArgs& args, const LogLine& line) {
  if (out.json()) {
    out.PrintJsonLine(LineJson(line));
    return;
  }
  if (args.timestamps) std::cout << out.Paint(FormatTime(line.timestamp_ms), Style::kDim) << " ";
  std::cout << TerminalSafe(line.text) << "\n";
  std::cout.flush();
}

int Logs(CommandContext& ctx, const LogsArgs& args) {
  const Output& out = ctx.out();
  if (args.follow) CatchInterrupts();
  THEATER_ASSIGN_OR_RETURN_EXIT(ActorChainReader reader,
                                OpenActorChain(ctx, args.actor, args.follow), out);
  server::ManagementClient* client = reader.client.get();
  const std::string& id = reader.id;
  // With --tail only the last lines are kept while the chain is read; else each is printed as
  // its page arrives. Without --follow, --json prints one list.
  const bool json_list = out.json() && !args.follow;
  std::deque<LogLine> kept;
  json list = json::array();
  Result<ChainPages> pages = ForEachEvent(*client, id, [&](IndexedEvent&& e) {
    std::optional<LogLine> line = LineOf(e);
    if (!line) return true;
    if (args.tail > 0) {
      kept.push_back(std::move(*line));
      if (kept.size() > args.tail) kept.pop_front();
    } else if (json_list) {
      list.push_back(LineJson(*line));
    } else {
      PrintLine(out, args, *line);
    }
    return true;
  });
  if (!pages.ok()) return out.Error(pages.status());
  for (const LogLine& line : kept) {
    if (json_list) {
      list.push_back(LineJson(line));
    } else {
      PrintLine(out, args, line);
    }
  }
  if (json_list) out.PrintJson(list);
  if (!args.follow) return kExitOk;
  return FollowActorEvents(ctx, *client, id, reader.subscription, pages->next_index, 0ms,
                           [&](const IndexedEvent& e) {
                             if (std::optional<LogLine> line = LineOf(e)) {
                               PrintLine(out, args, *line);
                             }
                             return true;
                           });
}

}  // namespace

void AddLogsCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<LogsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "logs",
      "Print the lines an actor logged (runtime.log and its stdout and stderr), from its chain; "
      "also of a stopped actor whose chain is stored");
  AddActorArgument(cmd, args->actor);
  cmd->add_flag("-f,--follow", args->follow,
                "After the lines logged so far, print new ones as they come until the actor "
                "stops or Ctrl-C");
  cmd->add_option("-n,--tail", args->tail, "Print only the last N lines logged so far (0: all)");
  cmd->add_flag("-t,--timestamps", args->timestamps, "Begin each line with the time it was logged");
  commands.Add(cmd, [args](CommandContext& ctx) { return Logs(ctx, *args); });
}

}  // namespace theater::cli
