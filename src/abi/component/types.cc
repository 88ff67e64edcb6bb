// Theater: a WebAssembly actor runtime.
//
// Component value and function types to the abi::Type model. The decoder has already bounded
// every type's depth and node count (kMaxTypeDepth, kMaxTypeSize), which bounds both the
// recursion here and the size of what it builds.
#include <string>
#include <utility>

#include "theater/abi/component.h"

namespace theater::component {
namespace {

Result<abi::TypePtr> Convert(const TypeDef& t, uint32_t depth);

Result<abi::TypePtr> ConvertOptional(const TypeRef& t, uint32_t depth) {
  if (t == nullptr) return abi::TypePtr();
  return Convert(*t, depth);
}

Result<abi::TypePtr> Convert(const TypeDef& t, uint32_t depth) {
  // The decoder guarantees this for decoded types; hand-built ones get the same bound.
  if (depth > kMaxTypeDepth) {
    return ResourceExhausted("type nests deeper than " + std::to_string(kMaxTypeDepth) + " levels");
  }
  switch (t.kind) {
    case TypeDefKind::kPrimitive:
      return abi::Type::Primitive(t.primitive);
    case TypeDefKind::kRecord: {
      std::vector<abi::Field> fields;
      for (const NamedType& f : t.fields) {
        THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, Convert(*f.type, depth + 1));
        fields.push_back(abi::Field{f.name, std::move(type)});
      }
      return abi::Type::Record(t.name, std::move(fields));
    }
    case TypeDefKind::kVariant: {
      std::vector<abi::Case> cases;
      for (const NamedType& c : t.cases) {
        THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, ConvertOptional(c.type, depth + 1));
        cases.push_back(abi::Case{c.name, std::move(type)});
      }
      return abi::Type::Variant(t.name, std::move(cases));
    }
    case TypeDefKind::kList:
    case TypeDefKind::kOption: {
      THEATER_ASSIGN_OR_RETURN(abi::TypePtr element, Convert(*t.element, depth + 1));
      abi::TypePtr out = t.kind == TypeDefKind::kList ? abi::Type::List(std::move(element))
                                                      : abi::Type::Option(std::move(element));
      return t.name.empty() ? out : abi::Type::Named(t.name, out);
    }
    case TypeDefKind::kTuple: {
      std::vector<abi::TypePtr> elements;
      for (const TypeRef& e : t.elements) {
        THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, Convert(*e, depth + 1));
        elements.push_back(std::move(type));
      }
      abi::TypePtr out = abi::Type::Tuple(std::move(elements));
      return t.name.empty() ? out : abi::Type::Named(t.name, out);
    }
    case TypeDefKind::kFlags:
      return abi::Type::Flags(t.name, t.labels);
    case TypeDefKind::kEnum:
      return abi::Type::Enum(t.name, t.labels);
    case TypeDefKind::kResult: {
      THEATER_ASSIGN_OR_RETURN(abi::TypePtr ok, ConvertOptional(t.element, depth + 1));
      THEATER_ASSIGN_OR_RETURN(abi::TypePtr err, ConvertOptional(t.error, depth + 1));
      abi::TypePtr out = abi::Type::Result(std::move(ok), std::move(err));
      return t.name.empty() ? out : abi::Type::Named(t.name, out);
    }
    case TypeDefKind::kOwn:
    case TypeDefKind::kBorrow: {
      if (t.resource == nullptr || t.resource->kind != TypeDefKind::kResource) {
        return ValidationError("handle type does not refer to a resource");
      }
      return t.kind == TypeDefKind::kOwn ? abi::Type::Own(t.resource->resource_name)
                                         : abi::Type::Borrow(t.resource->resource_name);
    }
    case TypeDefKind::kFunc:
    case TypeDefKind::kComponent:
    case TypeDefKind::kInstance:
    case TypeDefKind::kResource:
      break;
  }
  return ValidationError(std::string("a ") + TypeDefKindName(t.kind) + " type is not a value type");
}

}  // namespace

Result<abi::TypePtr> ToAbiType(const TypeDef& type) {
  return Convert(type, 1);
}

Result<abi::FunctionType> ToAbiFunctionType(const TypeDef& type) {
  if (type.kind != TypeDefKind::kFunc) {
    return ValidationError(std::string("a ") + TypeDefKindName(type.kind) +
                           " type is not a func type");
  }
  abi::FunctionType out;
  for (const NamedType& p : type.params) {
    THEATER_ASSIGN_OR_RETURN(abi::TypePtr t, Convert(*p.type, 1));
    out.params.push_back(abi::Field{p.name, std::move(t)});
  }
  if (type.result) {
    THEATER_ASSIGN_OR_RETURN(out.result, Convert(*type.result, 1));
  }
  return out;
}

Result<abi::FunctionType> FunctionTypeOf(const Component& component, uint32_t type_index) {
  const size_t count = component.space(Sort::kType).size();
  if (type_index >= count) {
    return ValidationError("type index " + std::to_string(type_index) + " out of range (" +
                           std::to_string(count) + " defined)");
  }
  auto result = ToAbiFunctionType(*component.TypeAt(type_index));
  if (!result.ok()) {
    return result.status().WithContext("type " + std::to_string(type_index));
  }
  return result;
}

}  // namespace theater::component
