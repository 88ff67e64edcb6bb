// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/cpp_generator.h"

#include <map>
#include <set>

#include "abi/bindgen/c_generator.h"
#include "abi/bindgen/export_defaults.h"
#include "abi/bindgen/names.h"

namespace theater::bindgen {
namespace {

using abi::Type;
using abi::TypeKind;

// "::w::iface::Name" -> {"w::iface", "Name"}.
std::pair<std::string, std::string> SplitQualified(const std::string& qualified) {
  const size_t at = qualified.rfind("::");
  return {qualified.substr(2, at - 2), qualified.substr(at + 2)};
}

// WIT doc comments as `//` lines.
std::string LineComment(const std::string& docs, const std::string& indent) {
  if (docs.empty()) return "";
  std::string out = indent + "// ";
  for (char c : docs) {
    out += c;
    if (c == '\n') out += indent + "// ";
  }
  return out + "\n";
}

// theater_bindgen::Result, shared by every bindings header (hence the guard).
constexpr const char* kResultClass = R"(#ifndef THEATER_BINDGEN_RESULT_
#define THEATER_BINDGEN_RESULT_
namespace theater_bindgen {
// True when V can be built from `parts`, unless that is one V itself (Ok(V) and Err(V) take it,
// braced lists included).
template <typename V, typename... A>
inline constexpr bool kBuilds =
    std::is_constructible_v<V, A...> &&
    !(sizeof...(A) == 1 && (std::is_same_v<std::remove_cvref_t<A>, V> && ...));

// WIT result<T, E>; a `_` side is std::monostate.
template <typename T, typename E>
class Result {
 public:
  Result() = default;
  static Result Ok(T value) { return Result(std::in_place_index<0>, std::move(value)); }
  static Result Err(E error) { return Result(std::in_place_index<1>, std::move(error)); }
  // Ok(a, b, ...) and Err(...) build the value from its parts, e.g. the elements of a tuple:
  // Ok(state, response) for result<tuple<option<list<u8>>, tuple<r>>, string>; Ok() is the
  // empty value (std::monostate for `_`).
  template <typename... A>
    requires kBuilds<T, A...>
  static Result Ok(A&&... parts) {
    return Result(std::in_place_index<0>, T(std::forward<A>(parts)...));
  }
  template <typename... A>
    requires kBuilds<E, A...>
  static Result Err(A&&... parts) {
    return Result(std::in_place_index<1>, E(std::forward<A>(parts)...));
  }
  bool ok() const { return v_.index() == 0; }
  T& value() { return *std::get_if<0>(&v_); }
  const T& value() const { return *std::get_if<0>(&v_); }
  E& error() { return *std::get_if<1>(&v_); }
  const E& error() const { return *std::get_if<1>(&v_); }

 private:
  template <size_t I, typename V>
  Result(std::in_place_index_t<I> index, V&& v) : v_(index, std::forward<V>(v)) {}
  std::variant<T, E> v_;
};
}  // namespace theater_bindgen
#endif

)";

class CppEmitter {
 public:
  explicit CppEmitter(const WorldModel& model) : model_(model), c_(model), p_(model.prefix()) {}

  Result<CppLayer> Run();

 private:
  std::string CppType(const Type& t) const;
  std::string ParamType(const Type& t, bool exported) const;
  std::string VariantAlternative(const abi::Case& c) const;
  std::string FactoryName(const abi::Case& c) const;
  const ResourceInfo* ImportedResource(const Type& t) const;

  void Declare(const Type& t);  // struct definitions, dependencies first
  void DefineConversions(const Type& t);
  std::string FromC(const Type& t, const std::string& in, const std::string& out) const;
  std::string ToC(const Type& t, const std::string& in, const std::string& out) const;

  std::string Namespace(const InterfaceInfo& owner, bool exported) const;
  std::string ExportName(const FunctionInfo& fn) const;
  bool WantsAlias(const Type& t) const;
  void ReserveExportNames();
  std::string SharedAliases();
  std::string Signature(const FunctionInfo& fn, const std::string& name, bool skip_self) const;
  void EmitImport(const FunctionInfo& fn);
  void EmitExport(const FunctionInfo& fn);

  const WorldModel& model_;
  CNames c_;
  std::string p_;
  std::set<const Type*> declared_;
  std::set<std::string> converted_;
  std::map<std::string, std::string> defs_;  // namespace -> struct definitions, in order
  std::string structs_;                      // header: struct definitions in dependency order
  std::string conversions_;                  // source
  std::map<const ResourceInfo*, std::string> members_;  // class member declarations
  std::string member_defs_;                             // source
  std::string functions_h_;
  std::string functions_s_;
  // The names declared in each exports namespace ("w::exports::iface"): the actor's functions
  // first, then the aliases, so that an alias never hides a function or another alias.
  std::map<std::string, std::set<std::string>> taken_;
};

const ResourceInfo* CppEmitter::ImportedResource(const Type& t) const {
  if (t.kind != TypeKind::kOwn) return nullptr;
  const ResourceInfo* res = model_.FindResource(t);
  return res->exported() ? nullptr : res;
}

std::string CppEmitter::CppType(const Type& t) const {
  if (const ResourceInfo* res = ImportedResource(t)) return res->cpp_name;
  if (IsHandle(t)) return c_.CName(t);
  if (const NamedTypeInfo* named = model_.FindNamed(t); named && IsDeclaredShape(t)) {
    return named->cpp_name;
  }
  switch (t.kind) {
    case TypeKind::kChar:
      return "char32_t";
    case TypeKind::kString:
      return "std::string";
    case TypeKind::kList:
      return "std::vector<" + CppType(*t.element) + ">";
    case TypeKind::kOption:
      return "std::optional<" + CppType(*t.element) + ">";
    case TypeKind::kResult:
      return "::theater_bindgen::Result<" + (t.ok ? CppType(*t.ok) : "std::monostate") + ", " +
             (t.err ? CppType(*t.err) : "std::monostate") + ">";
    case TypeKind::kTuple: {
      std::string out = "std::tuple<";
      for (size_t i = 0; i < t.elements.size(); i++) {
        out += (i ? ", " : "") + CppType(*t.elements[i]);
      }
      return out + ">";
    }
    default:
      return c_.StructuralCName(t);  // bool, integers, floats
  }
}

std::string CppEmitter::ParamType(const Type& t, bool exported) const {
  if (exported) return CppType(t);  // the callee owns its arguments
  if (t.kind == TypeKind::kString) return "std::string_view";
  if (t.kind == TypeKind::kList) {
    if (t.element->kind == TypeKind::kBool) return "const std::vector<bool>&";
    return "std::span<const " + CppType(*t.element) + ">";
  }
  if (ImportedResource(t)) return CppType(t);  // moved in: the host takes the handle
  if (IsScalar(t)) return CppType(t);
  return "const " + CppType(t) + "&";
}

std::string CppEmitter::VariantAlternative(const abi::Case& c) const {
  return c.type ? CppType(*c.type) : "std::monostate";
}

std::string CppEmitter::FactoryName(const abi::Case& c) const {
  std::string name = CamelName(c.name);
  return name == "Case" || name == "Tag" ? name + "_" : name;
}

// ---- types ------------------------------------------------------------------------------------

void CppEmitter::Declare(const Type& t) {
  if (!declared_.insert(&t).second) return;
  switch (t.kind) {
    case TypeKind::kList:
    case TypeKind::kOption:
      Declare(*t.element);
      break;
    case TypeKind::kResult:
      if (t.ok) Declare(*t.ok);
      if (t.err) Declare(*t.err);
      break;
    case TypeKind::kTuple:
      for (const abi::TypePtr& e : t.elements) Declare(*e);
      break;
    case TypeKind::kRecord:
      for (const abi::Field& f : t.fields) Declare(*f.type);
      break;
    case TypeKind::kVariant:
      for (const abi::Case& c : t.cases) {
        if (c.type) Declare(*c.type);
      }
      break;
    default:
      break;
  }
  const NamedTypeInfo* named = model_.FindNamed(t);
  if (named == nullptr || (t.kind != TypeKind::kRecord && t.kind != TypeKind::kVariant)) return;
  auto [ns, name] = SplitQualified(named->cpp_name);
  std::string& s = structs_;
  s += "namespace " + ns + " {\n";
  s += "// WIT " + std::string(TypeKindName(t.kind)) + " `" + named->wit_name + "`.\n";
  s += "struct " + name + " {\n";
  if (t.kind == TypeKind::kRecord) {
    for (const abi::Field& f : t.fields)
      s += "  " + CppType(*f.type) + " " + SnakeName(f.name) + "{};\n";
  } else {
    s += "  enum class Case : " + CNames::DiscriminantType(t.cases.size()) + " {";
    for (size_t i = 0; i < t.cases.size(); i++) {
      s += std::string(i ? ", " : " ") + "k" + CamelName(t.cases[i].name);
    }
    s += " };\n";
    std::string alternatives;
    for (size_t i = 0; i < t.cases.size(); i++) {
      alternatives += (i ? ", " : "") + VariantAlternative(t.cases[i]);
    }
    s += "  using Value = std::variant<" + alternatives + ">;\n";
    s += "  Value value;\n";
    s += "  Case tag() const { return static_cast<Case>(value.index()); }\n";
    for (size_t i = 0; i < t.cases.size(); i++) {
      const abi::Case& c = t.cases[i];
      const std::string index = "std::in_place_index<" + std::to_string(i) + ">";
      if (c.type) {
        s += "  static " + name + " " + FactoryName(c) + "(" + CppType(*c.type) +
             " v) {\n    return " + name + "{Value(" + index + ", std::move(v))};\n  }\n";
      } else {
        s += "  static " + name + " " + FactoryName(c) + "() { return " + name + "{Value(" + index +
             ")}; }\n";
      }
    }
  }
  s += "};\n}  // namespace " + ns + "\n\n";
}

std::string CppEmitter::FromC(const Type& t, const std::string& in, const std::string& out) const {
  if (const ResourceInfo* res = ImportedResource(t)) {
    return out + " = " + res->cpp_name + "(" + in + ");";
  }
  if (IsHandle(t)) return out + " = " + in + ";";
  switch (t.kind) {
    case TypeKind::kChar:
      return out + " = static_cast<char32_t>(" + in + ");";
    case TypeKind::kEnum:
      return out + " = static_cast<" + CppType(t) + ">(" + in + ");";
    case TypeKind::kFlags:
      return out + ".bits = " + in + ";";
    default:
      if (IsScalar(t)) return out + " = " + in + ";";
      return "FromC(" + in + ", " + out + ");";
  }
}

std::string CppEmitter::ToC(const Type& t, const std::string& in, const std::string& out) const {
  if (ImportedResource(t)) return out + " = (" + in + ").Release();";
  if (IsHandle(t)) return out + " = " + in + ";";
  switch (t.kind) {
    case TypeKind::kChar:
      return out + " = static_cast<uint32_t>(" + in + ");";
    case TypeKind::kEnum:
      return out + " = static_cast<" + c_.CName(t) + ">(" + in + ");";
    case TypeKind::kFlags:
      return out + " = " + in + ".bits;";
    default:
      if (IsScalar(t)) return out + " = " + in + ";";
      return "ToC(" + in + ", " + out + ");";
  }
}

void CppEmitter::DefineConversions(const Type& t) {
  switch (t.kind) {
    case TypeKind::kList:
    case TypeKind::kOption:
      DefineConversions(*t.element);
      break;
    case TypeKind::kResult:
      if (t.ok) DefineConversions(*t.ok);
      if (t.err) DefineConversions(*t.err);
      break;
    case TypeKind::kTuple:
      for (const abi::TypePtr& e : t.elements) DefineConversions(*e);
      break;
    case TypeKind::kRecord:
      for (const abi::Field& f : t.fields) DefineConversions(*f.type);
      break;
    case TypeKind::kVariant:
      for (const abi::Case& c : t.cases) {
        if (c.type) DefineConversions(*c.type);
      }
      break;
    default:
      break;
  }
  if (IsScalar(t)) return;
  // Aliases share their shape's C type, and so its conversions.
  const std::string c_type = IsDeclaredShape(t) ? c_.CName(t) : c_.StructuralCName(t);
  if (!converted_.insert(c_type).second) return;
  const std::string cpp = CppType(t);
  std::string& s = conversions_;
  std::string from = "[[maybe_unused]] void FromC(const " + c_type + "& in, " + cpp + "& out) {\n";
  std::string to;
  switch (t.kind) {
    case TypeKind::kString:
      from += "  out.assign(in.len != 0 ? in.ptr : \"\", in.len);\n";
      to = "[[maybe_unused]] void ToC(std::string_view in, " + c_type +
           "& out) {\n"
           "  out.len = in.size();\n"
           "  out.ptr = static_cast<char*>(Allocate(in.size(), 1));\n"
           "  if (!in.empty()) std::memcpy(out.ptr, in.data(), in.size());\n";
      break;
    case TypeKind::kList: {
      const std::string elem_c = c_.CName(*t.element);
      const std::string elem_cpp = CppType(*t.element);
      from +=
          "  out.clear();\n  out.reserve(in.len);\n  for (size_t i = 0; i < in.len; i++) {\n"
          "    " +
          elem_cpp + " e{};\n    " + FromC(*t.element, "in.ptr[i]", "e") +
          "\n    out.push_back(std::move(e));\n  }\n";
      const std::string in_type = t.element->kind == TypeKind::kBool
                                      ? "const std::vector<bool>&"
                                      : "std::span<const " + elem_cpp + ">";
      to = "[[maybe_unused]] void ToC(" + in_type + " in, " + c_type +
           "& out) {\n"
           "  out.len = in.size();\n"
           "  out.ptr = static_cast<" +
           elem_c + "*>(Allocate(sizeof(" + elem_c + ") * in.size(), alignof(" + elem_c +
           ")));\n"
           "  for (size_t i = 0; i < in.size(); i++) {\n    " +
           ToC(*t.element, "in[i]", "out.ptr[i]") + "\n  }\n";
      break;
    }
    case TypeKind::kOption:
      from += "  if (!in.is_some) {\n    out.reset();\n    return;\n  }\n  " + CppType(*t.element) +
              " v{};\n  " + FromC(*t.element, "in.val", "v") + "\n  out = std::move(v);\n";
      to = "[[maybe_unused]] void ToC(const " + cpp + "& in, " + c_type +
           "& out) {\n"
           "  std::memset(&out, 0, sizeof out);\n  out.is_some = in.has_value();\n"
           "  if (in.has_value()) {\n    " +
           ToC(*t.element, "*in", "out.val") + "\n  }\n";
      break;
    case TypeKind::kResult: {
      auto side = [&](const abi::TypePtr& side_type, const char* field, const char* make) {
        if (!side_type) return "    out = " + cpp + "::" + make + "(std::monostate{});\n";
        return "    " + CppType(*side_type) + " v{};\n    " +
               FromC(*side_type, std::string("in.val.") + field, "v") + "\n    out = " + cpp +
               "::" + make + "(std::move(v));\n";
      };
      from += "  if (in.is_err) {\n" + side(t.err, "err", "Err") + "  } else {\n" +
              side(t.ok, "ok", "Ok") + "  }\n";
      to = "[[maybe_unused]] void ToC(const " + cpp + "& in, " + c_type +
           "& out) {\n"
           "  std::memset(&out, 0, sizeof out);\n  out.is_err = !in.ok();\n";
      if (t.ok) to += "  if (in.ok()) {\n    " + ToC(*t.ok, "in.value()", "out.val.ok") + "\n  }\n";
      if (t.err) {
        to += "  if (!in.ok()) {\n    " + ToC(*t.err, "in.error()", "out.val.err") + "\n  }\n";
      }
      break;
    }
    case TypeKind::kTuple:
      to = "[[maybe_unused]] void ToC(const " + cpp + "& in, " + c_type + "& out) {\n";
      for (size_t i = 0; i < t.elements.size(); i++) {
        const std::string n = std::to_string(i);
        from += "  " + FromC(*t.elements[i], "in.f" + n, "std::get<" + n + ">(out)") + "\n";
        to += "  " + ToC(*t.elements[i], "std::get<" + n + ">(in)", "out.f" + n) + "\n";
      }
      break;
    case TypeKind::kRecord:
      to = "[[maybe_unused]] void ToC(const " + cpp + "& in, " + c_type + "& out) {\n";
      for (const abi::Field& f : t.fields) {
        const std::string n = SnakeName(f.name);
        from += "  " + FromC(*f.type, "in." + n, "out." + n) + "\n";
        to += "  " + ToC(*f.type, "in." + n, "out." + n) + "\n";
      }
      break;
    case TypeKind::kVariant: {
      to = "[[maybe_unused]] void ToC(const " + cpp + "& in, " + c_type +
           "& out) {\n"
           "  std::memset(&out, 0, sizeof out);\n  out.tag = static_cast<" +
           CNames::DiscriminantType(t.cases.size()) +
           ">(in.value.index());\n"
           "  switch (in.value.index()) {\n";
      from += "  switch (in.tag) {\n";
      for (size_t i = 0; i < t.cases.size(); i++) {
        const abi::Case& c = t.cases[i];
        const std::string n = std::to_string(i);
        from += "    case " + n + ": {\n";
        if (c.type) {
          from += "      " + CppType(*c.type) + " v{};\n      " +
                  FromC(*c.type, "in.val." + SnakeName(c.name), "v") +
                  "\n      out.value.emplace<" + n + ">(std::move(v));\n";
          to += "    case " + n + ":\n      " +
                ToC(*c.type, "std::get<" + n + ">(in.value)", "out.val." + SnakeName(c.name)) +
                "\n      break;\n";
        } else {
          from += "      out.value.emplace<" + n + ">();\n";
        }
        from += "      break;\n    }\n";
      }
      from += "    default:\n      break;\n  }\n";
      to += "    default:\n      break;\n  }\n";
      break;
    }
    default:
      break;
  }
  s += from + "}\n" + to + "}\n";
}

// ---- functions --------------------------------------------------------------------------------

std::string CppEmitter::Namespace(const InterfaceInfo& owner, bool exported) const {
  std::string ns = p_;
  if (exported) ns += "::exports";
  if (owner.interface != nullptr) ns += "::" + owner.cpp_namespace;
  return ns;
}

std::string CppEmitter::ExportName(const FunctionInfo& fn) const {
  if (fn.function->kind == wit::FunctionKind::kFreestanding) return fn.cpp_name;
  return CamelName(fn.function->resource) + fn.cpp_name;
}

// Tuples, options, lists and results without a WIT name: the types whose spelling grows.
bool CppEmitter::WantsAlias(const Type& t) const {
  if (model_.FindNamed(t) != nullptr) return false;
  return t.kind == TypeKind::kTuple || t.kind == TypeKind::kOption || t.kind == TypeKind::kList ||
         t.kind == TypeKind::kResult;
}

void CppEmitter::ReserveExportNames() {
  for (const FunctionInfo& fn : model_.functions()) {
    if (fn.exported) taken_[Namespace(*fn.owner, true)].insert(ExportName(fn));
  }
}

// `using State = ...;` in <w>::exports for each parameter name that every exported function
// spells with one type (Theater's handlers all take `state: option<list<u8>>`), so that code
// shared by several exports, or written outside their namespaces, has one name for it.
std::string CppEmitter::SharedAliases() {
  std::map<std::string, std::string> types;  // parameter name -> C++ type, "" when they differ
  std::vector<std::string> order;
  for (const FunctionInfo& fn : model_.functions()) {
    if (!fn.exported || fn.function->kind != wit::FunctionKind::kFreestanding) continue;
    for (const abi::Field& p : fn.function->type.params) {
      if (!WantsAlias(*p.type)) continue;
      const std::string cpp = CppType(*p.type);
      auto [it, added] = types.emplace(p.name, cpp);
      if (added) order.push_back(p.name);
      if (it->second != cpp) it->second.clear();
    }
  }
  const std::string ns = p_ + "::exports";
  std::string out;
  for (const std::string& name : order) {
    const std::string& cpp = types[name];
    if (cpp.empty() || !taken_[ns].insert(CamelName(name)).second) continue;
    out += "using " + CamelName(name) + " = " + cpp + ";\n";
  }
  if (out.empty()) return "";
  return "namespace " + ns + " {\n// Parameters every export spells alike.\n" + out +
         "}  // namespace " + ns + "\n";
}

std::string CppEmitter::Signature(const FunctionInfo& fn, const std::string& name,
                                  bool skip_self) const {
  const abi::FunctionType& type = fn.function->type;
  std::string out = (fn.result ? CppType(*fn.result) : "void") + " " + name + "(";
  bool first = true;
  for (size_t i = skip_self ? 1 : 0; i < type.params.size(); i++) {
    out += (first ? "" : ", ") + ParamType(*type.params[i].type, fn.exported) + " " +
           SnakeName(type.params[i].name);
    first = false;
  }
  return out + ")";
}

void CppEmitter::EmitImport(const FunctionInfo& fn) {
  const abi::FunctionType& type = fn.function->type;
  const wit::FunctionKind kind = fn.function->kind;
  const ResourceInfo* res = nullptr;
  for (const auto& r : model_.resources()) {
    if (r->owner == fn.owner && r->wit_name == fn.function->resource) res = r.get();
  }
  const bool member = kind != wit::FunctionKind::kFreestanding && res != nullptr;
  const bool method = kind == wit::FunctionKind::kMethod && member;
  std::string qualified_name;
  if (member) {
    const std::string prefix = kind == wit::FunctionKind::kMethod ? "" : "static ";
    members_[res] += LineComment(fn.function->docs, "  ");
    members_[res] +=
        "  " + prefix + Signature(fn, fn.cpp_name, method) + (method ? " const" : "") + ";\n";
    qualified_name = res->cpp_name.substr(2) + "::" + fn.cpp_name;
  } else {
    const std::string ns = Namespace(*fn.owner, false);
    functions_h_ += "namespace " + ns + " {\n" + LineComment(fn.function->docs, "") +
                    Signature(fn, fn.cpp_name, false) + ";\n}  // namespace " + ns + "\n";
    qualified_name = ns + "::" + fn.cpp_name;
  }
  // No leading "::": `::A ::B` would parse as one nested name.
  std::string body = Signature(fn, qualified_name, method) + (method ? " const" : "") + " {\n";
  std::vector<std::string> args;
  std::vector<std::string> cleanup;
  for (size_t i = 0; i < type.params.size(); i++) {
    const Type& pt = *type.params[i].type;
    const std::string name = SnakeName(type.params[i].name);
    const std::string local = "c" + std::to_string(i) + "_";
    if (method && i == 0) {
      args.push_back("Borrow()");
      continue;
    }
    const std::string c_type = c_.CName(pt);
    if (pt.kind == TypeKind::kString) {
      // Borrowed for the call: the host copies it out before returning.
      body += "  " + c_type + " " + local + "{const_cast<char*>(" + name + ".data()), " + name +
              ".size()};\n";
      args.push_back(local);
      continue;
    }
    if (pt.kind == TypeKind::kList && c_.CName(*pt.element) == CppType(*pt.element) &&
        pt.element->kind != TypeKind::kBool) {
      body += "  " + c_type + " " + local + "{const_cast<" + CppType(*pt.element) + "*>(" + name +
              ".data()), " + name + ".size()};\n";
      args.push_back(local);
      continue;
    }
    if (IsScalar(pt)) {
      body += "  " + c_type + " " + local + ";\n  " + ToC(pt, name, local) + "\n";
      args.push_back(local);
      continue;
    }
    body += "  " + c_type + " " + local + ";\n  " + ToC(pt, name, local) + "\n";
    args.push_back(pt.kind == TypeKind::kList ? local : "&" + local);
    if (NeedsFree(pt)) cleanup.push_back(c_.FreeFunction(pt) + "(&" + local + ");");
  }
  std::string call = fn.c_name + "(";
  std::string tail;
  if (fn.result && !IsScalar(*fn.result)) {
    body += "  " + c_.CName(*fn.result) + " ret_;\n";
    args.push_back("&ret_");
  }
  for (size_t i = 0; i < args.size(); i++) call += (i ? ", " : "") + args[i];
  call += ")";
  if (!fn.result) {
    body += "  " + call + ";\n";
  } else if (IsScalar(*fn.result)) {
    body += "  " + c_.CName(*fn.result) + " ret_ = " + call + ";\n";
  } else {
    body += "  " + call + ";\n";
  }
  for (const std::string& c : cleanup) body += "  " + c + "\n";
  if (fn.result) {
    body += "  " + CppType(*fn.result) + " out_{};\n  " + FromC(*fn.result, "ret_", "out_") + "\n";
    if (NeedsFree(*fn.result)) body += "  " + c_.FreeFunction(*fn.result) + "(&ret_);\n";
    body += "  return out_;\n";
  }
  functions_s_ += body + "}\n\n";
}

void CppEmitter::EmitExport(const FunctionInfo& fn) {
  const abi::FunctionType& type = fn.function->type;
  const std::string ns = Namespace(*fn.owner, true);
  const std::string name = ExportName(fn);
  // Short names for the result and the anonymous compound parameters, so that an actor need not
  // spell nested tuples: HandleRequestResult, HandleRequestParams.
  std::string aliases;
  auto alias = [&](const std::string& alias_name, const Type& t) {
    if (!taken_[ns].insert(alias_name).second) return;
    aliases += "using " + alias_name + " = " + CppType(t) + ";\n";
  };
  if (fn.result) alias(name + "Result", *fn.result);
  for (const abi::Field& p : type.params) {
    if (WantsAlias(*p.type)) alias(name + CamelName(p.name), *p.type);
  }
  const std::optional<ExportDefault> fallback =
      DefaultFor(fn, [this](const Type& t) { return CppType(t); });
  std::string comment = "// Implemented by the actor (export \"" + fn.core_name + "\").\n";
  if (fallback) {
    comment += "// Optional: without it, the default in " + p_ + ".cpp (weak) " +
               fallback->summary + ".\n";
  }
  functions_h_ += "namespace " + ns + " {\n" + aliases + comment + Signature(fn, name, false) +
                  ";\n}  // namespace " + ns + "\n";
  if (fallback) {
    // Weak, so that the actor's own definition (in another object) replaces it at link time;
    // the compiler does not inline a weak function into the export below.
    const std::string& params_name = type.params[1].name;
    functions_s_ += "namespace " + ns + " {\n// The default of \"" + fn.core_name + "\": it " +
                    fallback->summary + ".\n__attribute__((weak)) " + CppType(*fn.result) + " " +
                    name + "(" + CppType(*type.params[0].type) + " " +
                    SnakeName(type.params[0].name) + ", " + CppType(*type.params[1].type) +
                    (fallback->uses_params ? " " : " /*") + SnakeName(params_name) +
                    (fallback->uses_params ? "" : "*/") + ") {\n" + fallback->body +
                    "}\n}  // namespace " + ns + "\n\n";
  }
  // The C layer's export, implemented by converting to and from the C++ types.
  std::string params;
  std::vector<std::string> args;
  std::string body;
  for (size_t i = 0; i < type.params.size(); i++) {
    const Type& pt = *type.params[i].type;
    const std::string c_param = "a" + std::to_string(i);
    const std::string local = "p" + std::to_string(i) + "_";
    const bool by_pointer = !IsScalar(pt);
    params += (i ? ", " : "") + c_.CName(pt) + (by_pointer ? "* " : " ") + c_param;
    body += "  " + CppType(pt) + " " + local + "{};\n  " +
            FromC(pt, by_pointer ? "*" + c_param : c_param, local) + "\n";
    args.push_back("std::move(" + local + ")");
  }
  std::string ret = "void";
  if (fn.result && IsScalar(*fn.result)) {
    ret = c_.CName(*fn.result);
  } else if (fn.result) {
    params += std::string(params.empty() ? "" : ", ") + c_.CName(*fn.result) + "* ret";
  }
  std::string call = "::" + ns + "::" + name + "(";
  for (size_t i = 0; i < args.size(); i++) call += (i ? ", " : "") + args[i];
  call += ")";
  if (!fn.result) {
    body += "  " + call + ";\n";
  } else if (IsScalar(*fn.result)) {
    body += "  " + CppType(*fn.result) + " r_ = " + call + ";\n  " + c_.CName(*fn.result) +
            " out_;\n  " + ToC(*fn.result, "r_", "out_") + "\n  return out_;\n";
  } else {
    body += "  " + CppType(*fn.result) + " r_ = " + call + ";\n  " + ToC(*fn.result, "r_", "*ret") +
            "\n";
  }
  functions_s_ += "extern \"C\" " + ret + " " + fn.c_name + "(" +
                  (params.empty() ? "void" : params) + ") {\n" + body + "}\n\n";
}

Result<CppLayer> CppEmitter::Run() {
  // Imports first so that resource classes know their members.
  for (const FunctionInfo& fn : model_.functions()) {
    for (const abi::Field& p : fn.function->type.params) {
      Declare(*p.type);
      DefineConversions(*p.type);
    }
    if (fn.result) {
      Declare(*fn.result);
      DefineConversions(*fn.result);
    }
  }
  for (const abi::TypePtr& t : model_.named_types()) {
    Declare(*t);
    DefineConversions(*t);
  }
  ReserveExportNames();
  const std::string shared_aliases = SharedAliases();
  for (const FunctionInfo& fn : model_.functions()) {
    if (fn.exported) {
      EmitExport(fn);
    } else {
      EmitImport(fn);
    }
  }

  CppLayer layer;
  std::string& h = layer.header;
  h += "#include <cstdint>\n#include <optional>\n#include <span>\n#include <string>\n"
       "#include <string_view>\n#include <tuple>\n#include <type_traits>\n#include <utility>\n"
       "#include <variant>\n#include <vector>\n\n";
  h += kResultClass;
  // Forward declarations, and the enums and flags that depend on nothing.
  for (const abi::TypePtr& t : model_.named_types()) {
    const NamedTypeInfo* named = model_.FindNamed(*t);
    if (!IsDeclaredShape(*t)) continue;
    auto [ns, name] = SplitQualified(named->cpp_name);
    h += "namespace " + ns + " {\n";
    if (t->kind == TypeKind::kRecord || t->kind == TypeKind::kVariant) {
      h += "struct " + name + ";\n";
    } else if (t->kind == TypeKind::kEnum) {
      h += "enum class " + name + " : " + CNames::DiscriminantType(t->labels.size()) + " {";
      for (size_t i = 0; i < t->labels.size(); i++) {
        h += std::string(i ? ", " : " ") + "k" + CamelName(t->labels[i]);
      }
      h += " };\n";
    } else {
      const size_t n = t->labels.size();
      const std::string repr = n <= 8 ? "uint8_t" : n <= 16 ? "uint16_t" : "uint32_t";
      h += "struct " + name + " {\n  " + repr + " bits = 0;\n";
      for (size_t i = 0; i < n; i++) {
        h += "  static constexpr " + repr + " k" + CamelName(t->labels[i]) + " = " + repr +
             "{1} << " + std::to_string(i) + ";\n";
      }
      h += "  bool Has(" + repr + " flag) const { return (bits & flag) != 0; }\n};\n";
    }
    h += "}  // namespace " + ns + "\n";
  }
  for (const auto& res : model_.resources()) {
    if (res->exported()) continue;
    auto [ns, name] = SplitQualified(res->cpp_name);
    h += "namespace " + ns + " {\nclass " + name + ";\n}  // namespace " + ns + "\n";
  }
  h += "\n";
  // Imported resources: move-only owners of a handle, dropped when destroyed.
  for (const auto& res : model_.resources()) {
    if (res->exported()) continue;
    auto [ns, name] = SplitQualified(res->cpp_name);
    const std::string& b = res->c_base;
    h += "namespace " + ns + " {\n// Owns a handle to the imported resource `" + res->wit_name +
         "`; drops it when destroyed.\nclass " + name + " {\n public:\n";
    h += "  " + name + "() = default;\n";
    h += "  explicit " + name + "(" + b +
         "_own_t handle) : handle_(handle.handle), owned_(true) {}\n";
    h += "  " + name + "(" + name +
         "&& other) noexcept : handle_(other.handle_), owned_(other.owned_) {\n"
         "    other.owned_ = false;\n  }\n";
    h += "  " + name + "& operator=(" + name +
         "&& other) noexcept {\n    if (this != &other) {\n"
         "      Reset();\n      handle_ = other.handle_;\n      owned_ = other.owned_;\n"
         "      other.owned_ = false;\n    }\n    return *this;\n  }\n";
    h += "  " + name + "(const " + name + "&) = delete;\n  " + name + "& operator=(const " + name +
         "&) = delete;\n  ~" + name + "() { Reset(); }\n\n";
    h += "  bool owned() const { return owned_; }\n";
    h += "  " + b + "_borrow_t Borrow() const { return " + b + "_borrow_t{handle_}; }\n";
    h += "  // Gives the handle up without dropping it (e.g. to pass it to the host). Const so\n"
         "  // that values holding handles can be lowered from const references.\n";
    h += "  " + b + "_own_t Release() const {\n    owned_ = false;\n    return " + b +
         "_own_t{handle_};\n  }\n\n";
    h += members_[res.get()];
    h += "\n private:\n  void Reset() {\n    if (owned_) " + b + "_drop_own(" + b +
         "_own_t{handle_});\n    owned_ = false;\n  }\n  int32_t handle_ = 0;\n"
         "  mutable bool owned_ = false;\n};\n}  // namespace " +
         ns + "\n\n";
  }
  h += structs_;
  for (const abi::TypePtr& t : model_.named_types()) {
    if (IsDeclaredShape(*t) || IsHandle(*t)) continue;
    const NamedTypeInfo* named = model_.FindNamed(*t);
    auto [ns, name] = SplitQualified(named->cpp_name);
    h += "namespace " + ns + " {\nusing " + name + " = " + CppType(*t) + ";  // WIT `" +
         named->wit_name + "`\n}  // namespace " + ns + "\n";
  }
  h += "\n" + shared_aliases + functions_h_;
  // A name for the world's namespace that does not change with the world, so that code written
  // against the bindings need not repeat the world's name. A translation unit that includes the
  // bindings of two worlds gets the first one's (a namespace alias cannot be redefined).
  h += "\n#ifndef THEATER_BINDGEN_WORLD_\n#define THEATER_BINDGEN_WORLD_ " + p_ +
       "\nnamespace theater {\nnamespace world = ::" + p_ + ";\n}  // namespace theater\n#endif\n";

  std::string& s = layer.source;
  s += "namespace {\n\n// Memory the C layer frees (malloc); out of memory traps.\n"
       "[[maybe_unused]] void* Allocate(size_t size, size_t align) {\n"
       "  if (size == 0) return nullptr;\n"
       "  (void)align;  // malloc's 16-byte alignment covers every canonical alignment (<= 8)\n"
       "  void* p = std::malloc(size);\n"
       "  if (p == nullptr) __builtin_trap();\n  return p;\n}\n\n";
  s += conversions_;
  s += "\n}  // namespace\n\n" + functions_s_;
  return layer;
}

}  // namespace

Result<CppLayer> GenerateCppLayer(const WorldModel& model) {
  return CppEmitter(model).Run();
}

}  // namespace theater::bindgen
