// Theater: a WebAssembly actor runtime.
//
// Runtime benchmarks (docs/benchmarks.md, "Runtime"): a load generator over TheaterRuntime with
// the small actor tests/actors/bench_actor.c.
//
//   runtime_bench spawn   [--n N] [--persist] [--durable-actors] [--warm-spawns K]
//                                           spawn N actors (each runs init) through SpawnAsync with
//                                           a bounded number in flight; actors/s; then stop them.
//                                           --persist saves their chains (a server's default);
//                                           --durable-actors adds the recovery bookkeeping;
//                                           --warm-spawns K first spawns and stops K actors in the
//                                           measured runtime (its table of loaded modules warm:
//                                           without, the first spawns in flight each load the
//                                           module file, a cost a 12 MB JavaScript actor shows)
//   runtime_bench churn   [--n N] [--actors A] [--warm-up R]
//                                           spawn and stop N actors in rounds of A (default 64),
//                                           after R warm-up rounds (default 3): spawn+stop cycles
//                                           per second in steady state, the growth of resident
//                                           memory and of the heap per cycle (leaks show here),
//                                           and what the linear-memory pool asked of the kernel
//                                           per spawn. The measured phase
//                                           is bracketed by write(-1, "theater-bench:begin"/"end")
//                                           markers for `strace` (bench/spawn_syscalls.sh)
//   runtime_bench recover [--n N]           N idle durable actors, the runtime shut down and a new
//                                           one started on the same home: seconds until every
//                                           actor is recovered and has answered a message
//   runtime_bench idle    [--n N] [--hibernate-ms M] [--memory-limit-mb L] [--warm-spawns K]
//                                           keep N actors alive; resident memory per idle actor
//                                           (bounds-check memory mode: guard pages cap the count),
//                                           and, with M > 0, again once every actor hibernates
//   runtime_bench calls   [--n N] [--actors A] [--no-chain]
//                                           N handle-send calls spread over A actors; calls/s,
//                                           with or without chain recording
//   runtime_bench request [--n N] [--message TEXT] [--no-chain]
//                                           N requests, one after the other, from the host to one
//                                           actor (TheaterRuntime::RequestMessage: the router, the
//                                           actor's mailbox, a worker, handle-request with TEXT,
//                                           default "ping", and the reply back to this thread);
//                                           each timed from here: p50, p99, min and mean, and the
//                                           CPU time of the process per request
//   runtime_bench replay  [--n N]           N handle-send calls to one actor whose chain is saved,
//                                           then TheaterRuntime::Replay of that chain (reading it
//                                           back included); calls/s recorded live and replayed
//   runtime_bench durable [--n N] [--actors A] [--durability none|batched|strict]
//                                           the same calls with every chain saved to SQLite;
//                                           events committed per second, including the final sync
// Every mode takes --wasm ACTOR.wasm to run another build of the actor, e.g. the component
// build (tests/actors/bench_actor_nowasi.component.wasm against bench_actor_nowasi.wasm), and
// --memory-mode guard|bounds|auto to choose the linear memories' mode (default: the engine's,
// auto, except bounds checks for idle; auto is what a server runs: guard pages for a module whose
// memory starts above 1 MiB, such as a JavaScript actor's, bounds checks for the rest).
//
//   runtime_bench store   [--n N] [--actors A] [--durability none|batched|strict]
//                                           the chain store alone: two threads append N events
//                                           (the size of a handle-send call's) to A chains saved
//                                           through ChainStore, as the runtime does; events
//                                           committed per second, including the final sync
// Common: --workers W (default: one per core), --home DIR (default: a fresh temporary directory),
// --chain-memory E (events of each chain held in memory; default: RuntimeOptions' default),
// --preempt-slice-us S (the time slice, EngineOptions::preempt_slice; 0 compiles the actor
// without the checks and runs calls without slices; default: the engine's default).
// Prints one line of JSON per run so results can be compared as ratios within one session.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/uuid.h"
#include "engine/wasm2c/memory_pool.h"
#include "theater/builtins.h"
#include "theater/chain_store.h"
#include "theater/runtime.h"

namespace theater {
namespace {

using bench::Clock;
using bench::HeapBytesInUse;
using bench::ProcessCpuSeconds;
using bench::Seconds;

struct Args {
  std::string mode;
  uint64_t n = 0;
  uint64_t actors = 64;
  int workers = 0;
  int64_t preempt_slice_us = engine::kDefaultPreemptSlice.count();
  size_t chain_memory = RuntimeOptions{}.chain_memory_events;
  bool chain = true;
  std::string durability = "batched";
  std::string home;
  std::string wasm;              // the actor's core module or component; default bench_actor.wasm
  bool persist = false;          // spawn: save chains
  bool durable_actors = false;   // spawn: RuntimeOptions::durable_actors
  uint64_t warm_spawns = 0;      // spawn: actors spawned and stopped before the measured ones
  uint64_t warm_up_rounds = 3;   // churn
  int64_t hibernate_ms = -1;     // RuntimeOptions::hibernate_after; -1: the default
  uint64_t memory_limit_mb = 0;  // the manifest's limits.memory_limit_mb; 0: the default
  std::string memory_mode;       // guard|bounds|auto; empty: the mode's default
  std::string message = "ping";  // request: what each request carries
};

[[noreturn]] void Usage(const std::string& why) {
  bench::UsageError("runtime_bench", why);
}

Args Parse(int argc, char** argv) {
  Args a;
  CLI::App app("Runtime benchmarks (docs/benchmarks.md)", "runtime_bench");
  app.add_option("mode", a.mode)
      ->required()
      ->check(CLI::IsMember(
          {"spawn", "churn", "idle", "calls", "request", "durable", "replay", "recover", "store"}));
  app.add_option("--n", a.n, "Calls, spawns or rounds (0: the mode's default)");
  app.add_option("--actors", a.actors);
  app.add_option("--workers", a.workers, "0: one per core");
  app.add_option("--preempt-slice-us", a.preempt_slice_us);
  app.add_option("--chain-memory", a.chain_memory, "Events each chain keeps in memory");
  bool no_chain = false;
  app.add_flag("--no-chain", no_chain, "Record no chain");
  app.add_option("--durability", a.durability)->check(CLI::IsMember({"none", "batched", "strict"}));
  app.add_option("--home", a.home);
  app.add_option("--wasm", a.wasm, "The actor (default bench_actor.wasm)");
  app.add_flag("--persist", a.persist, "spawn: save chains");
  app.add_flag("--durable-actors", a.durable_actors, "spawn: RuntimeOptions::durable_actors");
  app.add_option("--warm-spawns", a.warm_spawns, "spawn: actors spawned and stopped first");
  app.add_option("--warm-up", a.warm_up_rounds, "churn: rounds before the measured ones");
  app.add_option("--hibernate-ms", a.hibernate_ms, "-1: the default");
  app.add_option("--memory-limit-mb", a.memory_limit_mb, "0: the default");
  app.add_option("--memory-mode", a.memory_mode)->check(CLI::IsMember({"guard", "bounds", "auto"}));
  app.add_option("--message", a.message, "request: what each request carries");
  bench::ParseCommandLine(app, argc, argv);
  a.chain = !no_chain;
  return a;
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Resident bytes of the linear memories: a memory pool slab holds several reservations of 8 GiB
// with guard pages (each a read-write prefix, the memory, followed by the inaccessible rest), or
// of the memory's maximum, 256 MiB by default, read-write throughout, with bounds checks. So:
// the anonymous mappings of at least 256 MiB, and those followed directly by an inaccessible
// anonymous mapping of at least 256 MiB. Nothing else of the process maps that much at once.
uint64_t LinearMemoryResidentBytes() {
  struct Vma {
    uint64_t from = 0, to = 0, rss = 0;
    bool anonymous = false, inaccessible = false;
  };
  std::vector<Vma> vmas;
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  while (std::getline(smaps, line)) {
    unsigned long long from = 0, to = 0, offset = 0, inode = 0;
    char perms[8] = {}, dev[16] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu %n", &from, &to, perms, &offset,
                    dev, &inode, &path_at) >= 6) {
      Vma vma;
      vma.from = from;
      vma.to = to;
      vma.anonymous = inode == 0 && line.find_first_not_of(' ', path_at) == std::string::npos;
      vma.inaccessible = std::strncmp(perms, "---", 3) == 0;
      vmas.push_back(vma);
    } else if (!vmas.empty() && line.rfind("Rss:", 0) == 0) {
      vmas.back().rss = std::stoull(line.substr(4)) * 1024;
    }
  }
  constexpr uint64_t kLarge = 256ull << 20;
  uint64_t total = 0;
  for (size_t i = 0; i < vmas.size(); ++i) {
    const Vma& v = vmas[i];
    if (!v.anonymous) continue;
    const bool guarded = i + 1 < vmas.size() && vmas[i + 1].from == v.to && vmas[i + 1].anonymous &&
                         vmas[i + 1].inaccessible && vmas[i + 1].to - vmas[i + 1].from >= kLarge;
    if (v.to - v.from >= kLarge || guarded) total += v.rss;
  }
  return total;
}

std::string ManifestText(const Args& args) {
  const std::string wasm =
      args.wasm.empty() ? std::string(THEATER_TEST_ACTOR_DIR) + "/bench_actor.wasm" : args.wasm;
  // The bench actor declares the handlers it uses; another module (--wasm) gets whichever its
  // imports need (auto_handlers).
  // A lower memory cap lets more actors fit in the address space in bounds-check mode (each
  // reserves its cap: 256 MiB by default, about 500,000 actors in 128 TiB).
  return "name = \"bench\"\nversion = \"0.1.0\"\ncomponent = \"" + wasm + "\"\n" +
         (args.wasm.empty() ? "" : "auto_handlers = true\n") +
         (args.memory_limit_mb
              ? "[limits]\nmemory_limit_mb = " + std::to_string(args.memory_limit_mb) + "\n"
              : "") +
         (args.wasm.empty()
              ? "[[handler]]\ntype = \"message-server\"\n[[handler]]\ntype = \"timing\"\n"
              : "");
}

// Bounds the asynchronous operations in flight. A full window is refilled only once half of it
// has completed, so the driver thread wakes once per window/2 completions instead of once per
// completion (a wake-up per call would measure the scheduler, not the runtime).
class Window {
 public:
  explicit Window(uint64_t window) : window_(window) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (in_flight_ >= window_) {
      waiting_ = true;
      cv_.wait(lock, [&] { return in_flight_ <= window_ / 2; });
      waiting_ = false;
    }
    ++in_flight_;
  }
  void Release(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (!ok) ++failures_;
    if ((waiting_ && in_flight_ <= window_ / 2) || in_flight_ == 0) cv_.notify_all();
  }
  uint64_t Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t window_;
  uint64_t in_flight_ = 0;
  uint64_t failures_ = 0;
  bool waiting_ = false;
};

// Spawns from one driver thread per core (or from the calling thread alone: `inline_driver`),
// up to 512 at a time (SpawnAsync loads and instantiates on the runtime's loader pool, as for a
// server's clients; init runs on the workers).
std::vector<std::string> SpawnMany(TheaterRuntime& rt, const Args& args, uint64_t n,
                                   double* seconds, bool inline_driver = false) {
  std::vector<std::string> ids(n);
  Window window(512);
  std::string manifest = ManifestText(args);
  unsigned drivers = inline_driver ? 1 : std::max(1u, std::thread::hardware_concurrency());
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned d = 0; d < drivers; ++d) {
    auto drive = [&, d] {
      for (uint64_t i = d; i < n; i += drivers) {
        window.Acquire();
        SpawnRequest request;
        request.manifest = manifest;
        rt.SpawnAsync(request, [&, i](Result<std::string> id) {
          static std::atomic<bool> reported{false};
          if (id.ok()) {
            ids[i] = *id;
          } else if (!reported.exchange(true)) {
            std::fprintf(stderr, "spawn failed: %s\n", id.status().ToString().c_str());
          }
          window.Release(id.ok());
        });
      }
    };
    if (inline_driver) {
      drive();
    } else {
      threads.emplace_back(drive);
    }
  }
  for (auto& t : threads) t.join();
  uint64_t failures = window.Drain();
  *seconds = Seconds(Clock::now() - start);
  if (failures) {
    std::fprintf(stderr, "runtime_bench: %llu spawns failed\n",
                 static_cast<unsigned long long>(failures));
    std::exit(1);
  }
  return ids;
}

// Stops every actor of `ids`, up to 512 at a time.
void StopMany(TheaterRuntime& rt, const std::vector<std::string>& ids) {
  Window window(512);
  for (const std::string& id : ids) {
    window.Acquire();
    rt.StopAsync(id, [&](Result<bool> stopped) { window.Release(stopped.ok()); });
  }
  if (uint64_t failures = window.Drain()) {
    std::fprintf(stderr, "runtime_bench: %llu stops failed\n",
                 static_cast<unsigned long long>(failures));
    std::exit(1);
  }
}

// A marker in the system-call trace: `strace -e trace=write` shows it, and it does nothing.
void TraceMarker(const char* text) {
  ssize_t ignored = ::write(-1, text, std::strlen(text));
  (void)ignored;
}

// Spawn and stop in rounds of `actors`, after warm-up rounds that fill the pools.
std::string ChurnMain(TheaterRuntime& runtime, const Args& args) {
  const uint64_t n = args.n ? args.n : 20000;
  const uint64_t round = std::max<uint64_t>(args.actors, 1);
  double ignored;
  for (uint64_t r = 0; r < args.warm_up_rounds; ++r) {
    StopMany(runtime, SpawnMany(runtime, args, round, &ignored, /*inline_driver=*/true));
  }
  const engine::rt::MemoryPoolCounters before = engine::rt::MemoryPool::Get().counters();
  const uint64_t rss_before = ResidentBytes();
  const size_t heap_before = HeapBytesInUse();
  const double cpu_before = ProcessCpuSeconds();
  TraceMarker("theater-bench:begin");
  double spawn_seconds = 0, stop_seconds = 0;
  auto start = Clock::now();
  for (uint64_t done = 0; done < n; done += round) {
    double seconds = 0;
    // Driven from this thread: a driver thread started per round would show in the trace.
    std::vector<std::string> ids =
        SpawnMany(runtime, args, std::min(round, n - done), &seconds, /*inline_driver=*/true);
    spawn_seconds += seconds;
    auto stop_start = Clock::now();
    StopMany(runtime, ids);
    stop_seconds += Seconds(Clock::now() - stop_start);
  }
  const double seconds = Seconds(Clock::now() - start);
  TraceMarker("theater-bench:end");
  const double cpu_us = (ProcessCpuSeconds() - cpu_before) * 1e6 / n;
  // What the process kept per spawned-and-stopped actor (near 0 in a steady state without
  // leaks): resident memory, and the bytes malloc has handed out and not had back.
  const double rss_growth = (static_cast<double>(ResidentBytes()) - rss_before) / n;
  const double heap_growth = (static_cast<double>(HeapBytesInUse()) - heap_before) / n;
  const engine::rt::MemoryPoolCounters after = engine::rt::MemoryPool::Get().counters();
  auto per_spawn = [n](uint64_t a, uint64_t b) { return static_cast<double>(b - a) / n; };
  char line[768];
  std::snprintf(
      line, sizeof line,
      "{\"mode\":\"churn\",\"actors\":%llu,\"round\":%llu,\"seconds\":%.3f,"
      "\"cycles_per_s\":%.0f,\"spawns_per_s\":%.0f,\"stops_per_s\":%.0f,"
      "\"cpu_us_per_cycle\":%.1f,\"rss_growth_bytes_per_cycle\":%.0f,"
      "\"heap_growth_bytes_per_cycle\":%.0f,\"pool_per_spawn\":{\"mmap\":%.3f,\"munmap\":%.3f,"
      "\"mprotect\":%.3f,\"madvise\":%.3f,\"reused\":%.3f,\"zeroed_kib\":%.1f}}",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(round), seconds,
      n / seconds, n / spawn_seconds, n / stop_seconds, cpu_us, rss_growth, heap_growth,
      per_spawn(before.maps, after.maps), per_spawn(before.unmaps, after.unmaps),
      per_spawn(before.protects, after.protects), per_spawn(before.advises, after.advises),
      per_spawn(before.reused, after.reused),
      per_spawn(before.zeroed_bytes, after.zeroed_bytes) / 1024);
  return line;
}

chain::Durability DurabilityOf(const Args& args) {
  Result<chain::Durability> durability = chain::ParseDurability(args.durability);
  if (!durability.ok()) Usage(durability.status().message());
  return *durability;
}

// The ChainStore's own ceiling, without actors: what `durable` would reach if calls cost nothing.
int StoreMain(const Args& args, const std::filesystem::path& home) {
  chain::ChainStore::Options store_options;
  store_options.durability = DurabilityOf(args);
  auto opened = chain::ChainStore::Open(home, store_options);
  if (!opened.ok()) {
    std::fprintf(stderr, "runtime_bench: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  chain::ChainStore& store = **opened;
  const uint64_t n = args.n ? args.n : 400000;
  const size_t actors = std::max<size_t>(args.actors, 2);
  std::vector<std::unique_ptr<chain::EventChain>> chains;
  for (size_t a = 0; a < actors; ++a) {
    auto chain = std::make_unique<chain::EventChain>();
    chain->SetMemoryLimit(16);
    chain->AddObserver([&store, id = NewUuid()](const chain::Event& event, size_t) {
      if (!store.EnqueueTrusted(id, event).ok()) std::abort();
    });
    chains.push_back(std::move(chain));
  }
  const std::vector<abi::Value> params{abi::Value::Bytes({1, 2, 3})};
  const chain::StateRecord state = chain::StateRecord::OfBytes(std::vector<uint8_t>{'4', '2'});
  const double cpu_before = ProcessCpuSeconds();
  auto start = Clock::now();
  std::vector<std::thread> producers;
  for (size_t t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      for (uint64_t i = t; i < n; i += 2) {
        // Each chain's observer runs under that chain's lock, so its events reach the store in
        // chain order whichever thread appends.
        chain::EventChain& chain = *chains[i % actors];
        chain.AppendWith("wasm", [&](std::vector<uint8_t>& payload) {
          chain::EncodeExportCallTo("theater:simple/message-server-client#handle-send", params,
                                    {{}, nullptr}, state, payload);
        });
      }
    });
  }
  for (auto& producer : producers) producer.join();
  Status flushed = store.Flush();
  const double seconds = Seconds(Clock::now() - start);
  const double cpu_us_per_event = (ProcessCpuSeconds() - cpu_before) * 1e6 / n;
  std::printf(
      "{\"mode\":\"store\",\"events\":%llu,\"actors\":%zu,\"durability\":\"%s\","
      "\"seconds\":%.3f,\"events_committed_per_s\":%.0f,\"cpu_us_per_event\":%.2f,"
      "\"flush_ok\":%s}\n",
      static_cast<unsigned long long>(n), actors, args.durability.c_str(), seconds, n / seconds,
      cpu_us_per_event, flushed.ok() ? "true" : "false");
  return flushed.ok() ? 0 : 1;
}

int Main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::filesystem::path home =
      args.home.empty() ? std::filesystem::temp_directory_path() / ("theater-bench-" + NewUuid())
                        : std::filesystem::path(args.home);
  if (args.mode == "store") {
    int rc = StoreMain(args, home);
    if (args.home.empty()) std::filesystem::remove_all(home);
    return rc;
  }
  RuntimeOptions options;
  options.home = home;
  options.workers = args.workers;
  options.engine.preempt_slice = std::chrono::microseconds(args.preempt_slice_us);
  options.chain_memory_events = args.chain_memory;
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  if (const char* shared = std::getenv("THEATER_HOME")) {
    options.engine.cache_dir = std::filesystem::path(shared) / "cache";
  }
  options.log_sink = [](std::string_view, std::string_view, std::string_view) {};
  options.record_calls = args.chain;
  if (args.mode == "durable" || args.mode == "replay" || args.mode == "recover" ||
      (args.mode == "spawn" && args.persist)) {
    options.save_all_chains = true;
    options.durability = DurabilityOf(args);
  } else {
    options.persist = false;
  }
  options.durable_actors = args.mode == "recover" || args.durable_actors;
  if (args.mode == "idle") options.engine.memory_mode = engine::MemoryMode::kBoundsChecks;
  if (!args.memory_mode.empty()) {
    options.engine.memory_mode = args.memory_mode == "bounds"  ? engine::MemoryMode::kBoundsChecks
                                 : args.memory_mode == "guard" ? engine::MemoryMode::kGuardPages
                                                               : engine::MemoryMode::kAuto;
  }
  if (args.hibernate_ms >= 0)
    options.hibernate_after = std::chrono::milliseconds(args.hibernate_ms);

  // The warm-up's actor is not durable: a recovery brings back only the measured ones.
  RuntimeOptions warm_up = options;
  warm_up.durable_actors = false;
  auto created = TheaterRuntime::Create(warm_up, BuiltinHandlers());
  if (!created.ok()) {
    std::fprintf(stderr, "runtime_bench: %s\n", created.status().ToString().c_str());
    return 1;
  }
  TheaterRuntime& rt = **created;
  // Warm the compile cache and the module so that the first spawn measures no compile.
  {
    double ignored;
    SpawnMany(rt, args, 1, &ignored);
    rt.Shutdown().IgnoreError();
  }
  created = TheaterRuntime::Create(options, BuiltinHandlers());
  TheaterRuntime& runtime = **created;

  char line[1024];
  if (args.mode == "churn") {
    std::cout << ChurnMain(runtime, args) << std::endl;
    runtime.Shutdown().IgnoreError();
    created->reset();
    if (args.home.empty()) std::filesystem::remove_all(home);
    return 0;
  }
  if (args.mode == "spawn") {
    uint64_t n = args.n ? args.n : 20000;
    double seconds = 0;
    if (args.warm_spawns) StopMany(runtime, SpawnMany(runtime, args, args.warm_spawns, &seconds));
    std::vector<std::string> ids = SpawnMany(runtime, args, n, &seconds);
    auto stop_start = Clock::now();
    Status stopped = runtime.Shutdown();
    double stop_seconds = Seconds(Clock::now() - stop_start);
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"spawn\",\"actors\":%llu,\"seconds\":%.3f,\"spawns_per_s\":%.0f,"
                  "\"stops_per_s\":%.0f,\"stop_ok\":%s}",
                  static_cast<unsigned long long>(n), seconds, n / seconds, n / stop_seconds,
                  stopped.ok() ? "true" : "false");
  } else if (args.mode == "idle") {
    uint64_t n = args.n ? args.n : 100000;
    if (args.warm_spawns) {
      double ignored;
      StopMany(runtime, SpawnMany(runtime, args, args.warm_spawns, &ignored));
    }
    const uint64_t before = ResidentBytes();
    const uint64_t linear_before = LinearMemoryResidentBytes();
    const size_t heap_before = HeapBytesInUse();
    double seconds = 0;
    std::vector<std::string> ids = SpawnMany(runtime, args, n, &seconds);
    const uint64_t after = ResidentBytes();
    // What the resident memory consists of: pages of the linear memories, the host's heap
    // (malloc: chains, handler state, instances), and the rest (fiber stacks, the allocator's
    // free lists and metadata, code).
    const double linear_kib =
        (static_cast<double>(LinearMemoryResidentBytes()) - linear_before) / 1024.0 / n;
    const double heap_kib = (static_cast<double>(HeapBytesInUse()) - heap_before) / 1024.0 / n;
    uint64_t memory = 0, sampled = 0;
    for (size_t i = 0; i < ids.size(); i += std::max<size_t>(1, ids.size() / 100)) {
      memory += runtime.Metrics(ids[i])->memory_bytes;
      ++sampled;
    }
    const double memory_kib = sampled ? memory / 1024.0 / sampled : 0;
    // With hibernation on: once every actor sleeps, what they cost asleep.
    double hibernated_kib = -1, hibernated_seconds = 0;
    uint64_t image_bytes = 0;
    if (options.hibernate_after.count() > 0) {
      const auto wait_start = Clock::now();
      const auto give_up = wait_start + 10 * options.hibernate_after + std::chrono::seconds(30);
      size_t asleep = 0;
      while (Clock::now() < give_up) {
        asleep = 0;
        image_bytes = 0;
        for (const std::string& id : ids) {
          Result<ActorMetrics> m = runtime.Metrics(id);
          if (m.ok() && m->hibernated) {
            ++asleep;
            image_bytes += m->hibernated_bytes;
          }
        }
        if (asleep == ids.size()) break;
        std::this_thread::sleep_for(options.hibernate_after / 4);
      }
      hibernated_seconds = Seconds(Clock::now() - wait_start);
      if (asleep == ids.size()) hibernated_kib = (ResidentBytes() - before) / 1024.0 / n;
    }
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"idle\",\"actors\":%llu,\"alive\":%zu,\"rss_delta_mib\":%.1f,"
                  "\"kib_per_actor\":%.1f,\"linear_memory_resident_kib_per_actor\":%.1f,"
                  "\"heap_kib_per_actor\":%.1f,\"linear_memory_size_kib\":%.0f,"
                  "\"spawn_seconds\":%.2f,"
                  "\"kib_per_actor_hibernated\":%.1f,\"image_bytes_per_actor\":%.0f,"
                  "\"hibernated_after_seconds\":%.2f}",
                  static_cast<unsigned long long>(n), runtime.List().size(),
                  (after - before) / 1048576.0, (after - before) / 1024.0 / n, linear_kib, heap_kib,
                  memory_kib, seconds, hibernated_kib, static_cast<double>(image_bytes) / n,
                  hibernated_seconds);
  } else if (args.mode == "calls" || args.mode == "durable") {
    uint64_t n = args.n ? args.n : 200000;
    double ignored;
    std::vector<std::string> ids = SpawnMany(runtime, args, args.actors, &ignored);
    uint64_t committed_before = runtime.store() ? runtime.store()->stats().committed : 0;
    Window window(4096);
    const double cpu_before = ProcessCpuSeconds();
    auto start = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      window.Acquire();
      runtime.CallAsync(ids[i % ids.size()], "theater:simple/message-server-client", "handle-send",
                        {abi::Value::Bytes({1, 2, 3})},
                        [&](Result<std::vector<abi::Value>> r) { window.Release(r.ok()); });
    }
    uint64_t failures = window.Drain();
    if (runtime.store()) runtime.store()->Flush().IgnoreError();
    double seconds = Seconds(Clock::now() - start);
    // CPU time (every thread, user and system) per call: the cost, as opposed to the throughput,
    // which on a shared VM also moves with what its neighbours do.
    const double cpu_us_per_call = (ProcessCpuSeconds() - cpu_before) * 1e6 / n;
    uint64_t committed =
        runtime.store() ? runtime.store()->stats().committed - committed_before : 0;
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"%s\",\"calls\":%llu,\"actors\":%llu,\"chain\":%s,"
                  "\"durability\":\"%s\",\"preempt_slice_us\":%lld,\"seconds\":%.3f,"
                  "\"calls_per_s\":%.0f,"
                  "\"cpu_us_per_call\":%.2f,\"events_committed_per_s\":%.0f,"
                  "\"failures\":%llu}",
                  args.mode.c_str(), static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(args.actors), args.chain ? "true" : "false",
                  args.mode == "durable" ? args.durability.c_str() : "-",
                  static_cast<long long>(args.preempt_slice_us), seconds, n / seconds,
                  cpu_us_per_call, committed / seconds, static_cast<unsigned long long>(failures));
  } else if (args.mode == "recover") {
    uint64_t n = args.n ? args.n : 10000;
    double spawn_seconds = 0;
    SpawnMany(runtime, args, n, &spawn_seconds);
    Status stopped = runtime.Shutdown();
    created->reset();
    if (!stopped.ok()) {
      std::fprintf(stderr, "runtime_bench: shutdown: %s\n", stopped.ToString().c_str());
      return 1;
    }
    // The restart: a new runtime on the home, its actors recovered, each sent a message and
    // answered (the call returns once handle-send ran).
    auto start = Clock::now();
    created = TheaterRuntime::Create(options, BuiltinHandlers());
    if (!created.ok()) {
      std::fprintf(stderr, "runtime_bench: %s\n", created.status().ToString().c_str());
      return 1;
    }
    TheaterRuntime& again = **created;
    Result<RecoveryReport> report = again.Recover();
    if (!report.ok()) {
      std::fprintf(stderr, "runtime_bench: recover: %s\n", report.status().ToString().c_str());
      return 1;
    }
    const double recover_seconds = Seconds(Clock::now() - start);
    Window window(512);
    for (const RecoveredActor& actor : report->actors) {
      window.Acquire();
      again.CallAsync(actor.id, "theater:simple/message-server-client", "handle-send",
                      {abi::Value::Bytes({1, 2, 3})},
                      [&](Result<std::vector<abi::Value>> r) { window.Release(r.ok()); });
    }
    uint64_t failures = window.Drain();
    const double answered_seconds = Seconds(Clock::now() - start);
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"recover\",\"actors\":%llu,\"recovered\":%zu,\"not_recovered\":%zu,"
                  "\"spawn_seconds\":%.3f,\"recover_seconds\":%.3f,\"answered_seconds\":%.3f,"
                  "\"recovered_per_s\":%.0f,\"failures\":%llu}",
                  static_cast<unsigned long long>(n), report->recovered, report->failed,
                  spawn_seconds, recover_seconds, answered_seconds, n / recover_seconds,
                  static_cast<unsigned long long>(failures));
    std::cout << line << std::endl;
    again.Shutdown().IgnoreError();
    created->reset();
    if (args.home.empty()) std::filesystem::remove_all(home);
    return 0;
  } else if (args.mode == "request") {
    uint64_t n = args.n ? args.n : 20000;
    double ignored;
    std::vector<std::string> ids = SpawnMany(runtime, args, 1, &ignored);
    const std::vector<uint8_t> message(args.message.begin(), args.message.end());
    std::string reply;
    uint64_t failures = 0;
    auto request = [&]() {
      Result<std::vector<uint8_t>> r =
          runtime.RequestMessage(ids[0], message, std::chrono::seconds(60));
      if (!r.ok()) {
        if (failures++ == 0)
          std::fprintf(stderr, "runtime_bench: request: %s\n", r.status().ToString().c_str());
        return;
      }
      reply.assign(r->begin(), r->end());
    };
    // Warm-up: the first calls resolve the export and fill the actor's caches.
    for (uint64_t i = 0; i < std::min<uint64_t>(1000, n / 10 + 1); ++i) request();
    std::vector<uint64_t> took(n);
    const double cpu_before = ProcessCpuSeconds();
    auto start = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      request();
      took[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    }
    const double seconds = Seconds(Clock::now() - start);
    const double cpu_us = (ProcessCpuSeconds() - cpu_before) * 1e6 / n;
    std::sort(took.begin(), took.end());
    double sum = 0;
    for (uint64_t t : took) sum += t;
    if (reply.size() > 40) reply = reply.substr(0, 40) + "...";
    for (char& c : reply) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"request\",\"requests\":%llu,\"chain\":%s,\"seconds\":%.3f,"
                  "\"p50_us\":%.2f,\"p99_us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f,"
                  "\"cpu_us_per_request\":%.2f,\"last_reply\":\"%s\",\"failures\":%llu}",
                  static_cast<unsigned long long>(n), args.chain ? "true" : "false", seconds,
                  took[n / 2] / 1e3, took[(n * 99) / 100] / 1e3, took[0] / 1e3, sum / n / 1e3,
                  cpu_us, reply.c_str(), static_cast<unsigned long long>(failures));
  } else if (args.mode == "replay") {
    uint64_t n = args.n ? args.n : 100000;
    double ignored;
    Args one = args;
    one.actors = 1;
    std::vector<std::string> ids = SpawnMany(runtime, one, 1, &ignored);
    Window window(512);  // under the actor's mailbox capacity (1,024): no call is refused
    auto start = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      window.Acquire();
      runtime.CallAsync(ids[0], "theater:simple/message-server-client", "handle-send",
                        {abi::Value::Bytes({1, 2, 3})},
                        [&](Result<std::vector<abi::Value>> r) { window.Release(r.ok()); });
    }
    uint64_t failures = window.Drain();
    if (runtime.store()) runtime.store()->Flush().IgnoreError();
    const double live_seconds = Seconds(Clock::now() - start);
    start = Clock::now();
    Result<ReplayReport> report = runtime.Replay(ids[0], {});
    const double replay_seconds = Seconds(Clock::now() - start);
    if (!report.ok()) {
      std::fprintf(stderr, "runtime_bench: replay: %s\n", report.status().ToString().c_str());
      return 1;
    }
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"replay\",\"calls\":%llu,\"events\":%llu,\"identical\":%s,"
                  "\"live_seconds\":%.3f,\"live_calls_per_s\":%.0f,\"replay_seconds\":%.3f,"
                  "\"replay_calls_per_s\":%.0f,\"replay_over_live\":%.2f,\"failures\":%llu}",
                  static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(report->events),
                  report->identical() ? "true" : "false", live_seconds, n / live_seconds,
                  replay_seconds, n / replay_seconds, live_seconds / replay_seconds,
                  static_cast<unsigned long long>(failures));
  } else {
    Usage("unknown mode");
  }
  std::cout << line << std::endl;
  runtime.Shutdown().IgnoreError();
  created->reset();
  if (args.home.empty()) std::filesystem::remove_all(home);
  return 0;
}

}  // namespace
}  // namespace theater

int main(int argc, char** argv) {
  return theater::Main(argc, argv);
}
