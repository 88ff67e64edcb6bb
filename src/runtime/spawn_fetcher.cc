// Theater: a WebAssembly actor runtime.
#include "runtime/spawn_fetcher.h"

#include <utility>
#include <vector>

#include "common/utf8.h"

namespace theater::runtime {
namespace {

// Whether `name` has fewer than `cap` fetches in `counts` (an empty name: always).
bool AdmitFetchOf(const std::map<std::string, size_t>& counts, const std::string& name,
                  size_t cap) {
  if (name.empty()) return true;
  auto it = counts.find(name);
  return it == counts.end() || it->second < cap;
}

void ForgetFetchOf(std::map<std::string, size_t>& counts, const std::string& name) {
  if (name.empty()) return;
  auto it = counts.find(name);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}

}  // namespace

SpawnFetcher::SpawnFetcher(boost::asio::io_context& io, Limits limits) : io_(io), limits_(limits) {}

Status SpawnFetcher::Start(const std::string& url, const FetchOptions& options,
                           const Requester& who, FetchDone done) {
  const std::string what = "fetching " + QuoteInput(url) + " for a spawn: ";
  uint64_t serial = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return FailedPrecondition(what + "the runtime is shutting down");
    if (cancels_.size() >= limits_.total) {
      return ResourceExhausted(what + std::to_string(cancels_.size()) +
                               " fetches for spawns are in flight, the most the host runs at "
                               "once (max_spawn_fetches = " +
                               std::to_string(limits_.total) + ")");
    }
    if (!AdmitFetchOf(by_client_, who.client, limits_.per_client)) {
      return ResourceExhausted(what + QuoteInput(who.client) + " has " +
                               std::to_string(by_client_[who.client]) +
                               " fetches for its spawns in flight, the most a client may "
                               "(max_spawn_fetches_per_client = " +
                               std::to_string(limits_.per_client) + ")");
    }
    for (const std::string& actor : who.actors) {
      if (!AdmitFetchOf(by_actor_, actor, limits_.per_actor)) {
        return ResourceExhausted(what + "actor " + actor + " and its descendants have " +
                                 std::to_string(by_actor_[actor]) +
                                 " fetches for their spawns in flight, the most an actor may "
                                 "(max_spawn_fetches_per_actor = " +
                                 std::to_string(limits_.per_actor) + ")");
      }
    }
    if (!who.client.empty()) ++by_client_[who.client];
    for (const std::string& actor : who.actors) ++by_actor_[actor];
    ++in_flight_;
    serial = ++next_serial_;
    cancels_.emplace(serial, CancelFetch());
  }
  CancelFetch cancel =
      StartFetch(io_, url, options,
                 [this, who, serial, done = std::move(done)](Result<std::vector<uint8_t>> body) {
                   // The caps first: the spawn this resumes may fetch its next reference at once.
                   Release(who, serial);
                   done(std::move(body));
                   std::lock_guard<std::mutex> lock(mu_);
                   if (--in_flight_ == 0) idle_.notify_all();
                 });
  bool cancel_now = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cancels_.find(serial);
    if (it != cancels_.end()) {
      it->second = cancel;
      cancel_now = closed_;  // Close ran meanwhile, before this fetch could be cancelled
    }
  }
  if (cancel_now && cancel) cancel();
  return Status();
}

void SpawnFetcher::Release(const Requester& who, uint64_t serial) {
  std::lock_guard<std::mutex> lock(mu_);
  ForgetFetchOf(by_client_, who.client);
  for (const std::string& actor : who.actors) ForgetFetchOf(by_actor_, actor);
  cancels_.erase(serial);
}

void SpawnFetcher::Close() {
  std::vector<CancelFetch> cancels;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (const auto& [serial, cancel] : cancels_) {
      if (cancel) cancels.push_back(cancel);
    }
  }
  for (const CancelFetch& cancel : cancels) cancel();
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

size_t SpawnFetcher::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancels_.size();
}

}  // namespace theater::runtime
