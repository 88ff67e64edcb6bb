// Theater: a WebAssembly actor runtime.
//
// AuthThrottle: wrong tokens limited per source address, across connections. A connection is
// closed after max_auth_failures wrong tokens, but a guesser can open many connections; so the
// server also remembers, per source, its recent failures, and answers that source's attempts
// ever more slowly: each wrong token's answer waits the source's delay, which doubles with each
// failure (auth_source_delay_initial, 100 ms, up to auth_source_delay_max, 5 s), and the wrong
// answers of one source go out one after another, never together, so many connections guessing
// at once get no more answers than one. A right token is answered after the source's current
// delay (at most the cap) without queueing behind the wrong ones, and clears the source's
// failures; so does a quiet period without failures (auth_source_quiet, 60 s), after which the
// source is forgotten.
//
// A source is an IPv4 address, or an IPv6 /64 (one host commonly holds a whole /64). The table
// holds at most max_auth_sources sources; past it the one that failed longest ago is forgotten.
//
// Time is passed in, so tests need no clock; nothing here sleeps or arms timers: the connection
// waits on the I/O loop with a timer until the time it is given.
//
// Thread-safety: none; the server's network thread owns it.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace theater::server {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds initial_delay{100};
    std::chrono::milliseconds max_delay{5'000};
    std::chrono::milliseconds quiet{60'000};
    size_t max_sources = 4096;
  };
  explicit AuthThrottle(Options options) : options_(options) {}

  // The key of `address`'s source: the IPv4 address (also for an IPv4-mapped IPv6 one), or the
  // IPv6 /64 it lies in.
  static std::string SourceOf(const boost::asio::ip::address& address);

  // What a failure made of the source.
  struct Failure {
    Clock::time_point answer_at;         // when the wrong token may be answered
    uint64_t failures = 0;               // the source's recent failures, this one included
    std::chrono::milliseconds delay{0};  // the delay this failure added
  };
  // Records a wrong token from `source` at `now`.
  Failure OnFailure(const std::string& source, Clock::time_point now);
  // When a right token from `source`, shown at `now`, may be answered (`now` for a source with no
  // recent failures); clears the source's failures.
  Clock::time_point OnSuccess(const std::string& source, Clock::time_point now);

  // Forgets the sources quiet since `now - quiet`.
  void Expire(Clock::time_point now);
  size_t size() const { return sources_.size(); }
  const Options& options() const { return options_; }

 private:
  struct Source {
    uint64_t failures = 0;
    Clock::time_point last_failure;
    Clock::time_point next_answer;         // the last wrong answer's time: the next one comes after
    std::list<std::string>::iterator age;  // in by_age_
  };
  // The delay after `failures` failures.
  std::chrono::milliseconds DelayAfter(uint64_t failures) const;

  Options options_;
  std::unordered_map<std::string, Source> sources_;
  std::list<std::string> by_age_;  // sources by last failure, oldest first
};

}  // namespace theater::server
