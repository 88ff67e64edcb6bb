// Theater: a WebAssembly actor runtime.
//
// Route patterns and the route table of one http-framework server (docs/handlers.md,
// "http-framework").
//
// A pattern is a path starting with '/', split at '/' into segments; each segment is a literal
// (no '{' or '}'), a parameter `{name}` that matches one non-empty segment, or — last only — a
// catch-all `{*name}` that matches the rest of the path (possibly empty, slashes included).
// Names are 1-64 of [A-Za-z0-9_-] and unique within a pattern. Partial segments ("file.{ext}")
// are refused. A request path is matched segment by segment on its raw (percent-encoded) form —
// so "%2F" never splits a segment — and no "." / ".." / "//" normalisation is done; captured
// values are percent-decoded afterwards.
//
// When several patterns match, the most specific wins, comparing segment by segment from the
// left: a literal beats a parameter, which beats a catch-all. Two patterns with the same shape
// (equal up to parameter names) and the same method cannot both be added.
//
// Thread-safety: RoutePattern and RouteTable are values; a const RouteTable may be read from
// any number of threads. The http-framework handler publishes a new table (copy on write) when
// the actor changes its routes, so a running server sees changes from its next request on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::handlers::http {

// Limits on what an actor may register (so that matching stays cheap).
inline constexpr size_t kMaxPatternBytes = 2048;
inline constexpr size_t kMaxPatternSegments = 64;
inline constexpr size_t kMaxParamName = 64;

class RoutePattern {
 public:
  enum class Kind { kLiteral, kParam, kRest };
  struct Segment {
    Kind kind;
    std::string text;  // the literal, or the parameter's name
  };

  // Parses `pattern`; errors (kInvalidArgument) say what is wrong and where.
  [[nodiscard]] static Result<RoutePattern> Parse(std::string_view pattern);

  // Matches the raw path (no query) against this pattern; on success returns the captured
  // values, still percent-encoded, in pattern order as (name, raw value).
  std::optional<std::vector<std::pair<std::string, std::string>>> Match(
      std::string_view path) const;

  const std::string& text() const { return text_; }
  const std::vector<Segment>& segments() const { return segments_; }
  // The pattern with parameter names erased ("/a/{}/{*}"): equal shapes conflict.
  std::string Shape() const;
  // Negative when this pattern is more specific than `other` (see the header comment).
  int CompareSpecificity(const RoutePattern& other) const;

 private:
  std::string text_;
  std::vector<Segment> segments_;
};

// Checks an HTTP method name: 1-32 characters of the RFC 9110 token set. Returns it upper-cased
// (methods are case-sensitive on the wire, but "get" from an actor surely means GET).
[[nodiscard]] Result<std::string> NormalizeMethod(std::string_view method);

// Percent-decodes `raw` ("%41" -> "A"; a '%' not followed by two hex digits stays as it is).
// Does not turn '+' into a space: that is a query-string convention, not a path one.
std::string PercentDecode(std::string_view raw);

// One route of a server.
struct Route {
  uint64_t id = 0;
  RoutePattern pattern;
  std::string method;  // upper case
  uint64_t handler_id = 0;
};

// What a lookup found.
struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Route* route = nullptr;  // kFound: valid as long as the table
  // kFound: the captured values, percent-decoded, in pattern order.
  std::vector<std::pair<std::string, std::string>> params;
  // kMethodNotAllowed: the methods of the routes whose pattern matches, sorted, unique.
  std::vector<std::string> allowed;
};

class RouteTable {
 public:
  // Adds a route; kAlreadyExists when a route of the same shape and method exists.
  [[nodiscard]] Status Add(Route route);
  // Removes a route; false when there is none with that id.
  bool Remove(uint64_t route_id);
  bool Contains(uint64_t route_id) const;
  // Whether any route's pattern is exactly the literal `path` (for WebSocket path conflicts).
  bool HasLiteralPath(std::string_view path) const;
  size_t size() const { return routes_.size(); }

  // Finds the most specific route for `path` (raw, no query) and `method`.
  RouteMatch Find(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;  // kept most specific first
};

}  // namespace theater::handlers::http
