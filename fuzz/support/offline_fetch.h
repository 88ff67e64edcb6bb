// Theater: a WebAssembly actor runtime.
//
// Fuzzer support: FetchUrl and StartFetch without a network. A target that links this object gets
// its FetchUrl and StartFetch in place of the real ones (src/common/fetch.cc, which the linker
// then never takes out of libtheater_fetch.a; see fuzz/CMakeLists.txt). It answers from the
// responder a target installs, so a fuzzed manifest that names http(s)://anything gets the
// fuzzer's bytes (or an error) at once, never a DNS lookup or a 30 s connect timeout. ResolveUrl is
// the real one.
//
// Thread-safety: SetOfflineResponder must not race with FetchUrl calls (targets install it once,
// or per input while no runtime thread fetches).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/fetch.h"

namespace theater::fuzz {

using OfflineResponder = std::function<Result<std::vector<uint8_t>>(const std::string& url)>;

// Replaces the responder; an empty one makes every fetch fail with kUnavailable.
void SetOfflineResponder(OfflineResponder responder);

}  // namespace theater::fuzz
