// Theater: a WebAssembly actor runtime.
//
// Resource handles of a component instance, as the component model's canonical ABI defines
// them: a resource type is either implemented by the component (`(resource (rep i32) (dtor f))`,
// its representation an i32 the guest chose) or imported from the host (its representation a
// number the host chose); a handle is an index into the component instance's table, naming a
// representation and whether it is owned or borrowed.
//
// ResourceTable follows the specification's table exactly (index 0 is never used, freed indices
// are reused last-freed first), so handle numbers match those of any conforming host. A guest
// that names a handle that is not there, or one of another type, gets kGuestError; one that
// makes more than kMaxHandles handles gets kResourceExhausted.
//
// Simplification, documented in docs/components.md: a component and the components nested in it
// share one table. Components made by the standard tools nest only to re-export functions with
// their type names, so no handle ever lives in a nested component's own table.
//
// Thread-safety: none; a table belongs to one component instance, which runs one call at a time.
// Ownership: the ComponentInstance owns its table and its ResourceTypes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/type.h"
#include "theater/abi/value.h"
#include "theater/engine.h"
#include "theater/status.h"

namespace theater::component {

// One resource type of a component instance.
struct ResourceType {
  std::string interface_name;  // the interface that declares it, "" when not known
  std::string name;            // "blob"
  // Imported from the host: representations are the host's numbers, and dropping the last own
  // handle calls on_host_drop. Otherwise the component implements it.
  bool host = false;
  std::function<void(uint32_t rep)> on_host_drop;  // set by the host (ComponentHost::BindResource)
  // The destructor of a resource the component implements, when it has one.
  engine::Instance* dtor_instance = nullptr;
  uint32_t dtor_index = 0;

  // "interface.name" or "name", for messages.
  std::string QualifiedName() const;
};

// The resource types one function's handles name, by abi::Type::resource_name.
using ResourceNames = std::map<std::string, const ResourceType*, std::less<>>;

class ResourceTable {
 public:
  // More handles than this at once is kResourceExhausted (the specification allows 2^28; a
  // hostile guest must not be able to make the host allocate that much).
  static constexpr uint32_t kMaxHandles = 1u << 20;

  struct Entry {
    const ResourceType* type = nullptr;  // nullptr: a free slot
    uint32_t rep = 0;
    bool own = false;
    // A borrow the host made for one export call; the guest must drop it before returning.
    bool lent_for_call = false;
  };

  // Adds a handle and returns its index.
  Result<uint32_t> Insert(const ResourceType& type, uint32_t rep, bool own,
                          bool lent_for_call = false);
  // The entry `handle` names, which must be of `type`.
  Result<Entry> Get(uint32_t handle, const ResourceType& type) const;
  // Removes and returns the entry `handle` names, which must be of `type`.
  Result<Entry> Remove(uint32_t handle, const ResourceType& type);

  // Borrows made for an export call that the guest has not dropped yet; RemoveCallBorrows takes
  // them out (after a call that broke the rule, so the table stays consistent).
  uint32_t call_borrows() const { return call_borrows_; }
  void RemoveCallBorrows();

  // Handles in use.
  size_t size() const { return entries_.size() - 1 - free_.size(); }

 private:
  Result<uint32_t> Check(uint32_t handle, const ResourceType& type) const;

  std::vector<Entry> entries_{Entry{}};  // index 0 is never a handle
  std::vector<uint32_t> free_;
  uint32_t call_borrows_ = 0;
};

// Calls `fn(handle_type, payload)` for every own and borrow handle inside `value` (of `type`), in
// the order the canonical ABI lays them out, and replaces each payload with what it returns.
// Handle types name their resource by abi::Type::resource_name.
using HandleMapper = std::function<Result<uint32_t>(const abi::Type& handle_type, uint32_t)>;
Status MapHandles(const abi::Type& type, abi::Value& value, const HandleMapper& fn);

// True when a value of `type` may hold a handle.
bool HasHandles(const abi::Type& type);

}  // namespace theater::component
