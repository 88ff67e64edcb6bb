// Theater: a WebAssembly actor runtime.
//
// `theater tree`: the supervision tree of the server's running actors, parents above their
// children. Built from ListActors, whose details name each actor's parent (docs/protocol.md), so
// it needs nothing new from the server. An actor whose parent is not running (or not listed) is
// shown as a root. The tree is walked with an explicit stack, never by recursion, so a deep
// supervision chain cannot exhaust the stack.
#include <iostream>
#include <map>
#include <set>

#include "cli/context.h"

namespace theater::cli {
namespace {

struct Node {
  json info;                          // the ActorInfo
  std::vector<std::string> children;  // ids, in the server's order
};

int Tree(CommandContext& ctx) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(Variant reply,
                                CallExpect(*client, MakeVariant("ListActors"), "ActorList"), out);
  const json details = reply.fields.value("details", json::array());
  std::map<std::string, Node> nodes;
  std::vector<std::string> order;  // ids in the server's order
  for (const json& actor : details) {
    const std::string id = JsonString(actor, "id");
    if (id.empty() || nodes.count(id)) continue;
    nodes[id].info = actor;
    order.push_back(id);
  }
  std::vector<std::string> roots;
  for (const std::string& id : order) {
    const std::string parent = JsonString(nodes[id].info, "parent_id");
    if (!parent.empty() && parent != id && nodes.count(parent)) {
      nodes[parent].children.push_back(id);
    } else {
      roots.push_back(id);
    }
  }
  // Depth-first, children in order: (id, depth) in the order they are shown. Actors no root
  // reaches (only a parent loop could cause that) are shown as roots too, so none is lost.
  std::vector<std::pair<std::string, size_t>> shown;
  std::set<std::string> seen;
  auto walk = [&](const std::string& root) {
    std::vector<std::pair<std::string, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [id, depth] = stack.back();
      stack.pop_back();
      if (!seen.insert(id).second) continue;
      shown.emplace_back(id, depth);
      const std::vector<std::string>& children = nodes[id].children;
      for (auto it = children.rbegin(); it != children.rend(); ++it)
        stack.emplace_back(*it, depth + 1);
    }
  };
  for (const std::string& id : roots) walk(id);
  for (const std::string& id : order) {
    if (!seen.count(id)) walk(id);
  }

  if (out.json()) {
    // Built bottom-up: a node's object is finished once all of its children are, which in the
    // pre-order above is when the walk comes back up past it.
    json forest = json::array();
    std::vector<std::pair<size_t, json>> open;  // (depth, node) along the current path
    auto close_to = [&](size_t depth) {
      while (!open.empty() && open.back().first >= depth) {
        json done = std::move(open.back().second);
        open.pop_back();
        (open.empty() ? forest : open.back().second["children"]).push_back(std::move(done));
      }
    };
    for (const auto& [id, depth] : shown) {
      // A node shown at depth 0 after a walk began elsewhere starts a new root.
      close_to(depth);
      const json& info = nodes[id].info;
      open.emplace_back(depth, json{{"id", id},
                                    {"name", JsonString(info, "name")},
                                    {"phase", JsonString(info, "phase")},
                                    {"manifest", JsonString(info, "manifest")},
                                    {"children", json::array()}});
    }
    close_to(0);
    out.PrintJson(forest);
    return kExitOk;
  }
  if (shown.empty()) {
    std::cout << "no actors running\n";
    return kExitOk;
  }
  for (const auto& [id, depth] : shown) {
    const json& info = nodes[id].info;
    const std::string phase = JsonString(info, "phase");
    std::cout << std::string(depth * 2, ' ') << out.Paint(JsonString(info, "name"), Style::kBold)
              << " " << id << " "
              << out.Paint(phase, phase == "Idle" || phase == "Processing" ? Style::kGreen
                                                                           : Style::kYellow)
              << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddTreeCommand(CLI::App& app, CommandSet& commands) {
  CLI::App* tree = app.add_subcommand(
      "tree", "Show the supervision tree of the running actors (parents above their children)");
  commands.Add(tree, [](CommandContext& ctx) { return Tree(ctx); });
}

}  // namespace theater::cli
