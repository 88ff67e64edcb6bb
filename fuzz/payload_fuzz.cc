// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the chain's canonical payload decoder (src/chain/payload.cc), which reads
// whatever a chain database or a chain export holds, and for the renderers that show decoded
// events (`theater events`, the management protocol's event JSON).
//
// The first input byte chooses what the rest is: a payload (DecodePayload) or a single value
// (DecodeValue). Invariants: the encoding is canonical, so whatever decodes re-encodes to the
// same bytes; an accepted payload renders (PayloadToJson, EventToJson, EventToLine) and a
// one-event chain of it verifies; a refusal is a kParseError.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/sample_payloads.h"
#include "theater/chain.h"

// With THEATER_FUZZ_WRITE_SEEDS=<dir>, writes the sample payloads there as seeds (first byte 0:
// a payload; 1: a value) and exits; scripts/fuzz.sh makes the seed corpus this way.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("THEATER_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  int n = 0;
  auto write = [&](uint8_t kind, const std::vector<uint8_t>& bytes) {
    std::string path = std::string(dir) + "/sample-" + std::to_string(n++);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    std::fputc(kind, f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  };
  for (const auto& payload : theater::fuzz::SamplePayloads()) {
    write(0, theater::chain::EncodePayload(payload));
    if (const auto* call = std::get_if<theater::chain::HostCall>(&payload)) {
      for (const auto& value : call->input) write(1, theater::chain::EncodeValue(value));
    }
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace theater;
  using namespace theater::chain;
  if (size == 0) return 0;
  const bool as_value = data[0] & 1;
  std::span<const uint8_t> bytes(data + 1, size - 1);
  if (as_value) {
    Result<abi::Value> value = DecodeValue(bytes);
    if (!value.ok()) {
      if (value.status().code() != StatusCode::kParseError) __builtin_trap();
      return 0;
    }
    if (EncodeValue(*value) != std::vector<uint8_t>(bytes.begin(), bytes.end())) __builtin_trap();
    (void)ValueToJson(*value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
  }
  Result<Payload> payload = DecodePayload(bytes);
  // The renderers see every stored payload, decodable or not.
  (void)PayloadToJson(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!payload.ok()) {
    if (payload.status().code() != StatusCode::kParseError) __builtin_trap();
    return 0;
  }
  std::vector<uint8_t> again = EncodePayload(*payload);
  if (again != std::vector<uint8_t>(bytes.begin(), bytes.end())) __builtin_trap();
  Event event;
  event.type = EventTypeFor(*payload);
  event.payload = std::move(again);
  event.timestamp_ms = 1700000000000;
  event.description = "fuzz";
  event.hash = HashEvent(event.parent, event.type, event.payload);
  (void)EventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)EventToLine(event, 0);
  if (!VerifyEvents(std::span<const Event>(&event, 1)).ok()) __builtin_trap();
  return 0;
}
