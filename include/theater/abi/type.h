// Theater: a WebAssembly actor runtime.
//
// The WIT value-type model shared by the WIT parser (which produces it) and the canonical ABI
// (which lifts and lowers values by it).
//
// A Type is an immutable tree node. Named types declared in WIT (`record point {..}`,
// `type actor-id = string`) are resolved by the parser into these nodes; `name` keeps the WIT
// name for messages and for binding generators, and does not affect the ABI.
//
// Thread-safety: Types are immutable after construction and shared through TypePtr
// (std::shared_ptr<const Type>); any thread may read them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace theater::abi {

enum class TypeKind : uint8_t {
  kBool,
  kS8,
  kU8,
  kS16,
  kU16,
  kS32,
  kU32,
  kS64,
  kU64,
  kF32,
  kF64,
  kChar,
  kString,
  kList,     // element
  kRecord,   // fields (at least one)
  kTuple,    // elements
  kVariant,  // cases, each with an optional payload
  kEnum,     // labels
  kFlags,    // labels
  kOption,   // element
  kResult,   // ok and err, each optional
  kOwn,      // resource handle (owned); resource_name
  kBorrow,   // resource handle (borrowed); resource_name
};

class Type;
using TypePtr = std::shared_ptr<const Type>;

struct Field {
  std::string name;
  TypePtr type;
};

struct Case {
  std::string name;
  TypePtr type;  // nullptr when the case carries no payload
};

class Type {
 public:
  TypeKind kind;
  std::string name;  // WIT name when the type was declared with one, else empty

  TypePtr element;                  // kList, kOption
  std::vector<Field> fields;        // kRecord
  std::vector<TypePtr> elements;    // kTuple
  std::vector<Case> cases;          // kVariant
  std::vector<std::string> labels;  // kEnum, kFlags
  TypePtr ok;                       // kResult (nullptr for `_`)
  TypePtr err;                      // kResult (nullptr for `_`)
  std::string resource_name;        // kOwn, kBorrow

  // Constructors for each shape. They never fail; validation is the parser's job.
  static TypePtr Primitive(TypeKind kind);
  static TypePtr List(TypePtr element);
  static TypePtr Option(TypePtr element);
  static TypePtr Result(TypePtr ok, TypePtr err);
  static TypePtr Tuple(std::vector<TypePtr> elements);
  static TypePtr Record(std::string name, std::vector<Field> fields);
  static TypePtr Variant(std::string name, std::vector<Case> cases);
  static TypePtr Enum(std::string name, std::vector<std::string> labels);
  static TypePtr Flags(std::string name, std::vector<std::string> labels);
  static TypePtr Own(std::string resource);
  static TypePtr Borrow(std::string resource);
  // A copy of `type` carrying a WIT name (for `type x = ...` aliases of named shapes).
  static TypePtr Named(std::string name, const TypePtr& type);

  bool is_primitive() const { return kind <= TypeKind::kString; }

  // WIT spelling of the type, e.g. "list<u8>", "result<string, error-code>", "point".
  std::string ToWit() const;
};

// The WIT keyword of a kind: "u32", "string", "list", "record", "own", ...
const char* TypeKindName(TypeKind kind);

// True when the two types have the same structure (names are ignored).
bool StructurallyEqual(const Type& a, const Type& b);

// True when `match` holds for `type` or for any type nested in it (elements, fields, payloads).
bool Contains(const Type& type, const std::function<bool(const Type&)>& match);

// A function signature as WIT declares it: named parameters, and zero or one result (WIT also
// allows named results; those are carried as a record-like list in `named_results`).
struct FunctionType {
  std::vector<Field> params;
  TypePtr result;                    // single unnamed result, or nullptr
  std::vector<Field> named_results;  // `-> (a: u32, b: string)`; empty otherwise

  // The results as one list: {result} or the named results.
  std::vector<TypePtr> ResultTypes() const;
};

}  // namespace theater::abi
