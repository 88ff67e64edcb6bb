// Theater: a WebAssembly actor runtime.
#include "cluster/lattice_member.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <nlohmann/json.hpp>

#include "common/nesting_guard.h"
#include "common/uuid.h"

namespace theater::cluster {
namespace {

using json = nlohmann::json;

// A heartbeat is a few hundred bytes; anything much larger is not one.
constexpr size_t kMaxHeartbeatBytes = 16 << 10;
constexpr size_t kMaxHeartbeatDepth = 4;
// How long a ping to a name waits: a live host answers in about a millisecond; a frozen one
// holds its subscription, and the ping times out.
constexpr int64_t kClaimPingMs = 500;
// How long a host's ping subject must go on being answered "no responders" before its process
// counts as gone: longer than a client's reconnection (250 ms apart, up to 100 ms of jitter, a
// handshake), so that a host that reconnects is not taken for dead. The first such answer
// schedules a probe of that host this long after it, outside the probes' period, so a dead
// process is declared lost within a probe period and this (750 ms with the default period).
constexpr std::chrono::milliseconds kNoRespondersConfirmAfter{500};

// This machine's host name and the process id, made a lattice name.
std::string DefaultHostId() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') std::strcpy(name, "host");
  std::string id;
  for (const char* c = name; *c != '\0' && id.size() < 48; ++c) {
    id.push_back(IsLatticeNameChar(*c) ? *c : '-');
  }
  return id + "-" + std::to_string(getpid());
}

double LoadAverage() {
  double one_minute = 0;
  return getloadavg(&one_minute, 1) == 1 ? one_minute : 0;
}

}  // namespace

LatticeMember::LatticeMember(ClusterOptions options, FactsFn facts)
    : options_(std::move(options)),
      facts_(std::move(facts)),
      names_(options_.lattice),
      incarnation_(NewUuid()) {}

Result<std::unique_ptr<LatticeMember>> LatticeMember::Join(ClusterOptions options, FactsFn facts) {
  if (options.url.empty()) return InvalidArgument("--cluster needs the NATS server's address");
  if (options.host_id.empty()) options.host_id = DefaultHostId();
  THEATER_RETURN_IF_ERROR(CheckLatticeName(options.lattice, "the lattice"));
  THEATER_RETURN_IF_ERROR(CheckLatticeName(options.host_id, "the host id"));
  if (options.heartbeat_interval < std::chrono::milliseconds(50) ||
      options.heartbeat_interval > std::chrono::minutes(1)) {
    return InvalidArgument("the heartbeat interval must lie between 50 ms and 1 minute");
  }
  if (options.probe_interval < std::chrono::milliseconds(10) ||
      options.probe_interval > std::chrono::minutes(1)) {
    return InvalidArgument("the probe interval must lie between 10 ms and 1 minute");
  }
  if (options.lost_after < 2 * options.heartbeat_interval) {
    return InvalidArgument("a host may be declared lost only after two heartbeat intervals "
                           "without one (lost_after >= 2 x heartbeat_interval)");
  }
  if (options.lease.count() != 0 && (options.lease < 2 * options.heartbeat_interval ||
                                     options.lease >= options.lost_after)) {
    return InvalidArgument(
        "the lease must last at least two heartbeat intervals and end before a host is declared "
        "lost (2 x heartbeat_interval <= lease < lost_after), so that a cut-off host pauses its "
        "actors before another may act on its loss");
  }
  std::unique_ptr<LatticeMember> member(new LatticeMember(std::move(options), std::move(facts)));
  Status joined = member->Connect();
  if (joined.ok()) joined = member->OpenHostsBucket();
  if (joined.ok()) joined = member->ClaimName();
  if (joined.ok()) joined = member->Subscribe();
  if (!joined.ok()) {
    member->left_ = true;  // nothing to announce: the others never heard of it
    return joined;
  }
  {
    MutexLock lock(member->mu_);
    member->confirmed_at_ = Clock::now();  // joining was a round trip with NATS
  }
  member->PublishHeartbeat(false);
  member->heartbeat_thread_ = std::thread([m = member.get()] { m->HeartbeatLoop(); });
  spdlog::info("lattice: host '{}' joined lattice '{}' through {} (epoch {})",
               member->host_id(), member->lattice(), member->nats_->connected_url(),
               member->epoch_);
  return member;
}

Status LatticeMember::Connect() {
  THEATER_ASSIGN_OR_RETURN(
      nats_, NatsConnection::Open(options_, "theater host " + options_.host_id + " (lattice " +
                                                options_.lattice + ")"));
  return Status::Ok();
}

Status LatticeMember::OpenHostsBucket() {
  return OpenBucket(*nats_, names_.HostsBucket(),
                    "Theater: the hosts of one lattice (docs/distribution.md)", &hosts_bucket_);
}

Status LatticeMember::ClaimName() {
  const std::string& host = options_.host_id;
  const std::string key = LatticeNames::HostKey(host);
  // 1. What the key says now: the compare-and-set below is against this, so that anyone who
  //    claims the name after this read (having pinged before this host answers pings) makes it
  //    fail.
  kvEntry* entry = nullptr;
  // A bucket another host is creating at this moment may leave the first read unanswered (a
  // timeout, seen with two hosts joining one new lattice at once): it is asked again.
  natsStatus read = NATS_TIMEOUT;
  for (int attempt = 0; attempt < 3 && read == NATS_TIMEOUT; ++attempt) {
    read = kvStore_Get(&entry, hosts_bucket_, key.c_str());
  }
  std::optional<uint64_t> last;
  if (read == NATS_OK) {
    last = kvEntry_Revision(entry);
    kvEntry_Destroy(entry);
  } else if (read != NATS_NOT_FOUND) {
    return FromNats(read, "reading the host id '" + host + "' in the lattice's hosts bucket");
  }
  // 2. Nobody answers to the name.
  natsMsg* reply = nullptr;
  const std::string ping = names_.Ping(host);
  const natsStatus pinged =
      natsConnection_RequestString(&reply, nats_->get(), ping.c_str(), "claim", kClaimPingMs);
  if (reply != nullptr) natsMsg_Destroy(reply);
  if (pinged == NATS_OK) {
    return AlreadyExists("the host id '" + host + "' is taken in lattice '" + options_.lattice +
                         "': a running host answers to it (give this one another --host-id)");
  }
  if (pinged == NATS_TIMEOUT) {
    return AlreadyExists("the host id '" + host + "' is held in lattice '" + options_.lattice +
                         "' by a host that does not answer (frozen or cut off); give this one "
                         "another --host-id, or stop that host");
  }
  if (pinged != NATS_NO_RESPONDERS) return FromNats(pinged, "asking who holds '" + host + "'");
  // 3. This host answers to it from now on, before it writes the key: a claimant that pings
  //    after this is refused by the answer, one that pinged before read the key before this
  //    write, and its compare-and-set fails if this one's succeeds.
  THEATER_RETURN_IF_ERROR(FromNats(natsConnection_Subscribe(&ping_sub_, nats_->get(), ping.c_str(),
                                                            &LatticeMember::OnPing, this),
                                   "answering pings"));
  THEATER_RETURN_IF_ERROR(
      FromNats(natsConnection_FlushTimeout(nats_->get(), options_.connect_timeout.count()),
               "answering pings"));
  // 4. The compare-and-set.
  const std::string claim =
      json{{"host", host}, {"incarnation", incarnation_}, {"pid", getpid()}}.dump();
  const natsStatus written =
      last ? kvStore_Update(&epoch_, hosts_bucket_, key.c_str(), claim.data(),
                            static_cast<int>(claim.size()), *last)
           : kvStore_Create(&epoch_, hosts_bucket_, key.c_str(), claim.data(),
                            static_cast<int>(claim.size()));
  if (written != NATS_OK) {
    return AlreadyExists("the host id '" + host + "' was claimed in lattice '" +
                         options_.lattice + "' by another host at the same moment (" +
                         FromNats(written, "claiming it").message() + ")");
  }
  return Status::Ok();
}

Status LatticeMember::Subscribe() {
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_Subscribe(&actors_sub_, nats_->get(),
                               names_.ActorsOf(options_.host_id).c_str(),
                               &LatticeMember::OnActorsAsked, this),
      "answering for this host's actors"));
  probe_inbox_ = "_INBOX.theater." + options_.lattice + "." + options_.host_id + "." +
                 incarnation_.substr(0, 8);
  const std::string answers = probe_inbox_ + ".*";
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_Subscribe(&probe_sub_, nats_->get(), answers.c_str(),
                               &LatticeMember::OnProbeAnswer, this),
      "listening for the answers to probes"));
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_Subscribe(&heartbeat_sub_, nats_->get(), names_.HeartbeatsOfAll().c_str(),
                               &LatticeMember::OnHeartbeat, this),
      "listening to the lattice's heartbeats"));
  // The subscriptions reach the server before the first heartbeat goes out.
  return FromNats(natsConnection_FlushTimeout(nats_->get(), options_.connect_timeout.count()),
                  "subscribing");
}

void LatticeMember::OnPing(natsConnection* nc, natsSubscription*, natsMsg* msg, void* self) {
  auto* member = static_cast<LatticeMember*>(self);
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) {
    const std::string answer = json{{"host", member->host_id()},
                                    {"incarnation", member->incarnation_}}
                                   .dump();
    natsConnection_Publish(nc, reply, answer.data(), static_cast<int>(answer.size()));
  }
  natsMsg_Destroy(msg);
}

void LatticeMember::OnHeartbeat(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
  const int length = natsMsg_GetDataLength(msg);
  static_cast<LatticeMember*>(self)->Record(
      std::string_view(natsMsg_GetData(msg), length > 0 ? static_cast<size_t>(length) : 0));
  natsMsg_Destroy(msg);
}

void LatticeMember::OnActorsAsked(natsConnection* nc, natsSubscription*, natsMsg* msg,
                                  void* self) {
  auto* member = static_cast<LatticeMember*>(self);
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) {
    std::function<std::string()> list;
    {
      MutexLock lock(member->mu_);
      list = member->actor_list_;
    }
    std::string answer = list ? list() : "[]";
    if (answer.size() > kMaxActorListBytes) answer = "{\"too_many\":true}";
    natsConnection_Publish(nc, reply, answer.data(), static_cast<int>(answer.size()));
  }
  natsMsg_Destroy(msg);
}

void LatticeMember::SetActorListResponder(std::function<std::string()> list) {
  MutexLock lock(mu_);
  actor_list_ = std::move(list);
}

void LatticeMember::AskEveryHostForActors(
    std::chrono::milliseconds timeout,
    std::function<void(std::vector<LatticeActorList>)> done) const {
  std::vector<std::string> hosts;
  {
    MutexLock lock(mu_);
    for (const auto& [name, heard] : heard_) hosts.push_back(name);
  }
  std::vector<LatticeActorList> answers(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    answers[i].host_id = hosts[i];
    answers[i].actors = DeadlineExceeded("host " + hosts[i] + " did not answer within " +
                                         std::to_string(timeout.count()) + " ms");
  }
  if (hosts.empty()) {
    done(std::move(answers));
    return;
  }
  // One inbox for every answer, each host's under its own last token; the wait is on a thread
  // of its own, so that no caller's thread (the management server's network thread) waits.
  natsConnection* nc = nats_->get();
  const std::string inbox = "_INBOX.theater." + options_.lattice + "." + options_.host_id +
                            ".actors." + NewUuid().substr(0, 8);
  natsSubscription* sub = nullptr;
  const std::string all = inbox + ".*";
  if (natsConnection_SubscribeSync(&sub, nc, all.c_str()) != NATS_OK) {
    done(std::move(answers));
    return;
  }
  for (const std::string& host : hosts) {
    const std::string reply = inbox + "." + host;
    natsConnection_PublishRequest(nc, names_.ActorsOf(host).c_str(), reply.c_str(), "list", 4);
  }
  std::thread([nc, sub, hosts, timeout, answers = std::move(answers),
               done = std::move(done)]() mutable {
    const auto deadline = Clock::now() + timeout;
    size_t answered = 0;
    size_t gone = 0;  // "no responders" answers: their hosts are the ones left unanswered
    while (answered + gone < hosts.size()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      natsMsg* msg = nullptr;
      const natsStatus next = natsSubscription_NextMsg(&msg, sub, left.count());
      if (next == NATS_NO_RESPONDERS) {
        // A host that nothing serves any more: libnats gives this status and destroys the
        // message that named the host, so which one it was is told below, by elimination.
        ++gone;
        continue;
      }
      if (next != NATS_OK) break;
      const std::string_view subject = natsMsg_GetSubject(msg);
      const std::string host(subject.substr(subject.rfind('.') + 1));
      const int length = natsMsg_GetDataLength(msg);
      for (size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i] != host) continue;
        answers[i].actors =
            std::string(natsMsg_GetData(msg), length > 0 ? static_cast<size_t>(length) : 0);
        ++answered;
      }
      natsMsg_Destroy(msg);
    }
    if (gone > 0 && answered + gone == hosts.size()) {
      // Every host that did not answer was answered for as gone.
      for (LatticeActorList& answer : answers) {
        if (answer.actors.ok()) continue;
        answer.actors = Unavailable("host " + answer.host_id + " lost: nothing answers for it");
      }
    }
    DestroySubscriptionSafely(nc, &sub);
    done(std::move(answers));
  }).detach();
}

void LatticeMember::OnProbeAnswer(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
  auto* member = static_cast<LatticeMember*>(self);
  // The probed host is the subject's last token.
  const std::string_view subject = natsMsg_GetSubject(msg);
  const std::string host(subject.substr(subject.rfind('.') + 1));
  const bool gone = natsMsg_IsNoResponders(msg);
  natsMsg_Destroy(msg);
  {
    MutexLock lock(member->mu_);
    auto it = member->heard_.find(host);
    if (it == member->heard_.end()) return;  // declared already, or left
    HeardHost& heard = it->second;
    const Clock::time_point now = Clock::now();
    if (!gone) {
      heard.unanswered_since = Clock::time_point{};
      heard.confirm_at = Clock::time_point{};
      return;
    }
    // "No responders" is the truth about a process only when it lasts. A host whose connection
    // dropped for a moment (its NATS server restarted, or it moved to another server of a
    // cluster) has no subscription until it reconnects, 250 ms apart plus jitter; and until
    // this host has heard it since its own connection was last made, the server it reconnected
    // to may simply not have it back yet (a host that never comes back is declared lost by its
    // silence, lost_after).
    if (!member->HeardSinceConnected(heard)) return;
    if (heard.unanswered_since == Clock::time_point{}) {
      heard.unanswered_since = now;
      heard.confirm_at = now + kNoRespondersConfirmAfter;
      member->wake_.notify_all();  // the heartbeat thread sends that probe
      return;
    }
    if (!SilenceConfirmed(heard, now)) return;
  }
  member->DeclareLost(host, "lost: its process is gone (nothing answers on its ping subject)");
}

void LatticeMember::Probe() {
  std::vector<std::string> probe;
  std::vector<std::pair<std::string, std::chrono::milliseconds>> silent;
  {
    const Clock::time_point now = Clock::now();
    MutexLock lock(mu_);
    for (const auto& [name, heard] : heard_) {
      const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - heard.at);
      if (age > options_.lost_after) {
        silent.emplace_back(name, age);
      } else {
        probe.push_back(name);
      }
    }
  }
  for (const auto& [host, age] : silent) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.1f", age.count() / 1000.0);
    DeclareLost(host, std::string("lost: no heartbeat for ") + seconds +
                          " s (frozen, or cut off from NATS)");
  }
  for (const std::string& host : probe) SendProbe(host);
}

void LatticeMember::ProbeUnconfirmed(Clock::time_point now) {
  std::vector<std::string> due;
  {
    MutexLock lock(mu_);
    for (auto& [name, heard] : heard_) {
      if (heard.confirm_at == Clock::time_point{} || heard.confirm_at > now) continue;
      heard.confirm_at = Clock::time_point{};
      due.push_back(name);
    }
  }
  for (const std::string& host : due) SendProbe(host);
}

void LatticeMember::SendProbe(const std::string& host) {
  const std::string subject = names_.Ping(host);
  const std::string reply = probe_inbox_ + "." + host;
  natsConnection_PublishRequest(nats_->get(), subject.c_str(), reply.c_str(), "probe", 5);
}

void LatticeMember::DeclareLost(const std::string& host, const std::string& why) {
  std::function<void(const std::string&, const std::string&)> gone;
  {
    MutexLock lock(mu_);
    if (heard_.erase(host) == 0) return;  // declared already, or left
    gone = host_gone_;
  }
  spdlog::warn("lattice: host '{}' {}", host, why);
  if (gone) gone(host, why);
}

void LatticeMember::Record(std::string_view heartbeat) {
  if (heartbeat.size() > kMaxHeartbeatBytes ||
      !CheckJsonNesting(heartbeat, kMaxHeartbeatDepth, "a heartbeat").ok()) {
    return;
  }
  const json beat = json::parse(heartbeat, nullptr, false);
  if (!beat.is_object() || !beat.contains("host") || !beat["host"].is_string()) return;
  const std::string host = beat["host"];
  if (host == options_.host_id) {
    // This host's own heartbeat, back through NATS: the lease holds until lease from now.
    if (beat.value("incarnation", "") == incarnation_) {
      MutexLock lock(mu_);
      confirmed_at_ = Clock::now();
    }
    return;
  }
  if (!CheckLatticeName(host, "host").ok()) return;
  MutexLock lock(mu_);
  if (beat.value("leaving", false)) {
    heard_.erase(host);
    std::function<void(const std::string&, const std::string&)> gone = host_gone_;
    lock.Unlock();
    if (gone) gone(host, "left the lattice");
    return;
  }
  HeardHost& heard = heard_[host];
  heard.at = Clock::now();
  heard.unanswered_since = Clock::time_point{};  // it beats: it is connected again
  heard.confirm_at = Clock::time_point{};
  heard.host.host_id = host;
  heard.host.incarnation = beat.value("incarnation", "");
  heard.host.management_address = beat.value("management", "");
  const json& actors = beat.contains("actors") ? beat["actors"] : json();
  heard.host.actors = actors.is_number_unsigned() ? actors.get<uint64_t>() : 0;
  const json& load = beat.contains("load") ? beat["load"] : json();
  heard.host.load = load.is_number() ? load.get<double>() : 0;
}

void LatticeMember::PublishHeartbeat(bool leaving) {
  json beat = {{"host", options_.host_id}, {"incarnation", incarnation_}};
  if (leaving) {
    beat["leaving"] = true;
  } else {
    const Facts facts = facts_ ? facts_() : Facts{};
    beat["actors"] = facts.actors;
    beat["management"] = facts.management_address;
    beat["load"] = LoadAverage();
    beat["interval_ms"] = options_.heartbeat_interval.count();
  }
  const std::string text = beat.dump();
  const std::string subject = names_.Heartbeat(options_.host_id);
  natsConnection_Publish(nats_->get(), subject.c_str(), text.data(),
                         static_cast<int>(text.size()));
}

void LatticeMember::HeartbeatLoop() {
  // One thread beats and probes, each on its own period.
  Clock::time_point next_beat = Clock::now() + options_.heartbeat_interval;
  Clock::time_point next_probe = Clock::now() + options_.probe_interval;
  MutexLock lock(mu_);
  while (!leaving_) {
    Clock::time_point next = std::min(next_beat, next_probe);
    for (const auto& [name, heard] : heard_) {
      if (heard.confirm_at != Clock::time_point{}) next = std::min(next, heard.confirm_at);
    }
    const auto wait = next - Clock::now();
    if (wait > Clock::duration::zero()) {
      lock.WaitFor(wake_, std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                              std::chrono::milliseconds(1));
      continue;  // woken early (Leave), or time: the loop checks which
    }
    lock.Unlock();
    const Clock::time_point now = Clock::now();
    if (now >= next_beat) {
      PublishHeartbeat(false);
      next_beat = now + options_.heartbeat_interval;
    }
    if (now >= next_probe) {
      Probe();
      next_probe = now + options_.probe_interval;
    }
    ProbeUnconfirmed(now);
    CheckLease();
    lock.Lock();
  }
}

void LatticeMember::CheckLease() {
  if (options_.lease.count() == 0) return;
  MutexLock lease_lock(lease_mu_);
  bool held = false;
  std::chrono::milliseconds silent{0};
  {
    MutexLock lock(mu_);
    silent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - confirmed_at_);
    held = silent < options_.lease;
    if (held == lease_held_) return;
    lease_held_ = held;
  }
  const std::string why =
      held ? "" : "host " + options_.host_id + " has not heard its own heartbeat through NATS for " +
                      std::to_string(silent.count()) + " ms (its lease is " +
                      std::to_string(options_.lease.count()) + " ms)";
  if (held) {
    spdlog::warn("lattice: host '{}' hears NATS again and holds its lease", options_.host_id);
  } else {
    spdlog::warn("lattice: {}: its actors pause", why);
  }
  if (lease_listener_) lease_listener_(held, why);
}

void LatticeMember::SetLeaseListener(std::function<void(bool held, const std::string& why)> f) {
  MutexLock lock(lease_mu_);
  lease_listener_ = std::move(f);
}

bool LatticeMember::HoldsLease() const {
  MutexLock lock(mu_);
  return lease_held_;
}

std::vector<LatticeHost> LatticeMember::Hosts() const {
  std::vector<LatticeHost> hosts;
  LatticeHost self;
  self.host_id = options_.host_id;
  self.incarnation = incarnation_;
  if (facts_) {
    const Facts facts = facts_();
    self.actors = facts.actors;
    self.management_address = facts.management_address;
  }
  self.load = LoadAverage();
  self.self = true;
  hosts.push_back(std::move(self));
  const Clock::time_point now = Clock::now();
  MutexLock lock(mu_);
  for (const auto& [name, heard] : heard_) {
    LatticeHost host = heard.host;
    host.heartbeat_age = std::chrono::duration_cast<std::chrono::milliseconds>(now - heard.at);
    hosts.push_back(std::move(host));
  }
  return hosts;
}

bool LatticeMember::IsLive(const std::string& host, std::chrono::milliseconds within) const {
  if (host == options_.host_id) return true;
  MutexLock lock(mu_);
  auto it = heard_.find(host);
  return it != heard_.end() && Clock::now() - it->second.at <= within;
}

bool LatticeMember::ProcessIsGone(const std::string& host, std::chrono::milliseconds wait) const {
  if (host == options_.host_id) return false;
  natsMsg* reply = nullptr;
  const std::string ping = names_.Ping(host);
  const natsStatus pinged = natsConnection_RequestString(&reply, nats_->get(), ping.c_str(),
                                                         "alive?", wait.count());
  if (reply != nullptr) natsMsg_Destroy(reply);
  if (pinged != NATS_NO_RESPONDERS) return false;
  // As a probe's answer (OnProbeAnswer): "no responders" is the truth only when it lasts.
  MutexLock lock(mu_);
  auto it = heard_.find(host);
  if (it == heard_.end()) return true;  // declared lost already, or never heard: nothing answers
  return HeardSinceConnected(it->second) && SilenceConfirmed(it->second, Clock::now());
}

bool LatticeMember::HeardSinceConnected(const HeardHost& heard) const {
  return heard.at >= nats_->connected_at();
}

bool LatticeMember::SilenceConfirmed(const HeardHost& heard, Clock::time_point now) {
  return heard.unanswered_since != Clock::time_point{} &&
         now - heard.unanswered_since >= kNoRespondersConfirmAfter;
}

void LatticeMember::SetHostGoneListener(
    std::function<void(const std::string& host, const std::string& why)> f) {
  MutexLock lock(mu_);
  host_gone_ = std::move(f);
}

void LatticeMember::Leave() {
  if (left_) return;
  left_ = true;
  {
    MutexLock lock(mu_);
    leaving_ = true;
  }
  wake_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  // The others hear it leave before its ping subject goes quiet, so that none takes the silence
  // for a death.
  PublishHeartbeat(true);
  natsConnection_FlushTimeout(nats_->get(), 1000);
  StopSubscriptions();
  const std::string key = LatticeNames::HostKey(options_.host_id);
  if (Status freed = FromNats(kvStore_Delete(hosts_bucket_, key.c_str()), "freeing the host id");
      !freed.ok()) {
    spdlog::warn("lattice: host '{}' leaving: {}", options_.host_id, freed.ToString());
  }
  natsConnection_FlushTimeout(nats_->get(), 1000);
  spdlog::info("lattice: host '{}' left lattice '{}'", options_.host_id, options_.lattice);
}

void LatticeMember::StopSubscriptions() {
  if (nats_ == nullptr) return;  // never connected: nothing was subscribed
  for (natsSubscription** sub : {&ping_sub_, &heartbeat_sub_, &probe_sub_, &actors_sub_}) {
    StopSubscription(nats_->get(), sub);
  }
}

LatticeMember::~LatticeMember() {
  Leave();
  // Also after a join that failed half-way (Leave does nothing then): no callback of a
  // subscription may run on this object once it is gone.
  StopSubscriptions();
  if (hosts_bucket_ != nullptr) kvStore_Destroy(hosts_bucket_);
  nats_.reset();
}

}  // namespace theater::cluster
