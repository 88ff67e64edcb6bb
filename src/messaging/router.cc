// Theater: a WebAssembly actor runtime.
#include "theater/router.h"

#include <algorithm>

#include "common/recent_ids.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "theater/holding_endpoint.h"

namespace theater::messaging {

namespace {

// The target's words on refusing a channel, when they are printable text.
std::string RefusalText(const std::optional<std::vector<uint8_t>>& message) {
  if (!message || message->empty()) return "";
  bool printable = std::all_of(message->begin(), message->end(),
                               [](uint8_t c) { return c >= 0x20 || c == '\n' || c == '\t'; });
  if (!printable) return " (" + std::to_string(message->size()) + " bytes of reply)";
  std::string text(message->begin(), message->end());
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return ": " + text;
}

}  // namespace

std::string NewChannelId() {
  std::string uuid = NewUuid();
  std::string id = "ch_";
  id.reserve(35);
  for (char c : uuid) {
    if (c != '-') id.push_back(c);
  }
  return id;
}

Router::Router(size_t remembered_stops, size_t max_channels_per_participant)
    : remembered_stops_per_shard_(std::max<size_t>(1, remembered_stops / kShards)),
      max_channels_per_participant_(max_channels_per_participant) {
  for (Shard& shard : shards_) {
    shard.stopped = std::make_unique<RecentIds>(remembered_stops_per_shard_);
  }
}

Router::~Router() = default;

Router::Shard& Router::ShardFor(std::string_view id) const {
  // The low bits of std::hash are fine for a power-of-two shard count with libstdc++'s
  // murmur-based string hash.
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

Status Router::Register(std::string_view id, std::shared_ptr<Endpoint> endpoint) {
  std::shared_ptr<HoldingEndpoint> hold;
  {
    Shard& shard = ShardFor(id);
    std::lock_guard<std::mutex> lock(shard.mu);
    std::string key(id);
    auto it = shard.endpoints.find(key);
    if (it != shard.endpoints.end()) {
      hold = std::dynamic_pointer_cast<HoldingEndpoint>(it->second);
      if (!hold) return AlreadyExists("participant " + key + " is registered");
    } else {
      // A restarted actor keeps its id: it is no longer stopped.
      shard.stopped->Forget(key);
      shard.endpoints.emplace(std::move(key), std::move(endpoint));
      return Status();
    }
  }
  // Outside the shard lock: the hold delivers what it held to the participant, then replaces
  // itself (ReplaceIf).
  hold->Arrive(std::move(endpoint));
  return Status();
}

std::shared_ptr<Endpoint> Router::Install(std::string_view id, std::shared_ptr<Endpoint> endpoint,
                                          const std::string& why) {
  std::shared_ptr<Endpoint> previous;
  {
    Shard& shard = ShardFor(id);
    std::lock_guard<std::mutex> lock(shard.mu);
    std::shared_ptr<Endpoint>& entry = shard.endpoints[std::string(id)];
    previous = std::move(entry);
    entry = std::move(endpoint);
    shard.stopped->Forget(id);
  }
  if (!why.empty()) EndChannelsOf({std::string(id)}, why);
  return previous;
}

bool Router::ReplaceIf(std::string_view id, const Endpoint* expected,
                       std::shared_ptr<Endpoint> endpoint) {
  Shard& shard = ShardFor(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.endpoints.find(id);
  if (it == shard.endpoints.end() || it->second.get() != expected) return false;
  it->second = std::move(endpoint);
  return true;
}

void Router::Unregister(std::string_view id, const Endpoint* endpoint) {
  {
    Shard& shard = ShardFor(id);
    std::unique_lock<std::mutex> lock(shard.mu);
    auto it = shard.endpoints.find(std::string(id));
    if (it != shard.endpoints.end() && it->second.get() != endpoint) {
      // A participant that arrived at a hold and leaves before the hold handed over to it: the
      // hold must not hand over to it later.
      if (auto hold = std::dynamic_pointer_cast<HoldingEndpoint>(it->second)) {
        lock.unlock();
        hold->Depart(endpoint);
      }
      return;
    }
    if (it == shard.endpoints.end()) return;
    shard.endpoints.erase(it);
    shard.stopped->Add(id);
  }
  EndChannelsOf({std::string(id)}, "participant " + std::string(id) + " stopped");
}

void Router::EndChannelsOf(const std::vector<std::string>& gone, const std::string& why) {
  // Notifications go out after the channel lock is released.
  struct Ended {
    std::string channel;
    std::string gone;
    std::string other;
    bool was_open;
    std::function<void(Result<OpenedChannel>)> done;
  };
  std::vector<Ended> ended;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (const std::string& id : gone) {
      auto mine = channels_of_.find(id);
      if (mine == channels_of_.end()) continue;
      for (const std::string& channel_id : mine->second) {
        auto ch = channels_.find(channel_id);
        if (ch == channels_.end()) continue;
        std::string other = ch->second.initiator == id ? ch->second.target : ch->second.initiator;
        auto theirs = channels_of_.find(other);
        if (theirs != channels_of_.end()) {
          theirs->second.erase(channel_id);
          if (theirs->second.empty()) channels_of_.erase(theirs);
        }
        ended.push_back({channel_id, id, other, ch->second.open, std::move(ch->second.done)});
        channels_.erase(ch);
      }
      channels_of_.erase(mine);
    }
  }
  for (Ended& e : ended) {
    if (e.was_open) {
      Envelope close;
      close.kind = Envelope::Kind::kChannelClose;
      close.channel = e.channel;
      close.sender = e.gone;
      (void)Deliver(e.other, std::move(close), e.gone);  // a peer that is gone needs no notice
    } else if (e.done) {
      e.done(Unavailable(why + " while channel " + e.channel + " was opening"));
    }
  }
}

void Router::DropParticipants(const std::function<bool(std::string_view id)>& gone,
                              const std::string& why) {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (const auto& [id, channels] : channels_of_) {
      if (gone(id)) ids.push_back(id);
    }
  }
  if (!ids.empty()) EndChannelsOf(ids, why);
}

void Router::SetMissExplainer(std::function<Status(std::string_view id)> explain) {
  explain_miss_ = std::move(explain);
}

Status Router::ChannelCapReached(std::string_view role, std::string_view who,
                                 size_t channels) const {
  return ResourceExhausted(std::string(role) + std::string(who) + " is in " +
                           std::to_string(channels) +
                           " channels already, the limit of open channels per actor (" +
                           std::to_string(max_channels_per_participant_) +
                           ", limits::kMaxChannelsPerActor)");
}

std::shared_ptr<Endpoint> Router::FindLocal(std::string_view target, bool* stopped_here) const {
  Shard& shard = ShardFor(target);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.endpoints.find(target);
  if (it != shard.endpoints.end()) return it->second;
  *stopped_here = shard.stopped->Contains(target);
  return nullptr;
}

Result<std::shared_ptr<Endpoint>> Router::Resolve(std::string_view target) const {
  bool stopped_here = false;
  if (std::shared_ptr<Endpoint> local = FindLocal(target, &stopped_here)) return local;
  // Not here: another host of the lattice may hold it (an actor that stopped here may have
  // moved there). Asked without a shard lock: the answer may take a round trip.
  if (RemoteRoutes* remote = remote_.load(std::memory_order_acquire)) {
    Result<std::shared_ptr<Endpoint>> found = remote->Find(target);
    if (found.ok() || found.status().code() != StatusCode::kNotFound) return found;
  }
  if (stopped_here) return Unavailable("actor " + std::string(target) + " has stopped");
  if (explain_miss_) {
    Status why = explain_miss_(target);
    if (!why.ok()) return why;
  }
  return NotFound("actor " + std::string(target) + " not found");
}

Status Router::Deliver(std::string_view target, Envelope envelope, std::string_view sender) {
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<Endpoint> endpoint, Resolve(target));
  if (envelope.sender.empty() && !sender.empty() && endpoint->wants_sender()) {
    envelope.sender = std::string(sender);
  }
  return endpoint->Deliver(std::move(envelope));
}

Status Router::Redeliver(std::string_view id, Envelope envelope, const Endpoint* from) {
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<Endpoint> endpoint, Resolve(id));
  if (endpoint.get() == from) {
    return FailedPrecondition("participant " + std::string(id) + " is shutting down");
  }
  return endpoint->Deliver(std::move(envelope));
}

RoomWait Router::WaitForRoom(std::string_view target, std::function<void()> room) {
  bool stopped_here = false;
  RoomWait wait;
  wait.endpoint = FindLocal(target, &stopped_here);
  if (wait.endpoint) wait.ticket = wait.endpoint->WaitForRoom(std::move(room));
  return wait;
}

RoomWait Router::WaitForRoomOnChannel(std::string_view sender, std::string_view channel,
                                      std::function<void()> room) {
  Result<std::string> other = OtherParticipant(sender, channel, false);
  if (!other.ok()) return RoomWait{};
  return WaitForRoom(*other, std::move(room));
}

Status Router::Send(std::string_view target, std::vector<uint8_t> payload,
                    std::string_view sender) {
  Envelope envelope;
  envelope.kind = Envelope::Kind::kSend;
  envelope.payload = std::move(payload);
  return Deliver(target, std::move(envelope), sender);
}

Status Router::CheckReachable(std::string_view target) const {
  return Resolve(target).status();
}

Status Router::Request(std::string_view target, std::vector<uint8_t> payload, ReplyFn reply,
                       std::string_view sender) {
  Envelope envelope;
  envelope.kind = Envelope::Kind::kRequest;
  envelope.payload = std::move(payload);
  envelope.reply = std::move(reply);
  return Deliver(target, std::move(envelope), sender);
}

void Router::OpenChannel(std::string_view initiator, std::string_view target,
                         std::vector<uint8_t> initial_message,
                         std::function<void(Result<OpenedChannel>)> done) {
  Result<std::shared_ptr<Endpoint>> endpoint = Resolve(target);
  if (!endpoint.ok()) {
    done(endpoint.status());
    return;
  }
  std::string channel = NewChannelId();
  Status refused;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    // The cap holds at both ends: an opener cannot hold channels without end, and neither can
    // everyone else together hold them on one target.
    for (std::string_view who : {initiator, target}) {
      auto of = channels_of_.find(std::string(who));
      if (of != channels_of_.end() && of->second.size() >= max_channels_per_participant_) {
        refused = ChannelCapReached(who == initiator ? "the opener " : "the target ", who,
                                    of->second.size());
        break;
      }
    }
    if (refused.ok()) {
      Channel& ch = channels_[channel];
      ch.initiator = std::string(initiator);
      ch.target = std::string(target);
      ch.done = std::move(done);
      channels_of_[ch.initiator].insert(channel);
      channels_of_[ch.target].insert(channel);
    }
  }
  if (!refused.ok()) {
    done(refused);  // outside the lock: `done` may call back into the router
    return;
  }
  Envelope envelope;
  envelope.kind = Envelope::Kind::kChannelOpen;
  envelope.channel = channel;
  envelope.sender = std::string(initiator);
  envelope.payload = std::move(initial_message);
  envelope.reply = [this, channel, target = std::string(target)](Result<Reply> decision) {
    FinishOpening(channel, target, std::move(decision));
  };
  Status queued = (*endpoint)->Deliver(std::move(envelope));
  if (!queued.ok()) FinishOpening(channel, std::string(target), queued);
}

void Router::OpenChannelFromRemote(std::string channel, std::string initiator, std::string target,
                                   std::vector<uint8_t> initial_message, ReplyFn decided) {
  // The target must be here: an opening is never passed on to a third host.
  bool stopped_here = false;
  std::shared_ptr<Endpoint> endpoint = FindLocal(target, &stopped_here);
  if (!endpoint) {
    decided(stopped_here ? Unavailable("actor " + target + " has stopped")
                         : NotFound("actor " + target + " not found"));
    return;
  }
  Status refused;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    auto of = channels_of_.find(target);
    if (channels_.count(channel)) {
      refused = AlreadyExists("channel " + QuoteInput(channel) + " exists");
    } else if (of != channels_of_.end() && of->second.size() >= max_channels_per_participant_) {
      refused = ChannelCapReached("the target ", target, of->second.size());
    } else {
      Channel& ch = channels_[channel];
      ch.initiator = initiator;
      ch.target = target;
      channels_of_[ch.initiator].insert(channel);
      channels_of_[ch.target].insert(channel);
    }
  }
  if (!refused.ok()) {
    decided(refused);
    return;
  }
  Envelope envelope;
  envelope.kind = Envelope::Kind::kChannelOpen;
  envelope.channel = channel;
  envelope.sender = std::move(initiator);
  envelope.payload = std::move(initial_message);
  auto decided_once = std::make_shared<ReplyFn>(std::move(decided));
  envelope.reply = [this, channel, target, decided_once](Result<Reply> decision) {
    Result<Reply> told = decision;  // FinishOpening takes its own copy
    FinishOpening(channel, target, std::move(decision));
    (*decided_once)(std::move(told));
  };
  Status queued = endpoint->Deliver(std::move(envelope));
  if (!queued.ok()) {
    FinishOpening(channel, target, queued);
    (*decided_once)(queued);
  }
}

void Router::FinishOpening(const std::string& channel, const std::string& target,
                           Result<Reply> decision) {
  std::function<void(Result<OpenedChannel>)> done;
  bool accepted = decision.ok() && decision->accepted;
  bool initiator_gone = false;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) {
      // The initiator stopped while the target decided (its `done` already failed).
      initiator_gone = true;
    } else {
      done = std::move(it->second.done);
      if (accepted) {
        it->second.open = true;
      } else {
        for (const std::string* who : {&it->second.initiator, &it->second.target}) {
          auto of = channels_of_.find(*who);
          if (of != channels_of_.end()) {
            of->second.erase(channel);
            if (of->second.empty()) channels_of_.erase(of);
          }
        }
        channels_.erase(it);
      }
    }
  }
  if (initiator_gone) {
    // A target that accepted learns that the channel is already over.
    if (accepted) {
      Envelope close;
      close.kind = Envelope::Kind::kChannelClose;
      close.channel = channel;
      (void)Deliver(target, std::move(close));
    }
    return;
  }
  if (!done) return;  // opened from another host: its host tells the initiator
  if (!decision.ok()) {
    done(decision.status().WithContext("opening a channel to " + target));
  } else if (!decision->accepted) {
    done(FailedPrecondition("channel rejected by " + target + RefusalText(decision->message)));
  } else {
    done(OpenedChannel{channel, std::move(decision->message)});
  }
}

Result<std::string> Router::OtherParticipant(std::string_view sender, std::string_view channel,
                                             bool remove) {
  std::lock_guard<std::mutex> lock(channels_mu_);
  auto it = channels_.find(std::string(channel));
  if (it == channels_.end() || !it->second.open) {
    // The channel id is the sender's words (a guest's, possibly megabytes): quoted, not echoed.
    return NotFound("channel " + QuoteInput(channel) + " is not open");
  }
  const Channel& ch = it->second;
  if (ch.initiator != sender && ch.target != sender) {
    return PermissionDenied(std::string(sender) + " is not a participant of channel " +
                            std::string(channel));
  }
  std::string other = ch.initiator == sender ? ch.target : ch.initiator;
  if (remove) {
    for (const std::string* who : {&ch.initiator, &ch.target}) {
      auto of = channels_of_.find(*who);
      if (of != channels_of_.end()) {
        of->second.erase(std::string(channel));
        if (of->second.empty()) channels_of_.erase(of);
      }
    }
    channels_.erase(it);
  }
  return other;
}

Status Router::SendOnChannel(std::string_view sender, std::string_view channel,
                             std::vector<uint8_t> payload) {
  THEATER_ASSIGN_OR_RETURN(std::string other, OtherParticipant(sender, channel, false));
  Envelope envelope;
  envelope.kind = Envelope::Kind::kChannelMessage;
  envelope.channel = std::string(channel);
  envelope.sender = std::string(sender);
  envelope.payload = std::move(payload);
  return Deliver(other, std::move(envelope));
}

Status Router::CheckChannel(std::string_view sender, std::string_view channel) {
  return OtherParticipant(sender, channel, false).status();
}

Status Router::CloseChannel(std::string_view sender, std::string_view channel) {
  THEATER_ASSIGN_OR_RETURN(std::string other, OtherParticipant(sender, channel, true));
  Envelope envelope;
  envelope.kind = Envelope::Kind::kChannelClose;
  envelope.channel = std::string(channel);
  envelope.sender = std::string(sender);
  // The channel is closed whether or not the other side can still be told (it may be gone).
  (void)Deliver(other, std::move(envelope));
  return Status();
}

size_t Router::open_channels() const {
  std::lock_guard<std::mutex> lock(channels_mu_);
  size_t n = 0;
  for (const auto& [id, ch] : channels_) n += ch.open ? 1 : 0;
  return n;
}

}  // namespace theater::messaging
