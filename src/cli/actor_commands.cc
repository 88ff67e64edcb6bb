// Theater: a WebAssembly actor runtime.
//
// Subcommands that manage actors on a running server: start (and staying attached to what it
// started), stop, terminate, restart, pause, resume, list, list-stored, state, inspect, metrics
// and info. Each is a thin layer over one or a few protocol commands (docs/protocol.md).
#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>

#include "cli/context.h"
#include "cli/event_pages.h"
#include "common/bytes.h"
#include "common/json_writer.h"
#include "common/utf8.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

// --- start -----------------------------------------------------------------------------------

struct StartArgs {
  std::string manifest;
  std::string initial_state;
  bool subscribe = false;
  bool parent = false;
  bool logs = false;
  int settle_ms = 200;
  std::string on;  // a host of the lattice, or "least-loaded"; empty: the server's own
};

// A manifest or component as the server should see it: a local file becomes its absolute path
// (so that paths inside a manifest resolve against its directory on the same machine); anything
// else (store://, http(s)://, a path only the server has, TOML text) goes as given.
std::string LocalReference(const std::string& given) {
  std::error_code ec;
  if (given.find('\n') == std::string::npos && std::filesystem::is_regular_file(given, ec)) {
    std::filesystem::path absolute = std::filesystem::absolute(given, ec);
    if (!ec) return absolute.lexically_normal().string();
  }
  return given;
}

// `update`: replaces the actor's component (UpdateActorComponent); a local file goes as its
// absolute path, anything else (http(s)://, a path only the server has) as given.
int Update(CommandContext& ctx, const std::string& given, const std::string& component) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  Result<Variant> reply = CallExpect(
      *client,
      MakeVariant("UpdateActorComponent",
                  {{"id", id}, {"component", LocalReference(component)}, {"progress", true}}),
      "ActorComponentUpdated");
  if (!reply.ok()) return out.Error(reply.status());
  if (out.json()) {
    out.PrintJson({{"id", id}, {"result", "updated"}});
  } else {
    std::cout << "updated " << id << "\n";
  }
  return kExitOk;
}

// --initial-state: JSON text, or @file holding JSON. Returns its bytes.
Result<std::vector<uint8_t>> InitialStateBytes(const std::string& given) {
  std::string text = given;
  std::string source = "--initial-state";
  if (!given.empty() && given[0] == '@') {
    THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(given.substr(1)));
    text.assign(bytes.begin(), bytes.end());
    source = given.substr(1);
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument(source + " is not valid JSON");
  return std::vector<uint8_t>(text.begin(), text.end());
}

// What an attached `start` does with the actor's ActorResult push; returns the exit code.
int ReportResult(const CommandContext& ctx, const StartArgs& args, const Variant& result) {
  const Output& out = ctx.out();
  const json& fields = result.fields;
  if (out.json()) {
    json report{{"actor_id", JsonString(fields, "actor_id")}, {"result", result.name}};
    if (result.name == "Success") {
      Result<std::optional<std::vector<uint8_t>>> data =
          server::OptionalBytesField(fields, "result");
      report["data"] = data.ok() && *data ? BytesForJson(**data) : json();
    } else if (result.name == "Error") {
      report["error"] = fields.contains("error") ? fields["error"] : json();
    }
    out.PrintJsonLine(report);
    return result.name == "Success" || (!args.parent && result.name == "ExternalStop")
               ? kExitOk
               : kExitFailure;
  }
  if (result.name == "Success") {
    if (args.parent) {
      Result<std::optional<std::vector<uint8_t>>> data =
          server::OptionalBytesField(fields, "result");
      if (data.ok() && *data) {
        std::cout.write(reinterpret_cast<const char*>((*data)->data()),
                        static_cast<std::streamsize>((*data)->size()));
        std::cout.flush();
      }
    } else {
      std::cerr << "actor " << JsonString(fields, "actor_id") << " stopped\n";
    }
    return kExitOk;
  }
  if (result.name == "Error") {
    // {"error": {"UnexpectedError": "<why>"}}: show the text, whatever the variant's name.
    std::string why = "unknown error";
    if (fields.contains("error")) {
      Result<Variant> error = server::ReadVariant(fields["error"]);
      if (error.ok() && error->fields.is_string()) {
        why = error->fields.get<std::string>();
      } else if (fields["error"].is_string()) {
        why = fields["error"].get<std::string>();
      } else {
        why = JsonText(fields["error"]);
      }
    }
    std::cerr << "Error: " << why << "\n";
    return kExitFailure;
  }
  if (result.name == "ExternalStop") {
    if (args.parent) {
      std::cerr << "Actor stopped externally\n";
      return kExitFailure;
    }
    std::cerr << "actor " << JsonString(fields, "actor_id") << " stopped externally\n";
    return kExitOk;
  }
  return ctx.out().Error("unexpected ActorResult '" + result.name + "'");
}

// Stays attached to the actor just started: prints its events (--subscribe) and waits for its
// ActorResult. The first Ctrl-C stops the actor (and waits briefly for it); a second one leaves.
int Attach(const CommandContext& ctx, server::ManagementClient& client, const StartArgs& args,
           const std::string& id) {
  const Output& out = ctx.out();
  bool stop_sent = false;
  std::chrono::steady_clock::time_point give_up{};
  for (;;) {
    if (InterruptCount() > 0 && !stop_sent) {
      stop_sent = true;
      std::cerr << "stopping actor " << id << " (Ctrl-C again to leave at once)\n";
      Result<Variant> stopped = client.Call(MakeVariant("StopActor", {{"id", id}}));
      if (!stopped.ok() && InterruptCount() < 2) out.Warning(stopped.status().ToString());
      give_up = std::chrono::steady_clock::now() + 10s;
    }
    if (InterruptCount() > 1) return kExitInterrupted;
    if (stop_sent && std::chrono::steady_clock::now() > give_up) return kExitInterrupted;
    Result<std::optional<Variant>> push = client.NextPush(200ms);
    if (!push.ok()) return out.Error(push.status().WithContext("waiting for actor " + id));
    if (!*push) continue;
    const Variant& message = **push;
    if (message.name == "ActorEvent") {
      if (!args.subscribe) continue;
      Result<ActorEventPush> event = ReadActorEventPush(message.fields);
      if (!event.ok()) return out.Error(event.status());
      if (!event->actor_id.empty() && event->actor_id != id) continue;
      if (event->event) PrintEvent(out, *event->event);
      if (event->dropped > 0) {
        out.Warning(std::to_string(event->dropped) + " events dropped (reading too slowly)");
      }
    } else if (message.name == "ActorResult") {
      Result<Variant> result = server::ReadVariant(message.fields);
      if (!result.ok()) return out.Error(result.status());
      if (JsonString(result->fields, "actor_id") != id) continue;
      int code = ReportResult(ctx, args, *result);
      return stop_sent ? kExitInterrupted : code;
    }
  }
}

// `start --logs`: prints the actor's log lines until it has been idle with an empty mailbox
// for `settle_ms` (as `theater run` settles), then leaves it running on the server. Ctrl-C
// leaves at once (130). An actor that stops meanwhile ends the wait: 0 when it stopped, 1 when
// it failed.
int AttachLogs(const CommandContext& ctx, server::ManagementClient& client, const std::string& id,
               int settle_ms) {
  using Clock = std::chrono::steady_clock;
  const Output& out = ctx.out();
  std::string name = "actor";
  if (Result<Variant> manifest =
          CallExpect(client, MakeVariant("GetActorManifest", {{"id", id}}), "ActorManifest");
      manifest.ok()) {
    const std::string named = JsonString(manifest->fields.value("manifest", json()), "name");
    if (!named.empty()) name = named;
  }
  auto print_logs = [&](std::chrono::milliseconds wait) -> Status {
    for (bool first = true;; first = false) {
      Result<std::optional<Variant>> push =
          client.NextPush(first ? wait : std::chrono::milliseconds(0));
      if (!push.ok()) return push.status();
      if (!*push) return Status::Ok();
      if ((*push)->name != "ActorEvent") continue;
      THEATER_ASSIGN_OR_RETURN(ActorEventPush event, ReadActorEventPush((*push)->fields));
      if (!event.actor_id.empty() && event.actor_id != id) continue;
      if (event.dropped > 0) {
        out.Warning(std::to_string(event.dropped) + " events dropped (reading too slowly)");
      }
      if (!event.event) continue;
      std::optional<std::string> line = chain::LoggedText(event.event->event);
      if (!line) continue;
      if (out.json()) {
        out.PrintJsonLine({{"actor_id", id}, {"name", name}, {"log", SanitizeUtf8(*line)}});
      } else {
        std::cout << out.Paint("[" + name + "]", Style::kCyan) << " " << TerminalSafe(*line) << "\n"
                  << std::flush;
      }
    }
  };
  auto detached = [&](const char* why) {
    if (out.json()) {
      out.PrintJsonLine({{"actor_id", id}, {"result", "Detached"}});
    } else {
      std::cerr << "actor " << id << " " << why << "; detached (it keeps running)\n";
    }
  };
  auto idle_since = Clock::now();
  for (;;) {
    if (InterruptCount() > 0) {
      detached("left by Ctrl-C");
      return kExitInterrupted;
    }
    if (Status printed = print_logs(std::chrono::milliseconds(50)); !printed.ok()) {
      return out.Error(printed.WithContext("following actor " + id));
    }
    Result<Variant> status = client.Call(MakeVariant("GetActorStatus", {{"id", id}}));
    if (!status.ok() && status.status().code() != StatusCode::kNotFound) {
      return out.Error(status.status().WithContext("following actor " + id));
    }
    const std::string state = status.ok() ? JsonString(status->fields, "status") : "";
    if (state != "Running") {
      print_logs(std::chrono::milliseconds(0)).IgnoreError();  // what came before it stopped
      const bool failed = state == "Failed";
      if (out.json()) {
        out.PrintJsonLine({{"actor_id", id}, {"result", failed ? "Error" : "Stopped"}});
      } else {
        std::cerr << "actor " << id << (failed ? " failed" : " stopped") << "\n";
      }
      return failed ? kExitFailure : kExitOk;
    }
    Result<Variant> metrics = client.Call(MakeVariant("GetActorMetrics", {{"id", id}}));
    const bool idle = JsonString(status->fields, "phase") == "Idle" && metrics.ok() &&
                      JsonNumber(metrics->fields.value("metrics", json()), "mailbox_depth") == 0;
    const auto now = Clock::now();
    if (!idle) idle_since = now;
    if (now - idle_since >= std::chrono::milliseconds(settle_ms)) {
      if (Status printed = print_logs(std::chrono::milliseconds(0)); !printed.ok()) {
        return out.Error(printed.WithContext("following actor " + id));
      }
      detached("is idle");
      return kExitOk;
    }
  }
}

int Start(CommandContext& ctx, const StartArgs& args) {
  const Output& out = ctx.out();
  if (args.logs && (args.parent || args.subscribe)) {
    return UsageError(ctx, "--logs excludes --parent and --subscribe");
  }
  json fields{{"manifest", LocalReference(args.manifest)},
              {"initial_state", nullptr},
              // The ActorResult push tells an attached client that the actor stopped, so
              // --subscribe asks for it too (and only --parent turns it into the exit code).
              // --logs watches the actor's status instead: it leaves the actor running.
              {"parent", args.parent || args.subscribe},
              {"subscribe", args.subscribe || args.logs},
              // The server's compile of the component, shown while the start waits for it.
              {"progress", true}};
  if (!args.initial_state.empty()) {
    Result<std::vector<uint8_t>> state = InitialStateBytes(args.initial_state);
    if (!state.ok()) return out.Error(state.status());
    fields["initial_state"] = server::BytesToJson(*state);
  }
  const bool attached = args.parent || args.subscribe;
  if (attached || args.logs) CatchInterrupts();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  if (!args.on.empty()) {
    // Placement: the lattice's host by that name, or the least loaded, started through its own
    // management server (the others reach the actor wherever it runs).
    THEATER_ASSIGN_OR_RETURN_EXIT(PlacedHost host, ChooseHost(*client, args.on), out);
    if (!host.self) {
      THEATER_ASSIGN_OR_RETURN_EXIT(client, ctx.ConnectTo(host.management_address), out);
    }
    // Placed: the manifest's own placement, if any, gives way.
    fields["placement"] = host.host_id;
  }
  Result<Variant> started = CallExpect(*client, MakeVariant("StartActor", fields), "ActorStarted");
  if (!started.ok()) {
    if (started.status().code() == StatusCode::kDeadlineExceeded) {
      // The usual cause: the server is compiling the component (minutes for the first actor of
      // a JavaScript world), which goes on after the client stops waiting.
      return out.Error(DeadlineExceeded(
          started.status().message() +
          "; the server may still be compiling the component (`theater compile <component>` "
          "with the server's cache compiles it ahead; timeout_ms in the config file waits "
          "longer)"));
    }
    return out.Error(started.status());
  }
  const std::string id = JsonString(started->fields, "id");
  if (args.logs) {
    if (!out.json()) std::cerr << "started actor " << id << "\n";
    return AttachLogs(ctx, *client, id, args.settle_ms);
  }
  if (!attached) {
    // In a lattice the server says where it runs (--on's host, the manifest's placement, or
    // itself).
    const std::string host = JsonString(started->fields, "host");
    if (out.json()) {
      json started_json{{"id", id}};
      if (!host.empty()) started_json["host"] = host;
      out.PrintJson(started_json);
    } else {
      std::cout << id << "\n";
      if (!host.empty()) std::cerr << "started on host " << host << "\n";
    }
    return kExitOk;
  }
  if (!out.json()) std::cerr << "started actor " << id << "\n";
  return Attach(ctx, *client, args, id);
}

// --- one-id commands -------------------------------------------------------------------------

struct IdCommand {
  const char* name;
  const char* help;
  const char* command;  // protocol command
  const char* reply;    // expected reply
  const char* done;     // past tense for the human line
  bool compiles = false;  // may wait for a compile, whose progress it shows
};

constexpr IdCommand kIdCommands[] = {
    {"stop", "Stop an actor gracefully (its current call finishes; children stop first)",
     "StopActor", "ActorStopped", "stopped"},
    {"terminate", "Stop an actor at once, interrupting its current call", "TerminateActor",
     "ActorStopped", "terminated"},
    {"restart", "Restart an actor from its manifest (same id, fresh state; the chain continues)",
     "RestartActor", "Restarted", "restarted", true},
    {"pause",
     "Pause an idle actor: operations queue up but do not run (refused while it runs one, unless "
     "--when-idle)",
     "PauseActor", "ActorPaused", "paused"},
    {"resume", "Resume a paused actor", "ResumeActor", "ActorResumed", "resumed"},
};

// `fields`: the command's fields besides the id.
int RunIdCommand(CommandContext& ctx, const IdCommand& spec, const std::string& given,
                 json fields) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  fields["id"] = id;
  if (spec.compiles) fields["progress"] = true;
  Result<Variant> reply = CallExpect(*client, MakeVariant(spec.command, fields), spec.reply);
  if (!reply.ok()) return out.Error(reply.status());
  if (out.json()) {
    out.PrintJson({{"id", id}, {"result", spec.done}});
  } else {
    std::cout << spec.done << " " << id << "\n";
  }
  return kExitOk;
}

// --- list, list-stored -----------------------------------------------------------------------

int List(CommandContext& ctx) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  Result<Variant> reply = CallExpect(*client, MakeVariant("ListActors"), "ActorList");
  if (!reply.ok()) return out.Error(reply.status());
  const json& fields = reply->fields;
  json details = json::array();
  if (fields.contains("details") && fields["details"].is_array()) {
    details = fields["details"];
  } else if (fields.contains("actors") && fields["actors"].is_array()) {
    // An old server: only (id, name) pairs.
    for (const json& pair : fields["actors"]) {
      if (pair.is_array() && pair.size() == 2)
        details.push_back({{"id", pair[0]}, {"name", pair[1]}});
    }
  }
  if (out.json()) {
    out.PrintJson(details);
    return kExitOk;
  }
  // A server in a lattice lists every host's actors, each with its host, and names the hosts
  // that did not answer.
  for (const json& missing : fields.value("unreachable", json::array())) {
    std::cerr << "theater: host " << JsonString(missing, "host")
              << " is not listed: " << JsonString(missing, "error") << "\n";
  }
  if (details.empty()) {
    std::cout << "no actors running\n";
    return kExitOk;
  }
  const bool hosts = !details.empty() && details[0].is_object() && details[0].contains("host");
  std::vector<std::string> columns = {"ID", "NAME", "PHASE", "PARENT", "MANIFEST"};
  if (hosts) columns.insert(columns.begin() + 2, "HOST");
  Table table(columns);
  for (const json& actor : details) {
    std::string parent = JsonString(actor, "parent_id");
    std::vector<std::string> row = {JsonString(actor, "id"), JsonString(actor, "name"),
                                    JsonString(actor, "phase"), parent.empty() ? "-" : parent,
                                    JsonString(actor, "manifest")};
    if (hosts) row.insert(row.begin() + 2, JsonString(actor, "host"));
    table.AddRow(row);
  }
  table.Print(out, std::cout);
  return kExitOk;
}

int ListStored(CommandContext& ctx) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  Result<Variant> reply = CallExpect(*client, MakeVariant("ListStored"), "StoredActors");
  if (!reply.ok()) return out.Error(reply.status());
  const json actors = reply->fields.value("actors", json::array());
  if (out.json()) {
    out.PrintJson(actors);
    return kExitOk;
  }
  if (actors.empty()) {
    std::cout << "no stored actors\n";
    return kExitOk;
  }
  Table table({"ID", "NAME", "STATUS", "EVENTS", "MANIFEST"});
  for (const json& actor : actors) {
    table.AddRow({JsonString(actor, "id"), JsonString(actor, "name"), JsonString(actor, "status"),
                  std::to_string(JsonNumber(actor, "events")), JsonString(actor, "manifest")});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

// --- state -----------------------------------------------------------------------------------

int State(CommandContext& ctx, const std::string& given, bool raw) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  // In slices: a large state never has to fit one reply.
  THEATER_ASSIGN_OR_RETURN_EXIT(std::optional<std::vector<uint8_t>> state, ReadState(*client, id),
                                out);
  if (raw) {
    if (state) {
      std::cout.write(reinterpret_cast<const char*>(state->data()),
                      static_cast<std::streamsize>(state->size()));
    }
    return kExitOk;
  }
  if (out.json()) {
    out.PrintJson({{"id", id},
                   {"state", state ? BytesForJson(*state) : json()},
                   {"size", state ? state->size() : 0}});
  } else if (!state) {
    std::cout << "(no state)\n";
  } else {
    std::cout << BytesForHuman(*state) << "\n";
  }
  return kExitOk;
}

// --- metrics, inspect, info ------------------------------------------------------------------

void PrintMetrics(const Output& out, const json& metrics) {
  Table table({"METRIC", "VALUE"});
  auto n = [&](const char* key) { return JsonNumber(metrics, key); };
  table.AddRow({"calls", std::to_string(n("calls"))});
  table.AddRow({"failures", std::to_string(n("failures"))});
  table.AddRow({"latency min / avg / max", FormatNanos(n("latency_min_ns")) + " / " +
                                               FormatNanos(n("latency_avg_ns")) + " / " +
                                               FormatNanos(n("latency_max_ns"))});
  table.AddRow({"mailbox (now / peak)",
                std::to_string(n("mailbox_depth")) + " / " + std::to_string(n("mailbox_peak"))});
  table.AddRow({"memory (now / peak)",
                FormatBytes(n("memory_bytes")) + " / " + FormatBytes(n("memory_peak_bytes"))});
  table.AddRow({"uptime", FormatDurationMs(n("uptime_ms"))});
  table.AddRow({"events", std::to_string(n("events"))});
  if (metrics.contains("custom") && metrics["custom"].is_object()) {
    for (const auto& [name, value] : metrics["custom"].items()) {
      table.AddRow({"custom: " + name, value.dump()});
    }
  }
  table.Print(out, std::cout);
}

int Metrics(CommandContext& ctx, const std::string& given) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  Result<Variant> reply =
      CallExpect(*client, MakeVariant("GetActorMetrics", {{"id", id}}), "ActorMetrics");
  if (!reply.ok()) return out.Error(reply.status());
  const json metrics = reply->fields.value("metrics", json::object());
  if (out.json()) {
    out.PrintJson({{"id", id}, {"metrics", metrics}});
  } else {
    PrintMetrics(out, metrics);
  }
  return kExitOk;
}

int Inspect(CommandContext& ctx, const std::string& given, size_t recent) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  json report{{"id", id}};
  Result<Variant> status =
      CallExpect(*client, MakeVariant("GetActorStatus", {{"id", id}}), "ActorStatus");
  if (!status.ok()) return out.Error(status.status());
  report["status"] = JsonString(status->fields, "status");
  report["phase"] = JsonString(status->fields, "phase");
  if (status->fields.contains("starting_step")) {
    report["starting_step"] = JsonString(status->fields, "starting_step");
  }
  const bool running = report["status"] == "Running";
  // The rest is best effort: a stopped actor has no state or metrics, an old server no children.
  if (Result<Variant> manifest =
          CallExpect(*client, MakeVariant("GetActorManifest", {{"id", id}}), "ActorManifest");
      manifest.ok()) {
    report["manifest"] = manifest->fields.value("manifest", json());
  }
  if (running) {
    if (Result<std::optional<std::vector<uint8_t>>> state = ReadState(*client, id); state.ok()) {
      report["state"] = *state ? BytesForJson(**state) : json();
    }
    if (Result<Variant> metrics =
            CallExpect(*client, MakeVariant("GetActorMetrics", {{"id", id}}), "ActorMetrics");
        metrics.ok()) {
      report["metrics"] = metrics->fields.value("metrics", json::object());
    }
    if (Result<Variant> children =
            CallExpect(*client, MakeVariant("ListChildren", {{"id", id}}), "ActorChildren");
        children.ok()) {
      report["children"] = children->fields.value("children", json::array());
    }
  }
  // The last `recent` events, read in pages: from where they start when the chain's length is
  // known (a running actor's metrics), else from the first, keeping only the last ones.
  std::deque<IndexedEvent> recent_events;
  size_t total_events = 0;
  size_t from = 0;
  if (report.contains("metrics") && report["metrics"].contains("events")) {
    const size_t length = JsonNumber(report["metrics"], "events");
    from = length > recent ? length - recent : 0;
  }
  if (Result<ChainPages> pages = ForEachEvent(*client, id,
                                              [&](IndexedEvent&& e) {
                                                recent_events.push_back(std::move(e));
                                                if (recent_events.size() > recent) {
                                                  recent_events.pop_front();
                                                }
                                                return true;
                                              },
                                              from);
      pages.ok()) {
    total_events = pages->next_index - pages->first_index;
  }
  std::vector<IndexedEvent> events(std::make_move_iterator(recent_events.begin()),
                                   std::make_move_iterator(recent_events.end()));
  if (out.json()) {
    report["events_total"] = total_events;
    report["recent_events"] = json::array();
    for (const IndexedEvent& e : events)
      report["recent_events"].push_back(EventJson(e.event, e.index));
    out.PrintJson(report);
    return kExitOk;
  }
  auto heading = [&](const std::string& text) {
    std::cout << out.Paint(text, Style::kBold) << "\n";
  };
  heading("Actor " + id);
  const json manifest = report.value("manifest", json::object());
  Table facts({"FIELD", "VALUE"});
  if (manifest.is_object()) {
    facts.AddRow({"name", JsonString(manifest, "name") + " " + JsonString(manifest, "version")});
    facts.AddRow({"component", JsonString(manifest, "component")});
  }
  const std::string status_text = report["status"].get<std::string>();
  facts.AddRow(
      {"status", out.Paint(status_text, status_text == "Running" ? Style::kGreen : Style::kYellow) +
                     (report["phase"].get<std::string>().empty()
                          ? ""
                          : " (" + report["phase"].get<std::string>() +
                                (report.contains("starting_step")
                                     ? ": " + report["starting_step"].get<std::string>()
                                     : "") +
                                ")")});
  if (report.contains("children")) {
    std::string list;
    for (const json& child : report["children"]) {
      list += (list.empty() ? "" : ", ") + (child.is_string() ? child.get<std::string>() : "?");
    }
    facts.AddRow({"children", list.empty() ? "none" : list});
  }
  facts.Print(out, std::cout);
  if (running) {
    std::cout << "\n";
    heading("State");
    if (report.contains("state") && !report["state"].is_null()) {
      const json& state = report["state"];
      std::cout << (state.is_string() ? state.get<std::string>()
                                      : state.dump(2, ' ', false, json::error_handler_t::replace))
                << "\n";
    } else {
      std::cout << "(no state)\n";
    }
    if (report.contains("metrics")) {
      std::cout << "\n";
      heading("Metrics");
      PrintMetrics(out, report["metrics"]);
    }
  }
  std::cout << "\n";
  heading("Recent events (" + std::to_string(events.size()) + " of " +
          std::to_string(total_events) + ")");
  for (const IndexedEvent& e : events) std::cout << EventLine(out, e.event, e.index) << "\n";
  return kExitOk;
}

int Info(CommandContext& ctx) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  Result<Variant> reply = CallExpect(*client, MakeVariant("GetServerInfo"), "ServerInfo");
  if (!reply.ok()) return out.Error(reply.status());
  json info = reply->fields;
  info["address"] = ctx.address();
  if (out.json()) {
    out.PrintJson(info);
    return kExitOk;
  }
  Table table({"FIELD", "VALUE"});
  table.AddRow({"address", ctx.address()});
  table.AddRow({"version", JsonString(info, "version")});
  table.AddRow({"protocol", std::to_string(JsonNumber(info, "protocol"))});
  table.AddRow({"uptime", FormatDurationMs(JsonNumber(info, "uptime_ms"))});
  for (const char* key : {"actors", "connections", "subscriptions", "channels", "commands"}) {
    table.AddRow({key, std::to_string(JsonNumber(info, key))});
  }
  if (info.contains("capacity") && info["capacity"].is_object()) {
    const json& capacity = info["capacity"];
    table.AddRow({"room for actors", std::to_string(JsonNumber(capacity, "actors_that_fit"))});
    table.AddRow({"address space",
                  std::to_string(JsonNumber(capacity, "address_space_reserved_bytes") >> 30) +
                      " of " +
                      std::to_string(JsonNumber(capacity, "address_space_limit_bytes") >> 30) +
                      " GiB reserved"});
    table.AddRow({"memory available",
                  std::to_string(JsonNumber(capacity, "memory_available_bytes") >> 20) + " MiB"});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

}  // namespace

void AddActorCommands(CLI::App& app, CommandSet& commands) {
  auto start = std::make_shared<StartArgs>();
  CLI::App* start_cmd =
      app.add_subcommand("start", "Start an actor on the server from a manifest; print its id");
  start_cmd
      ->add_option("manifest", start->manifest,
                   "Manifest: a local file, a path on the server, store://..., http(s)://... "
                   "or TOML text")
      ->required();
  start_cmd->add_option("-i,--initial-state", start->initial_state,
                        "Initial state: JSON text, or @file holding JSON (merged over the "
                        "manifest's init_state)");
  start_cmd->add_flag("-s,--subscribe", start->subscribe,
                      "Stay attached and print the actor's events until it stops");
  start_cmd->add_flag("-p,--parent", start->parent,
                      "Stay attached until the actor stops: write its result to stdout and exit "
                      "0, or exit 1 when it failed or was stopped externally");
  start_cmd->add_flag("--logs", start->logs,
                      "Print the actor's log lines until it is idle, then leave it running "
                      "(exit 0); Ctrl-C leaves at once");
  start_cmd
      ->add_option("--settle-ms", start->settle_ms,
                   "With --logs: leave once the actor has been idle with an empty mailbox this "
                   "long")
      ->capture_default_str();
  start_cmd->add_option("--on", start->on,
                        "In a lattice (theater server --cluster): start it on this host, or on "
                        "the least loaded with --on least-loaded (default: the server's own)");
  commands.Add(start_cmd, [start](CommandContext& ctx) { return Start(ctx, *start); });

  for (const IdCommand& spec : kIdCommands) {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(spec.name, spec.help);
    AddActorArgument(cmd, *id);
    auto when_idle = std::make_shared<bool>(false);
    if (std::string_view(spec.name) == "pause") {
      cmd->add_flag("--when-idle", *when_idle,
                    "If the actor is running an operation, pause it once that is over");
    }
    commands.Add(cmd, [id, when_idle, &spec](CommandContext& ctx) {
      json fields = json::object();
      if (*when_idle) fields["when_idle"] = true;
      return RunIdCommand(ctx, spec, *id, std::move(fields));
    });
  }

  auto update_id = std::make_shared<std::string>();
  auto update_component = std::make_shared<std::string>();
  CLI::App* update_cmd = app.add_subcommand(
      "update",
      "Replace a running actor's component, keeping its state, chain, handlers and children");
  AddActorArgument(update_cmd, *update_id);
  update_cmd->add_option("component", *update_component,
                         "The new component: a local .wasm file, a path on the server or an "
                         "http(s):// URL")
      ->required();
  commands.Add(update_cmd, [update_id, update_component](CommandContext& ctx) {
    return Update(ctx, *update_id, *update_component);
  });

  CLI::App* list_cmd = app.add_subcommand("list", "List the running actors");
  commands.Add(list_cmd, [](CommandContext& ctx) { return List(ctx); });

  CLI::App* stored_cmd = app.add_subcommand(
      "list-stored", "List every actor in the server's database, running or not");
  commands.Add(stored_cmd, [](CommandContext& ctx) { return ListStored(ctx); });

  auto state_id = std::make_shared<std::string>();
  auto state_raw = std::make_shared<bool>(false);
  CLI::App* state_cmd = app.add_subcommand("state", "Print an actor's last committed state");
  AddActorArgument(state_cmd, *state_id);
  state_cmd->add_flag("--raw", *state_raw, "Write the state's bytes as they are");
  commands.Add(state_cmd, [state_id, state_raw](CommandContext& ctx) {
    return State(ctx, *state_id, *state_raw);
  });

  auto metrics_id = std::make_shared<std::string>();
  CLI::App* metrics_cmd = app.add_subcommand("metrics", "Print an actor's metrics");
  AddActorArgument(metrics_cmd, *metrics_id);
  commands.Add(metrics_cmd,
               [metrics_id](CommandContext& ctx) { return Metrics(ctx, *metrics_id); });

  auto inspect_id = std::make_shared<std::string>();
  auto inspect_events = std::make_shared<size_t>(10);
  CLI::App* inspect_cmd = app.add_subcommand(
      "inspect", "Show an actor's status, manifest, state, metrics and recent events");
  AddActorArgument(inspect_cmd, *inspect_id);
  inspect_cmd->add_option("-n,--events", *inspect_events, "How many recent events to show")
      ->capture_default_str();
  commands.Add(inspect_cmd, [inspect_id, inspect_events](CommandContext& ctx) {
    return Inspect(ctx, *inspect_id, *inspect_events);
  });

  CLI::App* info_cmd = app.add_subcommand("info", "Show the server's version and counters");
  commands.Add(info_cmd, [](CommandContext& ctx) { return Info(ctx); });
}

}  // namespace theater::cli
