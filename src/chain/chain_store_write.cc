// Theater: a WebAssembly actor runtime.
//
// ChainStore's writing (include/theater/chain_store.h, docs/persistence.md): appends checked
// against the chain heads and queued for the group-commit writer (common/group_commit.h), the
// writer's transaction, prunes, truncation and the actor registry.
#include "theater/chain_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "chain/chain_store_internal.h"
#include "common/group_commit.h"
#include "common/sqlite_util.h"
#include "common/wal_checkpointer.h"

namespace theater::chain {

using sqlite::Statement;

// Prepared once, at Open, and used by the writer thread for every batch: preparing the insert
// per batch would cost a parse and a schema lookup each time.
struct ChainStore::WriterStatements {
  Statement begin;
  Statement commit;
  Statement insert;
  Statement new_key;
  Statement anchor;
  Statement prune;
  Statement upsert_actor;

  Status Prepare(const sqlite::Connection& db) {
    THEATER_RETURN_IF_ERROR(begin.Prepare(db, "BEGIN IMMEDIATE;"));
    THEATER_RETURN_IF_ERROR(commit.Prepare(db, "COMMIT;"));
    THEATER_RETURN_IF_ERROR(insert.Prepare(
        db,
        "INSERT INTO events (actor_key, seq, hash, type, payload, timestamp, description) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);"));
    THEATER_RETURN_IF_ERROR(
        new_key.Prepare(db, "INSERT INTO actor_keys (actor_key, actor) VALUES (?1, ?2);"));
    // The anchor is the hash of the last deleted event, which the first kept event names as its
    // parent: the chain verifies from there. (When that event is already gone, an earlier prune
    // went further and its anchor stays.)
    THEATER_RETURN_IF_ERROR(anchor.Prepare(
        db,
        "INSERT OR REPLACE INTO anchors (actor_key, seq, hash) SELECT actor_key, seq + 1, hash "
        "FROM events WHERE actor_key = ?1 AND seq = ?2 - 1;"));
    THEATER_RETURN_IF_ERROR(
        prune.Prepare(db, "DELETE FROM events WHERE actor_key = ?1 AND seq < ?2;"));
    THEATER_RETURN_IF_ERROR(upsert_actor.Prepare(
        db,
        "INSERT INTO actors (id, name, manifest, created, status, parent, recovery) VALUES (?1, "
        "?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, manifest = "
        "excluded.manifest, status = excluded.status, parent = excluded.parent, recovery = "
        "excluded.recovery;"));
    return Status();
  }
};

Status ChainStore::StartWriter(const std::filesystem::path& db_path,
                               const sqlite::ConnectionSettings& settings) {
  statements_ = std::make_unique<WriterStatements>();
  THEATER_RETURN_IF_ERROR(statements_->Prepare(*writer_db_));
  // Every commit rewrites the index page each actor appends to; fewer, larger checkpoints (64 MiB
  // of log at 8 KiB pages) copy the log back less often.
  sqlite::WalCheckpointer::Options checkpoints;
  checkpoints.checkpoint_pages = 8192;
  checkpoints.max_pages = 32768;
  checkpoints.thread_name = "chain-ckpt";
  THEATER_ASSIGN_OR_RETURN(checkpointer_, sqlite::WalCheckpointer::Start(db_path, *writer_db_,
                                                                         settings, checkpoints));
  GroupCommitOptions writer;
  writer.name = "chain store";
  writer.item_noun = "events";
  writer.max_queue = options_.max_queue;
  writer.max_batch = options_.max_batch;
  writer.hold = std::chrono::microseconds(std::max(options_.max_commit_delay_us, 0));
  writer.thread_name = "theater-store";
  writer_ = std::make_unique<GroupCommit<Pending>>(
      writer, [this](std::span<Pending> batch) { return CommitBatch(batch); });
  return Status();
}

// Here, where WriterStatements is complete (the members' destructors need it).
ChainStore::ChainStore(Options options) : options_(options) {}

ChainStore::~ChainStore() {
  Close().IgnoreError();
}

Status ChainStore::Close() {
  {
    MutexLock lock(heads_mu_);
    closed_ = true;
  }
  Status result;
  if (writer_ != nullptr) result = writer_->Close();
  checkpointer_.reset();  // before the connection it hooks
  statements_.reset();
  writer_db_.reset();
  MutexLock reader_lock(reader_mu_);
  reader_db_.reset();
  return result;
}

Result<uint64_t> ChainStore::Append(std::string_view actor_id, const Event& event) {
  THEATER_ASSIGN_OR_RETURN(uint64_t ticket, Enqueue(actor_id, event));
  if (options_.durability == Durability::kStrict) THEATER_RETURN_IF_ERROR(WaitDurable(ticket));
  return ticket;
}

Result<uint64_t> ChainStore::Enqueue(std::string_view actor_id, const Event& event) {
  return EnqueueChecked(actor_id, event, /*check_hash=*/true);
}

Result<uint64_t> ChainStore::EnqueueTrusted(std::string_view actor_id, const Event& event) {
  return EnqueueChecked(actor_id, event, /*check_hash=*/false);
}

Result<uint64_t> ChainStore::EnqueueChecked(std::string_view actor_id, const Event& event,
                                            bool check_hash) {
  if (check_hash) {
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(CheckHash(event),
                                         "appending to the chain of " + std::string(actor_id));
  }
  MutexLock lock(heads_mu_);
  if (closed_) return FailedPrecondition("chain store is closed");
  auto it = heads_.find(actor_id);
  if (it == heads_.end()) {
    std::string id(actor_id);
    THEATER_ASSIGN_OR_RETURN(Head head, ReadHeadLocked(id));
    it = heads_.emplace(std::move(id), head).first;
  }
  Head& head = it->second;
  Status valid = CheckLink(event, head.next_seq, head.last_hash);
  if (!valid.ok()) return valid.WithContext("appending to the chain of " + std::string(actor_id));
  // Keys are handed out here, in ticket order, and recorded by the writer with the actor's first
  // event; a failed commit stops the writer for good, so no key is handed out twice.
  const bool new_key = head.actor_key == 0;
  const int64_t actor_key = new_key ? next_actor_key_ : head.actor_key;
  THEATER_ASSIGN_OR_RETURN(const uint64_t ticket, writer_->Enqueue([&](Pending& pending) {
    pending.actor_id = &it->first;
    pending.actor_key = actor_key;
    pending.new_key = new_key;
    pending.seq = head.next_seq;
    pending.prune_before = 0;
    pending.registry = false;
    // Copy-assigning into a spent entry reuses its buffers: no allocation here, and no free on
    // the writer, in the steady state.
    pending.event = event;
  }));
  if (new_key) {
    head.actor_key = actor_key;
    next_actor_key_++;
  }
  head.next_seq++;
  head.last_hash = event.hash;
  head.last_ticket = ticket;
  appended_++;
  return ticket;
}

void ChainStore::WhenDurable(uint64_t ticket, std::function<void(Status)> done) {
  writer_->WhenCommitted(ticket, std::move(done));
}

Status ChainStore::WaitDurable(uint64_t ticket) {
  return writer_->WaitCommitted(ticket);
}

Status ChainStore::Flush() {
  return writer_->Flush();
}

uint64_t ChainStore::LastTicket(std::string_view actor_id) const {
  MutexLock lock(heads_mu_);
  auto it = heads_.find(actor_id);
  return it == heads_.end() ? 0 : it->second.last_ticket;
}

Result<uint64_t> ChainStore::Prune(std::string_view actor_id, uint64_t before_seq) {
  MutexLock lock(heads_mu_);
  if (closed_) return FailedPrecondition("chain store is closed");
  auto it = heads_.find(actor_id);
  if (it == heads_.end() || before_seq == 0 || before_seq >= it->second.next_seq) {
    return InvalidArgument("pruning the chain of " + std::string(actor_id) + " before event #" +
                           std::to_string(before_seq) + ": it must keep at least one event");
  }
  return writer_->Enqueue([&](Pending& prune) {
    prune.actor_id = &it->first;
    prune.actor_key = it->second.actor_key;
    prune.new_key = false;
    prune.seq = 0;
    prune.prune_before = before_seq;  // the slot's event is left as it is: not used
    prune.registry = false;
  });
}

Status ChainStore::UpsertActor(const ActorRecord& record) {
  static const std::string kNoChain;  // a registry row belongs to no chain in the queue
  MutexLock lock(heads_mu_);
  if (closed_) return FailedPrecondition("chain store is closed");
  THEATER_ASSIGN_OR_RETURN(const uint64_t ticket, writer_->Enqueue([&](Pending& pending) {
    pending.actor_id = &kNoChain;
    pending.actor_key = 0;
    pending.new_key = false;
    pending.seq = 0;
    pending.prune_before = 0;
    pending.registry = true;
    pending.record = record;
  }));
  last_registry_ticket_ = ticket;
  return Status();
}

Status ChainStore::TruncateChain(std::string_view actor_id, size_t keep) {
  THEATER_RETURN_IF_ERROR(Flush());
  MutexLock lock(heads_mu_);
  if (closed_) return FailedPrecondition("chain store is closed");
  auto it = heads_.find(actor_id);
  if (it != heads_.end() && it->second.last_ticket > writer_->committed()) {
    return FailedPrecondition("truncating the chain of " + std::string(actor_id) +
                              ": appends to it are still queued");
  }
  {
    MutexLock reader_lock(reader_mu_);
    if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
    Statement stmt;
    THEATER_RETURN_IF_ERROR(stmt.Prepare(
        *reader_db_,
        "DELETE FROM events WHERE actor_key = (SELECT actor_key FROM actor_keys WHERE actor = ?1) "
        "AND seq >= ?2;"));
    stmt.BindText(1, actor_id);
    stmt.BindInt(2, static_cast<int64_t>(keep));
    THEATER_RETURN_IF_ERROR(stmt.Run("truncating the chain of " + std::string(actor_id)));
  }
  // Re-read the head from the database. The entry itself stays: queued Pendings point at its key.
  if (it != heads_.end()) {
    THEATER_ASSIGN_OR_RETURN(Head head, ReadHeadLocked(it->first));
    head.last_ticket = it->second.last_ticket;
    it->second = head;
  }
  return Status();
}

ChainStore::Stats ChainStore::stats() const {
  Stats stats;
  {
    MutexLock lock(heads_mu_);
    stats.appended = appended_;
  }
  const GroupCommit<Pending>::Stats writer = writer_->stats();
  stats.committed = writer.committed;
  stats.transactions = writer.batches;
  return stats;
}

// What spent queue entries keep for reuse: payload and description buffers up to
// kMaxKeptBuffer bytes (GroupCommitOptions::spare_entries bounds how many entries). This bounds
// the memory a burst leaves behind to a few MiB beyond what the queue holds.
constexpr size_t kMaxKeptBuffer = 1024;

Status ChainStore::CommitBatch(std::span<Pending> batch) {
  WriterStatements& st = *statements_;
  Status status = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(st.begin.Run("beginning a transaction"));
    for (const Pending& p : batch) {
      if (p.prune_before) {
        THEATER_RETURN_IF_ERROR(CommitPrune(p));
        continue;
      }
      if (p.registry) {
        THEATER_RETURN_IF_ERROR(CommitRegistryRow(p.record));
        continue;
      }
      if (p.new_key) {
        st.new_key.BindInt(1, p.actor_key);
        st.new_key.BindText(2, *p.actor_id);
        THEATER_RETURN_IF_ERROR(st.new_key.Run("recording the key of " + *p.actor_id));
      }
      // `batch` outlives every step below: the bytes need no copy.
      Statement& insert = st.insert;
      insert.BindInt(1, p.actor_key);
      insert.BindInt(2, static_cast<int64_t>(p.seq));
      insert.BindBlob(3, p.event.hash);
      insert.BindText(4, p.event.type);
      insert.BindBlob(5, p.event.payload);
      insert.BindInt(6, static_cast<int64_t>(p.event.timestamp_ms));
      if (p.event.description) {
        insert.BindText(7, *p.event.description);
      } else {
        insert.BindNull(7);
      }
      Status inserted = insert.Run("inserting an event");
      if (!inserted.ok()) {
        return inserted.WithContext("event #" + std::to_string(p.seq) + " of " + *p.actor_id);
      }
    }
    return st.commit.Run("committing");
  }();
  if (status.ok()) {
    // Still holding the write path: the checkpointer may checkpoint here, with no commit running.
    checkpointer_->AfterCommit();
  } else {
    writer_db_->RollbackIfOpen();
  }
  for (Pending& p : batch) {
    if (p.event.payload.capacity() > kMaxKeptBuffer) std::vector<uint8_t>().swap(p.event.payload);
    if (p.event.description && p.event.description->capacity() > kMaxKeptBuffer) {
      p.event.description.reset();
    }
  }
  return status;
}

Status ChainStore::CommitPrune(const Pending& p) {
  WriterStatements& st = *statements_;
  st.anchor.BindInt(1, p.actor_key);
  st.anchor.BindInt(2, static_cast<int64_t>(p.prune_before));
  THEATER_RETURN_IF_ERROR(st.anchor.Run("anchoring the chain of " + *p.actor_id));
  st.prune.BindInt(1, p.actor_key);
  st.prune.BindInt(2, static_cast<int64_t>(p.prune_before));
  return st.prune.Run("pruning the chain of " + *p.actor_id);
}

Status ChainStore::CommitRegistryRow(const ActorRecord& record) {
  Statement& stmt = statements_->upsert_actor;
  // The batch outlives the step: the text needs no copy.
  stmt.BindText(1, record.actor_id);
  stmt.BindText(2, record.name);
  stmt.BindText(3, record.manifest);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  stmt.BindInt(4, record.created_ms ? static_cast<int64_t>(record.created_ms) : now_ms);
  stmt.BindText(5, record.status);
  if (record.parent_id) {
    stmt.BindText(6, *record.parent_id);
  } else {
    stmt.BindNull(6);
  }
  stmt.BindText(7, record.recovery);
  return stmt.Run("registering actor " + record.actor_id);
}

}  // namespace theater::chain
