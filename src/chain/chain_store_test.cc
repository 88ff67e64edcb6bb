// Theater: a WebAssembly actor runtime.
//
// Tests of ChainStore: round trips, reopening, durability modes, concurrency, Flush, corruption
// detection, and kill -9 crash consistency (fork + SIGKILL).
#include "theater/chain_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <condition_variable>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "common/test_dir.h"
#include "testing/wait_for.h"

namespace theater::chain {
namespace {

using ::testing::HasSubstr;

using testing_util::TestDir;

// The deterministic event `index` of test actor `actor`, following `parent`. Payload sizes vary
// so that rows span pages.
Event MakeEvent(const std::string& actor, uint64_t index, const std::optional<Hash>& parent) {
  Event e;
  e.parent = parent;
  e.type = index % 3 == 0 ? "wasm" : "test/op";
  std::string body = actor + "#" + std::to_string(index) + ":";
  body.append(static_cast<size_t>((index * 37) % 700), static_cast<char>('a' + index % 26));
  e.payload.assign(body.begin(), body.end());
  e.timestamp_ms = 1'700'000'000'000 + index;
  if (index % 2 == 1) e.description = "event " + std::to_string(index);
  e.hash = HashEvent(e.parent, e.type, e.payload);
  return e;
}

// An actor registry row with the fields these tests set (designated initialisers would need all).
ActorRecord Row(std::string id, std::string name, std::string manifest, uint64_t created_ms,
                std::string status, uint64_t event_count = 0) {
  ActorRecord row;
  row.actor_id = std::move(id);
  row.name = std::move(name);
  row.manifest = std::move(manifest);
  row.created_ms = created_ms;
  row.status = std::move(status);
  row.event_count = event_count;
  return row;
}

std::vector<Event> MakeChain(const std::string& actor, size_t n) {
  std::vector<Event> events;
  std::optional<Hash> parent;
  for (size_t i = 0; i < n; ++i) {
    events.push_back(MakeEvent(actor, i, parent));
    parent = events.back().hash;
  }
  return events;
}

std::unique_ptr<ChainStore> OpenOrDie(const std::filesystem::path& dir,
                                      ChainStore::Options options = {}) {
  auto store = ChainStore::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Runs `sql` on the database directly, bypassing the store.
void RawExec(const std::filesystem::path& dir, const std::string& sql,
             std::span<const uint8_t> blob = {}) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "theater.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  if (sqlite3_bind_parameter_count(stmt) > 0) {
    sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// The SQL for the integer key of the actor with id `actor` (schema version 3).
std::string KeyOf(const std::string& actor) {
  return "(SELECT actor_key FROM actor_keys WHERE actor = '" + actor + "')";
}

// Flips one bit of the stored payload of `actor`'s event `seq` (whose payload was `payload`),
// behind the store's back: damage its hash no longer matches.
void DamagePayload(const std::filesystem::path& dir, const std::string& actor, uint64_t seq,
                   std::vector<uint8_t> payload) {
  payload.at(0) ^= 0x01;
  RawExec(dir,
          "UPDATE events SET payload = ?1 WHERE actor_key = " + KeyOf(actor) +
              " AND seq = " + std::to_string(seq) + ";",
          payload);
}

// Counts rows for `actor` through a separate connection (what another process would see).
int64_t RawCount(const std::filesystem::path& dir, const std::string& actor) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir / "theater.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT COUNT(*) FROM events WHERE actor_key = "
                     "(SELECT actor_key FROM actor_keys WHERE actor = ?1);",
                     -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, actor.c_str(), -1, SQLITE_TRANSIENT);
  int64_t n = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

void AppendAll(ChainStore& store, const std::string& actor, const std::vector<Event>& events) {
  for (const Event& e : events) {
    auto ticket = store.Append(actor, e);
    ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
  }
}

TEST(ChainStoreTest, DurabilityNamesRoundTrip) {
  for (Durability d : {Durability::kNone, Durability::kBatched, Durability::kStrict}) {
    Result<Durability> parsed = ParseDurability(DurabilityName(d));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, d);
  }
  Result<Durability> bad = ParseDurability("Strict");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("expected none, batched or strict"), std::string::npos);
}

TEST(ChainStoreTest, RoundTripOfTypedChain) {
  TestDir dir("theater-chain-store");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "theater.db"));

  uint64_t now = 1000;
  EventChain chain([&] { return now++; });
  chain.Append(Lifecycle{"actor-ready", "hello"});
  chain.Append(Log{"info", "first line"}, "a description");
  chain.Append("wasm", {});  // an empty payload must come back as an empty blob
  chain.Append(Log{"warn", std::string(5000, 'x')});
  AppendAll(*store, "actor-1", chain.events());
  ASSERT_TRUE(store->Flush().ok());

  LoadReport report;
  auto loaded = store->LoadChain("actor-1", &report);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, chain.events());
  EXPECT_EQ(report.stored, 4u);
  EXPECT_EQ(report.rejected, 0u);
  EXPECT_TRUE(report.problem.ok());
  auto resumed = EventChain::FromEvents(*loaded);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->head(), chain.head());

  auto unknown = store->LoadChain("nobody");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());
}

TEST(ChainStoreTest, AppendRejectsEventsThatDoNotLink) {
  TestDir dir("theater-chain-store");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<Event> chain = MakeChain("a", 3);

  // The first event must have no parent.
  auto bad = store->Append("a", chain[1]);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kValidationError);
  EXPECT_THAT(bad.status().ToString(), HasSubstr("parent link broken"));

  ASSERT_TRUE(store->Append("a", chain[0]).ok());
  // A wrong hash.
  Event tampered = chain[1];
  tampered.payload.push_back('!');
  bad = store->Append("a", tampered);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().ToString(), HasSubstr("hash mismatch"));
  // Skipping an event.
  bad = store->Append("a", chain[2]);
  ASSERT_FALSE(bad.ok());
  // Appending the same event twice.
  bad = store->Append("a", chain[0]);
  ASSERT_FALSE(bad.ok());

  ASSERT_TRUE(store->Append("a", chain[1]).ok());
  ASSERT_TRUE(store->Flush().ok());
  auto loaded = store->LoadChain("a");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_EQ(store->stats().appended, 2u);
}

TEST(ChainStoreTest, ReopenAfterCloseFindsEverything) {
  TestDir dir("theater-chain-store");
  std::vector<Event> a = MakeChain("a", 50);
  std::vector<Event> b = MakeChain("b", 7);
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, "a", std::vector<Event>(a.begin(), a.begin() + 30));
    AppendAll(*store, "b", b);
    ASSERT_TRUE(store->UpsertActor(Row("a", "alpha", "name = \"alpha\"", 42, "running")).ok());
    // No Flush: the destructor commits what is queued.
  }
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    auto loaded = store->LoadChain("a");
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(*loaded, std::vector<Event>(a.begin(), a.begin() + 30));
    // Appending continues from the stored head.
    EXPECT_FALSE(store->Append("a", a[0]).ok());
    AppendAll(*store, "a", std::vector<Event>(a.begin() + 30, a.end()));
    EXPECT_TRUE(store->Close().ok());
    EXPECT_TRUE(store->Close().ok());  // idempotent
    auto closed = store->Append("a", a[0]);
    ASSERT_FALSE(closed.ok());
    EXPECT_EQ(closed.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_FALSE(store->LoadChain("a").ok());
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto loaded_a = store->LoadChain("a");
  auto loaded_b = store->LoadChain("b");
  ASSERT_TRUE(loaded_a.ok() && loaded_b.ok());
  EXPECT_EQ(*loaded_a, a);
  EXPECT_EQ(*loaded_b, b);
  auto actors = store->ListActors();
  ASSERT_TRUE(actors.ok());
  ASSERT_EQ(actors->size(), 2u);
  EXPECT_EQ((*actors)[0], (Row("a", "alpha", "name = \"alpha\"", 42, "running", 50)));
  EXPECT_EQ((*actors)[1], (Row("b", "", "", 0, "", 7)));
}

TEST(ChainStoreTest, RegistryUpsertKeepsCreated) {
  TestDir dir("theater-chain-store");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->UpsertActor(Row("x", "ex", "m1", 100, "starting")).ok());
  ASSERT_TRUE(store->UpsertActor(Row("x", "ex2", "m2", 999, "stopped")).ok());
  ASSERT_TRUE(store->UpsertActor(Row("w", "w", "", 5, "running")).ok());
  auto actors = store->ListActors();
  ASSERT_TRUE(actors.ok());
  ASSERT_EQ(actors->size(), 2u);
  EXPECT_EQ((*actors)[0].actor_id, "w");
  EXPECT_EQ((*actors)[1], (Row("x", "ex2", "m2", 100, "stopped", 0)));
}

TEST(ChainStoreTest, OpenFailures) {
  TestDir dir("theater-chain-store");
  // A newer schema version than this build knows.
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
  }
  RawExec(dir.path(), "UPDATE schema_version SET version = 99;");
  auto newer = ChainStore::Open(dir.path());
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().ToString(), HasSubstr("schema version 99"));

  // Not a database: the SQLite message comes through.
  TestDir other("theater-chain-store");
  std::filesystem::create_directories(other.path());
  {
    FILE* f = fopen((other.path() / "theater.db").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string junk(4096, 'j');
    fwrite(junk.data(), 1, junk.size(), f);
    fclose(f);
  }
  auto junk = ChainStore::Open(other.path());
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.status().ToString(), HasSubstr("not a database"));

  // The directory cannot be created.
  auto nodir = ChainStore::Open(other.path() / "theater.db" / "sub");
  ASSERT_FALSE(nodir.ok());
  EXPECT_EQ(nodir.status().code(), StatusCode::kIOError);
}

class DurabilityTest : public ::testing::TestWithParam<Durability> {};

TEST_P(DurabilityTest, CommittedEventsAreVisibleAndSurviveReopen) {
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.durability = GetParam();
  std::vector<Event> events = MakeChain("d", 200);
  {
    auto store = OpenOrDie(dir.path(), options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->durability(), GetParam());
    for (size_t i = 0; i < events.size(); ++i) {
      auto ticket = store->Append("d", events[i]);
      ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
      if (GetParam() == Durability::kStrict) {
        // Append returned only after the commit: another connection sees the row now.
        ASSERT_EQ(RawCount(dir.path(), "d"), static_cast<int64_t>(i + 1));
      } else if (i % 50 == 49) {
        ASSERT_TRUE(store->WaitDurable(*ticket).ok());
        ASSERT_GE(RawCount(dir.path(), "d"), static_cast<int64_t>(i + 1));
      }
    }
    EXPECT_FALSE(store->WaitDurable(1'000'000).ok());  // never issued
    ASSERT_TRUE(store->Flush().ok());
    ChainStore::Stats stats = store->stats();
    EXPECT_EQ(stats.appended, 200u);
    EXPECT_EQ(stats.committed, 200u);
    if (GetParam() == Durability::kStrict) {
      EXPECT_EQ(stats.transactions, 200u);
    }
  }
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  auto loaded = store->LoadChain("d");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, events);
}

INSTANTIATE_TEST_SUITE_P(Modes, DurabilityTest,
                         ::testing::Values(Durability::kNone, Durability::kBatched,
                                           Durability::kStrict),
                         [](const auto& info) { return std::string(DurabilityName(info.param)); });

TEST(ChainStoreTest, GroupCommitBatchesABurst) {
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.max_batch = 64;
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  AppendAll(*store, "g", MakeChain("g", 2000));
  ASSERT_TRUE(store->Flush().ok());
  ChainStore::Stats stats = store->stats();
  EXPECT_EQ(stats.committed, 2000u);
  EXPECT_GE(stats.transactions, 2000u / 64);
  EXPECT_LT(stats.transactions, 2000u);
}

TEST(ChainStoreTest, ConcurrentAppendsFromSeveralThreads) {
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.max_queue = 16;  // small, so producers block on a full queue
  options.max_batch = 8;
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kActorsPerThread = 2;
  constexpr size_t kEvents = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::vector<Event>> chains;
      for (int a = 0; a < kActorsPerThread; ++a) {
        chains.push_back(MakeChain("t" + std::to_string(t) + "a" + std::to_string(a), kEvents));
      }
      for (size_t i = 0; i < kEvents; ++i) {
        for (int a = 0; a < kActorsPerThread; ++a) {
          std::string actor = "t" + std::to_string(t) + "a" + std::to_string(a);
          if (!store->Append(actor, chains[a][i]).ok()) failures++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(store->Flush().ok());
  for (int t = 0; t < kThreads; ++t) {
    for (int a = 0; a < kActorsPerThread; ++a) {
      std::string actor = "t" + std::to_string(t) + "a" + std::to_string(a);
      LoadReport report;
      auto loaded = store->LoadChain(actor, &report);
      ASSERT_TRUE(loaded.ok());
      EXPECT_EQ(*loaded, MakeChain(actor, kEvents)) << actor;
      EXPECT_EQ(report.rejected, 0u);
    }
  }
  auto actors = store->ListActors();
  ASSERT_TRUE(actors.ok());
  EXPECT_EQ(actors->size(), static_cast<size_t>(kThreads * kActorsPerThread));
  for (const ActorRecord& r : *actors) EXPECT_EQ(r.event_count, kEvents);
}

TEST(ChainStoreTest, FlushWaitsForEverythingQueuedBefore) {
  TestDir dir("theater-chain-store");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Flush().ok());  // nothing queued: returns at once
  for (int round = 1; round <= 5; ++round) {
    std::vector<Event> chain = MakeChain("f", static_cast<size_t>(round) * 100);
    AppendAll(*store, "f", std::vector<Event>(chain.begin() + (round - 1) * 100, chain.end()));
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(RawCount(dir.path(), "f"), round * 100);
    EXPECT_EQ(store->stats().committed, static_cast<uint64_t>(round) * 100);
  }
  // Flush from one thread while another keeps appending: returns, and covers what came first.
  std::vector<Event> more = MakeChain("h", 1000);
  std::thread producer([&] { AppendAll(*store, "h", more); });
  EXPECT_TRUE(store->Flush().ok());
  producer.join();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(RawCount(dir.path(), "h"), 1000);
}

TEST(ChainStoreTest, CorruptedRowCutsTheChainBeforeIt) {
  TestDir dir("theater-chain-store");
  std::vector<Event> events = MakeChain("c", 10);
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, "c", events);
  }
  // Flip one payload byte of event #6.
  DamagePayload(dir.path(), "c", 6, events[6].payload);

  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  LoadReport report;
  auto loaded = store->LoadChain("c", &report);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, std::vector<Event>(events.begin(), events.begin() + 6));
  EXPECT_EQ(report.stored, 10u);
  EXPECT_EQ(report.rejected, 4u);
  EXPECT_EQ(report.problem.code(), StatusCode::kValidationError);
  EXPECT_THAT(report.problem.ToString(), HasSubstr("event #6: hash mismatch"));

  // The stored head is bad, so nothing links to the rejected tail until it is truncated.
  EXPECT_FALSE(store->Append("c", events[6]).ok());
  ASSERT_TRUE(store->TruncateChain("c", loaded->size()).ok());
  AppendAll(*store, "c", std::vector<Event>(events.begin() + 6, events.end()));
  ASSERT_TRUE(store->Flush().ok());
  auto repaired = store->LoadChain("c", &report);
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(*repaired, events);
  EXPECT_EQ(report.rejected, 0u);
}

// VisitChain reads a chain in pages, one event at a time, with LoadChain's checks: page by page
// from the start it yields exactly LoadChain's verified prefix, and it stops at a damaged row.
TEST(ChainStoreTest, VisitChainReadsPagesWithLoadChainsChecks) {
  TestDir dir("theater-chain-store");
  std::vector<Event> events = MakeChain("v", 25);
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  AppendAll(*store, "v", events);
  ASSERT_TRUE(store->Flush().ok());

  // Pages of at most 7 events, each going on where the last stopped.
  std::vector<Event> read;
  size_t from = 0;
  int pages = 0;
  for (;;) {
    size_t taken = 0;
    VisitReport report;
    ASSERT_TRUE(store
                    ->VisitChain(
                        "v", from,
                        [&](Event&& e, size_t index) {
                          if (taken == 7) return false;
                          EXPECT_EQ(index, from + taken);
                          read.push_back(std::move(e));
                          ++taken;
                          return true;
                        },
                        &report)
                    .ok());
    ++pages;
    EXPECT_TRUE(report.found);
    EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
    EXPECT_EQ(report.next_index, from + taken);
    from = report.next_index;
    if (!report.more) break;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(read, events);

  // Past the end: nothing, no problem. An unknown actor: not found.
  VisitReport report;
  size_t visited = 0;
  auto count = [&](Event&&, size_t) { return ++visited > 0; };
  ASSERT_TRUE(store->VisitChain("v", 25, count, &report).ok());
  EXPECT_FALSE(report.more);
  EXPECT_TRUE(report.problem.ok());
  ASSERT_TRUE(store->VisitChain("v", 1000, count, &report).ok());
  EXPECT_EQ(visited, 0u);
  ASSERT_TRUE(store->VisitChain("nobody", 0, count, &report).ok());
  EXPECT_FALSE(report.found);
  EXPECT_EQ(visited, 0u);
  store.reset();

  // A damaged row: the read stops before it, with the problem, whether it starts at 0 or later.
  DamagePayload(dir.path(), "v", 12, events[12].payload);
  store = OpenOrDie(dir.path());
  for (size_t start : {size_t{0}, size_t{10}, size_t{12}}) {
    std::vector<Event> got;
    ASSERT_TRUE(store
                    ->VisitChain(
                        "v", start,
                        [&](Event&& e, size_t) {
                          got.push_back(std::move(e));
                          return true;
                        },
                        &report)
                    .ok());
    EXPECT_EQ(got, std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(start),
                                      events.begin() + 12));
    EXPECT_FALSE(report.more);
    EXPECT_EQ(report.next_index, 12u);
    EXPECT_THAT(report.problem.ToString(), HasSubstr("event #12: hash mismatch"));
  }
  // A pruned chain starts at its anchor.
  std::vector<Event> pruned_chain = MakeChain("p", 10);
  AppendAll(*store, "p", pruned_chain);
  ASSERT_TRUE(store->Prune("p", 4).ok());
  ASSERT_TRUE(store->Flush().ok());
  std::vector<size_t> indices;
  ASSERT_TRUE(store
                  ->VisitChain(
                      "p", 0,
                      [&](Event&& e, size_t index) {
                        EXPECT_EQ(e, pruned_chain[index]);
                        indices.push_back(index);
                        return true;
                      },
                      &report)
                  .ok());
  EXPECT_EQ(report.first_index, 4u);
  EXPECT_EQ(indices, (std::vector<size_t>{4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(report.problem.ok());
}

// Found by fuzz/chain_store_fuzz (fuzz/regressions/chain_store_fuzz/): rows under an actor key
// that no actor owns (a damaged database) are not inherited by the next new actor, whose chain
// would then fail to load ("the anchor of ... is malformed").
TEST(ChainStoreTest, ANewActorDoesNotInheritStrayRows) {
  TestDir dir("theater-chain-store");
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, "owned", MakeChain("owned", 3));
  }
  // "owned" has key 1: the next two keys a new actor would get.
  RawExec(dir.path(), "INSERT INTO anchors (actor_key, seq, hash) VALUES (2, 5, X'01');");
  RawExec(dir.path(),
          "INSERT INTO events (actor_key, seq, hash, type, payload, timestamp) "
          "VALUES (3, 0, X'02', 'stray', X'', 0);");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  for (const std::string actor : {"new-1", "new-2"}) {
    std::vector<Event> events = MakeChain(actor, 2);
    AppendAll(*store, actor, events);
    ASSERT_TRUE(store->Flush().ok());
    LoadReport report;
    auto loaded = store->LoadChain(actor, &report);
    ASSERT_TRUE(loaded.ok()) << actor << ": " << loaded.status().ToString();
    EXPECT_EQ(*loaded, events) << actor;
    EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
  }
}

// The backward read a recovery uses: newest first, each event checked before it is visited, the
// head and size reported; a damaged row ends the read before the visitor sees it; a pruned chain
// ends at its anchor.
TEST(ChainStoreTest, VisitChainBackwardReadsFromTheHeadWithTheSameChecks) {
  TestDir dir("theater-chain-store");
  std::vector<Event> events = MakeChain("b", 20);
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  AppendAll(*store, "b", events);
  ASSERT_TRUE(store->Flush().ok());
  auto read_back = [&](const std::string& actor, size_t stop_after, BackwardVisitReport* report) {
    std::vector<std::pair<size_t, Event>> got;
    EXPECT_TRUE(store
                    ->VisitChainBackward(
                        actor,
                        [&](Event&& e, size_t index) {
                          got.emplace_back(index, std::move(e));
                          return got.size() < stop_after;
                        },
                        report)
                    .ok());
    return got;
  };
  BackwardVisitReport report;
  auto all = read_back("b", 100, &report);
  EXPECT_TRUE(report.found);
  EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
  EXPECT_EQ(report.next_index, 20u);
  EXPECT_EQ(report.head, std::optional<Hash>(events.back().hash));
  ASSERT_EQ(all.size(), 20u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].first, 19 - i);
    EXPECT_EQ(all[i].second, events[19 - i]);
  }
  EXPECT_EQ(read_back("b", 3, &report).size(), 3u);  // the visitor stops it
  read_back("nobody", 100, &report);
  EXPECT_FALSE(report.found);
  store.reset();

  // Event #15 altered: #19..#16 are visited, #15 is not, and the problem names it.
  DamagePayload(dir.path(), "b", 15, events[15].payload);
  store = OpenOrDie(dir.path());
  auto damaged = read_back("b", 100, &report);
  ASSERT_EQ(damaged.size(), 4u);
  EXPECT_EQ(damaged.back().first, 16u);
  EXPECT_THAT(report.problem.ToString(), HasSubstr("event #15: hash mismatch"));
  // A missing row: the read stops there too.
  RawExec(dir.path(), "DELETE FROM events WHERE actor_key = " + KeyOf("b") + " AND seq = 17;");
  damaged = read_back("b", 100, &report);
  EXPECT_EQ(damaged.size(), 1u);
  EXPECT_THAT(report.problem.ToString(), HasSubstr("event #17"));

  // A pruned chain: read down to its first stored event, checked against the anchor.
  std::vector<Event> pruned = MakeChain("p", 10);
  AppendAll(*store, "p", pruned);
  ASSERT_TRUE(store->Prune("p", 4).ok());
  ASSERT_TRUE(store->Flush().ok());
  auto tail = read_back("p", 100, &report);
  EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
  ASSERT_EQ(tail.size(), 6u);
  EXPECT_EQ(tail.back().first, 4u);
}

TEST(ChainStoreTest, OtherDamageIsRejected) {
  TestDir dir("theater-chain-store");
  std::vector<Event> events = MakeChain("c", 8);
  for (std::string actor : {"gap", "shorthash", "badparent", "badhash", "first", "other"}) {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, actor, MakeChain(actor, 8));
  }
  RawExec(dir.path(), "DELETE FROM events WHERE actor_key = " + KeyOf("gap") + " AND seq = 3;");
  RawExec(dir.path(), "UPDATE events SET hash = X'0102' WHERE actor_key = " + KeyOf("shorthash") +
                          " AND seq = 5;");
  // Parents are not stored: a foreign event spliced in (self-consistent, but hashed over another
  // chain's parent) fails because its hash does not cover this chain's previous event.
  RawExec(dir.path(),
          "UPDATE events SET (hash, type, payload) = (SELECT hash, type, payload FROM "
          "events WHERE actor_key = " +
              KeyOf("other") + " AND seq = 2) WHERE actor_key = " + KeyOf("badparent") +
              " AND seq = 2;");
  // A well-formed hash that is not the event's.
  RawExec(dir.path(),
          "UPDATE events SET hash = ?1 WHERE actor_key = " + KeyOf("badhash") + " AND seq = 4;",
          MakeChain("other", 1)[0].hash);
  RawExec(dir.path(), "UPDATE events SET type = 'forged' WHERE actor_key = " + KeyOf("first") +
                          " AND seq = 0;");

  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  struct Case {
    std::string actor;
    size_t kept;
    size_t stored;
    std::string problem;
  };
  for (const Case& c :
       {Case{"gap", 3, 7, "events missing"}, Case{"shorthash", 5, 8, "malformed hash"},
        Case{"badparent", 2, 8, "event #2: hash mismatch"},
        Case{"badhash", 4, 8, "event #4: hash mismatch"}, Case{"first", 0, 8, "event #0"}}) {
    LoadReport report;
    auto loaded = store->LoadChain(c.actor, &report);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(*loaded, std::vector<Event>(MakeChain(c.actor, c.kept))) << c.actor;
    EXPECT_EQ(report.stored, c.stored) << c.actor;
    EXPECT_EQ(report.rejected, c.stored - c.kept) << c.actor;
    EXPECT_THAT(report.problem.ToString(), HasSubstr(c.problem)) << c.actor;
  }
}

// ---------------------------------------------------------------------------------------------
// Crash consistency: a child appends from several threads and is killed with SIGKILL.

constexpr int kCrashActors = 4;

std::string CrashActor(int a) {
  return "crash-" + std::to_string(a);
}

// The child: appends forever, reporting (actor, index) of events known durable on `ack_fd`.
[[noreturn]] void CrashChild(const std::filesystem::path& dir, Durability durability, int ack_fd) {
  ChainStore::Options options;
  options.durability = durability;
  options.max_batch = 256;
  auto store = ChainStore::Open(dir, options);
  if (!store.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (int a = 0; a < kCrashActors; ++a) {
    threads.emplace_back([&, a] {
      std::string actor = CrashActor(a);
      std::optional<Hash> parent;
      for (uint64_t i = 0;; ++i) {
        Event e = MakeEvent(actor, i, parent);
        parent = e.hash;
        auto ticket = (*store)->Append(actor, e);
        if (!ticket.ok()) _exit(4);
        bool acked = durability == Durability::kStrict;
        if (!acked && i % 64 == 63) {
          if (!(*store)->WaitDurable(*ticket).ok()) _exit(5);
          acked = true;
        }
        if (acked) {
          uint32_t record[2] = {static_cast<uint32_t>(a), static_cast<uint32_t>(i)};
          // 8 bytes < PIPE_BUF: atomic even with several writers.
          if (write(ack_fd, record, sizeof(record)) != sizeof(record)) _exit(6);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

class CrashTest : public ::testing::TestWithParam<Durability> {};

TEST_P(CrashTest, KillNineLeavesVerifiedPrefixesWithEveryAcknowledgedEvent) {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    TestDir dir("theater-chain-store");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      CrashChild(dir.path(), GetParam(), fds[1]);
    }
    close(fds[1]);
    // Read acknowledgements until the random deadline, then kill, then drain the pipe.
    std::vector<int64_t> acked(kCrashActors, -1);
    auto read_acks = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      uint32_t record[2];
      ssize_t n = read(fds[0], record, sizeof(record));
      if (n != sizeof(record)) return false;
      if (record[0] < kCrashActors) {
        acked[record[0]] = std::max<int64_t>(acked[record[0]], record[1]);
      }
      return true;
    };
    // The kill comes a random time after the child's first acknowledgement, not after its start:
    // under a sanitizer on a loaded machine, opening the store alone can take longer than the
    // random delay, and a child killed before it committed anything tests nothing.
    auto first_ack_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto any_acked = [&] {
      return std::any_of(acked.begin(), acked.end(), [](int64_t i) { return i >= 0; });
    };
    while (!any_acked() && std::chrono::steady_clock::now() < first_ack_deadline) read_acks(5);
    ASSERT_TRUE(any_acked())
        << "the child acknowledged nothing within 60 s";
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 500)(rng));
    while (std::chrono::steady_clock::now() < deadline) read_acks(5);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited on its own, status " << wstatus;
    while (read_acks(0)) {
    }
    close(fds[0]);

    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    size_t total = 0;
    for (int a = 0; a < kCrashActors; ++a) {
      std::string actor = CrashActor(a);
      LoadReport report;
      auto loaded = store->LoadChain(actor, &report);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ(report.rejected, 0u) << report.problem.ToString();
      EXPECT_TRUE(VerifyEvents(*loaded).ok());
      // A prefix of what the child wrote.
      EXPECT_EQ(*loaded, MakeChain(actor, loaded->size())) << actor;
      // Everything acknowledged as durable is there.
      EXPECT_GE(static_cast<int64_t>(loaded->size()), acked[a] + 1)
          << actor << " lost acknowledged events";
      total += loaded->size();
    }
    EXPECT_GT(total, 0u);
    RecordProperty("round" + std::to_string(round) + "_events", std::to_string(total));
    RecordProperty("round" + std::to_string(round) + "_acked", std::to_string(acked[0] + 1));
    // The store keeps working after the crash.
    std::string actor = CrashActor(0);
    auto loaded = store->LoadChain(actor);
    ASSERT_TRUE(loaded.ok());
    std::optional<Hash> head;
    if (!loaded->empty()) head = loaded->back().hash;
    ASSERT_TRUE(store->Append(actor, MakeEvent(actor, loaded->size(), head)).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashTest,
                         ::testing::Values(Durability::kBatched, Durability::kStrict),
                         [](const auto& info) { return std::string(DurabilityName(info.param)); });

TEST(ChainStoreTest, WhenDurableRunsInTicketOrderOnceCommittedAndFailsAfterClose) {
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.durability = Durability::kStrict;
  auto opened = ChainStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<ChainStore> store = std::move(opened).value();
  std::mutex mu;
  std::condition_variable all_ran;
  std::vector<uint64_t> order;
  std::optional<Hash> parent;
  uint64_t last = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    Event e = MakeEvent("a", i, parent);
    parent = e.hash;
    auto ticket = store->Enqueue("a", e);  // no wait, even in strict mode
    ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
    EXPECT_EQ(store->LastTicket("a"), *ticket);
    last = *ticket;
    store->WhenDurable(*ticket, [&, t = *ticket](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(t);
      all_ran.notify_all();
    });
  }
  ASSERT_TRUE(store->Flush().ok());
  {
    // Callbacks run on the writer just after the commit Flush waited for: wait for them too
    // (and never leave while the writer may still touch `order`).
    std::unique_lock<std::mutex> lock(mu);
    bool ran = all_ran.wait_for(lock, std::chrono::seconds(30), [&] { return order.size() == 50; });
    ASSERT_TRUE(ran) << order.size() << " of 50 callbacks ran";
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  }
  bool immediate = false;
  store->WhenDurable(last, [&](Status s) { immediate = s.ok(); });
  EXPECT_TRUE(immediate) << "an already committed ticket runs at once";
  EXPECT_EQ(store->LastTicket("nobody"), 0u);
  ASSERT_TRUE(store->Close().ok());
  Status after_close;
  store->WhenDurable(last + 1, [&](Status s) { after_close = s; });
  EXPECT_EQ(after_close.code(), StatusCode::kFailedPrecondition) << after_close.ToString();
}

TEST(ChainStoreTest, PruneKeepsAVerifiableTailFromItsAnchor) {
  TestDir dir("theater-chain-store");
  std::vector<Hash> hashes;
  {
    auto store = OpenOrDie(dir.path());
    std::optional<Hash> parent;
    for (uint64_t i = 0; i < 10; ++i) {
      Event e = MakeEvent("a", i, parent);
      parent = e.hash;
      hashes.push_back(e.hash);
      ASSERT_TRUE(store->Append("a", e).ok());
    }
    EXPECT_EQ(store->Prune("a", 0).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Prune("a", 10).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Prune("nobody", 3).status().code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(store->Prune("a", 6).ok());
    // Appends continue after a prune, in order.
    Event next = MakeEvent("a", 10, parent);
    hashes.push_back(next.hash);
    ASSERT_TRUE(store->Append("a", next).ok());
    ASSERT_TRUE(store->Flush().ok());
    LoadReport report;
    auto events = store->LoadChain("a", &report);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    ASSERT_EQ(events->size(), 5u);
    EXPECT_EQ(report.rejected, 0u) << report.problem.ToString();
    EXPECT_EQ(report.first_index, 6u);
    EXPECT_EQ(report.anchor, hashes[5]);
    EXPECT_EQ(events->front().hash, hashes[6]);
    EXPECT_EQ(events->back().hash, hashes[10]);
  }
  // Reopened, the pruned chain still loads and verifies from its anchor.
  auto store = OpenOrDie(dir.path());
  LoadReport report;
  auto events = store->LoadChain("a", &report);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 5u);
  EXPECT_EQ(report.rejected, 0u);
  EXPECT_TRUE(VerifyEvents(*events, report.anchor, report.first_index).ok());
  store.reset();

  // The anchor is what the first kept event's parent is taken from: altering it rejects the tail.
  RawExec(dir.path(), "UPDATE anchors SET hash = ?1 WHERE actor_key = " + KeyOf("a") + ";",
          hashes[4]);
  store = OpenOrDie(dir.path());
  events = store->LoadChain("a", &report);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(report.stored, 5u);
  EXPECT_EQ(report.rejected, 5u);
  EXPECT_THAT(report.problem.ToString(), HasSubstr("event #6: hash mismatch"));
}

TEST(ChainStoreTest, CommitDelayHoldsPartialBatchesOnlyWhileNobodyWaits) {
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.max_commit_delay_us = 60'000'000;  // "forever" for this test
  options.max_batch = 100;
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  std::vector<Event> chain = MakeChain("d", 250);
  auto enqueue = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) ASSERT_TRUE(store->Enqueue("d", chain[i]).ok());
  };
  // A partial batch nobody waits for is held back.
  enqueue(0, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(RawCount(dir.path(), "d"), 0);
  // Flush (WaitDurable) does not wait for the delay.
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(RawCount(dir.path(), "d"), 5);
  // Nor does a WhenDurable callback.
  enqueue(5, 10);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  store->WhenDurable(store->LastTicket("d"), [&](Status s) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; }));
  }
  // A full batch is committed without waiting for anyone.
  enqueue(10, 250);
  EXPECT_TRUE(testing_util::WaitFor([&] { return RawCount(dir.path(), "d") >= 210; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Closing commits the rest at once.
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(RawCount(dir.path(), "d"), 250);
}

TEST(ChainStoreTest, QueueEntriesAreReusedSafely) {
  // A tiny queue and batch: the writer takes partial batches, and queue entries (with their
  // buffers) are refilled many times, with payloads of very different sizes and prunes between.
  TestDir dir("theater-chain-store");
  ChainStore::Options options;
  options.max_queue = 5;
  options.max_batch = 3;
  std::vector<std::vector<Event>> chains(2);
  {
    auto store = OpenOrDie(dir.path(), options);
    ASSERT_NE(store, nullptr);
    std::vector<std::optional<Hash>> heads(2);
    for (uint64_t i = 0; i < 120; ++i) {
      for (size_t a = 0; a < 2; ++a) {
        Event e;
        e.parent = heads[a];
        e.type = i % 2 ? "wasm" : "a type name longer than the small string buffer";
        e.payload.assign(i % 7 == 0 ? 9000 : (i * 13) % 200, static_cast<uint8_t>(i + a));
        if (i % 5 == 0) e.description = std::string(i % 10 == 0 ? 5000 : 3, 'x');
        e.timestamp_ms = i;
        e.hash = HashEvent(e.parent, e.type, e.payload);
        heads[a] = e.hash;
        chains[a].push_back(e);
        std::string actor = "r" + std::to_string(a);
        ASSERT_TRUE(store->Append(actor, e).ok());
        if (a == 1 && i % 40 == 39) {
          ASSERT_TRUE(store->Prune(actor, i - 5).ok());
        }
      }
    }
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  LoadReport report;
  auto r0 = store->LoadChain("r0", &report);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(*r0, chains[0]);
  auto r1 = store->LoadChain("r1", &report);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(report.first_index, 114u);
  EXPECT_EQ(report.rejected, 0u) << report.problem.ToString();
  EXPECT_EQ(*r1, std::vector<Event>(chains[1].begin() + 114, chains[1].end()));
}

TEST(ChainStoreTest, EnqueueTrustedSkipsOnlyTheHashCheck) {
  TestDir dir("theater-chain-store");
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<Event> chain = MakeChain("t", 3);
  ASSERT_TRUE(store->EnqueueTrusted("t", chain[0]).ok());
  // The parent link is still checked.
  auto skipped = store->EnqueueTrusted("t", chain[2]);
  ASSERT_FALSE(skipped.ok());
  EXPECT_THAT(skipped.status().ToString(), HasSubstr("parent link broken"));
  ASSERT_TRUE(store->EnqueueTrusted("t", chain[1]).ok());
  ASSERT_TRUE(store->Flush().ok());
  auto loaded = store->LoadChain("t");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, std::vector<Event>(chain.begin(), chain.begin() + 2));
}

// ---------------------------------------------------------------------------------------------
// Upgrades of older schemas, written here with raw SQL as those versions wrote them.

constexpr const char* kV1Schema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE events (
  actor TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, parent BLOB,
  type TEXT NOT NULL, payload BLOB NOT NULL, timestamp INTEGER NOT NULL, description TEXT,
  PRIMARY KEY (actor, seq)) WITHOUT ROWID;
CREATE TABLE actors (
  id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, manifest TEXT NOT NULL,
  created INTEGER NOT NULL, status TEXT NOT NULL);
)sql";
constexpr const char* kV2Anchors = R"sql(
CREATE TABLE anchors (actor TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL);
)sql";

// An old-layout database in `dir`, written through one raw connection.
class OldDatabase {
 public:
  OldDatabase(const std::filesystem::path& dir, int version) {
    std::filesystem::create_directories(dir);
    EXPECT_EQ(sqlite3_open((dir / "theater.db").c_str(), &db_), SQLITE_OK);
    Exec("PRAGMA journal_mode=WAL;");
    Exec(kV1Schema);
    if (version >= 2) Exec(kV2Anchors);
    Exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(version) + ");");
  }
  ~OldDatabase() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }
  // Inserts events [from, events.size()) of `actor` with their parent column, as v1/v2 did.
  void InsertEvents(const std::string& actor, const std::vector<Event>& events, size_t from = 0) {
    for (size_t i = from; i < events.size(); ++i) {
      const Event& e = events[i];
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(
          sqlite3_prepare_v2(db_,
                             "INSERT INTO events (actor, seq, hash, parent, type, payload, "
                             "timestamp, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8);",
                             -1, &stmt, nullptr),
          SQLITE_OK)
          << sqlite3_errmsg(db_);
      sqlite3_bind_text(stmt, 1, actor.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(i));
      sqlite3_bind_blob(stmt, 3, e.hash.data(), 32, SQLITE_TRANSIENT);
      if (e.parent) sqlite3_bind_blob(stmt, 4, e.parent->data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 5, e.type.c_str(), -1, SQLITE_TRANSIENT);
      static const uint8_t kEmpty = 0;
      sqlite3_bind_blob(stmt, 6, e.payload.empty() ? &kEmpty : e.payload.data(),
                        static_cast<int>(e.payload.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 7, static_cast<int64_t>(e.timestamp_ms));
      if (e.description) sqlite3_bind_text(stmt, 8, e.description->c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
    }
  }
  void InsertAnchor(const std::string& actor, uint64_t seq, const Hash& hash) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO anchors (actor, seq, hash) VALUES (?1, ?2, ?3);",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(stmt, 1, actor.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(seq));
    sqlite3_bind_blob(stmt, 3, hash.data(), 32, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
  }

 private:
  sqlite3* db_ = nullptr;
};

// The names of the tables in the database, and its schema version.
std::set<std::string> RawTables(const std::filesystem::path& dir, int64_t* version) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir / "theater.db").c_str(), &db), SQLITE_OK);
  std::set<std::string> tables;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table';", -1, &stmt,
                     nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    tables.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db, "SELECT version FROM schema_version;", -1, &stmt, nullptr);
  *version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return tables;
}

TEST(ChainStoreTest, UpgradesVersion2InPlace) {
  TestDir dir("theater-chain-store");
  std::vector<Event> full = MakeChain("11111111-2222-4333-8444-555555555555", 12);
  std::vector<Event> pruned = MakeChain("pruned", 10);
  std::vector<Event> damaged = MakeChain("damaged", 6);
  {
    OldDatabase old(dir.path(), 2);
    old.InsertEvents("11111111-2222-4333-8444-555555555555", full);
    // Pruned before #4: the anchor is the hash of #3, which #4 names as its parent.
    old.InsertEvents("pruned", pruned, 4);
    old.InsertAnchor("pruned", 4, pruned[3].hash);
    // A row from another chain at #3: rejected before the upgrade and after it.
    std::vector<Event> spliced = damaged;
    spliced[3] = MakeChain("elsewhere", 4)[3];
    old.InsertEvents("damaged", spliced);
    old.Exec("INSERT INTO actors VALUES ('pruned', 'p', 'name = \"p\"', 7, 'stopped');");
  }
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    LoadReport report;
    auto loaded = store->LoadChain("11111111-2222-4333-8444-555555555555", &report);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(*loaded, full);
    EXPECT_EQ(report.rejected, 0u);

    loaded = store->LoadChain("pruned", &report);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(*loaded, std::vector<Event>(pruned.begin() + 4, pruned.end()));
    EXPECT_EQ(report.first_index, 4u);
    EXPECT_EQ(report.anchor, pruned[3].hash);
    EXPECT_EQ(report.rejected, 0u) << report.problem.ToString();
    EXPECT_TRUE(VerifyEvents(*loaded, report.anchor, report.first_index).ok());

    loaded = store->LoadChain("damaged", &report);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(*loaded, std::vector<Event>(damaged.begin(), damaged.begin() + 3));
    EXPECT_EQ(report.rejected, 3u);
    EXPECT_THAT(report.problem.ToString(), HasSubstr("event #3: hash mismatch"));

    auto actors = store->ListActors();
    ASSERT_TRUE(actors.ok());
    ASSERT_EQ(actors->size(), 3u);
    EXPECT_EQ((*actors)[0].event_count, 12u);
    EXPECT_EQ((*actors)[1].event_count, 6u);
    EXPECT_EQ((*actors)[2], (Row("pruned", "p", "name = \"p\"", 7, "stopped", 6)));

    // The upgraded chains continue, and prune, as new ones.
    std::vector<Event> longer = MakeChain("pruned", 12);
    AppendAll(*store, "pruned", std::vector<Event>(longer.begin() + 10, longer.end()));
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->Prune("pruned", 7).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  int64_t version = 0;
  std::set<std::string> tables = RawTables(dir.path(), &version);
  EXPECT_EQ(version, 4);
  EXPECT_EQ(tables,
            (std::set<std::string>{"schema_version", "actor_keys", "events", "anchors", "actors"}));
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  LoadReport report;
  auto loaded = store->LoadChain("pruned", &report);
  ASSERT_TRUE(loaded.ok());
  std::vector<Event> longer = MakeChain("pruned", 12);
  EXPECT_EQ(*loaded, std::vector<Event>(longer.begin() + 7, longer.end()));
  EXPECT_EQ(report.anchor, longer[6].hash);
}

TEST(ChainStoreTest, UpgradesVersion1InPlace) {
  TestDir dir("theater-chain-store");
  std::vector<Event> a = MakeChain("a", 5);
  {
    OldDatabase old(dir.path(), 1);
    old.InsertEvents("a", a);
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto loaded = store->LoadChain("a");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, a);
  std::vector<Event> more = MakeChain("a", 7);
  AppendAll(*store, "a", std::vector<Event>(more.begin() + 5, more.end()));
  AppendAll(*store, "b", MakeChain("b", 2));  // a new actor gets a key after the upgraded ones
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(RawCount(dir.path(), "a"), 7);
  EXPECT_EQ(RawCount(dir.path(), "b"), 2);
  ASSERT_TRUE(store->Close().ok());
  int64_t version = 0;
  RawTables(dir.path(), &version);
  EXPECT_EQ(version, 4);
}

TEST(ChainStoreTest, FailedUpgradeLeavesTheDatabaseAsItWas) {
  TestDir dir("theater-chain-store");
  {
    OldDatabase old(dir.path(), 2);
    old.InsertEvents("a", MakeChain("a", 3));
    // A table in the way of the upgrade makes it fail halfway.
    old.Exec("CREATE TABLE actor_keys (x INTEGER);");
  }
  auto store = ChainStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().ToString(), HasSubstr("upgrading the schema from version 2"));
  int64_t version = 0;
  std::set<std::string> tables = RawTables(dir.path(), &version);
  EXPECT_EQ(version, 2);
  EXPECT_EQ(tables,
            (std::set<std::string>{"schema_version", "events", "anchors", "actors", "actor_keys"}));
}

}  // namespace
}  // namespace theater::chain
