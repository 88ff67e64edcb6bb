// Theater: a WebAssembly actor runtime.
//
// HostCallReplay: what an ActorHost consults, instead of the handlers, while it replays an actor
// from its chain (ActorHostOptions::replay; src/runtime/replay.cc implements it). Every import
// the guest calls then passes here: typed functions, core-ABI functions and the component
// interfaces served with values alike, so a replay has one place where the recording answers.
//
// Thread-safety: used by the one thread running the replayed actor. Ownership: the replay owns
// it and outlives the host.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "theater/abi/value.h"
#include "theater/chain.h"
#include "theater/handler.h"
#include "theater/status.h"

namespace theater::runtime {

class HostCallReplay {
 public:
  virtual ~HostCallReplay() = default;
  // The recorded outcome of the guest's call `interface_name`.`function`(input), when it is the
  // call the chain recorded next (byte lists recorded by digest are given back whole). Any
  // other call is a divergence: an error that fails the guest's call.
  virtual Result<chain::CallOutcome> Serve(std::string_view interface_name,
                                           std::string_view function,
                                           std::span<const abi::Value> input) = 0;
  // A core-ABI call (HostFunctions::AddCore): its handler's Handler::ReplayCore applies the
  // recorded outcome to `call` and says what the guest's call amounts to, which is returned to be
  // recorded (the recorded outcome with the guest's input).
  virtual Result<chain::HostCall> ServeCore(std::string_view module, std::string_view name,
                                            CoreCall& call) = 0;
  // Whether a component's imports of `interface_name` are served with values (as a handler's
  // HostFunctions::ServeComponentInterfaces would).
  virtual bool ServesWithValues(std::string_view interface_name) = 0;
  // The export call is over and about to be recorded: the events the recording has before it
  // that nobody re-creates (custom events, notices) are copied now.
  virtual void BeforeExportRecorded() = 0;
  // The export call failed with `status`: the error to record instead, when the replay cut the
  // call short itself because the recording shows it failed (an interruption from outside, a
  // deadline: the point a live call was stopped at cannot be replayed, and a failed call keeps
  // the state, so any point after its last host call is the same). nullopt: record `status`.
  virtual std::optional<std::string> RecordedFailure(const Status& status) = 0;
};

}  // namespace theater::runtime
