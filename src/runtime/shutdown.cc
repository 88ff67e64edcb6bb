// Theater: a WebAssembly actor runtime.
//
// Shutdown (TheaterRuntime::Shutdown, docs/runtime.md "Shutdown"): every actor is stopped,
// newest top-level first, each after its children, and the operations running meanwhile may
// finish within RuntimeOptions::shutdown_grace. When it runs out, or EndShutdownGrace cuts it
// short, what still runs is terminated (the engine interrupts the guest as a call deadline
// would), the chain of each actor so cut off saying why; the actors stay recoverable.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "runtime/actor.h"
#include "runtime/runtime_impl.h"

namespace theater::runtime {

Status RuntimeImpl::Shutdown() {
  if (shut_down_.exchange(true)) return Status();
  {
    MutexLock lock(grace_mu_);
    grace_end_ = std::chrono::steady_clock::now() + options_.shutdown_grace;
  }
  StopHibernationSweeps();
  // Spawns waiting for a fetch are cancelled now, rather than at their timeout: each runs once
  // more on the loader pool, sees the shutdown and fails.
  fetcher_->Close();
  StopAllActors();
  if (store_) return store_->Flush();
  return Status();
}

void RuntimeImpl::EndShutdownGrace() {
  MutexLock lock(grace_mu_);
  grace_cut_short_ = true;
  grace_cv_.notify_all();
}

std::string RuntimeImpl::TerminationNote() {
  const int64_t ms = options_.shutdown_grace.count();
  const std::string grace =
      ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  bool cut_short = false;
  {
    MutexLock lock(grace_mu_);
    cut_short = grace_cut_short_;
  }
  if (cut_short) {
    return "terminated: the host stopped and was told to stop at once (cutting its " + grace +
           " shutdown grace short) while the call ran";
  }
  return "terminated: the host stopped and the call outlived the " + grace + " shutdown grace";
}

void RuntimeImpl::TerminateOverdue() {
  const bool first = !grace_over_.exchange(true);
  const std::string note = TerminationNote();
  bool cut_short = false;
  {
    MutexLock lock(grace_mu_);
    cut_short = grace_cut_short_;
  }
  std::vector<std::shared_ptr<Actor>> live;
  {
    ReaderLock lock(mu_);
    live.reserve(actors_.size());
    for (const auto& [id, actor] : actors_) live.push_back(actor);
  }
  size_t terminated = 0;
  for (const std::shared_ptr<Actor>& actor : live) {
    if (actor->TerminateRunningOperation(note)) ++terminated;
  }
  if (first) {
    spdlog::warn("shutdown: {}; terminating {} operation{} still running",
                 cut_short ? "told to stop at once" : "the shutdown grace is over", terminated,
                 terminated == 1 ? "" : "s");
  } else if (terminated > 0) {
    spdlog::warn("shutdown: terminating {} more operation{}", terminated,
                 terminated == 1 ? "" : "s");
  }
}

void RuntimeImpl::StopAllActors() {
  std::vector<ActorSummary> actors = List();
  // Newest top-level actors first; each stops its own children before itself.
  std::reverse(actors.begin(), actors.end());
  for (const ActorSummary& a : actors) {
    if (a.parent_id && Find(*a.parent_id)) continue;
    // Set under grace_mu_ by the stop's end (on a runtime thread, or here when it is immediate).
    auto stopped = std::make_shared<bool>(false);
    StopActor(a.id, StopKind::kGraceful, std::nullopt, [this, stopped](bool) {
      MutexLock lock(grace_mu_);
      *stopped = true;
      grace_cv_.notify_all();
    });
    {
      MutexLock lock(grace_mu_);
      lock.WaitUntil(grace_cv_, grace_end_,
                     [&]() THEATER_REQUIRES(grace_mu_) { return *stopped || grace_cut_short_; });
      if (*stopped) continue;
    }
    // The grace is over and this actor (or a child it waits for) still runs something.
    TerminateOverdue();
    MutexLock lock(grace_mu_);
    lock.Wait(grace_cv_, [&] { return *stopped; });
  }
}

}  // namespace theater::runtime
