// Theater: a WebAssembly actor runtime.
#include "cli/event_query.h"
#include "common/ascii.h"
#include "common/json_writer.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace theater::cli {
namespace {

bool ContainsFolded(std::string_view haystack, const std::string& needle_lower) {
  return AsciiLower(haystack).find(needle_lower) != std::string::npos;
}

// Whether the export an export call event names ("theater:simple/message-server-client#
// handle-request") holds `needle`, also in the host-call spelling with '/' for '#'. Export
// calls all have the event type "wasm", so without this `--type handle-request` would find
// nothing; the type itself is hashed and stays as it is.
bool ExportMatches(const chain::Event& event, const std::string& needle) {
  if (chain::PeekPayloadKind(event.payload) != chain::PayloadKind::kExportCall) return false;
  // The export's name is in the payload's bytes as written: most events are ruled out without
  // decoding them. ("/" for "#" needs the decode: the bytes hold '#'.)
  const std::string_view raw(reinterpret_cast<const char*>(event.payload.data()),
                             event.payload.size());
  const size_t hash_at = needle.find('#');
  std::string slash_form;  // the needle with its "interface/function" '/' turned into '#'
  if (hash_at == std::string::npos) {
    const size_t slash = needle.rfind('/');
    if (slash != std::string::npos) {
      slash_form = needle;
      slash_form[slash] = '#';
    }
  }
  if (raw.find(needle) == std::string_view::npos &&
      (slash_form.empty() || raw.find(slash_form) == std::string_view::npos)) {
    return false;
  }
  Result<chain::Payload> payload = chain::DecodePayload(event.payload);
  const chain::ExportCall* call =
      payload.ok() ? std::get_if<chain::ExportCall>(&*payload) : nullptr;
  if (call == nullptr) return false;
  return call->function.find(needle) != std::string::npos ||
         (!slash_form.empty() && call->function.find(slash_form) != std::string::npos);
}

// The event's type holds `needle`, or, for a lifecycle step, its kind does (so that
// `--type runtime-setup` finds the setup events), or, for an export call, the export's name
// does (`--type handle-request`, `--type theater:simple/actor#init`).
bool TypeMatches(const chain::Event& event, const std::string& needle) {
  if (event.type.find(needle) != std::string::npos) return true;
  if (ExportMatches(event, needle)) return true;
  if (event.type != chain::kLifecycleEventType) return false;
  Result<chain::Payload> payload = chain::DecodePayload(event.payload);
  const chain::Lifecycle* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
  return step != nullptr && step->kind.find(needle) != std::string::npos;
}

}  // namespace

Result<uint64_t> ParseTimeSpec(std::string_view text, uint64_t now_ms) {
  auto invalid = [&] {
    return InvalidArgument("time '" + std::string(text) +
                           "' is neither Unix seconds nor a duration like 30s, 10m, 2h, 1d, 1w");
  };
  if (text.empty()) return invalid();
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || rest == text.data()) return invalid();
  if (rest == end) {
    if (value > UINT64_MAX / 1000) return invalid();
    return value * 1000;  // absolute Unix seconds
  }
  if (rest + 1 != end) return invalid();
  uint64_t unit_ms = 0;
  switch (*rest) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60 * 1000;
      break;
    case 'h':
      unit_ms = 3600 * 1000;
      break;
    case 'd':
      unit_ms = 86400 * 1000;
      break;
    case 'w':
      unit_ms = 7 * 86400 * 1000ull;
      break;
    default:
      return invalid();
  }
  if (value > UINT64_MAX / unit_ms) return invalid();
  const uint64_t ago = value * unit_ms;
  return ago > now_ms ? 0 : now_ms - ago;
}

Result<EventSort> ParseEventSort(std::string_view text) {
  if (text == "chain") return EventSort::kChain;
  if (text == "time") return EventSort::kTime;
  if (text == "type") return EventSort::kType;
  if (text == "size") return EventSort::kSize;
  return InvalidArgument("sort order must be chain, time, type or size, not '" + std::string(text) +
                         "'");
}

bool EventMatches(const chain::Event& event, const EventQuery& query) {
  if (query.type_contains && !TypeMatches(event, *query.type_contains)) return false;
  if (query.from_ms && event.timestamp_ms < *query.from_ms) return false;
  if (query.to_ms && event.timestamp_ms > *query.to_ms) return false;
  if (query.search && !query.search->empty()) {
    const std::string needle = AsciiLower(*query.search);
    if (event.description && ContainsFolded(*event.description, needle)) return true;
    std::string_view raw(reinterpret_cast<const char*>(event.payload.data()), event.payload.size());
    if (ContainsFolded(raw, needle)) return true;
    // The decoded payload: strings inside canonical payloads are found here even when the raw
    // bytes also hold binary framing.
    if (ContainsFolded(JsonText(chain::PayloadToJson(event.payload)), needle)) return true;
    return false;
  }
  return true;
}

std::vector<IndexedEvent> ApplyEventQuery(std::vector<IndexedEvent> events,
                                          const EventQuery& query) {
  std::erase_if(events, [&](const IndexedEvent& e) { return !EventMatches(e.event, query); });
  auto by = [&](auto key) {
    std::stable_sort(events.begin(), events.end(),
                     [&](const IndexedEvent& a, const IndexedEvent& b) { return key(a) < key(b); });
  };
  switch (query.sort) {
    case EventSort::kChain:
      by([](const IndexedEvent& e) { return e.index; });
      break;
    case EventSort::kTime:
      by([](const IndexedEvent& e) { return e.event.timestamp_ms; });
      break;
    case EventSort::kType:
      by([](const IndexedEvent& e) { return std::string_view(e.event.type); });
      break;
    case EventSort::kSize:
      by([](const IndexedEvent& e) { return e.event.payload.size(); });
      break;
  }
  if (query.reverse) std::reverse(events.begin(), events.end());
  if (query.limit > 0 && events.size() > query.limit) events.resize(query.limit);
  return events;
}

}  // namespace theater::cli
