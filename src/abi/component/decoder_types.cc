// Theater: a WebAssembly actor runtime.
//
// The component decoder's types: value, function, instance and component types, core module
// types, resources and the names imports and exports give them (decoder.h).
#include "abi/component/decoder.h"
#include "common/bytes.h"

namespace theater::component::decoding {
namespace {

// ----- Primitive and derived type metadata

// The primitive value types, in the order of abi::TypeKind (kBool .. kString), which is also the
// order of their opcodes counting down from 0x7f.
TypeRef PrimitiveTypeRef(abi::TypeKind p) {
  static const auto* const kTypes = [] {
    auto* types = new std::array<TypeRef, 13>;
    for (size_t i = 0; i < types->size(); ++i) {
      auto t = std::make_shared<TypeDef>();
      t->kind = TypeDefKind::kPrimitive;
      t->primitive = static_cast<abi::TypeKind>(i);
      if (t->primitive == abi::TypeKind::kString) {
        t->flat_count = 2;
        t->has_string_or_list = true;
      }
      (*types)[i] = std::move(t);
    }
    return types;
  }();
  return (*kTypes)[static_cast<size_t>(p)];
}

std::optional<abi::TypeKind> PrimitiveFromByte(uint8_t byte) {
  static_assert(static_cast<int>(abi::TypeKind::kString) == 0x7f - 0x73);
  if (byte >= 0x73 && byte <= 0x7f) return static_cast<abi::TypeKind>(0x7f - byte);
  return std::nullopt;
}

// Fills depth, size and the string/list and borrow flags of a type from its children (null ones
// are absent optional parts), and checks the depth and size limits (`max_depth` is
// kMaxTypeDepth for value types, kMaxTypeDepth + 1 for a function of them).
Status Finish(const Reader& r, size_t at, TypeDef& t, const std::vector<const TypeDef*>& children,
              uint32_t max_depth = kMaxTypeDepth) {
  uint32_t depth = 0;
  uint64_t size = 1;
  for (const TypeDef* c : children) {
    if (c == nullptr) continue;
    depth = std::max(depth, c->depth);
    size = std::min<uint64_t>(size + c->size, kMaxTypeSize + 1);
    t.has_string_or_list = t.has_string_or_list || c->has_string_or_list;
    t.has_borrow = t.has_borrow || c->has_borrow;
  }
  t.depth = depth + 1;
  t.size = size;
  if (t.depth > max_depth) {
    return r.ExhaustedAt(at, "type nests deeper than " + std::to_string(max_depth) + " levels");
  }
  if (t.size > kMaxTypeSize) {
    return r.ExhaustedAt(at, "type has more than " + std::to_string(kMaxTypeSize) + " nodes");
  }
  return Status::Ok();
}

}  // namespace

// The depth of an instance or component type: one more than the deepest type it imports or
// exports. Bounding it bounds chains of types that contain types (an instance exporting an
// instance exporting ...), which shared ownership would otherwise release by unbounded recursion.
Status FinishDeclared(const Reader& r, size_t at, TypeDef& t) {
  uint32_t depth = 0;
  for (const auto* items : {&t.imports, &t.exports}) {
    for (const ExternItem& item : *items) {
      if (item.type) depth = std::max(depth, item.type->depth);
    }
  }
  if (t.instance) depth = std::max(depth, t.instance->depth);
  t.depth = depth + 1;
  if (t.depth > kMaxDeclaredTypeDepth) {
    return r.ExhaustedAt(at, std::string(TypeDefKindName(t.kind)) + " type nests deeper than " +
                                 std::to_string(kMaxDeclaredTypeDepth) + " levels");
  }
  return Status::Ok();
}

uint32_t FlatOf(const TypeRef& t) {
  return t ? t->flat_count : 0;
}

// ----- Resources and names

TypeRef Decoder::NewResource(bool defined, std::optional<uint32_t> dtor, std::string name) {
  auto t = std::make_shared<TypeDef>();
  t->kind = TypeDefKind::kResource;
  t->resource_defined = defined;
  t->resource_dtor = dtor;
  t->flat_count = 1;
  ++resource_counter_;
  if (name.empty()) {
    t->resource_name = "resource-" + std::to_string(resource_counter_ - 1);
    unnamed_resources_[t.get()] = t;
  } else {
    t->resource_name = std::move(name);
  }
  return t;
}

void Decoder::NameResource(const TypeRef& type, const std::string& name) {
  auto it = unnamed_resources_.find(type.get());
  if (it == unnamed_resources_.end()) return;
  // Interface names ("wasi:io/error@0.2.3") name instances, not resources; keep the synthetic
  // name rather than invent one from them.
  if (CheckLabel(name).empty()) it->second->resource_name = name;
  unnamed_resources_.erase(it);
}

TypeRef Decoder::NameType(const TypeRef& type, const std::string& name) {
  if (type->kind == TypeDefKind::kResource) {
    NameResource(type, name);
    return type;
  }
  // The first name wins, and each type is copied at most once: otherwise every export of a
  // large record would copy it again, which hostile input could use to exhaust memory.
  if (!type->is_value_type() || type->kind == TypeDefKind::kPrimitive || !type->name.empty()) {
    return type;
  }
  auto& named = named_copies_[type.get()];
  if (named.second == nullptr) {
    auto copy = std::make_shared<TypeDef>(*type);
    copy->name = name;
    named = {type, std::move(copy)};
  }
  return named.second;
}

// ----- Types

Result<TypeRef> Decoder::ReadValType(Scope& s, Reader& r) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t first, r.PeekByte());
  if (auto p = PrimitiveFromByte(first)) {
    THEATER_RETURN_IF_ERROR(r.ReadByte().status());
    return PrimitiveTypeRef(*p);
  }
  if (first == 0x64) return r.ValidationErrorAt(at, "error-context is not supported");
  THEATER_ASSIGN_OR_RETURN(const int64_t index, r.ReadS33());
  if (index < 0) return r.ParseErrorAt(at, "invalid value type " + HexNumber(first));
  THEATER_RETURN_IF_ERROR(CheckIndex(s, r, at, Sort::kType, static_cast<uint64_t>(index)));
  const TypeRef& t = s.types[static_cast<size_t>(index)];
  if (!t->is_value_type()) {
    return r.ValidationErrorAt(at, "type " + std::to_string(index) + " is a " +
                                       TypeDefKindName(t->kind) + " type, not a value type");
  }
  return t;
}

Result<TypeRef> Decoder::ReadDefValType(Scope& s, Reader& r) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t opcode, r.ReadByte());
  if (auto p = PrimitiveFromByte(opcode)) return PrimitiveTypeRef(*p);
  auto t = std::make_shared<TypeDef>();
  std::vector<const TypeDef*> children;
  auto read_labels = [&](const char* what, std::vector<std::string>* labels, uint32_t max) {
    THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount(what));
    if (n == 0) return r.ValidationErrorAt(at, std::string(what) + " type has no labels");
    if (n > max) {
      return r.ValidationErrorAt(at, std::string(what) + " type has " + std::to_string(n) +
                                         " labels (at most " + std::to_string(max) + ")");
    }
    std::set<std::string> keys;
    for (uint32_t i = 0; i < n; ++i) {
      const size_t label_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(std::string label, r.ReadName());
      if (std::string e = CheckLabel(label); !e.empty()) return r.ValidationErrorAt(label_at, e);
      if (!keys.insert(NameKey(label)).second) {
        return r.ValidationErrorAt(label_at, "duplicate label `" + label + "`");
      }
      labels->push_back(std::move(label));
    }
    return Status::Ok();
  };
  switch (opcode) {
    case 0x72:    // record
    case 0x71: {  // variant
      const bool record = opcode == 0x72;
      t->kind = record ? TypeDefKind::kRecord : TypeDefKind::kVariant;
      THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount(record ? "field" : "case"));
      if (n == 0) {
        return r.ValidationErrorAt(
            at, record ? "record type has no fields" : "variant type has no cases");
      }
      std::set<std::string> keys;
      uint32_t max_case_flat = 0;
      t->flat_count = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const size_t label_at = r.offset();
        NamedType field;
        THEATER_ASSIGN_OR_RETURN(field.name, r.ReadName());
        if (std::string e = CheckLabel(field.name); !e.empty()) {
          return r.ValidationErrorAt(label_at, e);
        }
        if (!keys.insert(NameKey(field.name)).second) {
          return r.ValidationErrorAt(
              label_at,
              std::string("duplicate ") + (record ? "field" : "case") + " `" + field.name + "`");
        }
        if (record) {
          THEATER_ASSIGN_OR_RETURN(field.type, ReadValType(s, r));
          t->flat_count = SaturatingAdd(t->flat_count, field.type->flat_count);
        } else {
          const size_t has_at = r.offset();
          THEATER_ASSIGN_OR_RETURN(const uint8_t has, r.ReadByte());
          if (has == 1) {
            THEATER_ASSIGN_OR_RETURN(field.type, ReadValType(s, r));
            max_case_flat = std::max(max_case_flat, field.type->flat_count);
          } else if (has != 0) {
            return r.ParseErrorAt(has_at, "invalid optional-type flag " + HexNumber(has));
          }
          const size_t refines_at = r.offset();
          THEATER_ASSIGN_OR_RETURN(const uint8_t refines, r.ReadByte());
          if (refines != 0) {
            return r.ValidationErrorAt(refines_at, "variant case `refines` is not supported");
          }
        }
        children.push_back(field.type.get());
        (record ? t->fields : t->cases).push_back(std::move(field));
      }
      if (!record) t->flat_count = SaturatingAdd(1, max_case_flat);
      break;
    }
    case 0x70:    // list
    case 0x6b: {  // option
      t->kind = opcode == 0x70 ? TypeDefKind::kList : TypeDefKind::kOption;
      THEATER_ASSIGN_OR_RETURN(t->element, ReadValType(s, r));
      children.push_back(t->element.get());
      if (opcode == 0x70) {
        t->flat_count = 2;
        t->has_string_or_list = true;
      } else {
        t->flat_count = SaturatingAdd(1, t->element->flat_count);
      }
      break;
    }
    case 0x6f: {  // tuple
      t->kind = TypeDefKind::kTuple;
      THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("tuple element"));
      if (n == 0) return r.ValidationErrorAt(at, "tuple type has no elements");
      t->flat_count = 0;
      for (uint32_t i = 0; i < n; ++i) {
        THEATER_ASSIGN_OR_RETURN(TypeRef e, ReadValType(s, r));
        t->flat_count = SaturatingAdd(t->flat_count, e->flat_count);
        children.push_back(e.get());
        t->elements.push_back(std::move(e));
      }
      break;
    }
    case 0x6e:  // flags
      t->kind = TypeDefKind::kFlags;
      THEATER_RETURN_IF_ERROR(read_labels("flags", &t->labels, 32));
      break;
    case 0x6d:  // enum
      t->kind = TypeDefKind::kEnum;
      THEATER_RETURN_IF_ERROR(read_labels("enum", &t->labels, UINT32_MAX));
      break;
    case 0x6a: {  // result
      t->kind = TypeDefKind::kResult;
      for (TypeRef* side : {&t->element, &t->error}) {
        const size_t has_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint8_t has, r.ReadByte());
        if (has == 1) {
          THEATER_ASSIGN_OR_RETURN(*side, ReadValType(s, r));
        } else if (has != 0) {
          return r.ParseErrorAt(has_at, "invalid optional-type flag " + HexNumber(has));
        }
      }
      children = {t->element.get(), t->error.get()};
      t->flat_count = SaturatingAdd(1, std::max(FlatOf(t->element), FlatOf(t->error)));
      break;
    }
    case 0x69:    // own
    case 0x68: {  // borrow
      t->kind = opcode == 0x69 ? TypeDefKind::kOwn : TypeDefKind::kBorrow;
      const size_t index_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint32_t index, ReadIndex(s, r, Sort::kType));
      t->resource = s.types[index];
      if (t->resource->kind != TypeDefKind::kResource) {
        return r.ValidationErrorAt(index_at, std::string(opcode == 0x69 ? "own" : "borrow") +
                                                 " of type " + std::to_string(index) + ", a " +
                                                 TypeDefKindName(t->resource->kind) +
                                                 " type, not a resource");
      }
      t->has_borrow = opcode == 0x68;
      break;
    }
    case 0x67:
      return r.ValidationErrorAt(at, "fixed-size lists are not supported");
    case 0x66:
    case 0x65:
      return r.ValidationErrorAt(at, std::string(opcode == 0x66 ? "stream" : "future") +
                                         " types (component-model async) are not supported");
    case 0x6c:
      return r.ValidationErrorAt(at, "union types were removed from the component model");
    case 0x64:
      return r.ValidationErrorAt(at, "error-context is not supported");
    default:
      return r.ParseErrorAt(at, "invalid type opcode " + HexNumber(opcode));
  }
  THEATER_RETURN_IF_ERROR(Finish(r, at, *t, children));
  return TypeRef(std::move(t));
}

Result<TypeRef> Decoder::ReadFuncType(Scope& s, Reader& r) {
  const size_t at = r.offset();
  auto t = std::make_shared<TypeDef>();
  t->kind = TypeDefKind::kFunc;
  std::vector<const TypeDef*> children;
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("parameter"));
  std::set<std::string> keys;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t label_at = r.offset();
    NamedType param;
    THEATER_ASSIGN_OR_RETURN(param.name, r.ReadName());
    if (std::string e = CheckLabel(param.name); !e.empty()) {
      return r.ValidationErrorAt(label_at, e);
    }
    if (!keys.insert(NameKey(param.name)).second) {
      return r.ValidationErrorAt(label_at, "duplicate parameter `" + param.name + "`");
    }
    THEATER_ASSIGN_OR_RETURN(param.type, ReadValType(s, r));
    children.push_back(param.type.get());
    t->params.push_back(std::move(param));
  }
  const size_t results_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t form, r.ReadByte());
  if (form == 0x00) {
    THEATER_ASSIGN_OR_RETURN(t->result, ReadValType(s, r));
    if (t->result->has_borrow) {
      return r.ValidationErrorAt(results_at, "function result contains a borrow handle");
    }
    children.push_back(t->result.get());
  } else if (form == 0x01) {
    THEATER_ASSIGN_OR_RETURN(const uint32_t named, r.ReadCount("result"));
    if (named != 0) {
      return r.ValidationErrorAt(results_at, "named function results are not supported");
    }
  } else {
    return r.ParseErrorAt(results_at, "invalid result list form " + HexNumber(form));
  }
  // A function is not itself a value: its depth and size only bound what ToAbiFunctionType
  // builds.
  THEATER_RETURN_IF_ERROR(Finish(r, at, *t, children, kMaxTypeDepth + 1));
  t->has_borrow = false;
  return TypeRef(std::move(t));
}

Result<TypeRef> Decoder::ReadTypeDef(Scope& s, Reader& r) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t opcode, r.PeekByte());
  switch (opcode) {
    case 0x40:
      THEATER_RETURN_IF_ERROR(r.ReadByte().status());
      return ReadFuncType(s, r);
    case 0x43:
      return r.ValidationErrorAt(at, "async function types are not supported");
    case 0x41:
    case 0x42:
      THEATER_RETURN_IF_ERROR(r.ReadByte().status());
      return ReadDeclaratorType(s, r, opcode == 0x41);
    case 0x3f: {
      THEATER_RETURN_IF_ERROR(r.ReadByte().status());
      if (s.is_type_scope()) {
        return r.ValidationErrorAt(at,
                                   "resource definitions are not allowed in a type "
                                   "declarator (import or export a resource instead)");
      }
      const size_t rep_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t rep, r.ReadByte());
      if (rep != 0x7f) {
        return r.ValidationErrorAt(rep_at, "resource representation must be i32");
      }
      std::optional<uint32_t> dtor;
      const size_t has_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t has, r.ReadByte());
      if (has == 1) {
        const size_t dtor_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(dtor, ReadIndex(s, r, Sort::kCoreFunc));
        const auto& sig = s.core_funcs[*dtor];
        if (sig && !(sig->params == std::vector{CoreValType::kI32} && sig->results.empty())) {
          return r.ValidationErrorAt(dtor_at, "resource destructor must have type [i32] -> []");
        }
      } else if (has != 0) {
        return r.ParseErrorAt(has_at, "invalid optional-index flag " + HexNumber(has));
      }
      TypeRef resource = NewResource(/*defined=*/true, dtor, "");
      s.local_resources.insert(resource.get());
      return resource;
    }
    case 0x3e:
      return r.ValidationErrorAt(at, "async resource destructors are not supported");
    default:
      return ReadDefValType(s, r);
  }
}

Result<std::string> Decoder::ReadExternName(Reader& r, bool is_import) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t prefix, r.ReadByte());
  // 0x01 marked interface names in older binaries; current tools emit 0x00 and infer the kind
  // from the spelling, as we do.
  if (prefix > 0x01) return r.ParseErrorAt(at, "invalid name prefix " + HexNumber(prefix));
  const size_t name_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(std::string name, r.ReadName());
  const std::string problem = is_import ? CheckImportName(name) : CheckExportName(name);
  if (!problem.empty()) {
    return r.ValidationErrorAt(
        name_at, std::string("invalid ") + (is_import ? "import" : "export") + " name: " + problem);
  }
  return name;
}

Result<ExternItem> Decoder::ReadExternDesc(Scope& s, Reader& r, const std::string& name) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t kind, r.ReadByte());
  ExternItem item;
  item.name = name;
  auto expect_type = [&](TypeDefKind want, const char* what) -> Result<TypeRef> {
    const size_t index_at = r.offset();
    THEATER_ASSIGN_OR_RETURN(const uint32_t index, ReadIndex(s, r, Sort::kType));
    const TypeRef& t = s.types[index];
    if (t->kind != want) {
      return r.ValidationErrorAt(index_at, std::string(what) + " refers to type " +
                                               std::to_string(index) + ", a " +
                                               TypeDefKindName(t->kind) + " type, not a " +
                                               TypeDefKindName(want) + " type");
    }
    return t;
  };
  switch (kind) {
    case 0x00: {
      const size_t sort_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t core_sort, r.ReadByte());
      if (core_sort != 0x11) {
        return r.ParseErrorAt(sort_at, "invalid core extern kind " + HexNumber(core_sort) +
                                           " (only core modules can be imported or exported)");
      }
      item.sort = Sort::kCoreModule;
      const size_t index_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint32_t index, ReadIndex(s, r, Sort::kCoreType));
      const auto& core = s.core_types[index];
      if (core->kind != CoreType::Kind::kModule) {
        return r.ValidationErrorAt(index_at,
                                   "core type " + std::to_string(index) + " is not a module type");
      }
      item.module = core->module;
      return item;
    }
    case 0x01: {
      item.sort = Sort::kFunc;
      THEATER_ASSIGN_OR_RETURN(item.type, expect_type(TypeDefKind::kFunc, "func"));
      return item;
    }
    case 0x02:
      return r.ValidationErrorAt(at, "values are not supported");
    case 0x03: {
      item.sort = Sort::kType;
      const size_t bound_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t bound, r.ReadByte());
      if (bound == 0x00) {
        THEATER_ASSIGN_OR_RETURN(const uint32_t index, ReadIndex(s, r, Sort::kType));
        item.type = NameType(s.types[index], name);
      } else if (bound == 0x01) {
        item.type =
            NewResource(/*defined=*/false, std::nullopt, CheckLabel(name).empty() ? name : "");
      } else {
        return r.ParseErrorAt(bound_at, "invalid type bound " + HexNumber(bound));
      }
      return item;
    }
    case 0x04: {
      item.sort = Sort::kComponent;
      THEATER_ASSIGN_OR_RETURN(item.type, expect_type(TypeDefKind::kComponent, "component"));
      return item;
    }
    case 0x05: {
      item.sort = Sort::kInstance;
      THEATER_ASSIGN_OR_RETURN(item.type, expect_type(TypeDefKind::kInstance, "instance"));
      return item;
    }
    default:
      return r.ParseErrorAt(at, "invalid extern kind " + HexNumber(kind));
  }
}

// Records an import or export of a component or a type declarator, and gives it its index.
Status Decoder::Declare(Scope& s, Reader& r, size_t at, ExternItem item, bool is_import,
                        Component* c) {
  std::set<std::string>& keys = is_import ? s.import_keys : s.export_keys;
  if (!keys.insert(NameKey(item.name)).second) {
    return r.ValidationErrorAt(at, std::string("duplicate ") + (is_import ? "import" : "export") +
                                       " name `" + item.name + "`");
  }
  Payload p;
  p.type = item.type;
  p.module = item.module;
  IndexEntry entry;
  if (c != nullptr && is_import) {
    entry = {Origin::kImport, static_cast<uint32_t>(c->imports.size())};
    c->imports.push_back(Import{item.name, item});
  }
  THEATER_RETURN_IF_ERROR(Push(s, r, at, item.sort, entry, std::move(p)));
  (is_import ? s.imports : s.exports).push_back(std::move(item));
  return Status::Ok();
}

Result<TypeRef> Decoder::ReadDeclaratorType(Scope& s, Reader& r, bool is_component) {
  const size_t at = r.offset();
  if (s.depth + 1 >= kMaxScopeDepth) {
    return r.ExhaustedAt(at, "scopes nest deeper than " + std::to_string(kMaxScopeDepth));
  }
  Scope inner;
  inner.kind = is_component ? Scope::Kind::kComponentType : Scope::Kind::kInstanceType;
  inner.parent = &s;
  inner.depth = s.depth + 1;
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("declarator"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t decl_at = r.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t kind, r.ReadByte());
    switch (kind) {
      case 0x00: {
        THEATER_ASSIGN_OR_RETURN(auto core, ReadCoreType(inner, r));
        Payload p;
        p.core_type = std::move(core);
        THEATER_RETURN_IF_ERROR(Push(inner, r, decl_at, Sort::kCoreType, {}, std::move(p)));
        break;
      }
      case 0x01: {
        THEATER_ASSIGN_OR_RETURN(TypeRef t, ReadTypeDef(inner, r));
        Payload p;
        p.type = std::move(t);
        THEATER_RETURN_IF_ERROR(Push(inner, r, decl_at, Sort::kType, {}, std::move(p)));
        break;
      }
      case 0x02: {
        Payload p;
        THEATER_ASSIGN_OR_RETURN(Alias alias, ReadAlias(inner, r, &p));
        THEATER_RETURN_IF_ERROR(Push(inner, r, decl_at, alias.sort, {}, std::move(p)));
        break;
      }
      case 0x03:
      case 0x04: {
        const bool is_import = kind == 0x03;
        if (is_import && !is_component) {
          return r.ParseErrorAt(decl_at, "instance types cannot declare imports");
        }
        const size_t name_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(std::string name, ReadExternName(r, is_import));
        THEATER_ASSIGN_OR_RETURN(ExternItem item, ReadExternDesc(inner, r, name));
        THEATER_RETURN_IF_ERROR(Declare(inner, r, name_at, std::move(item), is_import, nullptr));
        break;
      }
      default:
        return r.ParseErrorAt(decl_at, "invalid declarator kind " + HexNumber(kind));
    }
  }
  auto instance = std::make_shared<TypeDef>();
  instance->kind = TypeDefKind::kInstance;
  instance->exports = std::move(inner.exports);
  THEATER_RETURN_IF_ERROR(FinishDeclared(r, at, *instance));
  if (!is_component) return TypeRef(std::move(instance));
  auto component = std::make_shared<TypeDef>();
  component->kind = TypeDefKind::kComponent;
  component->imports = std::move(inner.imports);
  component->instance = std::move(instance);
  THEATER_RETURN_IF_ERROR(FinishDeclared(r, at, *component));
  return TypeRef(std::move(component));
}

// ----- Core types

Result<std::shared_ptr<const CoreModuleShape>> Decoder::ReadModuleType(Scope& s, Reader& r) {
  const size_t at = r.offset();
  if (s.depth + 1 >= kMaxScopeDepth) {
    return r.ExhaustedAt(at, "scopes nest deeper than " + std::to_string(kMaxScopeDepth));
  }
  Scope inner;
  inner.kind = Scope::Kind::kModuleType;
  inner.parent = &s;
  inner.depth = s.depth + 1;
  // The module type's core type space, by function signature (null for non-functions).
  std::vector<std::shared_ptr<const CoreFuncType>> funcs;
  auto shape = std::make_shared<CoreModuleShape>();
  std::set<std::pair<std::string, std::string>> import_names;
  std::set<std::string> export_names;
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("module type declarator"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t decl_at = r.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t kind, r.ReadByte());
    switch (kind) {
      case 0x00: {
        THEATER_ASSIGN_OR_RETURN(CoreImport import, ReadUniqueCoreImport(r, funcs, import_names));
        shape->imports.push_back(std::move(import));
        break;
      }
      case 0x01: {
        const size_t type_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint8_t form, r.ReadByte());
        if (form == 0x50) {
          return r.ValidationErrorAt(type_at, "module types cannot contain module types");
        }
        if (form != 0x60) {
          return r.ParseErrorAt(type_at,
                                "core type form " + HexNumber(form) +
                                    " is not a function type (GC types are not supported)");
        }
        THEATER_ASSIGN_OR_RETURN(CoreFuncType f, ReadCoreFuncTypeBody(r));
        auto func = std::make_shared<const CoreFuncType>(std::move(f));
        auto core = std::make_shared<CoreType>();
        core->func = func;
        Payload p;
        p.core_type = std::move(core);
        THEATER_RETURN_IF_ERROR(Push(inner, r, decl_at, Sort::kCoreType, {}, std::move(p)));
        funcs.push_back(std::move(func));
        break;
      }
      case 0x02: {
        const size_t sort_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint8_t sort, r.ReadByte());
        if (sort != 0x10) {
          return r.ValidationErrorAt(sort_at, "module type aliases must be of core types");
        }
        const size_t target_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint8_t target, r.ReadByte());
        if (target != 0x01) {
          return r.ParseErrorAt(target_at, "module type aliases must be outer aliases");
        }
        const size_t count_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, r.ReadU32());
        const Scope* target_scope = &inner;
        for (uint32_t k = 0; k < count && target_scope != nullptr; ++k) {
          target_scope = target_scope->parent;
        }
        if (target_scope == nullptr) {
          return r.ValidationErrorAt(count_at, "outer alias count " + std::to_string(count) +
                                                   " goes beyond the outermost scope");
        }
        const size_t index_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint32_t index, r.ReadU32());
        THEATER_RETURN_IF_ERROR(CheckIndex(*target_scope, r, index_at, Sort::kCoreType, index));
        const auto& core = target_scope->core_types[index];
        if (core->kind != CoreType::Kind::kFunc) {
          return r.ValidationErrorAt(index_at, "module types cannot alias module types");
        }
        Payload p;
        p.core_type = core;
        THEATER_RETURN_IF_ERROR(Push(inner, r, decl_at, Sort::kCoreType, {}, std::move(p)));
        funcs.push_back(core->func);
        break;
      }
      case 0x03: {
        CoreExport out;
        THEATER_ASSIGN_OR_RETURN(out.name, r.ReadName());
        THEATER_ASSIGN_OR_RETURN(out.type, ReadCoreImportDesc(r, funcs));
        if (!export_names.insert(out.name).second) {
          return r.ValidationErrorAt(decl_at, "duplicate export `" + out.name + "`");
        }
        shape->exports.push_back(std::move(out));
        break;
      }
      default:
        return r.ParseErrorAt(decl_at, "invalid module type declarator " + HexNumber(kind));
    }
  }
  return std::shared_ptr<const CoreModuleShape>(std::move(shape));
}

Result<std::shared_ptr<const CoreType>> Decoder::ReadCoreType(Scope& s, Reader& r) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t form, r.ReadByte());
  auto core = std::make_shared<CoreType>();
  if (form == 0x60) {
    THEATER_ASSIGN_OR_RETURN(CoreFuncType f, ReadCoreFuncTypeBody(r));
    core->kind = CoreType::Kind::kFunc;
    core->func = std::make_shared<const CoreFuncType>(std::move(f));
  } else if (form == 0x50) {
    core->kind = CoreType::Kind::kModule;
    THEATER_ASSIGN_OR_RETURN(core->module, ReadModuleType(s, r));
  } else {
    return r.ParseErrorAt(at, "core type form " + HexNumber(form) +
                                  " is not a function or module type (GC types are not supported)");
  }
  return std::shared_ptr<const CoreType>(std::move(core));
}

}  // namespace theater::component::decoding
