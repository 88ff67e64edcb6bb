// Theater: a WebAssembly actor runtime.
//
// Checks a component's imports and exports against a host's WIT before anything runs: every
// function the component imports from, or exports as, an interface of the host's package must
// exist there with the same type. Interfaces of other packages are left to whoever provides them
// (an unknown one fails when the component is linked).
//
// Thread-safety: a pure function over immutable values.
#pragma once

#include "theater/abi/component.h"
#include "theater/abi/wit.h"
#include "theater/status.h"

namespace theater::component {

// kValidationError naming the first function that is missing or has another type, e.g.
//   import theater:simple/runtime.log: the component's type is func(msg: u32), the host's WIT
//   declares func(msg: string)
Status CheckAgainstWit(const Component& component, const wit::Package& package);

}  // namespace theater::component
