// Theater: a WebAssembly actor runtime.
//
// Keys made of ids joined by '\n' (a sender and a target; an origin host, a sender and a
// target), for the per-pair tables of the lattice's messenger, looked up by their parts without
// joining them: a message's lookup builds no string (a miss joins them once, to store the key).
// Ids never hold a '\n' (actor ids are UUIDs, host names and client ids are checked names).
//
//   std::unordered_map<std::string, T, JoinedKeyHash, JoinedKeyEqual> table;
//   table.find(KeyParts{sender, target});
//
// Thread-safety: stateless. Ownership: KeyParts views strings it does not own.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace theater::cluster {

struct KeyParts {
  KeyParts(std::string_view a, std::string_view b) : parts{a, b, {}}, count(2) {}
  KeyParts(std::string_view a, std::string_view b, std::string_view c) : parts{a, b, c}, count(3) {}
  std::array<std::string_view, 3> parts;
  size_t count;

  std::string Join() const {
    std::string joined;
    size_t size = count - 1;
    for (size_t i = 0; i < count; ++i) size += parts[i].size();
    joined.reserve(size);
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) joined.push_back('\n');
      joined.append(parts[i]);
    }
    return joined;
  }
};

// Hashes a joined key and its parts alike: each part by std::hash, combined in order.
struct JoinedKeyHash {
  using is_transparent = void;
  static size_t Combine(size_t seed, std::string_view part) noexcept {
    return seed ^ (std::hash<std::string_view>{}(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) +
                   (seed >> 2));
  }
  size_t operator()(const KeyParts& key) const noexcept {
    size_t seed = key.count;
    for (size_t i = 0; i < key.count; ++i) seed = Combine(seed, key.parts[i]);
    return seed;
  }
  size_t operator()(std::string_view joined) const noexcept {
    size_t seed = 1;
    for (char c : joined) seed += c == '\n';
    for (size_t at = 0;;) {
      const size_t end = joined.find('\n', at);
      seed = Combine(seed, joined.substr(at, end == std::string_view::npos ? end : end - at));
      if (end == std::string_view::npos) return seed;
      at = end + 1;
    }
  }
};

struct JoinedKeyEqual {
  using is_transparent = void;
  static bool Same(const KeyParts& key, std::string_view joined) {
    for (size_t i = 0; i < key.count; ++i) {
      if (i > 0) {
        if (joined.empty() || joined.front() != '\n') return false;
        joined.remove_prefix(1);
      }
      if (!joined.starts_with(key.parts[i])) return false;
      joined.remove_prefix(key.parts[i].size());
    }
    return joined.empty();
  }
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  bool operator()(const KeyParts& a, std::string_view b) const { return Same(a, b); }
  bool operator()(std::string_view a, const KeyParts& b) const { return Same(b, a); }
};

}  // namespace theater::cluster
