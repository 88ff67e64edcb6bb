// Theater: a WebAssembly actor runtime.
//
// HoldingEndpoint: what stands in the router for a participant that is on its way — an actor
// moving to another host of the lattice (docs/distribution.md, "Moving an actor"), on the host it
// leaves and on the host it comes to. While it holds, what is delivered to the id waits here, in
// the order it came, bounded; nothing is refused for the move (except a channel's opening,
// which the opener may try again: channels do not survive a move).
//
// It ends in one of two ways:
//  - Forward(fn): everything held goes to `fn`, in order, and so does every later delivery (the
//    host an actor left keeps it as the relay to its new host, for the senders that still reach
//    it there).
//  - the participant arrives: the router's Register of the id hands the new endpoint to Arrive,
//    and once the gate is open (at once, unless the hold was made with the gate closed and waits
//    for OpenGate) what is held is delivered to it and the router's entry becomes it.
//
// Held envelopes go out by lane, lane 0 first (each lane in its order): the host an actor comes
// to puts what its old host relays in lane 0, so that a sender whose earlier messages went
// through the old host never has a later one overtake them.
//
// Thread-safety: every method may be called from any thread. Deliveries that find it forwarding
// wait while the held ones go out (so that none overtakes them). Ownership: the router holds it
// as the id's endpoint; it borrows the router, which outlives it.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "theater/mutex.h"
#include "theater/router.h"
#include "theater/status.h"

namespace theater::messaging {

class HoldingEndpoint final : public Endpoint,
                              public std::enable_shared_from_this<HoldingEndpoint> {
 public:
  using ForwardFn = std::function<Status(Envelope)>;
  // Which lane a delivery made now goes to (0 or 1); null: all go to lane 0.
  using LaneFn = std::function<int()>;
  // At most this many envelopes wait, all lanes together.
  static constexpr size_t kMaxHeld = 65536;

  // `router` is the one whose entry for `id` this becomes; `gate_open` false: an arrival waits
  // for OpenGate before it is delivered to.
  HoldingEndpoint(Router& router, std::string id, bool gate_open, LaneFn lane = nullptr);

  Status Deliver(Envelope envelope) override;
  bool wants_sender() const override { return true; }

  // Hands every held envelope to `forward` (lane 0 first), and every later delivery. An
  // envelope `forward` refuses is answered with the refusal when it awaits an answer (its sender
  // was told it was accepted), else dropped with a warning. Called again, it changes where later
  // deliveries go.
  void Forward(ForwardFn forward);
  // The participant is registered again (Router::Register calls this): see above.
  void Arrive(std::shared_ptr<Endpoint> endpoint);
  // Lets an arrival take over (at once if it has arrived).
  void OpenGate();
  // `endpoint` unregisters: if it is the arrival not yet handed over to, it is forgotten.
  void Depart(const Endpoint* endpoint);
  // How many envelopes wait now.
  size_t held() const;
  const std::string& id() const { return id_; }

 private:
  // Delivers the held envelopes to `forward` under mu_ (deliveries meanwhile wait for mu_).
  void DrainLocked(const ForwardFn& forward) THEATER_REQUIRES(mu_);
  // When arrived and the gate is open: forwards to the arrival and makes it the router's entry.
  void HandOverIfReady();

  Router& router_;
  const std::string id_;
  const LaneFn lane_;
  mutable Mutex mu_;
  std::deque<Envelope> lanes_[2] THEATER_GUARDED_BY(mu_);
  ForwardFn forward_ THEATER_GUARDED_BY(mu_);
  std::shared_ptr<Endpoint> arrived_ THEATER_GUARDED_BY(mu_);
  bool gate_open_ THEATER_GUARDED_BY(mu_);
  bool handed_over_ THEATER_GUARDED_BY(mu_) = false;
};

}  // namespace theater::messaging
