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
}

}  // namespace theater::cli
