// Theater: a WebAssembly actor runtime.
//
// Wrong tokens limited per source address (auth_throttle.h).
#include "server/auth_throttle.h"

#include <algorithm>

namespace theater::server {

std::string AuthThrottle::SourceOf(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().to_string();
  boost::asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  boost::asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

std::chrono::milliseconds AuthThrottle::DelayAfter(uint64_t failures) const {
  if (failures == 0) return std::chrono::milliseconds(0);
  std::chrono::milliseconds delay = options_.initial_delay;
  for (uint64_t i = 1; i < failures && delay < options_.max_delay; ++i) delay *= 2;
  return std::min(delay, options_.max_delay);
}

AuthThrottle::Failure AuthThrottle::OnFailure(const std::string& source, Clock::time_point now) {
  Expire(now);
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= options_.max_sources && !by_age_.empty()) {
      sources_.erase(by_age_.front());
      by_age_.pop_front();
    }
    it = sources_.emplace(source, Source{}).first;
    it->second.next_answer = now;
    it->second.age = by_age_.insert(by_age_.end(), source);
  } else {
    by_age_.splice(by_age_.end(), by_age_, it->second.age);
  }
  Source& s = it->second;
  ++s.failures;
  s.last_failure = now;
  Failure out;
  out.failures = s.failures;
  out.delay = DelayAfter(s.failures);
  // One after another: the answer comes a delay after the source's previous wrong answer, so
  // a hundred connections guessing at once are answered like one guessing a hundred times.
  s.next_answer = std::max(s.next_answer, now) + out.delay;
  out.answer_at = s.next_answer;
  return out;
}

AuthThrottle::Clock::time_point AuthThrottle::OnSuccess(const std::string& source,
                                                        Clock::time_point now) {
  Expire(now);
  auto it = sources_.find(source);
  if (it == sources_.end()) return now;
  // The current delay, not the queue of wrong answers: a client that knows the token waits at
  // most the cap however many guesses are queued from its address.
  const Clock::time_point answer_at = now + DelayAfter(it->second.failures);
  // The failures are cleared; the queue's end is kept, so the wrong answers still queued do not
  // come all at once with those of new guesses.
  it->second.failures = 0;
  return answer_at;
}

void AuthThrottle::Expire(Clock::time_point now) {
  while (!by_age_.empty()) {
    auto it = sources_.find(by_age_.front());
    if (it != sources_.end() && now - it->second.last_failure < options_.quiet) break;
    if (it != sources_.end()) sources_.erase(it);
    by_age_.pop_front();
  }
}

}  // namespace theater::server
