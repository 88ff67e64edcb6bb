// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the frames hosts of a lattice send each other (src/cluster/link_frames.h):
// a batch arrives from another host over NATS and is parsed as untrusted input.
//
// Invariants: parsing never crashes or reads out of bounds; a refusal is kInvalidArgument; an
// accepted batch is canonical (its header and records, encoded again, give back the input
// byte for byte) and each record's size is what RecordSize says; an audit's payload that parses
// re-encodes to the same bytes; a supervision record's payload (a child's spawn or event,
// supervision_records.h) is refused with kInvalidArgument or, accepted, encodes again to what
// parses back the same (a move record: to the very bytes); and every record's payload read as a replica frame (replica_frames.h:
// what a replicated actor's chain stream and a child's events answer carry) is refused with
// kInvalidArgument or, accepted, is canonical.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "cluster/link_frames.h"
#include "cluster/replica_frames.h"
#include "cluster/supervision_records.h"

namespace {

std::string_view View(const std::vector<uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void CheckSupervision(std::string_view payload) {
  using namespace theater::cluster;
  theater::Result<theater::SpawnRequest> spawn = ParseRemoteSpawn(payload, "h");
  if (!spawn.ok()) {
    if (spawn.status().code() != theater::StatusCode::kInvalidArgument) std::abort();
  } else {
    const std::vector<uint8_t> encoded = EncodeRemoteSpawn(*spawn);
    theater::Result<theater::SpawnRequest> again = ParseRemoteSpawn(View(encoded), "h");
    if (!again.ok() || again->manifest != spawn->manifest || again->state != spawn->state ||
        again->actor_id != spawn->actor_id || again->read_roots != spawn->read_roots ||
        again->remote_parent->ancestry_policies != spawn->remote_parent->ancestry_policies ||
        again->remote_parent->limits != spawn->remote_parent->limits) {
      std::abort();
    }
  }
  // A move record is canonical: accepted, it encodes back to the input byte for byte.
  theater::Result<MoveRequest> move = ParseMove(payload);
  if (!move.ok()) {
    if (move.status().code() != theater::StatusCode::kInvalidArgument) std::abort();
  } else if (View(EncodeMove(*move)) != payload) {
    std::abort();
  }
  theater::Result<theater::ChildEvent> event = ParseChildEvent(payload);
  if (!event.ok()) {
    if (event.status().code() != theater::StatusCode::kInvalidArgument) std::abort();
    return;
  }
  const std::vector<uint8_t> encoded = EncodeChildEvent(*event);
  theater::Result<theater::ChildEvent> again = ParseChildEvent(View(encoded));
  if (!again.ok() || again->child_id != event->child_id || again->kind != event->kind ||
      again->data != event->data || again->error.code() != event->error.code() ||
      again->reason != event->reason) {
    std::abort();
  }
}

void CheckReplicaFrame(std::string_view payload) {
  using namespace theater::cluster;
  theater::Result<ReplicaFrame> frame = ParseReplicaFrame(payload);
  if (!frame.ok()) {
    if (frame.status().code() != theater::StatusCode::kInvalidArgument) std::abort();
    return;
  }
  std::string again;
  EncodeReplicaFrame(frame->first_index, frame->events, again);
  if (again != payload) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace theater::cluster;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  LinkBatchHeader header;
  std::vector<LinkRecord> records;
  theater::Status parsed = ParseBatch(input, &header, &records);
  if (!parsed.ok()) {
    if (parsed.code() != theater::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  for (const LinkRecord& record : records) {
    const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                   record.payload.size());
    CheckReplicaFrame(payload);
    if (record.kind == RecordKind::kSupervise) {
      CheckSupervision(payload);
      continue;
    }
    if (record.kind != RecordKind::kAudit) continue;
    LinkAudit audit;
    theater::Status read = ParseAudit(payload, &audit);
    if (!read.ok()) {
      if (read.code() != theater::StatusCode::kInvalidArgument) std::abort();
      continue;
    }
    if (EncodeAudit(audit) != record.payload) std::abort();
  }
  std::string again;
  BeginBatch(header, again);
  for (const LinkRecord& record : records) {
    const size_t before = again.size();
    AppendRecord(record, again);
    if (again.size() - before != RecordSize(record)) std::abort();
  }
  if (again != input) std::abort();
  return 0;
}
