// Theater: a WebAssembly actor runtime.
//
// The WebAssembly component-model binary format, decoded and validated: what the runtime needs to
// instantiate a component made by standard tools (`wasm-tools component new`, jco), i.e. to link
// its core instances and to lift and lower across its canon definitions.
//
// DecodeComponent() turns the bytes of a component into a Component: the items of every section
// in the order they were defined (imports, exports, aliases, canon definitions, core modules, core
// instances, core types, nested components, instances, types, custom sections), and the twelve
// index spaces of the spec materialised as vectors of IndexEntry, each saying where that index
// comes from ("core func 7 is alias 4", and alias 4 is "export `foo` of core instance 2"). Every
// index in the structure has been checked to be in range of its space at the point of use, so a
// consumer can index the vectors without re-validating. Types are resolved: a TypeDef refers to
// the types it is built from by pointer, not by index, whatever scope (outer alias, instance-type
// export, instance export alias) they came through, and each index of the type, func, instance
// and component spaces carries its resolved TypeRef. ToAbiType() and FunctionTypeOf() convert the
// value and function types to the project's abi::Type model, for checking a component's imports
// and exports against the host's WIT.
//
// What is rejected, and the limits that keep hostile input from exhausting memory or stack, are
// listed in docs/components.md ("Binary decoder"). Errors are Statuses: kParseError when the
// bytes do not follow the grammar (truncation, LEB128 overflow, unknown opcode), kValidationError
// when they parse but break a rule (index out of range, wrong kind of type, duplicate or invalid
// name), kResourceExhausted when a limit is hit, each message naming the section, the absolute
// byte offset and the problem:
//
//   component section 6 (alias) at offset 0x1a3: core instance index 9 out of range (3 defined)
//
// Thread-safety and ownership: DecodeComponent is reentrant. A Component is an immutable value
// owned through std::unique_ptr; it owns a copy of the input, so the core module byte spans it
// hands out stay valid as long as it lives. TypeDefs, core types and module shapes are immutable
// and shared (std::shared_ptr<const ...>) between the places that refer to them, so they may
// outlive the Component. Any thread may read all of it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/type.h"
#include "theater/status.h"

namespace theater::component {

namespace decoding {
class Decoder;  // the decoder fills a Component's index spaces (src/abi/component/decoder.h)
}  // namespace decoding

// Limits applied to untrusted input (see docs/components.md).
inline constexpr size_t kMaxComponentBytes = 256u << 20;
// Nested components, component types, instance types and module types, counted together.
inline constexpr int kMaxScopeDepth = 32;
// Nesting of value types (list<list<...>>), as the WIT parser allows.
inline constexpr uint32_t kMaxTypeDepth = 100;
// Nesting of instance and component types, counting the func and value types inside them.
inline constexpr uint32_t kMaxDeclaredTypeDepth = 200;
// Nodes of one value or function type with shared subtrees counted every time they occur, which
// bounds what ToAbiType builds.
inline constexpr uint64_t kMaxTypeSize = 100000;
// Entries of any one index space of one component or type scope.
inline constexpr uint32_t kMaxIndexSpaceSize = 1000000;

// The twelve index spaces: seven core sorts and five component sorts.
enum class Sort : uint8_t {
  kCoreFunc,
  kCoreTable,
  kCoreMemory,
  kCoreGlobal,
  kCoreType,
  kCoreModule,
  kCoreInstance,
  kFunc,
  kValue,
  kType,
  kComponent,
  kInstance,
};
inline constexpr size_t kSortCount = 12;
// "core func", "core module", "func", "type", ...
const char* SortName(Sort sort);

// ----- Core types

enum class CoreValType : uint8_t { kI32, kI64, kF32, kF64, kV128, kFuncRef, kExternRef };

struct CoreFuncType {
  std::vector<CoreValType> params;
  std::vector<CoreValType> results;
  bool operator==(const CoreFuncType&) const = default;
};

enum class CoreExternKind : uint8_t { kFunc, kTable, kMemory, kGlobal, kTag };
const char* CoreExternKindName(CoreExternKind kind);

// The type of a core import or export as far as linking needs it: its kind, and for functions
// (and tags) the signature. Table, memory and global types are checked by the engine when it
// instantiates the module, so they are not kept.
struct CoreExternType {
  CoreExternKind kind = CoreExternKind::kFunc;
  std::shared_ptr<const CoreFuncType> func;  // kFunc, kTag
};

struct CoreImport {
  std::string module;
  std::string name;
  CoreExternType type;
};

struct CoreExport {
  std::string name;
  CoreExternType type;
};

// The interface of a core module: of a module defined in the component (read from its import,
// function and export sections) or of a core module type (`(core type (module ...))`).
struct CoreModuleShape {
  std::vector<CoreImport> imports;
  std::vector<CoreExport> exports;
  const CoreExport* FindExport(std::string_view name) const;
};

// An entry of the core type space: a function type or a module type.
struct CoreType {
  enum class Kind : uint8_t { kFunc, kModule } kind = Kind::kFunc;
  std::shared_ptr<const CoreFuncType> func;       // kFunc
  std::shared_ptr<const CoreModuleShape> module;  // kModule
};

// What a core instance exports, by name.
struct CoreInstanceShape {
  std::vector<CoreExport> exports;
  const CoreExport* FindExport(std::string_view name) const;
};

// ----- Component types

enum class TypeDefKind : uint8_t {
  kPrimitive,
  kRecord,
  kVariant,
  kList,
  kTuple,
  kFlags,
  kEnum,
  kOption,
  kResult,
  kOwn,
  kBorrow,
  kFunc,
  kComponent,
  kInstance,
  kResource,
};
// "record", "func", "instance", "resource", ...
const char* TypeDefKindName(TypeDefKind kind);

struct TypeDef;
using TypeRef = std::shared_ptr<const TypeDef>;

// A labelled type: record field, variant case (type null when the case has no payload),
// function parameter.
struct NamedType {
  std::string name;
  TypeRef type;
};

// An import or export of a component type, or an export of an instance type. `type` is the
// func type (kFunc), the bound type (kType: the type itself for `(eq i)`, a fresh abstract
// resource for `(sub resource)`), the instance type (kInstance) or the component type
// (kComponent); `module` is set for kCoreModule. Values are not supported, so kValue never
// occurs.
struct ExternItem {
  std::string name;
  Sort sort = Sort::kType;
  TypeRef type;
  std::shared_ptr<const CoreModuleShape> module;
};

// A resolved component-level type. Exactly the fields of its kind are meaningful.
struct TypeDef {
  TypeDefKind kind = TypeDefKind::kPrimitive;
  abi::TypeKind primitive = abi::TypeKind::kBool;  // kPrimitive: kBool .. kString
  // The name the first export or import naming a value type gave it,
  // `(export "point" (type (eq 3)))`; empty otherwise. Cosmetic: it becomes abi::Type::name.
  std::string name;

  std::vector<NamedType> fields;    // kRecord
  std::vector<NamedType> cases;     // kVariant
  std::vector<TypeRef> elements;    // kTuple
  std::vector<std::string> labels;  // kFlags, kEnum
  TypeRef element;                  // kList, kOption; kResult ok (may be null)
  TypeRef error;                    // kResult err (may be null)
  TypeRef resource;                 // kOwn, kBorrow: a kResource TypeDef

  std::vector<NamedType> params;  // kFunc
  TypeRef result;                 // kFunc: the single result, or null for none

  std::vector<ExternItem> imports;  // kComponent
  // kComponent: what an instance of the component exports, as a kInstance TypeDef (shared by
  // every instance made from it).
  TypeRef instance;
  std::vector<ExternItem> exports;  // kInstance

  // kResource. A resource is identified by the address of its TypeDef: every `(sub resource)`
  // import or export declaration, and every resource definition, creates a new one; aliases and
  // `(eq i)` bounds share it. `resource_name` is the name of the first import or export that
  // named it ("output-stream"), else "resource-<n>".
  std::string resource_name;
  bool resource_defined = false;  // by `(resource (rep i32) ...)`, not by an import or export
  std::optional<uint32_t> resource_dtor;  // core func index of the destructor

  // Bookkeeping for limits and canon validation. For value types: nesting depth, node count,
  // flattened core value count (saturating at 2^31), whether a string or list occurs, whether a
  // borrow occurs. For kFunc only depth and size, over the parameters and the result; for
  // kInstance and kComponent only depth, over what they import and export.
  uint32_t depth = 1;
  uint64_t size = 1;
  uint32_t flat_count = 1;
  bool has_string_or_list = false;
  bool has_borrow = false;

  bool is_value_type() const { return kind <= TypeDefKind::kBorrow; }
  const ExternItem* FindExport(std::string_view export_name) const;  // kInstance
};

// ----- Definitions, in section order

// Where an index of an index space comes from. `item` indexes the vector the origin names.
enum class Origin : uint8_t {
  kImport,      // Component::imports
  kExport,      // Component::exports (every export adds an index aliasing what it exports)
  kAlias,       // Component::aliases
  kCanon,       // Component::canons
  kDefinition,  // the definitions of the sort: core_modules, core_instances, core_types,
                // components, instances, types
};
const char* OriginName(Origin origin);

struct IndexEntry {
  Origin origin = Origin::kDefinition;
  uint32_t item = 0;
};

struct CustomSection {
  std::string name;
  size_t offset = 0;  // of the section's contents (after the name) in Component::bytes()
  size_t size = 0;
};

// A core module defined in the component.
struct CoreModule {
  size_t offset = 0;  // of the module's preamble in Component::bytes()
  size_t size = 0;
  std::shared_ptr<const CoreModuleShape> shape;
};

struct CoreInstantiateArg {
  std::string name;
  uint32_t instance = 0;  // core instance index
};

struct CoreInlineExport {
  std::string name;
  Sort sort = Sort::kCoreFunc;  // a core sort
  uint32_t index = 0;
};

struct CoreInstance {
  enum class Kind : uint8_t { kInstantiate, kFromExports } kind = Kind::kInstantiate;
  uint32_t module = 0;                    // kInstantiate: core module index
  std::vector<CoreInstantiateArg> args;   // kInstantiate
  std::vector<CoreInlineExport> exports;  // kFromExports
  std::shared_ptr<const CoreInstanceShape> shape;
};

struct SortIndex {
  Sort sort = Sort::kFunc;
  uint32_t index = 0;
};

struct InstantiateArg {
  std::string name;
  SortIndex item;
};

struct InlineExport {
  std::string name;
  SortIndex item;
};

struct Instance {
  enum class Kind : uint8_t { kInstantiate, kFromExports } kind = Kind::kInstantiate;
  uint32_t component = 0;             // kInstantiate: component index
  std::vector<InstantiateArg> args;   // kInstantiate
  std::vector<InlineExport> exports;  // kFromExports
  TypeRef type;                       // kInstance TypeDef
};

struct Alias {
  enum class Kind : uint8_t {
    kInstanceExport,
    kCoreInstanceExport,
    kOuter
  } kind = Kind::kInstanceExport;
  Sort sort = Sort::kFunc;
  uint32_t instance = 0;     // kInstanceExport, kCoreInstanceExport
  std::string name;          // kInstanceExport, kCoreInstanceExport
  uint32_t outer_count = 0;  // kOuter: enclosing scopes counted outward (0 is this one)
  uint32_t outer_index = 0;  // kOuter: index in that scope's space of `sort`
};

enum class StringEncoding : uint8_t { kUtf8, kUtf16, kLatin1Utf16 };

// Canonical options, each present at most once.
struct CanonOptions {
  StringEncoding string_encoding = StringEncoding::kUtf8;
  std::optional<uint32_t> memory;       // core memory index
  std::optional<uint32_t> realloc;      // core func index
  std::optional<uint32_t> post_return;  // core func index (lift only)
};

struct Canon {
  enum class Kind : uint8_t {
    kLift,
    kLower,
    kResourceNew,
    kResourceDrop,
    kResourceRep
  } kind = Kind::kLift;
  uint32_t func = 0;  // kLift: core func index; kLower: component func index
  uint32_t type = 0;  // kLift: func type index; kResource*: resource type index
  CanonOptions options;
  TypeRef func_type;  // kLift, kLower: the component func type
  TypeRef resource;   // kResource*: the kResource TypeDef
};

struct Import {
  std::string name;
  ExternItem desc;  // desc.name == name
};

struct Export {
  std::string name;
  SortIndex item;
  // The export's type: the externdesc when one was given (only its sort is checked against the
  // exported item), else the item's own type.
  ExternItem desc;
};

struct Start {
  uint32_t func = 0;  // component func index
};

class Component {
 public:
  // The whole input (for a nested component too: offsets are absolute).
  std::span<const uint8_t> bytes() const { return *bytes_; }
  // The bytes of a core module defined here (a complete core module binary).
  std::span<const uint8_t> ModuleBytes(const CoreModule& module) const {
    return bytes().subspan(module.offset, module.size);
  }

  std::vector<CustomSection> custom_sections;
  std::vector<CoreModule> core_modules;
  std::vector<CoreInstance> core_instances;
  std::vector<std::shared_ptr<const CoreType>> core_types;
  std::vector<std::unique_ptr<const Component>> components;
  std::vector<Instance> instances;
  std::vector<TypeRef> types;  // type-section definitions, in order
  std::vector<Alias> aliases;
  std::vector<Canon> canons;
  std::vector<Import> imports;
  std::vector<Export> exports;
  std::optional<Start> start;
  // The component's own type: its imports and exports. A kComponent TypeDef.
  TypeRef type;

  // The index spaces: space(Sort::kCoreFunc)[7] says where core func 7 comes from.
  const std::vector<IndexEntry>& space(Sort sort) const {
    return spaces_[static_cast<size_t>(sort)];
  }

  // Resolved types per index. Null for core funcs whose signature the decoder does not derive
  // (canon lower and resource builtins produce the flattening of a component type).
  const TypeRef& TypeAt(uint32_t index) const { return type_space_[index]; }
  const TypeRef& FuncTypeAt(uint32_t index) const { return func_space_[index]; }
  const TypeRef& InstanceTypeAt(uint32_t index) const { return instance_space_[index]; }
  const TypeRef& ComponentTypeAt(uint32_t index) const { return component_space_[index]; }
  const std::shared_ptr<const CoreType>& CoreTypeAt(uint32_t index) const {
    return core_type_space_[index];
  }
  const std::shared_ptr<const CoreModuleShape>& CoreModuleAt(uint32_t index) const {
    return core_module_space_[index];
  }
  const std::shared_ptr<const CoreInstanceShape>& CoreInstanceAt(uint32_t index) const {
    return core_instance_space_[index];
  }
  const std::shared_ptr<const CoreFuncType>& CoreFuncTypeAt(uint32_t index) const {
    return core_func_space_[index];
  }

  // One line saying where an index comes from, for messages and debugging:
  //   "core func 7: alias of export \"foo\" of core instance 2"
  //   "core func 3: canon lower of func 1 (memory 0, realloc core func 5)"
  // An out-of-range index yields "<sort> <n>: out of range (<m> defined)".
  std::string Describe(Sort sort, uint32_t index) const;

 private:
  friend class decoding::Decoder;
  // The whole input, shared with nested components; every offset is relative to its start.
  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  std::array<std::vector<IndexEntry>, kSortCount> spaces_;
  std::vector<TypeRef> type_space_;
  std::vector<TypeRef> func_space_;
  std::vector<TypeRef> instance_space_;
  std::vector<TypeRef> component_space_;
  std::vector<std::shared_ptr<const CoreType>> core_type_space_;
  std::vector<std::shared_ptr<const CoreModuleShape>> core_module_space_;
  std::vector<std::shared_ptr<const CoreInstanceShape>> core_instance_space_;
  std::vector<std::shared_ptr<const CoreFuncType>> core_func_space_;
};

// Decodes and validates a component binary. A core module is refused with a message saying so.
Result<std::unique_ptr<const Component>> DecodeComponent(std::span<const uint8_t> bytes);

// The abi::Type of a value type. Own and borrow handles name their resource by
// TypeDef::resource_name. kValidationError when `type` is not a value type.
Result<abi::TypePtr> ToAbiType(const TypeDef& type);

// The abi::FunctionType of a kFunc TypeDef.
Result<abi::FunctionType> ToAbiFunctionType(const TypeDef& type);

// The abi::FunctionType of the type at `type_index` of the component's type space;
// kValidationError when it is out of range or not a func type.
Result<abi::FunctionType> FunctionTypeOf(const Component& component, uint32_t type_index);

}  // namespace theater::component
