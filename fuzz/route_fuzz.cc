// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the http-framework's route patterns and matching
// (src/handlers/support/http-server/route_table.*): what an actor registers (add-route, patterns of
// any bytes) and what any HTTP client requests (the raw path).
//
// Input: lines. "+METHOD PATTERN" adds a route, "-N" removes route id N, "METHOD PATH" looks a
// request up. At most 64 lines are read, so one input is cheap.
//
// Invariants:
//   - a pattern that parses has its own text, parses again to the same shape, and is as specific
//     as itself; specificity is antisymmetric;
//   - Match agrees with an independent reference matcher written from the header comment;
//   - Add refuses (kAlreadyExists) exactly when a route of the same shape and method exists;
//   - Find returns a route whose pattern matches and whose method is the request's, with no
//     matching route of that method more specific; kMethodNotAllowed lists exactly the methods
//     of the matching routes (and none of them is the request's); kNotFound means none matches;
//   - captured parameters are the pattern's, percent-decoded.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.h"
#include "handlers/support/http-server/route_table.h"

namespace {

using namespace theater::handlers::http;

#define CHECK(cond)                \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

int Sign(int v) {
  return (v > 0) - (v < 0);
}

std::vector<std::string_view> SplitSegments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// The header's rule, written independently: literals equal, {p} one non-empty segment, {*r} the
// rest (possibly empty) after the preceding segments and their '/'.
std::optional<std::vector<std::pair<std::string, std::string>>> Reference(
    const RoutePattern& pattern, std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  const auto& segs = pattern.segments();
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = path.substr(1);
  std::vector<std::string_view> parts = SplitSegments(rest);
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].kind == RoutePattern::Kind::kRest) {
      // Everything after the first i segments and their slashes.
      size_t offset = 0;
      for (size_t k = 0; k < i; ++k) offset += parts[k].size() + 1;
      if (i > 0 && i >= parts.size()) return std::nullopt;
      out.emplace_back(segs[i].text, std::string(rest.substr(std::min(offset, rest.size()))));
      return out;
    }
    if (i >= parts.size()) return std::nullopt;
    if (segs[i].kind == RoutePattern::Kind::kLiteral) {
      if (parts[i] != segs[i].text) return std::nullopt;
    } else {
      if (parts[i].empty()) return std::nullopt;
      out.emplace_back(segs[i].text, std::string(parts[i]));
    }
  }
  if (parts.size() != segs.size()) return std::nullopt;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RouteTable table;
  std::vector<Route> added;  // what the table should hold
  uint64_t next_id = 1;
  int lines = 0;
  while (!input.empty() && lines++ < 64) {
    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
    if (line.empty()) continue;

    if (line[0] == '-') {
      uint64_t id = 0;
      for (char c : line.substr(1)) {
        if (c < '0' || c > '9' || id > 1000) break;
        id = id * 10 + static_cast<uint64_t>(c - '0');
      }
      bool present = false;
      for (size_t i = 0; i < added.size(); ++i) {
        if (added[i].id == id) {
          added.erase(added.begin() + static_cast<ptrdiff_t>(i));
          present = true;
          break;
        }
      }
      CHECK(table.Remove(id) == present);
      CHECK(!table.Contains(id));
      CHECK(table.size() == added.size());
      continue;
    }

    bool add = line[0] == '+';
    if (add) line.remove_prefix(1);
    size_t space = line.find(' ');
    std::string_view method_text = line.substr(0, space);
    std::string_view target = space == std::string_view::npos ? "" : line.substr(space + 1);
    (void)theater::IsValidUtf8(target);
    std::string decoded = PercentDecode(target);
    CHECK(decoded.size() <= target.size());

    if (add) {
      theater::Result<std::string> method = NormalizeMethod(method_text);
      theater::Result<RoutePattern> pattern = RoutePattern::Parse(target);
      if (!method.ok() || !pattern.ok()) continue;
      CHECK(pattern->text() == target);
      theater::Result<RoutePattern> again = RoutePattern::Parse(pattern->text());
      CHECK(again.ok() && again->Shape() == pattern->Shape());
      CHECK(pattern->CompareSpecificity(*pattern) == 0);
      bool conflict = false;
      for (const Route& r : added) {
        CHECK(Sign(r.pattern.CompareSpecificity(*pattern)) ==
              -Sign(pattern->CompareSpecificity(r.pattern)));
        if (r.method == *method && r.pattern.Shape() == pattern->Shape()) conflict = true;
      }
      if (added.size() >= 64) continue;
      Route route{next_id++, *pattern, *method, next_id * 7};
      theater::Status status = table.Add(route);
      CHECK(status.ok() != conflict);
      if (!status.ok()) {
        CHECK(status.code() == theater::StatusCode::kAlreadyExists);
      } else {
        added.push_back(route);
        CHECK(table.Contains(route.id));
      }
      CHECK(table.size() == added.size());
      continue;
    }

    // A lookup: the path part of the target, as the server passes it.
    std::string_view path = target.substr(0, target.find('?'));
    std::string method(method_text);
    RouteMatch match = table.Find(method, path);
    std::set<std::string> matching_methods;
    for (const Route& r : added) {
      auto got = r.pattern.Match(path);
      CHECK(got == Reference(r.pattern, path));
      if (got) matching_methods.insert(r.method);
    }
    switch (match.outcome) {
      case RouteMatch::Outcome::kFound: {
        CHECK(match.route != nullptr && match.route->method == method);
        auto raw = match.route->pattern.Match(path);
        CHECK(raw.has_value() && raw->size() == match.params.size());
        for (size_t i = 0; i < raw->size(); ++i) {
          CHECK(match.params[i].first == (*raw)[i].first);
          CHECK(match.params[i].second == PercentDecode((*raw)[i].second));
        }
        for (const Route& r : added) {
          if (r.method == method && r.pattern.Match(path)) {
            CHECK(r.pattern.CompareSpecificity(match.route->pattern) >= 0);
          }
        }
        break;
      }
      case RouteMatch::Outcome::kMethodNotAllowed:
        CHECK(!matching_methods.empty() && !matching_methods.contains(method));
        CHECK(std::set<std::string>(match.allowed.begin(), match.allowed.end()) ==
              matching_methods);
        CHECK(match.allowed.size() == matching_methods.size());
        break;
      case RouteMatch::Outcome::kNotFound:
        CHECK(matching_methods.empty());
        break;
    }
  }
  return 0;
}
