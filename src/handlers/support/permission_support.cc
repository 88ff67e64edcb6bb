// Theater: a WebAssembly actor runtime.
#include "handlers/support/permission_support.h"

#include <algorithm>
#include <filesystem>

#include "common/ascii.h"
#include "common/utf8.h"
#include "handlers/support/handler_util.h"

namespace theater::handlers {

namespace fs = std::filesystem;

std::optional<uint64_t> MinOpt(const std::optional<uint64_t>& a, const std::optional<uint64_t>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

AllowList Intersect(const AllowList& parent, const AllowList& child) {
  if (!parent) return child;
  if (!child) return parent;
  std::vector<std::string> out;
  for (const std::string& c : *child) {
    if (Contains(*parent, c)) out.push_back(c);
  }
  return out;
}

namespace {

fs::path NormalPath(std::string_view p) {
  fs::path path = fs::path(std::string(p)).lexically_normal();
  // "/tmp/x/" normalises to "/tmp/x/" (an empty last component); drop it.
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path()) {
    path = path.parent_path();
  }
  return path;
}

// Whether `path` equals `dir` or lies beneath it, comparing whole components.
bool PathTextWithin(std::string_view path, std::string_view dir) {
  return PathWithin(NormalPath(path), NormalPath(dir));
}

}  // namespace

// The entries of `child` lying within some entry of `parent`, plus the entries of `parent` lying
// within some entry of `child` (the child asked for more than the parent has), each once.
template <typename Within>
AllowList IntersectWithin(const AllowList& parent, const AllowList& child, Within within) {
  if (!parent) return child;
  if (!child) return parent;
  std::vector<std::string> out;
  auto add = [&out](const std::string& s) {
    if (!Contains(out, s)) out.push_back(s);
  };
  for (const std::string& c : *child) {
    for (const std::string& p : *parent) {
      if (within(c, p)) {
        add(c);
      } else if (within(p, c)) {
        add(p);
      }
    }
  }
  return out;
}

AllowList IntersectPaths(const AllowList& parent, const AllowList& child) {
  return IntersectWithin(parent, child, PathTextWithin);
}

std::vector<std::string> Unite(const std::vector<std::string>& parent,
                               const std::vector<std::string>& child) {
  std::vector<std::string> out = parent;
  for (const std::string& item : child) {
    if (!Contains(out, item)) out.push_back(item);
  }
  return out;
}

AllowList IntersectPrefixes(const AllowList& parent, const AllowList& child) {
  return IntersectWithin(parent, child, [](const std::string& item, const std::string& prefix) {
    return std::string_view(item).starts_with(prefix);
  });
}

AllowList IntersectWithinBy(const AllowList& parent, const AllowList& child,
                            bool (*within)(std::string_view item, std::string_view container)) {
  return IntersectWithin(parent, child,
                         [within](const std::string& item, const std::string& container) {
                           return within(item, container);
                         });
}

Status OperationDenied(std::string_view operation, std::string_view permission_type) {
  return PermissionDenied("Operation denied: " + std::string(operation) + " not permitted by " +
                          std::string(permission_type) + " permissions");
}

Status LimitExceeded(std::string_view resource, uint64_t requested, std::string_view relation,
                     uint64_t limit) {
  return PermissionDenied("Resource limit exceeded: " + std::string(resource) + " = " +
                          std::to_string(requested) + " " + std::string(relation) + " " +
                          std::to_string(limit));
}

Status CheckPath(const AllowList& allowed, std::string_view path) {
  if (!allowed) return Status::Ok();
  for (const std::string& dir : *allowed) {
    if (PathTextWithin(path, dir)) return Status::Ok();
  }
  return PermissionDenied("Path '" + std::string(path) +
                          "' not in allowed paths: " + FormatList(*allowed));
}

Status CheckCommand(const AllowList& allowed, std::string_view command) {
  if (!allowed || Contains(*allowed, command)) return Status::Ok();
  // The command is the guest's words (possibly megabytes): quoted, not echoed.
  return PermissionDenied("Command " + QuoteInput(command) +
                          " not in allowed commands: " + FormatList(*allowed));
}

Status CheckMethod(const AllowList& allowed, std::string_view method) {
  if (!allowed || Contains(*allowed, AsciiUpper(method))) return Status::Ok();
  return PermissionDenied("Method " + QuoteInput(method) +
                          " not in allowed methods: " + FormatList(*allowed));
}

}  // namespace theater::handlers
