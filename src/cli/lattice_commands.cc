// Theater: a WebAssembly actor runtime.
//
// `theater hosts`: the hosts of the lattice the server is in (docs/distribution.md), with their
// actors, load and the age of their last heartbeat as that server heard it.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/context.h"
#include "cluster/placement.h"
#include "cli/output.h"

namespace theater::cli {
namespace {

using json = nlohmann::json;
using server::MakeVariant;
using server::Variant;

std::string Age(int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + " ms";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(ms) / 1000);
  return text;
}

int Hosts(CommandContext& ctx) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  Result<Variant> reply = CallExpect(*client, MakeVariant("ListHosts"), "HostList");
  if (!reply.ok()) return out.Error(reply.status());
  const json hosts = reply->fields.value("hosts", json::array());
  if (out.json()) {
    out.PrintJson(reply->fields);
    return kExitOk;
  }
  std::cout << "lattice " << JsonString(reply->fields, "lattice") << "\n";
  Table table({"HOST", "ACTORS", "LOAD", "HEARTBEAT", "MANAGEMENT"});
  for (const json& host : hosts) {
    char load[32];
    std::snprintf(load, sizeof(load), "%.2f", host.value("load", 0.0));
    const bool self = host.value("self", false);
    table.AddRow({JsonString(host, "host_id") + (self ? " (this host)" : ""),
                  std::to_string(host.value("actors", uint64_t{0})), load,
                  self ? "-" : Age(host.value("heartbeat_age_ms", int64_t{0})) + " ago",
                  JsonString(host, "management_address")});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

int Move(CommandContext& ctx, const std::string& given, const std::string& to) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, given), out);
  if (!out.json()) std::cerr << "moving actor " << id << " to host " << to << "...\n";
  Result<Variant> reply =
      CallExpect(*client, MakeVariant("MoveActor", json{{"id", id}, {"to", to}}), "ActorMoved");
  if (!reply.ok()) return out.Error(reply.status());
  if (out.json()) {
    out.PrintJson({{"id", id}, {"host", to}, {"result", "moved"}});
  } else {
    std::cout << "moved " << id << " to host " << to << "\n";
  }
  return kExitOk;
}

}  // namespace

Result<PlacedHost> ChooseHost(server::ManagementClient& client, const std::string& on) {
  Result<Variant> reply = CallExpect(client, MakeVariant("ListHosts"), "HostList");
  if (!reply.ok()) return reply.status().WithContext("--on " + on);
  // The server's own rule (cluster/placement.h), on the hosts it lists.
  std::vector<LatticeHost> hosts;
  for (const json& host : reply->fields.value("hosts", json::array())) {
    if (!host.is_object()) continue;
    LatticeHost listed;
    listed.host_id = JsonString(host, "host_id");
    listed.management_address = JsonString(host, "management_address");
    listed.actors = host.value("actors", uint64_t{0});
    listed.load = host.value("load", 0.0);
    listed.self = host.value("self", false);
    hosts.push_back(std::move(listed));
  }
  Result<LatticeHost> chosen =
      cluster::ChoosePlacement(hosts, on, JsonString(reply->fields, "lattice"));
  if (!chosen.ok()) return chosen.status().WithContext("--on " + on);
  return PlacedHost{chosen->host_id, chosen->management_address, chosen->self};
}

void AddLatticeCommands(CLI::App& app, CommandSet& commands) {
  CLI::App* hosts_cmd = app.add_subcommand(
      "hosts",
      "List the hosts of the lattice the server is in (theater server --cluster), with their "
      "actors, load and the age of their last heartbeat");
  commands.Add(hosts_cmd, [](CommandContext& ctx) { return Hosts(ctx); });

  auto move_args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* move_cmd = app.add_subcommand(
      "move",
      "Move an actor to another host of the lattice: what is sent to it meanwhile waits, it "
      "finishes what it was sent and resumes there with its state, its chain going on");
  move_cmd->add_option("actor", move_args->first, "The actor's id (or a unique prefix)")
      ->required();
  move_cmd->add_option("--to", move_args->second, "The host to move it to (theater hosts lists them)")
      ->required();
  commands.Add(move_cmd, [move_args](CommandContext& ctx) {
    return Move(ctx, move_args->first, move_args->second);
  });
}

}  // namespace theater::cli
