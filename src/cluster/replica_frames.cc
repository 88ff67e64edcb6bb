// Theater: a WebAssembly actor runtime.
#include "cluster/replica_frames.h"

#include <cstring>

namespace theater::cluster {
namespace {

constexpr uint8_t kVersion = 1;
// An event type is a short name; a description is a line for people.
constexpr size_t kMaxTypeBytes = 1024;
constexpr size_t kMaxDescriptionBytes = 64 << 10;

void PutInt(uint64_t value, int bytes, std::string& out) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void PutBytes(std::string_view bytes, int length_bytes, std::string& out) {
  PutInt(bytes.size(), length_bytes, out);
  out.append(bytes);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return at_ == in_.size(); }
  Status Int(int bytes, uint64_t* value, const char* what) {
    if (in_.size() - at_ < static_cast<size_t>(bytes)) return Short(what);
    *value = 0;
    for (int i = 0; i < bytes; ++i) {
      *value |= static_cast<uint64_t>(static_cast<uint8_t>(in_[at_ + i])) << (8 * i);
    }
    at_ += bytes;
    return Status::Ok();
  }
  Status Bytes(int length_bytes, size_t limit, std::string_view* out, const char* what) {
    uint64_t length = 0;
    THEATER_RETURN_IF_ERROR(Int(length_bytes, &length, what));
    if (length > limit) {
      return InvalidArgument(std::string("a replica frame's ") + what + " is " +
                             std::to_string(length) + " bytes, past the limit of " +
                             std::to_string(limit));
    }
    if (in_.size() - at_ < length) return Short(what);
    *out = in_.substr(at_, length);
    at_ += length;
    return Status::Ok();
  }
  Status Hash(chain::Hash* out, const char* what) {
    if (in_.size() - at_ < out->size()) return Short(what);
    std::memcpy(out->data(), in_.data() + at_, out->size());
    at_ += out->size();
    return Status::Ok();
  }

 private:
  Status Short(const char* what) const {
    return InvalidArgument(std::string("a replica frame ends inside an event's ") + what +
                           " (at byte " + std::to_string(at_) + " of " +
                           std::to_string(in_.size()) + ")");
  }
  std::string_view in_;
  size_t at_ = 0;
};

}  // namespace

size_t ReplicaEventSize(const chain::Event& event) {
  return 8 + 2 + event.type.size() + 4 + event.payload.size() + 1 +
         (event.description ? 4 + event.description->size() : 0) + 32 + 1 +
         (event.parent ? 32 : 0);
}

void EncodeReplicaFrame(uint64_t first_index, std::span<const chain::Event> events,
                        std::string& out) {
  out.push_back(static_cast<char>(kVersion));
  PutInt(first_index, 8, out);
  PutInt(events.size(), 4, out);
  for (const chain::Event& e : events) {
    PutInt(e.timestamp_ms, 8, out);
    PutBytes(e.type, 2, out);
    PutBytes(std::string_view(reinterpret_cast<const char*>(e.payload.data()), e.payload.size()),
             4, out);
    out.push_back(e.description ? 1 : 0);
    if (e.description) PutBytes(*e.description, 4, out);
    out.append(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
    out.push_back(e.parent ? 1 : 0);
    if (e.parent) out.append(reinterpret_cast<const char*>(e.parent->data()), e.parent->size());
  }
}

Result<ReplicaFrame> ParseReplicaFrame(std::string_view frame) {
  Reader in(frame);
  uint64_t version = 0, count = 0;
  ReplicaFrame out;
  THEATER_RETURN_IF_ERROR(in.Int(1, &version, "version"));
  if (version != kVersion) {
    return InvalidArgument("a replica frame of version " + std::to_string(version) +
                           " (this host reads version " + std::to_string(kVersion) + ")");
  }
  THEATER_RETURN_IF_ERROR(in.Int(8, &out.first_index, "first index"));
  THEATER_RETURN_IF_ERROR(in.Int(4, &count, "event count"));
  // Each event takes at least 44 bytes: a count past what the frame can hold is a lie.
  if (count > frame.size() / 44) {
    return InvalidArgument("a replica frame claims " + std::to_string(count) +
                           " events in " + std::to_string(frame.size()) + " bytes");
  }
  out.events.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    chain::Event e;
    std::string_view text;
    uint64_t flag = 0;
    THEATER_RETURN_IF_ERROR(in.Int(8, &e.timestamp_ms, "timestamp"));
    THEATER_RETURN_IF_ERROR(in.Bytes(2, kMaxTypeBytes, &text, "type"));
    e.type.assign(text);
    THEATER_RETURN_IF_ERROR(in.Bytes(4, frame.size(), &text, "payload"));
    e.payload.assign(text.begin(), text.end());
    THEATER_RETURN_IF_ERROR(in.Int(1, &flag, "description flag"));
    if (flag > 1) return InvalidArgument("a replica frame's description flag is not 0 or 1");
    if (flag == 1) {
      THEATER_RETURN_IF_ERROR(in.Bytes(4, kMaxDescriptionBytes, &text, "description"));
      e.description = std::string(text);
    }
    THEATER_RETURN_IF_ERROR(in.Hash(&e.hash, "hash"));
    THEATER_RETURN_IF_ERROR(in.Int(1, &flag, "parent flag"));
    if (flag > 1) return InvalidArgument("a replica frame's parent flag is not 0 or 1");
    if (flag == 1) {
      chain::Hash parent{};
      THEATER_RETURN_IF_ERROR(in.Hash(&parent, "parent"));
      e.parent = parent;
    }
    out.events.push_back(std::move(e));
  }
  if (!in.done()) return InvalidArgument("a replica frame has bytes after its last event");
  return out;
}

}  // namespace theater::cluster
