// Theater: a WebAssembly actor runtime.
//
// Selecting and ordering chain events for `theater events` and `theater subscribe`: time specs
// ("1700000000", "10m", "2h", "1d"), filters (type substring, time range, text search) and sort
// orders. Pure functions over values, so they are tested without a server.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"
#include "theater/status.h"

namespace theater::cli {

// A point in time given on the command line, as milliseconds since the Unix epoch: either
// absolute Unix seconds ("1700000000") or a duration before `now_ms` ("30s", "10m", "2h", "1d",
// "1w"). Errors: anything else (kInvalidArgument naming the text).
Result<uint64_t> ParseTimeSpec(std::string_view text, uint64_t now_ms);

// An event with its position in the chain (the position survives filtering and sorting).
struct IndexedEvent {
  size_t index = 0;
  chain::Event event;
};

enum class EventSort { kChain, kTime, kType, kSize };
Result<EventSort> ParseEventSort(std::string_view text);

struct EventQuery {
  // Substring of the event type; for a lifecycle step also of its kind, for an export call
  // (type "wasm") also of the export's name ("handle-request", "actor#init", and with '/' for
  // '#' as host calls spell theirs).
  std::optional<std::string> type_contains;
  std::optional<uint64_t> from_ms;           // inclusive
  std::optional<uint64_t> to_ms;             // inclusive
  // Case-insensitive substring of the description or of the payload (its readable JSON form and,
  // when the payload is UTF-8 text, the text itself).
  std::optional<std::string> search;
  EventSort sort = EventSort::kChain;
  bool reverse = false;
  size_t limit = 0;  // 0: no limit; else the first `limit` after sorting
};

// Whether one event passes the query's filters (sort and limit aside).
bool EventMatches(const chain::Event& event, const EventQuery& query);
// Filters, sorts (stably), reverses and limits.
std::vector<IndexedEvent> ApplyEventQuery(std::vector<IndexedEvent> events,
                                          const EventQuery& query);

}  // namespace theater::cli
