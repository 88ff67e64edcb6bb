// Theater: a WebAssembly actor runtime.
//
// Tests of ContentStore: content addressing and dedup, validation of store ids, hashes and
// labels, every label operation, file-backed large content (up to 100 MiB), reopening, write
// failures (SQLITE_FULL, an unwritable blob directory) that must lose nothing, start-up cleanup,
// concurrency, sharing the database with another instance, process and foreign connection, and
// kill -9 in the middle of writes. Every test uses a real database in a fresh directory under
// the system's temporary directory, removed afterwards.
#include "theater/content_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "common/uuid.h"
#include "store/content_cache.h"
#include "store/store_test_util.h"
#include "testing/wait_for.h"

namespace theater::store {
namespace {

using testing_util::Bytes;
using testing_util::ExpectError;
using testing_util::HashOf;
using testing_util::Pattern;
using testing_util::TestDir;
using testing_util::Value;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

class ContentStoreTest : public ::testing::Test {
 protected:
  std::filesystem::path db_path() const { return dir_.path() / "theater.db"; }
  std::filesystem::path blob_dir() const { return dir_.path() / "store-blobs"; }

  std::unique_ptr<ContentStore> Open(ContentStore::Options options = {}) {
    auto store = ContentStore::Open(db_path(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Opens the default store and creates one store in it.
  void SetUp() override {
    store_ = Open();
    ASSERT_NE(store_, nullptr);
    id_ = Value(store_->CreateStore("actor-1"));
  }

  TestDir dir_{"theater-content-store"};
  std::unique_ptr<ContentStore> store_;
  std::string id_;
};

// --- Content ------------------------------------------------------------------------------------

// PutHashed takes the caller's digest instead of hashing again: the same name, the same bytes,
// and a later Put of those bytes finds them stored.
TEST_F(ContentStoreTest, PutHashedStoresUnderTheGivenDigest) {
  const std::vector<uint8_t> content = Pattern(100 * 1024, 7);
  const std::string hash = Value(store_->PutHashed(id_, content, Sha256(content)));
  EXPECT_EQ(hash, HashOf(content));
  EXPECT_EQ(Value(store_->Get(id_, hash)), content);
  const uint64_t new_content = store_->stats().new_content;
  EXPECT_EQ(Value(store_->Put(id_, content)), hash);
  EXPECT_EQ(store_->stats().new_content, new_content);
}

TEST_F(ContentStoreTest, PutReturnsTheSha256AndGetRoundTrips) {
  const std::vector<uint8_t> content = Bytes("hello, theater");
  const std::string hash = Value(store_->Put(id_, content));
  EXPECT_EQ(hash, HashOf(content));
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(Value(store_->Get(id_, hash)), content);
  EXPECT_TRUE(Value(store_->Exists(id_, hash)));
  EXPECT_EQ(Value(store_->ContentSize(id_, hash)), content.size());

  // Empty content is content too.
  const std::string empty = Value(store_->Put(id_, {}));
  EXPECT_EQ(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THAT(Value(store_->Get(id_, empty)), IsEmpty());
}

TEST_F(ContentStoreTest, StoringTheSameBytesTwiceKeepsOneCopy) {
  const std::vector<uint8_t> content = Pattern(5000, 1);
  const std::string first = Value(store_->Put(id_, content));
  const std::string second = Value(store_->Put(id_, content));
  EXPECT_EQ(first, second);
  EXPECT_THAT(Value(store_->ListContent(id_)), ElementsAre(first));
  EXPECT_EQ(Value(store_->TotalSize(id_)), 5000u);
  const std::string other = Value(store_->Put(id_, Pattern(300, 2)));
  EXPECT_EQ(Value(store_->TotalSize(id_)), 5300u);
  EXPECT_THAT(Value(store_->ListContent(id_)), UnorderedElementsAreArray({first, other}));
  const ContentStore::Stats stats = store_->stats();
  EXPECT_EQ(stats.puts, 3u);
  EXPECT_EQ(stats.new_content, 2u);
}

TEST_F(ContentStoreTest, DedupIsPerStore) {
  const std::string other = Value(store_->CreateStore());
  const std::vector<uint8_t> content = Pattern(1000, 3);
  const std::string hash = Value(store_->Put(id_, content));
  EXPECT_FALSE(Value(store_->Exists(other, hash)));
  ExpectError(store_->Get(other, hash).status(), StatusCode::kNotFound, "has no content");
  EXPECT_EQ(Value(store_->Put(other, content)), hash);
  EXPECT_EQ(Value(store_->TotalSize(id_)), 1000u);
  EXPECT_EQ(Value(store_->TotalSize(other)), 1000u);
}

TEST_F(ContentStoreTest, GetOfMissingContentIsNotFound) {
  const std::string missing = HashOf(Bytes("never stored"));
  ExpectError(store_->Get(id_, missing).status(), StatusCode::kNotFound,
              "store " + id_ + " has no content " + missing);
  ExpectError(store_->ContentSize(id_, missing).status(), StatusCode::kNotFound, missing);
  EXPECT_FALSE(Value(store_->Exists(id_, missing)));
  EXPECT_THAT(Value(store_->ListContent(id_)), IsEmpty());
  EXPECT_EQ(Value(store_->TotalSize(id_)), 0u);
}

TEST_F(ContentStoreTest, ContentLargerThanTheLimitIsRefused) {
  ContentStore::Options options;
  options.max_content_bytes = 1000;
  store_.reset();
  store_ = Open(options);
  ExpectError(store_->Put(id_, Pattern(1001, 1)).status(), StatusCode::kResourceExhausted,
              "content of 1001 bytes exceeds the limit of 1000 bytes");
  ExpectError(store_->PutAtLabel(id_, "big", Pattern(1001, 1)).status(),
              StatusCode::kResourceExhausted, "exceeds the limit");
  EXPECT_TRUE(store_->Put(id_, Pattern(1000, 1)).ok());
  EXPECT_THAT(Value(store_->ListLabels(id_)), IsEmpty());
}

// --- Validation ---------------------------------------------------------------------------------

TEST_F(ContentStoreTest, MalformedStoreIdsAreInvalidArguments) {
  const std::string hash = HashOf(Bytes("x"));
  const std::vector<std::string> bad = {
      "",
      "not-a-uuid",
      "3F2504E0-4F89-41D3-9A0C-0305E82C3301",   // uppercase
      "3f2504e04f8941d39a0c0305e82c3301",       // no dashes
      "3f2504e0-4f89-41d3-9a0c-0305e82c33011",  // 37 characters
      "3f2504e0-4f8941d3-9a0c-0305e82c3301-",   // a dash misplaced
      "3f2504e0-4f89-41d3-9a0c-0305e82c330g",   // not hex
      std::string("3f2504e0-4f89-41d3-9a0c-0305e82c330\0", 36),
  };
  for (const std::string& id : bad) {
    SCOPED_TRACE("store id '" + id + "'");
    const StatusCode kInvalid = StatusCode::kInvalidArgument;
    ExpectError(ValidateStoreId(id), kInvalid, "invalid store id");
    ExpectError(store_->Put(id, Bytes("x")).status(), kInvalid, "expected a lowercase UUID");
    ExpectError(store_->Get(id, hash).status(), kInvalid, "invalid store id");
    ExpectError(store_->Exists(id, hash).status(), kInvalid, "invalid store id");
    ExpectError(store_->ListContent(id).status(), kInvalid, "invalid store id");
    ExpectError(store_->TotalSize(id).status(), kInvalid, "invalid store id");
    ExpectError(store_->SetLabel(id, "l", hash), kInvalid, "invalid store id");
    ExpectError(store_->GetLabel(id, "l").status(), kInvalid, "invalid store id");
    ExpectError(store_->RemoveLabel(id, "l"), kInvalid, "invalid store id");
    ExpectError(store_->ListLabels(id).status(), kInvalid, "invalid store id");
    ExpectError(store_->CreateStoreWithId(id), kInvalid, "invalid store id");
    ExpectError(store_->EnsureStore(id), kInvalid, "invalid store id");
    ExpectError(store_->StoreOwner(id).status(), kInvalid, "invalid store id");
    ExpectError(store_->StoreExists(id).status(), kInvalid, "invalid store id");
  }
  // The id in the message is escaped: no raw control characters reach a log line.
  ExpectError(ValidateStoreId("a\nb"), StatusCode::kInvalidArgument, "'a\\x0ab'");
}

TEST_F(ContentStoreTest, MalformedHashesAreInvalidArguments) {
  const std::string good = HashOf(Bytes("x"));
  ASSERT_TRUE(ValidateHash(good).ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "0 characters"},
      {good.substr(1), "63 characters"},
      {good + "0", "65 characters"},
      {"E" + good.substr(1), "character 0 is not a lowercase hex digit"},
      {good.substr(0, 63) + "g", "character 63 is not a lowercase hex digit"},
      {good.substr(0, 10) + " " + good.substr(11), "character 10"},
  };
  for (const auto& [hash, why] : bad) {
    SCOPED_TRACE("hash '" + hash + "'");
    const StatusCode kInvalid = StatusCode::kInvalidArgument;
    ExpectError(ValidateHash(hash), kInvalid, why);
    ExpectError(store_->Get(id_, hash).status(), kInvalid, "invalid content hash");
    ExpectError(store_->Exists(id_, hash).status(), kInvalid, "invalid content hash");
    ExpectError(store_->ContentSize(id_, hash).status(), kInvalid, "invalid content hash");
    ExpectError(store_->SetLabel(id_, "l", hash), kInvalid, "invalid content hash");
    ExpectError(store_->ReplaceAtLabel(id_, "l", hash), kInvalid, "invalid content hash");
    ExpectError(store_->RemoveLabelIf(id_, "l", hash).status(), kInvalid, "invalid content hash");
  }
}

TEST_F(ContentStoreTest, LabelValidationRules) {
  const std::vector<std::string> good = {
      "a",
      "state",
      "x/y/z",
      "../../etc/passwd",  // labels are not paths
      "/",
      "with inner  spaces",
      "h\xc3\xa9llo",              // é
      "\xe6\x97\xa5\xe6\x9c\xac",  // 日本
      "mask \xf0\x9f\x8e\xad",     // U+1F3AD
      "\xef\xbf\xbf",              // U+FFFF: a noncharacter, but valid UTF-8
      std::string(255, 'l'),
  };
  for (const std::string& label : good) {
    EXPECT_TRUE(ValidateLabel(label).ok()) << label << ": " << ValidateLabel(label).ToString();
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},
      {std::string(256, 'l'), "256 bytes long, at most 255"},
      {"\x80", "not valid UTF-8 at byte 0"},
      {"ok\xc3", "not valid UTF-8 at byte 2"},  // truncated
      {"\xc0\xaf", "not valid UTF-8"},          // overlong '/'
      {"\xe0\x80\xaf", "not valid UTF-8"},      // overlong, 3 bytes
      {"\xed\xa0\x80", "not valid UTF-8"},      // a surrogate
      {"\xf4\x90\x80\x80", "not valid UTF-8"},  // above U+10FFFF
      {"\xff", "not valid UTF-8"},
      {"a\nb", "control character 0x0a at byte 1"},
      {"a\tb", "control character 0x09"},
      {std::string("a\0b", 3), "control character 0x00"},
      {"del\x7f", "control character 0x7f at byte 3"},
      {" lead", "begins with whitespace"},
      {"trail ", "ends with whitespace"},
      {"\xc2\xa0nbsp", "begins with whitespace"},           // U+00A0
      {"ideographic\xe3\x80\x80", "ends with whitespace"},  // U+3000
      {"\xe2\x80\x83"
       "em",
       "begins with whitespace"},               // U+2003
      {"nel\xc2\x85", "ends with whitespace"},  // U+0085
  };
  const std::string hash = Value(store_->Put(id_, Bytes("content")));
  for (const auto& [label, why] : bad) {
    SCOPED_TRACE("label '" + label + "'");
    const StatusCode kInvalid = StatusCode::kInvalidArgument;
    ExpectError(ValidateLabel(label), kInvalid, why);
    ExpectError(store_->SetLabel(id_, label, hash), kInvalid, "invalid label");
    ExpectError(store_->GetLabel(id_, label).status(), kInvalid, "invalid label");
    ExpectError(store_->RemoveLabel(id_, label), kInvalid, "invalid label");
    ExpectError(store_->RemoveLabelIf(id_, label, hash).status(), kInvalid, "invalid label");
    ExpectError(store_->PutAtLabel(id_, label, Bytes("x")).status(), kInvalid, "invalid label");
    ExpectError(store_->ReplaceContentAtLabel(id_, label, Bytes("x")).status(), kInvalid,
                "invalid label");
    ExpectError(store_->ReplaceAtLabel(id_, label, hash), kInvalid, "invalid label");
  }
  // Nothing was stored by the refused calls.
  EXPECT_THAT(Value(store_->ListContent(id_)), ElementsAre(hash));
  EXPECT_THAT(Value(store_->ListLabels(id_)), IsEmpty());
  // Valid labels round-trip byte for byte, '/' and all, and never touch the file system.
  for (const std::string& label : good) ASSERT_OK(store_->SetLabel(id_, label, hash));
  EXPECT_THAT(Value(store_->ListLabels(id_)), UnorderedElementsAreArray(good));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "x"));
  EXPECT_FALSE(std::filesystem::exists(blob_dir() / "x"));
}

// --- Stores -------------------------------------------------------------------------------------

TEST_F(ContentStoreTest, UnknownStoresAreNotFound) {
  const std::string unknown = NewUuid();
  const std::string hash = HashOf(Bytes("x"));
  const std::string message = "store " + unknown + " does not exist";
  ExpectError(store_->Put(unknown, Bytes("x")).status(), StatusCode::kNotFound, message);
  ExpectError(store_->Get(unknown, hash).status(), StatusCode::kNotFound, message);
  ExpectError(store_->Exists(unknown, hash).status(), StatusCode::kNotFound, message);
  ExpectError(store_->ListContent(unknown).status(), StatusCode::kNotFound, message);
  ExpectError(store_->TotalSize(unknown).status(), StatusCode::kNotFound, message);
  ExpectError(store_->SetLabel(unknown, "l", hash), StatusCode::kNotFound, message);
  ExpectError(store_->GetLabel(unknown, "l").status(), StatusCode::kNotFound, message);
  ExpectError(store_->RemoveLabel(unknown, "l"), StatusCode::kNotFound, message);
  ExpectError(store_->PutAtLabel(unknown, "l", Bytes("x")).status(), StatusCode::kNotFound,
              message);
  ExpectError(store_->ListLabels(unknown).status(), StatusCode::kNotFound, message);
  ExpectError(store_->StoreOwner(unknown).status(), StatusCode::kNotFound, message);
  EXPECT_FALSE(Value(store_->StoreExists(unknown)));
  EXPECT_TRUE(Value(store_->StoreExists(id_)));
}

TEST_F(ContentStoreTest, CreatingStores) {
  EXPECT_TRUE(ValidateStoreId(id_).ok()) << id_;
  EXPECT_EQ(Value(store_->StoreOwner(id_)), std::optional<std::string>("actor-1"));

  const std::string anonymous = Value(store_->CreateStore());
  EXPECT_NE(anonymous, id_);
  EXPECT_EQ(Value(store_->StoreOwner(anonymous)), std::nullopt);
  EXPECT_THAT(Value(store_->ListContent(anonymous)), IsEmpty());

  // The runtime's own stores, with ids of its choosing.
  const std::string system = "00000000-0000-0000-0000-000000000001";
  ASSERT_OK(store_->CreateStoreWithId(system, "runtime"));
  ExpectError(store_->CreateStoreWithId(system), StatusCode::kAlreadyExists,
              "store " + system + " already exists");
  ASSERT_OK(store_->EnsureStore(system, "someone else"));
  EXPECT_EQ(Value(store_->StoreOwner(system)), std::optional<std::string>("runtime"));
  const std::string ensured = "00000000-0000-0000-0000-000000000002";
  ASSERT_OK(store_->EnsureStore(ensured));
  ASSERT_OK(store_->EnsureStore(ensured));
  EXPECT_TRUE(store_->Put(ensured, Bytes("ok")).ok());

  std::vector<StoreInfo> stores = Value(store_->ListStores());
  ASSERT_EQ(stores.size(), 4u);
  EXPECT_TRUE(std::is_sorted(stores.begin(), stores.end(),
                             [](const StoreInfo& a, const StoreInfo& b) { return a.id < b.id; }));
  EXPECT_EQ(stores[0].id, system);
  EXPECT_EQ(stores[0].owner, std::optional<std::string>("runtime"));
  EXPECT_EQ(stores[1].id, ensured);
  EXPECT_EQ(stores[1].owner, std::nullopt);
  for (const StoreInfo& info : stores) EXPECT_GT(info.created_ms, 1'600'000'000'000u);
}

// --- Labels -------------------------------------------------------------------------------------

TEST_F(ContentStoreTest, SetLabelCreatesAndMovesALabel) {
  const std::string h1 = Value(store_->Put(id_, Bytes("one")));
  const std::string h2 = Value(store_->Put(id_, Bytes("two")));
  EXPECT_EQ(Value(store_->GetLabel(id_, "current")), std::nullopt);
  ASSERT_OK(store_->SetLabel(id_, "current", h1));
  EXPECT_EQ(Value(store_->GetLabel(id_, "current")), h1);
  ASSERT_OK(store_->SetLabel(id_, "current", h2));
  EXPECT_EQ(Value(store_->GetLabel(id_, "current")), h2);
  ASSERT_OK(store_->SetLabel(id_, "current", h2));  // idempotent
  // Content the store does not hold: refused, the label stays where it was.
  const std::string missing = HashOf(Bytes("three"));
  ExpectError(store_->SetLabel(id_, "current", missing), StatusCode::kNotFound,
              "store " + id_ + " has no content " + missing);
  ExpectError(store_->SetLabel(id_, "new", missing), StatusCode::kNotFound, "has no content");
  EXPECT_EQ(Value(store_->GetLabel(id_, "current")), h2);
  EXPECT_EQ(Value(store_->GetLabel(id_, "new")), std::nullopt);
  // Labels are per store.
  const std::string other = Value(store_->CreateStore());
  EXPECT_EQ(Value(store_->GetLabel(other, "current")), std::nullopt);
  ExpectError(store_->SetLabel(other, "current", h1), StatusCode::kNotFound, "has no content");
}

TEST_F(ContentStoreTest, RemoveLabelKeepsTheContentAndToleratesMissingLabels) {
  const std::string hash = Value(store_->PutAtLabel(id_, "a", Bytes("content")));
  ASSERT_OK(store_->RemoveLabel(id_, "a"));
  EXPECT_EQ(Value(store_->GetLabel(id_, "a")), std::nullopt);
  EXPECT_TRUE(Value(store_->Exists(id_, hash)));
  ASSERT_OK(store_->RemoveLabel(id_, "a"));            // already gone
  ASSERT_OK(store_->RemoveLabel(id_, "never-there"));  // never existed
}

TEST_F(ContentStoreTest, RemoveLabelIfIsACompareAndDelete) {
  const std::string h1 = Value(store_->PutAtLabel(id_, "head", Bytes("v1")));
  const std::string h2 = Value(store_->Put(id_, Bytes("v2")));
  // Points elsewhere: left alone, not an error.
  EXPECT_FALSE(Value(store_->RemoveLabelIf(id_, "head", h2)));
  EXPECT_EQ(Value(store_->GetLabel(id_, "head")), h1);
  // Points at h1: deleted.
  EXPECT_TRUE(Value(store_->RemoveLabelIf(id_, "head", h1)));
  EXPECT_EQ(Value(store_->GetLabel(id_, "head")), std::nullopt);
  // Missing: nothing to do, not an error (nor for content the store never held).
  EXPECT_FALSE(Value(store_->RemoveLabelIf(id_, "head", h1)));
  EXPECT_FALSE(Value(store_->RemoveLabelIf(id_, "head", HashOf(Bytes("unknown")))));
  EXPECT_TRUE(Value(store_->Exists(id_, h1)));
}

TEST_F(ContentStoreTest, PutAtLabelStoresAndPointsInOneStep) {
  const std::string h1 = Value(store_->PutAtLabel(id_, "doc", Bytes("first")));
  EXPECT_EQ(h1, HashOf(Bytes("first")));
  EXPECT_EQ(Value(store_->GetLabel(id_, "doc")), h1);
  EXPECT_EQ(Value(store_->Get(id_, h1)), Bytes("first"));
  // An existing label moves; content already stored is reused.
  const std::string h2 = Value(store_->PutAtLabel(id_, "doc", Bytes("second")));
  EXPECT_EQ(Value(store_->GetLabel(id_, "doc")), h2);
  EXPECT_EQ(Value(store_->PutAtLabel(id_, "other", Bytes("first"))), h1);
  EXPECT_EQ(Value(store_->GetLabel(id_, "other")), h1);
  EXPECT_THAT(Value(store_->ListContent(id_)), UnorderedElementsAreArray({h1, h2}));
}

TEST_F(ContentStoreTest, ReplaceContentAtLabelNeedsAnExistingLabel) {
  // Missing label: an error, and nothing is stored (the step is atomic).
  ExpectError(store_->ReplaceContentAtLabel(id_, "cfg", Bytes("v1")).status(),
              StatusCode::kNotFound, "label 'cfg' does not exist in store " + id_);
  EXPECT_THAT(Value(store_->ListContent(id_)), IsEmpty());
  EXPECT_EQ(Value(store_->GetLabel(id_, "cfg")), std::nullopt);

  const std::string h1 = Value(store_->PutAtLabel(id_, "cfg", Bytes("v1")));
  const std::string h2 = Value(store_->ReplaceContentAtLabel(id_, "cfg", Bytes("v2")));
  EXPECT_EQ(h2, HashOf(Bytes("v2")));
  EXPECT_EQ(Value(store_->GetLabel(id_, "cfg")), h2);
  EXPECT_EQ(Value(store_->Get(id_, h2)), Bytes("v2"));
  EXPECT_TRUE(Value(store_->Exists(id_, h1)));  // the old content stays
}

TEST_F(ContentStoreTest, ReplaceAtLabelNeedsTheLabelAndTheContent) {
  const std::string h1 = Value(store_->Put(id_, Bytes("v1")));
  const std::string h2 = Value(store_->Put(id_, Bytes("v2")));
  ExpectError(store_->ReplaceAtLabel(id_, "ptr", h1), StatusCode::kNotFound,
              "label 'ptr' does not exist");
  EXPECT_EQ(Value(store_->GetLabel(id_, "ptr")), std::nullopt);
  ASSERT_OK(store_->SetLabel(id_, "ptr", h1));
  ASSERT_OK(store_->ReplaceAtLabel(id_, "ptr", h2));
  EXPECT_EQ(Value(store_->GetLabel(id_, "ptr")), h2);
  const std::string missing = HashOf(Bytes("v3"));
  ExpectError(store_->ReplaceAtLabel(id_, "ptr", missing), StatusCode::kNotFound,
              "has no content " + missing);
  EXPECT_EQ(Value(store_->GetLabel(id_, "ptr")), h2);
}

TEST_F(ContentStoreTest, ListLabelsAndListContentAreSorted) {
  std::vector<std::string> hashes;
  for (int i = 0; i < 20; ++i) {
    hashes.push_back(
        Value(store_->PutAtLabel(id_, "item/" + std::to_string(i), Pattern(100 + i, i))));
  }
  std::vector<std::string> labels = Value(store_->ListLabels(id_));
  ASSERT_EQ(labels.size(), 20u);
  EXPECT_TRUE(std::is_sorted(labels.begin(), labels.end()));
  EXPECT_EQ(labels[0], "item/0");
  EXPECT_EQ(labels[1], "item/1");
  EXPECT_EQ(labels[2], "item/10");  // bytewise order
  std::vector<std::string> content = Value(store_->ListContent(id_));
  EXPECT_TRUE(std::is_sorted(content.begin(), content.end()));
  EXPECT_THAT(content, UnorderedElementsAreArray(hashes));
  // A store's listings hold only its own entries.
  const std::string other = Value(store_->CreateStore());
  EXPECT_THAT(Value(store_->ListLabels(other)), IsEmpty());
  EXPECT_THAT(Value(store_->ListContent(other)), IsEmpty());
}

// --- Large content ------------------------------------------------------------------------------

TEST_F(ContentStoreTest, ContentOverTheInlineThresholdGoesToAFile) {
  ContentStore::Options options;
  options.inline_max_bytes = 1024;
  store_.reset();
  store_ = Open(options);
  const std::vector<uint8_t> small = Pattern(1024, 1);
  const std::vector<uint8_t> large = Pattern(1025, 2);
  const std::string small_hash = Value(store_->Put(id_, small));
  const std::string large_hash = Value(store_->PutAtLabel(id_, "big", large));
  EXPECT_FALSE(std::filesystem::exists(blob_dir() / small_hash.substr(0, 2) / small_hash));
  const std::filesystem::path file = blob_dir() / large_hash.substr(0, 2) / large_hash;
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(std::filesystem::file_size(file), 1025u);
  EXPECT_EQ(Value(store_->Get(id_, large_hash)), large);
  EXPECT_EQ(Value(store_->Get(id_, small_hash)), small);
  EXPECT_EQ(Value(store_->GetLabel(id_, "big")), large_hash);
  EXPECT_EQ(Value(store_->TotalSize(id_)), 2049u);
  EXPECT_EQ(store_->stats().file_content, 1u);
  // Dedup: a second Put neither stores nor rewrites anything.
  const auto written = std::filesystem::last_write_time(file);
  EXPECT_EQ(Value(store_->Put(id_, large)), large_hash);
  EXPECT_EQ(std::filesystem::last_write_time(file), written);
  EXPECT_EQ(Value(store_->TotalSize(id_)), 2049u);
  // Replacing a missing label with large content writes no file either.
  const std::vector<uint8_t> unused = Pattern(4000, 3);
  ExpectError(store_->ReplaceContentAtLabel(id_, "missing", unused).status(), StatusCode::kNotFound,
              "does not exist");
  const std::string unused_hash = HashOf(unused);
  EXPECT_FALSE(std::filesystem::exists(blob_dir() / unused_hash.substr(0, 2) / unused_hash));
  // No temporary file is left behind.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(blob_dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST_F(ContentStoreTest, HundredMebibyteContentRoundTrips) {
  constexpr size_t kSize = size_t{100} << 20;
  std::string hash;
  std::string expected_hash;
  {
    std::vector<uint8_t> content = Pattern(kSize, 100);
    expected_hash = HashOf(content);
    hash = Value(store_->Put(id_, content));
  }  // the input is freed before reading back: at most one copy in memory at a time
  EXPECT_EQ(hash, expected_hash);
  EXPECT_TRUE(Value(store_->Exists(id_, hash)));
  EXPECT_EQ(Value(store_->ContentSize(id_, hash)), kSize);
  EXPECT_EQ(Value(store_->TotalSize(id_)), kSize);
  EXPECT_EQ(std::filesystem::file_size(blob_dir() / hash.substr(0, 2) / hash), kSize);
  std::vector<uint8_t> read = Value(store_->Get(id_, hash));
  ASSERT_EQ(read.size(), kSize);
  EXPECT_EQ(HashOf(read), expected_hash);
  // And the bytes themselves, not just their hash (spot checks of the pattern).
  const std::vector<uint8_t> head = Pattern(4096, 100);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), read.begin()));
}

TEST_F(ContentStoreTest, FileContentWithTheWrongSizeOrMissingIsAnError) {
  ContentStore::Options options;
  options.inline_max_bytes = 100;
  store_.reset();
  store_ = Open(options);
  const std::string hash = Value(store_->Put(id_, Pattern(1000, 1)));
  const std::filesystem::path file = blob_dir() / hash.substr(0, 2) / hash;
  std::filesystem::resize_file(file, 999);
  ExpectError(store_->Get(id_, hash).status(), StatusCode::kValidationError,
              "has 999 bytes, but the content has 1000");
  std::filesystem::remove(file);
  ExpectError(store_->Get(id_, hash).status(), StatusCode::kIOError, "is missing");
  // Storing the content again repairs it (the row exists, the file is rewritten).
  EXPECT_EQ(Value(store_->Put(id_, Pattern(1000, 1))), hash);
  EXPECT_EQ(Value(store_->Get(id_, hash)), Pattern(1000, 1));
  std::filesystem::resize_file(file, 10);
  EXPECT_EQ(Value(store_->Put(id_, Pattern(1000, 1))), hash);
  EXPECT_EQ(Value(store_->Get(id_, hash)), Pattern(1000, 1));
  EXPECT_EQ(Value(store_->ListContent(id_)).size(), 1u);
}

// --- Persistence --------------------------------------------------------------------------------

TEST_F(ContentStoreTest, ReopeningKeepsEverything) {
  ContentStore::Options options;
  options.inline_max_bytes = 2048;
  store_.reset();
  store_ = Open(options);
  const std::string other = Value(store_->CreateStore("actor-2"));
  std::vector<std::string> hashes;
  for (int i = 0; i < 50; ++i) hashes.push_back(Value(store_->Put(id_, Pattern(100 * i, i))));
  const std::string large = Value(store_->PutAtLabel(id_, "large", Pattern(100000, 99)));
  ASSERT_OK(store_->SetLabel(id_, "first", hashes[0]));
  const std::string in_other = Value(store_->PutAtLabel(other, "x", Bytes("other store")));
  store_->Close();
  ExpectError(store_->Put(id_, Bytes("late")).status(), StatusCode::kFailedPrecondition, "closed");
  ExpectError(store_->Get(id_, hashes[0]).status(), StatusCode::kFailedPrecondition, "closed");
  store_.reset();

  store_ = Open(options);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Value(store_->Get(id_, hashes[i])), Pattern(100 * i, i));
  EXPECT_EQ(Value(store_->Get(id_, large)), Pattern(100000, 99));
  EXPECT_EQ(Value(store_->GetLabel(id_, "large")), large);
  EXPECT_EQ(Value(store_->GetLabel(id_, "first")), hashes[0]);
  EXPECT_EQ(Value(store_->GetLabel(other, "x")), in_other);
  EXPECT_EQ(Value(store_->StoreOwner(other)), std::optional<std::string>("actor-2"));
  EXPECT_EQ(Value(store_->ListStores()).size(), 2u);
  EXPECT_EQ(store_->stats().orphans_removed, 0u);
}

TEST_F(ContentStoreTest, ANewerSchemaIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE store_meta SET value = 99 WHERE key = 'schema_version';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = ContentStore::Open(db_path());
  ExpectError(reopened.status(), StatusCode::kFailedPrecondition, "store schema version 99");
}

TEST(ContentStoreOpenTest, AnUnusableBlobDirectoryFailsOpen) {
  TestDir dir("theater-content-store");
  std::ofstream(dir.path() / "file") << "not a directory";
  ContentStore::Options options;
  options.blob_dir = dir.path() / "file" / "blobs";
  auto store = ContentStore::Open(dir.path() / "theater.db", options);
  ExpectError(store.status(), StatusCode::kIOError, "creating blob directory");
}

// --- Failures must lose nothing -----------------------------------------------------------------

// Everything `store` should hold, checked byte for byte.
struct Expected {
  std::map<std::string, std::vector<uint8_t>> content;
  std::map<std::string, std::string> labels;

  void Check(ContentStore& store, const std::string& id) const {
    std::vector<std::string> hashes;
    for (const auto& [hash, bytes] : content) {
      hashes.push_back(hash);
      EXPECT_EQ(Value(store.Get(id, hash)), bytes) << hash;
    }
    EXPECT_THAT(Value(store.ListContent(id)), UnorderedElementsAreArray(hashes));
    for (const auto& [label, hash] : labels) EXPECT_EQ(Value(store.GetLabel(id, label)), hash);
    EXPECT_EQ(Value(store.ListLabels(id)).size(), labels.size());
  }
};

TEST_F(ContentStoreTest, AFullDatabaseFailsWritesAndLosesNothing) {
  store_.reset();
  ContentStore::Options options;
  options.max_page_count = 60;  // 480 KiB: the schema and a few dozen KiB of content fit
  options.cache_bytes = 0;      // read everything back from the database
  store_ = Open(options);
  Expected expected;
  Status failure;
  for (int i = 0; i < 200 && failure.ok(); ++i) {
    std::vector<uint8_t> content = Pattern(12000, i);
    Result<std::string> put = store_->PutAtLabel(id_, "l" + std::to_string(i), content);
    if (!put.ok()) {
      failure = put.status();
      // Atomic: neither the content nor the label.
      EXPECT_FALSE(Value(store_->Exists(id_, HashOf(content))));
      EXPECT_EQ(Value(store_->GetLabel(id_, "l" + std::to_string(i))), std::nullopt);
      break;
    }
    expected.content[*put] = content;
    expected.labels["l" + std::to_string(i)] = *put;
  }
  ASSERT_FALSE(failure.ok()) << "the page limit was never reached";
  ExpectError(failure, StatusCode::kResourceExhausted, "database or disk is full");
  EXPECT_THAT(failure.ToString(), HasSubstr("storing content"));
  EXPECT_GT(expected.content.size(), 3u);
  EXPECT_GE(store_->stats().failed_transactions, 1u);

  // Still consistent and usable: reads, label moves and removals that need no new page.
  expected.Check(*store_, id_);
  const std::string first = expected.labels.begin()->second;
  ASSERT_OK(store_->SetLabel(id_, "l0", expected.labels.rbegin()->second));
  expected.labels["l0"] = expected.labels.rbegin()->second;
  ASSERT_OK(store_->RemoveLabel(id_, "l1"));
  expected.labels.erase("l1");
  // Plain Puts of small content do not wait for the database: they are appended to a pack and
  // return. Once their index rows no longer fit, the index commit fails, and that failure is
  // sticky: Flush and every later write report it, while reads (of the content whose rows could
  // not be committed too) are still served.
  Status sticky;
  std::string late_hash;
  for (int i = 0; i < 5000 && sticky.ok(); ++i) {
    const std::vector<uint8_t> late = Pattern(300, 1000 + i);
    Result<std::string> put = store_->Put(id_, late);
    if (!put.ok()) {
      sticky = put.status();
      break;
    }
    late_hash = *put;
    expected.content[late_hash] = late;
    if (i % 100 == 99) sticky = store_->Flush();
  }
  ExpectError(sticky, StatusCode::kResourceExhausted, "full");
  ExpectError(store_->Flush(), StatusCode::kResourceExhausted, "full");
  ExpectError(store_->Put(id_, Pattern(300, 99999)).status(), StatusCode::kResourceExhausted,
              "could not commit its index");
  ExpectError(store_->SetLabel(id_, "late", late_hash), StatusCode::kResourceExhausted, "full");
  expected.Check(*store_, id_);
  (void)first;

  // Reopened without the limit: everything is there and writes work again.
  store_.reset();
  store_ = Open();
  expected.Check(*store_, id_);
  const std::string more = Value(store_->Put(id_, Pattern(20000, 1000)));
  expected.content[more] = Pattern(20000, 1000);
  expected.Check(*store_, id_);
}

TEST_F(ContentStoreTest, ConcurrentWritersIntoAFullDatabaseEachGetTheirOwnOutcome) {
  store_.reset();
  ContentStore::Options options;
  options.max_page_count = 80;
  store_ = Open(options);
  constexpr int kThreads = 4;
  std::vector<std::vector<std::pair<std::string, std::vector<uint8_t>>>> stored(kThreads);
  std::vector<std::vector<std::string>> labels(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Mixed sizes: once the big ones fail, small ones may still fit (each write gets its own
      // result even when batched with failing ones). With a label: content stored with a label
      // is committed with it, in the database (a plain Put only appends to a pack).
      for (int i = 0; i < 60; ++i) {
        std::vector<uint8_t> content = Pattern(i % 3 == 0 ? 9000 : 300, t * 1000 + i);
        const std::string label = "t" + std::to_string(t) + "-" + std::to_string(i);
        Result<std::string> put = store_->PutAtLabel(id_, label, content);
        if (put.ok()) {
          stored[t].emplace_back(*put, std::move(content));
          labels[t].push_back(label);
        } else {
          EXPECT_EQ(put.status().code(), StatusCode::kResourceExhausted) << put.status().ToString();
          failures[t]++;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total_failures = 0;
  for (int t = 0; t < kThreads; ++t) total_failures += failures[t];
  EXPECT_GT(total_failures, 0);
  Expected expected;
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < stored[t].size(); ++i) {
      expected.content[stored[t][i].first] = stored[t][i].second;
      expected.labels[labels[t][i]] = stored[t][i].first;
    }
  }
  expected.Check(*store_, id_);
  store_.reset();
  store_ = Open();
  expected.Check(*store_, id_);
}

TEST_F(ContentStoreTest, AnUnwritableBlobDirectoryFailsTheWriteAndLosesNothing) {
  ContentStore::Options options;
  options.inline_max_bytes = 512;
  store_.reset();
  store_ = Open(options);
  Expected expected;
  const std::vector<uint8_t> before_small = Pattern(100, 1);
  const std::vector<uint8_t> before_large = Pattern(5000, 2);
  expected.content[Value(store_->Put(id_, before_small))] = before_small;
  const std::string large_hash = Value(store_->PutAtLabel(id_, "large", before_large));
  expected.content[large_hash] = before_large;
  expected.labels["large"] = large_hash;

  // The shard directory the next content needs is taken by a regular file: the content file
  // cannot be created (as with a read-only or vanished directory; root ignores permissions).
  std::vector<uint8_t> blocked;
  std::string blocked_hash;
  for (uint64_t seed = 10;; ++seed) {
    blocked = Pattern(6000, seed);
    blocked_hash = HashOf(blocked);
    if (blocked_hash.substr(0, 2) != large_hash.substr(0, 2)) break;
  }
  const std::filesystem::path shard = blob_dir() / blocked_hash.substr(0, 2);
  std::filesystem::remove_all(shard);
  std::ofstream(shard) << "in the way";
  Result<std::string> put = store_->PutAtLabel(id_, "blocked", blocked);
  ExpectError(put.status(), StatusCode::kIOError, "creating content directory");
  EXPECT_THAT(put.status().ToString(), HasSubstr("storing content " + blocked_hash));
  EXPECT_FALSE(Value(store_->Exists(id_, blocked_hash)));
  EXPECT_EQ(Value(store_->GetLabel(id_, "blocked")), std::nullopt);
  expected.Check(*store_, id_);

  // Once the obstacle is gone, the same write succeeds.
  std::filesystem::remove(shard);
  EXPECT_EQ(Value(store_->PutAtLabel(id_, "blocked", blocked)), blocked_hash);
  expected.content[blocked_hash] = blocked;
  expected.labels["blocked"] = blocked_hash;
  expected.Check(*store_, id_);
  store_.reset();
  store_ = Open(options);
  expected.Check(*store_, id_);
}

// --- Start-up cleanup ---------------------------------------------------------------------------

TEST_F(ContentStoreTest, OrphanedFilesAreRemovedOnReopen) {
  ContentStore::Options options;
  options.inline_max_bytes = 512;
  store_.reset();
  store_ = Open(options);
  const std::string kept = Value(store_->Put(id_, Pattern(4000, 1)));
  store_.reset();
  // What a crash leaves behind: a temporary file, and a renamed file whose row never committed.
  const std::string orphan = HashOf(Bytes("orphan"));
  const std::filesystem::path temp = blob_dir() / "ab" / (orphan + ".tmp.1234");
  const std::filesystem::path unreferenced = blob_dir() / orphan.substr(0, 2) / orphan;
  const std::filesystem::path foreign = blob_dir() / "ab" / "README";
  std::filesystem::create_directories(temp.parent_path());
  std::filesystem::create_directories(unreferenced.parent_path());
  std::ofstream(temp) << "partial";
  std::ofstream(unreferenced) << "orphan";
  std::ofstream(foreign) << "not ours";

  store_ = Open(options);
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_FALSE(std::filesystem::exists(unreferenced));
  EXPECT_TRUE(std::filesystem::exists(foreign));  // unknown names are left alone
  EXPECT_TRUE(std::filesystem::exists(blob_dir() / kept.substr(0, 2) / kept));
  EXPECT_EQ(store_->stats().orphans_removed, 2u);
  EXPECT_EQ(Value(store_->Get(id_, kept)), Pattern(4000, 1));
}

TEST_F(ContentStoreTest, CleanupWaitsUntilNoOtherInstanceIsOpen) {
  const std::filesystem::path temp = blob_dir() / "cd" / "x.tmp.in-flight";
  std::filesystem::create_directories(temp.parent_path());
  std::ofstream(temp) << "another instance is writing this";
  // store_ is open: a second instance must not delete what the first may be writing.
  std::unique_ptr<ContentStore> second = Open();
  EXPECT_TRUE(std::filesystem::exists(temp));
  EXPECT_EQ(second->stats().orphans_removed, 0u);
  second.reset();
  store_.reset();
  store_ = Open();
  EXPECT_FALSE(std::filesystem::exists(temp));
}

// --- Concurrency and sharing --------------------------------------------------------------------

TEST_F(ContentStoreTest, ConcurrentPutsAndGets) {
  constexpr int kThreads = 6;
  constexpr int kItems = 300;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  std::vector<std::vector<std::string>> hashes(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kItems; ++i) {
        // Every thread also stores content shared with all others (dedup under contention).
        const std::vector<uint8_t> mine = Pattern(1000 + i, t * 100000 + i);
        const std::vector<uint8_t> shared = Pattern(777, i % 10);
        Result<std::string> a = store_->Put(id_, mine);
        Result<std::string> b = store_->PutAtLabel(id_, "t" + std::to_string(t), shared);
        if (!a.ok() || !b.ok()) {
          errors++;
          continue;
        }
        hashes[t].push_back(*a);
        const std::string& earlier = hashes[t][(i * 7) % hashes[t].size()];
        Result<std::vector<uint8_t>> got = store_->Get(id_, earlier);
        if (!got.ok() || HashOf(*got) != earlier) errors++;
        if (Value(store_->Get(id_, *b)) != shared) errors++;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Value(store_->ListContent(id_)).size(), size_t{kThreads * kItems + 10});
  EXPECT_EQ(Value(store_->ListLabels(id_)).size(), size_t{kThreads});
  const ContentStore::Stats stats = store_->stats();
  EXPECT_EQ(stats.puts, uint64_t{2 * kThreads * kItems});
  EXPECT_EQ(stats.new_content, uint64_t{kThreads * kItems + 10});
  EXPECT_LE(stats.transactions, stats.writes);
}

TEST_F(ContentStoreTest, TwoInstancesShareOneDatabase) {
  std::unique_ptr<ContentStore> second = Open();
  // A store created by one instance is visible to the other (its key is looked up on demand).
  const std::string created_by_second = Value(second->CreateStore("other"));
  const std::string a = Value(store_->Put(created_by_second, Bytes("from the first")));
  EXPECT_EQ(Value(second->Get(created_by_second, a)), Bytes("from the first"));
  const std::string b = Value(second->PutAtLabel(id_, "x", Bytes("from the second")));
  EXPECT_EQ(Value(store_->GetLabel(id_, "x")), b);
  // Concurrent writers in both instances.
  std::thread t1([&] {
    for (int i = 0; i < 200; ++i) EXPECT_TRUE(store_->Put(id_, Pattern(500, i)).ok());
  });
  std::thread t2([&] {
    for (int i = 200; i < 400; ++i) EXPECT_TRUE(second->Put(id_, Pattern(500, i)).ok());
  });
  t1.join();
  t2.join();
  EXPECT_EQ(Value(store_->ListContent(id_)).size(), 401u);
  EXPECT_EQ(Value(second->ListContent(id_)).size(), 401u);
}

TEST_F(ContentStoreTest, AForeignConnectionWritingTheSameFileCorruptsNothing) {
  // Another component (ChainStore) writes its own tables in the same file through its own
  // connection, with the same page size and WAL mode.
  std::atomic<bool> stop{false};
  std::atomic<int> foreign_rows{0};
  std::thread foreign([&] {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA page_size=8192; PRAGMA journal_mode=WAL; "
                           "CREATE TABLE IF NOT EXISTS events (seq INTEGER, payload BLOB);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    while (!stop.load()) {
      if (sqlite3_exec(db, "INSERT INTO events VALUES (1, randomblob(700));", nullptr, nullptr,
                       nullptr) == SQLITE_OK) {
        foreign_rows++;
      }
      // Commits now and then, like ChainStore's writer (a writer that never pauses would
      // starve every other one: SQLite's busy handler polls).
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    sqlite3_close(db);
  });
  ASSERT_TRUE(::theater::testing_util::WaitFor([&] { return foreign_rows.load() > 0; }));
  Expected expected;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> content = Pattern(3000, i);
    expected.content[Value(store_->Put(id_, content))] = content;
  }
  stop = true;
  foreign.join();
  EXPECT_GT(foreign_rows.load(), 0);
  expected.Check(*store_, id_);
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  std::string integrity;
  sqlite3_exec(
      db, "PRAGMA integrity_check;",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0];
        return 0;
      },
      &integrity, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(integrity, "ok");
}

// A child process writes into the database while this one does too; then both sets are there.
TEST(ContentStoreProcessTest, AnotherProcessWritingConcurrently) {
  TestDir dir("theater-content-store");
  const std::filesystem::path db = dir.path() / "theater.db";
  const std::string id = "11111111-2222-4333-8444-555555555555";
  constexpr int kItems = 200;
  // Fork before this process opens anything (no threads to lose in the child).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = ContentStore::Open(db);
    if (!store.ok() || !(*store)->EnsureStore(id).ok()) _exit(2);
    for (int i = 0; i < kItems; ++i) {
      if (!(*store)->Put(id, Pattern(2000, i)).ok()) _exit(3);
    }
    _exit(0);
  }
  auto store = ContentStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_OK((*store)->EnsureStore(id));
  for (int i = kItems; i < 2 * kItems; ++i) {
    ASSERT_TRUE((*store)->Put(id, Pattern(2000, i)).ok());
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int i = 0; i < 2 * kItems; ++i) {
    EXPECT_EQ(Value((*store)->Get(id, HashOf(Pattern(2000, i)))), Pattern(2000, i));
  }
}

// kill -9 in the middle of writing large content: afterwards every row names a complete file, and
// the temporary files are cleaned up on the next open.
TEST(ContentStoreProcessTest, KillNineWhileWritingLosesNoCommittedContent) {
  TestDir dir("theater-content-store");
  const std::filesystem::path db = dir.path() / "theater.db";
  const std::string id = "11111111-2222-4333-8444-666666666666";
  ContentStore::Options options;
  options.inline_max_bytes = 64 << 10;
  options.durability = Durability::kNone;  // faster; a process crash loses nothing committed
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = ContentStore::Open(db, options);
    if (!store.ok() || !(*store)->EnsureStore(id).ok()) _exit(2);
    for (int i = 0;; ++i) {
      // Alternately large (a file) and small (inline) content, with a label move each time.
      const size_t size = i % 2 == 0 ? (size_t{3} << 20) + i : 1000 + i;
      if (!(*store)->PutAtLabel(id, "latest", Pattern(size, i)).ok()) _exit(3);
    }
  }
  // Let it commit a few, then kill it, most likely mid-write.
  auto files = [&] {
    size_t count = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir.path() / "store-blobs", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code gone;  // a temporary file renamed or removed meanwhile
      count += it->is_regular_file(gone) ? 1 : 0;
    }
    return count;
  };
  EXPECT_TRUE(::theater::testing_util::WaitFor([&] { return files() >= 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(37));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;

  auto store = ContentStore::Open(db, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::vector<std::string> hashes = Value((*store)->ListContent(id));
  EXPECT_GE(hashes.size(), 2u);
  for (const std::string& hash : hashes) {
    Result<std::vector<uint8_t>> content = (*store)->Get(id, hash);
    ASSERT_TRUE(content.ok()) << content.status().ToString();
    EXPECT_EQ(HashOf(*content), hash);
  }
  const std::optional<std::string> latest = Value((*store)->GetLabel(id, "latest"));
  ASSERT_TRUE(latest.has_value());
  EXPECT_TRUE(Value((*store)->Exists(id, *latest)));
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir.path() / "store-blobs")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

// --- The cache ----------------------------------------------------------------------------------

TEST_F(ContentStoreTest, RecentContentIsServedFromTheCache) {
  const std::string hash = Value(store_->Put(id_, Pattern(1000, 1)));
  EXPECT_EQ(Value(store_->Get(id_, hash)), Pattern(1000, 1));
  EXPECT_EQ(store_->stats().cache_hits, 1u);

  ContentStore::Options options;
  options.cache_bytes = 0;
  store_.reset();
  store_ = Open(options);
  EXPECT_EQ(Value(store_->Get(id_, hash)), Pattern(1000, 1));
  EXPECT_EQ(Value(store_->Get(id_, hash)), Pattern(1000, 1));
  EXPECT_EQ(store_->stats().cache_hits, 0u);
  EXPECT_EQ(store_->stats().gets, 2u);
}

TEST(ContentCacheTest, EvictsTheLeastRecentlyUsedBeyondItsCapacity) {
  internal::ContentCache cache(250);
  auto bytes = [](size_t n) { return std::make_shared<const std::vector<uint8_t>>(n, 1); };
  Sha256Digest a{}, b{}, c{};
  a[0] = 1;
  b[0] = 2;
  c[0] = 3;
  cache.Insert(1, a, bytes(100));
  cache.Insert(1, b, bytes(100));
  ASSERT_NE(cache.Find(1, a), nullptr);  // a is now the most recent
  EXPECT_EQ(cache.Find(2, a), nullptr);  // keyed by store too
  cache.Insert(1, c, bytes(100));        // evicts b
  EXPECT_NE(cache.Find(1, a), nullptr);
  EXPECT_EQ(cache.Find(1, b), nullptr);
  EXPECT_NE(cache.Find(1, c), nullptr);
  EXPECT_EQ(cache.size_bytes(), 200u);
  cache.Insert(1, b, bytes(300));  // larger than the whole cache: not kept
  EXPECT_EQ(cache.Find(1, b), nullptr);
}

TEST(DurabilityTest, NamesRoundTrip) {
  for (Durability d : {Durability::kNone, Durability::kBatched, Durability::kStrict}) {
    EXPECT_EQ(Value(ParseDurability(DurabilityName(d))), d);
  }
  ExpectError(ParseDurability("fast").status(), StatusCode::kInvalidArgument,
              "unknown durability 'fast'");
}

}  // namespace
}  // namespace theater::store
