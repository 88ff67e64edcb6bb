// Theater: a WebAssembly actor runtime.
//
// Helpers for the canonical ABI tests: terse type constructors and seeded generators of random
// types and of random values of a type, for round-trip tests.
//
// Thread-safety: pure functions; the generators use the caller's engine.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "theater/abi/type.h"
#include "theater/abi/value.h"

namespace theater::abi::testing {

TypePtr T(TypeKind kind);
TypePtr ListOf(TypePtr element);
TypePtr OptionOf(TypePtr element);
TypePtr ResultOf(TypePtr ok, TypePtr err);
TypePtr TupleOf(std::vector<TypePtr> elements);
TypePtr RecordOf(std::vector<TypePtr> field_types);  // fields named f0, f1, ...
TypePtr VariantOf(std::vector<TypePtr> payloads);    // cases named c0, c1, ...; null = no payload
TypePtr EnumOf(size_t labels);
TypePtr FlagsOf(size_t labels);

FunctionType Function(std::vector<TypePtr> params, TypePtr result);

// A random well-formed type no deeper than `depth`.
TypePtr RandomType(std::mt19937_64& rng, int depth);
// A random value of `type`; floats are never non-canonical NaNs (lowering canonicalises those).
Value RandomValue(const Type& type, std::mt19937_64& rng);
// A random valid UTF-8 string of up to `max_chars` scalar values, mixing 1- to 4-byte sequences.
std::string RandomUtf8(std::mt19937_64& rng, size_t max_chars);

}  // namespace theater::abi::testing
