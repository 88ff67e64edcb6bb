// Theater: a WebAssembly actor runtime.
//
// `theater hosts`: the hosts of the lattice the server is in (docs/distribution.md), with their
// actors, load and the age of their last heartbeat as that server heard it.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/context.h"
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
  const json hosts = reply->fields.value("hosts", json::array());
  const json* chosen = nullptr;
  for (const json& host : hosts) {
    if (!host.is_object()) continue;
    if (on == "least-loaded") {
      // Fewest actors; of equals, the lower load. A host that has not said where its
      // management server listens cannot be asked to start anything.
      if (JsonString(host, "management_address").empty() && !host.value("self", false)) continue;
      auto key = [](const json& h) {
        return std::make_pair(h.value("actors", uint64_t{0}), h.value("load", 0.0));
      };
      if (chosen == nullptr || key(host) < key(*chosen)) chosen = &host;
    } else if (JsonString(host, "host_id") == on) {
      chosen = &host;
    }
  }
  if (chosen == nullptr) {
    return NotFound("--on " + on + ": no host of that name in lattice " +
                    JsonString(reply->fields, "lattice") + " (`theater hosts` lists them)");
  }
  PlacedHost placed;
  placed.host_id = JsonString(*chosen, "host_id");
  placed.self = chosen->value("self", false);
  placed.management_address = JsonString(*chosen, "management_address");
  if (!placed.self && placed.management_address.empty()) {
    return Unavailable("--on " + on + ": host " + placed.host_id +
                       " has not announced its management address yet");
  }
  return placed;
}

void AddLatticeCommands(CLI::App& app, CommandSet& commands) {
  CLI::App* hosts_cmd = app.add_subcommand(
      "hosts",
      "List the hosts of the lattice the server is in (theater server --cluster), with their "
      "actors, load and the age of their last heartbeat");
  commands.Add(hosts_cmd, [](CommandContext& ctx) { return Hosts(ctx); });
}

}  // namespace theater::cli
