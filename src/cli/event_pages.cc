// Theater: a WebAssembly actor runtime.
#include "cli/event_pages.h"

#include "cli/context.h"

namespace theater::cli {
namespace {

using json = nlohmann::json;
using server::MakeVariant;
using server::Variant;

}  // namespace

Result<ChainPages> ForEachEvent(server::ManagementClient& client, const std::string& id,
                                const std::function<bool(IndexedEvent&&)>& visit, size_t from_index,
                                size_t page_bytes) {
  ChainPages pages;
  pages.next_index = from_index;
  for (bool first = true;; first = false) {
    THEATER_ASSIGN_OR_RETURN(
        Variant reply,
        CallExpect(client,
                   MakeVariant("GetActorEvents", json{{"id", id},
                                                      {"from_index", pages.next_index},
                                                      {"max_bytes", page_bytes},
                                                      {"byte_encoding", "base64"}}),
                   "ActorEvents"));
    THEATER_ASSIGN_OR_RETURN(std::vector<IndexedEvent> events, ReadEventList(reply.fields));
    const bool paged = reply.fields.contains("next_index");
    if (!paged) {
      // A server that does not page sent the whole chain, numbered from 0.
      for (IndexedEvent& e : events) {
        pages.next_index = e.index + 1;
        if (e.index >= from_index && !visit(std::move(e))) break;
      }
      return pages;
    }
    const size_t next = JsonNumber(reply.fields, "next_index");
    if (next < events.size() || next < pages.next_index) {
      return InternalError("the server's ActorEvents page is inconsistent (next_index " +
                           std::to_string(next) + ")");
    }
    if (first) pages.first_index = JsonNumber(reply.fields, "first_index");
    const size_t start = next - events.size();
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].index = start + i;
      pages.next_index = start + i + 1;
      if (!visit(std::move(events[i]))) return pages;
    }
    pages.next_index = next;
    if (!reply.fields.value("more", false) || events.empty()) return pages;
  }
}

Result<std::optional<std::vector<uint8_t>>> ReadState(server::ManagementClient& client,
                                                      const std::string& id, size_t page_bytes) {
  std::vector<uint8_t> state;
  for (;;) {
    THEATER_ASSIGN_OR_RETURN(
        Variant reply, CallExpect(client,
                                  MakeVariant("GetActorState", json{{"id", id},
                                                                    {"offset", state.size()},
                                                                    {"max_bytes", page_bytes},
                                                                    {"byte_encoding", "base64"}}),
                                  "ActorState"));
    THEATER_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> slice,
                             server::OptionalBytesField(reply.fields, "state"));
    if (!slice) return std::optional<std::vector<uint8_t>>();
    if (!reply.fields.contains("total_bytes")) return slice;  // a server that does not page
    if (reply.fields.value("more", false) && slice->empty()) {
      return InternalError("the server's ActorState slice is empty but says more follows");
    }
    state.insert(state.end(), slice->begin(), slice->end());
    if (!reply.fields.value("more", false)) {
      return std::optional<std::vector<uint8_t>>(std::move(state));
    }
  }
}

}  // namespace theater::cli
