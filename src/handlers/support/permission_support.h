// Theater: a WebAssembly actor runtime.
//
// What the built-in handlers' permissions share (src/handlers/<name>/*_permissions.cc): the
// intersections that narrow allow-lists for a child, and the denials every check words the same
// way. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

bool Contains(const std::vector<std::string>& list, std::string_view item);

// --- Narrowing: nullopt is "everything", so it is the identity of each intersection. ---
std::optional<uint64_t> MinOpt(const std::optional<uint64_t>& a, const std::optional<uint64_t>& b);
// Exact-match lists.
AllowList Intersect(const AllowList& parent, const AllowList& child);
// Path lists: child paths within some parent path, plus parent paths within some child path (the
// child asked for a wider tree than the parent has). Compared by whole, lexically normal
// components.
AllowList IntersectPaths(const AllowList& parent, const AllowList& child);
// String-prefix lists, the same way.
AllowList IntersectPrefixes(const AllowList& parent, const AllowList& child);
// Lists of any other kind of entry, the same way: `within(item, container)` says whether the
// entry `item` allows nothing that `container` does not.
AllowList IntersectWithinBy(const AllowList& parent, const AllowList& child,
                            bool (*within)(std::string_view item, std::string_view container));
// Deny lists narrow by union: what either denies stays denied (the parent's entries first, then
// the child's new ones, each once).
std::vector<std::string> Unite(const std::vector<std::string>& parent,
                               const std::vector<std::string>& child);

// --- Denials. ---
// "Operation denied: <operation> not permitted by <permission_type> permissions".
Status OperationDenied(std::string_view operation, std::string_view permission_type);
// "Resource limit exceeded: <resource> = <requested> <relation> <limit>".
Status LimitExceeded(std::string_view resource, uint64_t requested, std::string_view relation,
                     uint64_t limit);
// `path` (lexically normalised) within one of `allowed`; `command` / `method` (compared upper-
// cased) in the list. OK when the list is unrestricted.
Status CheckPath(const AllowList& allowed, std::string_view path);
Status CheckCommand(const AllowList& allowed, std::string_view command);
Status CheckMethod(const AllowList& allowed, std::string_view method);

}  // namespace theater::handlers
