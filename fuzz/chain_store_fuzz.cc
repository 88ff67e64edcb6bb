// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for chain loading over a damaged database (src/chain/chain_store.cc): a saved
// chain is whatever is on disk, and `theater events`, VerifyChain and the server read it.
//
// Each input writes a small valid chain (one or two actors, payloads of every kind, sometimes a
// prune) through ChainStore, closes it, then damages the SQLite file with fuzzer-chosen SQL
// edits — sequence numbers, hashes, types, payloads, timestamps and descriptions changed, set to
// another storage class or NULL, rows deleted or inserted, anchors and actor keys rewritten, the
// registry filled with junk, the schema version changed — and opens it again.
//
// Invariants: opening and loading never crash; what LoadChain returns verifies (VerifyEvents with
// the reported anchor and first index) and every event renders; `rejected` is the stored rows
// not returned; after TruncateChain(verified length) an event linked to the verified head is
// accepted and the chain then loads with it (the documented way to continue a damaged chain).
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "support/sample_payloads.h"
#include "support/temp_dir.h"
#include "theater/chain.h"
#include "theater/chain_store.h"

namespace {

using namespace theater;
using namespace theater::chain;

#define CHECK(cond)                \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

const char* const kActors[] = {"00000000-0000-4000-8000-00000000000a",
                               "00000000-0000-4000-8000-00000000000b"};

Event MakeEvent(const std::optional<Hash>& parent, std::vector<uint8_t> payload, std::string type) {
  Event e;
  e.parent = parent;
  e.type = std::move(type);
  e.payload = std::move(payload);
  e.timestamp_ms = 1700000000000;
  e.description = "event";
  e.hash = HashEvent(e.parent, e.type, e.payload);
  return e;
}

// Binds a value of a fuzzer-chosen storage class (so a hash may become an integer, a payload
// text, a seq a blob, anything NULL).
void BindAny(sqlite3_stmt* stmt, int i, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      sqlite3_bind_null(stmt, i);
      break;
    case 1:
    case 2:
      sqlite3_bind_int64(stmt, i, in.ConsumeIntegralInRange<int64_t>(-3, 12));
      break;
    case 3:
      sqlite3_bind_int64(stmt, i, in.ConsumeIntegral<int64_t>());
      break;
    case 4: {
      std::string s = in.ConsumeRandomLengthString(40);
      sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      break;
    }
    default: {
      std::vector<uint8_t> b = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 64));
      if (in.ConsumeBool() && b.size() < 32) b.resize(32);  // hash-sized
      sqlite3_bind_blob(stmt, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      break;
    }
  }
}

void RunEdit(sqlite3* db, FuzzedDataProvider& in) {
  static const char* const kEdits[] = {
      "UPDATE events SET seq = ?1 WHERE rowid = ?2",
      "UPDATE events SET hash = ?1 WHERE rowid = ?2",
      "UPDATE events SET type = ?1 WHERE rowid = ?2",
      "UPDATE events SET payload = ?1 WHERE rowid = ?2",
      "UPDATE events SET timestamp = ?1 WHERE rowid = ?2",
      "UPDATE events SET description = ?1 WHERE rowid = ?2",
      "UPDATE events SET actor_key = ?1 WHERE rowid = ?2",
      "DELETE FROM events WHERE rowid = ?2 OR ?1 IS NULL AND 0",
      "INSERT INTO events (actor_key, seq, hash, type, payload, timestamp, description) "
      "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7)",
      "INSERT OR REPLACE INTO anchors (actor_key, seq, hash) VALUES (?2, ?1, ?3)",
      "DELETE FROM anchors WHERE actor_key = ?2 OR ?1 IS NULL AND 0",
      "UPDATE actor_keys SET actor = ?1 WHERE actor_key = ?2",
      "INSERT OR REPLACE INTO actor_keys (actor_key, actor) VALUES (?2, ?1)",
      "INSERT OR REPLACE INTO actors (id, name, manifest, created, status) "
      "VALUES (?1, ?3, ?4, ?2, ?5)",
      "UPDATE schema_version SET version = ?1 WHERE ?2 IS NOT NULL OR 1",
      "UPDATE events SET payload = substr(payload, 1, ?1) WHERE rowid = ?2",
      "UPDATE events SET payload = payload || ?1 WHERE rowid = ?2",
  };
  const char* sql = kEdits[in.ConsumeIntegralInRange<size_t>(0, std::size(kEdits) - 1)];
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return;
  int params = sqlite3_bind_parameter_count(stmt);
  for (int i = 1; i <= params; ++i) {
    if (i == 2 && in.ConsumeBool()) {
      sqlite3_bind_int64(stmt, i, in.ConsumeIntegralInRange<int64_t>(0, 12));  // a likely rowid
    } else {
      BindAny(stmt, i, in);
    }
  }
  (void)sqlite3_step(stmt);  // constraint violations are fine: that edit just does not happen
  sqlite3_finalize(stmt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::filesystem::path dir = fuzz::FreshSubdir("chain");
  ChainStore::Options options;
  options.durability = Durability::kNone;
  options.max_commit_delay_us = 0;
  static const std::vector<Payload> samples = fuzz::SamplePayloads();

  // 1. A valid database.
  {
    Result<std::unique_ptr<ChainStore>> store = ChainStore::Open(dir, options);
    CHECK(store.ok());
    for (const char* actor : kActors) {
      std::optional<Hash> parent;
      size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
      for (size_t i = 0; i < n; ++i) {
        const Payload& p = samples[in.ConsumeIntegralInRange<size_t>(0, samples.size() - 1)];
        Event e = MakeEvent(parent, EncodePayload(p), EventTypeFor(p));
        CHECK((*store)->Append(actor, e).ok());
        parent = e.hash;
      }
      if (n > 1 && in.ConsumeBool()) {
        CHECK((*store)->Prune(actor, in.ConsumeIntegralInRange<uint64_t>(1, n - 1)).ok());
      }
      ActorRecord record{actor, "name", "name = \"x\"", 1, "running", 0};
      CHECK((*store)->UpsertActor(record).ok());
    }
    CHECK((*store)->Close().ok());
  }

  // 2. Damage.
  {
    sqlite3* db = nullptr;
    CHECK(sqlite3_open((dir / "theater.db").c_str(), &db) == SQLITE_OK);
    size_t edits = in.ConsumeIntegralInRange<size_t>(0, 8);
    for (size_t i = 0; i < edits && in.remaining_bytes() > 0; ++i) RunEdit(db, in);
    sqlite3_close(db);
  }

  // 3. Load.
  Result<std::unique_ptr<ChainStore>> store = ChainStore::Open(dir, options);
  if (!store.ok()) return 0;
  (void)(*store)->ListActors();
  std::string other = in.ConsumeRandomLengthString(40);
  for (const std::string& actor : {std::string(kActors[0]), std::string(kActors[1]), other}) {
    LoadReport report;
    Result<std::vector<Event>> events = (*store)->LoadChain(actor, &report);
    if (!events.ok()) {
      CHECK(events.status().code() != StatusCode::kInternal);
      continue;
    }
    CHECK(VerifyEvents(*events, report.anchor, report.first_index).ok());
    CHECK(report.rejected == report.stored - events->size());
    CHECK(report.problem.ok() == (report.rejected == 0));
    for (size_t i = 0; i < events->size(); ++i) {
      (void)EventToJson((*events)[i])
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      (void)EventToLine((*events)[i], report.first_index + i);
    }
    // Continue the chain from its verified prefix.
    const size_t keep = report.first_index + events->size();
    if (!(*store)->TruncateChain(actor, keep).ok()) continue;
    std::optional<Hash> head = events->empty() ? report.anchor : events->back().hash;
    Event next = MakeEvent(head, EncodePayload(samples[0]), EventTypeFor(samples[0]));
    Result<uint64_t> appended = (*store)->Append(actor, next);
    if (!appended.ok()) continue;  // e.g. a damaged head the store refuses to link to
    CHECK((*store)->Flush().ok());
    LoadReport after;
    Result<std::vector<Event>> again = (*store)->LoadChain(actor, &after);
    if (!again.ok()) {
      fprintf(stderr, "actor %s: after truncating to %zu and appending one, the chain does not load: %s\n",
              actor.c_str(), keep, again.status().ToString().c_str());
      __builtin_trap();
    }
    if (!(again->size() == events->size() + 1 && again->back() == next)) {
      fprintf(stderr,
              "actor %s: verified prefix of %zu events (first index %zu, %zu stored, %zu "
              "rejected, problem: %s); after truncating to %zu and appending one, %zu events load "
              "(first index %zu, %zu stored, %zu rejected, problem: %s)\n",
              actor.c_str(), events->size(), report.first_index, report.stored, report.rejected,
              report.problem.ToString().c_str(), keep, again->size(), after.first_index,
              after.stored, after.rejected, after.problem.ToString().c_str());
      __builtin_trap();
    }
  }
  (void)(*store)->Close();
  return 0;
}
