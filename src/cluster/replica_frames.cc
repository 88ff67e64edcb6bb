// Theater: a WebAssembly actor runtime.
#include "cluster/replica_frames.h"

#include "cluster/wire_bytes.h"

namespace theater::cluster {
namespace {

constexpr uint8_t kFrameVersion = 1;
// An event type is a short name; a description is a line for people.
constexpr size_t kMaxTypeBytes = 1024;
constexpr size_t kMaxDescriptionBytes = 64 << 10;

}  // namespace

size_t ReplicaEventSize(const chain::Event& event) {
  return 8 + 2 + event.type.size() + 4 + event.payload.size() + 1 +
         (event.description ? 4 + event.description->size() : 0) + 32 + 1 +
         (event.parent ? 32 : 0);
}

void EncodeReplicaFrame(uint64_t first_index, std::span<const chain::Event> events,
                        std::string& out) {
  EncodeReplicaFrameOf(
      first_index, events.size(), [&](size_t i) -> const chain::Event& { return events[i]; }, out);
}

void EncodeReplicaFrameOf(uint64_t first_index, size_t count,
                          const std::function<const chain::Event&(size_t)>& event,
                          std::string& out) {
  out.push_back(static_cast<char>(kFrameVersion));
  PutWireInt(first_index, 8, out);
  PutWireInt(count, 4, out);
  for (size_t i = 0; i < count; ++i) {
    const chain::Event& e = event(i);
    PutWireInt(e.timestamp_ms, 8, out);
    PutWireBytes(e.type, 2, out);
    PutWireBytes(
        std::string_view(reinterpret_cast<const char*>(e.payload.data()), e.payload.size()), 4,
        out);
    out.push_back(e.description ? 1 : 0);
    if (e.description) PutWireBytes(*e.description, 4, out);
    out.append(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
    out.push_back(e.parent ? 1 : 0);
    if (e.parent) out.append(reinterpret_cast<const char*>(e.parent->data()), e.parent->size());
  }
}

Result<ReplicaFrame> ParseReplicaFrame(std::string_view frame) {
  WireReader in(frame, "a replica frame", "an event's");
  uint64_t version = 0, count = 0;
  ReplicaFrame out;
  THEATER_RETURN_IF_ERROR(in.Int(1, &version, "version"));
  if (version != kFrameVersion) {
    return InvalidArgument("a replica frame of version " + std::to_string(version) +
                           " (this host reads version " + std::to_string(kFrameVersion) + ")");
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
    THEATER_RETURN_IF_ERROR(in.Fixed(e.hash.size(), e.hash.data(), "hash"));
    THEATER_RETURN_IF_ERROR(in.Int(1, &flag, "parent flag"));
    if (flag > 1) return InvalidArgument("a replica frame's parent flag is not 0 or 1");
    if (flag == 1) {
      chain::Hash parent{};
      THEATER_RETURN_IF_ERROR(in.Fixed(parent.size(), parent.data(), "parent"));
      e.parent = parent;
    }
    out.events.push_back(std::move(e));
  }
  if (!in.done()) return InvalidArgument("a replica frame has bytes after its last event");
  return out;
}

}  // namespace theater::cluster
