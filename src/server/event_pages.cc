// Theater: a WebAssembly actor runtime.
#include "server/event_pages.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "theater/chain_store.h"

namespace theater::server {
namespace {

using json = nlohmann::json;

// Room kept for what follows the events in a reply: ],"first_index":…,"next_index":…,"more":…}}
// (and the envelope a wrapped reply adds).
constexpr size_t kTrailerBytes = 160;

// A saved chain is verified in batches of this many events or payload bytes, each one read
// under the database's reader lock, so that other readers (and spawns) get their turn.
constexpr size_t kVerifyBatchEvents = 4096;
constexpr size_t kVerifyBatchBytes = 8u << 20;

std::string PagingHint(std::string_view command, std::string_view offset_field) {
  return "ask for it in pages (" + std::string(command) + " with " + std::string(offset_field) +
         " and max_bytes; docs/protocol.md, \"Paging\")";
}

// One ActorEvents reply being built: events are appended as text while they fit the budget.
class PageBuilder {
 public:
  PageBuilder(const PageRequest& request, const PageLimits& limits)
      : request_(request),
        hard_limit_(limits.max_reply_bytes),
        budget_(request.paged
                    ? std::min(request.max_bytes ? request.max_bytes : limits.default_page_bytes,
                               limits.max_reply_bytes)
                    : limits.max_reply_bytes) {
    writer_.BeginVariant("ActorEvents").BeginObject().Member("id", request.id);
    writer_.Key("events").BeginArray();
  }

  // Takes the event, or returns false: the page is full, or (error() set) the reply cannot be
  // sent at all.
  bool Add(const chain::Event& event, size_t index) {
    one_.clear();
    AppendChainEventJson(event, one_, request_.encoding, request_.decoded);
    const size_t after = text_.size() + 1 + one_.size() + kTrailerBytes;
    if (after > budget_) {
      if (!request_.paged) {
        error_ = ResourceExhausted(
            "the events of actor " + request_.id + " take more than the reply limit of " +
            std::to_string(hard_limit_) +
            " bytes (max_reply_bytes): " + PagingHint("GetActorEvents", "from_index"));
        return false;
      }
      if (count_ > 0) return false;  // the page is full; the event starts the next one
      // A page holds at least one event, even past max_bytes, so that paging progresses.
      if (after > hard_limit_) {
        error_ = ResourceExhausted("event #" + std::to_string(index) + " of actor " + request_.id +
                                   " alone takes " + std::to_string(one_.size()) +
                                   " bytes, more than the reply limit of " +
                                   std::to_string(hard_limit_) + " bytes (max_reply_bytes)");
        return false;
      }
    }
    writer_.Raw(one_);
    ++count_;
    return true;
  }

  std::string Finish(size_t first_index, size_t next_index, bool more) {
    writer_.EndArray();
    writer_.Member("first_index", uint64_t{first_index}).Member("next_index", uint64_t{next_index});
    writer_.Member("more", more).EndObject().EndObject();
    return std::move(text_);
  }

  const Status& error() const { return error_; }

 private:
  const PageRequest& request_;
  const size_t hard_limit_;
  const size_t budget_;
  std::string text_;
  JsonWriter writer_{text_};
  std::string one_;
  size_t count_ = 0;
  Status error_;
};

// The events a running actor holds in memory and the index of the first of them (its chain's
// length minus what it holds; read until the length did not change meanwhile, so that a busy
// actor's indices are exact or, after three tries, off by what it appended during the read).
struct Tail {
  std::vector<chain::Event> events;
  size_t first_index = 0;
};
Result<Tail> InMemoryTail(TheaterRuntime& runtime, const std::string& id) {
  Tail tail;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<ActorMetrics> before = runtime.Metrics(id);
    THEATER_ASSIGN_OR_RETURN(tail.events, runtime.Events(id));
    Result<ActorMetrics> after = runtime.Metrics(id);
    if (!before.ok() || !after.ok()) return tail;
    if (after->events >= tail.events.size()) {
      tail.first_index = after->events - tail.events.size();
    }
    if (before->events == after->events) break;
  }
  return tail;
}

}  // namespace

Status ReadPageRequest(const json& fields, const char* start_field, PageRequest* request) {
  THEATER_ASSIGN_OR_RETURN(request->encoding, ByteEncodingField(fields));
  THEATER_ASSIGN_OR_RETURN(request->decoded, BoolField(fields, "decoded", false));
  auto number = [&](const char* name, size_t* out) -> Status {
    auto it = fields.find(name);
    if (it == fields.end() || it->is_null()) return Status();
    if (!it->is_number_unsigned()) {
      return InvalidArgument(std::string("field '") + name + "' must be a non-negative integer");
    }
    *out = it->get<size_t>();
    request->paged = true;
    return Status();
  };
  request->paged = false;
  request->start = 0;
  request->max_bytes = 0;
  THEATER_RETURN_IF_ERROR(number(start_field, &request->start));
  THEATER_RETURN_IF_ERROR(number("max_bytes", &request->max_bytes));
  if (request->paged && HasField(fields, "max_bytes") && request->max_bytes == 0) {
    return InvalidArgument("field 'max_bytes' must be at least 1");
  }
  return Status();
}

Result<std::string> EventsReply(TheaterRuntime& runtime, const PageRequest& request,
                                const PageLimits& limits) {
  PageBuilder page(request, limits);
  if (chain::ChainStore* store = runtime.store()) {
    // Events the actor recorded are queued for the database's writer: include them.
    THEATER_RETURN_IF_ERROR(store->Flush());
    chain::VisitReport report;
    THEATER_RETURN_IF_ERROR(store->VisitChain(
        request.id, request.start,
        [&](chain::Event&& event, size_t index) { return page.Add(event, index); }, &report));
    if (report.found) {
      if (!page.error().ok()) return page.error();
      // A row that does not verify ends the chain, as for Events(): the verified prefix.
      return page.Finish(report.first_index, report.next_index, report.more && report.problem.ok());
    }
  }
  // Not saved: the events the running actor holds in memory (bounded by the runtime).
  THEATER_ASSIGN_OR_RETURN(Tail tail, InMemoryTail(runtime, request.id));
  const size_t start = std::max(request.start, tail.first_index);
  size_t next = start;
  bool more = false;
  for (size_t i = start - tail.first_index; i < tail.events.size(); ++i) {
    if (!page.Add(tail.events[i], tail.first_index + i)) {
      if (!page.error().ok()) return page.error();
      more = true;
      break;
    }
    next = tail.first_index + i + 1;
  }
  return page.Finish(tail.first_index, next, more);
}

Result<json> VerifyChainReply(TheaterRuntime& runtime, const std::string& id) {
  if (chain::ChainStore* store = runtime.store()) {
    THEATER_RETURN_IF_ERROR(store->Flush());
    size_t from = 0;
    size_t verified = 0;
    bool found = false;
    Status problem;
    Status binding;  // whether event #0 names this actor (chain::VerifyActorBinding)
    for (;;) {
      size_t batch_events = 0;
      size_t batch_bytes = 0;
      chain::VisitReport report;
      THEATER_RETURN_IF_ERROR(store->VisitChain(
          id, from,
          [&](chain::Event&& event, size_t index) {
            if (batch_events >= kVerifyBatchEvents || batch_bytes >= kVerifyBatchBytes) {
              return false;
            }
            if (index == 0) binding = chain::VerifyActorBinding(std::span(&event, 1), 0, id);
            ++batch_events;
            batch_bytes += event.payload.size();
            return true;
          },
          &report));
      if (!report.found) break;
      found = true;
      verified += batch_events;
      if (!report.problem.ok()) {
        problem =
            report.problem.WithContext("the stored events of actor " + id + " from #" +
                                       std::to_string(report.next_index) + " on do not verify");
        break;
      }
      if (!report.more) break;
      from = report.next_index;
    }
    if (found) {
      if (problem.ok()) problem = binding;
      return MakeVariant("ChainVerified",
                         json{{"id", id},
                              {"valid", problem.ok()},
                              {"events", verified},
                              {"error", problem.ok() ? json(nullptr) : json(problem.ToString())}});
    }
  }
  // Not saved: the tail the running actor holds in memory (bounded by the runtime).
  THEATER_ASSIGN_OR_RETURN(std::vector<chain::Event> events, runtime.Events(id));
  Status verified = runtime.VerifyChain(id);
  return MakeVariant("ChainVerified",
                     json{{"id", id},
                          {"valid", verified.ok()},
                          {"events", events.size()},
                          {"error", verified.ok() ? json(nullptr) : json(verified.ToString())}});
}

size_t SliceThatFits(std::span<const uint8_t> rest, size_t budget, ByteEncoding encoding) {
  size_t n = 0;
  if (encoding == ByteEncoding::kBase64) {
    n = budget > 2 ? (budget - 2) / 4 * 3 : 0;
  } else {
    size_t used = 2;
    while (n < rest.size()) {
      const uint8_t b = rest[n];
      const size_t cost = (b >= 100 ? 3 : b >= 10 ? 2 : 1) + (n > 0 ? 1 : 0);
      if (used + cost > budget) break;
      used += cost;
      ++n;
    }
  }
  return std::min(std::max<size_t>(n, 1), rest.size());
}

size_t EncodedBytesSize(std::span<const uint8_t> bytes, ByteEncoding encoding) {
  if (encoding == ByteEncoding::kBase64) return 2 + (bytes.size() + 2) / 3 * 4;
  size_t size = 2 + (bytes.empty() ? 0 : bytes.size() - 1);
  for (uint8_t b : bytes) size += b >= 100 ? 3 : b >= 10 ? 2 : 1;
  return size;
}

Result<std::string> StateReply(TheaterRuntime& runtime, const PageRequest& request,
                               const PageLimits& limits) {
  Result<std::optional<std::vector<uint8_t>>> read = runtime.State(request.id);
  if (!read.ok()) return read.status();
  const std::optional<std::vector<uint8_t>>& state = *read;
  std::string text;
  JsonWriter w(text);
  w.BeginVariant("ActorState").BeginObject().Member("id", request.id).Key("state");
  auto finish = [&](size_t offset, size_t total, bool more) {
    w.Member("offset", uint64_t{offset}).Member("total_bytes", uint64_t{total});
    w.Member("more", more).EndObject().EndObject();
    return std::move(text);
  };
  if (!state) {
    w.Null();
    return finish(0, 0, false);
  }
  const std::span<const uint8_t> all(*state);
  if (!request.paged) {
    const size_t size = EncodedBytesSize(all, request.encoding);
    if (text.size() + size + kTrailerBytes > limits.max_reply_bytes) {
      return ResourceExhausted(
          "the state of actor " + request.id + " takes " + std::to_string(size) +
          " bytes as JSON, more than the reply limit of " + std::to_string(limits.max_reply_bytes) +
          " bytes (max_reply_bytes): " + PagingHint("GetActorState", "offset"));
    }
    AppendBytesJson(all, w.ValueSlot(), request.encoding);
    return finish(0, all.size(), false);
  }
  const size_t offset = std::min(request.start, all.size());
  const size_t budget = std::min(request.max_bytes ? request.max_bytes : limits.default_page_bytes,
                                 limits.max_reply_bytes - kTrailerBytes - text.size());
  const size_t n = SliceThatFits(all.subspan(offset), budget, request.encoding);
  AppendBytesJson(all.subspan(offset, n), w.ValueSlot(), request.encoding);
  return finish(offset, all.size(), offset + n < all.size());
}

}  // namespace theater::server
