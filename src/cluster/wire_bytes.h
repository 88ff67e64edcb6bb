// Theater: a WebAssembly actor runtime.
//
// The little-endian framing the lattice's binary formats share (link_frames.h, replica_frames.h):
// integers of 1 to 8 bytes, and byte strings preceded by their length. WireReader reads one such
// input as untrusted: every step is checked against what is left, and an error names the input
// and the field ("a lattice batch ends inside a record's payload (at byte 9 of 12)").
//
// Thread-safety: a WireReader is used by one thread; the Put functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::cluster {

inline void PutWireInt(uint64_t value, int bytes, std::string& out) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
// `bytes` preceded by its length in `length_bytes` bytes.
inline void PutWireBytes(std::string_view bytes, int length_bytes, std::string& out) {
  PutWireInt(bytes.size(), length_bytes, out);
  out.append(bytes);
}

class WireReader {
 public:
  // `input` names what is read ("a lattice batch"), `part` what its fields belong to ("a
  // record's").
  WireReader(std::string_view data, std::string_view input, std::string_view part)
      : data_(data), input_(input), part_(part) {}
  bool done() const { return at_ == data_.size(); }

  Status Int(int bytes, uint64_t* value, std::string_view what) {
    if (data_.size() - at_ < static_cast<size_t>(bytes)) return Truncated(what);
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(data_[at_ + i])} << (8 * i);
    at_ += bytes;
    *value = v;
    return Status::Ok();
  }
  // A length in `length_bytes` bytes, at most `limit`, then that many bytes (a view of the
  // input).
  Status Bytes(int length_bytes, size_t limit, std::string_view* out, std::string_view what) {
    uint64_t length = 0;
    THEATER_RETURN_IF_ERROR(Int(length_bytes, &length, what));
    if (length > limit) {
      return InvalidArgument(std::string(input_) + "'s " + std::string(what) + " is " +
                             std::to_string(length) + " bytes, past the limit of " +
                             std::to_string(limit));
    }
    if (data_.size() - at_ < length) return Truncated(what);
    *out = data_.substr(at_, length);
    at_ += length;
    return Status::Ok();
  }
  // `size` bytes as they are.
  Status Fixed(size_t size, void* out, std::string_view what) {
    if (data_.size() - at_ < size) return Truncated(what);
    data_.copy(static_cast<char*>(out), size, at_);
    at_ += size;
    return Status::Ok();
  }

 private:
  Status Truncated(std::string_view what) const {
    return InvalidArgument(std::string(input_) + " ends inside " + std::string(part_) + " " +
                           std::string(what) + " (at byte " + std::to_string(at_) + " of " +
                           std::to_string(data_.size()) + ")");
  }
  std::string_view data_;
  std::string_view input_;
  std::string_view part_;
  size_t at_ = 0;
};

}  // namespace theater::cluster
