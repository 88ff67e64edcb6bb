// Theater: a WebAssembly actor runtime.
//
// The component decoder's internals, shared by its two halves: decoder.cc (index spaces, aliases,
// sections, the component as a whole) and decoder_types.cc (value, function, instance, component
// and core types, resources and their names). The public entry is DecodeComponent
// (theater/abi/component.h).
//
// Definitions are validated in order as they are read, against index spaces that grow as they
// are; a reference can therefore only name something already defined, which is what rules out
// cycles. Scopes (the component, nested components, component types, instance types, module
// types) form a chain through `parent` for outer aliases; its length is capped, and it is the only
// recursion.
//
// Thread-safety: a Decoder decodes one component on one thread. Ownership: it shares the bytes it
// decodes with the Component it returns.
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "abi/component/core_module.h"
#include "abi/component/names.h"
#include "abi/component/reader.h"
#include "theater/abi/component.h"

namespace theater::component::decoding {


inline constexpr uint8_t kMagic[] = {0x00, 0x61, 0x73, 0x6d};
// Validation steps (instantiation checks, name lookups) one decode may take; bounds the time
// hostile input can make quadratic checks cost.
inline constexpr uint64_t kWorkBudget = 200'000'000;
// Flattened values beyond which the canonical ABI passes parameters (results) through memory.
inline constexpr uint32_t kMaxFlatParams = 16;
inline constexpr uint32_t kMaxFlatResults = 1;
inline constexpr uint32_t kFlatSaturation = 1u << 31;

inline const char* SectionName(uint8_t id) {
  static constexpr const char* kNames[] = {
      "custom", "core module", "core instance", "core type", "component", "instance", "alias",
      "type",   "canon",       "start",         "import",    "export",    "value"};
  return id < std::size(kNames) ? kNames[id] : "unknown";
}

inline bool IsCoreSort(Sort sort) {
  return sort <= Sort::kCoreInstance;
}

inline std::string OutOfRange(Sort sort, uint64_t index, size_t size) {
  return std::string(SortName(sort)) + " index " + std::to_string(index) + " out of range (" +
         std::to_string(size) + " defined)";
}

inline uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
  return a >= kFlatSaturation - b ? kFlatSaturation : a + b;
}

// What an index refers to, as far as later definitions need to know.
struct Payload {
  TypeRef type;  // kType; the func/instance/component type for those sorts
  std::shared_ptr<const CoreType> core_type;
  std::shared_ptr<const CoreModuleShape> module;
  std::shared_ptr<const CoreInstanceShape> core_instance;
  std::shared_ptr<const CoreFuncType> core_func;
};

struct Scope {
  enum class Kind { kComponent, kComponentType, kInstanceType, kModuleType } kind;
  Scope* parent = nullptr;
  int depth = 0;

  std::array<size_t, kSortCount> counts{};
  std::vector<TypeRef> types, funcs, instances, components;
  std::vector<std::shared_ptr<const CoreType>> core_types;
  std::vector<std::shared_ptr<const CoreModuleShape>> core_modules;
  std::vector<std::shared_ptr<const CoreInstanceShape>> core_instances;
  std::vector<std::shared_ptr<const CoreFuncType>> core_funcs;
  // kComponent only: where each index comes from.
  std::array<std::vector<IndexEntry>, kSortCount> entries;
  // Resources defined by this component (canon resource.new/rep must name one of these).
  std::set<const TypeDef*> local_resources;

  std::vector<ExternItem> imports, exports;
  std::set<std::string> import_keys, export_keys;

  size_t count(Sort sort) const { return counts[static_cast<size_t>(sort)]; }
  bool is_type_scope() const { return kind != Kind::kComponent; }
};

class Decoder {
 public:
  explicit Decoder(std::shared_ptr<const std::vector<uint8_t>> bytes) : bytes_(std::move(bytes)) {}

  // Decodes the component in `reader` (preamble included).
  Result<std::unique_ptr<Component>> DecodeComponentIn(Reader& reader, Scope* parent);

 private:
  Status Spend(const Reader& r, uint64_t steps) {
    work_ += steps;
    if (work_ > kWorkBudget) return r.ExhaustedAt(r.offset(), "component too complex to validate");
    return Status::Ok();
  }

  // Index spaces.
  Status Push(Scope& s, const Reader& r, size_t at, Sort sort, IndexEntry entry, Payload payload);
  // Pushes `item`, the next entry of `list` (this component's own: `origin` kDefinition or
  // kAlias), into the index space of `sort` with `payload`, then appends it to `list`.
  template <typename T, typename Item>
  Status Define(Scope& s, const Reader& r, size_t at, Sort sort, Origin origin, Payload payload,
                std::vector<T>& list, Item&& item) {
    THEATER_RETURN_IF_ERROR(
        Push(s, r, at, sort, {origin, static_cast<uint32_t>(list.size())}, std::move(payload)));
    list.push_back(std::forward<Item>(item));
    return Status::Ok();
  }
  Status CheckIndex(const Scope& s, const Reader& r, size_t at, Sort sort, uint64_t index) const;
  Result<uint32_t> ReadIndex(const Scope& s, Reader& r, Sort sort);
  Payload PayloadOf(const Scope& s, Sort sort, uint32_t index) const;
  Result<Sort> ReadSort(Reader& r);
  Result<ExternItem> ItemOf(const Scope& s, const Reader& r, size_t at, SortIndex item,
                            const std::string& name);

  // Sections.
  Status DecodeCustom(Component& c, Reader& r);
  Status DecodeCoreModule(Scope& s, Component& c, Reader& r);
  Status DecodeCoreInstances(Scope& s, Component& c, Reader& r);
  Status DecodeCoreTypes(Scope& s, Component* c, Reader& r);
  Status DecodeNestedComponent(Scope& s, Component& c, Reader& r);
  Status DecodeInstances(Scope& s, Component& c, Reader& r);
  Status DecodeAliases(Scope& s, Component* c, Reader& r, uint32_t count);
  Status DecodeTypes(Scope& s, Component* c, Reader& r, uint32_t count);
  Status DecodeCanons(Scope& s, Component& c, Reader& r);
  Status DecodeStart(Scope& s, Component& c, Reader& r);
  Status DecodeImports(Scope& s, Component& c, Reader& r);
  Status DecodeExports(Scope& s, Component& c, Reader& r);

  // Pieces.
  Result<Alias> ReadAlias(Scope& s, Reader& r, Payload* payload);
  Result<std::shared_ptr<const CoreType>> ReadCoreType(Scope& s, Reader& r);
  Result<std::shared_ptr<const CoreModuleShape>> ReadModuleType(Scope& s, Reader& r);
  Result<TypeRef> ReadTypeDef(Scope& s, Reader& r);
  Result<TypeRef> ReadDefValType(Scope& s, Reader& r);
  Result<TypeRef> ReadValType(Scope& s, Reader& r);
  Result<TypeRef> ReadFuncType(Scope& s, Reader& r);
  Result<TypeRef> ReadDeclaratorType(Scope& s, Reader& r, bool is_component);
  Result<std::string> ReadExternName(Reader& r, bool is_import);
  Result<ExternItem> ReadExternDesc(Scope& s, Reader& r, const std::string& name);
  Status Declare(Scope& s, Reader& r, size_t at, ExternItem item, bool is_import, Component* c);
  Result<CanonOptions> ReadCanonOptions(Scope& s, Reader& r, bool is_lift);
  Status CheckCanonOptions(const Reader& r, size_t at, const CanonOptions& options,
                           const TypeDef& func, bool is_lift);
  Status InstantiateCore(const Scope& s, const Reader& r, size_t at, uint32_t module,
                         const std::vector<CoreInstantiateArg>& args);
  Status InstantiateComponent(const Scope& s, const Reader& r, size_t at, uint32_t component,
                              const std::vector<InstantiateArg>& args);

  TypeRef NewResource(bool defined, std::optional<uint32_t> dtor, std::string name);
  // Gives an unnamed resource (a definition) the name of the first import or export naming it.
  void NameResource(const TypeRef& type, const std::string& name);
  // `type` as named by an import or export: resources keep their identity (and get the name if
  // they have none); value types get a named copy.
  TypeRef NameType(const TypeRef& type, const std::string& name);

  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  uint64_t work_ = 0;
  uint32_t resource_counter_ = 0;
  std::unordered_map<const TypeDef*, std::shared_ptr<TypeDef>> unnamed_resources_;
  // Caches keyed by address; each value also holds the key, so the address cannot be reused.
  std::unordered_map<const TypeDef*, std::pair<TypeRef, TypeRef>> named_copies_;
  std::unordered_map<const CoreModuleShape*, std::pair<std::shared_ptr<const CoreModuleShape>,
                                                       std::shared_ptr<const CoreInstanceShape>>>
      module_instances_;
};

// Shared type helpers (decoder_types.cc).
// The depth of an instance or component type, checked against kMaxDeclaredTypeDepth.
Status FinishDeclared(const Reader& r, size_t at, TypeDef& t);
// The flattened size of a (possibly absent) type.
uint32_t FlatOf(const TypeRef& t);

}  // namespace theater::component::decoding
