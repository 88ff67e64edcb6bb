// Theater: a WebAssembly actor runtime.
//
// Engine benchmarks (Google Benchmark). Figures the foundation must reach, on 2 cores:
//   instantiate a cached small actor              <= 20 us
//   host->guest call of a no-op export            <= 50 ns   (<= 100 ns on a fresh fiber)
//   guest->host import call                       <= 30 ns
//   a call that suspends once and is resumed      <= 300 ns
//   1 KiB list<u8> round trip through the ABI     <= 2 us
//   resident memory of a suspended call           <= 16 KiB  (reported as a counter)
// Guests: tests/actors/bench_guest.c and fiber_guest.c, compiled by the build.
// The cost of the time-slice checks (docs/benchmarks.md, "Time slices"): the compute kernels of
// tests/actors/spinner.c and a no-op call, each from a module compiled with the checks (/1) and
// without them (/0), in the same process: BM_Slices_*. The cost of bounds checks: two of those
// kernels from a guard-page module (/0) and a bounds-checked one (/1): BM_MemoryMode_*.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/context/fiber.hpp>
#include <cstring>

#include <fstream>
#include <optional>

#include "engine/executor.h"
#include "theater/abi/canonical.h"
#include "theater/engine.h"

namespace theater::engine {
namespace {

std::unique_ptr<Engine> NewEngine(bool preempt_checks) {
  EngineOptions options;
  options.progress = EngineOptions::Progress::kOff;
  if (!preempt_checks) options.preempt_slice = std::chrono::microseconds(0);
  auto e = Engine::Create(options);
  if (!e.ok()) {
    std::fprintf(stderr, "engine: %s\n", e.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(e).value();
}

Engine& SharedEngine(bool preempt_checks = true) {
  static std::unique_ptr<Engine> checked = NewEngine(true);
  static std::unique_ptr<Engine> unchecked = NewEngine(false);
  return preempt_checks ? *checked : *unchecked;
}

std::shared_ptr<const Module> Load(const char* name, bool preempt_checks = true) {
  auto m = SharedEngine(preempt_checks)
               .LoadModuleFile(std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm");
  if (!m.ok()) {
    std::fprintf(stderr, "load %s: %s\n", name, m.status().ToString().c_str());
    std::exit(1);
  }
  return *m;
}

int NopImport(Instance&, void*, const uint64_t*, uint64_t*) {
  return 0;
}
int EchoImport(Instance&, void*, const uint64_t* a, uint64_t* r) {
  r[0] = a[0];
  return 0;
}
void PublishNothing(GuestCall&, void*) {}
int WaitImport(Instance& caller, void*, const uint64_t* args, uint64_t* results) {
  Result<uint64_t> v = caller.active_call()->Suspend(PublishNothing, nullptr);
  if (!v.ok()) return caller.Fail(v.status());
  results[0] = *v + args[0];
  return 0;
}

class Resolver : public ImportResolver {
 public:
  Result<HostBinding> Resolve(const ImportInfo& import) override {
    if (import.name == "nop") return HostBinding{NopImport, nullptr};
    if (import.name == "echo") return HostBinding{EchoImport, nullptr};
    if (import.name == "wait") return HostBinding{WaitImport, nullptr};
    return NotFound(import.name);
  }
};

std::unique_ptr<Instance> NewInstance(const Module& module) {
  Resolver resolver;
  auto instance = module.Instantiate(resolver, {});
  if (!instance.ok()) std::exit(1);
  if (auto init = module.FindExport("_initialize")) {
    if (!(*instance)->Call(*init, {}, {}).ok()) std::exit(1);
  }
  return std::move(instance).value();
}

// A fresh instance of a test guest and the index of one of its exports: where most of the
// benchmarks below start.
struct GuestExport {
  std::shared_ptr<const Module> module;
  std::unique_ptr<Instance> instance;
  uint32_t index = 0;
};
GuestExport StartGuest(const char* guest, const char* export_name) {
  GuestExport g;
  g.module = Load(guest);
  g.instance = NewInstance(*g.module);
  std::optional<uint32_t> index = g.module->FindExport(export_name);
  if (!index) {
    std::fprintf(stderr, "%s has no export %s\n", guest, export_name);
    std::exit(1);
  }
  g.index = *index;
  return g;
}

void BM_InstantiateCached(benchmark::State& state) {
  auto module = Load("bench_guest");
  Resolver resolver;
  for (auto _ : state) {
    auto instance = module->Instantiate(resolver, {});
    benchmark::DoNotOptimize(instance);
  }
}
BENCHMARK(BM_InstantiateCached);

void BM_CallNoopDirect(benchmark::State& state) {
  GuestExport guest = StartGuest("bench_guest", "noop");
  auto& instance = guest.instance;
  const uint32_t noop = guest.index;
  for (auto _ : state) {
    Status s = instance->Call(noop, {}, {});
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CallNoopDirect);

// What hibernation costs an idle instance: capturing its memory and giving the pages back
// (Instance::Hibernate), then the next call, which puts the memory back before it runs.
void BM_HibernateThenCall(benchmark::State& state) {
  GuestExport guest = StartGuest("bench_guest", "noop");
  auto& instance = guest.instance;
  const uint32_t noop = guest.index;
  uint64_t kept = 0;
  for (auto _ : state) {
    Result<uint64_t> bytes = instance->Hibernate();
    if (!bytes.ok()) std::exit(1);
    kept = *bytes;
    Status s = instance->Call(noop, {}, {});
    benchmark::DoNotOptimize(s);
  }
  state.counters["image_bytes"] = static_cast<double>(kept);
}
BENCHMARK(BM_HibernateThenCall);

void BM_CallNoopOnFreshFiber(benchmark::State& state) {
  GuestExport guest = StartGuest("bench_guest", "noop");
  auto& instance = guest.instance;
  const uint32_t noop = guest.index;
  for (auto _ : state) {
    auto call = GuestCall::Create(*instance, noop, {});
    (*call)->Resume();
    benchmark::DoNotOptimize(call);
  }
}
BENCHMARK(BM_CallNoopOnFreshFiber);

// call-host(n) makes n import calls; the per-call figure is time / n.
void BM_GuestToHostImport(benchmark::State& state) {
  GuestExport guest = StartGuest("bench_guest", "call-host");
  auto& instance = guest.instance;
  const uint32_t call_host = guest.index;
  constexpr uint64_t kCalls = 1000;
  uint64_t args[1] = {kCalls};
  uint64_t result[1];
  for (auto _ : state) {
    Status s = instance->Call(call_host, args, result);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * kCalls);
  state.counters["ns_per_import"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kCalls),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_GuestToHostImport);

// A fresh fiber call that suspends once in an import and is resumed at once (same thread).
void BM_SuspendOnceAndResume(benchmark::State& state) {
  GuestExport guest = StartGuest("fiber_guest", "wait-once");
  auto& instance = guest.instance;
  const uint32_t wait_once = guest.index;
  for (auto _ : state) {
    auto call = GuestCall::Create(*instance, wait_once, {1});
    (*call)->Resume();
    (*call)->Wake(41);
    (*call)->Resume();
    benchmark::DoNotOptimize((*call)->results()[0]);
  }
}
BENCHMARK(BM_SuspendOnceAndResume);

class BenchMemory : public abi::GuestMemory {
 public:
  BenchMemory(Instance& instance, uint32_t realloc) : instance_(instance), realloc_(realloc) {}
  std::span<uint8_t> Bytes() override { return instance_.memory(); }
  Result<uint32_t> Realloc(uint32_t a, uint32_t b, uint32_t c, uint32_t d) override {
    uint64_t args[4] = {a, b, c, d};
    uint64_t r[1];
    THEATER_RETURN_IF_ERROR(instance_.Call(realloc_, args, r));
    return static_cast<uint32_t>(r[0]);
  }

 private:
  Instance& instance_;
  uint32_t realloc_;
};

// bytes-echo: func(b: list<u8>) -> list<u8>, 1 KiB each way: lower (cabi_realloc + copy), call,
// lift (copy out), post-return.
void BM_ListU8RoundTrip1KiB(benchmark::State& state) {
  GuestExport guest = StartGuest("bench_guest", "theater:test/bench#bytes-echo");
  auto& instance = guest.instance;
  const uint32_t echo = guest.index;
  uint32_t post = *guest.module->FindExport("cabi_post_theater:test/bench#bytes-echo");
  BenchMemory memory(*instance, *guest.module->FindExport("cabi_realloc"));
  abi::FunctionType type;
  type.params.push_back({"b", abi::Type::List(abi::Type::Primitive(abi::TypeKind::kU8))});
  type.result = abi::Type::List(abi::Type::Primitive(abi::TypeKind::kU8));
  auto plan = abi::FunctionPlan::Build(type, abi::Context::kLift);
  std::vector<abi::Value> params{abi::Value::Bytes(std::vector<uint8_t>(1024, 0x5a))};
  std::vector<uint64_t> flat_args;
  uint64_t flat_result[1];
  for (auto _ : state) {
    if (!plan->LowerExportParams(memory, params, &flat_args).ok()) std::abort();
    if (!instance->Call(echo, flat_args, flat_result).ok()) std::abort();
    auto values = plan->LiftExportResults(memory, flat_result);
    if (!values.ok() || (*values)[0].as_bytes().size() != 1024) std::abort();
    if (!instance->Call(post, flat_result, {}).ok()) std::abort();
  }
  state.SetBytesProcessed(state.iterations() * 2048);
}
BENCHMARK(BM_ListU8RoundTrip1KiB);

long ResidentKiB() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Resident memory per suspended call: N actors (one instance each) suspended at once, each in
// its own fiber. Includes the instance, its first touched linear-memory pages and the fiber.
void BM_ResidentMemoryPerSuspendedCall(benchmark::State& state) {
  auto module = Load("fiber_guest");
  constexpr int kCalls = 4000;
  for (auto _ : state) {
    std::vector<std::unique_ptr<Instance>> instances;
    std::vector<std::unique_ptr<GuestCall>> calls;
    instances.reserve(kCalls);
    calls.reserve(kCalls);
    // Warm the stack pool and allocator so the delta is the calls', not one-time growth.
    long before = ResidentKiB();
    for (int i = 0; i < kCalls; ++i) {
      instances.push_back(NewInstance(*module));
      auto call = GuestCall::Create(*instances.back(), *module->FindExport("wait-once"), {1});
      (*call)->Resume();
      calls.push_back(std::move(call).value());
    }
    long after = ResidentKiB();
    state.counters["KiB_per_suspended_call"] =
        static_cast<double>(after - before) / static_cast<double>(kCalls);
    for (auto& c : calls) {
      c->Wake(0);
      c->Resume();
    }
  }
}
BENCHMARK(BM_ResidentMemoryPerSuspendedCall)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- the cost of the time-slice checks: Arg 1 = module compiled with them, 0 = without ----

// Binds every import of the spinner to a trap; its kernels call none.
class TrapResolver : public ImportResolver {
 public:
  Result<HostBinding> Resolve(const ImportInfo&) override {
    return HostBinding{[](Instance& caller, void*, const uint64_t*, uint64_t*) {
                         return caller.Fail(InternalError("not provided"));
                       },
                       nullptr};
  }
};

// Calls export `name`(arg) of a new instance of `module` once per iteration.
void RunKernel(benchmark::State& state, const std::shared_ptr<const Module>& module,
               const char* name, uint64_t arg) {
  TrapResolver resolver;
  auto instance = module->Instantiate(resolver, {});
  if (!instance.ok()) std::exit(1);
  uint32_t index = *module->FindExport(name);
  const uint64_t args[1] = {arg};
  uint64_t results[1] = {0};
  for (auto _ : state) {
    Status s = (*instance)->Call(index, args, results);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(results[0]);
  }
}

void RunSpinnerKernel(benchmark::State& state, const char* name, uint64_t arg) {
  RunKernel(state, Load("spinner", state.range(0) != 0), name, arg);
}

// hash(1,000,000): a tight loop over linear memory, one check per iteration.
void BM_Slices_HashLoop(benchmark::State& state) {
  RunSpinnerKernel(state, "hash", 1'000'000);
}
BENCHMARK(BM_Slices_HashLoop)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

// fib(25): 242,785 calls of a tiny recursive function, one check per call.
void BM_Slices_FibCalls(benchmark::State& state) {
  RunSpinnerKernel(state, "fib", 25);
}
BENCHMARK(BM_Slices_FibCalls)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

// A direct call of add(): the entry check of one small export.
void BM_Slices_CallAddDirect(benchmark::State& state) {
  auto module = Load("spinner", state.range(0) != 0);
  TrapResolver resolver;
  auto instance = module->Instantiate(resolver, {});
  if (!instance.ok()) std::exit(1);
  uint32_t index = *module->FindExport("add");
  const uint64_t args[2] = {1, 2};
  uint64_t results[1] = {0};
  for (auto _ : state) {
    Status s = (*instance)->Call(index, args, results);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Slices_CallAddDirect)->Arg(1)->Arg(0);

// ---- the cost of bounds checks: Arg 0 = guard-page module, 1 = bounds-checked module ----

std::shared_ptr<const Module> LoadInMode(const char* name, MemoryMode mode) {
  static std::unique_ptr<Engine> engines[2];
  std::unique_ptr<Engine>& engine = engines[mode == MemoryMode::kBoundsChecks];
  if (!engine) {
    EngineOptions options;
    options.progress = EngineOptions::Progress::kOff;
    options.memory_mode = mode;
    auto created = Engine::Create(options);
    if (!created.ok()) std::exit(1);
    engine = std::move(created).value();
  }
  auto m = engine->LoadModuleFile(std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm");
  if (!m.ok()) {
    std::fprintf(stderr, "load %s: %s\n", name, m.status().ToString().c_str());
    std::exit(1);
  }
  return *m;
}

void RunSpinnerKernelInMode(benchmark::State& state, const char* name, uint64_t arg) {
  RunKernel(
      state,
      LoadInMode("spinner", state.range(0) ? MemoryMode::kBoundsChecks : MemoryMode::kGuardPages),
      name, arg);
}

// hash(1,000,000): a load and a store of linear memory per iteration.
void BM_MemoryMode_HashLoop(benchmark::State& state) {
  RunSpinnerKernelInMode(state, "hash", 1'000'000);
}
BENCHMARK(BM_MemoryMode_HashLoop)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// fib(25): calls, and the shadow stack in linear memory.
void BM_MemoryMode_FibCalls(benchmark::State& state) {
  RunSpinnerKernelInMode(state, "fib", 25);
}
BENCHMARK(BM_MemoryMode_FibCalls)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// ---- same-session baselines: the machine's cost of the primitives the figures are built on ----

__attribute__((noinline)) void NativeNoop() {
  benchmark::ClobberMemory();
}

// An indirect call to an empty native function: the floor under any guest call.
void BM_Baseline_NativeIndirectCall(benchmark::State& state) {
  void (*volatile fn)() = NativeNoop;
  for (auto _ : state) fn();
}
BENCHMARK(BM_Baseline_NativeIndirectCall);

// Create a Boost.Context fiber on a fixed stack, switch into it and back: the floor under a
// fresh-fiber call.
void BM_Baseline_RawFiberCreateAndRun(benchmark::State& state) {
  namespace ctx = boost::context;
  static char stack_memory[64 * 1024] alignas(64);
  struct FixedStack {
    ctx::stack_context allocate() {
      ctx::stack_context sc;
      sc.size = sizeof(stack_memory);
      sc.sp = stack_memory + sizeof(stack_memory);
      return sc;
    }
    void deallocate(ctx::stack_context&) {}
  };
  for (auto _ : state) {
    ctx::fiber f(std::allocator_arg, FixedStack{},
                 [](ctx::fiber&& back) { return std::move(back); });
    f = std::move(f).resume();
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_Baseline_RawFiberCreateAndRun);

// Copying 1 KiB twice: the floor under the list<u8> round trip.
void BM_Baseline_Memcpy2x1KiB(benchmark::State& state) {
  std::vector<uint8_t> a(1024, 1), b(1024), c(1024);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), 1024);
    benchmark::ClobberMemory();
    std::memcpy(c.data(), b.data(), 1024);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Baseline_Memcpy2x1KiB);

}  // namespace
}  // namespace theater::engine

BENCHMARK_MAIN();
