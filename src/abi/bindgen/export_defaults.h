// Theater: a WebAssembly actor runtime.
//
// Default implementations the C++ bindings give the exports of Theater's handler interfaces that
// only notify an actor (WebSocket events, middleware, one-way messages, channel traffic, child
// and process notifications), so that an actor defines just the callbacks it cares about. The
// world still exports every function (a handler may call any of them); an actor's own definition
// replaces the default because the default is a weak symbol.
//
// Which exports have a default is a fixed table keyed by the unversioned interface name and the
// function, and a default is only given when the function still has the handler shape it was
// written for (state in, new state first in an ok tuple, string error): a WIT change that breaks
// the shape makes the function required again (a link error) rather than a wrong default.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "abi/bindgen/model.h"

namespace theater::bindgen {

struct ExportDefault {
  std::string summary;  // what the default does, for the header's comment: "keeps the state"
  std::string body;     // the statements of its body, which may use the parameters `state` and
                        // (when uses_params) `params`
  bool uses_params = false;
};

// The default of exported function `fn`, or nullopt when it has none. `spell` gives the C++ type
// of a WIT type (the generator's own spelling), used to check shapes and to write the body.
std::optional<ExportDefault> DefaultFor(const FunctionInfo& fn,
                                        const std::function<std::string(const abi::Type&)>& spell);

}  // namespace theater::bindgen
