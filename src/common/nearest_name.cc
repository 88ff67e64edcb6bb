// Theater: a WebAssembly actor runtime.
#include "common/nearest_name.h"

#include <algorithm>

namespace theater {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic-programming table at a time (O(|b|) memory); the row two back
  // counts a swap of neighbouring letters ("lsit") as one edit.
  std::vector<size_t> two_back(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min(
          {previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

std::optional<std::string> NearestName(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  // Longer than any command: no suggestion is worth the work (and the input is a user's).
  constexpr size_t kMaxWord = 64;
  if (word.empty() || word.size() > kMaxWord) return std::nullopt;
  const size_t allowed = std::max<size_t>(1, word.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = allowed + 1;
  std::vector<std::string> prefixed;
  for (const std::string& candidate : candidates) {
    if (candidate.starts_with(word)) prefixed.push_back(candidate);
    const size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best) return best;
  if (prefixed.size() == 1) return prefixed.front();
  return std::nullopt;
}

}  // namespace theater
