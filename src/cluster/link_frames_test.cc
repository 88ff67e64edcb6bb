// Theater: a WebAssembly actor runtime.
//
// The frames between hosts (link_frames.h): every kind round-trips, and what another host could
// send malformed (truncated anywhere, a length past what is left or past a limit, an unknown
// kind, version, status code or flag) is refused with an error naming it.
#include "cluster/link_frames.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;

std::string SampleBatch(std::vector<LinkRecord>* records) {
  LinkRecord send;
  send.kind = RecordKind::kSend;
  send.sequence = 7;
  send.sender = "a1";
  send.target = "b2";
  send.payload = {1, 2, 3};
  LinkRecord answer;
  answer.kind = RecordKind::kAnswer;
  answer.reference = 99;
  answer.target = "b2";
  answer.code = StatusCode::kNotFound;
  answer.text = "actor b2 not found";
  answer.accepted = false;
  LinkRecord open;
  open.kind = RecordKind::kChannelOpen;
  open.sequence = 8;
  open.reference = 100;
  open.sender = "a1";
  open.target = "b2";
  open.channel = "ch_0123";
  open.payload = std::vector<uint8_t>(1000, 'x');
  *records = {send, answer, open};
  std::string batch;
  BeginBatch(LinkBatchHeader{"host-a", 42}, batch);
  for (const LinkRecord& r : *records) {
    size_t before = batch.size();
    AppendRecord(r, batch);
    EXPECT_EQ(batch.size() - before, RecordSize(r));
  }
  return batch;
}

TEST(LinkFramesTest, EveryKindRoundTrips) {
  std::vector<LinkRecord> sent;
  const std::string batch = SampleBatch(&sent);
  LinkBatchHeader header;
  std::vector<LinkRecord> got;
  ASSERT_TRUE(ParseBatch(batch, &header, &got).ok());
  EXPECT_EQ(header.origin, "host-a");
  EXPECT_EQ(header.epoch, 42u);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].kind, sent[i].kind);
    EXPECT_EQ(got[i].sequence, sent[i].sequence);
    EXPECT_EQ(got[i].reference, sent[i].reference);
    EXPECT_EQ(got[i].sender, sent[i].sender);
    EXPECT_EQ(got[i].target, sent[i].target);
    EXPECT_EQ(got[i].channel, sent[i].channel);
    EXPECT_EQ(got[i].payload, sent[i].payload);
    EXPECT_EQ(got[i].code, sent[i].code);
    EXPECT_EQ(got[i].text, sent[i].text);
    EXPECT_EQ(got[i].accepted, sent[i].accepted);
  }
}

// A receiving host parses into records kept from batch to batch: a slot that held an answer and
// then gets a send holds nothing of the answer, and slots past the batch are left alone.
TEST(LinkFramesTest, ParsingIntoKeptRecordsOverwritesEveryField) {
  std::vector<LinkRecord> sent;
  const std::string first = SampleBatch(&sent);
  LinkBatchHeader header;
  std::vector<LinkRecord> kept;
  size_t count = 0;
  ASSERT_TRUE(ParseBatchInto(first, &header, &kept, &count).ok());
  ASSERT_EQ(count, 3u);
  // The second batch: a send where the answer was.
  LinkRecord send;
  send.kind = RecordKind::kSend;
  send.sequence = 9;
  send.sender = "a3";
  send.target = "b4";
  std::string second;
  BeginBatch(LinkBatchHeader{"host-c", 43}, second);
  AppendRecord(sent[0], second);
  AppendRecord(send, second);
  ASSERT_TRUE(ParseBatchInto(second, &header, &kept, &count).ok());
  ASSERT_EQ(count, 2u);
  EXPECT_EQ(header.origin, "host-c");
  EXPECT_EQ(kept[1].kind, RecordKind::kSend);
  EXPECT_EQ(kept[1].sequence, 9u);
  EXPECT_EQ(kept[1].reference, 0u);
  EXPECT_EQ(kept[1].sender, "a3");
  EXPECT_EQ(kept[1].target, "b4");
  EXPECT_EQ(kept[1].code, StatusCode::kOk);
  EXPECT_EQ(kept[1].text, "");
  EXPECT_TRUE(kept[1].accepted);
  EXPECT_TRUE(kept[1].payload.empty());
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[2].channel, "ch_0123");  // past the batch: as it was
  // A malformed batch says so and counts only the records read whole.
  ASSERT_FALSE(ParseBatchInto(second.substr(0, second.size() - 3), &header, &kept, &count).ok());
  EXPECT_EQ(count, 1u);
}

TEST(LinkFramesTest, ATruncatedBatchIsRefusedWhereverItEnds) {
  std::vector<LinkRecord> sent;
  const std::string batch = SampleBatch(&sent);
  size_t refused = 0;
  for (size_t cut = 0; cut < batch.size(); ++cut) {
    LinkBatchHeader header;
    std::vector<LinkRecord> got;
    Status parsed = ParseBatch(std::string_view(batch).substr(0, cut), &header, &got);
    // A cut between two records is a shorter, whole batch.
    if (!parsed.ok()) {
      ++refused;
      EXPECT_EQ(parsed.code(), StatusCode::kInvalidArgument);
      EXPECT_THAT(parsed.message(), HasSubstr("a lattice batch"));
    }
  }
  EXPECT_GE(refused, batch.size() - 3);
}

TEST(LinkFramesTest, LengthsKindsAndFlagsOutOfBoundsAreNamed) {
  LinkBatchHeader header;
  std::vector<LinkRecord> got;
  std::string batch;
  BeginBatch(LinkBatchHeader{"h", 1}, batch);
  const std::string base = batch;
  // An unknown kind.
  std::string bad = base + std::string(1, '\x0a');
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("unknown kind 10"));
  // An id past its limit.
  LinkRecord record;
  record.sender = std::string(kMaxLinkIdBytes + 1, 's');
  bad = base;
  AppendRecord(record, bad);
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("sender is 257 bytes"));
  // A payload longer than the batch.
  record = LinkRecord{};
  record.payload = {1, 2, 3, 4};
  bad = base;
  AppendRecord(record, bad);
  bad.resize(bad.size() - 2);
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("ends inside a record's payload"));
  // Another version.
  bad = base;
  bad[0] = 2;
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("version 2"));
  // An answer's flag that is not 0 or 1, and an unknown status code.
  record = LinkRecord{};
  record.kind = RecordKind::kAnswer;
  bad = base;
  AppendRecord(record, bad);
  bad.back() = 2;
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("not 0 or 1"));
  bad = base;
  AppendRecord(record, bad);
  bad[bad.size() - 5] = static_cast<char>(200);  // the status code: before text (2), flags (2)
  EXPECT_THAT(ParseBatch(bad, &header, &got).message(), HasSubstr("unknown status code 200"));
}

TEST(LinkFramesTest, AnAuditRoundTripsAndItsCountsAreBounded) {
  LinkAudit audit;
  audit.awaited = {3, 9, 1ull << 40};
  audit.pairs.push_back({"sender-1", "target-1", 400});
  audit.pairs.push_back({"", "target-2", 1});
  const std::vector<uint8_t> bytes = EncodeAudit(audit);
  LinkAudit back;
  ASSERT_TRUE(ParseAudit(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                         &back)
                  .ok());
  EXPECT_EQ(back.awaited, audit.awaited);
  ASSERT_EQ(back.pairs.size(), 2u);
  EXPECT_EQ(back.pairs[0].sender, "sender-1");
  EXPECT_EQ(back.pairs[1].target, "target-2");
  EXPECT_EQ(back.pairs[0].last_sequence, 400u);
  // A count past what the payload could hold is refused before anything is read or reserved.
  const std::string huge("\xff\xff\xff\x7f", 4);
  LinkAudit refused;
  EXPECT_THAT(ParseAudit(huge, &refused).message(), HasSubstr("more answers than it holds"));
  std::string trailing(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  trailing.push_back('x');
  EXPECT_THAT(ParseAudit(trailing, &refused).message(), HasSubstr("bytes after its last pair"));
}

}  // namespace
}  // namespace theater::cluster
