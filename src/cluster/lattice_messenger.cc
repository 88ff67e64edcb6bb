// Theater: a WebAssembly actor runtime.
#include "cluster/lattice_messenger.h"

#include "common/clock.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

namespace theater::cluster {
namespace {

using messaging::Envelope;
using messaging::Reply;
using messaging::ReplyFn;
using Clock = std::chrono::steady_clock;

// What may wait for one host before a sender is told to slow down (NATS takes batches as fast
// as the network does; this is for a host that cannot keep up).
constexpr size_t kMaxQueuedBytesPerHost = size_t{64} << 20;
// A sending thread publishes inline only when its last inline publish to that host is at least
// this old (LatticeMessenger::Enqueue): a request and its answer, a message now and then, go at
// once; a stream goes through the sender thread in batches.
constexpr std::chrono::nanoseconds kInlinePublishGap = std::chrono::microseconds(50);
// The bounds of what this host remembers per pair and per participant. Forgetting is safe: a
// pair seen afresh starts a new count, a participant is looked up again.
constexpr size_t kMaxRemembered = 1 << 18;
// How long a leaving host waits for NATS to take its replicated actors' last events.
constexpr std::chrono::milliseconds kLeavingFlushWithin{10'000};
// An answer owed longer than this is given up (every requester's own timeout is shorter).
constexpr auto kPendingGiveUp = std::chrono::minutes(10);

// How many audits name a pair after its last message, and how old an awaited answer must be to
// be named (younger ones may still be on their way out: their records are queued after the
// entry is made).
constexpr int kAuditsPerPair = 3;
constexpr auto kAuditAnswersOlderThan = std::chrono::seconds(1);

// The host whose record this thread delivers now (null: none): those deliveries are local
// only, and a moving actor's hold sorts them by it (lattice_moves.cc).
thread_local const std::string* receiving_origin = nullptr;

std::string PairKey(std::string_view a, std::string_view b) {
  std::string key;
  key.reserve(a.size() + b.size() + 1);
  key.append(a).push_back('\n');
  key.append(b);
  return key;
}

std::string Bounded(const std::string& text) {
  return text.size() <= kMaxLinkTextBytes ? text : text.substr(0, kMaxLinkTextBytes - 3) + "...";
}

}  // namespace

// A participant on another host, as this host's router sees it.
class LatticeMessenger::RemoteActor final : public messaging::Endpoint {
 public:
  RemoteActor(LatticeMessenger& messenger, std::string id, std::string host)
      : messenger_(messenger), id_(std::move(id)), host_(std::move(host)) {}
  bool wants_sender() const override { return true; }
  const std::string& host() const { return host_; }

  Status Deliver(Envelope envelope) override {
    if (std::optional<Status> refused = messenger_.TakeRefusal(envelope.sender, id_)) {
      return *refused;
    }
    LinkRecord record;
    record.sender = std::move(envelope.sender);
    record.target = id_;
    record.channel = std::move(envelope.channel);
    record.payload = std::move(envelope.payload);
    switch (envelope.kind) {
      case Envelope::Kind::kSend:
        record.kind = RecordKind::kSend;
        break;
      case Envelope::Kind::kRequest:
        record.kind = RecordKind::kRequest;
        break;
      case Envelope::Kind::kChannelOpen:
        record.kind = RecordKind::kChannelOpen;
        break;
      case Envelope::Kind::kChannelMessage:
        record.kind = RecordKind::kChannelMessage;
        break;
      case Envelope::Kind::kChannelClose:
        record.kind = RecordKind::kChannelClose;
        break;
    }
    if (!envelope.reply) return messenger_.EnqueueInOrder(host_, std::move(record));
    return messenger_.EnqueueAwaiting(host_, std::move(record), std::move(envelope.reply), true);
  }

 private:
  LatticeMessenger& messenger_;
  const std::string id_;
  const std::string host_;
};

LatticeMessenger::LatticeMessenger(LatticeMember& member)
    : member_(member),
      host_(member.host_id()),
      epoch_(member.epoch()),
      subject_(member.names().Messages(member.host_id())) {}

Result<std::shared_ptr<LatticeMessenger>> LatticeMessenger::Start(LatticeMember& member) {
  std::shared_ptr<LatticeMessenger> messenger(new LatticeMessenger(member));
  THEATER_ASSIGN_OR_RETURN(
      std::unique_ptr<ActorDirectory> directory,
      ActorDirectory::Open(member.nats(), member.names(), member.host_id(), member.epoch(),
                           [weak = std::weak_ptr<LatticeMessenger>(messenger)](
                               const std::string& host) {
                             std::shared_ptr<LatticeMessenger> m = weak.lock();
                             return m && m->HolderIsLive(host);
                           }));
  {
    MutexLock lock(messenger->mu_);
    messenger->directory_ = std::move(directory);
  }
  THEATER_ASSIGN_OR_RETURN(messenger->replicator_,
                           ChainReplicator::Open(member.nats(), member.names(), member.host_id()));
  BlockingPool::Options one_at_a_time;
  one_at_a_time.max_threads = 1;
  messenger->takeovers_ = std::make_unique<BlockingPool>(one_at_a_time);
  const int64_t max_payload = natsConnection_GetMaxPayload(member.nats().get());
  messenger->max_batch_bytes_ =
      static_cast<size_t>(std::clamp<int64_t>(max_payload, 64 << 10, 8 << 20));
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_Subscribe(&messenger->inbound_, member.nats().get(),
                               messenger->subject_.c_str(), &LatticeMessenger::OnBatch,
                               messenger.get()),
      "receiving this host's messages"));
  // A burst must not be dropped for a slow consumer before its records reach the mailboxes
  // (which bound what an actor may queue): four senders' worth of their per-host limit may wait
  // here; a drop past it is still reported, as a gap.
  natsSubscription_SetPendingLimits(messenger->inbound_, 1 << 20,
                                    static_cast<int>(4 * kMaxQueuedBytesPerHost));
  THEATER_RETURN_IF_ERROR(
      FromNats(natsConnection_FlushTimeout(member.nats().get(), 5000), "receiving messages"));
  messenger->sender_ = std::thread([m = messenger.get()] { m->SenderLoop(); });
  std::weak_ptr<LatticeMessenger> weak = messenger;
  member.SetHostGoneListener([weak](const std::string& host, const std::string& why) {
    if (std::shared_ptr<LatticeMessenger> m = weak.lock()) m->HostGone(host, why);
  });
  return messenger;
}

void LatticeMessenger::SetLeaseListener(
    std::function<void(bool held, const std::string& why)> listener) {
  // The member's listener is this one's: set and cleared while the member is there.
  ReaderLock lock(member_mu_);
  if (member_gone_) return;
  member_.SetLeaseListener(std::move(listener));
}

LatticeMessenger::~LatticeMessenger() {
  Close();
}

bool LatticeMessenger::HostIsLive(const std::string& host) {
  ReaderLock lock(member_mu_);
  return !member_gone_ && member_.IsLive(host, kLiveWithin);
}

bool LatticeMessenger::HolderIsLive(const std::string& host) {
  ReaderLock lock(member_mu_);
  if (member_gone_ || !member_.IsLive(host, kLiveWithin)) return false;
  // Heard lately, but perhaps dead since: another host may have declared it lost and be taking
  // its actors over before this one's probe notices.
  return !member_.ProcessIsGone(host, kHolderPingWait);
}

void LatticeMessenger::Close() {
  if (closed_.exchange(true)) return;
  EndWatches();  // while the connection the watched chains publish on is open
  // A takeover under way ends first (those queued see closed_ and do nothing).
  takeovers_.reset();
  {
    // From here on nothing asks the member (it may go once this returns): a liveness check in
    // flight finishes first.
    WriterLock lock(member_mu_);
    member_gone_ = true;
  }
  // Everything of NATS this holds goes here, while the member's connection is still open (the
  // runtime, which holds this, may outlive the member).
  member_.SetHostGoneListener(nullptr);
  member_.SetLeaseListener(nullptr);  // waits for a call in flight: the runtime may go next
  // When this returns no callback of it runs, so the router may go.
  StopSubscription(member_.nats().get(), &inbound_);
  {
    MutexLock lock(out_mu_);
    closing_ = true;
    // A thread publishing a record of its own (Enqueue) finishes before the connection may go;
    // none starts from now on.
    lock.Wait(out_wake_, [&]() THEATER_REQUIRES(out_mu_) {
      for (const auto& [host, box] : outboxes_) {
        if (box.publishing) return false;
      }
      return true;
    });
  }
  out_wake_.notify_all();
  if (sender_.joinable()) sender_.join();
  std::shared_ptr<ActorDirectory> directory;
  std::vector<ReplyFn> owed;
  {
    MutexLock lock(mu_);
    directory = std::move(directory_);
    for (auto& [reference, pending] : pending_) owed.push_back(std::move(pending.reply));
    pending_.clear();
  }
  // What this host's replicated actors wrote goes out before it leaves.
  std::unique_ptr<ChainReplicator> replicator;
  {
    MutexLock lock(replica_mu_);
    replicator = std::move(replicator_);
  }
  // Bounded: with NATS away for good, what could not go out stays unpublished (the host that
  // takes the actors over resumes them from what the stream holds).
  if (replicator && !replicator->Flush(kLeavingFlushWithin)) {
    spdlog::warn("lattice: host {} leaves with replicated events NATS has not taken in {} s",
                 host_, kLeavingFlushWithin.count() / 1000);
  }
  replicator.reset();
  if (directory) directory->Flush();  // this host's releases are written before it goes
  directory.reset();
  for (ReplyFn& reply : owed) reply(Unavailable("host " + host_ + " left the lattice"));
}

std::shared_ptr<ActorDirectory> LatticeMessenger::directory() const {
  MutexLock lock(mu_);
  return directory_;
}

Status LatticeMessenger::ClaimActor(std::string_view id) {
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (!directory) return Unavailable("host " + host_ + " has left the lattice");
  // An actor moving here: the host it comes from hands its entry over (lattice_moves.cc).
  std::optional<std::string> from = HandoverFor(id);
  if (from) return directory->Handover(id, *from);
  return directory->Claim(id);
}

void LatticeMessenger::ReleaseActor(std::string_view id) {
  if (std::shared_ptr<ActorDirectory> directory = this->directory()) directory->Release(id);
}

void LatticeMessenger::Bind(messaging::Router& router) {
  router_ = &router;
}

const std::string* LatticeMessenger::ReceivingFrom() {
  return receiving_origin;
}

Result<std::shared_ptr<messaging::Endpoint>> LatticeMessenger::Find(std::string_view id) {
  // A record from another host goes to a participant here or nowhere: never on to a third host
  // (two hosts with stale answers would pass it back and forth). A moved actor's relay is the
  // one exception: it passes on, once, what reaches it (RouteElsewhere).
  if (receiving_origin != nullptr) return NotFound("actor " + std::string(id) + " not found");
  return RouteElsewhere(id);
}

Result<std::shared_ptr<messaging::Endpoint>> LatticeMessenger::RouteElsewhere(std::string_view id) {
  {
    MutexLock lock(mu_);
    auto it = remote_.find(std::string(id));
    if (it != remote_.end()) return std::shared_ptr<messaging::Endpoint>(it->second);
  }
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (!directory) return NotFound("actor " + std::string(id) + " not found");
  THEATER_ASSIGN_OR_RETURN(ActorDirectory::Location where, directory->Find(id));
  // The directory still names this host for an actor that stopped here a moment ago.
  if (where.host == host_) return NotFound("actor " + std::string(id) + " not found");
  if (!HostIsLive(where.host)) {
    return Unavailable("actor " + std::string(id) + " is on host " + where.host +
                       ", which is not answering (host " + where.host + " lost)");
  }
  auto remote = std::make_shared<RemoteActor>(*this, std::string(id), where.host);
  MutexLock lock(mu_);
  if (remote_.size() >= kMaxRemembered) remote_.clear();
  remote_[std::string(id)] = remote;
  return std::shared_ptr<messaging::Endpoint>(std::move(remote));
}

Result<std::optional<std::string>> LatticeMessenger::ManagementAddressOf(std::string_view id) {
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (!directory) return std::optional<std::string>();
  Result<ActorDirectory::Location> where = directory->Find(id);
  if (!where.ok()) {
    if (where.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return where.status();
  }
  if (where->host == host_) return std::optional<std::string>();
  std::string address;
  {
    ReaderLock lock(member_mu_);
    if (member_gone_) return std::optional<std::string>();
    for (const LatticeHost& host : member_.Hosts()) {
      if (host.host_id == where->host) address = host.management_address;
    }
  }
  if (!HostIsLive(where->host)) {
    return Unavailable("actor " + std::string(id) + " is on host " + where->host + ", which is lost");
  }
  if (address.empty()) {
    return Unavailable("actor " + std::string(id) + " is on host " + where->host +
                       ", which has not announced its management address");
  }
  return std::optional<std::string>(std::move(address));
}

Status LatticeMessenger::EnqueueInOrder(const std::string& host, LinkRecord record) {
  return Enqueue(host, std::move(record), true);
}

Status LatticeMessenger::EnqueueAwaiting(const std::string& host, LinkRecord record,
                                         ReplyFn reply, bool ordered) {
  // An answer comes back: it is owed under a number of this host's.
  {
    MutexLock lock(mu_);
    record.reference = ++next_reference_;
    pending_.emplace(record.reference, Pending{std::move(reply), host, record.target, Clock::now()});
  }
  const uint64_t reference = record.reference;
  Status queued = Enqueue(host, std::move(record), ordered);
  if (!queued.ok()) {
    MutexLock lock(mu_);
    pending_.erase(reference);  // refused: the caller reports it, not the reply
  }
  return queued;
}

Status LatticeMessenger::Enqueue(const std::string& host, LinkRecord record, bool ordered) {
  const size_t size = RecordSize(record);
  LinkBatchHeader header{host_, epoch_};
  const size_t header_size = 1 + 2 + host_.size() + 8;
  if (size + header_size > max_batch_bytes_) {
    return ResourceExhausted("a message of " + std::to_string(record.payload.size()) +
                             " bytes to actor " + record.target + " on host " + host +
                             " is past the largest message the lattice's NATS server takes (" +
                             std::to_string(max_batch_bytes_) + " bytes with its envelope)");
  }
  {
    MutexLock lock(out_mu_);
    if (closing_) return Unavailable("host " + host_ + " is leaving the lattice");
    Outbox& box = outboxes_[host];
    if (box.bytes + size > kMaxQueuedBytesPerHost) {
      return ResourceExhausted("the messages waiting to go to host " + host + " are past " +
                               std::to_string(kMaxQueuedBytesPerHost >> 20) +
                               " MiB (the lattice's limit per host): the host or NATS is not "
                               "keeping up");
    }
    if (ordered) {
      const KeyParts pair(record.sender, record.target);
      auto it = next_sequence_.find(pair);
      if (it == next_sequence_.end()) {
        if (next_sequence_.size() >= kMaxRemembered) next_sequence_.clear();
        it = next_sequence_.emplace(pair.Join(), PairSent{}).first;
      }
      PairSent& sent = it->second;
      record.sequence = ++sent.sequence;
      if (sent.host != host) sent.host = host;
      sent.audits_left = kAuditsPerPair;
    }
    if (!box.batch.empty() && box.batch.size() + size > max_batch_bytes_) {
      box.full.push_back(std::move(box.batch));
      box.batch.clear();
    }
    const bool was_empty = box.batch.empty() && box.full.empty();
    if (box.batch.empty()) BeginBatch(header, box.batch);
    AppendRecord(record, box.batch);
    box.bytes += size;
    // A record that finds the host's outbox empty and nobody publishing to it goes at once, on
    // this thread: a message alone makes no thread hop. What others append meanwhile (a burst)
    // is the sender thread's to publish, batched; one publisher per host at a time keeps the
    // order. A stream of messages (the last inline publish less than kInlinePublishGap ago) goes
    // to the sender thread too, woken once per batch: a system call and a wake of the NATS server
    // per message or two would otherwise cost more than the messages themselves.
    if (box.publishing || !was_empty) return Status::Ok();
    const int64_t now = SteadyNowNs();
    if (now - box.inline_published_ns < kInlinePublishGap.count()) {
      lock.Unlock();
      out_wake_.notify_one();
      return Status::Ok();
    }
    box.inline_published_ns = now;
    box.publishing = true;
    std::vector<std::string> batches = TakeBatches(box);
    lock.Unlock();
    Publish(host, batches);
    lock.Lock();
    box.publishing = false;
    if (closing_) {
      out_wake_.notify_all();  // Close waits for this publisher
      return Status::Ok();
    }
    if (box.batch.empty() && box.full.empty()) return Status::Ok();
  }
  out_wake_.notify_one();
  return Status::Ok();
}

std::vector<std::string> LatticeMessenger::TakeBatches(Outbox& box) {
  std::vector<std::string> batches;
  for (std::string& full : box.full) batches.push_back(std::move(full));
  box.full.clear();
  if (!box.batch.empty()) batches.push_back(std::move(box.batch));
  box.batch.clear();
  box.bytes = 0;
  return batches;
}

void LatticeMessenger::Publish(const std::string& host, const std::vector<std::string>& batches) {
  const std::string subject = member_.names().Messages(host);
  for (const std::string& batch : batches) {
    natsStatus sent = natsConnection_Publish(member_.nats().get(), subject.c_str(), batch.data(),
                                             static_cast<int>(batch.size()));
    if (sent != NATS_OK) {
      // The receiver sees the gap in each pair's numbers (or the audit does) and tells the senders.
      spdlog::warn("lattice: a batch of {} bytes to host {} was not sent: {}", batch.size(), host,
                   FromNats(sent, "publishing").ToString());
    }
  }
}

void LatticeMessenger::SenderLoop() {
  auto last_sweep = Clock::now();
  MutexLock lock(out_mu_);
  for (;;) {
    // The outboxes with work, by pointer: an element of an unordered_map stays where it is when
    // another thread adds a host while this one publishes unlocked (an iterator would not).
    std::vector<std::pair<std::string, Outbox*>> ready;
    for (auto& [host, box] : outboxes_) {
      if (!box.publishing && (!box.batch.empty() || !box.full.empty())) {
        box.publishing = true;
        ready.emplace_back(host, &box);
      }
    }
    for (auto& [host, box] : ready) {
      while (!box->batch.empty() || !box->full.empty()) {
        std::vector<std::string> batches = TakeBatches(*box);
        lock.Unlock();
        Publish(host, batches);
        lock.Lock();
      }
      box->publishing = false;
    }
    const bool published = !ready.empty();
    if (closing_) {
      out_wake_.notify_all();  // Close waits for the publishers
      break;
    }
    if (!published) lock.WaitFor(out_wake_, std::chrono::seconds(1));
    if (Clock::now() - last_sweep > std::chrono::seconds(1)) {
      last_sweep = Clock::now();
      lock.Unlock();
      SweepPending();
      Audit();
      SweepArrivals();
      RenewWatches();
      SweepWatched();
      lock.Lock();
    }
  }
}

void LatticeMessenger::SweepPending() {
  std::vector<ReplyFn> expired;
  {
    MutexLock lock(mu_);
    const auto cutoff = Clock::now() - kPendingGiveUp;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.sent < cutoff) {
        expired.push_back(std::move(it->second.reply));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (ReplyFn& reply : expired) {
    reply(DeadlineExceeded("no answer from another host of the lattice in 10 minutes"));
  }
}

void LatticeMessenger::Audit() {
  std::unordered_map<std::string, LinkAudit> audits;
  {
    const auto cutoff = Clock::now() - kAuditAnswersOlderThan;
    MutexLock lock(mu_);
    for (const auto& [reference, pending] : pending_) {
      if (pending.sent < cutoff) audits[pending.host].awaited.push_back(reference);
    }
  }
  MutexLock lock(out_mu_);
  if (closing_) return;
  for (auto& [pair, sent] : next_sequence_) {
    if (sent.audits_left <= 0) continue;
    --sent.audits_left;
    const size_t newline = pair.find('\n');
    audits[sent.host].pairs.push_back(
        {pair.substr(0, newline), pair.substr(newline + 1), sent.sequence});
  }
  lock.Unlock();
  for (auto& [host, audit] : audits) {
    // An audit is one record of at most a quarter of a batch: a long one goes in pieces.
    const size_t per_record = max_batch_bytes_ / 4;
    while (!audit.awaited.empty() || !audit.pairs.empty()) {
      LinkAudit piece;
      size_t size = 8;
      while (!audit.awaited.empty() && size + 8 <= per_record) {
        piece.awaited.push_back(audit.awaited.back());
        audit.awaited.pop_back();
        size += 8;
      }
      while (!audit.pairs.empty() && size + 2 * (2 + kMaxLinkIdBytes) + 8 <= per_record) {
        piece.pairs.push_back(std::move(audit.pairs.back()));
        audit.pairs.pop_back();
        size += 4 + piece.pairs.back().sender.size() + piece.pairs.back().target.size() + 8;
      }
      LinkRecord record;
      record.kind = RecordKind::kAudit;
      record.payload = EncodeAudit(piece);
      (void)Enqueue(host, std::move(record), false);
    }
  }
}

void LatticeMessenger::CheckAudit(const std::string& origin, const LinkRecord& record) {
  LinkAudit audit;
  const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                 record.payload.size());
  if (Status parsed = ParseAudit(payload, &audit); !parsed.ok()) {
    spdlog::warn("lattice: host {} dropped an audit from host {}: {}", host_, origin,
                 parsed.ToString());
    return;
  }
  std::vector<uint64_t> unknown;
  std::vector<std::pair<const LinkAudit::Pair*, uint64_t>> short_pairs;  // pair, messages lost
  {
    MutexLock lock(mu_);
    auto owed = owed_.find(origin);
    for (uint64_t reference : audit.awaited) {
      // Records arrive in the order they were sent: a request the origin sent before this audit
      // has been received, so one not owed here was lost, or its answer was.
      if (owed == owed_.end() || owed->second.count(reference) == 0) unknown.push_back(reference);
    }
    for (const LinkAudit::Pair& pair : audit.pairs) {
      const KeyParts key(origin, pair.sender, pair.target);
      auto it = expected_.find(key);
      // A pair this host never heard from (and has not forgotten) lost all it was sent.
      uint64_t received_through = 0;
      if (it != expected_.end()) {
        received_through = it->second - 1;
      } else if (expected_forgotten_) {
        continue;
      }
      if (pair.last_sequence > received_through) {
        short_pairs.emplace_back(&pair, pair.last_sequence - received_through);
        expected_[key.Join()] = pair.last_sequence + 1;
      }
    }
  }
  for (uint64_t reference : unknown) {
    Answer(origin, reference, "",
           Unavailable("the request or its answer was lost between hosts " + origin + " and " +
                       host_ + " (NATS reconnected, or a host could not keep up)"));
  }
  for (const auto& [pair, lost] : short_pairs) {
    ReportLost(origin, pair->sender, pair->target, lost);
  }
}

void LatticeMessenger::OnBatch(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
  const int length = natsMsg_GetDataLength(msg);
  static_cast<LatticeMessenger*>(self)->Receive(
      std::string_view(natsMsg_GetData(msg), length > 0 ? static_cast<size_t>(length) : 0));
  natsMsg_Destroy(msg);
}

void LatticeMessenger::Receive(std::string_view batch) {
  // Kept by each receiving thread from batch to batch: the records' strings keep their buffers.
  thread_local LinkBatchHeader header;
  thread_local std::vector<LinkRecord> records;
  size_t count = 0;
  if (Status parsed = ParseBatchInto(batch, &header, &records, &count); !parsed.ok()) {
    spdlog::warn("lattice: host {} dropped a batch of {} bytes: {}", host_, batch.size(),
                 parsed.ToString());
    return;
  }
  if (router_ == nullptr || !CheckLatticeName(header.origin, "host").ok()) return;
  ExpectedPairs pairs;
  for (size_t i = 0; i < count; ++i) Handle(header.origin, records[i], pairs);
}

uint64_t* LatticeMessenger::ExpectedPairs::Find(const LinkRecord& record) const {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].sender == record.sender && entries_[i].target == record.target) {
      return entries_[i].expected;
    }
  }
  return nullptr;
}

void LatticeMessenger::ExpectedPairs::Remember(const LinkRecord& record, uint64_t* expected) {
  if (size_ < entries_.size()) entries_[size_++] = {record.sender, record.target, expected};
}

void LatticeMessenger::Handle(const std::string& origin, LinkRecord& record,
                              ExpectedPairs& pairs) {
  if (record.sequence != 0) {
    uint64_t lost = 0;
    {
      MutexLock lock(mu_);
      if (expected_.size() >= kMaxRemembered) {
        expected_.clear();
        pairs.Clear();  // it pointed into what is gone
        expected_forgotten_ = true;
      }
      // A batch holds a few pairs' messages, interleaved: each pair is hashed and found once.
      uint64_t* expected = pairs.Find(record);
      if (expected == nullptr) {
        const KeyParts key(origin, record.sender, record.target);
        auto it = expected_.find(key);
        if (it == expected_.end()) it = expected_.emplace(key.Join(), 0).first;
        expected = &it->second;  // an element stays where it is when the map grows
        pairs.Remember(record, expected);
      }
      // A lower number than expected is a sender that started counting afresh (it forgot the
      // pair, or restarted): not a gap.
      if (*expected != 0 && record.sequence > *expected) lost = record.sequence - *expected;
      *expected = record.sequence + 1;
    }
    if (lost > 0) {
      ReportLost(origin, record.sender, record.target, lost);
    }
  }
  // Envelopes are delivered to local participants only (Find); answers and refusals are this
  // host's own business, and may route on (a channel's close to its remote peer).
  struct LocalOnly {
    LocalOnly(bool on, const std::string& origin) : on(on) {
      if (on) receiving_origin = &origin;
    }
    ~LocalOnly() {
      if (on) receiving_origin = nullptr;
    }
    bool on;
  } local_only(record.kind != RecordKind::kAnswer && record.kind != RecordKind::kRefused &&
               record.kind != RecordKind::kAudit && record.kind != RecordKind::kSupervise,
               origin);
  switch (record.kind) {
    case RecordKind::kSend: {
      Status sent = router_->Send(record.target, std::move(record.payload), record.sender);
      if (!sent.ok()) Refuse(origin, record.sender, record.target, sent);
      return;
    }
    case RecordKind::kRequest: {
      std::weak_ptr<LatticeMessenger> weak = weak_from_this();
      const uint64_t reference = record.reference;
      Owe(origin, reference);
      Status routed = router_->Request(
          record.target, std::move(record.payload),
          [weak, origin, reference, target = record.target](Result<Reply> reply) {
            if (std::shared_ptr<LatticeMessenger> m = weak.lock()) {
              m->Answer(origin, reference, target, reply);
            }
          },
          record.sender);
      if (!routed.ok()) Answer(origin, reference, record.target, routed);
      return;
    }
    case RecordKind::kChannelOpen: {
      std::weak_ptr<LatticeMessenger> weak = weak_from_this();
      const uint64_t reference = record.reference;
      Owe(origin, reference);
      router_->OpenChannelFromRemote(
          std::move(record.channel), record.sender, record.target, std::move(record.payload),
          [weak, origin, reference, target = record.target](Result<Reply> decision) {
            if (std::shared_ptr<LatticeMessenger> m = weak.lock()) {
              m->Answer(origin, reference, target, decision);
            }
          });
      return;
    }
    case RecordKind::kChannelMessage: {
      Status sent =
          router_->SendOnChannel(record.sender, record.channel, std::move(record.payload));
      if (!sent.ok()) Refuse(origin, record.sender, record.target, sent);
      return;
    }
    case RecordKind::kChannelClose:
      (void)router_->CloseChannel(record.sender, record.channel);  // closed already is fine
      return;
    case RecordKind::kAnswer: {
      std::optional<Pending> owed;
      {
        MutexLock lock(mu_);
        auto it = pending_.find(record.reference);
        if (it == pending_.end()) return;  // given up, or a duplicate
        owed = std::move(it->second);
        pending_.erase(it);
        if (record.code == StatusCode::kNotFound || record.code == StatusCode::kUnavailable) {
          remote_.erase(owed->target);  // not there any more: look it up afresh next time
        }
      }
      if (record.code != StatusCode::kOk) {
        owed->reply(Status(record.code, record.text));
      } else {
        Reply reply;
        reply.accepted = record.accepted;
        if (record.has_message) reply.message = std::move(record.payload);
        owed->reply(std::move(reply));
      }
      return;
    }
    case RecordKind::kAudit:
      CheckAudit(origin, record);
      return;
    case RecordKind::kSupervise:
      HandleSupervision(origin, record);  // a copy: the record's ids may key `pairs`
      return;
    case RecordKind::kRefused: {
      MutexLock lock(mu_);
      if (refusals_.size() >= kMaxRemembered) refusals_.clear();
      refusals_[PairKey(record.sender, record.target)] = Status(record.code, record.text);
      any_refusals_.store(true, std::memory_order_release);
      if (record.code == StatusCode::kNotFound || record.code == StatusCode::kUnavailable) {
        remote_.erase(record.target);
      }
      return;
    }
  }
}

void LatticeMessenger::Owe(const std::string& origin, uint64_t reference) {
  MutexLock lock(mu_);
  owed_[origin].insert(reference);
}

void LatticeMessenger::Answer(const std::string& origin, uint64_t reference,
                              const std::string& target, const Result<Reply>& reply) {
  {
    MutexLock lock(mu_);
    auto owed = owed_.find(origin);
    if (owed != owed_.end()) {
      owed->second.erase(reference);
      if (owed->second.empty()) owed_.erase(owed);
    }
  }
  LinkRecord record;
  record.kind = RecordKind::kAnswer;
  record.reference = reference;
  record.target = target;
  if (!reply.ok()) {
    record.code = reply.status().code();
    record.text = Bounded(reply.status().message());
  } else {
    record.accepted = reply->accepted;
    record.has_message = reply->message.has_value();
    if (reply->message) record.payload = *reply->message;
  }
  Status queued = Enqueue(origin, std::move(record), false);
  if (!queued.ok() && reply.ok()) {
    // Too large to go back whole: the requester learns why instead of waiting for its timeout.
    LinkRecord failure;
    failure.kind = RecordKind::kAnswer;
    failure.reference = reference;
    failure.target = target;
    failure.code = queued.code();
    failure.text = Bounded("the answer could not be sent back: " + queued.message());
    (void)Enqueue(origin, std::move(failure), false);
  }
}

void LatticeMessenger::Refuse(const std::string& origin, const std::string& sender,
                              const std::string& target, const Status& why) {
  LinkRecord record;
  record.kind = RecordKind::kRefused;
  record.sender = sender;
  record.target = target;
  record.code = why.code();
  record.text = Bounded("an earlier message to actor " + target + " on host " + host_ +
                        " was refused: " + why.message());
  (void)Enqueue(origin, std::move(record), false);
}

void LatticeMessenger::ReportLost(const std::string& origin, const std::string& sender,
                                  const std::string& target, uint64_t lost) {
  LinkRecord record;
  record.kind = RecordKind::kRefused;
  record.sender = sender;
  record.target = target;
  record.code = StatusCode::kUnavailable;
  record.text = Bounded(std::to_string(lost) + " earlier message" + (lost == 1 ? "" : "s") +
                        " to actor " + target + (lost == 1 ? " was" : " were") +
                        " lost between hosts " + origin + " and " + host_ +
                        " (NATS reconnected, or a host could not keep up)");
  (void)Enqueue(origin, std::move(record), false);
}

std::optional<Status> LatticeMessenger::TakeRefusal(const std::string& sender,
                                                    const std::string& target) {
  // Nearly always none: a message does not take the lock to learn it.
  if (!any_refusals_.load(std::memory_order_acquire)) return std::nullopt;
  MutexLock lock(mu_);
  if (refusals_.empty()) return std::nullopt;
  auto it = refusals_.find(PairKey(sender, target));
  if (it == refusals_.end()) return std::nullopt;
  Status refused = std::move(it->second);
  refusals_.erase(it);
  any_refusals_.store(!refusals_.empty(), std::memory_order_release);
  return refused;
}

void LatticeMessenger::HostGone(const std::string& host, const std::string& why) {
  std::unordered_set<std::string> theirs;
  std::vector<ReplyFn> owed;
  {
    MutexLock lock(mu_);
    for (auto it = remote_.begin(); it != remote_.end();) {
      if (it->second->host() == host) {
        theirs.insert(it->first);
        it = remote_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.host == host) {
        owed.push_back(std::move(it->second.reply));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    owed_.erase(host);  // its requesters are gone with it
  }
  const std::string reason = "host " + host + " " + why;
  for (ReplyFn& reply : owed) reply(Unavailable(reason));
  OpenArrivals([&host](const std::string&, const Arrival& arrival) { return arrival.from == host; });
  if (router_ != nullptr && !theirs.empty()) {
    router_->DropParticipants([&](std::string_view id) { return theirs.count(std::string(id)) > 0; },
                              reason);
  }
  spdlog::info("lattice: {}; {} of its actors were known here, {} answers owed by it failed",
               reason, theirs.size(), owed.size());
  {
    MutexLock lock(supervision_mu_);
    if (supervision_ != nullptr) supervision_->OnHostGone(host, why);
  }
  // Its replicated actors run again here, if this host wins them (TakeOverFrom).
  if (takeovers_ && !closed_) {
    std::weak_ptr<LatticeMessenger> weak = weak_from_this();
    Status queued = takeovers_->Post([weak, host] {
      if (std::shared_ptr<LatticeMessenger> m = weak.lock()) m->TakeOverFrom(host);
    });
    if (!queued.ok()) spdlog::warn("lattice: taking over host {}'s actors: {}", host, queued.ToString());
  }
}

}  // namespace theater::cluster
