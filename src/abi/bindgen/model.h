// Theater: a WebAssembly actor runtime.
//
// WorldModel: what both binding generators need to know about one WIT world, computed once.
// It decides the name of every named type (by the interface that declares it), which interface
// each resource handle refers to and whether that resource is imported or exported, and the
// core-module import/export names of every function, following the conventions of
// sdk/c/theater/abi.h ("<iface>" / "<fn>" imports, "<iface>#<fn>" exports, "$root" for the
// world's own imports, "[export]<iface>" for the handle intrinsics of exported resources).
//
// Thread-safety: immutable after Build; it points into the wit::Package it was built from
// (Types are shared pointers, interfaces are shared), which must outlive it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "theater/abi/canonical.h"
#include "theater/abi/type.h"
#include "theater/abi/wit.h"
#include "theater/status.h"

namespace theater::bindgen {

// An interface of the world (or the world itself, for its own functions and types).
struct InterfaceInfo {
  const wit::Interface* interface = nullptr;  // nullptr for the world itself
  bool exported = false;
  std::string module;  // import module, or the export-name prefix without '#': "theater:simple/x"
  std::string c_name;  // "message_server_host"; empty for the world itself
  std::string cpp_namespace;  // "message_server_host"; empty for the world itself
};

struct NamedTypeInfo {
  const InterfaceInfo* owner = nullptr;
  std::string wit_name;
  std::string c_base;    // "<w>_<iface>_<name>": the C type is c_base + "_t"
  std::string cpp_name;  // fully qualified: "::<w>::<iface>::Name"
};

struct ResourceInfo {
  const InterfaceInfo* owner = nullptr;
  std::string wit_name;
  const wit::Resource* resource = nullptr;
  std::string c_base;    // "<w>_<iface>_<name>"
  std::string cpp_name;  // "::<w>::<iface>::Name": the C++ class of an imported resource
  bool exported() const { return owner->exported; }
};

struct FunctionInfo {
  const InterfaceInfo* owner = nullptr;
  const wit::Function* function = nullptr;
  bool exported = false;
  std::string core_module;  // imports only
  std::string core_name;    // import name, or the full export name "<iface>#<fn>"
  std::string c_name;       // the C function the user calls (import) or implements (export)
  std::string cpp_name;     // unqualified C++ name in the interface's namespace
  // The WIT results as one type: the single result, a tuple of named results, or nullptr.
  abi::TypePtr result;
};

class WorldModel {
 public:
  static Result<std::unique_ptr<WorldModel>> Build(const wit::Package& package,
                                                   const wit::World& world);

  const wit::World& world() const { return *world_; }
  const std::string& prefix() const { return prefix_; }  // "<w>": the world name in snake case
  const std::vector<std::unique_ptr<InterfaceInfo>>& interfaces() const { return interfaces_; }
  const std::vector<std::unique_ptr<ResourceInfo>>& resources() const { return resources_; }
  const std::vector<FunctionInfo>& functions() const { return functions_; }
  // Every named (declared) type of the world's interfaces, in declaration order.
  const std::vector<abi::TypePtr>& named_types() const { return named_order_; }

  // The name a declared type gets; nullptr for anonymous types (list<..>, tuples, ...).
  const NamedTypeInfo* FindNamed(const abi::Type& type) const;
  // The resource an own/borrow handle refers to (never nullptr for a handle the world uses).
  const ResourceInfo* FindResource(const abi::Type& handle) const;

 private:
  WorldModel() = default;
  Status AddInterface(const wit::WorldItem& item, bool exported);
  Status AddWorldScope();
  Status RegisterTypes(InterfaceInfo& owner, const std::vector<wit::TypeDef>& types,
                       const std::vector<wit::Resource>& resources);
  Status ResolveHandles(const InterfaceInfo& scope, const abi::Type& type, int depth);
  Status AddFunction(InterfaceInfo& owner, const wit::Function& function, bool exported);
  const InterfaceInfo* FindInterfaceByName(const std::string& qualified) const;

  const wit::Package* package_ = nullptr;
  const wit::World* world_ = nullptr;
  std::string prefix_;
  std::vector<std::unique_ptr<InterfaceInfo>> interfaces_;
  std::vector<std::unique_ptr<ResourceInfo>> resources_;
  std::vector<FunctionInfo> functions_;
  std::vector<abi::TypePtr> named_order_;
  std::map<const abi::Type*, NamedTypeInfo> named_;
  std::map<const abi::Type*, const ResourceInfo*> handles_;
  // (scope, resource name as handles spell it) -> resource.
  std::map<std::pair<const InterfaceInfo*, std::string>, const ResourceInfo*> scope_resources_;
  std::vector<abi::TypePtr> keep_alive_;  // tuples built for named results
};

// True for types passed by value in C (scalars and handles); everything else is a struct.
bool IsScalar(const abi::Type& type);
// True when a value of the type owns heap memory (strings, lists, or aggregates holding them).
bool NeedsFree(const abi::Type& type);
// One core value of a flattened signature, as a generator writes it: the name of the local or
// parameter that holds it, and its core type.
struct CoreSlot {
  std::string var;
  abi::CoreType type;
};

// True for a resource handle, own<R> or borrow<R>.
bool IsHandle(const abi::Type& type);
// True for the kinds a generator declares by name (record, variant, enum, flags); the others
// (lists, options, results, tuples, scalars) are written structurally where they are used.
bool IsDeclaredShape(const abi::Type& type);

}  // namespace theater::bindgen
