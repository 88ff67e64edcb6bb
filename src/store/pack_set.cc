// Theater: a WebAssembly actor runtime.
//
// PackSet (src/store/pack_set.h): the pack files of one ContentStore instance.
#include "store/pack_set.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/bytes.h"
#include "common/uuid.h"

namespace theater::store::internal {
namespace {

constexpr size_t kIdDigits = 8;

// The id in a pack file's name ("00000042.pack" -> 42), or none for any other name.
std::optional<uint32_t> ParsePackName(std::string_view name) {
  if (name.size() != kIdDigits + 5 || name.substr(kIdDigits) != ".pack") return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 0; i < kIdDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (id == 0 || id > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(id);
}

// pwritev of all of `iov` at `offset`, continuing after short writes.
Status WriteFully(int fd, iovec* iov, int count, uint64_t offset) {
  while (count > 0) {
    const ssize_t n = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("writing", errno);
    }
    offset += static_cast<uint64_t>(n);
    size_t done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return Status();
}

}  // namespace

// Makes the directory's entries (a rename into it, a new subdirectory) durable.
Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening directory " + dir.string() + " to sync it", errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("syncing directory " + dir.string(), error);
  return Status();
}

PackFile::~PackFile() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock, if held
}

Result<std::unique_ptr<PackSet>> PackSet::Open(const std::filesystem::path& dir, Options options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError("creating pack directory " + dir.string(), ec.value());
  std::unique_ptr<PackSet> set(new PackSet(dir, options));
  THEATER_RETURN_IF_ERROR(set->ListIds().status());
  return set;
}

PackSet::PackSet(std::filesystem::path dir, Options options)
    : dir_(std::move(dir)), options_(options) {
  for (size_t i = 0; i < std::max<size_t>(options_.max_active, 1); ++i) {
    slots_.push_back(std::make_unique<Slot>());
  }
}

PackSet::~PackSet() = default;

std::filesystem::path PackSet::PathOf(uint32_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "%08u.pack", id);
  return dir_ / name;
}

Result<std::vector<uint32_t>> PackSet::ListIds() {
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) return ErrnoError("listing pack directory " + dir_.string(), errno);
  std::vector<uint32_t> ids;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::optional<uint32_t> id = ParsePackName(entry->d_name)) ids.push_back(*id);
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) return ErrnoError("listing pack directory " + dir_.string(), error);
  std::sort(ids.begin(), ids.end());
  if (!ids.empty()) {
    WriterLock lock(table_mu_);
    max_id_seen_ = std::max(max_id_seen_, ids.back());
  }
  return ids;
}

bool PackSet::MaybeNewPacks() {
  struct stat info;
  if (::stat(dir_.c_str(), &info) != 0) return true;  // let the listing report the error
  const int64_t mtime_ns = int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec;
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  MutexLock lock(dir_mu_);
  // File systems update a directory's time with a coarse clock (a few ms): a pack created in
  // the same tick as the last listing leaves it unchanged. Within that window, list anyway.
  const bool recent = now_ns - mtime_ns < 100'000'000;
  const bool changed = mtime_ns != dir_mtime_ns_;
  dir_mtime_ns_ = mtime_ns;
  return changed || recent;
}

Result<std::shared_ptr<PackFile>> PackSet::Get(uint32_t id) {
  {
    ReaderLock lock(table_mu_);
    auto it = table_.find(id);
    if (it != table_.end()) return it->second;
  }
  const std::filesystem::path path = PathOf(id);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EROFS))
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("pack " + path.string() + " does not exist");
    return ErrnoError("opening pack " + path.string(), errno);
  }
  PackHeaderBytes bytes{};
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::optional<PackHeader> header = DecodePackHeader(std::span(bytes.data(), done));
  if (!header || header->pack_id != id) {
    ::close(fd);
    return ValidationError("pack " + path.string() + " has no intact header");
  }
  auto pack = std::make_shared<PackFile>(id, fd, header->salt);
  WriterLock lock(table_mu_);
  // Another thread may have opened it meanwhile: keep the first (it may hold the lock).
  auto [it, inserted] = table_.emplace(id, pack);
  max_id_seen_ = std::max(max_id_seen_, id);
  return it->second;
}

Result<bool> PackSet::TryOwn(PackFile& pack) {
  if (pack.owned()) return true;
  if (::flock(pack.fd(), LOCK_EX | LOCK_NB) == 0) {
    pack.owned_.store(true, std::memory_order_release);
    return true;
  }
  if (errno == EWOULDBLOCK || errno == EINTR) return false;
  return ErrnoError("locking pack " + PathOf(pack.id()).string(), errno);
}

Result<uint64_t> PackSet::FileSize(const PackFile& pack) const {
  struct stat info;
  if (::fstat(pack.fd(), &info) != 0) {
    return ErrnoError("examining pack " + PathOf(pack.id()).string(), errno);
  }
  return static_cast<uint64_t>(info.st_size);
}

Status PackSet::Truncate(PackFile& pack, uint64_t size) {
  const std::string path = PathOf(pack.id()).string();
  if (!pack.owned()) return FailedPrecondition("pack " + path + " is not owned");
  if (::ftruncate(pack.fd(), static_cast<off_t>(size)) != 0) {
    return ErrnoError("truncating pack " + path, errno);
  }
  if (options_.durability != Durability::kNone && ::fdatasync(pack.fd()) != 0) {
    return ErrnoError("syncing pack " + path, errno);
  }
  return Status();
}

void PackSet::SetActive(std::shared_ptr<PackFile> pack, uint64_t end) {
  for (const std::unique_ptr<Slot>& slot : slots_) {
    MutexLock lock(slot->mu);
    if (slot->pack != nullptr) continue;
    pack->written_end_.store(end, std::memory_order_release);
    slot->pack = std::move(pack);
    slot->end = end;
    return;
  }
}

Result<std::shared_ptr<PackFile>> PackSet::CreatePack() {
  uint32_t id = 0;
  {
    ReaderLock lock(table_mu_);
    id = max_id_seen_ + 1;
  }
  // Written and locked under a temporary name, then linked to the final one: another instance
  // listing the directory never sees a pack without its header, nor one nobody holds the lock
  // of (it would take it for a dead instance's pack and recover it).
  const std::filesystem::path temp = dir_ / ("new.tmp." + NewUuid());
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating pack " + temp.string(), errno);
  auto fail = [&](Status status) {
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  };
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return fail(ErrnoError("locking " + temp.string(), errno));
  const PackSalt salt = NewPackSalt();
  const bool sync = options_.durability != Durability::kNone;
  for (int attempt = 0;; ++attempt) {
    PackHeaderBytes header = EncodePackHeader(PackHeader{id, salt});
    if (::pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
      return fail(ErrnoError("writing the header of " + temp.string(), errno));
    }
    if (sync && ::fdatasync(fd) != 0) return fail(ErrnoError("syncing " + temp.string(), errno));
    const std::filesystem::path final_path = PathOf(id);
    if (::link(temp.c_str(), final_path.c_str()) == 0) break;
    if (errno != EEXIST || attempt > 1000) {
      return fail(ErrnoError("linking " + temp.string() + " to " + final_path.string(), errno));
    }
    ++id;  // another instance created this one meanwhile: take the next
  }
  ::unlink(temp.c_str());
  if (sync) {
    Status synced = SyncDirectory(dir_);
    if (!synced.ok()) {
      ::close(fd);
      return synced;
    }
  }
  auto pack = std::make_shared<PackFile>(id, fd, salt);
  pack->owned_.store(true, std::memory_order_release);
  pack->written_end_.store(kPackHeaderBytes, std::memory_order_release);
  {
    MutexLock sync_lock(pack->sync_mu_);
    pack->synced_to_ = sync ? kPackHeaderBytes : 0;
  }
  WriterLock lock(table_mu_);
  table_[id] = pack;
  max_id_seen_ = std::max(max_id_seen_, id);
  packs_created_.fetch_add(1, std::memory_order_relaxed);
  return pack;
}

Result<PackLocation> PackSet::Append(std::string_view store_id, const Sha256Digest& digest,
                                     std::span<const uint8_t> content,
                                     const AppendedCallback& on_appended) {
  const uint32_t crc = Crc32c(content);  // outside any lock
  // The first free slot: a lone writer always appends to the same pack; concurrent writers
  // spread over several instead of queueing behind each other's write.
  for (const std::unique_ptr<Slot>& slot : slots_) {
    if (slot->mu.TryLock()) {
      MutexLock lock(slot->mu, std::adopt_lock);
      return AppendLocked(*slot, store_id, digest, content, crc, on_appended);
    }
  }
  Slot& slot = *slots_[next_slot_.fetch_add(1, std::memory_order_relaxed) % slots_.size()];
  MutexLock lock(slot.mu);
  return AppendLocked(slot, store_id, digest, content, crc, on_appended);
}

Result<PackLocation> PackSet::AppendLocked(Slot& slot, std::string_view store_id,
                                           const Sha256Digest& digest,
                                           std::span<const uint8_t> content, uint32_t crc,
                                           const AppendedCallback& on_appended) {
  const uint64_t bytes = RecordBytes(content.size());
  const bool full = slot.pack != nullptr && slot.end > kPackHeaderBytes &&
                    slot.end + bytes > options_.max_pack_bytes;
  const bool tainted = slot.pack != nullptr && slot.pack->tainted_.load(std::memory_order_acquire);
  if (slot.pack == nullptr || full || tainted) {
    THEATER_ASSIGN_OR_RETURN(slot.pack, CreatePack());
    slot.end = kPackHeaderBytes;
  }
  PackFile& pack = *slot.pack;
  RecordHeaderBytes header = EncodeRecordHeader(pack.salt(), store_id, digest, content.size(), crc);
  iovec iov[2] = {{header.data(), header.size()},
                  {const_cast<uint8_t*>(content.data()), content.size()}};
  Status written = WriteFully(pack.fd(), iov, content.empty() ? 1 : 2, slot.end);
  if (!written.ok()) {
    // Leave no partial record behind: later records after it would be hidden from a scan that
    // must not skip damage in a live pack. If it cannot be cut off, stop using this pack.
    const std::string path = PathOf(pack.id()).string();
    if (::ftruncate(pack.fd(), static_cast<off_t>(slot.end)) != 0) slot.pack = nullptr;
    return written.WithContext("appending to pack " + path);
  }
  const PackLocation location{pack.id(), slot.end, content.size()};
  slot.end += bytes;
  pack.written_end_.store(slot.end, std::memory_order_release);
  appended_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (on_appended) on_appended(location);
  return location;
}

Status PackSet::Sync(uint32_t id, uint64_t end) {
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<PackFile> pack, Get(id));
  MutexLock lock(pack->sync_mu_);
  for (;;) {
    if (!pack->sync_error_.ok()) return pack->sync_error_;
    if (pack->synced_to_ >= end) return Status();
    if (!pack->syncing_) break;
    lock.Wait(pack->sync_cv_);
  }
  pack->syncing_ = true;
  // Everything written so far is covered by this fdatasync, not just what this caller needs:
  // callers that come while it runs wait for the next one, which again covers them all.
  const uint64_t target = std::max(end, pack->written_end_.load(std::memory_order_acquire));
  lock.Unlock();
  const int rc = ::fdatasync(pack->fd());
  const int error = errno;
  lock.Lock();
  pack->syncing_ = false;
  if (rc == 0) {
    pack->synced_to_ = std::max(pack->synced_to_, target);
  } else {
    // After a failed fdatasync the kernel may have dropped the dirty pages: whatever a later
    // fdatasync says, this file's recent bytes cannot be trusted to be on disk.
    pack->sync_error_ = ErrnoError("syncing pack " + PathOf(id).string(), error);
    pack->tainted_.store(true, std::memory_order_release);
  }
  pack->sync_cv_.notify_all();
  return pack->sync_error_;
}

Result<std::vector<uint8_t>> PackSet::Read(const PackLocation& location, std::string_view store_id,
                                           const Sha256Digest& digest) {
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<PackFile> pack, Get(location.pack));
  auto where = [&] {
    return "record at offset " + std::to_string(location.offset) + " of pack " +
           PathOf(location.pack).string();
  };
  RecordHeaderBytes header_bytes;
  std::vector<uint8_t> content(location.size);
  iovec iov[2] = {{header_bytes.data(), header_bytes.size()}, {content.data(), content.size()}};
  const size_t total = header_bytes.size() + content.size();
  size_t done = 0;
  while (done < total) {
    ssize_t n = 0;
    if (done == 0) {
      n = ::preadv(pack->fd(), iov, content.empty() ? 1 : 2, static_cast<off_t>(location.offset));
    } else if (done < header_bytes.size()) {
      n = ::pread(pack->fd(), header_bytes.data() + done, header_bytes.size() - done,
                  static_cast<off_t>(location.offset + done));
    } else {
      const size_t at = done - header_bytes.size();
      n = ::pread(pack->fd(), content.data() + at, content.size() - at,
                  static_cast<off_t>(location.offset + done));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading " + where(), errno);
    }
    if (n == 0) return ValidationError(where() + " is cut short: the pack ends inside it");
    done += static_cast<size_t>(n);
  }
  // The header's own checksum is not needed here: every field that matters is compared with
  // what the index says, and the content with the CRC the header holds.
  std::optional<RecordHeader> header =
      DecodeRecordHeader(pack->salt(), header_bytes, /*check_checksum=*/false);
  if (!header) return ValidationError(where() + " has a damaged header");
  if (header->length != location.size || header->digest != digest || header->store() != store_id) {
    return ValidationError(where() + " holds other content than the index says");
  }
  if (Crc32c(content) != header->content_crc) {
    return ValidationError(where() + " is damaged: its bytes are not those stored as " +
                           HexEncode(digest) + " (checksum mismatch)");
  }
  return content;
}

}  // namespace theater::store::internal
