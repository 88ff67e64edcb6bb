// Theater: a WebAssembly actor runtime.
//
// "Did you mean": the known name nearest to a word a user typed (a command, an option, a
// manifest key, a handler type), when it is near enough to be what was meant.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace theater {

// The edit distance between two words (insertions, deletions, substitutions, and a swap of
// neighbouring letters; each costs one). O(|a|·|b|) time, O(|b|) memory.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, when it is near enough to be what was meant: at most a third
// of the word's letters (at least one) wrong, or `word` a prefix of exactly one candidate.
// Words longer than 64 bytes get no suggestion.
std::optional<std::string> NearestName(std::string_view word,
                                       const std::vector<std::string>& candidates);

}  // namespace theater
