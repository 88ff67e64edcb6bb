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
//
// Common: --workers W (default: one per core), --home DIR (default: a fresh temporary directory).
// Output: one JSON line.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
};

[[noreturn]] void Usage(const std::string& why) {
  bench::UsageError("messaging_bench", why);
}

Args Parse(int argc, char** argv) {
  Args a;
  CLI::App app("Messaging benchmarks (docs/benchmarks.md)", "messaging_bench");
  app.add_option("mode", a.mode)->required()->check(CLI::IsMember({"router", "send", "request"}));
  app.add_option("--n", a.n);
  app.add_option("--threads", a.threads);
  app.add_option("--targets", a.targets);
  app.add_option("--pairs", a.pairs);
  app.add_option("--durability", a.durability)
      ->check(CLI::IsMember({"memory", "none", "batched", "strict"}));
  app.add_option("--mailbox", a.mailbox, "Receivers' mailbox capacity (0: the default)");
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

// A sender that finds its receiver's mailbox full waits a millisecond (bench_actor.c).
std::string BenchManifest(uint64_t mailbox) {
  std::string text = "name = \"bench\"\nversion = \"0.1.0\"\ncomponent = \"" +
                     std::string(THEATER_TEST_ACTOR_DIR) +
                     "/bench_actor.wasm\"\n[[handler]]\ntype = \"message-server\"\n"
                     "[[handler]]\ntype = \"timing\"\n";
  if (mailbox) text += "[limits]\nmailbox_capacity = " + std::to_string(mailbox) + "\n";
  return text;
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

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  if (args.mode == "router") return RouterMode(args);
  if (args.mode == "send") return SendMode(args);
  if (args.mode == "request") return RequestMode(args);
  Usage("unknown mode");
}
