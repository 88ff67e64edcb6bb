// Theater: a WebAssembly actor runtime.
//
// Names of the enums, lookups on decoded shapes, and Component::Describe.
#include <string>

#include "abi/component/reader.h"
#include "common/bytes.h"
#include "theater/abi/component.h"

namespace theater::component {

const char* SortName(Sort sort) {
  switch (sort) {
    case Sort::kCoreFunc:
      return "core func";
    case Sort::kCoreTable:
      return "core table";
    case Sort::kCoreMemory:
      return "core memory";
    case Sort::kCoreGlobal:
      return "core global";
    case Sort::kCoreType:
      return "core type";
    case Sort::kCoreModule:
      return "core module";
    case Sort::kCoreInstance:
      return "core instance";
    case Sort::kFunc:
      return "func";
    case Sort::kValue:
      return "value";
    case Sort::kType:
      return "type";
    case Sort::kComponent:
      return "component";
    case Sort::kInstance:
      return "instance";
  }
  return "?";
}

const char* CoreExternKindName(CoreExternKind kind) {
  switch (kind) {
    case CoreExternKind::kFunc:
      return "function";
    case CoreExternKind::kTable:
      return "table";
    case CoreExternKind::kMemory:
      return "memory";
    case CoreExternKind::kGlobal:
      return "global";
    case CoreExternKind::kTag:
      return "tag";
  }
  return "?";
}

const char* TypeDefKindName(TypeDefKind kind) {
  static constexpr const char* kNames[] = {
      "primitive", "record", "variant", "list", "tuple",     "flags",    "enum",    "option",
      "result",    "own",    "borrow",  "func", "component", "instance", "resource"};
  const auto i = static_cast<size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "?";
}

const char* OriginName(Origin origin) {
  switch (origin) {
    case Origin::kImport:
      return "import";
    case Origin::kExport:
      return "export";
    case Origin::kAlias:
      return "alias";
    case Origin::kCanon:
      return "canon";
    case Origin::kDefinition:
      return "definition";
  }
  return "?";
}

const CoreExport* CoreModuleShape::FindExport(std::string_view name) const {
  for (const CoreExport& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const CoreExport* CoreInstanceShape::FindExport(std::string_view name) const {
  for (const CoreExport& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const ExternItem* TypeDef::FindExport(std::string_view export_name) const {
  for (const ExternItem& e : exports) {
    if (e.name == export_name) return &e;
  }
  return nullptr;
}

namespace {

std::string Quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string DescribeOptions(const CanonOptions& o) {
  static constexpr const char* kEncodings[] = {"utf8", "utf16", "latin1+utf16"};
  std::string out =
      std::string("string-encoding ") + kEncodings[static_cast<size_t>(o.string_encoding)];
  if (o.memory) out += ", memory " + std::to_string(*o.memory);
  if (o.realloc) out += ", realloc core func " + std::to_string(*o.realloc);
  if (o.post_return) out += ", post-return core func " + std::to_string(*o.post_return);
  return out;
}

}  // namespace

std::string Component::Describe(Sort sort, uint32_t index) const {
  const auto& entries = space(sort);
  std::string head = std::string(SortName(sort)) + " " + std::to_string(index) + ": ";
  if (index >= entries.size()) {
    return head + "out of range (" + std::to_string(entries.size()) + " defined)";
  }
  const IndexEntry& e = entries[index];
  switch (e.origin) {
    case Origin::kImport:
      return head + "import " + Quoted(imports[e.item].name);
    case Origin::kExport: {
      const Export& x = exports[e.item];
      return head + "export " + Quoted(x.name) + " of " + SortName(x.item.sort) + " " +
             std::to_string(x.item.index);
    }
    case Origin::kAlias: {
      const Alias& a = aliases[e.item];
      switch (a.kind) {
        case Alias::Kind::kInstanceExport:
          return head + "alias of export " + Quoted(a.name) + " of instance " +
                 std::to_string(a.instance);
        case Alias::Kind::kCoreInstanceExport:
          return head + "alias of export " + Quoted(a.name) + " of core instance " +
                 std::to_string(a.instance);
        case Alias::Kind::kOuter:
          return head + "outer alias of " + SortName(a.sort) + " " + std::to_string(a.outer_index) +
                 " of the scope " + std::to_string(a.outer_count) + " out";
      }
      break;
    }
    case Origin::kCanon: {
      const Canon& c = canons[e.item];
      switch (c.kind) {
        case Canon::Kind::kLift:
          return head + "canon lift of core func " + std::to_string(c.func) + " as type " +
                 std::to_string(c.type) + " (" + DescribeOptions(c.options) + ")";
        case Canon::Kind::kLower:
          return head + "canon lower of func " + std::to_string(c.func) + " (" +
                 DescribeOptions(c.options) + ")";
        case Canon::Kind::kResourceNew:
          return head + "canon resource.new of type " + std::to_string(c.type);
        case Canon::Kind::kResourceDrop:
          return head + "canon resource.drop of type " + std::to_string(c.type);
        case Canon::Kind::kResourceRep:
          return head + "canon resource.rep of type " + std::to_string(c.type);
      }
      break;
    }
    case Origin::kDefinition:
      switch (sort) {
        case Sort::kCoreModule: {
          const CoreModule& m = core_modules[e.item];
          return head + "core module of " + std::to_string(m.size) + " bytes at offset " +
                 HexNumber(m.offset);
        }
        case Sort::kCoreInstance: {
          const CoreInstance& i = core_instances[e.item];
          if (i.kind == CoreInstance::Kind::kFromExports) {
            return head + "core instance of " + std::to_string(i.exports.size()) +
                   " inline exports";
          }
          std::string out = head + "instantiation of core module " + std::to_string(i.module);
          for (const CoreInstantiateArg& arg : i.args) {
            out += (&arg == &i.args.front() ? " with " : ", ") + Quoted(arg.name) +
                   ": core instance " + std::to_string(arg.instance);
          }
          return out;
        }
        case Sort::kCoreType:
          return head + (core_types[e.item]->kind == CoreType::Kind::kFunc ? "core func type"
                                                                           : "core module type");
        case Sort::kComponent:
          return head + "nested component " + std::to_string(e.item);
        case Sort::kInstance: {
          const Instance& i = instances[e.item];
          if (i.kind == Instance::Kind::kFromExports) {
            return head + "instance of " + std::to_string(i.exports.size()) + " inline exports";
          }
          return head + "instantiation of component " + std::to_string(i.component);
        }
        case Sort::kType:
          return head + TypeDefKindName(types[e.item]->kind) + " type definition";
        default:
          break;
      }
      break;
  }
  return head + OriginName(e.origin);
}

}  // namespace theater::component
