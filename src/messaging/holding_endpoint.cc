// Theater: a WebAssembly actor runtime.
#include "theater/holding_endpoint.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace theater::messaging {

HoldingEndpoint::HoldingEndpoint(Router& router, std::string id, bool gate_open, LaneFn lane)
    : router_(router), id_(std::move(id)), lane_(std::move(lane)), gate_open_(gate_open) {}

Status HoldingEndpoint::Deliver(Envelope envelope) {
  ForwardFn forward;
  {
    MutexLock lock(mu_);
    if (forward_) {
      forward = forward_;
    } else {
      if (envelope.kind == Envelope::Kind::kChannelOpen) {
        return Unavailable("actor " + id_ + " is moving between hosts; open the channel again "
                           "once it has arrived");
      }
      if (lanes_[0].size() + lanes_[1].size() >= kMaxHeld) {
        return ResourceExhausted("actor " + id_ + " is moving between hosts and " +
                                 std::to_string(kMaxHeld) +
                                 " messages wait for it already (the limit while it moves)");
      }
      const int lane = lane_ ? lane_() : 0;
      lanes_[lane == 0 ? 0 : 1].push_back(std::move(envelope));
      return Status::Ok();
    }
  }
  return forward(std::move(envelope));
}

void HoldingEndpoint::DrainLocked(const ForwardFn& forward) {
  for (std::deque<Envelope>& lane : lanes_) {
    while (!lane.empty()) {
      Envelope envelope = std::move(lane.front());
      lane.pop_front();
      // Its sender was told it was accepted: a refusal now reaches whoever waits for an answer.
      ReplyFn reply = envelope.kind == Envelope::Kind::kRequest ? envelope.reply : nullptr;
      Status sent = forward(std::move(envelope));
      if (sent.ok()) continue;
      if (reply) {
        reply(sent);
      } else {
        spdlog::warn("actor {}: a message held while it moved was refused: {}", id_,
                     sent.ToString());
      }
    }
  }
}

void HoldingEndpoint::Forward(ForwardFn forward) {
  MutexLock lock(mu_);
  forward_ = std::move(forward);
  DrainLocked(forward_);
}

void HoldingEndpoint::Arrive(std::shared_ptr<Endpoint> endpoint) {
  {
    MutexLock lock(mu_);
    arrived_ = std::move(endpoint);
    handed_over_ = false;
  }
  HandOverIfReady();
}

void HoldingEndpoint::OpenGate() {
  {
    MutexLock lock(mu_);
    gate_open_ = true;
  }
  HandOverIfReady();
}

void HoldingEndpoint::Depart(const Endpoint* endpoint) {
  MutexLock lock(mu_);
  if (arrived_.get() == endpoint && !handed_over_) arrived_.reset();
}

size_t HoldingEndpoint::held() const {
  MutexLock lock(mu_);
  return lanes_[0].size() + lanes_[1].size();
}

void HoldingEndpoint::HandOverIfReady() {
  std::shared_ptr<Endpoint> arrived;
  {
    MutexLock lock(mu_);
    if (!arrived_ || !gate_open_ || handed_over_) return;
    handed_over_ = true;
    arrived = arrived_;
    // Whatever still finds this endpoint goes to the arrival too, behind what was held.
    forward_ = [arrived](Envelope envelope) { return arrived->Deliver(std::move(envelope)); };
    DrainLocked(forward_);
  }
  // From now on the router delivers to the arrival directly (unless something else replaced
  // this entry meanwhile).
  router_.ReplaceIf(id_, this, std::move(arrived));
}

}  // namespace theater::messaging
