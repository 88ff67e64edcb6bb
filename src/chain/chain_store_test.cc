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

namespace theater::chain {
namespace {

using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = std::filesystem::temp_directory_path() /
            ("theater-chain-store-" + std::to_string(getpid()) + "-" + name);
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

// Counts rows for `actor` through a separate connection (what another process would see).
int64_t RawCount(const std::filesystem::path& dir, const std::string& actor) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir / "theater.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM events WHERE actor = ?1;", -1, &stmt, nullptr);
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

TEST(ChainStoreTest, RoundTripOfTypedChain) {
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
  std::vector<Event> a = MakeChain("a", 50);
  std::vector<Event> b = MakeChain("b", 7);
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, "a", std::vector<Event>(a.begin(), a.begin() + 30));
    AppendAll(*store, "b", b);
    ASSERT_TRUE(store->UpsertActor({"a", "alpha", "name = \"alpha\"", 42, "running"}).ok());
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
  EXPECT_EQ((*actors)[0], (ActorRecord{"a", "alpha", "name = \"alpha\"", 42, "running", 50}));
  EXPECT_EQ((*actors)[1], (ActorRecord{"b", "", "", 0, "", 7}));
}

TEST(ChainStoreTest, RegistryUpsertKeepsCreated) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->UpsertActor({"x", "ex", "m1", 100, "starting"}).ok());
  ASSERT_TRUE(store->UpsertActor({"x", "ex2", "m2", 999, "stopped"}).ok());
  ASSERT_TRUE(store->UpsertActor({"w", "w", "", 5, "running"}).ok());
  auto actors = store->ListActors();
  ASSERT_TRUE(actors.ok());
  ASSERT_EQ(actors->size(), 2u);
  EXPECT_EQ((*actors)[0].actor_id, "w");
  EXPECT_EQ((*actors)[1], (ActorRecord{"x", "ex2", "m2", 100, "stopped", 0}));
}

TEST(ChainStoreTest, OpenFailures) {
  TempDir dir;
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
  TempDir other;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
  std::vector<Event> events = MakeChain("c", 10);
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, "c", events);
  }
  // Flip one payload byte of event #6.
  std::vector<uint8_t> altered = events[6].payload;
  altered[0] ^= 0x01;
  RawExec(dir.path(), "UPDATE events SET payload = ?1 WHERE actor = 'c' AND seq = 6;", altered);

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

TEST(ChainStoreTest, OtherDamageIsRejected) {
  TempDir dir;
  std::vector<Event> events = MakeChain("c", 8);
  for (std::string actor : {"gap", "shorthash", "badparent", "first"}) {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    AppendAll(*store, actor, MakeChain(actor, 8));
  }
  RawExec(dir.path(), "DELETE FROM events WHERE actor = 'gap' AND seq = 3;");
  RawExec(dir.path(), "UPDATE events SET hash = X'0102' WHERE actor = 'shorthash' AND seq = 5;");
  RawExec(dir.path(), "UPDATE events SET parent = ?1 WHERE actor = 'badparent' AND seq = 2;",
          MakeChain("other", 1)[0].hash);
  RawExec(dir.path(), "UPDATE events SET type = 'forged' WHERE actor = 'first' AND seq = 0;");

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
        Case{"badparent", 2, 8, "hash mismatch"}, Case{"first", 0, 8, "event #0"}}) {
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
    TempDir dir;
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
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 600)(rng));
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
  TempDir dir;
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
  TempDir dir;
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
}

}  // namespace
}  // namespace theater::chain
