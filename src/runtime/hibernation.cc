// Theater: a WebAssembly actor runtime.
//
// The hibernation sweep (RuntimeOptions::hibernate_after): once a period the timer thread hands
// a sweep to the loader pool, which asks every actor to hibernate (Actor::TryHibernate: those
// that have finished no operation since the last sweep give their memory's pages back). The
// sweep runs off the executor's workers, so a sweep over many actors delays no guest; each
// actor is claimed as an operation claims it, so a hibernation never overlaps a call.
#include <vector>

#include "runtime/actor.h"
#include "runtime/runtime_impl.h"

namespace theater::runtime {

void RuntimeImpl::ScheduleHibernationSweep() {
  if (options_.hibernate_after.count() <= 0) return;
  MutexLock lock(hibernation_mu_);
  if (shut_down_) return;
  hibernation_timer_ = timers_->Schedule(TimerService::Clock::now() + options_.hibernate_after,
                                         [this] { PostHibernationSweep(); });
}

void RuntimeImpl::PostHibernationSweep() {
  {
    // On the timer thread: only hand the sweep over (timer callbacks must be quick).
    MutexLock lock(hibernation_mu_);
    if (shut_down_) return;
    if (loader_->Post([this] { HibernationSweep(); }).ok()) return;
  }
  ScheduleHibernationSweep();  // a full loader queue: this sweep is skipped, not the next
}

void RuntimeImpl::HibernationSweep() {
  std::vector<std::shared_ptr<Actor>> actors;
  {
    ReaderLock lock(mu_);
    actors.reserve(actors_.size());
    for (const auto& [id, actor] : actors_) actors.push_back(actor);
  }
  for (const std::shared_ptr<Actor>& actor : actors) {
    if (shut_down_) return;
    actor->TryHibernate();
  }
  ScheduleHibernationSweep();
}

void RuntimeImpl::StopHibernationSweeps() {
  MutexLock lock(hibernation_mu_);
  if (hibernation_timer_) timers_->Cancel(hibernation_timer_);
  hibernation_timer_ = 0;
}

}  // namespace theater::runtime
