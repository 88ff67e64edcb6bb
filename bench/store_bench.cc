// Theater: a WebAssembly actor runtime.
//
// ContentStore benchmarks (docs/store.md, "Performance").
//
//   store_bench [putget] [--n N] [--threads T] [--size B] [--durability none|batched|strict]
//               [--inline-max B] [--window-us W] [--cache-bytes C] [--index-delay-us D]
//               [--get random|last] [--baseline] [--dir DIR]
//       T threads (default: 1, then 2) each store N/T pieces of distinct random content of B bytes
//       (default 4096) and, after each Put, Get one piece it stored earlier, chosen at random (so
//       reads are spread over everything stored, not served by recency). Reports operations per
//       second (a Put and a Get count one each) and put+get pairs per second. Default N: 100,000.
//       --get last reads back the piece just stored instead (the read-your-write pattern the
//       cache serves); --window-us, --cache-bytes and --index-delay-us override
//       ContentStore::Options (commit_window_us, cache_bytes, index_commit_delay_us).
//       --baseline first measures the floor under it: raw SQLite, one transaction per 4 KiB insert
//       plus a lookup by hash on a second connection, single-threaded (at most 50,000 pairs).
//   store_bench threshold [--durability ...] [--dir DIR]
//       For content sizes from 16 KiB to 16 MiB, Put then Get ~64 MiB worth of content, once held
//       inline in the database and once in files: MB/s of each. Chooses Options::inline_max_bytes.
//
// --dir: where the databases go (a fresh subdirectory per run, removed afterwards); default: a
// fresh directory under the system's temporary directory. Prints one line of JSON per run.
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/uuid.h"
#include "theater/content_store.h"

#include "bench_util.h"

namespace theater::store {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode = "putget";
  uint64_t n = 100000;
  int threads = 0;  // 0: 1, then 2
  size_t size = 4096;
  std::string durability = "batched";
  int64_t inline_max = -1;   // -1: the default
  int window_us = -1;        // -1: the default
  int64_t cache_bytes = -1;  // -1: the default
  int index_delay_us = -1;   // -1: the default
  std::string get = "random";
  bool baseline = false;
  std::string dir;
};

Args Parse(int argc, char** argv) {
  Args a;
  CLI::App app("Content store benchmarks (docs/benchmarks.md)", "store_bench");
  app.add_option("mode", a.mode, "putget (default) or threshold")
      ->check(CLI::IsMember({"putget", "threshold"}));
  app.add_option("--n", a.n);
  app.add_option("--threads", a.threads, "0: 1, then 2");
  app.add_option("--size", a.size, "Bytes per value");
  app.add_option("--durability", a.durability)->check(CLI::IsMember({"none", "batched", "strict"}));
  app.add_option("--inline-max", a.inline_max, "-1: the default");
  app.add_option("--window-us", a.window_us, "-1: the default");
  app.add_option("--cache-bytes", a.cache_bytes, "-1: the default");
  app.add_option("--index-delay-us", a.index_delay_us, "-1: the default");
  app.add_option("--get", a.get)->check(CLI::IsMember({"random", "last"}));
  app.add_flag("--baseline", a.baseline);
  app.add_option("--dir", a.dir);
  bench::ParseCommandLine(app, argc, argv);
  if (a.n == 0 || a.size == 0) bench::UsageError("store_bench", "--n and --size must be positive");
  return a;
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T OrDie(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what, result.status());
  return std::move(result).value();
}

// Fills `buffer` with pseudo-random bytes (xorshift64: ~0.3 µs per 4 KiB, negligible next to a
// Put). Every call gives different content, so no Put is a duplicate.
void Fill(std::vector<uint8_t>& buffer, uint64_t& state) {
  for (size_t i = 0; i < buffer.size(); i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(buffer.data() + i, &state, std::min<size_t>(8, buffer.size() - i));
  }
}

// A fresh directory for one run, removed when the run ends.
class RunDir {
 public:
  explicit RunDir(const std::string& base) {
    const std::filesystem::path root =
        base.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(base);
    path_ = root / ("store-bench-" + std::to_string(::getpid()) + "-" + NewUuid().substr(0, 8));
    std::filesystem::create_directories(path_);
  }
  ~RunDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

ContentStore::Options StoreOptions(const Args& args) {
  ContentStore::Options options;
  options.durability = OrDie(ParseDurability(args.durability), "--durability");
  if (args.inline_max >= 0) options.inline_max_bytes = static_cast<size_t>(args.inline_max);
  if (args.window_us >= 0) options.commit_window_us = args.window_us;
  if (args.cache_bytes >= 0) options.cache_bytes = static_cast<size_t>(args.cache_bytes);
  if (args.index_delay_us >= 0) options.index_commit_delay_us = args.index_delay_us;
  return options;
}

void RunPutGet(const Args& args, int threads) {
  RunDir dir(args.dir);
  ContentStore::Options options = StoreOptions(args);
  auto store = OrDie(ContentStore::Open(dir.path() / "theater.db", options), "opening the store");
  const std::string id = OrDie(store->CreateStore(), "creating a store");
  const uint64_t per_thread = args.n / static_cast<uint64_t>(threads);
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<uint8_t> buffer(args.size);
      uint64_t state = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(t + 1) + ::getpid();
      std::mt19937_64 pick(static_cast<uint64_t>(t) + 7);
      std::vector<std::string> hashes;
      hashes.reserve(per_thread);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint64_t i = 0; i < per_thread; ++i) {
        Fill(buffer, state);
        hashes.push_back(OrDie(store->Put(id, buffer), "Put"));
        const std::string& hash =
            args.get == "last" ? hashes.back() : hashes[pick() % hashes.size()];
        std::vector<uint8_t> got = OrDie(store->Get(id, hash), "Get");
        if (got.size() != args.size) Die("Get", InternalError("wrong size read back"));
      }
    });
  }
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const ContentStore::Stats stats = store->stats();
  const uint64_t pairs = per_thread * static_cast<uint64_t>(threads);
  std::printf(
      "{\"bench\":\"store\",\"command\":\"putget\",\"threads\":%d,\"pairs\":%llu,"
      "\"size\":%zu,\"get\":\"%s\",\"durability\":\"%s\",\"inline_max\":%zu,"
      "\"window_us\":%d,\"cache_bytes\":%zu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
      "\"pairs_per_s\":%.0f,\"writes_per_commit\":%.2f,\"cache_hit_rate\":%.2f}\n",
      threads, static_cast<unsigned long long>(pairs), args.size, args.get.c_str(),
      args.durability.c_str(), options.inline_max_bytes, store->options().commit_window_us,
      options.cache_bytes, seconds, 2.0 * static_cast<double>(pairs) / seconds,
      static_cast<double>(pairs) / seconds,
      static_cast<double>(stats.writes) /
          static_cast<double>(std::max<uint64_t>(stats.transactions, 1)),
      static_cast<double>(stats.cache_hits) /
          static_cast<double>(std::max<uint64_t>(stats.gets, 1)));
  std::fflush(stdout);
}

// The floor under RunPutGet, measured in the same process and file system: raw SQLite, one
// transaction per insert of a 4 KiB row keyed by a 32-byte hash, and a lookup by hash on a second
// connection, with the pragmas ContentStore uses (8 KiB pages, WAL, the same synchronous level,
// checkpoints every 2048 pages inline). No validation, hashing, locking or cache.
void RunSqliteBaseline(const Args& args) {
  RunDir dir(args.dir);
  const std::string path = (dir.path() / "baseline.db").string();
  sqlite3* writer = nullptr;
  sqlite3* reader = nullptr;
  auto check = [&](int rc, sqlite3* db, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      Die(what, InternalError(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    }
  };
  check(sqlite3_open(path.c_str(), &writer), writer, "opening the baseline database");
  const Durability durability = OrDie(ParseDurability(args.durability), "--durability");
  const std::string pragmas =
      std::string(
          "PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA cache_size=-32768; "
          "PRAGMA wal_autocheckpoint=2048; PRAGMA synchronous=") +
      (durability == Durability::kNone      ? "OFF;"
       : durability == Durability::kBatched ? "NORMAL;"
                                            : "FULL;") +
      "CREATE TABLE t (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL);";
  check(sqlite3_exec(writer, pragmas.c_str(), nullptr, nullptr, nullptr), writer, "pragmas");
  check(sqlite3_open(path.c_str(), &reader), reader, "opening a reader");
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* select = nullptr;
  check(sqlite3_prepare_v2(writer, "INSERT INTO t (hash, data) VALUES (?1, ?2);", -1, &insert,
                           nullptr),
        writer, "preparing");
  check(sqlite3_prepare_v2(reader, "SELECT data FROM t WHERE hash = ?1;", -1, &select, nullptr),
        reader, "preparing");
  const uint64_t n = std::min<uint64_t>(args.n, 50000);
  std::vector<uint8_t> buffer(args.size);
  std::vector<std::array<uint8_t, 32>> keys;
  keys.reserve(n);
  uint64_t state = 0x1234567;
  std::mt19937_64 pick(7);
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    Fill(buffer, state);
    std::array<uint8_t, 32> key;
    std::memcpy(key.data(), buffer.data(), std::min<size_t>(32, buffer.size()));
    keys.push_back(key);
    check(sqlite3_exec(writer, "BEGIN IMMEDIATE;", nullptr, nullptr, nullptr), writer, "begin");
    sqlite3_bind_blob(insert, 1, key.data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, buffer.data(), static_cast<int>(buffer.size()), SQLITE_STATIC);
    check(sqlite3_step(insert), writer, "insert");
    sqlite3_reset(insert);
    check(sqlite3_exec(writer, "COMMIT;", nullptr, nullptr, nullptr), writer, "commit");
    sqlite3_bind_blob(select, 1, keys[pick() % keys.size()].data(), 32, SQLITE_STATIC);
    check(sqlite3_step(select), reader, "select");
    std::vector<uint8_t> copy(static_cast<const uint8_t*>(sqlite3_column_blob(select, 0)),
                              static_cast<const uint8_t*>(sqlite3_column_blob(select, 0)) +
                                  sqlite3_column_bytes(select, 0));
    sqlite3_reset(select);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_finalize(select);
  sqlite3_close(reader);
  sqlite3_close(writer);
  std::printf(
      "{\"bench\":\"store\",\"command\":\"sqlite-baseline\",\"threads\":1,\"pairs\":%llu,"
      "\"size\":%zu,\"durability\":\"%s\",\"seconds\":%.3f,\"ops_per_s\":%.0f,"
      "\"pairs_per_s\":%.0f}\n",
      static_cast<unsigned long long>(n), args.size, args.durability.c_str(), seconds,
      2.0 * static_cast<double>(n) / seconds, static_cast<double>(n) / seconds);
  std::fflush(stdout);
}

// MB/s of Put and of Get for `count` pieces of `size` bytes, inline or in files.
void RunThresholdPoint(const Args& args, size_t size, bool in_file) {
  RunDir dir(args.dir);
  ContentStore::Options options = StoreOptions(args);
  options.inline_max_bytes = in_file ? 0 : size;
  auto store = OrDie(ContentStore::Open(dir.path() / "theater.db", options), "opening the store");
  const std::string id = OrDie(store->CreateStore(), "creating a store");
  const size_t count = std::max<size_t>(8, (size_t{64} << 20) / size);
  std::vector<uint8_t> buffer(size);
  uint64_t state = 0x2545f4914f6cdd1dULL + size;
  std::vector<std::string> hashes;
  auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    Fill(buffer, state);
    hashes.push_back(OrDie(store->Put(id, buffer), "Put"));
  }
  const double put_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  for (const std::string& hash : hashes) {
    if (OrDie(store->Get(id, hash), "Get").size() != size) {
      Die("Get", InternalError("wrong size read back"));
    }
  }
  const double get_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double mb = static_cast<double>(size) * static_cast<double>(count) / 1e6;
  std::printf(
      "{\"bench\":\"store\",\"command\":\"threshold\",\"size\":%zu,\"where\":\"%s\","
      "\"count\":%zu,\"durability\":\"%s\",\"put_mb_per_s\":%.1f,\"get_mb_per_s\":%.1f,"
      "\"put_per_s\":%.0f,\"get_per_s\":%.0f}\n",
      size, in_file ? "file" : "inline", count, args.durability.c_str(), mb / put_seconds,
      mb / get_seconds, static_cast<double>(count) / put_seconds,
      static_cast<double>(count) / get_seconds);
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  if (args.mode == "threshold") {
    for (size_t size = size_t{16} << 10; size <= size_t{16} << 20; size *= 4) {
      RunThresholdPoint(args, size, /*in_file=*/false);
      RunThresholdPoint(args, size, /*in_file=*/true);
    }
    return 0;
  }
  if (args.baseline) RunSqliteBaseline(args);
  if (args.threads > 0) {
    RunPutGet(args, args.threads);
  } else {
    RunPutGet(args, 1);
    RunPutGet(args, 2);
  }
  return 0;
}

}  // namespace
}  // namespace theater::store

int main(int argc, char** argv) {
  return theater::store::Main(argc, argv);
}
