// Theater: a WebAssembly actor runtime.
//
// StringHash: the hash for unordered containers keyed by std::string that are looked up by
// std::string_view (with std::equal_to<>), so that a lookup builds no string.
//
// Thread-safety: stateless. Ownership: none.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace theater {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace theater
