// Theater: a WebAssembly actor runtime.
//
// A built-in handler's permission described as a table of its config fields. Each field names
// its `[permission_policy]` config key, the struct member it fills and how it narrows for a child
// (docs/permissions.md, "Narrowing"). A permission struct lists its fields in a static `Fields()`
// beside the members:
//
//   struct TimingPermissions {
//     uint64_t max_sleep_duration = kUnlimited;
//     uint64_t min_sleep_duration = 0;
//     static constexpr auto Fields() {
//       return std::tuple{Limit("max_sleep_duration", &TimingPermissions::max_sleep_duration),
//                         Floor("min_sleep_duration", &TimingPermissions::min_sleep_duration)};
//     }
//   };
//
// and `ReadPermissionConfig` and `NarrowPermission` below, found by argument-dependent lookup,
// give PermissionRulesFor<T> (include/theater/permissions.h) what it needs. Reading and narrowing
// are thereby written once, and a field cannot be read without also being narrowed.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "handlers/support/permission_support.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

// A yes/no field; a child keeps a yes only when both say yes.
template <typename T>
struct FlagField {
  const char* key;
  bool T::*member;
};
template <typename T>
constexpr FlagField<T> Flag(const char* key, bool T::*member) {
  return {key, member};
}

// A number; a child gets the smaller (a limit) or, for a floor, the larger.
template <typename T>
struct NumberField {
  const char* key;
  uint64_t T::*member;
  bool floor;
};
template <typename T>
constexpr NumberField<T> Limit(const char* key, uint64_t T::*member) {
  return {key, member, false};
}
template <typename T>
constexpr NumberField<T> Floor(const char* key, uint64_t T::*member) {
  return {key, member, true};
}

// An optional limit (absent: none); a child gets the smaller of those set.
template <typename T>
struct OptionalLimitField {
  const char* key;
  std::optional<uint64_t> T::*member;
};
template <typename T>
constexpr OptionalLimitField<T> OptionalLimit(const char* key, std::optional<uint64_t> T::*member) {
  return {key, member};
}

// An allow-list (absent: everything), its entries passed through `normalise` when read; a child
// gets `intersect` of the two (exact entries, paths or prefixes: permission_support.h).
template <typename T>
struct AllowField {
  const char* key;
  AllowList T::*member;
  AllowList (*intersect)(const AllowList&, const AllowList&);
  std::string (*normalise)(std::string_view);
};
template <typename T>
constexpr AllowField<T> Allow(const char* key, AllowList T::*member,
                              AllowList (*intersect)(const AllowList&, const AllowList&) = Intersect,
                              std::string (*normalise)(std::string_view) = nullptr) {
  return {key, member, intersect, normalise};
}

// A deny-list; a child is denied what either denies.
template <typename T>
struct DenyField {
  const char* key;
  std::vector<std::string> T::*member;
};
template <typename T>
constexpr DenyField<T> Deny(const char* key, std::vector<std::string> T::*member) {
  return {key, member};
}

// --- One field read from a config, and narrowed. ---
template <typename T>
Status ReadField(PermissionConfigReader& r, const FlagField<T>& f, T* p) {
  return r.Bool(f.key, &(p->*f.member));
}
template <typename T>
Status ReadField(PermissionConfigReader& r, const NumberField<T>& f, T* p) {
  return r.U64(f.key, &(p->*f.member));
}
template <typename T>
Status ReadField(PermissionConfigReader& r, const OptionalLimitField<T>& f, T* p) {
  return r.OptU64(f.key, &(p->*f.member));
}
template <typename T>
Status ReadField(PermissionConfigReader& r, const AllowField<T>& f, T* p) {
  return r.List(f.key, &(p->*f.member), f.normalise);
}
template <typename T>
Status ReadField(PermissionConfigReader& r, const DenyField<T>& f, T* p) {
  return r.Strings(f.key, &(p->*f.member));
}

template <typename T>
void NarrowField(const FlagField<T>& f, const T& parent, const T& restriction, T* out) {
  out->*f.member = parent.*f.member && restriction.*f.member;
}
template <typename T>
void NarrowField(const NumberField<T>& f, const T& parent, const T& restriction, T* out) {
  const uint64_t a = parent.*f.member;
  const uint64_t b = restriction.*f.member;
  out->*f.member = f.floor ? std::max(a, b) : std::min(a, b);
}
template <typename T>
void NarrowField(const OptionalLimitField<T>& f, const T& parent, const T& restriction, T* out) {
  out->*f.member = MinOpt(parent.*f.member, restriction.*f.member);
}
template <typename T>
void NarrowField(const AllowField<T>& f, const T& parent, const T& restriction, T* out) {
  out->*f.member = f.intersect(parent.*f.member, restriction.*f.member);
}
template <typename T>
void NarrowField(const DenyField<T>& f, const T& parent, const T& restriction, T* out) {
  out->*f.member = Unite(parent.*f.member, restriction.*f.member);
}

// A permission struct that lists its fields.
template <typename T>
concept DescribedPermission = requires { T::Fields(); };

// Reads every field of T that the config sets, in the table's order; the first error wins.
template <DescribedPermission T>
Status ReadPermissionConfig(PermissionConfigReader& r, T* p) {
  Status status;
  std::apply(
      [&](const auto&... field) {
        ((status = status.ok() ? ReadField(r, field, p) : status), ...);
      },
      T::Fields());
  return status;
}

// The intersection of a parent's permission and a restriction (docs/permissions.md): field by
// field, never more than `parent` allows.
template <DescribedPermission T>
T NarrowPermission(const T& parent, const T& restriction) {
  T out;
  std::apply([&](const auto&... field) { (NarrowField(field, parent, restriction, &out), ...); },
             T::Fields());
  return out;
}

}  // namespace theater::handlers
