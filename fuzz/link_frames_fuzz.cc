// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the frames hosts of a lattice send each other (src/cluster/link_frames.h):
// a batch arrives from another host over NATS and is parsed as untrusted input.
//
// Invariants: parsing never crashes or reads out of bounds; a refusal is kInvalidArgument; an
// accepted batch is canonical (its header and records, encoded again, give back the input
// byte for byte) and each record's size is what RecordSize says; an audit's payload that parses
// re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/link_frames.h"

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
    if (record.kind != RecordKind::kAudit) continue;
    const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                   record.payload.size());
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
