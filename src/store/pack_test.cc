// Theater: a WebAssembly actor runtime.
//
// Tests of ContentStore's pack files (docs/store.md, "Pack files"): the record format and its
// scanner, the in-memory indexes (fingerprint filter, location cache, content cache), and the
// store's behaviour with packs: roll-over, reads of content whose index rows are not committed
// yet, recovery after kill -9 and from torn or damaged packs, sticky index-commit errors, dedup
// across pending and committed content, migration of a version-1 database, concurrency, and a
// second instance seeing what the first has not indexed yet. Real files in a fresh directory
// under the system's temporary directory; crashes are real processes killed with SIGKILL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "store/content_cache.h"
#include "store/key_filter.h"
#include "store/location_cache.h"
#include "store/pack_format.h"
#include "store/store_test_util.h"
#include "testing/wait_for.h"
#include "theater/content_store.h"

namespace theater::store {
namespace {

using testing_util::ExpectError;
using testing_util::HashOf;
using testing_util::Pattern;
using testing_util::TestDir;
using testing_util::Value;

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr char kStoreId[] = "11111111-2222-4333-8444-555555555555";

// Options under which index rows are committed only when asked (Flush, a label, Close).
ContentStore::Options Lazy() {
  ContentStore::Options options;
  options.index_commit_delay_us = 600'000'000;
  options.index_batch_max = 1 << 20;
  options.max_pending = 1 << 20;
  return options;
}

std::unique_ptr<ContentStore> OpenStore(const std::filesystem::path& db,
                                        ContentStore::Options options = {}) {
  auto store = ContentStore::Open(db, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The pack files in `dir`, by id.
std::vector<std::filesystem::path> PackFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".pack") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One integer from the database (for checks of what is committed).
int64_t QueryInt(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  int64_t value = -1;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

int64_t RowsFor(const std::filesystem::path& db_path, const std::string& hash) {
  return QueryInt(db_path, "SELECT COUNT(*) FROM store_content WHERE hash = x'" + hash + "';");
}

// Flips one byte of a file in place.
void FlipByte(const std::filesystem::path& path, uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.good()) << path;
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5a);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&byte, 1);
}

// --- The record format ---------------------------------------------------------------------------

TEST(StorePackFormatTest, Crc32cMatchesTheKnownCheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(internal::Crc32c({reinterpret_cast<const uint8_t*>(text.data()), text.size()}),
            0xe3069283u);
  EXPECT_EQ(internal::Crc32c({}), 0u);
  // Any flipped bit changes it (odd and even lengths, so both code paths run).
  for (size_t size : {1u, 7u, 8u, 4096u, 4099u}) {
    std::vector<uint8_t> bytes = Pattern(size, size);
    const uint32_t crc = internal::Crc32c(bytes);
    bytes[size / 2] ^= 0x10;
    EXPECT_NE(internal::Crc32c(bytes), crc) << size;
  }
}

TEST(StorePackFormatTest, HeadersRoundTripAndRejectDamage) {
  const internal::PackSalt salt = internal::NewPackSalt();
  EXPECT_NE(salt, internal::NewPackSalt());
  const auto pack_header = internal::EncodePackHeader({42, salt});
  auto decoded = internal::DecodePackHeader(pack_header);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->pack_id, 42u);
  EXPECT_EQ(decoded->salt, salt);
  for (size_t i = 0; i < pack_header.size(); ++i) {
    auto damaged = pack_header;
    damaged[i] ^= 1;
    EXPECT_FALSE(internal::DecodePackHeader(damaged).has_value()) << "byte " << i;
  }

  const std::vector<uint8_t> content = Pattern(1000, 1);
  const Sha256Digest digest = Sha256(content);
  const auto header = internal::EncodeRecordHeader(salt, kStoreId, digest, content.size(),
                                                   internal::Crc32c(content));
  auto record = internal::DecodeRecordHeader(salt, header);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->length, 1000u);
  EXPECT_EQ(record->store(), kStoreId);
  EXPECT_EQ(record->digest, digest);
  EXPECT_EQ(record->content_crc, internal::Crc32c(content));
  for (size_t i = 0; i < header.size(); ++i) {
    auto damaged = header;
    damaged[i] ^= 0x80;
    EXPECT_FALSE(internal::DecodeRecordHeader(salt, damaged).has_value()) << "byte " << i;
  }
  // Another pack's salt: a header copied (or forged inside content) is not a record here.
  EXPECT_FALSE(internal::DecodeRecordHeader(internal::NewPackSalt(), header).has_value());
}

// Writes a pack of `count` records of `size` bytes (content Pattern(size, i)) and returns the
// record offsets.
std::vector<uint64_t> WritePack(const std::filesystem::path& path, const internal::PackSalt& salt,
                                int count, size_t size) {
  std::ofstream out(path, std::ios::binary);
  const auto header = internal::EncodePackHeader({1, salt});
  out.write(reinterpret_cast<const char*>(header.data()), header.size());
  std::vector<uint64_t> offsets;
  uint64_t offset = header.size();
  for (int i = 0; i < count; ++i) {
    const std::vector<uint8_t> content = Pattern(size, i);
    const auto record = internal::EncodeRecordHeader(salt, kStoreId, Sha256(content),
                                                     content.size(), internal::Crc32c(content));
    out.write(reinterpret_cast<const char*>(record.data()), record.size());
    out.write(reinterpret_cast<const char*>(content.data()), content.size());
    offsets.push_back(offset);
    offset += internal::RecordBytes(size);
  }
  return offsets;
}

// The record indexes (seeds) a scan finds.
struct Scanned {
  internal::ScanResult result;
  std::vector<uint64_t> offsets;
};
Scanned Scan(const std::filesystem::path& path, const internal::PackSalt& salt,
             internal::ScanMode mode) {
  Scanned out;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  const uint64_t size = std::filesystem::file_size(path);
  out.result = Value(
      internal::ScanRecords(fd, salt, internal::kPackHeaderBytes, size, 1 << 20, mode,
                            [&](const internal::RecordHeader&, uint64_t offset,
                                std::span<const uint8_t>) { out.offsets.push_back(offset); }));
  ::close(fd);
  return out;
}

TEST(StorePackFormatTest, ScanStopsAtATornTailAndSkipsDamageInRecovery) {
  TestDir dir("theater-pack");
  const std::filesystem::path path = dir.path() / "00000001.pack";
  const internal::PackSalt salt = internal::NewPackSalt();
  const std::vector<uint64_t> offsets = WritePack(path, salt, 10, 500);
  const uint64_t full = std::filesystem::file_size(path);

  Scanned intact = Scan(path, salt, internal::ScanMode::kRecover);
  EXPECT_EQ(intact.offsets, offsets);
  EXPECT_EQ(intact.result.end, full);
  EXPECT_FALSE(intact.result.torn_tail);

  // A torn last record: stopped at, and reported as the tail to cut.
  std::filesystem::resize_file(path, full - 200);
  Scanned torn = Scan(path, salt, internal::ScanMode::kRecover);
  EXPECT_EQ(torn.offsets.size(), 9u);
  EXPECT_TRUE(torn.result.torn_tail);
  EXPECT_EQ(torn.result.end, offsets[9]);

  // Damage in the middle: a flipped content byte (record 3) and a flipped header byte (record 6).
  FlipByte(path, offsets[3] + internal::kRecordHeaderBytes + 17);
  FlipByte(path, offsets[6] + 20);
  Scanned live = Scan(path, salt, internal::ScanMode::kStopAtDamage);
  EXPECT_EQ(live.offsets.size(), 3u);  // a live pack's tail is not skipped over
  EXPECT_EQ(live.result.end, offsets[3]);
  Scanned recovered = Scan(path, salt, internal::ScanMode::kRecover);
  EXPECT_EQ(recovered.offsets,
            (std::vector<uint64_t>{offsets[0], offsets[1], offsets[2], offsets[4], offsets[5],
                                   offsets[7], offsets[8]}));
  EXPECT_EQ(recovered.result.damaged, 3u);  // 3, 6, and the torn 9
  EXPECT_TRUE(recovered.result.torn_tail);
  EXPECT_EQ(recovered.result.end, offsets[9]);
}

TEST(StorePackFormatTest, AFakeRecordInsideContentIsNeverTakenForOne) {
  // Content that embeds a well-formed record of its own (header and content) in the middle:
  // after damage right before it, recovery resynchronises on record magic, lands on the fake
  // header, and must refuse it: its checksum was made without this pack's salt.
  TestDir dir("theater-pack");
  const std::filesystem::path path = dir.path() / "00000001.pack";
  const internal::PackSalt salt = internal::NewPackSalt();
  const std::vector<uint8_t> inner = Pattern(300, 99);
  const auto fake = internal::EncodeRecordHeader(internal::NewPackSalt(), kStoreId, Sha256(inner),
                                                 inner.size(), internal::Crc32c(inner));
  std::vector<uint8_t> outer = Pattern(200, 98);
  outer.insert(outer.end(), fake.begin(), fake.end());
  outer.insert(outer.end(), inner.begin(), inner.end());
  {
    std::ofstream out(path, std::ios::binary);
    const auto header = internal::EncodePackHeader({1, salt});
    out.write(reinterpret_cast<const char*>(header.data()), header.size());
    const auto record = internal::EncodeRecordHeader(salt, kStoreId, Sha256(outer), outer.size(),
                                                     internal::Crc32c(outer));
    out.write(reinterpret_cast<const char*>(record.data()), record.size());
    out.write(reinterpret_cast<const char*>(outer.data()), outer.size());
  }
  FlipByte(path, internal::kPackHeaderBytes + 8);  // the real record's length
  Scanned scanned = Scan(path, salt, internal::ScanMode::kRecover);
  EXPECT_TRUE(scanned.offsets.empty());
  EXPECT_TRUE(scanned.result.torn_tail);
  EXPECT_EQ(scanned.result.end, internal::kPackHeaderBytes);
}

// --- In-memory indexes ---------------------------------------------------------------------------

TEST(StoreKeyFilterTest, NeverMissesWhatWasInsertedAndGrows) {
  internal::KeyFilter filter;
  std::vector<Sha256Digest> digests;
  for (int i = 0; i < 50000; ++i) digests.push_back(Sha256(Pattern(16, i)));
  for (int i = 0; i < 50000; ++i)
    filter.Insert(internal::KeyFilter::Fingerprint(i % 3, digests[i]));
  for (int i = 0; i < 50000; ++i) {
    ASSERT_TRUE(filter.MaybeContains(internal::KeyFilter::Fingerprint(i % 3, digests[i]))) << i;
  }
  int false_positives = 0;
  for (int i = 0; i < 50000; ++i) {
    false_positives += filter.MaybeContains(internal::KeyFilter::Fingerprint(7, digests[i]));
  }
  EXPECT_LT(false_positives, 5);
  EXPECT_GE(filter.size(), 49990u);  // pairs sharing a fingerprint are stored once
  EXPECT_LE(filter.memory_bytes(), 50000u * 12);
}

TEST(StoreLocationCacheTest, RemembersRecentLocationsAndForgetsOldOnes) {
  internal::LocationCache cache(1024);
  const Sha256Digest a = Sha256(Pattern(10, 1));
  EXPECT_FALSE(cache.Find(1, a).has_value());
  cache.Insert(1, a, {3, 12345, 4096});
  auto found = cache.Find(1, a);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->pack, 3u);
  EXPECT_EQ(found->offset, 12345u);
  EXPECT_EQ(found->size, 4096u);
  EXPECT_FALSE(cache.Find(2, a).has_value());  // keyed by store too
  // Far more pairs than slots: recent ones are there, the table stays bounded, and whatever a
  // lookup returns is one of the locations inserted for that pair (callers verify anyway).
  for (int i = 0; i < 100000; ++i) cache.Insert(1, Sha256(Pattern(12, i)), {1, uint64_t(i), 7});
  int recent = 0;
  for (int i = 99900; i < 100000; ++i) recent += cache.Find(1, Sha256(Pattern(12, i))).has_value();
  EXPECT_GT(recent, 80);
  for (int i = 0; i < 100000; i += 97) {
    auto location = cache.Find(1, Sha256(Pattern(12, i)));
    if (location) {
      EXPECT_EQ(location->offset, uint64_t(i));
    }
  }
  internal::LocationCache none(0);
  none.Insert(1, a, {3, 1, 1});
  EXPECT_FALSE(none.Find(1, a).has_value());
}

TEST(StoreContentCacheTest, BehavesLikeAnLruOfItsCapacityUnderRandomOperations) {
  // Against a straightforward model: a list in recency order.
  constexpr size_t kCapacity = 20000;
  internal::ContentCache cache(kCapacity);
  std::list<std::pair<int, size_t>> model;  // (key, size), most recent first
  std::mt19937_64 random(5);
  auto digest = [](int key) { return Sha256(Pattern(8, key)); };
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(random() % 300);
    auto it =
        std::find_if(model.begin(), model.end(), [&](const auto& e) { return e.first == key; });
    if (random() % 2 == 0) {
      auto bytes = cache.Find(key % 2, digest(key));
      ASSERT_EQ(bytes != nullptr, it != model.end()) << step;
      if (bytes != nullptr) {
        EXPECT_EQ(bytes->size(), it->second);
        model.splice(model.begin(), model, it);
      }
    } else {
      const size_t size = 1 + static_cast<size_t>(key) * 7 % 900;
      cache.Insert(key % 2, digest(key), std::make_shared<const std::vector<uint8_t>>(size, 1));
      if (it != model.end()) {
        model.splice(model.begin(), model, it);
      } else {
        size_t total = size;
        for (const auto& e : model) total += e.second;
        while (total > kCapacity) {
          total -= model.back().second;
          model.pop_back();
        }
        model.emplace_front(key, size);
      }
    }
    size_t total = 0;
    for (const auto& e : model) total += e.second;
    ASSERT_EQ(cache.size_bytes(), total) << step;
  }
}

TEST(StoreContentCacheTest, CopyReusesTheStorageOfEvictedEntriesNobodyHolds) {
  internal::ContentCache cache(1000);
  const std::vector<uint8_t> a = Pattern(600, 1);
  const std::vector<uint8_t> b = Pattern(600, 2);
  const std::vector<uint8_t> c = Pattern(590, 3);
  internal::ContentCache::Bytes first = cache.Copy(a);
  const uint8_t* storage = first->data();
  cache.Insert(1, Sha256(a), std::move(first));
  internal::ContentCache::Bytes held = cache.Find(1, Sha256(a));  // a reader still copying it
  cache.Insert(1, Sha256(b), cache.Copy(b));                      // evicts a
  internal::ContentCache::Bytes copy = cache.Copy(c);
  EXPECT_NE(copy->data(), storage);  // held: not reused
  EXPECT_EQ(*held, a);
  held.reset();
  cache.Insert(1, Sha256(c), std::move(copy));  // evicts b, which nobody holds
  internal::ContentCache::Bytes again = cache.Copy(a);
  EXPECT_EQ(*again, a);  // b's storage, reused, with the new bytes
  EXPECT_EQ(*cache.Find(1, Sha256(c)), c);
  EXPECT_EQ(cache.Find(1, Sha256(b)), nullptr);
}

// --- The store with packs ------------------------------------------------------------------------

class StorePackTest : public ::testing::Test {
 protected:
  std::filesystem::path db() const { return dir_.path() / "theater.db"; }
  std::filesystem::path pack_dir() const { return dir_.path() / "store-packs"; }
  TestDir dir_{"theater-pack"};
};

TEST_F(StorePackTest, PacksRollOverAtTheirSizeLimit) {
  ContentStore::Options options;
  options.pack_max_bytes = 64 << 10;
  std::map<std::string, std::vector<uint8_t>> stored;
  {
    auto store = OpenStore(db(), options);
    ASSERT_OK(store->EnsureStore(kStoreId));
    for (int i = 0; i < 100; ++i) {
      std::vector<uint8_t> content = Pattern(3000 + i, i);
      stored[Value(store->Put(kStoreId, content))] = content;
    }
    // A record larger than the limit gets a pack of its own.
    std::vector<uint8_t> big = Pattern(100 << 10, 1000);
    stored[Value(store->Put(kStoreId, big))] = big;
    for (const auto& [hash, bytes] : stored) EXPECT_EQ(Value(store->Get(kStoreId, hash)), bytes);
    EXPECT_GE(store->stats().packs_created, 5u);
  }
  const std::vector<std::filesystem::path> packs = PackFiles(pack_dir());
  EXPECT_GE(packs.size(), 5u);
  size_t over = 0;
  for (const auto& pack : packs) over += std::filesystem::file_size(pack) > (64u << 10);
  EXPECT_EQ(over, 1u);  // only the big record's
  auto store = OpenStore(db(), options);
  for (const auto& [hash, bytes] : stored) EXPECT_EQ(Value(store->Get(kStoreId, hash)), bytes);
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), stored.size());
  EXPECT_EQ(store->stats().recovered_records, 0u);  // Close committed every row
}

TEST_F(StorePackTest, ContentIsReadableBeforeItsIndexRowIsCommitted) {
  auto store = OpenStore(db(), Lazy());
  ASSERT_OK(store->EnsureStore(kStoreId));
  const std::vector<uint8_t> a = Pattern(5000, 1);
  const std::vector<uint8_t> b = Pattern(70000, 2);  // too big for the content cache
  const std::string ha = Value(store->Put(kStoreId, a));
  const std::string hb = Value(store->Put(kStoreId, b));
  EXPECT_EQ(RowsFor(db(), ha), 0);  // nothing committed yet
  EXPECT_EQ(RowsFor(db(), hb), 0);
  EXPECT_EQ(Value(store->Get(kStoreId, ha)), a);
  EXPECT_EQ(Value(store->Get(kStoreId, hb)), b);
  EXPECT_TRUE(Value(store->Exists(kStoreId, hb)));
  EXPECT_EQ(Value(store->ContentSize(kStoreId, hb)), 70000u);
  EXPECT_THAT(Value(store->ListContent(kStoreId)), UnorderedElementsAreArray({ha, hb}));
  EXPECT_EQ(Value(store->TotalSize(kStoreId)), 75000u);

  // A label naming pending content commits the content's row with it.
  ASSERT_OK(store->SetLabel(kStoreId, "b", hb));
  EXPECT_EQ(RowsFor(db(), hb), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_labels WHERE label = 'b';"), 1);
  EXPECT_EQ(RowsFor(db(), ha), 0);
  EXPECT_EQ(Value(store->TotalSize(kStoreId)), 75000u);  // each piece once, committed or not
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), 2u);

  ASSERT_OK(store->Flush());
  EXPECT_EQ(RowsFor(db(), ha), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content WHERE pack IS NOT NULL;"), 2);
  EXPECT_GT(QueryInt(db(), "SELECT MAX(indexed_to) FROM store_packs;"), 75000);
  EXPECT_EQ(Value(store->Get(kStoreId, ha)), a);
  EXPECT_EQ(Value(store->TotalSize(kStoreId)), 75000u);
}

TEST_F(StorePackTest, StoringTheSameBytesAgainAppendsNothingWhetherPendingOrCommitted) {
  ContentStore::Options options = Lazy();
  options.cache_bytes = 0;
  std::string hash;
  const std::vector<uint8_t> content = Pattern(4096, 7);
  {
    auto store = OpenStore(db(), options);
    ASSERT_OK(store->EnsureStore(kStoreId));
    hash = Value(store->Put(kStoreId, content));
    const uint64_t bytes = store->stats().pack_bytes;
    EXPECT_EQ(Value(store->Put(kStoreId, content)), hash);  // pending
    EXPECT_EQ(store->stats().pack_bytes, bytes);
    // With a label: the pending record's row is committed with the label, no second copy.
    EXPECT_EQ(Value(store->PutAtLabel(kStoreId, "x", content)), hash);
    EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_blobs;"), 0);
    ASSERT_OK(store->Flush());
    EXPECT_EQ(Value(store->Put(kStoreId, content)), hash);  // committed
    EXPECT_EQ(store->stats().pack_bytes, bytes);
    const ContentStore::Stats stats = store->stats();
    EXPECT_EQ(stats.puts, 4u);
    EXPECT_EQ(stats.new_content, 1u);
    // Per store: another store gets a copy of its own.
    ASSERT_OK(store->EnsureStore("22222222-2222-4333-8444-555555555555"));
    EXPECT_EQ(Value(store->Put("22222222-2222-4333-8444-555555555555", content)), hash);
    EXPECT_GT(store->stats().pack_bytes, bytes);
  }
  auto store = OpenStore(db(), options);
  const uint64_t before = std::filesystem::file_size(PackFiles(pack_dir()).back());
  EXPECT_EQ(Value(store->Put(kStoreId, content)), hash);  // known from the index at Open
  EXPECT_EQ(store->stats().pack_bytes, 0u);
  EXPECT_EQ(std::filesystem::file_size(PackFiles(pack_dir()).back()), before);
  EXPECT_EQ(RowsFor(db(), hash), 2);  // one per store
}

// A child process stores content in a loop and reports, through a pipe, every Put that has
// returned; it is killed with SIGKILL at some point. Every reported Put must be readable after
// reopening, with its bytes.
void KillNineWhilePutting(const std::filesystem::path& dir, Durability durability) {
  const std::filesystem::path db = dir / "theater.db";
  ContentStore::Options options;
  options.durability = durability;
  options.pack_max_bytes = 1 << 20;  // roll-overs during the run too
  auto size_of = [](int i) { return static_cast<size_t>(i * 37 % 9000); };
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Fork before this process opens anything (no threads to lose in the child).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto store = ContentStore::Open(db, options);
    if (!store.ok() || !(*store)->EnsureStore(kStoreId).ok()) _exit(2);
    for (int i = 0;; ++i) {
      if (i % 50 == 49) {
        if (!(*store)->PutAtLabel(kStoreId, "latest", Pattern(size_of(i), i)).ok()) _exit(3);
      } else if (!(*store)->Put(kStoreId, Pattern(size_of(i), i)).ok()) {
        _exit(3);
      }
      if (::write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
    }
  }
  ::close(fds[1]);
  std::vector<int> reported;
  std::mt19937 random(static_cast<unsigned>(getpid()));
  const size_t kill_after = 1500 + random() % 1500;
  int i = 0;
  while (reported.size() < kill_after && ::read(fds[0], &i, sizeof i) == sizeof i) {
    reported.push_back(i);
  }
  std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;
  while (::read(fds[0], &i, sizeof i) == sizeof i) reported.push_back(i);
  ::close(fds[0]);
  ASSERT_GE(reported.size(), kill_after);

  auto store = OpenStore(db, options);
  ASSERT_NE(store, nullptr);
  for (int index : reported) {
    const std::vector<uint8_t> expected = Pattern(size_of(index), index);
    Result<std::vector<uint8_t>> got = store->Get(kStoreId, HashOf(expected));
    ASSERT_TRUE(got.ok()) << "Put #" << index
                          << " returned but is lost: " << got.status().ToString();
    ASSERT_EQ(*got, expected) << index;
  }
  const std::optional<std::string> latest = Value(store->GetLabel(kStoreId, "latest"));
  if (latest) {
    EXPECT_TRUE(Value(store->Exists(kStoreId, *latest)));
  }
  // Whatever the crash left is now indexed: nothing is lost on the next reopen either.
  ASSERT_OK(store->Flush());
  store.reset();
  store = OpenStore(db, options);
  EXPECT_EQ(store->stats().recovered_records, 0u);
  for (size_t k = 0; k < reported.size(); k += 7) {
    const std::vector<uint8_t> expected = Pattern(size_of(reported[k]), reported[k]);
    EXPECT_EQ(Value(store->Get(kStoreId, HashOf(expected))), expected);
  }
}

TEST_F(StorePackTest, KillNineLosesNoPutThatReturned) {
  KillNineWhilePutting(dir_.path(), Durability::kBatched);
}

TEST_F(StorePackTest, KillNineLosesNoPutThatReturnedWithoutSyncs) {
  KillNineWhilePutting(dir_.path(), Durability::kNone);
}

TEST_F(StorePackTest, RecoveryIndexesIntactRecordsAndNeverServesDamagedOnes) {
  constexpr int kItems = 20;
  constexpr size_t kSize = 1000;
  // A child stores kItems pieces and exits without committing a single index row (the delay is
  // long and it never closes the store): what a crash leaves.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = ContentStore::Open(db(), Lazy());
    if (!store.ok() || !(*store)->EnsureStore(kStoreId).ok()) _exit(2);
    for (int i = 0; i < kItems; ++i) {
      if (!(*store)->Put(kStoreId, Pattern(kSize, i)).ok()) _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), 0);
  const std::vector<std::filesystem::path> packs = PackFiles(pack_dir());
  ASSERT_EQ(packs.size(), 1u);
  const std::filesystem::path pack = packs[0];
  auto offset_of = [](int i) {
    return internal::kPackHeaderBytes + static_cast<uint64_t>(i) * internal::RecordBytes(kSize);
  };
  const uint64_t full = std::filesystem::file_size(pack);
  ASSERT_EQ(full, offset_of(kItems));
  // Damage: a content byte of record 5, a header byte of record 9, and the last record torn.
  FlipByte(pack, offset_of(5) + internal::kRecordHeaderBytes + 123);
  FlipByte(pack, offset_of(9) + 30);
  std::filesystem::resize_file(pack, full - 300);

  std::unique_ptr<ContentStore> store = OpenStore(db());
  const std::set<int> lost = {5, 9, kItems - 1};
  for (int i = 0; i < kItems; ++i) {
    const std::vector<uint8_t> expected = Pattern(kSize, i);
    Result<std::vector<uint8_t>> got = store->Get(kStoreId, HashOf(expected));
    if (lost.count(i) != 0) {
      ExpectError(got.status(), StatusCode::kNotFound, "has no content");
    } else {
      EXPECT_EQ(Value(std::move(got)), expected) << i;
    }
  }
  const ContentStore::Stats stats = store->stats();
  EXPECT_EQ(stats.recovered_records, uint64_t{kItems - 3});
  EXPECT_EQ(stats.damaged_records, 3u);
  EXPECT_EQ(stats.truncated_bytes, internal::RecordBytes(kSize) - 300);
  EXPECT_EQ(std::filesystem::file_size(pack), offset_of(kItems - 1));  // the torn tail is cut
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), kItems - 3);

  // Appends go on after the cut, and survive another reopen.
  const std::vector<uint8_t> more = Pattern(kSize, 1000);
  const std::string more_hash = Value(store->Put(kStoreId, more));
  store.reset();
  store = OpenStore(db());
  EXPECT_EQ(Value(store->Get(kStoreId, more_hash)), more);
  EXPECT_EQ(store->stats().damaged_records, 0u);  // scans start where the index ends
  EXPECT_EQ(PackFiles(pack_dir()).size(), 1u);

  // Damage to an indexed record is reported, never served.
  store.reset();
  FlipByte(pack, offset_of(3) + internal::kRecordHeaderBytes + 1);
  store = OpenStore(db());
  ExpectError(store->Get(kStoreId, HashOf(Pattern(kSize, 3))).status(),
              StatusCode::kValidationError, "is damaged");
  EXPECT_EQ(Value(store->Get(kStoreId, HashOf(Pattern(kSize, 4)))), Pattern(kSize, 4));
}

TEST_F(StorePackTest, AFailedIndexCommitIsStickyUntilARetrySucceeds) {
  ContentStore::Options options;
  options.busy_timeout_ms = 50;
  options.index_retry_ms = 20;
  options.index_commit_delay_us = 1000;
  auto store = OpenStore(db(), options);
  ASSERT_OK(store->EnsureStore(kStoreId));
  const std::vector<uint8_t> before = Pattern(2000, 1);
  const std::string before_hash = Value(store->PutAtLabel(kStoreId, "before", before));

  // Another connection holds the database's write lock: the index writer cannot commit.
  sqlite3* blocker = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &blocker), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(blocker, "BEGIN IMMEDIATE;", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::vector<uint8_t> during = Pattern(3000, 2);
  const std::string during_hash = Value(store->Put(kStoreId, during));  // appended: fine
  ExpectError(store->Flush(), StatusCode::kUnavailable, "could not commit its index");
  // Every later write reports it (with SQLite's reason)...
  ExpectError(store->Put(kStoreId, Pattern(100, 3)).status(), StatusCode::kUnavailable,
              "database is locked");
  ExpectError(store->SetLabel(kStoreId, "during", during_hash), StatusCode::kUnavailable,
              "could not commit its index");
  ExpectError(store->RemoveLabel(kStoreId, "before"), StatusCode::kUnavailable,
              "could not commit its index");
  ExpectError(store->CreateStore().status(), StatusCode::kUnavailable, "could not commit");
  // ... while reads go on, the content whose row is stuck included.
  EXPECT_EQ(Value(store->Get(kStoreId, during_hash)), during);
  EXPECT_EQ(Value(store->Get(kStoreId, before_hash)), before);
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), 2u);
  EXPECT_EQ(Value(store->TotalSize(kStoreId)), 5000u);
  EXPECT_FALSE(Value(store->Exists(kStoreId, HashOf(Pattern(100, 3)))));  // the refused Put

  // Resolved: the next retry commits, and writes work again.
  ASSERT_EQ(sqlite3_exec(blocker, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(blocker);
  Status flushed;
  ::theater::testing_util::WaitFor([&] {
    flushed = store->Flush();
    return flushed.ok();
  });
  ASSERT_OK(flushed);
  EXPECT_EQ(RowsFor(db(), during_hash), 1);
  ASSERT_OK(store->SetLabel(kStoreId, "during", during_hash));
  const std::string after_hash = Value(store->Put(kStoreId, Pattern(100, 3)));
  store.reset();
  store = OpenStore(db(), options);
  EXPECT_EQ(Value(store->Get(kStoreId, after_hash)), Pattern(100, 3));
  EXPECT_EQ(Value(store->GetLabel(kStoreId, "during")), during_hash);
}

TEST_F(StorePackTest, AFullDatabaseKeepsFailingUntilReopenedWithRoom) {
  ContentStore::Options options;
  options.max_page_count = 16;  // the schema and a few index pages
  options.index_retry_ms = 10;
  std::map<std::string, std::vector<uint8_t>> stored;
  {
    auto store = OpenStore(db(), options);
    ASSERT_OK(store->EnsureStore(kStoreId));
    Status failure;
    for (int i = 0; i < 20000 && failure.ok(); ++i) {
      std::vector<uint8_t> content = Pattern(64, i);
      Result<std::string> put = store->Put(kStoreId, content);
      if (!put.ok()) {
        failure = put.status();
      } else {
        stored[*put] = content;
        if (i % 500 == 499) failure = store->Flush();
      }
    }
    ExpectError(failure, StatusCode::kResourceExhausted, "full");
    ExpectError(store->Flush(), StatusCode::kResourceExhausted, "could not commit its index");
    for (const auto& [hash, bytes] : stored) ASSERT_EQ(Value(store->Get(kStoreId, hash)), bytes);
  }
  // Reopened without the cap, the records the failed commits left are indexed from the packs.
  auto store = OpenStore(db());
  EXPECT_GT(store->stats().recovered_records, 0u);
  ASSERT_OK(store->Flush());
  for (const auto& [hash, bytes] : stored) ASSERT_EQ(Value(store->Get(kStoreId, hash)), bytes);
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), stored.size());
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"),
            static_cast<int64_t>(stored.size()));
}

TEST_F(StorePackTest, AVersionOneDatabaseIsMigratedInPlaceAndStaysReadable) {
  // What the previous layout wrote: small content inline in store_blobs, large content in a
  // file, labels; schema version 1.
  const std::vector<uint8_t> inline_a = Pattern(3000, 1);
  const std::vector<uint8_t> inline_b = Pattern(10, 2);
  const std::vector<uint8_t> large = Pattern(300000, 3);
  const std::string ha = HashOf(inline_a), hb = HashOf(inline_b), hl = HashOf(large);
  {
    sqlite3* db_handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &db_handle), SQLITE_OK);
    const std::string sql = R"sql(
PRAGMA page_size=8192; PRAGMA journal_mode=WAL;
CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO store_meta VALUES ('schema_version', 1);
CREATE TABLE store_stores (store_key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, owner TEXT,
  created INTEGER NOT NULL);
CREATE TABLE store_content (store_key INTEGER NOT NULL, hash BLOB NOT NULL, size INTEGER NOT NULL,
  blob_id INTEGER, PRIMARY KEY (store_key, hash)) WITHOUT ROWID;
CREATE INDEX store_content_files ON store_content (hash) WHERE blob_id IS NULL;
CREATE TABLE store_blobs (blob_id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE store_labels (store_key INTEGER NOT NULL, label TEXT NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (store_key, label)) WITHOUT ROWID;
INSERT INTO store_stores VALUES (7, ')sql" +
                            std::string(kStoreId) +
                            R"sql(', 'old-actor', 1700000000000);
INSERT INTO store_blobs VALUES (1, x')sql" +
                            HexEncode(inline_a) + R"sql(');
INSERT INTO store_blobs VALUES (2, x')sql" +
                            HexEncode(inline_b) + R"sql(');
INSERT INTO store_content VALUES (7, x')sql" +
                            ha + R"sql(', 3000, 1);
INSERT INTO store_content VALUES (7, x')sql" +
                            hb + R"sql(', 10, 2);
INSERT INTO store_content VALUES (7, x')sql" +
                            hl + R"sql(', 300000, NULL);
INSERT INTO store_labels VALUES (7, 'state', x')sql" +
                            ha + R"sql(');
)sql";
    ASSERT_EQ(sqlite3_exec(db_handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_handle);
    sqlite3_close(db_handle);
    const std::filesystem::path file = dir_.path() / "store-blobs" / hl.substr(0, 2) / hl;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(large.data()),
               static_cast<std::streamsize>(large.size()));
  }

  auto store = OpenStore(db());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryInt(db(), "SELECT value FROM store_meta WHERE key = 'schema_version';"), 2);
  EXPECT_EQ(store->stats().orphans_removed, 0u);  // the content file is still named by its row
  EXPECT_EQ(Value(store->Get(kStoreId, ha)), inline_a);
  EXPECT_EQ(Value(store->Get(kStoreId, hb)), inline_b);
  EXPECT_EQ(Value(store->Get(kStoreId, hl)), large);
  EXPECT_EQ(Value(store->GetLabel(kStoreId, "state")), ha);
  EXPECT_EQ(Value(store->StoreOwner(kStoreId)), std::optional<std::string>("old-actor"));
  EXPECT_THAT(Value(store->ListContent(kStoreId)), UnorderedElementsAreArray({ha, hb, hl}));
  EXPECT_EQ(Value(store->TotalSize(kStoreId)), 303010u);
  // Old content is not stored again; new content goes to a pack.
  EXPECT_EQ(Value(store->Put(kStoreId, inline_a)), ha);
  EXPECT_EQ(store->stats().pack_bytes, 0u);
  const std::vector<uint8_t> fresh = Pattern(4096, 4);
  const std::string hf = Value(store->Put(kStoreId, fresh));
  EXPECT_GT(store->stats().pack_bytes, 4096u);
  ASSERT_OK(store->ReplaceAtLabel(kStoreId, "state", hf));
  store.reset();
  store = OpenStore(db());
  EXPECT_EQ(Value(store->Get(kStoreId, hf)), fresh);
  EXPECT_EQ(Value(store->Get(kStoreId, hb)), inline_b);
  EXPECT_EQ(Value(store->GetLabel(kStoreId, "state")), hf);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content WHERE pack IS NOT NULL;"), 1);
}

TEST_F(StorePackTest, ConcurrentPutsAndGetsOfSharedAndOwnContent) {
  ContentStore::Options options;
  options.index_commit_delay_us = 2000;  // many commits while the threads run
  options.cache_bytes = 64 << 10;        // mostly read from the packs
  auto store = OpenStore(db(), options);
  ASSERT_OK(store->EnsureStore(kStoreId));
  constexpr int kThreads = 4;
  constexpr int kItems = 400;
  constexpr int kShared = 25;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      for (int i = 0; i < kItems; ++i) {
        const std::vector<uint8_t> own = Pattern(100 + (i * 13) % 5000, t * 100000 + i);
        const std::vector<uint8_t> shared = Pattern(2000 + i % kShared, 1000000 + i % kShared);
        Result<std::string> a = store->Put(kStoreId, own);
        Result<std::string> b = store->Put(kStoreId, shared);
        if (!a.ok() || !b.ok() || *b != HashOf(shared)) {
          errors++;
          continue;
        }
        mine.push_back(*a);
        Result<std::vector<uint8_t>> again = store->Get(kStoreId, mine[(i * 7) % mine.size()]);
        if (!again.ok() || HashOf(*again) != mine[(i * 7) % mine.size()]) errors++;
        Result<std::vector<uint8_t>> shared_again = store->Get(kStoreId, *b);
        if (!shared_again.ok() || *shared_again != shared) errors++;
        if (i % 100 == 0 && !store->Flush().ok()) errors++;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  const ContentStore::Stats stats = store->stats();
  EXPECT_EQ(stats.puts, uint64_t{2 * kThreads * kItems});
  EXPECT_EQ(stats.new_content, uint64_t{kThreads * kItems + kShared});
  // One record per distinct piece: nothing was appended twice.
  uint64_t expected_bytes = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kItems; ++i) expected_bytes += internal::RecordBytes(100 + (i * 13) % 5000);
  }
  for (int i = 0; i < kShared; ++i) expected_bytes += internal::RecordBytes(2000 + i);
  EXPECT_EQ(stats.pack_bytes, expected_bytes);
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), size_t{kThreads * kItems + kShared});
  store.reset();
  store = OpenStore(db(), options);
  EXPECT_EQ(Value(store->ListContent(kStoreId)).size(), size_t{kThreads * kItems + kShared});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), kThreads * kItems + kShared);
}

TEST_F(StorePackTest, AnotherInstanceSeesContentBeforeItIsIndexed) {
  auto first = OpenStore(db(), Lazy());
  auto second = OpenStore(db(), Lazy());
  ASSERT_OK(first->EnsureStore(kStoreId));
  const std::vector<uint8_t> content = Pattern(6000, 1);
  const std::string hash = Value(first->Put(kStoreId, content));
  EXPECT_EQ(RowsFor(db(), hash), 0);
  // Read from the first instance's pack as it grows.
  EXPECT_EQ(Value(second->Get(kStoreId, hash)), content);
  EXPECT_TRUE(Value(second->Exists(kStoreId, hash)));
  EXPECT_EQ(Value(second->ListContent(kStoreId)), std::vector<std::string>{hash});
  EXPECT_EQ(Value(second->TotalSize(kStoreId)), 6000u);
  // A label set through the second instance commits the row with it.
  ASSERT_OK(second->SetLabel(kStoreId, "shared", hash));
  EXPECT_EQ(RowsFor(db(), hash), 1);
  EXPECT_EQ(Value(first->GetLabel(kStoreId, "shared")), hash);
  // The second instance's own appends go to a pack of its own.
  const std::string other = Value(second->Put(kStoreId, Pattern(10, 2)));
  EXPECT_EQ(Value(first->Get(kStoreId, other)), Pattern(10, 2));
  EXPECT_EQ(PackFiles(pack_dir()).size(), 2u);
  // Both closed: every row is committed, by its own instance.
  first.reset();
  second.reset();
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), 2);
}

TEST_F(StorePackTest, ADeadInstancesPackIsAdoptedByALiveOne) {
  // A child process opens the same database while the live instance is open, stores, and dies
  // without committing its rows. It is forked before this process opens anything (a fork taken
  // while the live instance's threads hold a lock leaves the child waiting on it forever), and
  // waits on a pipe until the live instance is open.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char byte = 0;
    if (::read(go[0], &byte, 1) != 1) _exit(4);
    auto store = ContentStore::Open(db(), Lazy());
    if (!store.ok()) _exit(2);
    for (int i = 0; i < 50; ++i) {
      if (!(*store)->Put(kStoreId, Pattern(500, i)).ok()) _exit(3);
    }
    _exit(0);
  }
  ::close(go[0]);
  auto live = OpenStore(db(), Lazy());
  ASSERT_OK(live->EnsureStore(kStoreId));
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), 0);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Value(live->Get(kStoreId, HashOf(Pattern(500, i)))), Pattern(500, i));
  }
  ASSERT_OK(live->Flush());  // the adopted records are this instance's to index now
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM store_content;"), 50);
  EXPECT_EQ(live->stats().recovered_records, 50u);
}

}  // namespace
}  // namespace theater::store
