// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/rust_generator.h"

#include <map>
#include <set>

#include "abi/bindgen/export_defaults.h"
#include "abi/bindgen/names.h"
#include "abi/bindgen/rust_prelude.h"
#include "theater/abi/canonical.h"

namespace theater::bindgen {
namespace {

using abi::CoreType;
using abi::Type;
using abi::TypeKind;

const char* CoreRust(CoreType type) {
  switch (type) {
    case CoreType::kI32:
      return "i32";
    case CoreType::kI64:
      return "i64";
    case CoreType::kF32:
      return "f32";
    case CoreType::kF64:
      return "f64";
  }
  return "i32";
}

// Rust spells WIT's signed integers i8..i64 and its string String; the other primitives (bool,
// u8..u64, f32, f64, char) alike. Null for a kind that is not primitive.
const char* PrimitiveRust(TypeKind kind) {
  switch (kind) {
    case TypeKind::kS8:
      return "i8";
    case TypeKind::kS16:
      return "i16";
    case TypeKind::kS32:
      return "i32";
    case TypeKind::kS64:
      return "i64";
    case TypeKind::kString:
      return "String";
    default:
      return kind <= TypeKind::kString ? TypeKindName(kind) : nullptr;
  }
}

bool HasHandle(const Type& t) {
  return abi::Contains(t, [](const Type& x) { return IsHandle(x); });
}

// Values whose Rust slice has the canonical layout of a WIT list of them (numbers, bool, char),
// so a list of them crosses without a copy.
bool IsPlainElement(const Type& t) {
  return t.is_primitive() && t.kind != TypeKind::kString;
}

// Types whose Rust value is Copy (numbers, enums, flags, and options, results and tuples of
// them): imports take these by value.
bool IsCopy(const Type& t) {
  switch (t.kind) {
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      return true;
    case TypeKind::kOption:
      return IsCopy(*t.element);
    case TypeKind::kResult:
      return (!t.ok || IsCopy(*t.ok)) && (!t.err || IsCopy(*t.err));
    case TypeKind::kTuple:
      for (const abi::TypePtr& e : t.elements) {
        if (!IsCopy(*e)) return false;
      }
      return t.elements.size() <= 12;
    default:
      return IsPlainElement(t);
  }
}

// True when `Default::default()` builds a value of the type (the generated records derive
// Default when all their fields have one).
bool HasDefault(const Type& t) {
  switch (t.kind) {
    case TypeKind::kList:
    case TypeKind::kOption:
    case TypeKind::kFlags:
      return true;
    case TypeKind::kRecord:
      for (const abi::Field& f : t.fields) {
        if (!HasDefault(*f.type)) return false;
      }
      return true;
    case TypeKind::kTuple:
      if (t.elements.size() > 12) return false;
      for (const abi::TypePtr& e : t.elements) {
        if (!HasDefault(*e)) return false;
      }
      return true;
    default:
      return t.is_primitive();
  }
}

std::string Indented(const std::string& text, int levels) {
  const std::string pad(static_cast<size_t>(levels) * 4, ' ');
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) out += pad + text.substr(at, end - at);
    out += '\n';
    at = end + 1;
  }
  return out;
}

// WIT doc comments as `///` lines.
std::string DocLines(const std::string& docs) {
  if (docs.empty()) return "";
  std::string out = "/// ";
  for (char c : docs) {
    out += c;
    if (c == '\n') out += "/// ";
  }
  return out + "\n";
}

std::string RustStringLiteral(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One export of the core module, as the export macro writes it.
struct ExportEntry {
  std::string export_name;
  std::string trampoline;  // in __export
  std::vector<CoreType> params;
  std::vector<CoreType> results;
  bool generic = true;  // takes the actor's type
};

class RustEmitter {
 public:
  explicit RustEmitter(const WorldModel& model) : model_(model) {}
  Result<std::string> Run();

 private:
  // Where a scope's items live, as a path from the bindings root: "", "runtime::",
  // "exports::actor::".
  static std::string ModulePath(const InterfaceInfo& scope);
  // The path from a scope's module back to the bindings root: "", "super::", "super::super::".
  static std::string RootFrom(const InterfaceInfo& scope);

  std::string Spell(const Type& t, const std::string& root);
  std::string TypeName(const Type& t) const;  // the declared name of a named shape
  std::string ResourceName(const ResourceInfo& res) const;
  // The resource a constructor, method or static function belongs to (Fail when unknown).
  const ResourceInfo* ResourceOf(const FunctionInfo& fn);
  std::string ResourceTrait(const ResourceInfo& res) const { return "Guest" + ResourceName(res); }
  void Fail(const std::string& message) {
    if (error_.ok()) error_ = InvalidArgument(message);
  }

  void DefineNamed(const Type& t, const NamedTypeInfo& named);
  void DefineRecord(const Type& t, const std::string& name, std::string& out);
  void DefineVariant(const Type& t, const std::string& name, std::string& out);
  void DefineEnum(const Type& t, const std::string& name, std::string& out);
  void DefineFlags(const Type& t, const std::string& name, std::string& out);
  void DefineResource(const ResourceInfo& res);
  std::string TupleImpls();

  // Parameters of imports and of the actor's functions.
  std::string ImportParam(const Type& t, const std::string& root);
  std::string ExportParam(const Type& t, const FunctionInfo& fn, const std::string& root);
  void EmitImport(const FunctionInfo& fn);
  void EmitExport(const FunctionInfo& fn);
  // The Rust body of an export's default (export_defaults.h) and its summary; nullopt when the
  // export has none, or its shape has no Default in Rust.
  std::optional<std::pair<std::string, std::string>> DefaultBody(const FunctionInfo& fn);

  std::string StoreLeaf(CoreType natural, const std::string& value, const CoreSlot& slot) const;
  std::string LoadLeaf(CoreType natural, const CoreSlot& slot) const;
  // Lowers the value `ref` (an expression of type &T) into `slots` from `index`.
  void Lower(const Type& t, const std::string& ref, const std::string& root,
             const std::vector<CoreSlot>& slots, size_t index, int indent, std::string& out);
  // An expression that lifts a value out of `slots` from `index`.
  std::string Lift(const Type& t, const std::string& root, const std::vector<CoreSlot>& slots,
                   size_t index);

  const WorldModel& model_;
  Status error_;
  std::map<const InterfaceInfo*, std::string> items_;        // each scope's module body
  std::map<const ResourceInfo*, std::string> methods_;       // impl blocks of imported resources
  std::map<const InterfaceInfo*, std::string> guest_trait_;  // exported scopes' Guest traits
  std::map<const ResourceInfo*, std::string> resource_trait_;
  std::string trampolines_;                    // module __export
  std::vector<ExportEntry> exports_;           // for the export macro
  std::map<std::string, const Type*> tuples_;  // spelled from the root -> type, for Canon impls
  int temp_ = 0;                               // numbers temporaries of one function
  bool uses_keep_ = false;
};

std::string RustEmitter::ModulePath(const InterfaceInfo& scope) {
  if (scope.interface == nullptr) return "";
  return (scope.exported ? "exports::" : "") + scope.c_name + "::";
}

std::string RustEmitter::RootFrom(const InterfaceInfo& scope) {
  if (scope.interface == nullptr) return "";
  return scope.exported ? "super::super::" : "super::";
}

std::string RustEmitter::TypeName(const Type& t) const {
  const NamedTypeInfo* named = model_.FindNamed(t);
  return RustTypeName(named != nullptr ? named->wit_name : t.name);
}

std::string RustEmitter::ResourceName(const ResourceInfo& res) const {
  return RustTypeName(res.wit_name);
}

const ResourceInfo* RustEmitter::ResourceOf(const FunctionInfo& fn) {
  for (const auto& r : model_.resources()) {
    if (r->owner == fn.owner && r->wit_name == fn.function->resource) return r.get();
  }
  Fail("resource '" + fn.function->resource + "' of '" + fn.core_name + "' not found");
  return nullptr;
}

std::string RustEmitter::Spell(const Type& t, const std::string& root) {
  if (t.kind == TypeKind::kOwn) {
    const ResourceInfo* res = model_.FindResource(t);
    return root + ModulePath(*res->owner) + ResourceName(*res);
  }
  if (t.kind == TypeKind::kBorrow) {
    Fail("borrow<" + t.resource_name +
         "> inside another type has no Rust binding; Rust bindings take borrowed handles only as "
         "parameters");
    return "()";
  }
  if (IsDeclaredShape(t)) {
    const NamedTypeInfo* named = model_.FindNamed(t);
    if (named == nullptr) {
      Fail("a " + std::string(TypeKindName(t.kind)) + " without a name has no Rust binding");
      return "()";
    }
    return root + ModulePath(*named->owner) + TypeName(t);
  }
  if (const char* prim = PrimitiveRust(t.kind)) return prim;
  switch (t.kind) {
    case TypeKind::kList:
      return "Vec<" + Spell(*t.element, root) + ">";
    case TypeKind::kOption:
      return "Option<" + Spell(*t.element, root) + ">";
    case TypeKind::kResult:
      return "Result<" + (t.ok ? Spell(*t.ok, root) : "()") + ", " +
             (t.err ? Spell(*t.err, root) : "()") + ">";
    case TypeKind::kTuple: {
      std::string out = "(";
      for (size_t i = 0; i < t.elements.size(); i++) {
        out += (i ? ", " : "") + Spell(*t.elements[i], root);
      }
      out += t.elements.size() == 1 ? ",)" : ")";
      if (root.empty()) {
        tuples_.emplace(out, &t);
      } else {
        Spell(t, "");  // registers the tuple's Canon impl
      }
      return out;
    }
    default:
      Fail("WIT type '" + t.ToWit() + "' has no Rust binding");
      return "()";
  }
}

// ---- types ------------------------------------------------------------------------------------

void RustEmitter::DefineNamed(const Type& t, const NamedTypeInfo& named) {
  std::string& out = items_[named.owner];
  const std::string name = RustTypeName(named.wit_name);
  switch (t.kind) {
    case TypeKind::kRecord:
      DefineRecord(t, name, out);
      return;
    case TypeKind::kVariant:
      DefineVariant(t, name, out);
      return;
    case TypeKind::kEnum:
      DefineEnum(t, name, out);
      return;
    case TypeKind::kFlags:
      DefineFlags(t, name, out);
      return;
    default:
      out += "/// WIT type `" + named.wit_name + "`.\n";
      out += "pub type " + name + " = " + Spell(t, RootFrom(*named.owner)) + ";\n\n";
      return;
  }
}

void RustEmitter::DefineRecord(const Type& t, const std::string& name, std::string& out) {
  const std::string root = RootFrom(*model_.FindNamed(t)->owner);
  std::string derives = HasHandle(t) ? "Debug" : "Clone, Debug, PartialEq";
  if (HasDefault(t)) derives += ", Default";
  out +=
      "/// WIT record `" + t.name + "`.\n#[derive(" + derives + ")]\npub struct " + name + " {\n";
  for (const abi::Field& f : t.fields) {
    out += "    pub " + RustSnakeName(f.name) + ": " + Spell(*f.type, root) + ",\n";
  }
  out += "}\n";
  const std::vector<uint32_t> offsets = abi::FieldOffsets(t);
  std::string store, load, free;
  for (size_t i = 0; i < t.fields.size(); i++) {
    const std::string field = RustSnakeName(t.fields[i].name);
    const std::string canon = "<" + Spell(*t.fields[i].type, root) + " as __rt::Canon>";
    const std::string at = "p.add(" + std::to_string(offsets[i]) + ")";
    store += "        " + canon + "::store(&self." + field + ", " + at + ");\n";
    load += "            " + field + ": " + canon + "::load(" + at + "),\n";
    if (NeedsFree(*t.fields[i].type)) free += "        " + canon + "::free_stored(" + at + ");\n";
  }
  out += "impl __rt::Canon for " + name +
         " {\n    const SIZE: usize = " + std::to_string(abi::SizeOf(t)) +
         ";\n    const ALIGN: usize = " + std::to_string(abi::AlignmentOf(t)) + ";\n";
  out += "    unsafe fn store(&self, p: *mut u8) {\n" + store + "    }\n";
  out += "    unsafe fn load(p: *const u8) -> Self {\n        " + name + " {\n" + load +
         "        }\n    }\n";
  out += "    unsafe fn free_stored(p: *const u8) {\n" + free + "    }\n}\n\n";
}

void RustEmitter::DefineVariant(const Type& t, const std::string& name, std::string& out) {
  const std::string root = RootFrom(*model_.FindNamed(t)->owner);
  out += "/// WIT variant `" + t.name + "`.\n#[derive(" +
         (HasHandle(t) ? "Debug" : "Clone, Debug, PartialEq") + ")]\npub enum " + name + " {\n";
  for (const abi::Case& c : t.cases) {
    out += "    " + RustTypeName(c.name) + (c.type ? "(" + Spell(*c.type, root) + ")" : "") + ",\n";
  }
  out += "}\n";
  const std::string disc = std::to_string(abi::DiscriminantSize(t.cases.size()));
  const std::string payload = "p.add(" + std::to_string(abi::PayloadOffset(t)) + ")";
  std::string store, load, free;
  for (size_t i = 0; i < t.cases.size(); i++) {
    const abi::Case& c = t.cases[i];
    const std::string index = std::to_string(i);
    const std::string arm = name + "::" + RustTypeName(c.name);
    if (!c.type) {
      store += "            " + arm + " => __rt::write_disc(p, " + disc + ", " + index + "),\n";
      load += "            " + index + " => " + arm + ",\n";
      continue;
    }
    const std::string canon = "<" + Spell(*c.type, root) + " as __rt::Canon>";
    store += "            " + arm + "(v) => {\n                __rt::write_disc(p, " + disc + ", " +
             index + ");\n                " + canon + "::store(v, " + payload +
             ");\n            }\n";
    load += "            " + index + " => " + arm + "(" + canon + "::load(" + payload + ")),\n";
    if (NeedsFree(*c.type)) {
      free += "            " + index + " => " + canon + "::free_stored(" + payload + "),\n";
    }
  }
  out += "impl __rt::Canon for " + name +
         " {\n    const SIZE: usize = " + std::to_string(abi::SizeOf(t)) +
         ";\n    const ALIGN: usize = " + std::to_string(abi::AlignmentOf(t)) + ";\n";
  out += "    unsafe fn store(&self, p: *mut u8) {\n        match self {\n" + store +
         "        }\n    }\n";
  out += "    unsafe fn load(p: *const u8) -> Self {\n        match __rt::read_disc(p, " + disc +
         ") {\n" + load + "            _ => __rt::trap(),\n        }\n    }\n";
  out += "    unsafe fn free_stored(p: *const u8) {\n        match __rt::read_disc(p, " + disc +
         ") {\n" + free + "            _ => {}\n        }\n    }\n}\n\n";
}

void RustEmitter::DefineEnum(const Type& t, const std::string& name, std::string& out) {
  out += "/// WIT enum `" + t.name +
         "`.\n#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum " + name + " {\n";
  std::string from;
  for (size_t i = 0; i < t.labels.size(); i++) {
    out += "    " + RustTypeName(t.labels[i]) + ",\n";
    from += "            " + std::to_string(i) + " => " + name + "::" + RustTypeName(t.labels[i]) +
            ",\n";
  }
  out += "}\n";
  out += "impl " + name +
         " {\n    /// The case of a discriminant (traps on one the enum does not have).\n"
         "    #[doc(hidden)]\n    pub fn from_discriminant(d: u32) -> " +
         name + " {\n        match d {\n" + from +
         "            _ => __rt::trap(),\n        }\n    }\n}\n";
  const std::string disc = std::to_string(abi::DiscriminantSize(t.labels.size()));
  out += "impl __rt::Canon for " + name + " {\n    const SIZE: usize = " + disc +
         ";\n    const ALIGN: usize = " + disc + ";\n";
  out += "    unsafe fn store(&self, p: *mut u8) {\n        __rt::write_disc(p, " + disc +
         ", *self as u32);\n    }\n";
  out += "    unsafe fn load(p: *const u8) -> Self {\n        " + name +
         "::from_discriminant(__rt::read_disc(p, " + disc + "))\n    }\n}\n\n";
}

void RustEmitter::DefineFlags(const Type& t, const std::string& name, std::string& out) {
  const size_t size = abi::SizeOf(t);
  out += "/// WIT flags `" + t.name +
         "`: a set of the constants below, combined with `|`.\n"
         "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]\npub struct " +
         name + " {\n    pub bits: u32,\n}\n";
  out += "impl " + name + " {\n";
  for (size_t i = 0; i < t.labels.size(); i++) {
    std::string constant = UpperName(t.labels[i]);
    out += "    pub const " + constant + ": " + name + " = " + name + " { bits: 1 << " +
           std::to_string(i) + " };\n";
  }
  out += "    pub const fn empty() -> " + name + " {\n        " + name +
         " { bits: 0 }\n    }\n"
         "    pub const fn contains(self, other: " +
         name + ") -> bool {\n        self.bits & other.bits == other.bits\n    }\n}\n";
  out += "impl std::ops::BitOr for " + name + " {\n    type Output = " + name +
         ";\n    fn bitor(self, other: " + name + ") -> " + name + " {\n        " + name +
         " { bits: self.bits | other.bits }\n    }\n}\n";
  out += "impl __rt::Canon for " + name + " {\n    const SIZE: usize = " + std::to_string(size) +
         ";\n    const ALIGN: usize = " + std::to_string(abi::AlignmentOf(t)) + ";\n";
  if (size == 0) {
    out +=
        "    unsafe fn store(&self, _p: *mut u8) {}\n    unsafe fn load(_p: *const u8) -> Self "
        "{\n        " +
        name + " { bits: 0 }\n    }\n}\n\n";
    return;
  }
  out += "    unsafe fn store(&self, p: *mut u8) {\n        __rt::write_disc(p, " +
         std::to_string(size) + ", self.bits);\n    }\n";
  out += "    unsafe fn load(p: *const u8) -> Self {\n        " + name +
         " { bits: __rt::read_disc(p, " + std::to_string(size) + ") }\n    }\n}\n\n";
}

void RustEmitter::DefineResource(const ResourceInfo& res) {
  std::string& out = items_[res.owner];
  const std::string name = ResourceName(res);
  const std::string module = res.owner->module;
  const std::string import_module = res.exported() ? "[export]" + module : module;
  const std::string docs = res.resource != nullptr ? res.resource->docs : "";
  out += DocLines(docs);
  if (res.exported()) {
    out += "/// A handle to a `" + res.wit_name + "` this actor made with `" + name +
           "::new`: the host keeps it, and drops the value (`" + ResourceTrait(res) +
           "`'s type) when the last handle is gone.\n";
  } else {
    out += "/// An owned handle to the host's `" + res.wit_name +
           "`: dropping it drops the resource.\n";
  }
  out += "#[derive(Debug)]\npub struct " + name + " {\n    handle: std::cell::Cell<u32>,\n}\n";
  out += "#[link(wasm_import_module = " + RustStringLiteral(import_module) + ")]\nextern \"C\" {\n";
  if (res.exported()) {
    out += "    #[link_name = " + RustStringLiteral("[resource-new]" + res.wit_name) +
           "]\n    fn __resource_new_" + SnakeWords(res.wit_name) + "(rep: i32) -> i32;\n";
    out += "    #[link_name = " + RustStringLiteral("[resource-rep]" + res.wit_name) +
           "]\n    fn __resource_rep_" + SnakeWords(res.wit_name) + "(handle: i32) -> i32;\n";
  }
  out += "    #[link_name = " + RustStringLiteral("[resource-drop]" + res.wit_name) +
         "]\n    fn __resource_drop_" + SnakeWords(res.wit_name) + "(handle: i32);\n}\n";
  out += "impl " + name + " {\n";
  if (res.exported()) {
    out +=
        "    /// A new handle owning `rep`, the actor's value of the resource (of the type its "
        "`Guest` names).\n    pub fn new<T: " +
        ResourceTrait(res) + ">(rep: T) -> " + name +
        " {\n        let rep = Box::into_raw(Box::new(rep)) as i32;\n" + "        unsafe { " +
        name + "::from_handle(__resource_new_" + SnakeWords(res.wit_name) +
        "(rep) as u32) }\n    }\n";
    out +=
        "    /// The actor's value behind the handle.\n    ///\n    /// # Safety\n    /// `T` "
        "must be the type the actor's `Guest` implementation names for this resource.\n"
        "    pub unsafe fn get<T: " +
        ResourceTrait(res) + ">(&self) -> &T {\n        &*(__resource_rep_" +
        SnakeWords(res.wit_name) + "(self.handle() as i32) as usize as *const T)\n    }\n";
  }
  out +=
      "    /// Wraps a handle: dropping the value drops the handle.\n    ///\n    /// # Safety\n"
      "    /// The handle must be one this actor owns, wrapped once.\n"
      "    pub unsafe fn from_handle(handle: u32) -> " +
      name + " {\n        " + name +
      " { handle: std::cell::Cell::new(handle) }\n    }\n"
      "    pub fn handle(&self) -> u32 {\n        self.handle.get()\n    }\n"
      "    /// Gives the handle up: the value no longer drops it.\n"
      "    pub fn take_handle(&self) -> u32 {\n        self.handle.replace(u32::MAX)\n    }\n}\n";
  out += "impl Drop for " + name +
         " {\n    fn drop(&mut self) {\n        let handle = self.handle.get();\n"
         "        if handle != u32::MAX {\n            unsafe { __resource_drop_" +
         SnakeWords(res.wit_name) + "(handle as i32) }\n        }\n    }\n}\n";
  out += "impl __rt::Canon for " + name +
         " {\n    const SIZE: usize = 4;\n    const ALIGN: usize = 4;\n"
         "    unsafe fn store(&self, p: *mut u8) {\n"
         "        __rt::write_i32(p, self.take_handle() as i32);\n    }\n"
         "    unsafe fn load(p: *const u8) -> Self {\n        " +
         name + "::from_handle(__rt::read_i32(p) as u32)\n    }\n}\n\n";
  if (res.exported()) {
    resource_trait_[&res];  // the trait exists even when the resource has no functions
  }
}

std::string RustEmitter::TupleImpls() {
  std::string out;
  // Spelling element types can register nested tuples; walk until no new one appears.
  std::set<std::string> done;
  for (bool added = true; added;) {
    added = false;
    const std::map<std::string, const Type*> snapshot = tuples_;
    for (const auto& [spelled, type] : snapshot) {
      if (!done.insert(spelled).second) continue;
      added = true;
      const Type& t = *type;
      const std::vector<uint32_t> offsets = abi::FieldOffsets(t);
      std::string store, load, free;
      for (size_t i = 0; i < t.elements.size(); i++) {
        const std::string canon = "<" + Spell(*t.elements[i], "") + " as __rt::Canon>";
        const std::string at = "p.add(" + std::to_string(offsets[i]) + ")";
        store += "        " + canon + "::store(&self." + std::to_string(i) + ", " + at + ");\n";
        load += "            " + canon + "::load(" + at + "),\n";
        if (NeedsFree(*t.elements[i])) {
          free += "        " + canon + "::free_stored(" + at + ");\n";
        }
      }
      out += "impl __rt::Canon for " + spelled +
             " {\n    const SIZE: usize = " + std::to_string(abi::SizeOf(t)) +
             ";\n    const ALIGN: usize = " + std::to_string(abi::AlignmentOf(t)) + ";\n";
      out += "    unsafe fn store(&self, p: *mut u8) {\n" + store + "    }\n";
      out +=
          "    unsafe fn load(p: *const u8) -> Self {\n        (\n" + load + "        )\n    }\n";
      out += "    unsafe fn free_stored(p: *const u8) {\n" + free + "    }\n}\n";
    }
  }
  return out;
}

// ---- flattening -------------------------------------------------------------------------------

std::string RustEmitter::StoreLeaf(CoreType natural, const std::string& value,
                                   const CoreSlot& slot) const {
  std::string v;
  if (slot.type == natural) {
    v = value;
  } else if (natural == CoreType::kI32 && slot.type == CoreType::kI64) {
    v = "(" + value + ") as u32 as i64";
  } else if (natural == CoreType::kF32 && slot.type == CoreType::kI32) {
    v = "(" + value + ").to_bits() as i32";
  } else {  // f32 or f64 in an i64 slot
    v = "(" + value + ").to_bits() as i64";
  }
  return slot.var + " = " + v + ";\n";
}

std::string RustEmitter::LoadLeaf(CoreType natural, const CoreSlot& slot) const {
  if (slot.type == natural) return slot.var;
  if (natural == CoreType::kI32) return "(" + slot.var + " as i32)";
  if (natural == CoreType::kF32) return "f32::from_bits(" + slot.var + " as u32)";
  return "f64::from_bits(" + slot.var + " as u64)";
}

void RustEmitter::Lower(const Type& t, const std::string& ref, const std::string& root,
                        const std::vector<CoreSlot>& slots, size_t index, int indent,
                        std::string& out) {
  const std::string in(static_cast<size_t>(indent) * 4, ' ');
  switch (t.kind) {
    case TypeKind::kS64:
    case TypeKind::kU64:
      out += in + StoreLeaf(CoreType::kI64, "*" + ref + " as i64", slots[index]);
      return;
    case TypeKind::kF32:
      out += in + StoreLeaf(CoreType::kF32, "*" + ref, slots[index]);
      return;
    case TypeKind::kF64:
      out += in + StoreLeaf(CoreType::kF64, "*" + ref, slots[index]);
      return;
    case TypeKind::kChar:
      out += in + StoreLeaf(CoreType::kI32, "*" + ref + " as u32 as i32", slots[index]);
      return;
    case TypeKind::kFlags:
      out += in + StoreLeaf(CoreType::kI32, ref + ".bits as i32", slots[index]);
      return;
    case TypeKind::kOwn:
      out += in + StoreLeaf(CoreType::kI32, ref + ".take_handle() as i32", slots[index]);
      return;
    case TypeKind::kBorrow:
      out += in + StoreLeaf(CoreType::kI32, ref + ".handle() as i32", slots[index]);
      return;
    case TypeKind::kString:
      out += in + StoreLeaf(CoreType::kI32, ref + ".as_ptr() as i32", slots[index]);
      out += in + StoreLeaf(CoreType::kI32, ref + ".len() as i32", slots[index + 1]);
      return;
    case TypeKind::kList: {
      if (IsPlainElement(*t.element)) {
        out += in + StoreLeaf(CoreType::kI32, ref + ".as_ptr() as i32", slots[index]);
        out += in + StoreLeaf(CoreType::kI32, ref + ".len() as i32", slots[index + 1]);
        return;
      }
      uses_keep_ = true;
      const std::string tmp = "__l" + std::to_string(temp_++);
      out += in + "let " + tmp + " = __keep.list::<" + Spell(*t.element, root) + ">(&" + ref +
             "[..]);\n";
      out += in + StoreLeaf(CoreType::kI32, tmp + ".0", slots[index]);
      out += in + StoreLeaf(CoreType::kI32, tmp + ".1", slots[index + 1]);
      return;
    }
    case TypeKind::kRecord:
      for (const abi::Field& f : t.fields) {
        Lower(*f.type, "(&" + ref + "." + RustSnakeName(f.name) + ")", root, slots, index, indent,
              out);
        index += abi::Flatten(*f.type).size();
      }
      return;
    case TypeKind::kTuple:
      for (size_t i = 0; i < t.elements.size(); i++) {
        Lower(*t.elements[i], "(&" + ref + "." + std::to_string(i) + ")", root, slots, index,
              indent, out);
        index += abi::Flatten(*t.elements[i]).size();
      }
      return;
    case TypeKind::kOption: {
      const std::string e = "__e" + std::to_string(temp_++);
      out += in + "match " + ref + " {\n";
      out += in + "    Some(" + e + ") => {\n";
      out += in + "        " + StoreLeaf(CoreType::kI32, "1", slots[index]);
      Lower(*t.element, e, root, slots, index + 1, indent + 2, out);
      out += in + "    }\n" + in + "    None => {}\n" + in + "}\n";
      return;
    }
    case TypeKind::kResult: {
      const std::string e = "__e" + std::to_string(temp_++);
      out += in + "match " + ref + " {\n";
      out += in + "    Ok(" + (t.ok ? e : "_") + ") => {\n";
      if (t.ok) Lower(*t.ok, e, root, slots, index + 1, indent + 2, out);
      out += in + "    }\n";
      out += in + "    Err(" + (t.err ? e : "_") + ") => {\n";
      out += in + "        " + StoreLeaf(CoreType::kI32, "1", slots[index]);
      if (t.err) Lower(*t.err, e, root, slots, index + 1, indent + 2, out);
      out += in + "    }\n" + in + "}\n";
      return;
    }
    case TypeKind::kVariant: {
      const std::string e = "__e" + std::to_string(temp_++);
      const std::string path = Spell(t, root);
      out += in + "match " + ref + " {\n";
      for (size_t i = 0; i < t.cases.size(); i++) {
        const abi::Case& c = t.cases[i];
        out += in + "    " + path + "::" + RustTypeName(c.name) + (c.type ? "(" + e + ")" : "") +
               " => {\n";
        out += in + "        " + StoreLeaf(CoreType::kI32, std::to_string(i), slots[index]);
        if (c.type) Lower(*c.type, e, root, slots, index + 1, indent + 2, out);
        out += in + "    }\n";
      }
      out += in + "}\n";
      return;
    }
    default:  // bool, 8..32-bit integers, enum
      out += in + StoreLeaf(CoreType::kI32, "*" + ref + " as i32", slots[index]);
      return;
  }
}

std::string RustEmitter::Lift(const Type& t, const std::string& root,
                              const std::vector<CoreSlot>& slots, size_t index) {
  const std::string v32 = LoadLeaf(CoreType::kI32, slots[index]);
  switch (t.kind) {
    case TypeKind::kBool:
      return "(" + v32 + " != 0)";
    case TypeKind::kS8:
    case TypeKind::kU8:
    case TypeKind::kS16:
    case TypeKind::kU16:
    case TypeKind::kU32:
      return "(" + v32 + " as " + PrimitiveRust(t.kind) + ")";
    case TypeKind::kS32:
      return v32;
    case TypeKind::kChar:
      return "__rt::char_from(" + v32 + " as u32)";
    case TypeKind::kS64:
      return LoadLeaf(CoreType::kI64, slots[index]);
    case TypeKind::kU64:
      return "(" + LoadLeaf(CoreType::kI64, slots[index]) + " as u64)";
    case TypeKind::kF32:
      return LoadLeaf(CoreType::kF32, slots[index]);
    case TypeKind::kF64:
      return LoadLeaf(CoreType::kF64, slots[index]);
    case TypeKind::kEnum:
      return Spell(t, root) + "::from_discriminant(" + v32 + " as u32)";
    case TypeKind::kFlags:
      return Spell(t, root) + " { bits: " + v32 + " as u32 }";
    case TypeKind::kOwn:
      return Spell(t, root) + "::from_handle(" + v32 + " as u32)";
    case TypeKind::kString:
      return "__rt::take_string(" + v32 + ", " + LoadLeaf(CoreType::kI32, slots[index + 1]) + ")";
    case TypeKind::kList:
      return "<" + Spell(*t.element, root) + " as __rt::Canon>::take_list(" + v32 + ", " +
             LoadLeaf(CoreType::kI32, slots[index + 1]) + ")";
    case TypeKind::kRecord: {
      std::string out = Spell(t, root) + " { ";
      for (const abi::Field& f : t.fields) {
        out += RustSnakeName(f.name) + ": " + Lift(*f.type, root, slots, index) + ", ";
        index += abi::Flatten(*f.type).size();
      }
      return out + "}";
    }
    case TypeKind::kTuple: {
      std::string out = "(";
      for (const abi::TypePtr& e : t.elements) {
        out += Lift(*e, root, slots, index) + ", ";
        index += abi::Flatten(*e).size();
      }
      return out + ")";
    }
    case TypeKind::kOption:
      return "match " + v32 + " {\n    0 => None,\n    1 => Some(" +
             Lift(*t.element, root, slots, index + 1) + "),\n    _ => __rt::trap(),\n}";
    case TypeKind::kResult:
      return "match " + v32 + " {\n    0 => Ok(" +
             (t.ok ? Lift(*t.ok, root, slots, index + 1) : "()") + "),\n    1 => Err(" +
             (t.err ? Lift(*t.err, root, slots, index + 1) : "()") +
             "),\n    _ => __rt::trap(),\n}";
    case TypeKind::kVariant: {
      const std::string path = Spell(t, root);
      std::string out = "match " + v32 + " {\n";
      for (size_t i = 0; i < t.cases.size(); i++) {
        const abi::Case& c = t.cases[i];
        out += "    " + std::to_string(i) + " => " + path + "::" + RustTypeName(c.name) +
               (c.type ? "(" + Lift(*c.type, root, slots, index + 1) + ")" : "") + ",\n";
      }
      return out + "    _ => __rt::trap(),\n}";
    }
    default:
      Fail("WIT type '" + t.ToWit() + "' cannot be lifted here");
      return "()";
  }
}

// ---- functions --------------------------------------------------------------------------------

std::string RustEmitter::ImportParam(const Type& t, const std::string& root) {
  if (t.kind == TypeKind::kBorrow) {
    const ResourceInfo* res = model_.FindResource(t);
    if (res->exported()) {
      Fail("an import taking borrow<" + res->wit_name +
           "> (a resource the actor exports) has no Rust binding");
    }
    return "&" + root + ModulePath(*res->owner) + ResourceName(*res);
  }
  const bool owns_handle = abi::Contains(t, [](const Type& x) { return x.kind == TypeKind::kOwn; });
  if (IsCopy(t) || owns_handle) return Spell(t, root);
  if (t.kind == TypeKind::kString) return "&str";
  if (t.kind == TypeKind::kList) return "&[" + Spell(*t.element, root) + "]";
  return "&" + Spell(t, root);
}

std::string RustEmitter::ExportParam(const Type& t, const FunctionInfo& fn,
                                     const std::string& root) {
  if (t.kind != TypeKind::kBorrow) return Spell(t, root);
  const ResourceInfo* res = model_.FindResource(t);
  if (!res->exported()) return "&" + root + ModulePath(*res->owner) + ResourceName(*res);
  if (res->owner != fn.owner) {
    Fail("function '" + fn.core_name + "' borrows '" + res->wit_name +
         "' of another interface, which Rust bindings do not support");
  }
  if (fn.function->kind != wit::FunctionKind::kFreestanding &&
      fn.function->resource == res->wit_name) {
    return "&Self";
  }
  if (fn.function->kind != wit::FunctionKind::kFreestanding) {
    Fail("resource function '" + fn.core_name + "' borrows another resource ('" + res->wit_name +
         "'), which Rust bindings do not support");
  }
  return "&Self::" + ResourceName(*res);
}

void RustEmitter::EmitImport(const FunctionInfo& fn) {
  const wit::Function& function = *fn.function;
  const abi::FunctionType& type = function.type;
  const abi::CoreSignature sig = abi::LowerSignature(type, abi::Context::kLower);
  const std::string root = RootFrom(*fn.owner);
  temp_ = 0;
  uses_keep_ = false;

  const bool is_method = function.kind == wit::FunctionKind::kMethod;
  std::string name =
      function.kind == wit::FunctionKind::kConstructor ? "new" : RustSnakeName(function.name);
  std::vector<std::string> params;
  std::vector<std::string> refs;  // each parameter as an expression of type &T
  for (size_t i = 0; i < type.params.size(); i++) {
    const abi::Field& p = type.params[i];
    if (is_method && i == 0) {
      params.push_back("&self");
      refs.push_back("self");
      continue;
    }
    const std::string spelled = ImportParam(*p.type, root);
    const std::string pname = RustSnakeName(p.name);
    params.push_back(pname + ": " + spelled);
    refs.push_back(spelled.front() == '&' ? pname : "(&" + pname + ")");
  }
  const std::string result = fn.result ? Spell(*fn.result, root) : "";

  std::string body;
  std::vector<std::string> args;
  if (sig.params_in_memory) {
    std::vector<abi::TypePtr> elements;
    for (const abi::Field& p : type.params) elements.push_back(p.type);
    const abi::TypePtr tuple = Type::Tuple(std::move(elements));
    const std::vector<uint32_t> offsets = abi::FieldOffsets(*tuple);
    uses_keep_ = true;
    body += "        let __area = __keep.area(" + std::to_string(abi::SizeOf(*tuple)) + ", " +
            std::to_string(abi::AlignmentOf(*tuple)) + ");\n";
    std::string frees;
    for (size_t i = 0; i < type.params.size(); i++) {
      const Type& pt = *type.params[i].type;
      const std::string at = "__area.add(" + std::to_string(offsets[i]) + ")";
      const std::string& ref = refs[i];
      if (pt.kind == TypeKind::kBorrow) {
        body += "        __rt::write_i32(" + at + ", " + ref + ".handle() as i32);\n";
      } else if (pt.kind == TypeKind::kString ||
                 (pt.kind == TypeKind::kList && IsPlainElement(*pt.element))) {
        body += "        __rt::write_i32(" + at + ", " + ref + ".as_ptr() as i32);\n";
        body += "        __rt::write_i32(" + at + ".add(4), " + ref + ".len() as i32);\n";
      } else if (pt.kind == TypeKind::kList) {
        const std::string tmp = "__l" + std::to_string(temp_++);
        body += "        let " + tmp + " = __keep.list::<" + Spell(*pt.element, root) + ">(&" +
                ref + "[..]);\n";
        body += "        __rt::write_i32(" + at + ", " + tmp + ".0);\n";
        body += "        __rt::write_i32(" + at + ".add(4), " + tmp + ".1);\n";
      } else {
        const std::string canon = "<" + Spell(pt, root) + " as __rt::Canon>";
        body += "        " + canon + "::store(" + ref + ", " + at + ");\n";
        frees += "        " + canon + "::free_stored(" + at + ");\n";
      }
    }
    args.push_back("__area as i32");
    body += "@CALL@" + frees;
  } else {
    std::vector<CoreSlot> slots;
    const size_t value_params = sig.params.size() - (sig.results_in_memory ? 1 : 0);
    for (size_t i = 0; i < value_params; i++) {
      slots.push_back({"__c" + std::to_string(i), sig.params[i]});
      body += std::string("        let mut ") + slots.back().var + ": " + CoreRust(sig.params[i]) +
              " = 0" +
              (sig.params[i] == CoreType::kF32 || sig.params[i] == CoreType::kF64 ? ".0" : "") +
              ";\n";
      args.push_back(slots.back().var);
    }
    size_t index = 0;
    for (size_t i = 0; i < type.params.size(); i++) {
      Lower(*type.params[i].type, refs[i], root, slots, index, 2, body);
      index += abi::Flatten(*type.params[i].type).size();
    }
    body += "@CALL@";
  }
  std::string after;
  if (sig.results_in_memory) {
    // On the stack: 8-byte words are aligned for any canonical value.
    const size_t words = (abi::SizeOf(*fn.result) + 7) / 8;
    body = "        let mut __ret_area = [0u64; " + std::to_string(words) +
           "];\n        let __ret = __ret_area.as_mut_ptr() as *mut u8;\n" + body;
    args.push_back("__ret as i32");
    after = "        <" + result + " as __rt::Canon>::load(__ret)\n";
  } else if (!sig.results.empty()) {
    std::vector<CoreSlot> r{{"__r", sig.results[0]}};
    after = Indented(Lift(*fn.result, root, r, 0), 2);
  }
  std::string call = "__import(";
  for (size_t i = 0; i < args.size(); i++) call += (i ? ", " : "") + args[i];
  call += ")";
  const std::string call_line =
      "        " + std::string(!sig.results.empty() && !sig.results_in_memory ? "let __r = " : "") +
      call + ";\n";
  body.replace(body.find("@CALL@"), 6, call_line);
  if (uses_keep_) body = "        let mut __keep = __rt::Keep::new();\n" + body;

  std::string core_params;
  for (size_t i = 0; i < sig.params.size(); i++) {
    core_params +=
        std::string(i ? ", " : "") + "p" + std::to_string(i) + ": " + CoreRust(sig.params[i]);
  }
  std::string f;
  f += DocLines(function.docs);
  std::string joined;
  for (const std::string& p : params) joined += (joined.empty() ? "" : ", ") + p;
  f += "pub fn " + name + "(" + joined + ")" + (result.empty() ? "" : " -> " + result) + " {\n";
  f += "    #[link(wasm_import_module = " + RustStringLiteral(fn.core_module) + ")]\n";
  f += "    extern \"C\" {\n        #[link_name = " + RustStringLiteral(fn.core_name) +
       "]\n        fn __import(" + core_params + ")" +
       (sig.results.empty() ? "" : std::string(" -> ") + CoreRust(sig.results[0])) + ";\n    }\n";
  f += "    unsafe {\n" + body + after + "    }\n}\n";

  if (function.kind == wit::FunctionKind::kFreestanding) {
    items_[fn.owner] += f + "\n";
  } else {
    if (const ResourceInfo* res = ResourceOf(fn)) methods_[res] += f;
  }
}

std::optional<std::pair<std::string, std::string>> RustEmitter::DefaultBody(
    const FunctionInfo& fn) {
  std::optional<ExportDefault> known =
      DefaultFor(fn, [this](const Type& t) { return Spell(t, ""); });
  if (!known) return std::nullopt;
  const Type& ok = *fn.result->ok;
  if (!known->uses_params) {
    std::string body = "let _ = params;\nOk((state";
    for (size_t i = 1; i < ok.elements.size(); i++) {
      if (!HasDefault(*ok.elements[i])) return std::nullopt;
      body += ", Default::default()";
    }
    return std::make_pair(body + (ok.elements.size() == 1 ? ",))" : "))"), known->summary);
  }
  // handle-middleware: let the request through, as it came.
  const Type& decision = *ok.elements[1]->elements[0];
  if (decision.fields.size() != 2) return std::nullopt;
  std::string fields;
  for (const abi::Field& f : decision.fields) {
    fields += RustSnakeName(f.name) + (f.name == "proceed" ? ": true, " : ": params.1, ");
  }
  return std::make_pair(
      "Ok((state, (" + Spell(decision, RootFrom(*fn.owner)) + " { " + fields + "},)))",
      known->summary);
}

void RustEmitter::EmitExport(const FunctionInfo& fn) {
  const wit::Function& function = *fn.function;
  const abi::FunctionType& type = function.type;
  const abi::CoreSignature sig = abi::LowerSignature(type, abi::Context::kLift);
  const std::string root = RootFrom(*fn.owner);
  const bool in_resource = function.kind != wit::FunctionKind::kFreestanding;
  const bool is_method = function.kind == wit::FunctionKind::kMethod;
  const bool is_constructor = function.kind == wit::FunctionKind::kConstructor;
  const ResourceInfo* res = in_resource ? ResourceOf(fn) : nullptr;
  if (in_resource && res == nullptr) return;

  // The trait function the actor implements.
  const std::string name = is_constructor ? "new" : RustSnakeName(function.name);
  std::vector<std::string> params;
  for (size_t i = 0; i < type.params.size(); i++) {
    if (is_method && i == 0) {
      params.push_back("&self");
      continue;
    }
    params.push_back(RustSnakeName(type.params[i].name) + ": " +
                     ExportParam(*type.params[i].type, fn, root));
  }
  std::string joined;
  for (const std::string& p : params) joined += (joined.empty() ? "" : ", ") + p;
  std::string result_type = fn.result ? Spell(*fn.result, root) : "";
  if (is_constructor) result_type = "Self";
  std::string decl = DocLines(function.docs) + "fn " + name + "(" + joined + ")" +
                     (result_type.empty() ? "" : " -> " + result_type);
  auto fallback = in_resource ? std::nullopt : DefaultBody(fn);
  if (fallback) {
    decl = "/// Optional: the default " + fallback->second + ".\n" + decl + " {\n" +
           Indented(fallback->first, 1) + "}\n";
  } else {
    decl += ";\n";
  }
  if (in_resource) {
    resource_trait_[res] += decl;
  } else {
    guest_trait_[fn.owner] += decl;
  }

  // The trampoline the export macro exports: lifts, calls, lowers.
  const std::string scope = fn.owner->interface == nullptr ? "" : ModulePath(*fn.owner);
  const std::string guest = "<T as super::" + scope + "Guest>";
  const std::string rep_type = res != nullptr
                                   ? "<" + guest + "::" + ResourceName(*res) +
                                         " as super::" + scope + ResourceTrait(*res) + ">"
                                   : "";
  const std::string tramp_root = "super::";
  std::string t;
  std::vector<CoreSlot> slots;
  std::string core_params;
  for (size_t i = 0; i < sig.params.size(); i++) {
    slots.push_back({"__c" + std::to_string(i), sig.params[i]});
    core_params += std::string(i ? ", " : "") + slots.back().var + ": " + CoreRust(sig.params[i]);
  }
  const std::string tramp = fn.c_name;
  t += "pub unsafe fn " + tramp + "<T: super::" + scope + "Guest>(" + core_params + ")" +
       (sig.results.empty() ? "" : std::string(" -> ") + CoreRust(sig.results[0])) + " {\n";
  std::vector<std::string> args;
  auto borrow_arg = [&](const Type& pt, const std::string& raw, size_t i) {
    const ResourceInfo* r = model_.FindResource(pt);
    const std::string local = "__a" + std::to_string(i);
    if (r->exported()) {
      t += "    let " + local + " = &*(" + raw + " as usize as *const " + guest +
           "::" + ResourceName(*r) + ");\n";
      args.push_back(local);
    } else {
      t += "    let " + local + " = " + tramp_root + ModulePath(*r->owner) + ResourceName(*r) +
           "::from_handle(" + raw + " as u32);\n";
      args.push_back("&" + local);
    }
  };
  if (sig.params_in_memory) {
    std::vector<abi::TypePtr> elements;
    for (const abi::Field& p : type.params) elements.push_back(p.type);
    const abi::TypePtr tuple = Type::Tuple(std::move(elements));
    const std::vector<uint32_t> offsets = abi::FieldOffsets(*tuple);
    t += "    let __area = __c0 as usize as *mut u8;\n";
    for (size_t i = 0; i < type.params.size(); i++) {
      const Type& pt = *type.params[i].type;
      const std::string at = "__area.add(" + std::to_string(offsets[i]) + ")";
      if (pt.kind == TypeKind::kBorrow) {
        borrow_arg(pt, "__rt::read_i32(" + at + ")", i);
        continue;
      }
      t += "    let __a" + std::to_string(i) + " = <" + Spell(pt, tramp_root) +
           " as __rt::Canon>::load(" + at + ");\n";
      args.push_back("__a" + std::to_string(i));
    }
    t += "    __rt::dealloc(__area, " + std::to_string(abi::SizeOf(*tuple)) + ", " +
         std::to_string(abi::AlignmentOf(*tuple)) + ");\n";
  } else {
    size_t index = 0;
    for (size_t i = 0; i < type.params.size(); i++) {
      const Type& pt = *type.params[i].type;
      if (pt.kind == TypeKind::kBorrow) {
        borrow_arg(pt, LoadLeaf(CoreType::kI32, slots[index]), i);
      } else {
        t += "    let __a" + std::to_string(i) + " = " +
             Indented(Lift(pt, tramp_root, slots, index), 1).substr(4);
        t.pop_back();
        t += ";\n";
        args.push_back("__a" + std::to_string(i));
      }
      index += abi::Flatten(pt).size();
    }
  }
  std::string call;
  if (is_constructor) {
    call = tramp_root + scope + ResourceName(*res) + "::new(" + rep_type + "::new(";
  } else if (in_resource) {
    call = rep_type + "::" + name + "(";
  } else {
    call = guest + "::" + name + "(";
  }
  for (size_t i = 0; i < args.size(); i++) call += (i ? ", " : "") + args[i];
  call += is_constructor ? "))" : ")";
  if (!fn.result) {
    t += "    " + call + ";\n}\n";
  } else if (sig.results_in_memory) {
    const std::string area = "__RET_" + UpperName(tramp);
    const size_t words = (abi::SizeOf(*fn.result) + 7) / 8;
    trampolines_ += "static mut " + area + ": [u64; " + std::to_string(words) + "] = [0; " +
                    std::to_string(words) + "];\n";
    t += "    let __r = " + call + ";\n";
    t += "    let __p = " + area + ".as_mut_ptr() as *mut u8;\n";
    t += "    <" + Spell(*fn.result, tramp_root) + " as __rt::Canon>::store(&__r, __p);\n";
    t += "    __p as i32\n}\n";
  } else {
    t += "    let __r = " + call + ";\n";
    std::vector<CoreSlot> r{{"__r0", sig.results[0]}};
    t += std::string("    let mut __r0: ") + CoreRust(sig.results[0]) + " = 0" +
         (sig.results[0] == CoreType::kF32 || sig.results[0] == CoreType::kF64 ? ".0" : "") + ";\n";
    uses_keep_ = false;
    Lower(*fn.result, "(&__r)", tramp_root, r, 0, 1, t);
    t += "    __r0\n}\n";
  }
  ExportEntry entry{fn.core_name, tramp, sig.params, sig.results, true};
  exports_.push_back(entry);
  if (sig.results_in_memory && NeedsFree(*fn.result)) {
    t += "pub unsafe fn " + tramp + "_post(__p: i32) {\n    <" + Spell(*fn.result, tramp_root) +
         " as __rt::Canon>::free_stored(__p as usize as *const u8);\n}\n";
    exports_.push_back({"cabi_post_" + fn.core_name, tramp + "_post", {CoreType::kI32}, {}, false});
  }
  trampolines_ += t + "\n";
}

// ---- the file ---------------------------------------------------------------------------------

Result<std::string> RustEmitter::Run() {
  for (const auto& res : model_.resources()) DefineResource(*res);
  for (const abi::TypePtr& type : model_.named_types()) {
    DefineNamed(*type, *model_.FindNamed(*type));
  }
  for (const FunctionInfo& fn : model_.functions()) {
    if (fn.exported) {
      EmitExport(fn);
    } else {
      EmitImport(fn);
    }
  }
  // Exported resources' destructors.
  for (const auto& res : model_.resources()) {
    if (!res->exported()) continue;
    const std::string scope = ModulePath(*res->owner);
    const std::string tramp = "dtor_" + res->c_base;
    trampolines_ +=
        "pub unsafe fn " + tramp + "<T: super::" + scope +
        "Guest>(rep: i32) {\n    drop(Box::from_raw(rep as usize as *mut <T as super::" + scope +
        "Guest>::" + ResourceName(*res) + "));\n}\n\n";
    exports_.push_back(
        {res->owner->module + "#[dtor]" + res->wit_name, tramp, {CoreType::kI32}, {}, true});
  }
  const std::string tuple_impls = TupleImpls();
  THEATER_RETURN_IF_ERROR(error_);

  const std::string w = model_.prefix();
  const std::string macro = "export_" + w;
  std::string out;
  out += "//! Bindings of WIT world `" + model_.world().qualified_name +
         "` for an actor written in Rust.\n//!\n"
         "//! Include this file as a module of the crate root and export the actor's type:\n"
         "//!\n//! ```ignore\n//! #[path = \"../bindings/" +
         w + ".rs\"]\n//! mod bindings;\n//!\n//! struct Actor;\n";
  for (const auto& info : model_.interfaces()) {
    if (!info->exported || info->interface == nullptr) continue;
    out += "//! impl bindings::exports::" + info->c_name + "::Guest for Actor { ... }\n";
  }
  bool root_exports = false;
  for (const FunctionInfo& fn : model_.functions()) {
    root_exports = root_exports || (fn.exported && fn.owner->interface == nullptr);
  }
  if (root_exports) out += "//! impl bindings::Guest for Actor { ... }\n";
  out += "//! " + macro + "!(Actor);  // or " + macro +
         "!(Actor, path::to::bindings) elsewhere than crate::bindings\n//! ```\n";
  out +=
      "//!\n//! Imports are plain functions (`bindings::runtime::log(\"hi\")`). Values are "
      "Rust's own: `String`, `Vec`, `Option`, `Result`, tuples, and the structs and enums "
      "below.\n";
  out +=
      "#![allow(dead_code, unused_imports, unused_mut, unused_unsafe, unused_variables, "
      "unused_parens, non_camel_case_types, non_snake_case, clashing_extern_declarations, "
      "clippy::all)]\n";
  out += RustRuntimePrelude();
  out += "\n" + items_[model_.interfaces().back().get()];
  if (root_exports) {
    out += "/// The functions the world exports, implemented by the actor.\npub trait Guest {\n" +
           Indented(guest_trait_[model_.interfaces().back().get()], 1) + "}\n\n";
  }
  // A scope's own items are named without a path inside its module.
  auto local_names = [](std::string text, const InterfaceInfo& info) {
    const std::string own = RootFrom(info) + ModulePath(info);
    if (own.empty()) return text;
    for (size_t at = text.find(own); at != std::string::npos; at = text.find(own, at)) {
      text.erase(at, own.size());
    }
    return text;
  };
  auto module_body = [&](const InterfaceInfo& info) {
    std::string body = "use " + RootFrom(info) + "__rt;\n\n" + items_[&info];
    for (const auto& res : model_.resources()) {
      if (res->owner != &info) continue;
      if (!res->exported() && !methods_[res.get()].empty()) {
        body += "impl " + ResourceName(*res) + " {\n" + Indented(methods_[res.get()], 1) + "}\n\n";
      }
    }
    if (info.exported) {
      std::string assoc;
      for (const auto& res : model_.resources()) {
        if (res->owner != &info) continue;
        body += "/// The actor's implementation of resource `" + res->wit_name + "`.\npub trait " +
                ResourceTrait(*res) + ": 'static {\n" + Indented(resource_trait_[res.get()], 1) +
                "}\n\n";
        assoc += "/// The actor's type behind `" + ResourceName(*res) + "` handles.\ntype " +
                 ResourceName(*res) + ": " + ResourceTrait(*res) + ";\n";
      }
      body += DocLines(info.interface->docs) + "/// Implemented by the actor: the functions of `" +
              info.module + "`.\npub trait Guest {\n" + Indented(assoc + guest_trait_[&info], 1) +
              "}\n";
    }
    return local_names(body, info);
  };
  for (const auto& info : model_.interfaces()) {
    if (info->interface == nullptr || info->exported) continue;
    out += DocLines(info->interface->docs) + "/// Imported from `" + info->module + "`.\npub mod " +
           info->c_name + " {\n" + Indented(module_body(*info), 1) + "}\n\n";
  }
  std::string exported;
  for (const auto& info : model_.interfaces()) {
    if (info->interface == nullptr || !info->exported) continue;
    exported += "pub mod " + info->c_name + " {\n" + Indented(module_body(*info), 1) + "}\n";
  }
  if (!exported.empty()) {
    out +=
        "/// What the actor exports: one trait to implement per interface.\npub mod exports {\n" +
        Indented(exported, 1) + "}\n\n";
  }
  out += "/// The exports' glue, generic over the actor's type; `" + macro +
         "!` exports it. Not for actors.\n#[doc(hidden)]\npub mod __export {\n" +
         Indented("use super::__rt;\n\n" + trampolines_, 1) + "}\n\n";
  out += tuple_impls + "\n";

  // The export macro: one `extern "C"` function per core export, calling the generic glue.
  std::string entries;
  for (size_t i = 0; i < exports_.size(); i++) {
    const ExportEntry& e = exports_[i];
    std::string params, args;
    for (size_t j = 0; j < e.params.size(); j++) {
      params += std::string(j ? ", " : "") + "a" + std::to_string(j) + ": " + CoreRust(e.params[j]);
      args += std::string(j ? ", " : "") + "a" + std::to_string(j);
    }
    entries += "        #[export_name = " + RustStringLiteral(e.export_name) +
               "]\n        unsafe extern \"C\" fn __export_" + std::to_string(i) + "(" + params +
               ")" + (e.results.empty() ? "" : std::string(" -> ") + CoreRust(e.results[0])) +
               " {\n            $crate::$($m)::+::__export::" + e.trampoline +
               (e.generic ? "::<$t>" : "") + "(" + args + ")\n        }\n";
  }
  out += "/// Exports the actor: `" + macro +
         "!(Actor)` where `Actor` implements the export traits, for bindings included as "
         "`crate::bindings`; `" +
         macro + "!(Actor, my::module)` (a path from the crate root) when they are elsewhere.\n";
  out += "#[macro_export]\nmacro_rules! " + macro +
         " {\n    ($t:ty) => {\n        $crate::" + macro +
         "!($t, bindings);\n    };\n    ($t:ty, $($m:ident)::+) => {\n" +
         "        const _: () = {\n" + Indented(entries, 1) + "        };\n    };\n}\n";
  return out;
}

}  // namespace

Result<std::string> GenerateRust(const WorldModel& model) {
  return RustEmitter(model).Run();
}

}  // namespace theater::bindgen
