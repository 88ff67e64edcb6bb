// Theater: a WebAssembly actor runtime.
#include "cluster/actor_directory.h"

#include <spdlog/spdlog.h>

#include <future>

namespace theater::cluster {
namespace {

// A key's value: "<host> <epoch>" (host names have no spaces: lattice_names.h).
std::string Encode(const std::string& host, uint64_t epoch) {
  return host + " " + std::to_string(epoch);
}

bool Decode(const char* data, int length, ActorDirectory::Location* location) {
  if (data == nullptr || length <= 0 || length > 128) return false;
  std::string_view text(data, static_cast<size_t>(length));
  size_t space = text.find(' ');
  if (space == std::string_view::npos || space == 0) return false;
  location->host = std::string(text.substr(0, space));
  uint64_t epoch = 0;
  for (char c : text.substr(space + 1)) {
    if (c < '0' || c > '9') return false;
    epoch = epoch * 10 + static_cast<uint64_t>(c - '0');
  }
  location->epoch = epoch;
  return CheckLatticeName(location->host, "host").ok();
}

// Ids the bucket can key: an actor's UUID, or any id of the same characters (a key's tokens).
bool KeyableId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!IsLatticeNameChar(c)) return false;
  }
  return true;
}

}  // namespace

ActorDirectory::ActorDirectory(std::string host, uint64_t epoch, LiveFn live)
    : host_(std::move(host)), epoch_(epoch), live_(std::move(live)) {}

Result<std::unique_ptr<ActorDirectory>> ActorDirectory::Open(NatsConnection& nats,
                                                             const LatticeNames& names,
                                                             std::string host, uint64_t epoch,
                                                             LiveFn live) {
  std::unique_ptr<ActorDirectory> directory(
      new ActorDirectory(std::move(host), epoch, std::move(live)));
  THEATER_RETURN_IF_ERROR(OpenBucket(
      nats, names.ActorsBucket(),
      "Theater: where each actor of one lattice runs (docs/distribution.md)", &directory->bucket_));
  directory->thread_ = std::thread([d = directory.get()] { d->Loop(); });
  return directory;
}

ActorDirectory::~ActorDirectory() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (bucket_ != nullptr) kvStore_Destroy(bucket_);
}

bool ActorDirectory::Post(std::function<void()> job) {
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ActorDirectory::Loop() {
  MutexLock lock(mu_);
  for (;;) {
    lock.Wait(wake_, [&]() THEATER_REQUIRES(mu_) { return stopping_ || !jobs_.empty(); });
    // What was queued is written before the thread ends: a leaving host's releases.
    if (jobs_.empty()) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.Unlock();
    job();
    lock.Lock();
    --running_;
    if (jobs_.empty() && running_ == 0) idle_.notify_all();
  }
}

void ActorDirectory::Flush() {
  MutexLock lock(mu_);
  lock.Wait(idle_, [&]() THEATER_REQUIRES(mu_) { return jobs_.empty() && running_ == 0; });
}

Status ActorDirectory::Claim(std::string_view id) {
  if (!KeyableId(id)) {
    return InvalidArgument("actor id '" + std::string(id.substr(0, 64)) +
                           "' cannot be recorded in the lattice's directory (letters, digits, "
                           "'-' and '_', at most 128)");
  }
  auto claimed = std::make_shared<std::promise<Status>>();
  std::future<Status> result = claimed->get_future();
  if (!Post([this, claimed, key = std::string(id)] { claimed->set_value(ClaimNow(key)); })) {
    return Unavailable("this host is leaving the lattice");
  }
  return result.get();
}

Status ActorDirectory::Handover(std::string_view id, const std::string& from_host) {
  if (!KeyableId(id)) return InvalidArgument("actor id cannot be recorded in the lattice's directory");
  auto claimed = std::make_shared<std::promise<Status>>();
  std::future<Status> result = claimed->get_future();
  if (!Post([this, claimed, key = std::string(id), from_host] {
        claimed->set_value(ClaimNow(key, from_host));
      })) {
    return Unavailable("this host is leaving the lattice");
  }
  return result.get();
}

Status ActorDirectory::ClaimNow(const std::string& id, const std::string& from_host) {
  const std::string key = LatticeNames::ActorKey(id);
  const std::string value = Encode(host_, epoch_);
  uint64_t revision = 0;
  const natsStatus created = kvStore_Create(&revision, bucket_, key.c_str(), value.data(),
                                            static_cast<int>(value.size()));
  if (created == NATS_OK) return Status::Ok();
  // It is held: by this host (a restart, a recovery), or by another.
  kvEntry* entry = nullptr;
  const natsStatus read = kvStore_Get(&entry, bucket_, key.c_str());
  if (read == NATS_NOT_FOUND) {
    // Released between the two steps: claim again, once.
    return FromNats(kvStore_Create(&revision, bucket_, key.c_str(), value.data(),
                                   static_cast<int>(value.size())),
                    "recording actor " + id + " in the lattice's directory");
  }
  THEATER_RETURN_IF_ERROR(FromNats(read, "reading actor " + id + " in the lattice's directory"));
  Location held;
  const bool readable = Decode(static_cast<const char*>(kvEntry_Value(entry)),
                               kvEntry_ValueLen(entry), &held);
  const uint64_t held_revision = kvEntry_Revision(entry);
  kvEntry_Destroy(entry);
  if (readable && held.host == host_ && held.epoch == epoch_) return Status::Ok();
  const bool handed_over = !from_host.empty() && readable && held.host == from_host;
  if (!from_host.empty() && readable && held.host != from_host && held.host != host_) {
    return FailedPrecondition("actor " + id + " is on host " + held.host + ", not on host " +
                              from_host + " which was moving it here");
  }
  if (!handed_over && readable && held.host != host_ && live_ && live_(held.host)) {
    return AlreadyExists("actor " + id + " runs on host " + held.host +
                         " of this lattice: one actor never runs on two hosts");
  }
  // This host's claim from an earlier epoch, or a host that is gone: taken by compare-and-set,
  // so that of two hosts taking it at once exactly one wins.
  const natsStatus taken = kvStore_Update(&revision, bucket_, key.c_str(), value.data(),
                                          static_cast<int>(value.size()), held_revision);
  if (taken != NATS_OK) {
    const Status failed = FromNats(taken, "claiming actor " + id + " in the lattice's directory");
    // NATS could not answer (a server of its cluster went, and JetStream elects a leader): not
    // a lost race, and worth trying again.
    if (failed.code() == StatusCode::kUnavailable ||
        failed.code() == StatusCode::kDeadlineExceeded) {
      return failed;
    }
    return AlreadyExists("actor " + id + " was claimed by another host of this lattice at the "
                         "same moment (" + failed.message() + ")");
  }
  return Status::Ok();
}

void ActorDirectory::Release(std::string_view id) {
  if (!KeyableId(id)) return;
  (void)Post([this, key = std::string(id)] { ReleaseNow(key); });
}

void ActorDirectory::ReleaseNow(const std::string& id) {
  const std::string key = LatticeNames::ActorKey(id);
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, bucket_, key.c_str()) != NATS_OK) return;
  Location held;
  const bool mine = Decode(static_cast<const char*>(kvEntry_Value(entry)),
                           kvEntry_ValueLen(entry), &held) &&
                    held.host == host_;
  kvEntry_Destroy(entry);
  if (!mine) return;  // taken over or moved since: the new holder's claim stays
  if (Status deleted = FromNats(kvStore_Delete(bucket_, key.c_str()), "releasing actor " + id);
      !deleted.ok()) {
    spdlog::warn("lattice: {}", deleted.ToString());
  }
}

Result<ActorDirectory::Location> ActorDirectory::Find(std::string_view id) const {
  if (!KeyableId(id)) return NotFound("actor " + std::string(id.substr(0, 64)) + " not found");
  const std::string key = LatticeNames::ActorKey(id);
  kvEntry* entry = nullptr;
  const natsStatus read = kvStore_Get(&entry, bucket_, key.c_str());
  if (read == NATS_NOT_FOUND) {
    return NotFound("actor " + std::string(id) + " not found on any host of the lattice");
  }
  THEATER_RETURN_IF_ERROR(
      FromNats(read, "looking actor " + std::string(id) + " up in the lattice's directory"));
  Location location;
  const bool readable = Decode(static_cast<const char*>(kvEntry_Value(entry)),
                               kvEntry_ValueLen(entry), &location);
  location.revision = kvEntry_Revision(entry);
  kvEntry_Destroy(entry);
  if (!readable) {
    return InternalError("the lattice's directory holds a malformed entry for actor " +
                    std::string(id));
  }
  return location;
}

}  // namespace theater::cluster
