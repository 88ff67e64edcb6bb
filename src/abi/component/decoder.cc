// Theater: a WebAssembly actor runtime.
//
// The component decoder's index spaces, aliases and sections, and DecodeComponent (decoder.h says
// how decoding is organised; decoder_types.cc reads the types).
#include "abi/component/decoder.h"
#include "common/bytes.h"

namespace theater::component {
namespace decoding {
namespace {

std::string SameName(std::string_view name) {
  return std::string(name);
}

// Reads a counted vector of `Item`s (each with a `name`) into `out`, one `read_item(item)` each,
// and refuses a name given twice. `key` says when two names are the same: core names compare as
// bytes, component names as NameKey does. Why one reader: instantiation arguments and inline
// exports, core and component, differ only in what one item holds.
template <typename Item, typename ReadItem>
Status ReadUniquelyNamed(Reader& r, std::string_view what, std::string (*key)(std::string_view),
                         std::vector<Item>& out, ReadItem read_item) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount(what));
  std::set<std::string> names;
  for (uint32_t k = 0; k < n; ++k) {
    const size_t at = r.offset();
    Item item;
    THEATER_RETURN_IF_ERROR(read_item(item));
    if (!names.insert(key(item.name)).second) {
      return r.ValidationErrorAt(at, "duplicate " + std::string(what) + " `" + item.name + "`");
    }
    out.push_back(std::move(item));
  }
  return Status::Ok();
}

// Calls `visit(space, value)` with the scope's index space for `sort` and the Payload member that
// carries one of its entries. Tables, memories, globals and values carry nothing and are not
// visited. Why: Push and PayloadOf are the two directions of one mapping, written once here.
template <typename ScopeRef, typename Visit>
void VisitSpace(ScopeRef& s, Payload& p, Sort sort, Visit visit) {
  switch (sort) {
    case Sort::kCoreFunc:
      return visit(s.core_funcs, p.core_func);
    case Sort::kCoreType:
      return visit(s.core_types, p.core_type);
    case Sort::kCoreModule:
      return visit(s.core_modules, p.module);
    case Sort::kCoreInstance:
      return visit(s.core_instances, p.core_instance);
    case Sort::kFunc:
      return visit(s.funcs, p.type);
    case Sort::kType:
      return visit(s.types, p.type);
    case Sort::kComponent:
      return visit(s.components, p.type);
    case Sort::kInstance:
      return visit(s.instances, p.type);
    case Sort::kCoreTable:
    case Sort::kCoreMemory:
    case Sort::kCoreGlobal:
    case Sort::kValue:
      return;
  }
}

}  // namespace

// ----- Index spaces

Status Decoder::Push(Scope& s, const Reader& r, size_t at, Sort sort, IndexEntry entry,
                     Payload payload) {
  const auto k = static_cast<size_t>(sort);
  if (s.counts[k] >= kMaxIndexSpaceSize) {
    return r.ExhaustedAt(at, std::string(SortName(sort)) + " index space exceeds " +
                                 std::to_string(kMaxIndexSpaceSize) + " entries");
  }
  if (sort == Sort::kValue) return r.ValidationErrorAt(at, "values are not supported");
  ++s.counts[k];
  if (s.kind == Scope::Kind::kComponent) s.entries[k].push_back(entry);
  VisitSpace(s, payload, sort, [](auto& space, auto& value) { space.push_back(std::move(value)); });
  return Status::Ok();
}

Status Decoder::CheckIndex(const Scope& s, const Reader& r, size_t at, Sort sort,
                           uint64_t index) const {
  if (index < s.count(sort)) return Status::Ok();
  return r.ValidationErrorAt(at, OutOfRange(sort, index, s.count(sort)));
}

Result<uint32_t> Decoder::ReadIndex(const Scope& s, Reader& r, Sort sort) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint32_t index, r.ReadU32());
  THEATER_RETURN_IF_ERROR(CheckIndex(s, r, at, sort, index));
  return index;
}

Payload Decoder::PayloadOf(const Scope& s, Sort sort, uint32_t index) const {
  Payload p;
  VisitSpace(s, p, sort, [index](auto& space, auto& value) { value = space[index]; });
  return p;
}

Result<Sort> Decoder::ReadSort(Reader& r) {
  const size_t at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t byte, r.ReadByte());
  switch (byte) {
    case 0x00: {
      THEATER_ASSIGN_OR_RETURN(const uint8_t core, r.ReadByte());
      switch (core) {
        case 0x00:
          return Sort::kCoreFunc;
        case 0x01:
          return Sort::kCoreTable;
        case 0x02:
          return Sort::kCoreMemory;
        case 0x03:
          return Sort::kCoreGlobal;
        case 0x10:
          return Sort::kCoreType;
        case 0x11:
          return Sort::kCoreModule;
        case 0x12:
          return Sort::kCoreInstance;
        default:
          return r.ParseErrorAt(at, "invalid core sort " + HexNumber(core));
      }
    }
    case 0x01:
      return Sort::kFunc;
    case 0x02:
      return Sort::kValue;
    case 0x03:
      return Sort::kType;
    case 0x04:
      return Sort::kComponent;
    case 0x05:
      return Sort::kInstance;
    default:
      return r.ParseErrorAt(at, "invalid sort " + HexNumber(byte));
  }
}

// The extern type of an existing item, for exports and inline-export instances.
Result<ExternItem> Decoder::ItemOf(const Scope& s, const Reader& r, size_t at, SortIndex item,
                                   const std::string& name) {
  if (item.sort == Sort::kValue) return r.ValidationErrorAt(at, "values are not supported");
  if (IsCoreSort(item.sort) && item.sort != Sort::kCoreModule) {
    return r.ValidationErrorAt(
        at, std::string("a ") + SortName(item.sort) + " cannot be exported from a component");
  }
  THEATER_RETURN_IF_ERROR(CheckIndex(s, r, at, item.sort, item.index));
  Payload p = PayloadOf(s, item.sort, item.index);
  ExternItem out;
  out.name = name;
  out.sort = item.sort;
  out.type = std::move(p.type);
  out.module = std::move(p.module);
  return out;
}

// ----- Aliases

Result<Alias> Decoder::ReadAlias(Scope& s, Reader& r, Payload* payload) {
  Alias alias;
  const size_t sort_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(alias.sort, ReadSort(r));
  if (alias.sort == Sort::kValue) return r.ValidationErrorAt(sort_at, "values are not supported");
  const size_t target_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t target, r.ReadByte());
  switch (target) {
    case 0x00: {
      alias.kind = Alias::Kind::kInstanceExport;
      if (IsCoreSort(alias.sort) && alias.sort != Sort::kCoreModule) {
        return r.ValidationErrorAt(sort_at, std::string("a ") + SortName(alias.sort) +
                                                " cannot be an export of a component instance");
      }
      THEATER_ASSIGN_OR_RETURN(alias.instance, ReadIndex(s, r, Sort::kInstance));
      const size_t name_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(alias.name, r.ReadName());
      const TypeDef& instance = *s.instances[alias.instance];
      THEATER_RETURN_IF_ERROR(Spend(r, instance.exports.size()));
      const ExternItem* item = instance.FindExport(alias.name);
      if (item == nullptr) {
        return r.ValidationErrorAt(name_at, "instance " + std::to_string(alias.instance) +
                                                " has no export named `" + alias.name + "`");
      }
      if (item->sort != alias.sort) {
        return r.ValidationErrorAt(
            name_at, "export `" + alias.name + "` of instance " + std::to_string(alias.instance) +
                         " is a " + SortName(item->sort) + ", not a " + SortName(alias.sort));
      }
      payload->type = item->type;
      payload->module = item->module;
      return alias;
    }
    case 0x01: {
      alias.kind = Alias::Kind::kCoreInstanceExport;
      static constexpr std::pair<Sort, CoreExternKind> kCoreKinds[] = {
          {Sort::kCoreFunc, CoreExternKind::kFunc},
          {Sort::kCoreTable, CoreExternKind::kTable},
          {Sort::kCoreMemory, CoreExternKind::kMemory},
          {Sort::kCoreGlobal, CoreExternKind::kGlobal}};
      const auto* kind = std::find_if(std::begin(kCoreKinds), std::end(kCoreKinds),
                                      [&](const auto& k) { return k.first == alias.sort; });
      if (kind == std::end(kCoreKinds)) {
        return r.ValidationErrorAt(sort_at, std::string("a ") + SortName(alias.sort) +
                                                " cannot be an export of a core instance");
      }
      THEATER_ASSIGN_OR_RETURN(alias.instance, ReadIndex(s, r, Sort::kCoreInstance));
      const size_t name_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(alias.name, r.ReadName());
      const CoreInstanceShape& instance = *s.core_instances[alias.instance];
      THEATER_RETURN_IF_ERROR(Spend(r, instance.exports.size()));
      const CoreExport* item = instance.FindExport(alias.name);
      if (item == nullptr) {
        return r.ValidationErrorAt(name_at, "core instance " + std::to_string(alias.instance) +
                                                " has no export named `" + alias.name + "`");
      }
      if (item->type.kind != kind->second) {
        return r.ValidationErrorAt(name_at, "export `" + alias.name + "` of core instance " +
                                                std::to_string(alias.instance) + " is a " +
                                                CoreExternKindName(item->type.kind) + ", not a " +
                                                CoreExternKindName(kind->second));
      }
      payload->core_func = item->type.func;
      return alias;
    }
    case 0x02: {
      alias.kind = Alias::Kind::kOuter;
      const bool allowed =
          s.is_type_scope() ? (alias.sort == Sort::kType || alias.sort == Sort::kCoreType)
                            : (alias.sort == Sort::kType || alias.sort == Sort::kCoreType ||
                               alias.sort == Sort::kCoreModule || alias.sort == Sort::kComponent);
      if (!allowed) {
        return r.ValidationErrorAt(sort_at, std::string("outer aliases cannot refer to a ") +
                                                SortName(alias.sort) +
                                                (s.is_type_scope() ? " in a type declarator" : ""));
      }
      const size_t count_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(alias.outer_count, r.ReadU32());
      const Scope* target = &s;
      bool crosses_component = false;
      for (uint32_t k = 0; k < alias.outer_count && target != nullptr; ++k) {
        crosses_component = crosses_component || target->kind == Scope::Kind::kComponent;
        target = target->parent;
      }
      if (target == nullptr) {
        return r.ValidationErrorAt(count_at, "outer alias count " +
                                                 std::to_string(alias.outer_count) +
                                                 " goes beyond the outermost scope (" +
                                                 std::to_string(s.depth) + " enclosing)");
      }
      const size_t index_at = r.offset();
      THEATER_ASSIGN_OR_RETURN(alias.outer_index, r.ReadU32());
      THEATER_RETURN_IF_ERROR(CheckIndex(*target, r, index_at, alias.sort, alias.outer_index));
      *payload = PayloadOf(*target, alias.sort, alias.outer_index);
      if (crosses_component && payload->type && payload->type->kind == TypeDefKind::kResource &&
          payload->type->resource_defined) {
        return r.ValidationErrorAt(index_at,
                                   "outer alias of a resource defined in an enclosing "
                                   "component (resource types are generative)");
      }
      return alias;
    }
    default:
      return r.ParseErrorAt(target_at, "invalid alias target " + HexNumber(target));
  }
}

// ----- Sections

Status Decoder::DecodeCustom(Component& c, Reader& r) {
  CustomSection custom;
  THEATER_ASSIGN_OR_RETURN(custom.name, r.ReadName());
  custom.offset = r.offset();
  custom.size = r.remaining();
  THEATER_RETURN_IF_ERROR(r.ReadBytes(r.remaining()).status());
  c.custom_sections.push_back(std::move(custom));
  return Status::Ok();
}

Status Decoder::DecodeCoreModule(Scope& s, Component& c, Reader& r) {
  const size_t at = r.offset();
  CoreModule module;
  module.offset = at;
  module.size = r.remaining();
  Reader body = r;
  THEATER_ASSIGN_OR_RETURN(module.shape, ReadCoreModuleShape(body));
  THEATER_RETURN_IF_ERROR(r.ReadBytes(r.remaining()).status());
  Payload p;
  p.module = module.shape;
  THEATER_RETURN_IF_ERROR(Define(s, r, at, Sort::kCoreModule, Origin::kDefinition, std::move(p),
                                 c.core_modules, std::move(module)));
  return Status::Ok();
}

Status Decoder::InstantiateCore(const Scope& s, const Reader& r, size_t at, uint32_t module,
                                const std::vector<CoreInstantiateArg>& args) {
  const CoreModuleShape& shape = *s.core_modules[module];
  THEATER_RETURN_IF_ERROR(Spend(r, shape.imports.size() + args.size()));
  for (const CoreImport& import : shape.imports) {
    const auto arg = std::find_if(args.begin(), args.end(), [&](const CoreInstantiateArg& a) {
      return a.name == import.module;
    });
    if (arg == args.end()) {
      return r.ValidationErrorAt(
          at, "core module " + std::to_string(module) + " imports `" + import.module + "` `" +
                  import.name + "` but no instantiation argument is named `" + import.module + "`");
    }
    const CoreInstanceShape& instance = *s.core_instances[arg->instance];
    THEATER_RETURN_IF_ERROR(Spend(r, instance.exports.size()));
    const CoreExport* provided = instance.FindExport(import.name);
    const std::string what = "core module " + std::to_string(module) + " import `" + import.module +
                             "` `" + import.name + "`: core instance " +
                             std::to_string(arg->instance);
    if (provided == nullptr) {
      return r.ValidationErrorAt(at, what + " has no export of that name");
    }
    if (provided->type.kind != import.type.kind) {
      return r.ValidationErrorAt(at, what + " exports a " +
                                         CoreExternKindName(provided->type.kind) + ", not a " +
                                         CoreExternKindName(import.type.kind));
    }
    if (provided->type.func && import.type.func && *provided->type.func != *import.type.func) {
      return r.ValidationErrorAt(at, what + " exports a function of another signature");
    }
  }
  return Status::Ok();
}

Status Decoder::DecodeCoreInstances(Scope& s, Component& c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("core instance"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    CoreInstance instance;
    THEATER_ASSIGN_OR_RETURN(const uint8_t kind, r.ReadByte());
    if (kind == 0x00) {
      instance.kind = CoreInstance::Kind::kInstantiate;
      THEATER_ASSIGN_OR_RETURN(instance.module, ReadIndex(s, r, Sort::kCoreModule));
      THEATER_RETURN_IF_ERROR(ReadUniquelyNamed(
          r, "instantiation argument", SameName, instance.args,
          [&](CoreInstantiateArg& arg) -> Status {
            THEATER_ASSIGN_OR_RETURN(arg.name, r.ReadName());
            const size_t sort_at = r.offset();
            THEATER_ASSIGN_OR_RETURN(const uint8_t sort, r.ReadByte());
            if (sort != 0x12) {
              return r.ParseErrorAt(sort_at,
                                    "core instantiation arguments must be core instances "
                                    "(sort 0x12), not " +
                                        HexNumber(sort));
            }
            THEATER_ASSIGN_OR_RETURN(arg.instance, ReadIndex(s, r, Sort::kCoreInstance));
            return Status::Ok();
          }));
      THEATER_RETURN_IF_ERROR(InstantiateCore(s, r, at, instance.module, instance.args));
      const auto& module = s.core_modules[instance.module];
      auto& cached = module_instances_[module.get()];
      if (cached.second == nullptr) {
        auto shape = std::make_shared<CoreInstanceShape>();
        shape->exports = module->exports;
        cached = {module, std::move(shape)};
      }
      instance.shape = cached.second;
    } else if (kind == 0x01) {
      instance.kind = CoreInstance::Kind::kFromExports;
      auto shape = std::make_shared<CoreInstanceShape>();
      THEATER_RETURN_IF_ERROR(ReadUniquelyNamed(
          r, "core export", SameName, instance.exports, [&](CoreInlineExport& e) -> Status {
            THEATER_ASSIGN_OR_RETURN(e.name, r.ReadName());
            const size_t sort_at = r.offset();
            THEATER_ASSIGN_OR_RETURN(const uint8_t sort, r.ReadByte());
            if (sort > 0x03) {
              return r.ValidationErrorAt(sort_at,
                                         "core instance exports must be functions, tables, "
                                         "memories or globals, not sort " +
                                             HexNumber(sort));
            }
            e.sort = static_cast<Sort>(sort);  // kCoreFunc..kCoreGlobal match the core sort bytes
            THEATER_ASSIGN_OR_RETURN(e.index, ReadIndex(s, r, e.sort));
            return Status::Ok();
          }));
      for (const CoreInlineExport& e : instance.exports) {
        CoreExport out;
        out.name = e.name;
        out.type.kind = static_cast<CoreExternKind>(e.sort);
        if (e.sort == Sort::kCoreFunc) out.type.func = s.core_funcs[e.index];
        shape->exports.push_back(std::move(out));
      }
      instance.shape = std::move(shape);
    } else {
      return r.ParseErrorAt(at, "invalid core instance kind " + HexNumber(kind));
    }
    Payload p;
    p.core_instance = instance.shape;
    THEATER_RETURN_IF_ERROR(Define(s, r, at, Sort::kCoreInstance, Origin::kDefinition, std::move(p),
                                   c.core_instances, std::move(instance)));
  }
  return Status::Ok();
}

Status Decoder::DecodeCoreTypes(Scope& s, Component* c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("core type"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    THEATER_ASSIGN_OR_RETURN(auto core, ReadCoreType(s, r));
    Payload p;
    p.core_type = core;
    THEATER_RETURN_IF_ERROR(Define(s, r, at, Sort::kCoreType, Origin::kDefinition, std::move(p),
                                   c->core_types, std::move(core)));
  }
  return Status::Ok();
}

Status Decoder::DecodeNestedComponent(Scope& s, Component& c, Reader& r) {
  const size_t at = r.offset();
  if (s.depth + 1 >= kMaxScopeDepth) {
    return r.ExhaustedAt(at, "components nest deeper than " + std::to_string(kMaxScopeDepth));
  }
  Reader body = r;
  auto nested = DecodeComponentIn(body, &s);
  if (!nested.ok()) {
    return nested.status().WithContext("in nested component " +
                                       std::to_string(c.components.size()) + " at offset " +
                                       HexNumber(at));
  }
  THEATER_RETURN_IF_ERROR(r.ReadBytes(r.remaining()).status());
  Payload p;
  p.type = (*nested)->type;
  THEATER_RETURN_IF_ERROR(Define(s, r, at, Sort::kComponent, Origin::kDefinition, std::move(p),
                                 c.components, std::move(*nested)));
  return Status::Ok();
}

Status Decoder::InstantiateComponent(const Scope& s, const Reader& r, size_t at, uint32_t component,
                                     const std::vector<InstantiateArg>& args) {
  const TypeDef& type = *s.components[component];
  THEATER_RETURN_IF_ERROR(Spend(r, type.imports.size() * (args.size() + 1)));
  for (const ExternItem& import : type.imports) {
    const auto arg = std::find_if(args.begin(), args.end(),
                                  [&](const InstantiateArg& a) { return a.name == import.name; });
    if (arg == args.end()) {
      return r.ValidationErrorAt(at, "component " + std::to_string(component) + " imports `" +
                                         import.name +
                                         "` but no instantiation argument is named so");
    }
    if (arg->item.sort != import.sort) {
      return r.ValidationErrorAt(at, "instantiation argument `" + arg->name + "` is a " +
                                         SortName(arg->item.sort) + " but component " +
                                         std::to_string(component) + " imports a " +
                                         SortName(import.sort));
    }
  }
  return Status::Ok();
}

Status Decoder::DecodeInstances(Scope& s, Component& c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("instance"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    Instance instance;
    THEATER_ASSIGN_OR_RETURN(const uint8_t kind, r.ReadByte());
    if (kind == 0x00) {
      instance.kind = Instance::Kind::kInstantiate;
      THEATER_ASSIGN_OR_RETURN(instance.component, ReadIndex(s, r, Sort::kComponent));
      THEATER_RETURN_IF_ERROR(ReadUniquelyNamed(
          r, "instantiation argument", NameKey, instance.args, [&](InstantiateArg& arg) -> Status {
            THEATER_ASSIGN_OR_RETURN(arg.name, r.ReadName());
            THEATER_ASSIGN_OR_RETURN(arg.item.sort, ReadSort(r));
            const size_t index_at = r.offset();
            THEATER_ASSIGN_OR_RETURN(arg.item.index, r.ReadU32());
            if (arg.item.sort == Sort::kValue) {
              return r.ValidationErrorAt(index_at, "values are not supported");
            }
            return CheckIndex(s, r, index_at, arg.item.sort, arg.item.index);
          }));
      THEATER_RETURN_IF_ERROR(InstantiateComponent(s, r, at, instance.component, instance.args));
      instance.type = s.components[instance.component]->instance;
    } else if (kind == 0x01) {
      instance.kind = Instance::Kind::kFromExports;
      auto type = std::make_shared<TypeDef>();
      type->kind = TypeDefKind::kInstance;
      THEATER_RETURN_IF_ERROR(
          ReadUniquelyNamed(r, "export", NameKey, instance.exports, [&](InlineExport& e) -> Status {
            THEATER_ASSIGN_OR_RETURN(e.name, ReadExternName(r, /*is_import=*/false));
            THEATER_ASSIGN_OR_RETURN(e.item.sort, ReadSort(r));
            const size_t index_at = r.offset();
            THEATER_ASSIGN_OR_RETURN(e.item.index, r.ReadU32());
            THEATER_ASSIGN_OR_RETURN(ExternItem item, ItemOf(s, r, index_at, e.item, e.name));
            if (item.sort == Sort::kType) item.type = NameType(item.type, e.name);
            type->exports.push_back(std::move(item));
            return Status::Ok();
          }));
      THEATER_RETURN_IF_ERROR(FinishDeclared(r, at, *type));
      instance.type = std::move(type);
    } else {
      return r.ParseErrorAt(at, "invalid instance kind " + HexNumber(kind));
    }
    Payload p;
    p.type = instance.type;
    THEATER_RETURN_IF_ERROR(Define(s, r, at, Sort::kInstance, Origin::kDefinition, std::move(p),
                                   c.instances, std::move(instance)));
  }
  return Status::Ok();
}

Status Decoder::DecodeAliases(Scope& s, Component* c, Reader& r, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    Payload p;
    THEATER_ASSIGN_OR_RETURN(Alias alias, ReadAlias(s, r, &p));
    const Sort sort = alias.sort;
    THEATER_RETURN_IF_ERROR(
        Define(s, r, at, sort, Origin::kAlias, std::move(p), c->aliases, std::move(alias)));
  }
  return Status::Ok();
}

Status Decoder::DecodeTypes(Scope& s, Component* c, Reader& r, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    THEATER_ASSIGN_OR_RETURN(TypeRef t, ReadTypeDef(s, r));
    Payload p;
    p.type = t;
    THEATER_RETURN_IF_ERROR(
        Define(s, r, at, Sort::kType, Origin::kDefinition, std::move(p), c->types, std::move(t)));
  }
  return Status::Ok();
}

Result<CanonOptions> Decoder::ReadCanonOptions(Scope& s, Reader& r, bool is_lift) {
  CanonOptions options;
  bool encoding_set = false;
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("canon option"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t opt, r.ReadByte());
    auto once = [&](auto& field, const char* name) -> Status {
      if (field.has_value()) {
        return r.ValidationErrorAt(at,
                                   std::string("canon option `") + name + "` given more than once");
      }
      return Status::Ok();
    };
    switch (opt) {
      case 0x00:
      case 0x01:
      case 0x02:
        if (encoding_set) {
          return r.ValidationErrorAt(at, "canon option string-encoding given more than once");
        }
        encoding_set = true;
        options.string_encoding = static_cast<StringEncoding>(opt);
        break;
      case 0x03: {
        THEATER_RETURN_IF_ERROR(once(options.memory, "memory"));
        THEATER_ASSIGN_OR_RETURN(options.memory, ReadIndex(s, r, Sort::kCoreMemory));
        break;
      }
      case 0x04: {
        THEATER_RETURN_IF_ERROR(once(options.realloc, "realloc"));
        THEATER_ASSIGN_OR_RETURN(options.realloc, ReadIndex(s, r, Sort::kCoreFunc));
        const auto& sig = s.core_funcs[*options.realloc];
        static const CoreFuncType kRealloc{
            {CoreValType::kI32, CoreValType::kI32, CoreValType::kI32, CoreValType::kI32},
            {CoreValType::kI32}};
        if (sig && *sig != kRealloc) {
          return r.ValidationErrorAt(at, "canon option `realloc`: core func " +
                                             std::to_string(*options.realloc) +
                                             " does not have type (i32, i32, i32, i32) -> i32");
        }
        break;
      }
      case 0x05: {
        THEATER_RETURN_IF_ERROR(once(options.post_return, "post-return"));
        if (!is_lift) {
          return r.ValidationErrorAt(at, "canon option `post-return` is only allowed on lift");
        }
        THEATER_ASSIGN_OR_RETURN(options.post_return, ReadIndex(s, r, Sort::kCoreFunc));
        break;
      }
      case 0x06:
        return r.ValidationErrorAt(at,
                                   "canon option `async` (component-model async) is not "
                                   "supported");
      case 0x07:
        return r.ValidationErrorAt(at,
                                   "canon option `callback` (component-model async) is not "
                                   "supported");
      case 0x08:
        return r.ValidationErrorAt(at,
                                   "canon option `always-task-return` (component-model "
                                   "async) is not supported");
      default:
        return r.ParseErrorAt(at, "invalid canon option " + HexNumber(opt));
    }
  }
  return options;
}

// The options the canonical ABI needs to move this function's values: memory for strings, lists
// and spilled parameters or results; realloc wherever the callee side must allocate.
Status Decoder::CheckCanonOptions(const Reader& r, size_t at, const CanonOptions& options,
                                  const TypeDef& func, bool is_lift) {
  bool params_use_heap = false;
  uint32_t flat_params = 0;
  for (const NamedType& p : func.params) {
    params_use_heap = params_use_heap || p.type->has_string_or_list;
    flat_params = SaturatingAdd(flat_params, p.type->flat_count);
  }
  const bool result_uses_heap = func.result && func.result->has_string_or_list;
  const uint32_t flat_results = FlatOf(func.result);
  const bool spills = flat_params > kMaxFlatParams || flat_results > kMaxFlatResults;
  const char* what = is_lift ? "canon lift" : "canon lower";
  if ((params_use_heap || result_uses_heap || spills) && !options.memory) {
    return r.ValidationErrorAt(at, std::string(what) +
                                       ": option `memory` is required (the function passes "
                                       "strings, lists or more values than fit in registers)");
  }
  const bool needs_realloc =
      is_lift ? (params_use_heap || flat_params > kMaxFlatParams) : result_uses_heap;
  if (needs_realloc && !options.realloc) {
    return r.ValidationErrorAt(at, std::string(what) +
                                       ": option `realloc` is required (values must be allocated "
                                       "in the guest's memory)");
  }
  return Status::Ok();
}

Status Decoder::DecodeCanons(Scope& s, Component& c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("canon"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    Canon canon;
    Payload p;
    Sort sort = Sort::kCoreFunc;
    THEATER_ASSIGN_OR_RETURN(const uint8_t opcode, r.ReadByte());
    switch (opcode) {
      case 0x00:
      case 0x01: {
        const bool lift = opcode == 0x00;
        const size_t sort_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(const uint8_t func_sort, r.ReadByte());
        if (func_sort != 0x00) {
          return r.ParseErrorAt(sort_at, "invalid canon " + std::string(lift ? "lift" : "lower") +
                                             " sort byte " + HexNumber(func_sort));
        }
        canon.kind = lift ? Canon::Kind::kLift : Canon::Kind::kLower;
        THEATER_ASSIGN_OR_RETURN(canon.func, ReadIndex(s, r, lift ? Sort::kCoreFunc : Sort::kFunc));
        THEATER_ASSIGN_OR_RETURN(canon.options, ReadCanonOptions(s, r, lift));
        if (lift) {
          const size_t type_at = r.offset();
          THEATER_ASSIGN_OR_RETURN(canon.type, ReadIndex(s, r, Sort::kType));
          canon.func_type = s.types[canon.type];
          if (canon.func_type->kind != TypeDefKind::kFunc) {
            return r.ValidationErrorAt(
                type_at, "canon lift: type " + std::to_string(canon.type) + " is a " +
                             TypeDefKindName(canon.func_type->kind) + " type, not a func type");
          }
          sort = Sort::kFunc;
          p.type = canon.func_type;
        } else {
          canon.func_type = s.funcs[canon.func];
        }
        THEATER_RETURN_IF_ERROR(CheckCanonOptions(r, at, canon.options, *canon.func_type, lift));
        break;
      }
      case 0x02:
      case 0x03:
      case 0x04: {
        static constexpr Canon::Kind kKinds[] = {
            Canon::Kind::kResourceNew, Canon::Kind::kResourceDrop, Canon::Kind::kResourceRep};
        static constexpr const char* kNames[] = {"resource.new", "resource.drop", "resource.rep"};
        canon.kind = kKinds[opcode - 0x02];
        const char* name = kNames[opcode - 0x02];
        const size_t type_at = r.offset();
        THEATER_ASSIGN_OR_RETURN(canon.type, ReadIndex(s, r, Sort::kType));
        canon.resource = s.types[canon.type];
        if (canon.resource->kind != TypeDefKind::kResource) {
          return r.ValidationErrorAt(type_at, std::string("canon ") + name + ": type " +
                                                  std::to_string(canon.type) + " is a " +
                                                  TypeDefKindName(canon.resource->kind) +
                                                  " type, not a resource");
        }
        if (canon.kind != Canon::Kind::kResourceDrop &&
            !s.local_resources.contains(canon.resource.get())) {
          return r.ValidationErrorAt(type_at, std::string("canon ") + name + ": resource type " +
                                                  std::to_string(canon.type) +
                                                  " is not defined by this component");
        }
        auto sig = std::make_shared<CoreFuncType>();
        sig->params = {CoreValType::kI32};
        if (canon.kind != Canon::Kind::kResourceDrop) sig->results = {CoreValType::kI32};
        p.core_func = std::move(sig);
        break;
      }
      case 0x07:
        return r.ValidationErrorAt(at, "canon resource.drop async is not supported");
      default:
        if (opcode >= 0x05 && opcode <= 0x42) {
          return r.ValidationErrorAt(at, "canon opcode " + HexNumber(opcode) +
                                             " is a component-model async, stream, future, "
                                             "error-context or thread builtin, which is not "
                                             "supported");
        }
        return r.ParseErrorAt(at, "invalid canon opcode " + HexNumber(opcode));
    }
    THEATER_RETURN_IF_ERROR(Push(
        s, r, at, sort, {Origin::kCanon, static_cast<uint32_t>(c.canons.size())}, std::move(p)));
    c.canons.push_back(std::move(canon));
  }
  return Status::Ok();
}

Status Decoder::DecodeStart(Scope& s, Component& c, Reader& r) {
  const size_t at = r.offset();
  if (c.start) return r.ValidationErrorAt(at, "more than one start section");
  Start start;
  THEATER_ASSIGN_OR_RETURN(start.func, ReadIndex(s, r, Sort::kFunc));
  const size_t args_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint32_t args, r.ReadCount("start argument"));
  if (args != 0) return r.ValidationErrorAt(args_at, "start arguments (values) are not supported");
  const size_t results_at = r.offset();
  THEATER_ASSIGN_OR_RETURN(const uint32_t results, r.ReadU32());
  if (results != 0) {
    return r.ValidationErrorAt(results_at, "start results (values) are not supported");
  }
  const TypeDef& type = *s.funcs[start.func];
  if (!type.params.empty() || type.result) {
    return r.ValidationErrorAt(at, "start function " + std::to_string(start.func) +
                                       " must take no parameters and return nothing");
  }
  c.start = start;
  return Status::Ok();
}

Status Decoder::DecodeImports(Scope& s, Component& c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("import"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    THEATER_ASSIGN_OR_RETURN(std::string name, ReadExternName(r, /*is_import=*/true));
    THEATER_ASSIGN_OR_RETURN(ExternItem item, ReadExternDesc(s, r, name));
    THEATER_RETURN_IF_ERROR(Declare(s, r, at, std::move(item), /*is_import=*/true, &c));
  }
  return Status::Ok();
}

Status Decoder::DecodeExports(Scope& s, Component& c, Reader& r) {
  THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("export"));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    Export e;
    THEATER_ASSIGN_OR_RETURN(e.name, ReadExternName(r, /*is_import=*/false));
    THEATER_ASSIGN_OR_RETURN(e.item.sort, ReadSort(r));
    const size_t index_at = r.offset();
    THEATER_ASSIGN_OR_RETURN(e.item.index, r.ReadU32());
    THEATER_ASSIGN_OR_RETURN(e.desc, ItemOf(s, r, index_at, e.item, e.name));
    const size_t desc_at = r.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t has_desc, r.ReadByte());
    if (has_desc == 1) {
      THEATER_ASSIGN_OR_RETURN(ExternItem ascribed, ReadExternDesc(s, r, e.name));
      if (ascribed.sort != e.item.sort) {
        return r.ValidationErrorAt(desc_at, "export `" + e.name + "` of a " +
                                                SortName(e.item.sort) + " is declared as a " +
                                                SortName(ascribed.sort));
      }
      // A `(sub resource)` ascription makes a fresh resource only for the outside; inside, the
      // export keeps denoting the exported type.
      if (ascribed.sort != Sort::kType) e.desc = std::move(ascribed);
    } else if (has_desc != 0) {
      return r.ParseErrorAt(desc_at, "invalid optional-externdesc flag " + HexNumber(has_desc));
    }
    if (e.desc.sort == Sort::kType) e.desc.type = NameType(e.desc.type, e.name);
    const size_t export_index = c.exports.size();
    if (!s.export_keys.insert(NameKey(e.name)).second) {
      return r.ValidationErrorAt(at, "duplicate export name `" + e.name + "`");
    }
    Payload p;
    p.type = e.desc.type;
    p.module = e.desc.module;
    THEATER_RETURN_IF_ERROR(Push(s, r, at, e.item.sort,
                                 {Origin::kExport, static_cast<uint32_t>(export_index)},
                                 std::move(p)));
    s.exports.push_back(e.desc);
    c.exports.push_back(std::move(e));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Component>> Decoder::DecodeComponentIn(Reader& reader, Scope* parent) {
  const size_t start = reader.offset();
  THEATER_ASSIGN_OR_RETURN(auto preamble,
                           reader.ReadBytes(std::min<size_t>(8, reader.remaining())));
  if (preamble.size() < 8 || !std::equal(kMagic, kMagic + 4, preamble.begin())) {
    return reader.ParseErrorAt(start, "not a WebAssembly binary (bad magic or too short)");
  }
  const uint16_t version = preamble[4] | (preamble[5] << 8);
  const uint16_t layer = preamble[6] | (preamble[7] << 8);
  if (layer == 0) {
    return reader.ParseErrorAt(start,
                               "this is a core module, not a component (layer 0); "
                               "wrap it with `wasm-tools component new`");
  }
  if (layer != 1) return reader.ParseErrorAt(start, "unknown binary layer " + HexNumber(layer));
  if (version != 0x0d) {
    return reader.ParseErrorAt(
        start, "unsupported component binary version " + HexNumber(version) + " (expected 0xd)");
  }

  auto component = std::make_unique<Component>();
  component->bytes_ = bytes_;
  Scope scope;
  scope.kind = Scope::Kind::kComponent;
  scope.parent = parent;
  scope.depth = parent ? parent->depth + 1 : 0;

  while (!reader.done()) {
    const size_t section_at = reader.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t id, reader.ReadByte());
    const size_t size_at = reader.offset();
    THEATER_ASSIGN_OR_RETURN(const uint32_t size, reader.ReadU32());
    const std::string context =
        "component section " + std::to_string(id) + " (" + SectionName(id) + ")";
    if (size > reader.remaining()) {
      return reader.ParseErrorAt(size_at, context + " of " + std::to_string(size) +
                                              " bytes overruns the " +
                                              std::to_string(reader.remaining()) + " bytes left");
    }
    THEATER_ASSIGN_OR_RETURN(Reader r, reader.Sub(size, context));
    Component& c = *component;
    switch (id) {
      case 0:
        THEATER_RETURN_IF_ERROR(DecodeCustom(c, r));
        break;
      case 1:
        THEATER_RETURN_IF_ERROR(DecodeCoreModule(scope, c, r));
        break;
      case 2:
        THEATER_RETURN_IF_ERROR(DecodeCoreInstances(scope, c, r));
        break;
      case 3:
        THEATER_RETURN_IF_ERROR(DecodeCoreTypes(scope, &c, r));
        break;
      case 4:
        THEATER_RETURN_IF_ERROR(DecodeNestedComponent(scope, c, r));
        break;
      case 5:
        THEATER_RETURN_IF_ERROR(DecodeInstances(scope, c, r));
        break;
      case 6: {
        THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("alias"));
        THEATER_RETURN_IF_ERROR(DecodeAliases(scope, &c, r, n));
        break;
      }
      case 7: {
        THEATER_ASSIGN_OR_RETURN(const uint32_t n, r.ReadCount("type"));
        THEATER_RETURN_IF_ERROR(DecodeTypes(scope, &c, r, n));
        break;
      }
      case 8:
        THEATER_RETURN_IF_ERROR(DecodeCanons(scope, c, r));
        break;
      case 9:
        THEATER_RETURN_IF_ERROR(DecodeStart(scope, c, r));
        break;
      case 10:
        THEATER_RETURN_IF_ERROR(DecodeImports(scope, c, r));
        break;
      case 11:
        THEATER_RETURN_IF_ERROR(DecodeExports(scope, c, r));
        break;
      case 12:
        return r.ValidationErrorAt(r.offset(), "value definitions are not supported");
      default:
        return reader.ParseErrorAt(section_at,
                                   "unknown component section id " + std::to_string(id));
    }
    THEATER_RETURN_IF_ERROR(r.ExpectDone());
  }

  for (size_t k = 0; k < kSortCount; ++k) component->spaces_[k] = std::move(scope.entries[k]);
  component->type_space_ = std::move(scope.types);
  component->func_space_ = std::move(scope.funcs);
  component->instance_space_ = std::move(scope.instances);
  component->component_space_ = std::move(scope.components);
  component->core_type_space_ = std::move(scope.core_types);
  component->core_module_space_ = std::move(scope.core_modules);
  component->core_instance_space_ = std::move(scope.core_instances);
  component->core_func_space_ = std::move(scope.core_funcs);
  auto instance = std::make_shared<TypeDef>();
  instance->kind = TypeDefKind::kInstance;
  instance->exports = std::move(scope.exports);
  THEATER_RETURN_IF_ERROR(FinishDeclared(reader, start, *instance));
  auto type = std::make_shared<TypeDef>();
  type->kind = TypeDefKind::kComponent;
  type->imports = std::move(scope.imports);
  type->instance = std::move(instance);
  THEATER_RETURN_IF_ERROR(FinishDeclared(reader, start, *type));
  component->type = std::move(type);
  return component;
}

}  // namespace decoding

Result<std::unique_ptr<const Component>> DecodeComponent(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxComponentBytes) {
    return ResourceExhausted("component of " + std::to_string(bytes.size()) +
                             " bytes exceeds the limit of " + std::to_string(kMaxComponentBytes));
  }
  auto owned = std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  decoding::Decoder decoder(owned);
  Reader reader(*owned, 0, "component");
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<Component> component,
                           decoder.DecodeComponentIn(reader, nullptr));
  return std::unique_ptr<const Component>(std::move(component));
}


}  // namespace theater::component
