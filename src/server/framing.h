// Theater: a WebAssembly actor runtime.
//
// The management protocol's framing (the transport the original Theater server and its clients
// use, so that existing clients can talk to ours; docs/protocol.md will describe the protocol):
//
//   * a frame is a 4-byte big-endian length followed by that many bytes of JSON;
//   * the JSON is `{"Complete":[b0,b1,...]}` — a whole message, its bytes as numbers — or
//     `{"Fragment":{"message_id":u64,"fragment_index":u32,"total_fragments":u32,
//     "data":"<base64>"}}` — one piece of a message larger than kMaxFragmentData;
//   * a message is the JSON of a command or a response (built elsewhere).
//
// FrameEncoder turns messages into frames; FrameDecoder takes bytes as they arrive from a
// socket and returns complete messages. The decoder is built for hostile input: a frame longer
// than its limit, malformed JSON, a byte value over 255, inconsistent fragments, too many
// half-received messages or too many bytes held for them are errors, never crashes or unbounded
// memory. After an error the connection should be closed: the stream can no longer be trusted.
//
// Thread-safety: neither class is thread-safe; use one per connection direction.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater::server {

// Messages up to this size go out as one Complete frame; larger ones as fragments of this size.
inline constexpr size_t kMaxFragmentData = 8u << 20;

class FrameEncoder {
 public:
  // Messages up to `complete_max` bytes go out as one Complete frame; longer ones as Fragments
  // (one, for a message up to kMaxFragmentData). Both are frames every client of the protocol
  // reads, but base64 costs 1.33 bytes a byte where a JSON number costs up to 4, and encodes and
  // decodes several times faster: the server and our client send anything but short messages
  // as fragments (kCompactCompleteMax). The default keeps the original's choice.
  explicit FrameEncoder(size_t complete_max = kMaxFragmentData)
      : complete_max_(std::min(complete_max, kMaxFragmentData)) {}

  // Appends the frames (each with its length prefix) that carry `message` to `out`.
  void EncodeTo(std::span<const uint8_t> message, std::string& out);
  // The same frames, one vector each.
  std::vector<std::vector<uint8_t>> Encode(std::span<const uint8_t> message);

 private:
  size_t complete_max_;
  uint64_t next_message_id_ = 1;
};

// The Complete/Fragment threshold our server and client use (see FrameEncoder).
inline constexpr size_t kCompactCompleteMax = 256;

class FrameDecoder {
 public:
  struct Limits {
    size_t max_frame_bytes = 64u << 20;     // one frame's JSON (a Complete of 8 MiB is ~32 MiB)
    // How an oversize frame's error names the limit: "... exceeds the <label> of N bytes (<name>)".
    std::string frame_limit_label = "frame limit";
    std::string frame_limit_name = "max_frame_bytes";
    size_t max_message_bytes = 256u << 20;  // one reassembled message
    size_t max_pending_messages = 16;       // messages with fragments still missing
    size_t max_pending_bytes = 256u << 20;  // bytes held for them, in all
    std::chrono::milliseconds fragment_timeout{30'000};  // a partial message is dropped after it
  };

  FrameDecoder() : FrameDecoder(Limits{}) {}
  explicit FrameDecoder(Limits limits) : limits_(limits) {}

  // Takes the next bytes of the stream; appends every message they complete to `messages`, at
  // most `max_messages` of them: frames after that stay buffered, unread (not even their length
  // checked), until a later Feed (with no new bytes, say) after the caller changed the limits,
  // e.g. once a connection has authenticated. `now` drives the expiry of partial messages.
  // Errors: kResourceExhausted for a limit, kParseError for a malformed frame (with what was
  // wrong).
  Status Feed(std::span<const uint8_t> bytes, std::vector<std::vector<uint8_t>>& messages,
              std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now(),
              size_t max_messages = SIZE_MAX);

  // The limits apply to frames read from now on.
  void set_limits(Limits limits) { limits_ = std::move(limits); }
  const Limits& limits() const { return limits_; }

  // Bytes received but not yet read as frames, and messages waiting for fragments.
  size_t buffered_bytes() const { return buffer_.size(); }
  size_t pending_messages() const { return pending_.size(); }
  // Whether the buffer holds a whole frame that a Feed stopped before (max_messages).
  bool HasWholeFrame() const;
  // Whether the buffer holds the start of a frame whose 4-byte length has all arrived.
  bool HasFrameHeader() const { return buffer_.size() >= 4; }

 private:
  Status HandleFrame(std::span<const uint8_t> json, std::vector<std::vector<uint8_t>>& messages,
                     std::chrono::steady_clock::time_point now);
  void Expire(std::chrono::steady_clock::time_point now);

  struct Pending {
    uint32_t total = 0;
    std::map<uint32_t, std::vector<uint8_t>> fragments;
    size_t bytes = 0;
    std::chrono::steady_clock::time_point started;
  };

  Limits limits_;
  std::vector<uint8_t> buffer_;
  std::map<uint64_t, Pending> pending_;
  size_t pending_bytes_ = 0;
};

}  // namespace theater::server
