// Theater: a WebAssembly actor runtime.
//
// Event hashing and chain verification. The framing is specified in docs/chain-format.md; change
// it only together with the domain tag, or old chains stop verifying.

#include <algorithm>
#include <cstring>
#include <string>

#include "theater/chain.h"

#include "common/bytes.h"

namespace theater::chain {
namespace {

// Separates event hashes from every other SHA-256 the project computes (store ids, state
// digests), and names the framing version. Includes the terminating NUL.
constexpr char kDomainTag[] = "theater.chain.event.v1";
constexpr size_t kDomainTagSize = sizeof(kDomainTag);  // 23: 22 characters and the NUL

// Frames up to this size are hashed from a stack buffer (HashEvent).
constexpr size_t kStackFrameBytes = 1024;

// Writes `v` as 8 little-endian bytes at `out` and returns the position after them.
uint8_t* PutU64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) *out++ = static_cast<uint8_t>(v >> (8 * i));
  return out;
}

}  // namespace

Hash Sha256(std::span<const uint8_t> data) {
  return theater::Sha256(data);
}

std::string ToHex(std::span<const uint8_t> bytes) {
  return HexEncode(bytes);
}

std::string ShortHex(const Hash& hash) {
  return ToHex(hash).substr(0, 7);
}

std::vector<uint8_t> HashFrame(const std::optional<Hash>& parent, std::string_view type,
                               std::span<const uint8_t> payload) {
  // Sized up front and filled by position: one allocation, and no incremental inserts (which
  // g++ 12 misreports as overflows under -O2).
  const size_t parent_size = parent ? 1 + parent->size() : 1;
  std::vector<uint8_t> frame(kDomainTagSize + parent_size + 8 + type.size() + 8 + payload.size());
  uint8_t* out = std::copy_n(kDomainTag, kDomainTagSize, frame.data());
  *out++ = parent ? 1 : 0;
  if (parent) out = std::copy(parent->begin(), parent->end(), out);
  out = PutU64(out, type.size());
  out = std::copy(type.begin(), type.end(), out);
  out = PutU64(out, payload.size());
  std::copy(payload.begin(), payload.end(), out);
  return frame;
}

Hash HashEvent(const std::optional<Hash>& parent, std::string_view type,
               std::span<const uint8_t> payload) {
  // Most events are a few hundred bytes: their frame is assembled on the stack and hashed in one
  // pass, which costs less than feeding the hasher six pieces.
  const size_t frame_size =
      kDomainTagSize + 1 + (parent ? parent->size() : 0) + 8 + type.size() + 8 + payload.size();
  if (frame_size <= kStackFrameBytes) {
    uint8_t frame[kStackFrameBytes];
    uint8_t* out = std::copy_n(kDomainTag, kDomainTagSize, frame);
    *out++ = parent ? 1 : 0;
    if (parent) out = std::copy(parent->begin(), parent->end(), out);
    out = PutU64(out, type.size());
    out = std::copy(type.begin(), type.end(), out);
    out = PutU64(out, payload.size());
    if (!payload.empty()) std::memcpy(out, payload.data(), payload.size());
    return theater::Sha256({frame, frame_size});
  }
  // Larger ones are fed piece by piece instead of copied into one buffer.
  uint8_t head[kDomainTagSize + 1];
  std::copy_n(kDomainTag, kDomainTagSize, head);
  head[kDomainTagSize] = parent ? 1 : 0;
  uint8_t type_size[8], payload_size[8];
  PutU64(type_size, type.size());
  PutU64(payload_size, payload.size());
  Sha256Hasher hasher;
  hasher.Update(head);
  if (parent) hasher.Update(*parent);
  hasher.Update(type_size);
  hasher.Update(type);
  hasher.Update(payload_size);
  hasher.Update(payload);
  return hasher.Final();
}

Status VerifyEvents(std::span<const Event> events) {
  return VerifyEvents(events, std::nullopt, 0);
}

Status VerifyEvents(std::span<const Event> events, const std::optional<Hash>& anchor,
                    size_t first_index) {
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const std::string where = "event #" + std::to_string(first_index + i);
    Hash computed = HashEvent(e.parent, e.type, e.payload);
    if (computed != e.hash) {
      return ValidationError(where + ": stored hash " + ToHex(e.hash) +
                             " does not match the hash of its contents " + ToHex(computed) +
                             " (type, payload or parent changed)");
    }
    if (i == 0) {
      if (anchor) {
        if (e.parent != anchor) {
          return ValidationError(where + ": does not follow the anchor " + ToHex(*anchor) +
                                 " (the last event before the retained ones)");
        }
      } else if (e.parent) {
        return ValidationError(where + ": the first event names a parent " + ToHex(*e.parent) +
                               " (events missing before it, or out of order)");
      }
      continue;
    }
    const Hash& expected = events[i - 1].hash;
    if (!e.parent) {
      return ValidationError(where + ": has no parent, but follows event #" +
                             std::to_string(first_index + i - 1) + " " + ToHex(expected));
    }
    if (*e.parent != expected) {
      return ValidationError(where + ": parent link broken: names parent " + ToHex(*e.parent) +
                             " but follows event #" + std::to_string(first_index + i - 1) + " " +
                             ToHex(expected) + " (events reordered, removed or inserted)");
    }
  }
  return Status::Ok();
}

}  // namespace theater::chain
