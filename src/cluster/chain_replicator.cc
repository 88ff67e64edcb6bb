// Theater: a WebAssembly actor runtime.
#include "cluster/chain_replicator.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstring>

#include <algorithm>

#include "cluster/replica_frames.h"

namespace theater::cluster {
namespace {

// What a frame leaves of NATS's largest message for the headers JetStream adds.
constexpr size_t kFrameHeadroom = 1024;
// How long the publisher waits before trying an actor's frame again after NATS failed it.
constexpr auto kRetryAfter = std::chrono::milliseconds(100);

std::string Text(const void* data, int length) {
  return length > 0 ? std::string(static_cast<const char*>(data), static_cast<size_t>(length))
                    : std::string();
}

}  // namespace

ChainReplicator::ChainReplicator(NatsConnection& nats, const LatticeNames& names,
                                 std::string host)
    : nats_(nats),
      names_(names),
      host_(std::move(host)),
      stream_(names.ChainsStream()),
      state_(std::make_shared<State>()) {}

Result<std::unique_ptr<ChainReplicator>> ChainReplicator::Open(NatsConnection& nats,
                                                               const LatticeNames& names,
                                                               std::string host) {
  std::unique_ptr<ChainReplicator> r(new ChainReplicator(nats, names, std::move(host)));
  const std::string subjects = "theater." + names.lattice() + ".chain.*";
  const char* subject_list[] = {subjects.c_str()};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = r->stream_.c_str();
  config.Subjects = subject_list;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Replicas = nats.replicas();
  // A takeover reads an actor's frames one by one by subject (js_DirectGetMsg).
  config.AllowDirect = true;
  config.Description = "the chains of a lattice's replicated actors (docs/distribution.md)";
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus added = js_AddStream(&info, nats.jetstream(), &config, nullptr, &code);
  if (info != nullptr) jsStreamInfo_Destroy(info);
  if (added != NATS_OK) {
    // Another host created it a moment before (NATS then says the name exists, or that the
    // subjects overlap the stream it has just made): what matters is that it is there.
    jsStreamInfo* existing = nullptr;
    natsStatus found =
        js_GetStreamInfo(&existing, nats.jetstream(), r->stream_.c_str(), nullptr, nullptr);
    if (existing != nullptr) jsStreamInfo_Destroy(existing);
    if (found != NATS_OK) {
      return FromNats(added, "creating the lattice's chains stream " + r->stream_);
    }
  }
  THEATER_RETURN_IF_ERROR(OpenBucket(nats, names.ReplicasBucket(),
                                     "what recovers each replicated actor of a lattice",
                                     &r->bucket_));
  const int64_t max_payload = natsConnection_GetMaxPayload(nats.get());
  r->max_frame_bytes_ =
      static_cast<size_t>(std::max<int64_t>(max_payload, 64 << 10)) - kFrameHeadroom;
  r->thread_ = std::thread([self = r.get()] { self->Loop(); });
  return r;
}

ChainReplicator::~ChainReplicator() {
  {
    MutexLock lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::pair<std::shared_ptr<chain::EventChain>, chain::EventChain::ObserverId>> left;
  {
    MutexLock lock(state_->mu);
    for (auto& [id, actor] : state_->actors) left.emplace_back(actor.chain, actor.observer);
    state_->actors.clear();
  }
  for (auto& [chain, observer] : left) chain->RemoveObserver(observer);
  if (bucket_ != nullptr) kvStore_Destroy(bucket_);
}

std::string ChainReplicator::Wrap(const std::string& record) const {
  return nlohmann::json{{"host", host_}, {"record", record}}.dump();
}

Status ChainReplicator::Begin(const std::string& id, std::shared_ptr<chain::EventChain> chain,
                              size_t from_index, const std::string& record,
                              uint64_t last_sequence, std::function<void(Status)> failed) {
  {
    MutexLock lock(state_->mu);
    if (state_->stopping) return Unavailable("host " + host_ + " is leaving the lattice");
    if (state_->actors.count(id) > 0) return Status::Ok();  // a restart in place goes on
  }
  if (last_sequence == 0 && from_index > 0) {
    // A chain that goes on (a recovery on this host): its frames so far are in the stream.
    THEATER_ASSIGN_OR_RETURN(last_sequence, LastSequence(id));
  }
  const std::string key = LatticeNames::ReplicaKey(host_, id);
  const std::string value = Wrap(record);
  uint64_t revision = 0;
  THEATER_RETURN_IF_ERROR(FromNats(
      kvStore_Put(&revision, bucket_, key.c_str(), value.data(), static_cast<int>(value.size())),
      "recording replicated actor " + id + " in the lattice"));
  {
    // The entry first, held back from the publishing thread until the events the chain held
    // before the observer are in front of its queue: an event appended meanwhile is queued by
    // the observer, never missed between the two.
    MutexLock lock(state_->mu);
    Actor& actor = state_->actors[id];
    actor.chain = chain;
    actor.last_sequence = last_sequence;
    actor.failed = std::move(failed);
    actor.busy = true;
  }
  std::weak_ptr<State> weak = state_;
  chain::EventChain::ObserverId observer =
      chain->AddObserver([weak, id](const chain::Event& event, size_t index) {
        std::shared_ptr<State> state = weak.lock();
        if (!state) return;
        {
          MutexLock lock(state->mu);
          auto it = state->actors.find(id);
          if (it == state->actors.end() || it->second.stopped) return;
          it->second.queue.emplace_back(event, index);
        }
        state->wake.notify_all();
      });
  chain::EventChain::Tail held = chain->tail();
  {
    MutexLock lock(state_->mu);
    Actor& actor = state_->actors[id];
    actor.observer = observer;
    const size_t observed_from = actor.queue.empty() ? SIZE_MAX : actor.queue.front().second;
    std::deque<std::pair<chain::Event, size_t>> earlier;
    for (size_t i = 0; i < held.events.size(); ++i) {
      const size_t index = held.first_index + i;
      if (index < from_index || index >= observed_from) continue;
      earlier.emplace_back(held.events[i], index);
    }
    actor.queue.insert(actor.queue.begin(), std::make_move_iterator(earlier.begin()),
                       std::make_move_iterator(earlier.end()));
    actor.busy = false;
  }
  state_->wake.notify_all();
  return Status::Ok();
}

void ChainReplicator::End(const std::string& id, bool forget) {
  std::shared_ptr<chain::EventChain> chain;
  chain::EventChain::ObserverId observer = 0;
  {
    MutexLock lock(state_->mu);
    auto it = state_->actors.find(id);
    if (it == state_->actors.end()) return;
    chain = it->second.chain;
    observer = it->second.observer;
  }
  // Outside the lock: the observer takes it.
  chain->RemoveObserver(observer);
  {
    MutexLock lock(state_->mu);
    auto it = state_->actors.find(id);
    if (it == state_->actors.end()) return;
    it->second.ending = true;
    it->second.forget = forget;
  }
  state_->wake.notify_all();
}

bool ChainReplicator::Flush(std::chrono::milliseconds within) {
  auto done = [&]() THEATER_REQUIRES(state_->mu) {
    if (state_->stopping) return true;
    for (const auto& [id, actor] : state_->actors) {
      if (actor.busy || (!actor.stopped && !actor.queue.empty()) || actor.ending) return false;
    }
    return true;
  };
  MutexLock lock(state_->mu);
  if (within == std::chrono::milliseconds::max()) {
    lock.Wait(state_->idle, done);
    return true;
  }
  return lock.WaitFor(state_->idle, within, done);
}

Status ChainReplicator::PublishFrame(const std::string& id, const std::string& frame,
                                     uint64_t* sequence) {
  const std::string subject = names_.ChainSubject(id);
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (*sequence == 0) {
    options.ExpectNoMessage = true;
  } else {
    options.ExpectLastSubjectSeq = *sequence;
  }
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus published = js_Publish(&ack, nats_.jetstream(), subject.c_str(), frame.data(),
                                    static_cast<int>(frame.size()), &options, &code);
  if (published == NATS_OK && ack != nullptr) {
    *sequence = ack->Sequence;
    jsPubAck_Destroy(ack);
    return Status::Ok();
  }
  if (ack != nullptr) jsPubAck_Destroy(ack);
  if (code == JSStreamWrongLastSequenceErr) {
    // Either another host appended (fenced), or this very frame was stored by an earlier try
    // whose acknowledgement was lost (NATS moved the connection to another server of its
    // cluster meanwhile): then the subject's last message is this frame.
    natsMsg* last = nullptr;
    const natsStatus read =
        js_GetLastMsg(&last, nats_.jetstream(), stream_.c_str(), subject.c_str(), nullptr, nullptr);
    if (read != NATS_OK || last == nullptr) {
      // Not known yet which: tried again later, as when NATS is away.
      return FromNats(read == NATS_OK ? NATS_ERR : read,
                      "checking the chain of actor " + id + " after a refused append");
    }
    const bool ours = static_cast<size_t>(natsMsg_GetDataLength(last)) == frame.size() &&
                      std::memcmp(natsMsg_GetData(last), frame.data(), frame.size()) == 0;
    const uint64_t stored = natsMsg_GetSequence(last);
    natsMsg_Destroy(last);
    if (ours) {
      *sequence = stored;
      return Status::Ok();
    }
    return FailedPrecondition("actor " + id + " is fenced: another host of the lattice has taken "
                              "it over and appended to its chain");
  }
  return FromNats(published, "replicating the chain of actor " + id, code);
}

void ChainReplicator::Forget(const std::string& id) {
  const std::string key = LatticeNames::ReplicaKey(host_, id);
  kvStore_Delete(bucket_, key.c_str());
  if (Status purged = Purge(id); !purged.ok()) spdlog::warn("lattice: {}", purged.ToString());
}

Status ChainReplicator::Purge(const std::string& id) {
  const std::string subject = names_.ChainSubject(id);
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Purge.Subject = subject.c_str();
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus purged = js_PurgeStream(nats_.jetstream(), stream_.c_str(), &options, &code);
  return FromNats(purged, "purging the chain of actor " + id + " from the lattice", code);
}

Status ChainReplicator::PublishWhole(const std::string& id, const std::vector<chain::Event>& events) {
  THEATER_RETURN_IF_ERROR(Purge(id));
  uint64_t sequence = 0;
  for (size_t first = 0; first < events.size();) {
    // A frame: consecutive events while they fit.
    size_t count = 0;
    size_t bytes = 16;
    while (first + count < events.size()) {
      const size_t size = ReplicaEventSize(events[first + count]);
      if (count > 0 && bytes + size > max_frame_bytes_) break;
      bytes += size;
      ++count;
    }
    if (bytes > max_frame_bytes_) {
      return ResourceExhausted("event " + std::to_string(first) + " of actor " + id + " is " +
                               std::to_string(bytes) +
                               " bytes, past the largest message the lattice's NATS server "
                               "takes (" + std::to_string(max_frame_bytes_) + " bytes)");
    }
    std::string frame;
    frame.reserve(bytes);
    EncodeReplicaFrame(first, std::span<const chain::Event>(events).subspan(first, count), frame);
    THEATER_RETURN_IF_ERROR(PublishFrame(id, frame, &sequence));
    first += count;
  }
  return Status::Ok();
}

void ChainReplicator::Loop() {
  MutexLock lock(state_->mu);
  while (!state_->stopping) {
    // One frame per actor per round, so that a busy actor does not hold up the others.
    std::vector<std::string> ready;
    for (auto& [id, actor] : state_->actors) {
      if (actor.busy) continue;
      if ((!actor.stopped && !actor.queue.empty()) || actor.ending) ready.push_back(id);
    }
    if (ready.empty()) {
      state_->idle.notify_all();
      lock.Wait(state_->wake);
      continue;
    }
    bool retry_later = false;
    for (const std::string& id : ready) {
      auto it = state_->actors.find(id);
      if (it == state_->actors.end()) continue;
      Actor& actor = it->second;
      if (actor.stopped || actor.queue.empty()) {
        if (actor.ending) {
          const bool forget = actor.forget && !actor.stopped;
          state_->actors.erase(it);
          if (forget) {
            lock.Unlock();
            Forget(id);
            lock.Lock();
          }
        }
        continue;
      }
      // The frame: consecutive events while they fit (or the one a failed try left, as it was).
      std::string frame;
      size_t taken = 0;
      size_t bytes = 16;
      if (!actor.retry_frame.empty()) {
        frame = std::move(actor.retry_frame);
        taken = actor.retry_count;
        bytes = frame.size();
        actor.retry_frame.clear();
      } else {
        for (const auto& [event, index] : actor.queue) {
          const size_t size = ReplicaEventSize(event);
          if (taken > 0 && bytes + size > max_frame_bytes_) break;
          bytes += size;
          ++taken;
          if (bytes > max_frame_bytes_) break;
        }
      }
      // Encoded from the queue itself, under the lock: the events are copied once, into the
      // frame (the observer appends meanwhile only to the queue's end).
      const bool too_large = bytes > max_frame_bytes_;
      if (!too_large && frame.empty()) {
        frame.reserve(bytes);
        EncodeReplicaFrameOf(actor.queue.front().second, taken,
                             [&](size_t i) -> const chain::Event& { return actor.queue[i].first; },
                             frame);
      }
      actor.busy = true;
      uint64_t sequence = actor.last_sequence;
      lock.Unlock();
      Status published;
      if (too_large) {
        published = ResourceExhausted(
            "an event of actor " + id + " is " + std::to_string(bytes) +
            " bytes, past the largest message the lattice's NATS server takes (" +
            std::to_string(max_frame_bytes_) + " bytes): a replicated actor's events must fit");
      } else {
        published = PublishFrame(id, frame, &sequence);
      }
      lock.Lock();
      it = state_->actors.find(id);
      if (it == state_->actors.end()) continue;
      Actor& after = it->second;
      after.busy = false;
      if (published.ok()) {
        after.last_sequence = sequence;
        after.queue.erase(after.queue.begin(), after.queue.begin() + static_cast<long>(taken));
        continue;
      }
      if (published.code() == StatusCode::kFailedPrecondition ||
          published.code() == StatusCode::kResourceExhausted) {
        after.stopped = true;
        after.queue.clear();
        std::function<void(Status)> failed = std::move(after.failed);
        lock.Unlock();
        spdlog::warn("lattice: {}", published.ToString());
        if (failed) failed(published);
        lock.Lock();
        continue;
      }
      // NATS is away: the frame stays queued and goes, the very same, when it is back.
      after.retry_frame = std::move(frame);
      after.retry_count = taken;
      spdlog::debug("lattice: {} (trying again)", published.ToString());
      retry_later = true;
    }
    if (retry_later) lock.WaitFor(state_->wake, kRetryAfter);
  }
  state_->idle.notify_all();
}

Result<std::vector<std::pair<std::string, std::string>>> ChainReplicator::RecordsOf(
    const std::string& host) {
  std::vector<std::pair<std::string, std::string>> out;
  // The host's keys are the subjects its records were put on in the bucket's stream: one
  // request to the stream's leader lists them (listing the bucket's keys would make a consumer,
  // which a NATS cluster that has just lost a server may not place for many seconds).
  const std::string bucket = names_.ReplicasBucket();
  const std::string subject_prefix = "$KV." + bucket + ".";
  const std::string key_prefix = LatticeNames::ReplicaKeyPrefix(host);
  const std::string filter = subject_prefix + key_prefix + ">";
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const std::string stream = "KV_" + bucket;
  natsStatus listed = js_GetStreamInfo(&info, nats_.jetstream(), stream.c_str(), &options, &code);
  if (listed == NATS_NOT_FOUND) return out;  // no replicated actor yet
  THEATER_RETURN_IF_ERROR(FromNats(listed, "listing host " + host + "'s replicated actors", code));
  std::vector<std::string> keys;
  if (info->State.Subjects != nullptr) {
    for (int i = 0; i < info->State.Subjects->Count; ++i) {
      const std::string_view subject = info->State.Subjects->List[i].Subject;
      if (subject.starts_with(subject_prefix)) keys.emplace_back(subject.substr(subject_prefix.size()));
    }
  }
  jsStreamInfo_Destroy(info);
  for (const std::string& key : keys) {
    kvEntry* entry = nullptr;
    const natsStatus read = kvStore_Get(&entry, bucket_, key.c_str());
    if (read == NATS_NOT_FOUND) continue;  // deleted: its subject keeps the tombstone
    THEATER_RETURN_IF_ERROR(FromNats(read, "reading host " + host + "'s replicated actor " + key));
    const std::string value = Text(kvEntry_Value(entry), kvEntry_ValueLen(entry));
    kvEntry_Destroy(entry);
    const nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("record") || !parsed["record"].is_string()) {
      continue;
    }
    out.emplace_back(key.substr(key_prefix.size()), parsed["record"].get<std::string>());
  }
  return out;
}

void ChainReplicator::Disown(const std::string& host, const std::string& id) {
  const std::string key = LatticeNames::ReplicaKey(host, id);
  if (natsStatus deleted = kvStore_Delete(bucket_, key.c_str()); deleted != NATS_OK) {
    spdlog::debug("lattice: host {} kept host {}'s record of actor {}: {}", host_, host, id,
                  natsStatus_GetText(deleted));
  }
}

Result<uint64_t> ChainReplicator::LastSequence(const std::string& id) {
  const std::string subject = names_.ChainSubject(id);
  natsMsg* last = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus found = js_GetLastMsg(&last, nats_.jetstream(), stream_.c_str(), subject.c_str(),
                                   nullptr, &code);
  if (found == NATS_NOT_FOUND) return uint64_t{0};
  THEATER_RETURN_IF_ERROR(FromNats(found, "reading the replicated chain of actor " + id, code));
  const uint64_t sequence = natsMsg_GetSequence(last);
  natsMsg_Destroy(last);
  return sequence;
}

Result<ChainReplicator::Replica> ChainReplicator::Read(const std::string& id) {
  Replica replica;
  const std::string subject = names_.ChainSubject(id);
  THEATER_ASSIGN_OR_RETURN(replica.last_sequence, LastSequence(id));
  if (replica.last_sequence == 0) return replica;
  // Frame by frame, each the subject's next after the one before (a direct get, answered by
  // the stream itself: no consumer to create, drive and tear down per actor).
  uint64_t next = 1;
  while (next <= replica.last_sequence) {
    jsDirectGetMsgOptions get;
    jsDirectGetMsgOptions_Init(&get);
    get.Sequence = next;
    get.NextBySubject = subject.c_str();
    natsMsg* msg = nullptr;
    THEATER_RETURN_IF_ERROR(
        FromNats(js_DirectGetMsg(&msg, nats_.jetstream(), stream_.c_str(), nullptr, &get),
                 "reading the replicated chain of actor " + id));
    const uint64_t sequence = natsMsg_GetSequence(msg);
    const std::string_view frame(natsMsg_GetData(msg),
                                 static_cast<size_t>(std::max(0, natsMsg_GetDataLength(msg))));
    Result<ReplicaFrame> parsed = ParseReplicaFrame(frame);
    natsMsg_Destroy(msg);
    if (!parsed.ok()) return parsed.status().WithContext("the replicated chain of actor " + id);
    if (parsed->first_index != replica.events.size()) {
      return InvalidArgument("the replicated chain of actor " + id + " has a frame from index " +
                             std::to_string(parsed->first_index) + " after " +
                             std::to_string(replica.events.size()) + " events");
    }
    for (chain::Event& e : parsed->events) replica.events.push_back(std::move(e));
    if (sequence <= next - 1) {
      return InternalError("the stream answered sequence " + std::to_string(sequence) +
                           " for a message from " + std::to_string(next));
    }
    next = sequence + 1;
  }
  return replica;
}

}  // namespace theater::cluster
