// Theater: a WebAssembly actor runtime.
//
// The replies of the management server that can be large — an actor's chain (GetActorEvents), a
// chain's verification (VerifyChain) and an actor's state (GetActorState) — built within a byte
// budget, page by page, so that no reply grows past ServerOptions::max_reply_bytes and a long
// chain is never held in memory whole (docs/protocol.md, "Paging").
//
// A saved chain is read from the database a page at a time (ChainStore::VisitChain); the events
// a running actor holds in memory (a bounded tail) are paged from a copy. Replies are built as
// JSON text, never as a tree.
//
// Thread-safety: free functions; they call the runtime and its database, and may block on
// them (run them on the server's blocking pool).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "server/protocol.h"
#include "theater/runtime.h"
#include "theater/status.h"

namespace theater::server {

struct PageLimits {
  size_t max_reply_bytes = 16u << 20;
  size_t default_page_bytes = 1u << 20;
};

// A read that may be paged: GetActorEvents (the whole chain in the original form, or with
// `from_index` or `max_bytes` a page of events from `start`) and GetActorState (the whole state,
// or with `offset` or `max_bytes` a slice of its bytes from `start`).
struct PageRequest {
  std::string id;
  ByteEncoding encoding = ByteEncoding::kArray;
  bool decoded = false;  // "decoded": true: each event also carries its payload decoded
  bool paged = false;
  size_t start = 0;      // from_index (events) or offset (state bytes)
  size_t max_bytes = 0;  // 0: PageLimits::default_page_bytes
};
// Reads the rendering fields (`encoding`, `decoded`) and the paging fields (`start_field`,
// max_bytes: non-negative integers; max_bytes at least 1) into `request`. Errors:
// kInvalidArgument naming the field.
Status ReadPageRequest(const nlohmann::json& fields, const char* start_field, PageRequest* request);

// The text of an ActorEvents reply:
//   {"ActorEvents":{"id","events":[...],"first_index","next_index","more"}}
// Errors: the actor is unknown (kNotFound) or its chain unreadable; kResourceExhausted when the
// original form's reply would pass max_reply_bytes (the message says to ask for pages), or one
// event alone would.
Result<std::string> EventsReply(TheaterRuntime& runtime, const PageRequest& request,
                                const PageLimits& limits);

// The ChainVerified reply, reading a saved chain page by page.
Result<nlohmann::json> VerifyChainReply(TheaterRuntime& runtime, const std::string& id);

// The text of an ActorState reply:
//   {"ActorState":{"id","state":bytes|null,"offset","total_bytes","more"}}
// Errors: as EventsReply.
Result<std::string> StateReply(TheaterRuntime& runtime, const PageRequest& request,
                               const PageLimits& limits);

// How many of the bytes of `rest` a slice whose JSON (AppendBytesJson) fits `budget` bytes
// holds: the longest such slice, and at least one byte, so paging progresses (0 only when `rest`
// is empty).
size_t SliceThatFits(std::span<const uint8_t> rest, size_t budget, ByteEncoding encoding);

// The length of AppendBytesJson's output for `bytes`, without building it.
size_t EncodedBytesSize(std::span<const uint8_t> bytes, ByteEncoding encoding);

}  // namespace theater::server
