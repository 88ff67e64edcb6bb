// Theater: a WebAssembly actor runtime.
#include "component/resources.h"

#include <utility>

namespace theater::component {

std::string ResourceType::QualifiedName() const {
  return interface_name.empty() ? name : interface_name + "." + name;
}

Result<uint32_t> ResourceTable::Insert(const ResourceType& type, uint32_t rep, bool own,
                                       bool lent_for_call) {
  Entry entry{&type, rep, own, lent_for_call};
  uint32_t handle = 0;
  if (!free_.empty()) {
    handle = free_.back();
    free_.pop_back();
    entries_[handle] = entry;
  } else {
    if (entries_.size() > kMaxHandles) {
      return ResourceExhausted("more than " + std::to_string(kMaxHandles) +
                               " resource handles at once");
    }
    handle = static_cast<uint32_t>(entries_.size());
    entries_.push_back(entry);
  }
  if (lent_for_call) ++call_borrows_;
  return handle;
}

Result<uint32_t> ResourceTable::Check(uint32_t handle, const ResourceType& type) const {
  if (handle == 0 || handle >= entries_.size() || entries_[handle].type == nullptr) {
    return GuestError("resource handle " + std::to_string(handle) + " does not exist");
  }
  const ResourceType& found = *entries_[handle].type;
  if (&found != &type) {
    return GuestError("resource handle " + std::to_string(handle) + " is a " +
                      found.QualifiedName() + ", not a " + type.QualifiedName());
  }
  return handle;
}

Result<ResourceTable::Entry> ResourceTable::Get(uint32_t handle, const ResourceType& type) const {
  THEATER_RETURN_IF_ERROR(Check(handle, type).status());
  return entries_[handle];
}

Result<ResourceTable::Entry> ResourceTable::Remove(uint32_t handle, const ResourceType& type) {
  THEATER_RETURN_IF_ERROR(Check(handle, type).status());
  Entry entry = std::exchange(entries_[handle], Entry{});
  free_.push_back(handle);
  if (entry.lent_for_call) --call_borrows_;
  return entry;
}

void ResourceTable::RemoveCallBorrows() {
  for (uint32_t handle = 1; handle < entries_.size() && call_borrows_ > 0; ++handle) {
    if (entries_[handle].type != nullptr && entries_[handle].lent_for_call) {
      entries_[handle] = Entry{};
      free_.push_back(handle);
      --call_borrows_;
    }
  }
}

bool HasHandles(const abi::Type& type) {
  return abi::Contains(type, [](const abi::Type& t) {
    return t.kind == abi::TypeKind::kOwn || t.kind == abi::TypeKind::kBorrow;
  });
}

namespace {

// MapHandles below its first level: walks every value that may hold a handle, and asks whether a
// list's elements can hold one once per list, not once per element.
Status MapHandlesIn(const abi::Type& type, abi::Value& value, const HandleMapper& fn) {
  if (value.kind() != type.kind) {
    return InvalidArgument(std::string("a ") + abi::TypeKindName(value.kind()) +
                           " value where the type is " + type.ToWit());
  }
  switch (type.kind) {
    case abi::TypeKind::kOwn:
    case abi::TypeKind::kBorrow: {
      THEATER_ASSIGN_OR_RETURN(uint32_t mapped, fn(type, value.handle()));
      value =
          type.kind == abi::TypeKind::kOwn ? abi::Value::Own(mapped) : abi::Value::Borrow(mapped);
      return Status::Ok();
    }
    case abi::TypeKind::kList:
      if (value.is_bytes() || !HasHandles(*type.element)) return Status::Ok();
      for (abi::Value& item : value.mutable_items()) {
        THEATER_RETURN_IF_ERROR(MapHandlesIn(*type.element, item, fn));
      }
      return Status::Ok();
    case abi::TypeKind::kRecord: {
      std::vector<abi::Value>& fields = value.mutable_items();
      if (fields.size() != type.fields.size()) return InvalidArgument("record arity mismatch");
      for (size_t i = 0; i < fields.size(); ++i) {
        THEATER_RETURN_IF_ERROR(MapHandlesIn(*type.fields[i].type, fields[i], fn));
      }
      return Status::Ok();
    }
    case abi::TypeKind::kTuple: {
      std::vector<abi::Value>& elements = value.mutable_items();
      if (elements.size() != type.elements.size()) return InvalidArgument("tuple arity mismatch");
      for (size_t i = 0; i < elements.size(); ++i) {
        THEATER_RETURN_IF_ERROR(MapHandlesIn(*type.elements[i], elements[i], fn));
      }
      return Status::Ok();
    }
    case abi::TypeKind::kVariant:
    case abi::TypeKind::kOption:
    case abi::TypeKind::kResult: {
      abi::Value* payload = value.mutable_payload();
      if (payload == nullptr) return Status::Ok();
      const abi::Type* payload_type = nullptr;
      if (type.kind == abi::TypeKind::kOption) {
        payload_type = type.element.get();
      } else if (type.kind == abi::TypeKind::kResult) {
        payload_type = value.is_ok() ? type.ok.get() : type.err.get();
      } else if (value.case_index() < type.cases.size()) {
        payload_type = type.cases[value.case_index()].type.get();
      }
      if (payload_type == nullptr) return InvalidArgument("a payload where the case has none");
      return MapHandlesIn(*payload_type, *payload, fn);
    }
    default:
      return Status::Ok();
  }
}

}  // namespace

Status MapHandles(const abi::Type& type, abi::Value& value, const HandleMapper& fn) {
  return HasHandles(type) ? MapHandlesIn(type, value, fn) : Status::Ok();
}

}  // namespace theater::component
