// Theater: a WebAssembly actor runtime.
//
// TypeScript declarations for a world, for actors written in JavaScript or TypeScript and made
// into components by componentize-js: `theater bindgen --lang ts` writes <w>.d.ts, and
// `theater create --lang js|ts` puts it in the project's types/, so that editors (and `tsc`,
// which `theater build` runs on a TypeScript actor) check every call across the sandbox.
//
// The declarations follow the value mapping componentize-js (through jco's conventions) uses at
// run time, so what type-checks is what runs:
//   - each imported interface is `declare module '<package>/<interface>'` with its functions
//     (lowerCamelCase) and types (UpperCamelCase);
//   - the world's exports are interfaces in `declare namespace <World>` (UpperCamelCase of the
//     world's name): an actor exports `actor` typed `<World>.Actor`, and so on;
//   - bool: boolean; integers up to 32 bits, f32, f64: number; s64, u64: bigint; char, string:
//     string; list<u8> and the other lists of numbers: the typed array (Uint8Array, ...), other
//     lists: Array; tuple: a tuple; option<T>: T | undefined (an option of an option:
//     {tag: 'some', val} | {tag: 'none'}); record: an interface, fields in lowerCamelCase;
//     variant: {tag: '<case>', val}; enum: a union of its case names; flags: an interface of
//     booleans; result<T, E> as a function's result: T (an `err` is thrown, and an exported
//     function throws to return one), elsewhere {tag: 'ok', val} | {tag: 'err', val};
//   - resources are not modelled: a handle is `unknown`.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "abi/bindgen/model.h"
#include "theater/status.h"

namespace theater::bindgen {

// The text of <w>.d.ts for `model`'s world.
Result<std::string> GenerateTypeScript(const WorldModel& model);

// "message-server-actor" -> "MessageServerActor"; "open-channel" -> "openChannel" (lower).
std::string TsTypeName(std::string_view wit_name);
std::string TsMemberName(std::string_view wit_name);

}  // namespace theater::bindgen
