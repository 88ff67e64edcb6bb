// Theater: a WebAssembly actor runtime.
#include "common/os_entropy.h"

#include <openssl/rand.h>

#include <algorithm>

namespace theater {

Status FillOsEntropy(std::span<uint8_t> out) {
  // RAND_bytes takes an int length: large requests go in chunks.
  constexpr size_t kChunk = size_t{1} << 20;
  for (size_t done = 0; done < out.size();) {
    size_t n = std::min(kChunk, out.size() - done);
    if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
      return InternalError("the OS random number generator failed");
    }
    done += n;
  }
  return Status::Ok();
}

}  // namespace theater
