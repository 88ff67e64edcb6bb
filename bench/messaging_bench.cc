// Theater: a WebAssembly actor runtime.
//
// messaging_bench: the figures of docs/benchmarks.md for messaging.
//
//   messaging_bench router  [--n N] [--threads T] [--targets K]
//       the Router alone: T threads route N 16-byte messages round-robin to K endpoints that
//       queue them in bounded rings (as a mailbox would), no actors.
//   messaging_bench send    [--n N] [--pairs P] [--durability memory|none|batched|strict]
//                           [--mailbox M]
//       actor-to-actor send: P sender actors each send N/P messages to their own receiver actor
//       (tests/actors/bench_actor.c; one host call per message on the sender, one handle-send
//       call on the receiver). The clock stops when every receiver has handled every message
//       and, with a database, every event is committed. `memory`: chains kept in memory only;
//       otherwise every chain is saved with that durability. Receivers have the default
//       mailbox (1,024 operations) unless --mailbox says otherwise; a sender that finds it full
//       waits a millisecond and sends again.
//   messaging_bench request [--n N] [--durability ...] [--target-wasm ACTOR.wasm]
//       request/reply round trip between two idle actors, timed inside the requesting actor
//       with the monotonic clock (p50, p99, max, mean). The requester is bench_actor.c; the
//       target is another bench_actor, or the module or component --target-wasm names (its
//       handlers chosen by auto_handlers; its handle-request is called with "ping"), e.g. the
//       JavaScript actor of bench/js_runtime.sh.
//   messaging_bench block   [--n N] [--mailbox M] [--slowdown S] [--work ITERS] [--durability ...]
//       a `block` mailbox under a sender S times faster than its receiver (issue 55's figure: no
//       thread blocked, the sender's rate that of the receiver, memory flat). One sender
//       (tests/actors/messenger.c, its `burst`) sends N numbered messages as fast as it can to
//       one receiver (bench_actor.c, messages "w<ITERS>.<seq>": ITERS rounds of a hash each, and
//       a count of those out of order) whose manifest says mailbox_capacity = M (default 64) and
//       mailbox_overflow = "block". Each side's rate alone is timed first, with a receiver of a
//       large mailbox paused while the sender fills it and then resumed; unless --work says,
//       ITERS is chosen from two such timings so that the receiver alone is S times (default 10)
//       slower than the sender alone. During the run the process's threads and resident memory
//       (/proc/self/status) are sampled every 100 ms, and a third actor (bench_actor) is asked
//       for its count every 5 ms, each request timed here: a worker thread held by the waiting
//       sender would show as threads added or as this actor's latency (--samples prints the
//       samples). Exits 1 unless the receiver got all N, in order, none dropped.
//
// Common: --workers W (default: one per core), --home DIR (default: a fresh temporary directory).
// Output: one JSON line.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/uuid.h"
#include "theater/builtins.h"
#include "theater/router.h"
#include "theater/runtime.h"

namespace {

using namespace theater;
using bench::Clock;
using bench::ProcessCpuSeconds;
using bench::Seconds;

struct Args {
  std::string mode;
  uint64_t n = 0;
  unsigned threads = 2;
  unsigned targets = 1000;
  unsigned pairs = 8;
  std::string durability = "none";
  int workers = 0;
  std::string home;
  uint64_t mailbox = 0;     // receivers' mailbox capacity; 0: the manifest default
  std::string target_wasm;  // request: the target actor's module or component; empty: bench_actor
  double slowdown = 10;     // block: how many times slower the receiver alone is than the sender
  int64_t work = -1;        // block: hash rounds per message; -1: calibrated to `slowdown`
  bool print_samples = false;  // block: every sample to stderr
};

[[noreturn]] void Usage(const std::string& why) {
  bench::UsageError("messaging_bench", why);
}

Args Parse(int argc, char** argv) {
  Args a;
  CLI::App app("Messaging benchmarks (docs/benchmarks.md)", "messaging_bench");
  app.add_option("mode", a.mode)
      ->required()
      ->check(CLI::IsMember({"router", "send", "request", "block"}));
  app.add_option("--n", a.n);
  app.add_option("--threads", a.threads);
  app.add_option("--targets", a.targets);
  app.add_option("--pairs", a.pairs);
  app.add_option("--durability", a.durability)
      ->check(CLI::IsMember({"memory", "none", "batched", "strict"}));
  app.add_option("--mailbox", a.mailbox, "Receivers' mailbox capacity (0: the default; block: 64)");
  app.add_option("--slowdown", a.slowdown,
                 "block: the receiver alone this many times slower than the sender alone")
      ->check(CLI::PositiveNumber);
  app.add_option("--work", a.work,
                 "block: hash rounds per message on the receiver (default: calibrated to "
                 "--slowdown)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--samples", a.print_samples,
               "block: print each sample to stderr (threads, then resident kB)");
  app.add_option("--workers", a.workers, "0: one per core");
  app.add_option("--home", a.home);
  app.add_option("--target-wasm", a.target_wasm, "request: the target actor (default bench_actor)");
  bench::ParseCommandLine(app, argc, argv);
  return a;
}

// A mailbox stand-in: a bounded ring under a mutex; when full, the oldest message is consumed
// (dropped) to make room, as a receiver draining its mailbox would.
class RingEndpoint final : public messaging::Endpoint {
 public:
  Status Deliver(messaging::Envelope envelope) override {
    std::lock_guard<std::mutex> lock(mu_);
    ring_[next_++ % ring_.size()] = std::move(envelope.payload);
    return Status();
  }
  uint64_t delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> ring_ = std::vector<std::vector<uint8_t>>(256);
  uint64_t next_ = 0;
};

int RouterMode(const Args& args) {
  uint64_t n = args.n ? args.n : 10'000'000;
  messaging::Router router;
  std::vector<std::string> ids;
  std::vector<std::shared_ptr<RingEndpoint>> endpoints;
  for (unsigned i = 0; i < args.targets; ++i) {
    ids.push_back(NewUuid());
    endpoints.push_back(std::make_shared<RingEndpoint>());
    if (!router.Register(ids.back(), endpoints.back()).ok()) return 1;
  }
  std::atomic<uint64_t> failures{0};
  double cpu0 = ProcessCpuSeconds();
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t each = n / args.threads;
      size_t target = t * 7919 % ids.size();
      for (uint64_t i = 0; i < each; ++i) {
        if (!router.Send(ids[target], std::vector<uint8_t>(16, 'm')).ok()) ++failures;
        if (++target == ids.size()) target = 0;
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = Seconds(Clock::now() - start);
  double cpu = ProcessCpuSeconds() - cpu0;
  uint64_t delivered = 0;
  for (auto& e : endpoints) delivered += e->delivered();
  std::printf(
      "{\"mode\":\"router\",\"messages\":%llu,\"threads\":%u,\"targets\":%u,\"seconds\":%.3f,"
      "\"messages_per_s\":%.0f,\"cpu_ns_per_message\":%.0f,\"failures\":%llu}\n",
      static_cast<unsigned long long>(delivered), args.threads, args.targets, seconds,
      delivered / seconds, cpu * 1e9 / delivered, static_cast<unsigned long long>(failures.load()));
  return failures.load() || delivered != n / args.threads * args.threads;
}

// A test actor (`module` in tests/actors) with the message-server and timing handlers, and
// `limits` (TOML lines) as its [limits] table unless empty.
std::string ActorManifest(const std::string& module, const std::string& limits) {
  std::string text = "name = \"bench\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) + "/" + module +
                     "\"\n[[handler]]\ntype = \"message-server\"\n"
                     "[[handler]]\ntype = \"timing\"\n";
  if (!limits.empty()) text += "[limits]\n" + limits;
  return text;
}

// A sender that finds its receiver's mailbox full waits a millisecond (bench_actor.c).
std::string BenchManifest(uint64_t mailbox) {
  return ActorManifest("bench_actor.wasm",
                       mailbox ? "mailbox_capacity = " + std::to_string(mailbox) + "\n" : "");
}

std::unique_ptr<TheaterRuntime> MakeRuntime(const Args& args, std::filesystem::path* home) {
  *home = args.home.empty()
              ? std::filesystem::temp_directory_path() / ("theater-msgbench-" + NewUuid())
              : std::filesystem::path(args.home);
  RuntimeOptions options;
  options.home = *home;
  options.workers = args.workers;
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  if (const char* cache = std::getenv("THEATER_HOME")) {
    options.engine.cache_dir = std::filesystem::path(cache) / "cache";
  }
  if (args.durability == "memory") {
    options.persist = false;
  } else {
    Result<chain::Durability> durability = chain::ParseDurability(args.durability);
    if (!durability.ok()) Usage(durability.status().message());
    options.durability = *durability;
    options.save_all_chains = true;
  }
  Result<std::unique_ptr<TheaterRuntime>> rt = TheaterRuntime::Create(options, BuiltinHandlers());
  if (!rt.ok()) {
    std::fprintf(stderr, "messaging_bench: %s\n", rt.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(rt).value();
}

std::string SpawnOrDie(TheaterRuntime& rt, uint64_t mailbox = 0, std::string manifest = "") {
  SpawnRequest request;
  request.manifest = manifest.empty() ? BenchManifest(mailbox) : std::move(manifest);
  Result<std::string> id = rt.Spawn(request);
  if (!id.ok()) {
    std::fprintf(stderr, "messaging_bench: spawn: %s\n", id.status().ToString().c_str());
    std::exit(1);
  }
  return *id;
}

std::string Command(TheaterRuntime& rt, const std::string& id, const std::string& command) {
  Result<std::vector<uint8_t>> reply = rt.RequestMessage(
      id, std::vector<uint8_t>(command.begin(), command.end()), std::chrono::minutes(10));
  if (!reply.ok()) {
    std::fprintf(stderr, "messaging_bench: %s: %s\n", command.c_str(),
                 reply.status().ToString().c_str());
    std::exit(1);
  }
  return std::string(reply->begin(), reply->end());
}

int SendMode(const Args& args) {
  uint64_t n = args.n ? args.n : 1'000'000;
  std::filesystem::path home;
  std::unique_ptr<TheaterRuntime> rt = MakeRuntime(args, &home);
  std::vector<std::string> senders, receivers;
  for (unsigned p = 0; p < args.pairs; ++p) {
    senders.push_back(SpawnOrDie(*rt));
    receivers.push_back(SpawnOrDie(*rt, args.mailbox));
  }
  uint64_t each = n / args.pairs;
  // Warm up each pair (first calls resolve exports and plans).
  for (unsigned p = 0; p < args.pairs; ++p)
    Command(*rt, senders[p], "send:" + receivers[p] + ":10");
  auto count = [&](const std::string& id) -> uint64_t {
    Result<std::optional<std::vector<uint8_t>>> state = rt->State(id);
    if (!state.ok() || !*state) return 0;
    return std::stoull(std::string((*state)->begin(), (*state)->end()));
  };
  std::vector<uint64_t> base;
  for (const std::string& r : receivers) {
    while (count(r) < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    base.push_back(count(r));
  }
  if (rt->store()) (void)rt->store()->Flush();

  double cpu0 = ProcessCpuSeconds();
  auto start = Clock::now();
  std::atomic<unsigned> failed{0};
  for (unsigned p = 0; p < args.pairs; ++p) {
    std::string command = "send:" + receivers[p] + ":" + std::to_string(each);
    rt->RequestMessageAsync(
        senders[p], std::vector<uint8_t>(command.begin(), command.end()), std::chrono::minutes(10),
        [&failed, each](Result<std::vector<uint8_t>> r) {
          if (!r.ok() || std::string(r->begin(), r->end()) != std::to_string(each)) {
            std::fprintf(
                stderr, "messaging_bench: sender: %s\n",
                r.ok() ? std::string(r->begin(), r->end()).c_str() : r.status().ToString().c_str());
            ++failed;
          }
        });
  }
  for (unsigned p = 0; p < args.pairs; ++p) {
    while (count(receivers[p]) < base[p] + each && !failed) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  if (rt->store()) (void)rt->store()->Flush();
  double seconds = Seconds(Clock::now() - start);
  double cpu = ProcessCpuSeconds() - cpu0;
  uint64_t total = each * args.pairs;
  std::printf(
      "{\"mode\":\"send\",\"messages\":%llu,\"pairs\":%u,\"mailbox\":%llu,\"durability\":\"%s\","
      "\"seconds\":%.3f,\"messages_per_s\":%.0f,\"cpu_us_per_message\":%.2f}\n",
      static_cast<unsigned long long>(total), args.pairs,
      static_cast<unsigned long long>(args.mailbox ? args.mailbox : 1024), args.durability.c_str(),
      seconds, total / seconds, cpu * 1e6 / total);
  rt.reset();
  if (args.home.empty()) std::filesystem::remove_all(home);
  return failed ? 1 : 0;
}

int RequestMode(const Args& args) {
  uint64_t n = args.n ? args.n : 100'000;
  std::filesystem::path home;
  std::unique_ptr<TheaterRuntime> rt = MakeRuntime(args, &home);
  std::string a = SpawnOrDie(*rt);
  std::string b = args.target_wasm.empty()
                      ? SpawnOrDie(*rt)
                      : SpawnOrDie(*rt, 0,
                                   "name = \"target\"\nversion = \"0.1.0\"\ncomponent = \"" +
                                       args.target_wasm + "\"\nauto_handlers = true\n");
  Command(*rt, a, "rtt:" + b + ":1000");  // warm-up
  std::string figures = Command(*rt, a, "rtt:" + b + ":" + std::to_string(n));
  unsigned long long p50 = 0, p99 = 0, max = 0, mean = 0;
  if (std::sscanf(figures.c_str(), "%llu %llu %llu %llu", &p50, &p99, &max, &mean) != 4) {
    std::fprintf(stderr, "messaging_bench: unexpected reply '%s'\n", figures.c_str());
    return 1;
  }
  std::printf(
      "{\"mode\":\"request\",\"requests\":%llu,\"durability\":\"%s\",\"target\":\"%s\","
      "\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.1f,\"mean_us\":%.2f}\n",
      static_cast<unsigned long long>(n), args.durability.c_str(),
      args.target_wasm.empty() ? "bench_actor"
                               : std::filesystem::path(args.target_wasm).filename().c_str(),
      p50 / 1e3, p99 / 1e3, max / 1e3, mean / 1e3);
  rt.reset();
  if (args.home.empty()) std::filesystem::remove_all(home);
  return 0;
}

// A figure of this process from /proc/self/status ("Threads", "VmRSS" in kB); 0 if absent.
uint64_t ProcStatus(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line[key.size()] == ':' &&
        line.compare(0, key.size(), key) == 0)
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return 0;
}

// This process's threads: id -> name (/proc/self/task/<id>/comm; the runtime names its own,
// e.g. theater-w0 for a worker).
std::map<std::string, std::string> ThreadNames() {
  std::map<std::string, std::string> names;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    if (std::getline(in, name)) names[task.path().filename()] = name;
  }
  return names;
}

// A bench_actor's count of messages, and (for "w" messages) how many came out of order: its
// state is "<count>" or "<count> <out of order>".
uint64_t Count(TheaterRuntime& rt, const std::string& id, uint64_t* out_of_order = nullptr) {
  Result<std::optional<std::vector<uint8_t>>> state = rt.State(id);
  if (!state.ok() || !*state) return 0;
  const std::string text((*state)->begin(), (*state)->end());
  size_t space = text.find(' ');
  if (out_of_order)
    *out_of_order = space == std::string::npos ? 0 : std::stoull(text.substr(space));
  return std::stoull(text);
}

// messenger.c's burst of `n` messages "w<work>.<from>", "w<work>.<from+1>", ... to `to`, as the
// command text.
std::string Burst(const std::string& to, uint64_t n, uint64_t work, uint64_t from) {
  return "burst:" + to + ":" + std::to_string(n) + ":w" + std::to_string(work) +
         ".:" + std::to_string(from);
}

// Each side alone: `sink` (a bench_actor with room for `k` more) is paused while the sender
// queues k messages of `work` rounds, which times the sender with nobody else running, then
// resumed, which times the sink handling them with nobody else running. Seconds per message.
struct Alone {
  double send = 0;
  double handle = 0;
};
Alone TimeAloneOnce(TheaterRuntime& rt, const std::string& sender, const std::string& sink,
                    uint64_t k, uint64_t work) {
  const uint64_t from = Count(rt, sink);
  Status paused = rt.Pause(sink, TheaterRuntime::PauseWhen::kWhenIdle);
  while (paused.ok()) {
    Result<ActorPhase> phase = rt.Phase(sink);
    if (phase.ok() && *phase == ActorPhase::kPaused) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!paused.ok()) {
    std::fprintf(stderr, "messaging_bench: pause: %s\n", paused.ToString().c_str());
    std::exit(1);
  }
  Alone alone;
  auto start = Clock::now();
  const std::string sent = Command(rt, sender, Burst(sink, k, work, from));
  alone.send = Seconds(Clock::now() - start) / k;
  if (sent != std::to_string(k)) {
    std::fprintf(stderr, "messaging_bench: calibration burst: %s\n", sent.c_str());
    std::exit(1);
  }
  start = Clock::now();
  if (Status resumed = rt.Resume(sink); !resumed.ok()) {
    std::fprintf(stderr, "messaging_bench: resume: %s\n", resumed.ToString().c_str());
    std::exit(1);
  }
  while (Count(rt, sink) < from + k) std::this_thread::sleep_for(std::chrono::microseconds(100));
  alone.handle = Seconds(Clock::now() - start) / k;
  return alone;
}

// The fastest of three timings of each side: on a shared machine a neighbour only slows one down.
Alone TimeAlone(TheaterRuntime& rt, const std::string& sender, const std::string& sink, uint64_t k,
                uint64_t work) {
  Alone best = TimeAloneOnce(rt, sender, sink, k, work);
  for (int i = 0; i < 2; ++i) {
    Alone next = TimeAloneOnce(rt, sender, sink, k, work);
    best.send = std::min(best.send, next.send);
    best.handle = std::min(best.handle, next.handle);
  }
  return best;
}

int BlockMode(const Args& args) {
  const uint64_t n = args.n ? args.n : 200'000;
  const uint64_t mailbox = args.mailbox ? args.mailbox : 64;
  // Messages per calibration timing: enough for tens of milliseconds of the fast side.
  constexpr uint64_t kCalibration = 20'000;
  std::filesystem::path home;
  std::unique_ptr<TheaterRuntime> rt = MakeRuntime(args, &home);
  // The sender's burst may be suspended for the whole run: its call deadline is an hour, not 5 min.
  const std::string sender =
      SpawnOrDie(*rt, 0, ActorManifest("messenger.wasm", "call_deadline_ms = 3600000\n"));
  const std::string receiver =
      SpawnOrDie(*rt, 0,
                 ActorManifest("bench_actor.wasm", "mailbox_capacity = " + std::to_string(mailbox) +
                                                       "\nmailbox_overflow = \"block\"\n"));
  const std::string bystander = SpawnOrDie(*rt);

  // Calibration, on a receiver of its own with room for a whole timing.
  const std::string sink = SpawnOrDie(*rt, kCalibration);
  Command(*rt, sender, Burst(sink, 100, 0, 0));  // warm-up: exports and plans resolved
  while (Count(*rt, sink) < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  uint64_t work = args.work >= 0 ? static_cast<uint64_t>(args.work) : 0;
  if (args.work < 0) {
    // The receiver's time per message is a fixed part plus the rounds': two timings fix both,
    // and a third, at the rounds they give, corrects the rounds' cost once.
    uint64_t probe_work = 20'000;
    Alone bare = TimeAlone(*rt, sender, sink, kCalibration, 0);
    double send = bare.send;
    for (int round = 0; round < 2; ++round) {
      Alone probe = TimeAlone(*rt, sender, sink, kCalibration, probe_work);
      send = std::min(send, probe.send);
      const double target = args.slowdown * send;
      double per_round = (probe.handle - bare.handle) / probe_work;
      if (per_round <= 0 || target <= bare.handle) break;
      work = (target - bare.handle) / per_round;
      probe_work = std::max<uint64_t>(work, 1);
    }
  }
  Alone alone = TimeAlone(*rt, sender, sink, kCalibration, work);
  (void)rt->Stop(sink);

  // Warm-up of the measured pair and of the third actor.
  Command(*rt, sender, Burst(receiver, 10, work, 0));
  while (Count(*rt, receiver) < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 10; ++i) Command(*rt, bystander, "ping");
  // The third actor's latency with nothing else running, asked as during the run (1 s).
  auto ask = [&] {
    auto asked = Clock::now();
    Command(*rt, bystander, "ping");
    return Seconds(Clock::now() - asked) * 1e6;
  };
  std::vector<double> idle_us;
  for (int i = 0; i < 200; ++i) {
    idle_us.push_back(ask());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (rt->store()) (void)rt->store()->Flush();

  // The sampler: threads and resident memory every 100 ms from the start to the end of the run,
  // and the name of every thread that was not there at the start (what it is says whether the
  // waiting sender caused it: the runtime's periodic work starts threads of its own).
  struct Sample {
    uint64_t threads, rss_kb;
  };
  std::vector<Sample> samples;
  std::map<std::string, std::string> threads_at_start, threads_new;
  std::atomic<bool> running{true};
  std::mutex sampled;
  std::thread sampler([&] {
    while (running) {
      Sample s{ProcStatus("Threads"), ProcStatus("VmRSS")};
      std::map<std::string, std::string> names = ThreadNames();
      {
        std::lock_guard<std::mutex> lock(sampled);
        samples.push_back(s);
        if (threads_at_start.empty()) threads_at_start = names;
        for (const auto& [id, name] : names) {
          if (!threads_at_start.count(id)) threads_new[id] = name;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Counted with the sampler's own thread, which the samples include too.
  uint64_t threads_before = 0;
  while (threads_before == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(sampled);
    if (!samples.empty()) threads_before = samples.front().threads;
  }

  const double cpu0 = ProcessCpuSeconds();
  const auto start = Clock::now();
  std::mutex answered;
  std::optional<std::string> sender_reply;
  Clock::time_point sender_done;
  const std::string burst = Burst(receiver, n, work, 10);
  rt->RequestMessageAsync(sender, std::vector<uint8_t>(burst.begin(), burst.end()),
                          std::chrono::hours(1), [&](Result<std::vector<uint8_t>> r) {
                            std::lock_guard<std::mutex> lock(answered);
                            sender_done = Clock::now();
                            sender_reply = r.ok() ? std::string(r->begin(), r->end())
                                                  : "error: " + r.status().ToString();
                          });
  // Until the receiver has handled them all (or stops getting more for 30 s): the third actor
  // is asked every 5 ms, each request timed.
  std::vector<double> latencies_us;
  uint64_t received = 0, out_of_order = 0;
  Clock::time_point receiver_done = start, last_progress = start;
  bool stalled = false;
  while (true) {
    latencies_us.push_back(ask());
    const uint64_t total = Count(*rt, receiver, &out_of_order);
    const uint64_t count = total >= 10 ? total - 10 : 0;
    receiver_done = Clock::now();
    if (count != received) last_progress = receiver_done;
    received = count;
    if (received >= n) break;
    {
      std::lock_guard<std::mutex> lock(answered);
      if (sender_reply && *sender_reply != std::to_string(n)) break;  // it gave up: reported below
    }
    if (receiver_done - last_progress > std::chrono::seconds(30)) {
      stalled = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  running = false;
  sampler.join();
  const double cpu = ProcessCpuSeconds() - cpu0;
  // The sender's answer left before the receiver handled its last messages; wait for it.
  while (true) {
    {
      std::lock_guard<std::mutex> lock(answered);
      if (sender_reply) break;
      if (stalled) {
        sender_reply = "no answer";
        sender_done = Clock::now();
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  if (rt->store()) (void)rt->store()->Flush();

  const double sender_seconds = Seconds(sender_done - start);
  const double receiver_seconds = Seconds(receiver_done - start);
  uint64_t threads_max = 0, rss_max = 0;
  for (const Sample& s : samples) {
    threads_max = std::max(threads_max, s.threads);
    rss_max = std::max(rss_max, s.rss_kb);
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  std::sort(idle_us.begin(), idle_us.end());
  auto percentile = [](const std::vector<double>& sorted, double p) {
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
  };
  if (args.print_samples) {
    for (const Sample& s : samples) {
      std::fprintf(stderr, "%llu %llu\n", static_cast<unsigned long long>(s.threads),
                   static_cast<unsigned long long>(s.rss_kb));
    }
  }
  Result<ActorMetrics> metrics = rt->Metrics(receiver);
  const uint64_t peak = metrics.ok() ? metrics->mailbox_peak : 0;
  const uint64_t dropped = metrics.ok() ? metrics->mailbox_dropped : 0;
  const bool sent_all = *sender_reply == std::to_string(n);
  std::string new_names;
  for (const auto& [id, name] : threads_new) new_names += (new_names.empty() ? "" : ",") + name;
  std::string reply_text = sent_all ? "all sent" : *sender_reply;
  std::replace(reply_text.begin(), reply_text.end(), '"', '\'');
  std::replace(reply_text.begin(), reply_text.end(), '\\', '/');
  std::printf(
      "{\"mode\":\"block\",\"messages\":%llu,\"mailbox\":%llu,\"work\":%llu,"
      "\"durability\":\"%s\",\"sender_alone_per_s\":%.0f,\"receiver_alone_per_s\":%.0f,"
      "\"alone_ratio\":%.1f,\"sender_per_s\":%.0f,\"receiver_per_s\":%.0f,\"ratio\":%.3f,"
      "\"sender_s\":%.3f,\"receiver_s\":%.3f,\"cpu_s\":%.2f,\"threads_before\":%llu,"
      "\"threads_max\":%llu,\"threads_new\":\"%s\",\"rss_first_mib\":%.1f,\"rss_max_mib\":%.1f,"
      "\"rss_last_mib\":%.1f,"
      "\"samples\":%zu,\"third_requests\":%zu,\"third_p50_us\":%.1f,\"third_p99_us\":%.1f,"
      "\"third_max_us\":%.1f,\"third_idle_p50_us\":%.1f,\"third_idle_p99_us\":%.1f,"
      "\"mailbox_peak\":%llu,\"dropped\":%llu,\"received\":%llu,\"out_of_order\":%llu,"
      "\"sender_reply\":\"%s\"}\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(mailbox),
      static_cast<unsigned long long>(work), args.durability.c_str(), 1 / alone.send,
      1 / alone.handle, alone.handle / alone.send, n / sender_seconds, received / receiver_seconds,
      (n / sender_seconds) / (received / receiver_seconds), sender_seconds, receiver_seconds, cpu,
      static_cast<unsigned long long>(threads_before), static_cast<unsigned long long>(threads_max),
      new_names.c_str(), samples.front().rss_kb / 1024.0, rss_max / 1024.0,
      samples.back().rss_kb / 1024.0, samples.size(), latencies_us.size(),
      percentile(latencies_us, 0.50), percentile(latencies_us, 0.99), latencies_us.back(),
      percentile(idle_us, 0.50), percentile(idle_us, 0.99), static_cast<unsigned long long>(peak),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(out_of_order), reply_text.c_str());
  rt.reset();
  if (args.home.empty()) std::filesystem::remove_all(home);
  return sent_all && received == n && out_of_order == 0 && dropped == 0 && !stalled ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  if (args.mode == "router") return RouterMode(args);
  if (args.mode == "send") return SendMode(args);
  if (args.mode == "request") return RequestMode(args);
  if (args.mode == "block") return BlockMode(args);
  Usage("unknown mode");
}
