// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/ts_generator.h"

#include <map>
#include <set>

#include "abi/bindgen/names.h"

namespace theater::bindgen {
namespace {

using abi::Type;
using abi::TypeKind;

// Nesting deeper than this in one type is refused rather than followed (the WIT parser bounds it
// further up; this keeps the generator's own recursion bounded whatever it is given).
constexpr int kMaxTypeScriptDepth = 64;

// Where a type is written: inside the module of an imported interface, or in the world's
// namespace of exports. Named types of the same scope are written by their bare name.
struct Scope {
  const InterfaceInfo* owner = nullptr;
};

class Writer {
 public:
  Writer(const WorldModel& model, std::string world_namespace)
      : model_(model), namespace_(std::move(world_namespace)) {}

  // The TypeScript type of `type` as a value (a parameter, a field, an element).
  Result<std::string> ValueType(const Type& type, const Scope& scope, int depth = 0) const {
    if (depth > kMaxTypeScriptDepth) return InvalidArgument("a type nested too deeply for TypeScript");
    if (const NamedTypeInfo* named = model_.FindNamed(type); named && depth > 0) {
      return Reference(*named, scope);
    }
    switch (type.kind) {
      case TypeKind::kBool:
        return std::string("boolean");
      case TypeKind::kS8:
      case TypeKind::kU8:
      case TypeKind::kS16:
      case TypeKind::kU16:
      case TypeKind::kS32:
      case TypeKind::kU32:
      case TypeKind::kF32:
      case TypeKind::kF64:
        return std::string("number");
      case TypeKind::kS64:
      case TypeKind::kU64:
        return std::string("bigint");
      case TypeKind::kChar:
      case TypeKind::kString:
        return std::string("string");
      case TypeKind::kList: {
        if (const char* typed = TypedArray(type.element->kind)) return std::string(typed);
        THEATER_ASSIGN_OR_RETURN(std::string element, ValueType(*type.element, scope, depth + 1));
        return "Array<" + element + ">";
      }
      case TypeKind::kTuple: {
        std::string out = "[";
        for (size_t i = 0; i < type.elements.size(); ++i) {
          THEATER_ASSIGN_OR_RETURN(std::string element,
                                   ValueType(*type.elements[i], scope, depth + 1));
          out += (i ? ", " : "") + element;
        }
        return out + "]";
      }
      case TypeKind::kOption: {
        THEATER_ASSIGN_OR_RETURN(std::string element, ValueType(*type.element, scope, depth + 1));
        // An option of an option cannot be told apart by undefined alone.
        if (type.element->kind == TypeKind::kOption && !model_.FindNamed(*type.element)) {
          return "{ tag: 'none' } | { tag: 'some', val: " + element + " }";
        }
        return element + " | undefined";
      }
      case TypeKind::kResult: {
        THEATER_ASSIGN_OR_RETURN(std::string ok, Payload(type.ok, scope, depth));
        THEATER_ASSIGN_OR_RETURN(std::string err, Payload(type.err, scope, depth));
        return "{ tag: 'ok', val: " + ok + " } | { tag: 'err', val: " + err + " }";
      }
      case TypeKind::kRecord: {
        std::string out = "{ ";
        for (const abi::Field& field : type.fields) {
          THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(*field.type, scope, depth + 1));
          out += TsMemberName(field.name) + ": " + value + "; ";
        }
        return out + "}";
      }
      case TypeKind::kVariant: {
        std::string out;
        for (size_t i = 0; i < type.cases.size(); ++i) {
          const abi::Case& c = type.cases[i];
          out += (i ? " | " : "") + std::string("{ tag: '") + c.name + "'";
          if (c.type) {
            THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(*c.type, scope, depth + 1));
            out += ", val: " + value;
          }
          out += " }";
        }
        return out;
      }
      case TypeKind::kEnum: {
        std::string out;
        for (size_t i = 0; i < type.labels.size(); ++i) {
          out += (i ? " | '" : "'") + type.labels[i] + "'";
        }
        return out;
      }
      case TypeKind::kFlags: {
        std::string out = "{ ";
        for (const std::string& label : type.labels) out += TsMemberName(label) + "?: boolean; ";
        return out + "}";
      }
      case TypeKind::kOwn:
      case TypeKind::kBorrow:
        return std::string("unknown");
    }
    return InternalError("unknown WIT type kind");
  }

  // A named type's declaration inside its scope: an interface for records and flags, a type
  // alias for everything else.
  Result<std::string> Declaration(const Type& type, const NamedTypeInfo& named) const {
    const Scope scope{named.owner};
    const std::string name = TsTypeName(named.wit_name);
    if (type.kind == TypeKind::kRecord || type.kind == TypeKind::kFlags) {
      std::string out = "export interface " + name + " {\n";
      if (type.kind == TypeKind::kFlags) {
        for (const std::string& label : type.labels) {
          out += "  " + TsMemberName(label) + "?: boolean;\n";
        }
      } else {
        for (const abi::Field& field : type.fields) {
          THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(*field.type, scope, 1));
          // An option field may be left out of an object literal.
          const bool optional = field.type->kind == TypeKind::kOption;
          out += "  " + TsMemberName(field.name) + (optional ? "?: " : ": ") + value + ";\n";
        }
      }
      return out + "}\n";
    }
    THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(type, scope, 0));
    return "export type " + name + " = " + value + ";\n";
  }

  // `name(params): result;` for a function of `scope`.
  Result<std::string> Signature(const FunctionInfo& function, const Scope& scope) const {
    std::string out = TsMemberName(function.function->name) + "(";
    const auto& params = function.function->type.params;
    for (size_t i = 0; i < params.size(); ++i) {
      THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(*params[i].type, scope, 1));
      out += (i ? ", " : "") + TsMemberName(params[i].name) + ": " + value;
    }
    out += "): ";
    if (!function.result) return out + "void;";
    const Type& result = *function.result;
    // A result<T, E> returned is T; an err is an exception (thrown by the host's import, or by
    // the actor's export to return one).
    if (result.kind == TypeKind::kResult && !model_.FindNamed(result)) {
      THEATER_ASSIGN_OR_RETURN(std::string ok, Payload(result.ok, scope, 0));
      return out + (result.ok ? ok : "void") + ";";
    }
    THEATER_ASSIGN_OR_RETURN(std::string value, ValueType(result, scope, 1));
    return out + value + ";";
  }

 private:
  Result<std::string> Payload(const abi::TypePtr& type, const Scope& scope, int depth) const {
    if (!type) return std::string("undefined");
    return ValueType(*type, scope, depth + 1);
  }

  std::string Reference(const NamedTypeInfo& named, const Scope& scope) const {
    const std::string name = TsTypeName(named.wit_name);
    if (named.owner == scope.owner) return name;
    if (named.owner->exported || named.owner->interface == nullptr) {
      return namespace_ + "." + name;
    }
    return "import('" + named.owner->interface->qualified_name + "')." + name;
  }

  static const char* TypedArray(TypeKind element) {
    switch (element) {
      case TypeKind::kU8:
        return "Uint8Array";
      case TypeKind::kS8:
        return "Int8Array";
      case TypeKind::kU16:
        return "Uint16Array";
      case TypeKind::kS16:
        return "Int16Array";
      case TypeKind::kU32:
        return "Uint32Array";
      case TypeKind::kS32:
        return "Int32Array";
      case TypeKind::kU64:
        return "BigUint64Array";
      case TypeKind::kS64:
        return "BigInt64Array";
      case TypeKind::kF32:
        return "Float32Array";
      case TypeKind::kF64:
        return "Float64Array";
      default:
        return nullptr;
    }
  }

  const WorldModel& model_;
  std::string namespace_;
};

// `text` as a JSDoc comment indented by `indent`, or "" when there is none.
std::string Doc(const std::string& text, const std::string& indent) {
  if (text.empty()) return "";
  std::string out = indent + "/**\n";
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    // "*/" would end the comment early.
    for (size_t at = line.find("*/"); at != std::string::npos; at = line.find("*/", at)) {
      line.replace(at, 2, "*\\/");
    }
    out += indent + " *" + (line.empty() ? "" : " " + line) + "\n";
    start = end + 1;
  }
  return out + indent + " */\n";
}

std::string Indent(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out += "  " + text.substr(start, end - start);
    out += "\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string TsTypeName(std::string_view wit_name) {
  std::string out = CamelName(wit_name);
  // CamelName escapes C and C++ keywords; none of its results is a TypeScript keyword.
  if (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

std::string TsMemberName(std::string_view wit_name) {
  std::string out = TsTypeName(wit_name);
  if (!out.empty() && out.front() >= 'A' && out.front() <= 'Z') {
    out.front() = static_cast<char>(out.front() - 'A' + 'a');
  }
  return out;
}

Result<std::string> GenerateTypeScript(const WorldModel& model) {
  const wit::World& world = model.world();
  const std::string world_namespace = TsTypeName(world.name);
  Writer writer(model, world_namespace);

  // Named types and functions, by the interface they belong to.
  std::map<const InterfaceInfo*, std::vector<abi::TypePtr>> types;
  for (const abi::TypePtr& type : model.named_types()) {
    if (const NamedTypeInfo* named = model.FindNamed(*type)) types[named->owner].push_back(type);
  }
  std::map<const InterfaceInfo*, std::vector<const FunctionInfo*>> functions;
  for (const FunctionInfo& function : model.functions()) {
    if (function.function->kind != wit::FunctionKind::kFreestanding) continue;  // resources
    functions[function.owner].push_back(&function);
  }

  std::string out =
      "// Generated by `theater bindgen --lang ts` from WIT world " + world.qualified_name +
      ".\n"
      "// Do not edit: regenerate instead. See docs/writing-actors-js.md.\n"
      "//\n"
      "// The modules this world imports, as `import { ... } from '<interface>'` sees them, and\n"
      "// the objects it exports, as the interfaces of namespace " +
      world_namespace + ".\n\n";

  std::string exports;
  for (const auto& owned : model.interfaces()) {
    const InterfaceInfo& info = *owned;
    const Scope scope{&info};
    std::string body;
    for (const abi::TypePtr& type : types[&info]) {
      THEATER_ASSIGN_OR_RETURN(std::string declaration,
                               writer.Declaration(*type, *model.FindNamed(*type)));
      body += declaration;
    }
    if (info.interface == nullptr) {
      // The world's own types, and its own exported functions as function types (`export const
      // run: <World>.Run = ...`). Its own imported functions are not declared.
      for (const FunctionInfo* function : functions[&info]) {
        if (!function->exported) continue;
        THEATER_ASSIGN_OR_RETURN(std::string signature, writer.Signature(*function, scope));
        const size_t paren = signature.find('(');
        const size_t colon = signature.rfind("): ");
        body += Doc(function->function->docs, "") + "export type " +
                TsTypeName(function->function->name) + " = " +
                signature.substr(paren, colon + 1 - paren) + " => " +
                signature.substr(colon + 3, signature.size() - colon - 4) + ";\n";
      }
      exports += body;
      continue;
    }
    if (!info.exported) {
      for (const FunctionInfo* function : functions[&info]) {
        THEATER_ASSIGN_OR_RETURN(std::string signature, writer.Signature(*function, scope));
        body += Doc(function->function->docs, "") + "export function " + signature + "\n";
      }
    }
    if (info.exported) {
      std::string object = Doc(info.interface->docs, "") + "export interface " +
                           TsTypeName(info.interface->name) + " {\n";
      for (const FunctionInfo* function : functions[&info]) {
        THEATER_ASSIGN_OR_RETURN(std::string signature, writer.Signature(*function, scope));
        object += Indent(Doc(function->function->docs, "") + signature);
      }
      exports += body + object + "}\n";
      continue;
    }
    // The specifier componentize-js imports it by: the interface's full name, version included.
    out += Doc(info.interface->docs, "") + "declare module '" + info.interface->qualified_name +
           "' {\n" + Indent(body) + "}\n\n";
  }
  out += "// What the actor exports: `export const <name>: " + world_namespace +
         ".<Interface> = { ... }`.\n" + Doc(world.docs, "") + "declare namespace " +
         world_namespace + " {\n" + Indent(exports) + "}\n";
  return out;
}

}  // namespace theater::bindgen
