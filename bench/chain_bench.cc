// Theater: a WebAssembly actor runtime.
//
// What recording one call in an event chain costs, piece by piece (docs/benchmarks.md, "Chain
// recording"). The recorded call is the one `runtime_bench calls` makes: `handle-send` of the
// bench actor, with a 3-byte message and a counter state of a few digits.
//
//   chain_bench [--benchmark_filter=...]     (Google Benchmark flags)
//
//   BM_EncodeExportCall   the canonical payload of the export event
//   BM_HashEvent          SHA-256 over the framed event
//   BM_Sha256Block        one block of SHA-256's compression (the frame is three)
//   BM_Append/C/R         a whole append (encode, hash, ring slot, the runtime's observer) on C
//                         chains in turn, each holding its newest R events in memory: C = 100
//                         and R = 1024 is the runtime benchmark's footprint
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "theater/chain.h"

namespace theater::chain {
namespace {

constexpr std::string_view kFunction = "theater:simple/message-server-client#handle-send";

struct RecordedCall {
  std::vector<abi::Value> params{abi::Value::Bytes({1, 2, 3})};
  std::vector<abi::Value> results;  // handle-send returns nothing beside the new state
  StateRecord state = StateRecord::OfBytes(std::vector<uint8_t>{'1', '2', '3', '4', '5'});

  void EncodeTo(std::vector<uint8_t>& out) const {
    EncodeExportCallTo(kFunction, params, {results, nullptr}, state, out);
  }
};

void BM_EncodeExportCall(benchmark::State& state) {
  RecordedCall call;
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    call.EncodeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["payload_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeExportCall);

void BM_HashEvent(benchmark::State& state) {
  RecordedCall call;
  std::vector<uint8_t> payload;
  call.EncodeTo(payload);
  std::optional<Hash> parent = Hash{};
  for (auto _ : state) {
    parent = HashEvent(parent, "wasm", payload);
    benchmark::DoNotOptimize(parent);
  }
  state.counters["frame_bytes"] = static_cast<double>(HashFrame(parent, "wasm", payload).size());
}
BENCHMARK(BM_HashEvent);

// One 64-byte block through the compression function: the floor under BM_HashEvent, which
// compresses three.
void BM_Sha256Block(benchmark::State& state) {
  uint32_t words[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t block[64] = {1, 2, 3};
  const bool extensions = sha256_internal::HasShaExtensions();
  for (auto _ : state) {
    if (extensions) {
      sha256_internal::CompressWithShaExtensions(words, block, 1);
    } else {
      sha256_internal::CompressPortable(words, block, 1);
    }
    benchmark::DoNotOptimize(words);
  }
  state.SetLabel(extensions ? "sha extensions" : "portable");
}
BENCHMARK(BM_Sha256Block);

void BM_Append(benchmark::State& state) {
  const size_t chain_count = static_cast<size_t>(state.range(0));
  const size_t memory_events = static_cast<size_t>(state.range(1));
  std::vector<std::unique_ptr<EventChain>> chains;
  for (size_t i = 0; i < chain_count; ++i) {
    chains.push_back(std::make_unique<EventChain>());
    chains.back()->SetMemoryLimit(memory_events);
    // The runtime gives every chain an observer (its subscription hub's); nobody subscribes.
    chains.back()->AddObserver([](const Event&, size_t) {});
  }
  RecordedCall call;
  // Fill every ring first, so that the loop measures the steady state (slots reused).
  for (size_t i = 0; i < memory_events; ++i) {
    for (auto& chain : chains) {
      chain->AppendWith("wasm", [&](std::vector<uint8_t>& out) { call.EncodeTo(out); });
    }
  }
  size_t next = 0;
  for (auto _ : state) {
    Hash hash =
        chains[next]->AppendWith("wasm", [&](std::vector<uint8_t>& out) { call.EncodeTo(out); });
    benchmark::DoNotOptimize(hash);
    if (++next == chain_count) next = 0;
  }
}
BENCHMARK(BM_Append)->Args({1, 16})->Args({100, 16})->Args({100, 256})->Args({100, 1024});

}  // namespace
}  // namespace theater::chain

BENCHMARK_MAIN();
