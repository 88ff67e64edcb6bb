// Theater: a WebAssembly actor runtime.
//
// Nesting guards: linear, non-recursive scans of JSON and TOML text that refuse input nested
// deeper than a limit, run before a parser whose parsing, copying or conversion recurses once
// per level (nlohmann::json copies, toml++ dotted keys, the manifest's TOML → JSON conversion).
// A parser that would overflow a thread's stack on 100,000 levels never sees them.
//
// The scans recognise strings (and their escapes) and comments so that brackets and dots
// inside them do not count; they do not validate anything else: the real parser does that.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "theater/status.h"

namespace theater {

// kInvalidArgument "<what> nests deeper than <max_depth> levels (at byte N)" when the arrays and
// objects of the JSON text `text` nest deeper than `max_depth`.
[[nodiscard]] Status CheckJsonNesting(std::string_view text, size_t max_depth,
                                      std::string_view what);

// The same for TOML text: arrays and inline tables nest at most `max_depth` deep, and no key or
// table header (`a.b.c = 1`, `[a.b.c]`, `[[a.b.c]]`) has more than `max_depth` components.
[[nodiscard]] Status CheckTomlNesting(std::string_view text, size_t max_depth,
                                      std::string_view what);

}  // namespace theater
