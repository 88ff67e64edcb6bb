// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the management protocol's frame decoder: any byte stream, cut into pieces
// anywhere, must decode into messages or stop at a clear error, without crashing, leaking or
// holding more memory than its limits allow. Every message a decoder returns must survive an
// encode/decode round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "server/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using theater::server::FrameDecoder;
  using theater::server::FrameEncoder;
  if (size == 0) return 0;
  FrameDecoder::Limits limits;
  limits.max_frame_bytes = 1 << 20;
  limits.max_message_bytes = 4 << 20;
  limits.max_pending_bytes = 4 << 20;
  FrameDecoder decoder(limits);
  std::vector<std::vector<uint8_t>> messages;
  // The first byte chooses the piece size, so that partial frames are exercised too.
  size_t piece = 1 + data[0] % 64;
  for (size_t at = 1; at < size; at += piece) {
    size_t n = size - at < piece ? size - at : piece;
    if (!decoder.Feed({data + at, n}, messages).ok()) break;
  }
  if (decoder.buffered_bytes() > limits.max_frame_bytes + 4) __builtin_trap();
  FrameEncoder encoder;
  for (const auto& message : messages) {
    FrameDecoder again;
    std::vector<std::vector<uint8_t>> back;
    for (const auto& frame : encoder.Encode(message)) {
      if (!again.Feed(frame, back).ok()) __builtin_trap();
    }
    if (back.size() != 1 || back[0] != message) __builtin_trap();
  }
  return 0;
}
