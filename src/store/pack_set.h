// Theater: a WebAssembly actor runtime.
//
// PackSet: the pack files of one ContentStore instance (`<pack dir>/NNNNNNNN.pack`, format in
// src/store/pack_format.h, design in docs/store.md "Pack files"): appending records to the
// instance's active pack (rolling over to a new one at a size limit), syncing them (one fdatasync
// shared by every caller waiting for it), and reading records back, verified.
//
// Ownership of packs between instances (in this process or others) is an exclusive flock on the
// pack file: an instance appends only to packs it holds the lock of, and recovers (truncates a
// torn tail, indexes) only packs whose lock it could take, i.e. whose last writer is gone. Locks
// are held from creation or recovery until the PackSet is destroyed; a crash releases them. A new
// pack is written under a temporary name, locked, then linked to its final name, so no other
// instance ever sees it unlocked or without its header.
//
// Concurrent appends go to different packs: the set keeps up to Options::max_active packs open for
// appending, each behind its own mutex, and an Append takes the first one free (a lone writer
// always the first). Two writers then never wait for each other's write (the kernel serialises
// writes to one file too), and each pack still receives its records one after another, so a
// torn record can only ever be the last one of a pack.
//
// Thread-safety: every method may be called from any thread. Reads use pread on shared
// descriptors and never wait for appends.
//
// Ownership: the PackSet owns every PackFile's descriptor (closing it releases the lock); a
// shared_ptr handed out keeps a PackFile's descriptor open after the set is gone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/sha256.h"
#include "store/pack_format.h"
#include "theater/durability.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::store::internal {

// Where a record is: its pack, the offset of its header, and the size of its content.
struct PackLocation {
  uint32_t pack = 0;
  uint64_t offset = 0;
  uint64_t size = 0;

  uint64_t end() const { return offset + RecordBytes(size); }
};

// One open pack file. Descriptor, id and salt are fixed; the rest is guarded as noted.
class PackFile {
 public:
  PackFile(uint32_t id, int fd, const PackSalt& salt) : id_(id), fd_(fd), salt_(salt) {}
  PackFile(const PackFile&) = delete;
  PackFile& operator=(const PackFile&) = delete;
  ~PackFile();

  uint32_t id() const { return id_; }
  int fd() const { return fd_; }
  const PackSalt& salt() const { return salt_; }
  // Whether this instance holds the pack's lock (it created it, or recovered it).
  bool owned() const { return owned_.load(std::memory_order_acquire); }

 private:
  friend class PackSet;
  const uint32_t id_;
  const int fd_;
  const PackSalt salt_;
  std::atomic<bool> owned_{false};
  // Syncing: one caller runs fdatasync, the others wait for its outcome.
  Mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool syncing_ THEATER_GUARDED_BY(sync_mu_) = false;
  uint64_t synced_to_ THEATER_GUARDED_BY(sync_mu_) = 0;  // bytes known to be on disk
  // A failed fdatasync taints the file for good.
  Status sync_error_ THEATER_GUARDED_BY(sync_mu_);
  std::atomic<bool> tainted_{false};      // sync_error_ is set (read by appends without the lock)
  std::atomic<uint64_t> written_end_{0};  // the end of what this instance has appended
};

class PackSet {
 public:
  struct Options {
    Durability durability = Durability::kBatched;
    // A pack is rolled over once a record would take it past this size (a single larger record
    // still goes into a pack of its own).
    uint64_t max_pack_bytes = uint64_t{256} << 20;
    // Packs appended to at the same time, at most (at least 1).
    size_t max_active = 4;
  };

  // Creates `dir` if needed. Opens no pack yet.
  [[nodiscard]] static Result<std::unique_ptr<PackSet>> Open(const std::filesystem::path& dir,
                                                             Options options);
  PackSet(const PackSet&) = delete;
  PackSet& operator=(const PackSet&) = delete;
  ~PackSet();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path PathOf(uint32_t id) const;

  // The ids of the pack files in the directory, ascending.
  [[nodiscard]] Result<std::vector<uint32_t>> ListIds();
  // Whether the directory may have gained packs since the last call (a cheap stat; true also
  // when its modification time is too recent to tell).
  bool MaybeNewPacks();
  // The pack with `id`, opened (and its header checked) on first use. kNotFound when there is no
  // such file; kValidationError when its header is missing or damaged.
  [[nodiscard]] Result<std::shared_ptr<PackFile>> Get(uint32_t id);
  // Takes the pack's lock if no other instance holds it; true when this instance owns it now.
  [[nodiscard]] Result<bool> TryOwn(PackFile& pack);
  [[nodiscard]] Result<uint64_t> FileSize(const PackFile& pack) const;
  // Cuts an owned pack at `size` (a torn tail), durably unless durability is none.
  [[nodiscard]] Status Truncate(PackFile& pack, uint64_t size);
  // Appends go on at the end (`end`) of this owned pack rather than to a new one (when an
  // appending slot is free; otherwise the call does nothing).
  void SetActive(std::shared_ptr<PackFile> pack, uint64_t end);

  // Appends one record with a single pwritev and returns where it is. `on_appended` runs once
  // the record is written, before any other record is appended to the same pack (so that the
  // caller can queue records in each pack's order). A failed write (ENOSPC, EIO) is returned and
  // leaves no partial record behind: the pack is cut back to where the record began, or, when
  // even that fails, abandoned (later appends go to a new pack).
  using AppendedCallback = std::function<void(const PackLocation&)>;
  [[nodiscard]] Result<PackLocation> Append(std::string_view store_id, const Sha256Digest& digest,
                                            std::span<const uint8_t> content,
                                            const AppendedCallback& on_appended);
  // Makes the first `end` bytes of pack `id` durable. Concurrent callers share one fdatasync; a
  // failed one fails every later Sync of that pack (and new appends go to another pack).
  [[nodiscard]] Status Sync(uint32_t id, uint64_t end);
  // The content of the record at `location`, checked against its header (store, digest, size)
  // and its SHA-256: kValidationError when anything does not match, never wrong bytes.
  [[nodiscard]] Result<std::vector<uint8_t>> Read(const PackLocation& location,
                                                  std::string_view store_id,
                                                  const Sha256Digest& digest);

  // Bytes appended to packs by this instance, and packs it created.
  uint64_t appended_bytes() const { return appended_bytes_.load(std::memory_order_relaxed); }
  uint64_t packs_created() const { return packs_created_.load(std::memory_order_relaxed); }

 private:
  PackSet(std::filesystem::path dir, Options options);
  // A pack being appended to: its file and where the next record goes.
  struct Slot {
    Mutex mu;
    // Null: create one on the next Append.
    std::shared_ptr<PackFile> pack THEATER_GUARDED_BY(mu);
    uint64_t end THEATER_GUARDED_BY(mu) = 0;
  };
  // Appends to the slot's pack, which the caller has locked.
  Result<PackLocation> AppendLocked(Slot& slot, std::string_view store_id,
                                    const Sha256Digest& digest, std::span<const uint8_t> content,
                                    uint32_t crc, const AppendedCallback& on_appended)
      THEATER_REQUIRES(slot.mu);
  // Creates, locks and publishes a new pack.
  Result<std::shared_ptr<PackFile>> CreatePack();

  const std::filesystem::path dir_;
  const Options options_;

  SharedMutex table_mu_;
  std::unordered_map<uint32_t, std::shared_ptr<PackFile>> table_ THEATER_GUARDED_BY(table_mu_);
  uint32_t max_id_seen_ THEATER_GUARDED_BY(table_mu_) = 0;

  std::vector<std::unique_ptr<Slot>> slots_;  // Options::max_active of them, fixed
  std::atomic<uint32_t> next_slot_{0};        // where a writer waits when every slot is busy

  Mutex dir_mu_;
  int64_t dir_mtime_ns_ THEATER_GUARDED_BY(dir_mu_) = -1;

  std::atomic<uint64_t> appended_bytes_{0};
  std::atomic<uint64_t> packs_created_{0};
};

// fsyncs the directory `dir`, so that the entries made in it (a rename into it, a new
// subdirectory) are durable. Shared with the content store's files.
Status SyncDirectory(const std::filesystem::path& dir);

}  // namespace theater::store::internal
