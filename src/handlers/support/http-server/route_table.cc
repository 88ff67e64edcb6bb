// Theater: a WebAssembly actor runtime.
#include "handlers/support/http-server/route_table.h"

#include "common/ascii.h"
#include "common/bytes.h"

#include <algorithm>
#include <set>

namespace theater::handlers::http {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// "/a/b" -> ["a", "b"]; "/" -> [""]; the caller has checked the leading '/'.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

Result<RoutePattern> RoutePattern::Parse(std::string_view pattern) {
  auto bad = [&](const std::string& why) {
    std::string shown(pattern.substr(0, 80));
    if (pattern.size() > 80) shown += "...";
    return InvalidArgument("route path '" + shown + "': " + why);
  };
  if (pattern.empty() || pattern[0] != '/') return bad("must start with '/'");
  if (pattern.size() > kMaxPatternBytes) {
    return bad("longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  if (pattern.find('?') != std::string_view::npos || pattern.find('#') != std::string_view::npos) {
    return bad("must not contain '?' or '#' (routes match the path only)");
  }
  for (char c : pattern) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return bad("contains a space or a control character");
    }
  }
  RoutePattern out;
  out.text_ = std::string(pattern);
  std::vector<std::string_view> parts = Split(pattern);
  if (parts.size() > kMaxPatternSegments) {
    return bad("more than " + std::to_string(kMaxPatternSegments) + " segments");
  }
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    bool has_brace = part.find_first_of("{}") != std::string_view::npos;
    if (!has_brace) {
      out.segments_.push_back({Kind::kLiteral, std::string(part)});
      continue;
    }
    if (part.size() < 3 || part.front() != '{' || part.back() != '}' ||
        part.substr(1, part.size() - 2).find_first_of("{}") != std::string_view::npos) {
      return bad("segment '" + std::string(part.substr(0, 80)) +
                 "' must be a literal without braces, {name} or {*name}");
    }
    std::string_view name = part.substr(1, part.size() - 2);
    Kind kind = Kind::kParam;
    if (name.front() == '*') {
      kind = Kind::kRest;
      name.remove_prefix(1);
      if (i + 1 != parts.size())
        return bad("a catch-all {*" + std::string(name) + "} must be last");
    }
    if (name.empty() || name.size() > kMaxParamName ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return bad("parameter name '" + std::string(name.substr(0, 80)) + "' must be 1-" +
                 std::to_string(kMaxParamName) + " of [A-Za-z0-9_-]");
    }
    if (!names.emplace(name).second) {
      return bad("parameter '" + std::string(name) + "' appears twice");
    }
    out.segments_.push_back({kind, std::string(name)});
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> RoutePattern::Match(
    std::string_view path) const {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::pair<std::string, std::string>> captured;
  std::string_view rest = path.substr(1);
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& seg = segments_[i];
    if (seg.kind == Kind::kRest) {
      captured.emplace_back(seg.text, std::string(rest));
      return captured;
    }
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    bool last_in_path = slash == std::string_view::npos;
    bool last_in_pattern = i + 1 == segments_.size();
    if (seg.kind == Kind::kLiteral) {
      if (part != seg.text) return std::nullopt;
    } else {
      if (part.empty()) return std::nullopt;
      captured.emplace_back(seg.text, std::string(part));
    }
    if (last_in_pattern) {
      if (!last_in_path) return std::nullopt;  // the path is longer
      return captured;
    }
    // More pattern segments: the path must go on (a catch-all needs its '/').
    if (last_in_path) return std::nullopt;
    rest.remove_prefix(slash + 1);
  }
  return std::nullopt;  // unreachable: Parse never yields an empty pattern
}

std::string RoutePattern::Shape() const {
  std::string out;
  for (const Segment& s : segments_) {
    out += '/';
    if (s.kind == Kind::kLiteral) out += s.text;
    if (s.kind == Kind::kParam) out += "{}";
    if (s.kind == Kind::kRest) out += "{*}";
  }
  return out;
}

int RoutePattern::CompareSpecificity(const RoutePattern& other) const {
  size_t n = std::min(segments_.size(), other.segments_.size());
  for (size_t i = 0; i < n; ++i) {
    int a = static_cast<int>(segments_[i].kind);
    int b = static_cast<int>(other.segments_[i].kind);
    if (a != b) return a - b;
  }
  // Same kinds so far: the longer pattern is the more specific.
  return static_cast<int>(other.segments_.size()) - static_cast<int>(segments_.size());
}

Result<std::string> NormalizeMethod(std::string_view method) {
  if (method.empty() || method.size() > 32 ||
      !std::all_of(method.begin(), method.end(), IsHttpTokenChar)) {
    return InvalidArgument("method '" + std::string(method.substr(0, 40)) +
                           "' is not an HTTP method (1-32 token characters)");
  }
  std::string out(method);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string PercentDecode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && HexDigitValue(raw[i + 1]) >= 0 &&
        HexDigitValue(raw[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigitValue(raw[i + 1]) * 16 + HexDigitValue(raw[i + 2])));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

Status RouteTable::Add(Route route) {
  std::string shape = route.pattern.Shape();
  for (const Route& r : routes_) {
    if (r.method == route.method && r.pattern.Shape() == shape) {
      return AlreadyExists("a " + r.method + " route for '" + r.pattern.text() +
                           "' already exists (route " + std::to_string(r.id) + ")");
    }
  }
  auto at = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
    return route.pattern.CompareSpecificity(r.pattern) < 0;
  });
  routes_.insert(at, std::move(route));
  return Status::Ok();
}

bool RouteTable::Remove(uint64_t route_id) {
  auto it = std::find_if(routes_.begin(), routes_.end(),
                         [&](const Route& r) { return r.id == route_id; });
  if (it == routes_.end()) return false;
  routes_.erase(it);
  return true;
}

bool RouteTable::Contains(uint64_t route_id) const {
  return std::any_of(routes_.begin(), routes_.end(),
                     [&](const Route& r) { return r.id == route_id; });
}

bool RouteTable::HasLiteralPath(std::string_view path) const {
  return std::any_of(routes_.begin(), routes_.end(),
                     [&](const Route& r) { return r.pattern.text() == path; });
}

RouteMatch RouteTable::Find(std::string_view method, std::string_view path) const {
  RouteMatch out;
  std::set<std::string> allowed;
  for (const Route& r : routes_) {
    auto captured = r.pattern.Match(path);
    if (!captured) continue;
    if (r.method != method) {
      allowed.insert(r.method);
      continue;
    }
    out.outcome = RouteMatch::Outcome::kFound;
    out.route = &r;
    for (auto& [name, raw] : *captured) out.params.emplace_back(name, PercentDecode(raw));
    return out;
  }
  if (!allowed.empty()) {
    out.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    out.allowed.assign(allowed.begin(), allowed.end());
  }
  return out;
}

}  // namespace theater::handlers::http
