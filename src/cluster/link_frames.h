// Theater: a WebAssembly actor runtime.
//
// The frames hosts of a lattice send each other (docs/distribution.md, "Messages between
// hosts"): a batch of records, one NATS message, from one host to another. A record is one
// envelope (send, request, channel open, channel message, channel close), a supervision operation
// (supervision_records.h), an answer to a request, an opening or a supervision operation, or a
// refusal (an earlier message of a sender→target pair was refused there, or lost on the way).
//
// Layout, little-endian: the batch's header (version, origin host, origin epoch), then records
// until the end: kind (u8), pair sequence (u64), reference (u64), sender, target, channel (u16
// length + bytes each), payload (u32 length + bytes), and for answers and refusals a status code
// (u8), its text (u16 + bytes), accepted (u8) and whether the payload is a message (u8).
//
// A batch comes from another host of the lattice, which NATS's authentication admits; it is still
// parsed as untrusted: every length is checked against what is left and against a limit named in
// the error, without recursion.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::cluster {

enum class RecordKind : uint8_t {
  kSend = 1,
  kRequest = 2,
  kChannelOpen = 3,
  kChannelMessage = 4,
  kChannelClose = 5,
  kAnswer = 6,   // to the request or opening `reference`: `code`/`text`, `accepted`, message
  kRefused = 7,  // an earlier message from `sender` to `target` was refused or lost: `code`/`text`
  kAudit = 8,    // the origin's account of what it sent: `payload` is a LinkAudit (below)
  kSupervise = 9,  // supervision across hosts: `channel` names it (supervision_records.h)
};

struct LinkRecord {
  RecordKind kind = RecordKind::kSend;
  uint64_t sequence = 0;   // per sender→target pair, from 1; 0 when the kind has none
  uint64_t reference = 0;  // a request's or opening's number at its origin host
  std::string sender;
  std::string target;
  std::string channel;
  std::vector<uint8_t> payload;
  // Answers and refusals.
  StatusCode code = StatusCode::kOk;
  std::string text;
  bool accepted = true;
  bool has_message = false;
};

// Bounds of what a host accepts from another (an actor or client id, a channel id, a status's
// text: ids are UUIDs and channel ids 35 bytes; texts are the local errors).
inline constexpr size_t kMaxLinkIdBytes = 256;
inline constexpr size_t kMaxLinkTextBytes = 4096;

struct LinkBatchHeader {
  std::string origin;  // the sending host
  uint64_t epoch = 0;  // its epoch (lattice_member.h)
};

// Appends the header of a new batch to `out` (empty).
void BeginBatch(const LinkBatchHeader& header, std::string& out);
// Appends one record. The caller keeps ids and texts within the bounds above.
void AppendRecord(const LinkRecord& record, std::string& out);
// The bytes AppendRecord would add for `record` (before its payload is known to fit).
size_t RecordSize(const LinkRecord& record);

// What an origin host tells a destination every second about the traffic between them, so that
// nothing lost on the way (a NATS reconnect, a slow consumer) goes unnoticed even when no later
// message follows it: the requests and channel openings it still waits an answer for (by
// reference; the destination answers each it does not owe with an error), and each pair's last
// sequence number sent (the destination reports each pair it has not received up to there).
struct LinkAudit {
  std::vector<uint64_t> awaited;
  struct Pair {
    std::string sender;
    std::string target;
    uint64_t last_sequence = 0;
  };
  std::vector<Pair> pairs;
};
std::vector<uint8_t> EncodeAudit(const LinkAudit& audit);
// kInvalidArgument naming what is malformed.
[[nodiscard]] Status ParseAudit(std::string_view payload, LinkAudit* audit);

// Parses a whole batch into `records` (emptied first). kInvalidArgument naming what is malformed
// or past which limit.
[[nodiscard]] Status ParseBatch(std::string_view batch, LinkBatchHeader* header,
                                std::vector<LinkRecord>* records);
// The same into records[0, *count) of a vector kept from batch to batch: the records already
// there are overwritten, their strings' buffers reused (a receiving host parses thousands of
// batches a second), and more are added as needed; those past *count are left as they were.
[[nodiscard]] Status ParseBatchInto(std::string_view batch, LinkBatchHeader* header,
                                    std::vector<LinkRecord>* records, size_t* count);

}  // namespace theater::cluster
