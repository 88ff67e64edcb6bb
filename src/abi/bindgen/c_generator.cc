// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/c_generator.h"

#include <map>

#include "abi/bindgen/names.h"
#include "common/bytes.h"
#include "theater/abi/canonical.h"

namespace theater::bindgen {
namespace {

using abi::CoreType;
using abi::Type;
using abi::TypeKind;

const char* CoreCType(CoreType type) {
  switch (type) {
    case CoreType::kI32:
      return "int32_t";
    case CoreType::kI64:
      return "int64_t";
    case CoreType::kF32:
      return "float";
    case CoreType::kF64:
      return "double";
  }
  return "int32_t";
}

const char* PrimitiveCName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kS8:
      return "int8_t";
    case TypeKind::kU8:
      return "uint8_t";
    case TypeKind::kS16:
      return "int16_t";
    case TypeKind::kU16:
      return "uint16_t";
    case TypeKind::kS32:
      return "int32_t";
    case TypeKind::kU32:
    case TypeKind::kChar:
      return "uint32_t";
    case TypeKind::kS64:
      return "int64_t";
    case TypeKind::kU64:
      return "uint64_t";
    case TypeKind::kF32:
      return "float";
    case TypeKind::kF64:
      return "double";
    default:
      return nullptr;
  }
}

std::string Indent(int n) {
  return std::string(static_cast<size_t>(n) * 2, ' ');
}

class Emitter {
 public:
  Emitter(const WorldModel& model, bool for_cpp)
      : model_(model), names_(model), p_(model.prefix()), for_cpp_(for_cpp) {}

  Result<CLayer> Run();

 private:
  void DefineType(const Type& type);
  void DefineShape(const Type& type, const std::string& c_type);
  void EmitStructCheck(const Type& type, const std::string& c_type);
  void EmitFree(const Type& type, const std::string& c_type);
  std::string FreeBody(const Type& type, const std::string& ptr, int indent);
  void EmitResources();
  void EmitImport(const FunctionInfo& fn);
  // printf-style constructors of strings (and of list<u8> when the world uses it), and a
  // printf-style companion `<import>f` of each import that takes one string and returns nothing.
  void EmitFormatting();
  void EmitExport(const FunctionInfo& fn);

  // Stores `value` (naturally of core type `natural`) into `slot`, converting as the canonical
  // ABI joins variant payloads.
  std::string StoreLeaf(CoreType natural, const std::string& value, const CoreSlot& slot) const;
  // Reads a value of core type `natural` out of `slot`.
  std::string LoadLeaf(CoreType natural, const CoreSlot& slot) const;
  void Lower(const Type& type, const std::string& expr, const std::vector<CoreSlot>& slots,
             size_t index, int indent, std::string& out) const;
  // Lower and Lift recurse the same way into the parts of records, tuples, options and results:
  // `walk` is the one of them doing the walking.
  using Walk = void (Emitter::*)(const Type&, const std::string&, const std::vector<CoreSlot>&,
                                 size_t, int, std::string&) const;
  // `walk` over each field of a record, or element of a tuple, `expr`, from flat slot `index`.
  void WalkParts(Walk walk, const Type& type, const std::string& expr,
                 const std::vector<CoreSlot>& slots, size_t index, int indent,
                 std::string& out) const;
  // `walk` over `payload` (at `payload_expr`, from flat slot `index`) under `if (when)`.
  void WalkIf(Walk walk, const std::string& when, const Type& payload,
              const std::string& payload_expr, const std::vector<CoreSlot>& slots, size_t index,
              int indent, std::string& out) const;
  // `walk` over each case of result `expr` that has a payload, under its `if`.
  void WalkResult(Walk walk, const Type& type, const std::string& expr,
                  const std::vector<CoreSlot>& slots, size_t index, int indent,
                  std::string& out) const;
  void Lift(const Type& type, const std::string& dest, const std::vector<CoreSlot>& slots, size_t index,
            int indent, std::string& out) const;
  // Drops every borrowed handle of an imported resource inside `expr`: an export must drop the
  // borrows it was lent before it returns, or the host fails the call.
  void DropBorrows(const Type& type, const std::string& expr, int indent, std::string& out) const;
  bool HasImportedBorrow(const Type& type) const;

  // C declarations of the user-facing function (import wrapper or export to implement).
  std::string Signature(const FunctionInfo& fn) const;
  bool PassedByPointer(const Type& type, bool exported) const;

  const WorldModel& model_;
  CNames names_;
  std::string p_;  // the world prefix
  bool for_cpp_;
  std::set<std::string> defined_;
  std::string types_;        // header: type definitions
  std::string free_decls_;   // header
  std::string free_defs_;    // source
  std::string resources_h_;  // header
  std::string functions_h_;  // header
  std::string source_;       // source: imports and exports
};

Result<CLayer> Emitter::Run() {
  EmitResources();
  for (const abi::TypePtr& type : model_.named_types()) DefineType(*type);
  for (const FunctionInfo& fn : model_.functions()) {
    for (const abi::Field& param : fn.function->type.params) DefineType(*param.type);
    if (fn.result) DefineType(*fn.result);
  }
  for (const FunctionInfo& fn : model_.functions()) {
    if (fn.exported) {
      EmitExport(fn);
    } else {
      EmitImport(fn);
    }
  }
  EmitFormatting();
  CLayer layer;
  const std::string up = UpperName(p_);
  std::string& h = layer.header;
  h += "#ifdef __cplusplus\n#define " + up + "_STATIC_ASSERT(c, m) static_assert(c, m)\n#define " +
       up + "_ALIGNOF(t) alignof(t)\n#else\n#define " + up +
       "_STATIC_ASSERT(c, m) _Static_assert(c, m)\n#define " + up +
       "_ALIGNOF(t) _Alignof(t)\n#endif\n";
  h += "/* Checks that a C type has the canonical-ABI size and alignment of the WIT type it "
       "mirrors. */\n";
  h += "#define " + up + "_ABI_CHECK(t, size, align) \\\n  " + up +
       "_STATIC_ASSERT(sizeof(t) == (size) && " + up +
       "_ALIGNOF(t) == (align), #t \" must have the canonical ABI layout\")\n";
  h += "#define " + up + "_ABI_CHECK_OFFSET(t, field, offset) \\\n  " + up +
       "_STATIC_ASSERT(offsetof(t, field) == (offset), #t \".\" #field \" misplaced\")\n\n";
  h += "/* WIT `string`: UTF-8, not NUL-terminated; ptr is NULL or a dummy when len is 0. */\n";
  h += "typedef struct " + p_ + "_string_t {\n  char* ptr;\n  size_t len;\n} " + p_ +
       "_string_t;\n" + up + "_ABI_CHECK(" + p_ + "_string_t, 8, 4);\n\n";
  h += resources_h_;
  h += types_;
  h += "/* ---- free helpers: release what a value owns (never drops resource handles) ---- */\n";
  h += "void " + p_ + "_string_free(" + p_ + "_string_t* v);\n";
  h += free_decls_ + "\n";
  h += functions_h_;

  std::string& s = layer.source;
  s +=
      "/* Weak so that one definition is kept however many bindings a module links; a strong\n"
      " * cabi_realloc elsewhere wins. A zero-size request returns the dummy pointer `align`. */\n";
  s += "__attribute__((weak, export_name(\"cabi_realloc\"))) void* cabi_realloc(void* old_ptr,\n"
       "    size_t old_size, size_t align, size_t new_size) {\n"
       "  if (align == 0 || align > 16 || (align & (align - 1)) != 0) __builtin_trap();\n"
       "  if (old_size == 0) old_ptr = NULL;\n"
       "  if (new_size == 0) {\n    free(old_ptr);\n    return (void*)align;\n  }\n"
       "  void* p = realloc(old_ptr, new_size);\n  if (p == NULL) __builtin_trap();\n"
       "  return p;\n}\n\n";
  s += "__attribute__((unused)) static inline int32_t " + p_ +
       "_f32_bits(float f) {\n  int32_t i;\n"
       "  memcpy(&i, &f, sizeof i);\n  return i;\n}\n";
  s += "__attribute__((unused)) static inline float " + p_ +
       "_bits_f32(int32_t i) {\n  float f;\n"
       "  memcpy(&f, &i, sizeof f);\n  return f;\n}\n";
  s += "__attribute__((unused)) static inline int64_t " + p_ +
       "_f64_bits(double f) {\n  int64_t i;\n"
       "  memcpy(&i, &f, sizeof i);\n  return i;\n}\n";
  s += "__attribute__((unused)) static inline double " + p_ +
       "_bits_f64(int64_t i) {\n  double f;\n"
       "  memcpy(&f, &i, sizeof f);\n  return f;\n}\n\n";
  s += "void " + p_ + "_string_free(" + p_ +
       "_string_t* v) {\n  if (v->len != 0) free(v->ptr);\n"
       "  v->ptr = NULL;\n  v->len = 0;\n}\n";
  s += free_defs_ + "\n" + source_;
  return layer;
}

// ---- types ------------------------------------------------------------------------------------

void Emitter::DefineType(const Type& type) {
  if (type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow) return;
  if (type.is_primitive() && type.kind != TypeKind::kString && !model_.FindNamed(type)) return;
  if (type.kind == TypeKind::kString && !model_.FindNamed(type)) return;
  const std::string c_type = names_.CName(type);
  if (defined_.count(c_type) != 0) return;
  defined_.insert(c_type);
  // Dependencies first: WIT types are never recursive, so this terminates.
  switch (type.kind) {
    case TypeKind::kList:
    case TypeKind::kOption:
      DefineType(*type.element);
      break;
    case TypeKind::kRecord:
      for (const abi::Field& f : type.fields) DefineType(*f.type);
      break;
    case TypeKind::kTuple:
      for (const abi::TypePtr& e : type.elements) DefineType(*e);
      break;
    case TypeKind::kVariant:
      for (const abi::Case& c : type.cases) {
        if (c.type) DefineType(*c.type);
      }
      break;
    case TypeKind::kResult:
      if (type.ok) DefineType(*type.ok);
      if (type.err) DefineType(*type.err);
      break;
    default:
      break;
  }
  const NamedTypeInfo* named = model_.FindNamed(type);
  const bool is_alias = named != nullptr && type.kind != TypeKind::kRecord &&
                        type.kind != TypeKind::kVariant && type.kind != TypeKind::kEnum &&
                        type.kind != TypeKind::kFlags;
  if (!is_alias) {
    DefineShape(type, c_type);
    return;
  }
  // `type x = <shape>`: a typedef of the shape's own C type.
  const std::string shape = names_.StructuralCName(type);
  if (!type.is_primitive() && defined_.count(shape) == 0) {
    defined_.insert(shape);
    DefineShape(type, shape);
  }
  types_ += "/* WIT `type " + named->wit_name + " = ...` */\n";
  types_ += "typedef " + shape + " " + c_type + ";\n\n";
  if (NeedsFree(type)) {
    const std::string base = c_type.substr(0, c_type.size() - 2);
    const std::string shape_base = shape.substr(0, shape.size() - 2);
    free_decls_ += "void " + base + "_free(" + c_type + "* v);\n";
    free_defs_ += "void " + base + "_free(" + c_type + "* v) {\n  " + shape_base + "_free(v);\n}\n";
  }
}

void Emitter::DefineShape(const Type& type, const std::string& c_type) {
  const std::string up = UpperName(p_);
  const std::string base = c_type.substr(0, c_type.size() - 2);
  const std::string base_up = UpperName(base);
  std::string& t = types_;
  if (const NamedTypeInfo* named = model_.FindNamed(type)) {
    t += "/* WIT " + std::string(TypeKindName(type.kind)) + " `" + named->wit_name + "` */\n";
  } else {
    t += "/* WIT " + type.ToWit() + " */\n";
  }
  switch (type.kind) {
    case TypeKind::kString:
      t += "typedef " + p_ + "_string_t " + c_type + ";\n";
      break;
    case TypeKind::kList:
      t += "typedef struct " + c_type + " {\n  " + names_.CName(*type.element) +
           "* ptr;\n  size_t len;\n} " + c_type + ";\n";
      break;
    case TypeKind::kOption:
      t += "typedef struct " + c_type + " {\n  bool is_some;\n  " + names_.CName(*type.element) +
           " val; /* meaningful only when is_some */\n} " + c_type + ";\n";
      break;
    case TypeKind::kResult: {
      t += "typedef struct " + c_type + " {\n  bool is_err;\n";
      if (type.ok || type.err) {
        t += "  union {\n";
        if (type.ok) t += "    " + names_.CName(*type.ok) + " ok;\n";
        if (type.err) t += "    " + names_.CName(*type.err) + " err;\n";
        t += "  } val;\n";
      }
      t += "} " + c_type + ";\n";
      break;
    }
    case TypeKind::kRecord:
      t += "typedef struct " + c_type + " {\n";
      for (const abi::Field& f : type.fields) {
        t += "  " + names_.CName(*f.type) + " " + SnakeName(f.name) + ";\n";
      }
      t += "} " + c_type + ";\n";
      break;
    case TypeKind::kTuple:
      t += "typedef struct " + c_type + " {\n";
      for (size_t i = 0; i < type.elements.size(); i++) {
        t += "  " + names_.CName(*type.elements[i]) + " f" + std::to_string(i) + ";\n";
      }
      t += "} " + c_type + ";\n";
      break;
    case TypeKind::kVariant: {
      for (size_t i = 0; i < type.cases.size(); i++) {
        t += "#define " + base_up + "_" + UpperName(type.cases[i].name) + " " + std::to_string(i) +
             "\n";
      }
      t += "typedef struct " + c_type + " {\n  " + CNames::DiscriminantType(type.cases.size()) +
           " tag;\n";
      bool any_payload = false;
      for (const abi::Case& c : type.cases) any_payload = any_payload || c.type != nullptr;
      if (any_payload) {
        t += "  union {\n";
        for (const abi::Case& c : type.cases) {
          if (c.type) t += "    " + names_.CName(*c.type) + " " + SnakeName(c.name) + ";\n";
        }
        t += "  } val;\n";
      }
      t += "} " + c_type + ";\n";
      break;
    }
    case TypeKind::kEnum:
      t += "typedef " + CNames::DiscriminantType(type.labels.size()) + " " + c_type + ";\n";
      for (size_t i = 0; i < type.labels.size(); i++) {
        t += "#define " + base_up + "_" + UpperName(type.labels[i]) + " ((" + c_type + ")" +
             std::to_string(i) + ")\n";
      }
      break;
    case TypeKind::kFlags: {
      const size_t n = type.labels.size();
      const std::string repr = n <= 8 ? "uint8_t" : n <= 16 ? "uint16_t" : "uint32_t";
      t += "typedef " + repr + " " + c_type + ";\n";
      for (size_t i = 0; i < n; i++) {
        t += "#define " + base_up + "_" + UpperName(type.labels[i]) + " ((" + c_type + ")(1u << " +
             std::to_string(i) + "))\n";
      }
      break;
    }
    default:  // a named primitive reaches here only through an alias, handled by the caller
      t += "typedef " + std::string(PrimitiveCName(type.kind)) + " " + c_type + ";\n";
      break;
  }
  EmitStructCheck(type, c_type);
  t += "\n";
  if (NeedsFree(type)) EmitFree(type, c_type);
}

void Emitter::EmitStructCheck(const Type& type, const std::string& c_type) {
  const std::string up = UpperName(p_);
  types_ += up + "_ABI_CHECK(" + c_type + ", " + std::to_string(abi::SizeOf(type)) + ", " +
            std::to_string(abi::AlignmentOf(type)) + ");\n";
  if (type.kind == TypeKind::kRecord || type.kind == TypeKind::kTuple) {
    std::vector<uint32_t> offsets = abi::FieldOffsets(type);
    for (size_t i = 0; i < offsets.size(); i++) {
      std::string field =
          type.kind == TypeKind::kRecord ? SnakeName(type.fields[i].name) : "f" + std::to_string(i);
      types_ += up + "_ABI_CHECK_OFFSET(" + c_type + ", " + field + ", " +
                std::to_string(offsets[i]) + ");\n";
    }
  }
  bool has_payload = false;
  if (type.kind == TypeKind::kVariant) {
    for (const abi::Case& c : type.cases) has_payload = has_payload || c.type != nullptr;
  }
  if (type.kind == TypeKind::kOption) has_payload = true;
  if (type.kind == TypeKind::kResult) has_payload = type.ok || type.err;
  if (has_payload) {
    types_ += up + "_ABI_CHECK_OFFSET(" + c_type + ", val, " +
              std::to_string(abi::PayloadOffset(type)) + ");\n";
  }
}

std::string Emitter::FreeBody(const Type& type, const std::string& v, int indent) {
  const std::string in = Indent(indent);
  auto call = [&](const Type& t, const std::string& ptr) {
    return in + names_.FreeFunction(t) + "(" + ptr + ");\n";
  };
  std::string out;
  switch (type.kind) {
    case TypeKind::kList:
      if (NeedsFree(*type.element)) {
        out += in + "for (size_t i = 0; i < " + v + "->len; i++) {\n";
        out += Indent(1) + call(*type.element, "&" + v + "->ptr[i]");
        out += in + "}\n";
      }
      out += in + "if (" + v + "->len != 0) free(" + v + "->ptr);\n";
      out += in + v + "->ptr = NULL;\n" + in + v + "->len = 0;\n";
      break;
    case TypeKind::kOption:
      out += in + "if (" + v + "->is_some) " +
             call(*type.element, "&" + v + "->val").substr(in.size());
      out += in + v + "->is_some = false;\n";
      break;
    case TypeKind::kResult:
      if (type.err && NeedsFree(*type.err)) {
        out += in + "if (" + v + "->is_err) " +
               call(*type.err, "&" + v + "->val.err").substr(in.size());
      }
      if (type.ok && NeedsFree(*type.ok)) {
        out += in + "if (!" + v + "->is_err) " +
               call(*type.ok, "&" + v + "->val.ok").substr(in.size());
      }
      out += in + v + "->is_err = false;\n";
      break;
    case TypeKind::kRecord:
      for (const abi::Field& f : type.fields) {
        if (NeedsFree(*f.type)) out += call(*f.type, "&" + v + "->" + SnakeName(f.name));
      }
      break;
    case TypeKind::kTuple:
      for (size_t i = 0; i < type.elements.size(); i++) {
        if (NeedsFree(*type.elements[i])) {
          out += call(*type.elements[i], "&" + v + "->f" + std::to_string(i));
        }
      }
      break;
    case TypeKind::kVariant:
      out += in + "switch (" + v + "->tag) {\n";
      for (size_t i = 0; i < type.cases.size(); i++) {
        const abi::Case& c = type.cases[i];
        if (!c.type || !NeedsFree(*c.type)) continue;
        out += in + "  case " + std::to_string(i) + ":\n";
        out += Indent(2) + call(*c.type, "&" + v + "->val." + SnakeName(c.name));
        out += in + "    break;\n";
      }
      out += in + "  default:\n" + in + "    break;\n" + in + "}\n";
      break;
    default:
      break;
  }
  return out;
}

void Emitter::EmitFree(const Type& type, const std::string& c_type) {
  const std::string base = c_type.substr(0, c_type.size() - 2);
  free_decls_ += "void " + base + "_free(" + c_type + "* v);\n";
  free_defs_ += "void " + base + "_free(" + c_type + "* v) {\n" + FreeBody(type, "v", 1) + "}\n";
}

// ---- resources --------------------------------------------------------------------------------

void Emitter::EmitResources() {
  for (const auto& res : model_.resources()) {
    const std::string& b = res->c_base;
    const std::string module = res->owner->module;
    std::string& h = resources_h_;
    std::string& s = source_;
    const std::string up = UpperName(p_);
    if (!res->exported()) {
      h += "/* Imported resource `" + res->wit_name + "` (" + module +
           "): an owned handle must be dropped with " + b + "_drop_own or passed on. */\n";
      h += "typedef struct " + b + "_own_t {\n  int32_t handle;\n} " + b + "_own_t;\n";
      h += "typedef struct " + b + "_borrow_t {\n  int32_t handle;\n} " + b + "_borrow_t;\n";
      h += up + "_ABI_CHECK(" + b + "_own_t, 4, 4);\n" + up + "_ABI_CHECK(" + b +
           "_borrow_t, 4, 4);\n";
      h += "void " + b + "_drop_own(" + b + "_own_t handle);\n";
      h += "static inline " + b + "_borrow_t " + b + "_borrow_own(" + b + "_own_t handle) {\n  " +
           b + "_borrow_t borrowed;\n  borrowed.handle = handle.handle;\n  return borrowed;\n}\n\n";
      s += "__attribute__((import_module(" + CStringLiteral(module) + "), import_name(" +
           CStringLiteral("[resource-drop]" + res->wit_name) + "))) extern void " + b +
           "_wasm_drop(int32_t handle);\n";
      s += "void " + b + "_drop_own(" + b + "_own_t handle) {\n  " + b +
           "_wasm_drop(handle.handle);\n}\n\n";
      continue;
    }
    const std::string export_module = "[export]" + module;
    h += "/* Exported resource `" + res->wit_name + "` (" + module + "). Define `struct " + b +
         "_t` (the representation); the bindings pass it as `" + b +
         "_t*` where WIT borrows it, and call " + b +
         "_destructor when the host drops the last handle. */\n";
    h += "typedef struct " + b + "_t " + b + "_t;\n";
    h += "typedef struct " + b + "_own_t {\n  int32_t handle;\n} " + b + "_own_t;\n";
    h += "typedef " + b + "_t* " + b + "_borrow_t;\n";
    h += up + "_ABI_CHECK(" + b + "_own_t, 4, 4);\n";
    h += "/* A new handle owning `rep`. */\n" + b + "_own_t " + b + "_new(" + b + "_t* rep);\n";
    h += b + "_t* " + b + "_rep(" + b + "_own_t handle);\n";
    h += "void " + b + "_drop_own(" + b + "_own_t handle);\n";
    h += "/* Implemented by the actor: releases `rep`. */\nvoid " + b + "_destructor(" + b +
         "_t* rep);\n\n";
    auto import = [&](const std::string& name, const std::string& decl) {
      s += "__attribute__((import_module(" + CStringLiteral(export_module) + "), import_name(" +
           CStringLiteral(name + res->wit_name) + "))) extern " + decl + ";\n";
    };
    import("[resource-new]", "int32_t " + b + "_wasm_new(int32_t rep)");
    import("[resource-rep]", "int32_t " + b + "_wasm_rep(int32_t handle)");
    import("[resource-drop]", "void " + b + "_wasm_drop(int32_t handle)");
    s += b + "_own_t " + b + "_new(" + b + "_t* rep) {\n  " + b +
         "_own_t own;\n  own.handle = " + b +
         "_wasm_new((int32_t)(uintptr_t)rep);\n  return own;\n}\n";
    s += b + "_t* " + b + "_rep(" + b + "_own_t handle) {\n  return (" + b + "_t*)(uintptr_t)" + b +
         "_wasm_rep(handle.handle);\n}\n";
    s += "void " + b + "_drop_own(" + b + "_own_t handle) {\n  " + b +
         "_wasm_drop(handle.handle);\n}\n";
    s += "__attribute__((export_name(" + CStringLiteral(module + "#[dtor]" + res->wit_name) +
         "))) void " + b + "_wasm_dtor(int32_t rep) {\n  " + b + "_destructor((" + b +
         "_t*)(uintptr_t)rep);\n}\n\n";
  }
}

// ---- flattening -------------------------------------------------------------------------------

std::string Emitter::StoreLeaf(CoreType natural, const std::string& value, const CoreSlot& slot) const {
  std::string v;
  if (slot.type == natural) {
    v = value;
  } else if (natural == CoreType::kI32 && slot.type == CoreType::kI64) {
    v = "(int64_t)(uint32_t)(" + value + ")";
  } else if (natural == CoreType::kF32 && slot.type == CoreType::kI32) {
    v = p_ + "_f32_bits(" + value + ")";
  } else if (natural == CoreType::kF32 && slot.type == CoreType::kI64) {
    v = "(int64_t)(uint32_t)" + p_ + "_f32_bits(" + value + ")";
  } else {  // f64 in an i64 slot: the only join left
    v = p_ + "_f64_bits(" + value + ")";
  }
  return slot.var + " = " + v + ";\n";
}

std::string Emitter::LoadLeaf(CoreType natural, const CoreSlot& slot) const {
  if (slot.type == natural) return slot.var;
  if (natural == CoreType::kI32) return "(int32_t)" + slot.var;
  if (natural == CoreType::kF32 && slot.type == CoreType::kI32) {
    return p_ + "_bits_f32(" + slot.var + ")";
  }
  if (natural == CoreType::kF32) return p_ + "_bits_f32((int32_t)" + slot.var + ")";
  return p_ + "_bits_f64(" + slot.var + ")";
}

void Emitter::WalkParts(Walk walk, const Type& type, const std::string& expr,
                        const std::vector<CoreSlot>& slots, size_t index, int indent,
                        std::string& out) const {
  if (type.kind == TypeKind::kRecord) {
    for (const abi::Field& f : type.fields) {
      (this->*walk)(*f.type, "(" + expr + ")." + SnakeName(f.name), slots, index, indent, out);
      index += abi::Flatten(*f.type).size();
    }
    return;
  }
  for (size_t i = 0; i < type.elements.size(); i++) {
    (this->*walk)(*type.elements[i], "(" + expr + ").f" + std::to_string(i), slots, index, indent,
                  out);
    index += abi::Flatten(*type.elements[i]).size();
  }
}

void Emitter::WalkIf(Walk walk, const std::string& when, const Type& payload,
                     const std::string& payload_expr, const std::vector<CoreSlot>& slots,
                     size_t index, int indent, std::string& out) const {
  const std::string in = Indent(indent);
  out += in + "if (" + when + ") {\n";
  (this->*walk)(payload, payload_expr, slots, index, indent + 1, out);
  out += in + "}\n";
}

void Emitter::WalkResult(Walk walk, const Type& type, const std::string& expr,
                         const std::vector<CoreSlot>& slots, size_t index, int indent,
                         std::string& out) const {
  if (type.ok) {
    WalkIf(walk, "!(" + expr + ").is_err", *type.ok, "(" + expr + ").val.ok", slots, index, indent,
           out);
  }
  if (type.err) {
    WalkIf(walk, "(" + expr + ").is_err", *type.err, "(" + expr + ").val.err", slots, index, indent,
           out);
  }
}

void Emitter::Lower(const Type& type, const std::string& expr, const std::vector<CoreSlot>& slots,
                    size_t index, int indent, std::string& out) const {
  const std::string in = Indent(indent);
  switch (type.kind) {
    case TypeKind::kS64:
    case TypeKind::kU64:
      out += in + StoreLeaf(CoreType::kI64, "(int64_t)(" + expr + ")", slots[index]);
      return;
    case TypeKind::kF32:
      out += in + StoreLeaf(CoreType::kF32, expr, slots[index]);
      return;
    case TypeKind::kF64:
      out += in + StoreLeaf(CoreType::kF64, expr, slots[index]);
      return;
    case TypeKind::kOwn:
    case TypeKind::kBorrow: {
      const ResourceInfo* res = model_.FindResource(type);
      const bool rep = type.kind == TypeKind::kBorrow && res && res->exported();
      out += in + StoreLeaf(CoreType::kI32,
                            rep ? "(int32_t)(uintptr_t)(" + expr + ")" : "(" + expr + ").handle",
                            slots[index]);
      return;
    }
    case TypeKind::kString:
    case TypeKind::kList:
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(uintptr_t)(" + expr + ").ptr", slots[index]);
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(" + expr + ").len", slots[index + 1]);
      return;
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      WalkParts(&Emitter::Lower, type, expr, slots, index, indent, out);
      return;
    case TypeKind::kOption:
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(" + expr + ").is_some", slots[index]);
      WalkIf(&Emitter::Lower, "(" + expr + ").is_some", *type.element, "(" + expr + ").val", slots,
             index + 1, indent, out);
      return;
    case TypeKind::kResult:
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(" + expr + ").is_err", slots[index]);
      WalkResult(&Emitter::Lower, type, expr, slots, index + 1, indent, out);
      return;
    case TypeKind::kVariant:
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(" + expr + ").tag", slots[index]);
      out += in + "switch ((" + expr + ").tag) {\n";
      for (size_t i = 0; i < type.cases.size(); i++) {
        const abi::Case& c = type.cases[i];
        if (!c.type) continue;
        out += in + "  case " + std::to_string(i) + ":\n";
        Lower(*c.type, "(" + expr + ").val." + SnakeName(c.name), slots, index + 1, indent + 2,
              out);
        out += in + "    break;\n";
      }
      out += in + "  default:\n" + in + "    break;\n" + in + "}\n";
      return;
    default:  // bool, 8..32-bit integers, char, enum, flags
      out += in + StoreLeaf(CoreType::kI32, "(int32_t)(" + expr + ")", slots[index]);
      return;
  }
}

bool Emitter::HasImportedBorrow(const Type& type) const {
  return abi::Contains(type, [this](const Type& t) {
    if (t.kind != TypeKind::kBorrow) return false;
    const ResourceInfo* res = model_.FindResource(t);
    return res != nullptr && !res->exported();
  });
}

void Emitter::DropBorrows(const Type& type, const std::string& expr, int indent,
                          std::string& out) const {
  if (!HasImportedBorrow(type)) return;
  const std::string in = Indent(indent);
  switch (type.kind) {
    case TypeKind::kBorrow:
      out += in + model_.FindResource(type)->c_base + "_wasm_drop((" + expr + ").handle);\n";
      return;
    case TypeKind::kList: {
      const std::string i = "d" + std::to_string(indent) + "_";
      out += in + "for (size_t " + i + " = 0; " + i + " < (" + expr + ").len; " + i + "++) {\n";
      DropBorrows(*type.element, "(" + expr + ").ptr[" + i + "]", indent + 1, out);
      out += in + "}\n";
      return;
    }
    case TypeKind::kOption:
      out += in + "if ((" + expr + ").is_some) {\n";
      DropBorrows(*type.element, "(" + expr + ").val", indent + 1, out);
      out += in + "}\n";
      return;
    case TypeKind::kRecord:
      for (const abi::Field& f : type.fields) {
        DropBorrows(*f.type, "(" + expr + ")." + SnakeName(f.name), indent, out);
      }
      return;
    case TypeKind::kTuple:
      for (size_t i = 0; i < type.elements.size(); i++) {
        DropBorrows(*type.elements[i], "(" + expr + ").f" + std::to_string(i), indent, out);
      }
      return;
    case TypeKind::kResult:
      if (type.ok) {
        out += in + "if (!(" + expr + ").is_err) {\n";
        DropBorrows(*type.ok, "(" + expr + ").val.ok", indent + 1, out);
        out += in + "}\n";
      }
      if (type.err) {
        out += in + "if ((" + expr + ").is_err) {\n";
        DropBorrows(*type.err, "(" + expr + ").val.err", indent + 1, out);
        out += in + "}\n";
      }
      return;
    case TypeKind::kVariant:
      for (size_t i = 0; i < type.cases.size(); i++) {
        const abi::Case& c = type.cases[i];
        if (!c.type || !HasImportedBorrow(*c.type)) continue;
        out += in + "if ((" + expr + ").tag == " + std::to_string(i) + ") {\n";
        DropBorrows(*c.type, "(" + expr + ").val." + SnakeName(c.name), indent + 1, out);
        out += in + "}\n";
      }
      return;
    default:
      return;
  }
}

void Emitter::Lift(const Type& type, const std::string& dest, const std::vector<CoreSlot>& slots,
                   size_t index, int indent, std::string& out) const {
  const std::string in = Indent(indent);
  const std::string c_type = names_.CName(type);
  switch (type.kind) {
    case TypeKind::kBool:
      out += in + dest + " = " + LoadLeaf(CoreType::kI32, slots[index]) + " != 0;\n";
      return;
    case TypeKind::kS64:
    case TypeKind::kU64:
      out += in + dest + " = (" + c_type + ")" + LoadLeaf(CoreType::kI64, slots[index]) + ";\n";
      return;
    case TypeKind::kF32:
      out += in + dest + " = " + LoadLeaf(CoreType::kF32, slots[index]) + ";\n";
      return;
    case TypeKind::kF64:
      out += in + dest + " = " + LoadLeaf(CoreType::kF64, slots[index]) + ";\n";
      return;
    case TypeKind::kOwn:
    case TypeKind::kBorrow: {
      const ResourceInfo* res = model_.FindResource(type);
      if (type.kind == TypeKind::kBorrow && res && res->exported()) {
        out += in + dest + " = (" + res->c_base + "_t*)(uintptr_t)" +
               LoadLeaf(CoreType::kI32, slots[index]) + ";\n";
      } else {
        out += in + "(" + dest + ").handle = " + LoadLeaf(CoreType::kI32, slots[index]) + ";\n";
      }
      return;
    }
    case TypeKind::kString:
    case TypeKind::kList: {
      const std::string elem =
          type.kind == TypeKind::kString ? "char" : names_.CName(*type.element);
      out += in + "(" + dest + ").ptr = (" + elem + "*)(uintptr_t)" +
             LoadLeaf(CoreType::kI32, slots[index]) + ";\n";
      out += in + "(" + dest + ").len = (size_t)(uint32_t)" +
             LoadLeaf(CoreType::kI32, slots[index + 1]) + ";\n";
      return;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      WalkParts(&Emitter::Lift, type, dest, slots, index, indent, out);
      return;
    case TypeKind::kOption:
      out += in + "(" + dest + ").is_some = " + LoadLeaf(CoreType::kI32, slots[index]) + " != 0;\n";
      WalkIf(&Emitter::Lift, "(" + dest + ").is_some", *type.element, "(" + dest + ").val", slots,
             index + 1, indent, out);
      return;
    case TypeKind::kResult:
      out += in + "(" + dest + ").is_err = " + LoadLeaf(CoreType::kI32, slots[index]) + " != 0;\n";
      WalkResult(&Emitter::Lift, type, dest, slots, index + 1, indent, out);
      return;
    case TypeKind::kVariant: {
      const std::string tag = CNames::DiscriminantType(type.cases.size());
      out += in + "(" + dest + ").tag = (" + tag + ")" + LoadLeaf(CoreType::kI32, slots[index]) +
             ";\n";
      out += in + "switch ((" + dest + ").tag) {\n";
      for (size_t i = 0; i < type.cases.size(); i++) {
        const abi::Case& c = type.cases[i];
        if (!c.type) continue;
        out += in + "  case " + std::to_string(i) + ":\n";
        Lift(*c.type, "(" + dest + ").val." + SnakeName(c.name), slots, index + 1, indent + 2, out);
        out += in + "    break;\n";
      }
      out += in + "  default:\n" + in + "    break;\n" + in + "}\n";
      return;
    }
    default:  // 8..32-bit integers, char, enum, flags
      out += in + dest + " = (" + c_type + ")" + LoadLeaf(CoreType::kI32, slots[index]) + ";\n";
      return;
  }
}

// ---- functions --------------------------------------------------------------------------------

bool Emitter::PassedByPointer(const Type& type, bool exported) const {
  if (IsScalar(type)) return false;
  // Imports take strings and lists by value (two words); exports hand every owned value over by
  // pointer so that the callee can take it (and zero what it took).
  return exported || (type.kind != TypeKind::kString && type.kind != TypeKind::kList);
}

std::string Emitter::Signature(const FunctionInfo& fn) const {
  const abi::FunctionType& type = fn.function->type;
  std::vector<std::string> params;
  for (const abi::Field& p : type.params) {
    const std::string c_type = names_.CName(*p.type);
    if (PassedByPointer(*p.type, fn.exported)) {
      params.push_back((fn.exported ? "" : "const ") + c_type + "* " + SnakeName(p.name));
    } else {
      params.push_back(c_type + " " + SnakeName(p.name));
    }
  }
  std::string ret = "void";
  if (fn.result && IsScalar(*fn.result)) {
    ret = names_.CName(*fn.result);
  } else if (fn.result) {
    params.push_back(names_.CName(*fn.result) + "* ret");
  }
  std::string joined;
  for (const std::string& p : params) joined += (joined.empty() ? "" : ", ") + p;
  return ret + " " + fn.c_name + "(" + (joined.empty() ? "void" : joined) + ")";
}

std::string Docs(const std::string& docs, const std::string& extra) {
  std::string text = docs;
  if (!extra.empty()) text += (text.empty() ? "" : "\n") + extra;
  if (text.empty()) return "";
  std::string out = "/* ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += " * ";
  }
  // A doc comment must not end the C comment early.
  for (size_t at = out.find("*/"); at != std::string::npos; at = out.find("*/", at)) {
    out.replace(at, 2, "* /");
  }
  return out + " */\n";
}

void Emitter::EmitImport(const FunctionInfo& fn) {
  const abi::FunctionType& type = fn.function->type;
  const abi::CoreSignature sig = abi::LowerSignature(type, abi::Context::kLower);
  functions_h_ +=
      Docs(fn.function->docs, "Imported from " + fn.core_module + " \"" + fn.core_name + "\".");
  functions_h_ += Signature(fn) + ";\n\n";

  std::string core_params;
  for (size_t i = 0; i < sig.params.size(); i++) {
    core_params += std::string(i ? ", " : "") + CoreCType(sig.params[i]) + " p" + std::to_string(i);
  }
  std::string& s = source_;
  s += "__attribute__((import_module(" + CStringLiteral(fn.core_module) + "), import_name(" +
       CStringLiteral(fn.core_name) + "))) extern " +
       (sig.results.empty() ? "void" : CoreCType(sig.results[0])) + " " + fn.c_name +
       "_wasm_import(" + (core_params.empty() ? "void" : core_params) + ");\n";
  s += Signature(fn) + " {\n";
  std::vector<std::string> args;
  if (sig.params_in_memory) {
    abi::TypePtr tuple = [&] {
      std::vector<abi::TypePtr> elements;
      for (const abi::Field& p : type.params) elements.push_back(p.type);
      return Type::Tuple(std::move(elements));
    }();
    std::vector<uint32_t> offsets = abi::FieldOffsets(*tuple);
    s += "  uint8_t area_[" + std::to_string(abi::SizeOf(*tuple)) + "] __attribute__((aligned(" +
         std::to_string(abi::AlignmentOf(*tuple)) + ")));\n";
    for (size_t i = 0; i < type.params.size(); i++) {
      const std::string name = SnakeName(type.params[i].name);
      const bool ptr = PassedByPointer(*type.params[i].type, false);
      s += "  memcpy(area_ + " + std::to_string(offsets[i]) + ", " + (ptr ? "" : "&") + name +
           ", sizeof(" + names_.CName(*type.params[i].type) + "));\n";
    }
    args.push_back("(int32_t)(uintptr_t)area_");
  } else {
    std::vector<CoreSlot> slots;
    // With results in memory, the last core parameter is the return pointer.
    const size_t value_params = sig.params.size() - (sig.results_in_memory ? 1 : 0);
    for (size_t i = 0; i < value_params; i++) {
      slots.push_back({"c" + std::to_string(i) + "_", sig.params[i]});
      s += std::string("  ") + CoreCType(sig.params[i]) + " " + slots.back().var + " = 0;\n";
      args.push_back(slots.back().var);
    }
    size_t index = 0;
    for (const abi::Field& p : type.params) {
      const std::string name = SnakeName(p.name);
      Lower(*p.type, PassedByPointer(*p.type, false) ? "*" + name : name, slots, index, 1, s);
      index += abi::Flatten(*p.type).size();
    }
  }
  if (sig.results_in_memory) args.push_back("(int32_t)(uintptr_t)ret");
  std::string call = fn.c_name + "_wasm_import(";
  for (size_t i = 0; i < args.size(); i++) call += (i ? ", " : "") + args[i];
  call += ")";
  if (sig.results.empty()) {
    s += "  " + call + ";\n";
  } else {
    std::vector<CoreSlot> result{{"r_", sig.results[0]}};
    s += std::string("  ") + CoreCType(sig.results[0]) + " r_ = " + call + ";\n";
    if (IsScalar(*fn.result)) {
      s += "  " + names_.CName(*fn.result) + " v_;\n";
      Lift(*fn.result, "v_", result, 0, 1, s);
      s += "  return v_;\n";
    } else {
      Lift(*fn.result, "*ret", result, 0, 1, s);
    }
  }
  s += "}\n\n";
}

void Emitter::EmitFormatting() {
  // Static inline in the header: a module that never formats links no stdio at all (vsnprintf
  // would bring libc's stdio teardown, and with it WASI imports, into every module).
  const std::string str = p_ + "_string_t";
  const std::string attr = "__attribute__((unused, format(printf, 1, 2))) static inline ";
  std::string& h = functions_h_;
  h += "/* printf into a new heap string: free it with " + p_ +
       "_string_free, or hand it to the host\n * as (part of) an export's result, which the "
       "bindings free once the host has copied it. Formats twice (measure, then write) so that "
       "any\n * length fits; the empty string owns nothing. */\n";
  h += "__attribute__((unused, format(printf, 1, 0))) static inline " + str + " " + p_ +
       "_string_vformat(const char* fmt, va_list ap) {\n"
       "  va_list again;\n  va_copy(again, ap);\n"
       "  int n = vsnprintf(NULL, 0, fmt, ap);\n"
       "  " +
       str +
       " out = {NULL, 0};\n"
       "  if (n > 0) {\n"
       "    out.ptr = (char*)malloc((size_t)n + 1);\n"
       "    if (out.ptr == NULL) __builtin_trap();\n"
       "    vsnprintf(out.ptr, (size_t)n + 1, fmt, again);\n"
       "    out.len = (size_t)n;\n  }\n"
       "  va_end(again);\n  return out;\n}\n";
  // A C variadic function cannot pass its `...` on, so each printf-style helper opens with the
  // same formatting into `text` and differs only in what it does with it (`tail`).
  auto printf_like = [&](const std::string& declarator, const std::string& tail) {
    h += attr + declarator + "(const char* fmt, ...) {\n  va_list ap;\n  va_start(ap, fmt);\n  " +
         str + " text = " + p_ + "_string_vformat(fmt, ap);\n  va_end(ap);\n" + tail + "}\n";
  };
  printf_like(str + " " + p_ + "_string_format", "  return text;\n");
  const std::string bytes = names_.CName(*Type::List(Type::Primitive(TypeKind::kU8)));
  if (defined_.count(bytes) != 0) {
    h += "/* The same into a list<u8> (the text's bytes, no NUL). */\n";
    printf_like(bytes + " " + p_ + "_list_u8_format",
                "  " + bytes + " out = {(uint8_t*)text.ptr, text.len};\n  return out;\n");
  }
  std::set<std::string> taken;
  for (const FunctionInfo& fn : model_.functions()) taken.insert(fn.c_name);
  for (const FunctionInfo& fn : model_.functions()) {
    const abi::FunctionType& type = fn.function->type;
    if (fn.exported || fn.result || type.params.size() != 1 ||
        type.params[0].type->kind != TypeKind::kString || taken.count(fn.c_name + "f") != 0) {
      continue;
    }
    h += "/* " + fn.c_name + " with its text formatted printf-style. */\n";
    printf_like("void " + fn.c_name + "f",
                "  " + fn.c_name + "(text);\n  " + p_ + "_string_free(&text);\n");
  }
  h += "\n";
}

void Emitter::EmitExport(const FunctionInfo& fn) {
  const abi::FunctionType& type = fn.function->type;
  const abi::CoreSignature sig = abi::LowerSignature(type, abi::Context::kLift);
  if (for_cpp_) {
    functions_h_ +=
        "/* Export \"" + fn.core_name +
        "\": implemented by the C++ bindings, which call the actor's C++ function. */\n";
    functions_h_ += Signature(fn) + ";\n\n";
  } else {
    functions_h_ += Docs(fn.function->docs,
                         "Implemented by the actor; exported as \"" + fn.core_name +
                             "\". Parameters passed by pointer belong to the bindings, which free "
                             "them after the call (take one by copying it and zeroing it)." +
                             (fn.result && !IsScalar(*fn.result)
                                  ? " Fill *ret (zeroed on entry); the bindings free it once the "
                                    "host has read it."
                                  : ""));
    functions_h_ += Signature(fn) + ";\n\n";
  }

  std::string& s = source_;
  std::string core_params;
  std::vector<CoreSlot> slots;
  for (size_t i = 0; i < sig.params.size(); i++) {
    slots.push_back({"c" + std::to_string(i) + "_", sig.params[i]});
    core_params += std::string(i ? ", " : "") + CoreCType(sig.params[i]) + " " + slots.back().var;
  }
  const std::string ret_area = fn.c_name + "_ret_area";
  if (sig.results_in_memory) {
    s += "static " + names_.CName(*fn.result) + " " + ret_area + ";\n";
  }
  s += "__attribute__((export_name(" + CStringLiteral(fn.core_name) + "))) " +
       (sig.results.empty() ? "void" : CoreCType(sig.results[0])) + " " + fn.c_name +
       "_wasm_export(" + (core_params.empty() ? "void" : core_params) + ") {\n";
  std::vector<std::string> args;
  for (size_t i = 0; i < type.params.size(); i++) {
    const std::string local = "a" + std::to_string(i) + "_";
    s += "  " + names_.CName(*type.params[i].type) + " " + local + ";\n";
    args.push_back((PassedByPointer(*type.params[i].type, true) ? "&" : "") + local);
  }
  if (sig.params_in_memory) {
    std::vector<abi::TypePtr> elements;
    for (const abi::Field& p : type.params) elements.push_back(p.type);
    abi::TypePtr tuple = Type::Tuple(std::move(elements));
    std::vector<uint32_t> offsets = abi::FieldOffsets(*tuple);
    s += "  uint8_t* area_ = (uint8_t*)(uintptr_t)c0_;\n";
    for (size_t i = 0; i < type.params.size(); i++) {
      s += "  memcpy(&a" + std::to_string(i) + "_, area_ + " + std::to_string(offsets[i]) +
           ", sizeof a" + std::to_string(i) + "_);\n";
    }
    s += "  free(area_); /* allocated by the host through cabi_realloc */\n";
  } else {
    size_t index = 0;
    for (size_t i = 0; i < type.params.size(); i++) {
      Lift(*type.params[i].type, "a" + std::to_string(i) + "_", slots, index, 1, s);
      index += abi::Flatten(*type.params[i].type).size();
    }
  }
  std::string result_expr;
  if (fn.result && IsScalar(*fn.result)) {
    s += "  " + names_.CName(*fn.result) + " v_ = ";
    result_expr = "v_";
  } else if (fn.result) {
    const std::string target = sig.results_in_memory ? ret_area : "v_";
    if (!sig.results_in_memory) s += "  " + names_.CName(*fn.result) + " v_;\n";
    s += "  memset(&" + target + ", 0, sizeof " + target + ");\n  ";
    args.push_back("&" + target);
    result_expr = target;
  } else {
    s += "  ";
  }
  s += fn.c_name + "(";
  for (size_t i = 0; i < args.size(); i++) s += (i ? ", " : "") + args[i];
  s += ");\n";
  for (size_t i = 0; i < type.params.size(); i++) {
    DropBorrows(*type.params[i].type, "a" + std::to_string(i) + "_", 1, s);
  }
  for (size_t i = 0; i < type.params.size(); i++) {
    if (NeedsFree(*type.params[i].type)) {
      s += "  " + names_.FreeFunction(*type.params[i].type) + "(&a" + std::to_string(i) + "_);\n";
    }
  }
  if (sig.results_in_memory) {
    s += "  return (int32_t)(uintptr_t)&" + ret_area + ";\n";
  } else if (!sig.results.empty()) {
    std::vector<CoreSlot> result{{"r_", sig.results[0]}};
    s += std::string("  ") + CoreCType(sig.results[0]) + " r_ = 0;\n";
    Lower(*fn.result, result_expr, result, 0, 1, s);
    s += "  return r_;\n";
  }
  s += "}\n";
  if (sig.results_in_memory && NeedsFree(*fn.result)) {
    s += "__attribute__((export_name(" + CStringLiteral("cabi_post_" + fn.core_name) + "))) void " +
         fn.c_name + "_wasm_post(int32_t ret) {\n  " + names_.FreeFunction(*fn.result) + "((" +
         names_.CName(*fn.result) + "*)(uintptr_t)ret);\n}\n";
  }
  s += "\n";
}

}  // namespace

// ---- CNames -------------------------------------------------------------------------------------

std::string CNames::DiscriminantType(size_t case_count) {
  const uint32_t size = abi::DiscriminantSize(case_count);
  return size == 1 ? "uint8_t" : size == 2 ? "uint16_t" : "uint32_t";
}

std::string CNames::CName(const Type& type) const {
  if (type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow) {
    const ResourceInfo* res = model_.FindResource(type);
    return res->c_base + (type.kind == TypeKind::kOwn ? "_own_t" : "_borrow_t");
  }
  if (const NamedTypeInfo* named = model_.FindNamed(type)) return named->c_base + "_t";
  return StructuralCName(type);
}

std::string CNames::StructuralCName(const Type& type) const {
  if (const char* prim = PrimitiveCName(type.kind)) return prim;
  if (type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow) return CName(type);
  if (type.kind == TypeKind::kString) return model_.prefix() + "_string_t";
  return model_.prefix() + "_" + MangleShape(type) + "_t";
}

std::string CNames::Mangle(const Type& type) const {
  if (type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow) {
    const ResourceInfo* res = model_.FindResource(type);
    return (type.kind == TypeKind::kOwn ? "own_" : "borrow_") +
           res->c_base.substr(model_.prefix().size() + 1);
  }
  if (const NamedTypeInfo* named = model_.FindNamed(type)) {
    return named->c_base.substr(model_.prefix().size() + 1);
  }
  return MangleShape(type);
}

std::string CNames::MangleShape(const Type& type) const {
  switch (type.kind) {
    case TypeKind::kList:
      return "list_" + Mangle(*type.element);
    case TypeKind::kOption:
      return "option_" + Mangle(*type.element);
    case TypeKind::kResult:
      return "result_" + (type.ok ? Mangle(*type.ok) : "void") + "_" +
             (type.err ? Mangle(*type.err) : "void");
    case TypeKind::kTuple: {
      std::string out = "tuple" + std::to_string(type.elements.size());
      for (const abi::TypePtr& e : type.elements) out += "_" + Mangle(*e);
      return out;
    }
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return Mangle(type);
    case TypeKind::kRecord:
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      // Declared types always have a name in the model; this covers types of interfaces that
      // were not part of the world's scan.
      return SnakeWords(type.name.empty() ? TypeKindName(type.kind) : type.name);
    default:
      return TypeKindName(type.kind);
  }
}

std::string CNames::FreeFunction(const Type& type) const {
  if (!NeedsFree(type)) return "";
  std::string c_type = CName(type);
  return c_type.substr(0, c_type.size() - 2) + "_free";
}

Result<CLayer> GenerateCLayer(const WorldModel& model, bool for_cpp) {
  return Emitter(model, for_cpp).Run();
}

}  // namespace theater::bindgen
