// Theater: a WebAssembly actor runtime.
#include "cluster/link_frames.h"

#include "cluster/wire_bytes.h"

#include <cstring>

namespace theater::cluster {
namespace {

constexpr uint8_t kBatchVersion = 1;

void PutInt(uint64_t value, int bytes, std::string& out) {
  PutWireInt(value, bytes, out);
}
void PutText(std::string_view text, std::string& out) {
  PutWireBytes(text, 2, out);
}

bool IsAnswer(RecordKind kind) {
  return kind == RecordKind::kAnswer || kind == RecordKind::kRefused;
}

// Reads from a batch (or an audit), each step checked against what is left.
class Reader {
 public:
  explicit Reader(std::string_view data) : in_(data, "a lattice batch", "a record's") {}
  bool done() const { return in_.done(); }
  Status Int(int bytes, uint64_t* value, std::string_view what) {
    return in_.Int(bytes, value, what);
  }
  Status Text(std::string* out, size_t limit, std::string_view what) {
    std::string_view text;
    THEATER_RETURN_IF_ERROR(in_.Bytes(2, limit, &text, what));
    out->assign(text);
    return Status::Ok();
  }
  Status Bytes(std::vector<uint8_t>* out, std::string_view what) {
    std::string_view bytes;
    THEATER_RETURN_IF_ERROR(in_.Bytes(4, SIZE_MAX, &bytes, what));
    out->assign(bytes.begin(), bytes.end());
    return Status::Ok();
  }

 private:
  WireReader in_;
};

}  // namespace

void BeginBatch(const LinkBatchHeader& header, std::string& out) {
  out.push_back(static_cast<char>(kBatchVersion));
  PutText(header.origin, out);
  PutInt(header.epoch, 8, out);
}

size_t RecordSize(const LinkRecord& record) {
  size_t size = 1 + 8 + 8 + (2 + record.sender.size()) + (2 + record.target.size()) +
                (2 + record.channel.size()) + (4 + record.payload.size());
  if (IsAnswer(record.kind)) size += 1 + 2 + record.text.size() + 1 + 1;
  return size;
}

void AppendRecord(const LinkRecord& record, std::string& out) {
  out.push_back(static_cast<char>(record.kind));
  PutInt(record.sequence, 8, out);
  PutInt(record.reference, 8, out);
  PutText(record.sender, out);
  PutText(record.target, out);
  PutText(record.channel, out);
  PutInt(record.payload.size(), 4, out);
  out.append(reinterpret_cast<const char*>(record.payload.data()), record.payload.size());
  if (IsAnswer(record.kind)) {
    out.push_back(static_cast<char>(record.code));
    PutText(record.text, out);
    out.push_back(record.accepted ? 1 : 0);
    out.push_back(record.has_message ? 1 : 0);
  }
}

std::vector<uint8_t> EncodeAudit(const LinkAudit& audit) {
  std::string out;
  PutInt(audit.awaited.size(), 4, out);
  for (uint64_t reference : audit.awaited) PutInt(reference, 8, out);
  PutInt(audit.pairs.size(), 4, out);
  for (const LinkAudit::Pair& pair : audit.pairs) {
    PutText(pair.sender, out);
    PutText(pair.target, out);
    PutInt(pair.last_sequence, 8, out);
  }
  return std::vector<uint8_t>(out.begin(), out.end());
}

Status ParseAudit(std::string_view payload, LinkAudit* audit) {
  Reader in(payload);
  uint64_t count = 0;
  THEATER_RETURN_IF_ERROR(in.Int(4, &count, "audit's count of awaited answers"));
  // Each entry takes at least 8 bytes: a count past what is left is refused before any is read.
  if (count > payload.size() / 8) return InvalidArgument("a lattice audit counts more answers than it holds");
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t reference = 0;
    THEATER_RETURN_IF_ERROR(in.Int(8, &reference, "audit's awaited answer"));
    audit->awaited.push_back(reference);
  }
  THEATER_RETURN_IF_ERROR(in.Int(4, &count, "audit's count of pairs"));
  if (count > payload.size() / 12) return InvalidArgument("a lattice audit counts more pairs than it holds");
  for (uint64_t i = 0; i < count; ++i) {
    LinkAudit::Pair pair;
    THEATER_RETURN_IF_ERROR(in.Text(&pair.sender, kMaxLinkIdBytes, "audit's sender"));
    THEATER_RETURN_IF_ERROR(in.Text(&pair.target, kMaxLinkIdBytes, "audit's target"));
    THEATER_RETURN_IF_ERROR(in.Int(8, &pair.last_sequence, "audit's sequence"));
    audit->pairs.push_back(std::move(pair));
  }
  if (!in.done()) return InvalidArgument("a lattice audit has bytes after its last pair");
  return Status::Ok();
}

Status ParseBatchInto(std::string_view batch, LinkBatchHeader* header,
                      std::vector<LinkRecord>* records, size_t* count) {
  *count = 0;
  Reader in(batch);
  uint64_t version = 0;
  THEATER_RETURN_IF_ERROR(in.Int(1, &version, "version"));
  if (version != kBatchVersion) {
    return InvalidArgument("a lattice batch of version " + std::to_string(version) +
                           " (this host speaks version " + std::to_string(kBatchVersion) + ")");
  }
  THEATER_RETURN_IF_ERROR(in.Text(&header->origin, kMaxLinkIdBytes, "origin host"));
  THEATER_RETURN_IF_ERROR(in.Int(8, &header->epoch, "origin epoch"));
  while (!in.done()) {
    if (*count == records->size()) records->emplace_back();
    LinkRecord& record = (*records)[*count];
    uint64_t kind = 0;
    THEATER_RETURN_IF_ERROR(in.Int(1, &kind, "kind"));
    if (kind < static_cast<uint64_t>(RecordKind::kSend) ||
        kind > static_cast<uint64_t>(RecordKind::kSupervise)) {
      return InvalidArgument("a lattice batch has a record of unknown kind " +
                             std::to_string(kind));
    }
    record.kind = static_cast<RecordKind>(kind);
    THEATER_RETURN_IF_ERROR(in.Int(8, &record.sequence, "sequence"));
    THEATER_RETURN_IF_ERROR(in.Int(8, &record.reference, "reference"));
    THEATER_RETURN_IF_ERROR(in.Text(&record.sender, kMaxLinkIdBytes, "sender"));
    THEATER_RETURN_IF_ERROR(in.Text(&record.target, kMaxLinkIdBytes, "target"));
    THEATER_RETURN_IF_ERROR(in.Text(&record.channel, kMaxLinkIdBytes, "channel"));
    THEATER_RETURN_IF_ERROR(in.Bytes(&record.payload, "payload"));
    record.code = StatusCode::kOk;
    record.text.clear();
    record.accepted = true;
    record.has_message = false;
    if (IsAnswer(record.kind)) {
      uint64_t code = 0, accepted = 0, has_message = 0;
      THEATER_RETURN_IF_ERROR(in.Int(1, &code, "status code"));
      if (code > static_cast<uint64_t>(StatusCode::kInternal)) {
        return InvalidArgument("a lattice batch has an answer of unknown status code " +
                               std::to_string(code));
      }
      record.code = static_cast<StatusCode>(code);
      THEATER_RETURN_IF_ERROR(in.Text(&record.text, kMaxLinkTextBytes, "status text"));
      THEATER_RETURN_IF_ERROR(in.Int(1, &accepted, "accepted"));
      THEATER_RETURN_IF_ERROR(in.Int(1, &has_message, "message flag"));
      if (accepted > 1 || has_message > 1) {
        return InvalidArgument("a lattice batch has an answer whose flags are not 0 or 1");
      }
      record.accepted = accepted != 0;
      record.has_message = has_message != 0;
    }
    ++*count;
  }
  return Status::Ok();
}

Status ParseBatch(std::string_view batch, LinkBatchHeader* header,
                  std::vector<LinkRecord>* records) {
  records->clear();
  size_t count = 0;
  Status parsed = ParseBatchInto(batch, header, records, &count);
  records->resize(count);
  return parsed;
}

}  // namespace theater::cluster
