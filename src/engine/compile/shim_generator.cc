// Theater: a WebAssembly actor runtime.
#include "engine/compile/shim_generator.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "common/bytes.h"
#include "engine/compile/c_line_lexer.h"
#include "engine/compile/wasm_inspect.h"

namespace theater::engine {
namespace {

Status Unexpected(std::string what) {
  return InternalError("wasm2c output not in the expected wabt 1.0.32 format: " + std::move(what));
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !IsCIdentStart(s[0])) return false;
  for (char c : s) {
    if (!IsCIdentChar(c)) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Collapses whitespace runs to one space and drops spaces next to '*', so that
// "wasm_rt_memory_t *" and "wasm_rt_memory_t*" compare equal.
std::string Normalize(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : Trim(s)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && c != '*' && !out.empty() && out.back() != '*') out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The identifier at the end of `s` (after trailing spaces).
std::string_view TrailingIdentifier(std::string_view s) {
  s = Trim(s);
  size_t start = s.size();
  while (start > 0 && IsCIdentChar(s[start - 1])) --start;
  return s.substr(start);
}

// One statement of the header (text up to ';'), with the brace block it is in and the
// import/export comment that directly precedes it.
struct Declaration {
  std::string text;
  int depth = 0;
  std::string block;  // header of the innermost enclosing { } block, e.g. "struct wasm_multi_ij"
  std::optional<std::string> annotation;
};

// Splits the header into declarations. Handles block comments, line comments and preprocessor
// lines; the `#ifdef __cplusplus` blocks (extern "C" braces) are skipped as a C compiler would.
Result<std::vector<Declaration>> ScanHeader(std::string_view text) {
  std::vector<Declaration> out;
  std::vector<std::string> blocks;
  std::string current;
  std::optional<std::string> annotation;
  int skip_depth = 0;  // > 0 inside an `#ifdef __cplusplus` block
  bool line_start = true;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (line_start && c == '#') {
      size_t end = i;
      while (end < text.size() && !(text[end] == '\n' && text[end - 1] != '\\')) ++end;
      const std::string directive = Normalize(text.substr(i, end - i));
      const bool opens = directive.starts_with("#if");
      if (skip_depth > 0) {
        if (opens) ++skip_depth;
        if (directive.starts_with("#endif")) --skip_depth;
      } else if (directive == "#ifdef __cplusplus") {
        skip_depth = 1;
      }
      i = end;
      continue;
    }
    if (skip_depth > 0) {
      line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
      ++i;
      continue;
    }
    if (text.substr(i, 2) == "/*") {
      const size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) return Unexpected("unterminated comment");
      const std::string_view comment = text.substr(i + 2, end - i - 2);
      if (Trim(current).empty() &&
          (comment.starts_with(" import: ") || comment.starts_with(" export: "))) {
        annotation = std::string(comment);
      }
      current += ' ';
      i = end + 2;
      line_start = false;
      continue;
    }
    if (text.substr(i, 2) == "//") {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    switch (c) {
      case '{':
        blocks.push_back(Normalize(current));
        current.clear();
        annotation.reset();
        break;
      case '}':
        if (blocks.empty()) return Unexpected("unbalanced '}'");
        blocks.pop_back();
        current.clear();
        annotation.reset();
        break;
      case ';': {
        std::string statement = Normalize(current);
        if (!statement.empty()) {
          out.push_back(Declaration{std::move(statement), static_cast<int>(blocks.size()),
                                    blocks.empty() ? std::string() : blocks.back(),
                                    std::move(annotation)});
        }
        current.clear();
        annotation.reset();
        break;
      }
      default:
        current += c;
    }
    line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
    ++i;
  }
  if (!blocks.empty() || skip_depth > 0) return Unexpected("unbalanced braces or #if blocks");
  return out;
}

struct Prototype {
  std::string ret;
  std::string name;
  std::vector<std::string> params;
};

Result<Prototype> ParsePrototype(std::string_view text) {
  const size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')' ||
      text.find('(', open + 1) != std::string_view::npos) {
    return Unexpected("not a function prototype: " + PrintableName(text));
  }
  Prototype proto;
  const std::string_view head = Trim(text.substr(0, open));
  proto.name = std::string(TrailingIdentifier(head));
  proto.ret = Normalize(head.substr(0, head.size() - proto.name.size()));
  if (!IsIdentifier(proto.name) || proto.ret.empty()) {
    return Unexpected("cannot read the name of " + PrintableName(text));
  }
  std::string_view params = text.substr(open + 1, text.size() - open - 2);
  while (true) {
    const size_t comma = params.find(',');
    std::string param = Normalize(params.substr(0, comma));
    if (param.empty()) return Unexpected("empty parameter in " + PrintableName(text));
    proto.params.push_back(std::move(param));
    if (comma == std::string_view::npos) break;
    params.remove_prefix(comma + 1);
  }
  if (proto.params.size() == 1 && proto.params[0] == "void") proto.params.clear();
  return proto;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Reverses wabt 1.0.32's name mangling: an identifier "Z_" part ("Z_" part)*, where each part
// keeps [A-Za-z0-9_] except 'Z' and writes every other byte (and 'Z') as Z<two hex digits>.
// Since 'Z' is always escaped, "Z_" only ever separates parts.
Result<std::vector<std::string>> Demangle(std::string_view ident) {
  if (!ident.starts_with("Z_")) {
    return Unexpected("identifier without Z_ prefix: " + std::string(ident));
  }
  std::vector<std::string> parts(1);
  for (size_t i = 2; i < ident.size(); ++i) {
    const char c = ident[i];
    if (c != 'Z') {
      if (!IsCIdentChar(c)) return Unexpected("bad character in identifier " + std::string(ident));
      parts.back() += c;
    } else if (i + 1 < ident.size() && ident[i + 1] == '_') {
      parts.emplace_back();
      ++i;
    } else if (i + 2 < ident.size() && IsHexDigit(ident[i + 1]) && IsHexDigit(ident[i + 2])) {
      parts.back() +=
          static_cast<char>(std::stoi(std::string(ident.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      return Unexpected("bad escape in identifier " + std::string(ident));
    }
  }
  return parts;
}

// A value as the shim passes it: its C type and signature letter.
struct ValueType {
  std::string_view c_type;
  char letter;
};

std::optional<ValueType> ScalarType(std::string_view c_type) {
  if (c_type == "u32") return ValueType{"u32", 'i'};
  if (c_type == "u64") return ValueType{"u64", 'I'};
  if (c_type == "f32") return ValueType{"f32", 'f'};
  if (c_type == "f64") return ValueType{"f64", 'F'};
  return std::nullopt;
}

// How a function's results come back from C: nothing, one scalar, or a wasm_multi_* struct.
struct ResultShape {
  std::string c_type;                                     // "void", "u32", "struct wasm_multi_ij"
  std::vector<std::pair<ValueType, std::string>> values;  // field names empty for a scalar
  std::string Letters() const {
    std::string s;
    for (const auto& v : values) s += v.first.letter;
    return s;
  }
};

using MultiStructs = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

Result<ResultShape> ParseResults(const std::string& ret, const MultiStructs& multis,
                                 std::string_view function) {
  ResultShape shape{ret, {}};
  if (ret == "void") return shape;
  if (auto scalar = ScalarType(ret)) {
    shape.values.emplace_back(*scalar, "");
    return shape;
  }
  auto it = multis.find(ret);
  if (it == multis.end()) {
    return ValidationError("function '" + PrintableName(function) + "' returns unsupported type " +
                           ret + " (only i32, i64, f32 and f64 values are supported)");
  }
  for (const auto& [type, field] : it->second) {
    auto scalar = ScalarType(type);
    if (!scalar) {
      return ValidationError("function '" + PrintableName(function) +
                             "' returns unsupported type " + type);
    }
    shape.values.emplace_back(*scalar, field);
  }
  return shape;
}

Result<std::vector<ValueType>> ParseParams(const std::vector<std::string>& params,
                                           std::string_view function) {
  std::vector<ValueType> out;
  for (size_t i = 1; i < params.size(); ++i) {
    auto scalar = ScalarType(params[i]);
    if (!scalar) {
      return ValidationError("function '" + PrintableName(function) +
                             "' has a parameter of unsupported type " + params[i] +
                             " (only i32, i64, f32 and f64 values are supported)");
    }
    out.push_back(*scalar);
  }
  return out;
}

std::string Letters(const std::vector<ValueType>& types) {
  std::string s;
  for (const auto& t : types) s += t.letter;
  return s;
}

std::string ToU64(const ValueType& t, const std::string& value) {
  switch (t.letter) {
    case 'i':
      return "(uint64_t)" + value;
    case 'I':
      return value;
    case 'f':
      return "theater_f32_bits(" + value + ")";
    default:
      return "theater_f64_bits(" + value + ")";
  }
}

std::string FromU64(const ValueType& t, const std::string& value) {
  switch (t.letter) {
    case 'i':
      return "(u32)" + value;
    case 'I':
      return value;
    case 'f':
      return "theater_bits_f32(" + value + ")";
    default:
      return "theater_bits_f64(" + value + ")";
  }
}

struct ImportFunction {
  ShimImport desc;
  std::string c_name;
  std::string ctx_type;
  std::vector<ValueType> params;
  ResultShape results;
};

struct ExportFunction {
  ShimExport desc;
  std::string c_name;
  std::vector<ValueType> params;
  ResultShape results;
};

// What a wasm2c pointer type says about the memory, table or global behind it: its kind and,
// for a global, its value type letter. Externref tables are not supported (nothing the runtime
// links uses them).
std::optional<std::pair<ShimExternKind, std::string>> ExternOfPointer(std::string_view c_type) {
  if (c_type == "wasm_rt_memory_t*") return std::pair{ShimExternKind::kMemory, std::string()};
  if (c_type == "wasm_rt_funcref_table_t*") return std::pair{ShimExternKind::kTable, std::string()};
  if (c_type.ends_with("*")) {
    if (auto scalar = ScalarType(c_type.substr(0, c_type.size() - 1))) {
      return std::pair{ShimExternKind::kGlobal, std::string(1, scalar->letter)};
    }
  }
  return std::nullopt;
}

// An imported memory, table or global: wasm2c declares an extern accessor for it, which the
// shim defines.
struct ImportExtern {
  ShimImport desc;
  std::string c_name;    // Z_<module>Z_<name>
  std::string c_type;    // e.g. "wasm_rt_memory_t*"
  std::string ctx_type;  // e.g. "struct Z_env_instance_t*"
};

void EmitExternImportStub(std::string& out, size_t index, const ImportExtern& e) {
  out += "/* import " + std::to_string(index) + " */\n";
  out += e.c_type + " " + e.c_name + "(" + e.ctx_type + " ctx) {\n";
  out += "  return (" + e.c_type + ")theater_host_extern(*(void**)ctx, " + std::to_string(index) +
         "u);\n}\n\n";
}

const char* ExternKindMacro(ShimExternKind kind) {
  switch (kind) {
    case ShimExternKind::kFunction:
      return "THEATER_EXTERN_FUNC";
    case ShimExternKind::kTable:
      return "THEATER_EXTERN_TABLE";
    case ShimExternKind::kMemory:
      return "THEATER_EXTERN_MEMORY";
    case ShimExternKind::kGlobal:
      return "THEATER_EXTERN_GLOBAL";
  }
  return "THEATER_EXTERN_FUNC";
}

void EmitImportStub(std::string& out, size_t index, const ImportFunction& f) {
  out += "/* import " + std::to_string(index) + " */\n";
  out += f.results.c_type + " " + f.c_name + "(" + f.ctx_type + " ctx";
  for (size_t i = 0; i < f.params.size(); ++i) {
    out += ", " + std::string(f.params[i].c_type) + " a" + std::to_string(i);
  }
  out += ") {\n";
  out += "  uint64_t args[" + std::to_string(std::max<size_t>(1, f.params.size())) + "] = {";
  if (f.params.empty()) out += "0";
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (i) out += ", ";
    out += ToU64(f.params[i], "a" + std::to_string(i));
  }
  out += "};\n";
  out += "  uint64_t results[" + std::to_string(std::max<size_t>(1, f.results.values.size())) +
         "] = {0};\n";
  out += "  wasm_rt_host_enter();\n";
  out += "  int status = theater_host_dispatch(*(void**)ctx, " + std::to_string(index) +
         "u, args, results);\n";
  out += "  wasm_rt_host_leave(status);\n";
  if (f.results.values.empty()) {
    out += "  (void)results;\n";
  } else if (f.results.values.size() == 1 && f.results.values[0].second.empty()) {
    out += "  return " + FromU64(f.results.values[0].first, "results[0]") + ";\n";
  } else {
    out += "  " + f.results.c_type + " ret;\n";
    for (size_t i = 0; i < f.results.values.size(); ++i) {
      const auto& [type, field] = f.results.values[i];
      out += "  ret." + field + " = " + FromU64(type, "results[" + std::to_string(i) + "]") + ";\n";
    }
    out += "  return ret;\n";
  }
  out += "}\n\n";
}

void EmitTrampoline(std::string& out, size_t index, const ExportFunction& f,
                    const std::string& instance_type) {
  out += "static void theater_export_" + std::to_string(index) +
         "(void* instance, const uint64_t* args, uint64_t* results) {\n";
  if (f.params.empty()) out += "  (void)args;\n";
  if (f.results.values.empty()) out += "  (void)results;\n";
  std::string call = f.c_name + "((" + instance_type + "*)instance";
  for (size_t i = 0; i < f.params.size(); ++i) {
    call += ", " + FromU64(f.params[i], "args[" + std::to_string(i) + "]");
  }
  call += ")";
  if (f.results.values.empty()) {
    out += "  " + call + ";\n";
  } else {
    out += "  " + f.results.c_type + " ret = " + call + ";\n";
    for (size_t i = 0; i < f.results.values.size(); ++i) {
      const auto& [type, field] = f.results.values[i];
      out += "  results[" + std::to_string(i) +
             "] = " + ToU64(type, field.empty() ? "ret" : "ret." + field) + ";\n";
    }
  }
  out += "}\n\n";
}

}  // namespace

Result<GeneratedShim> GenerateShim(std::string_view header, std::string_view header_name,
                                   std::string_view module_prefix) {
  for (char c : module_prefix) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return InvalidArgument("module prefix must be lower-case letters, digits and '_'");
    }
  }
  if (module_prefix.empty()) return InvalidArgument("empty module prefix");
  const std::string prefix(module_prefix);
  const std::string instance_type = "Z_" + prefix + "_instance_t";
  const std::string init_name = "Z_" + prefix + "_init_module";
  const std::string instantiate_name = "Z_" + prefix + "_instantiate";
  const std::string free_name = "Z_" + prefix + "_free";

  THEATER_ASSIGN_OR_RETURN(std::vector<Declaration> decls, ScanHeader(header));

  // Multi-value result structs come first in the header; collect them before the functions.
  MultiStructs multis;
  for (const Declaration& d : decls) {
    if (d.depth == 1 && d.block.starts_with("struct wasm_multi_")) {
      const std::string field(TrailingIdentifier(d.text));
      const std::string type = Normalize(d.text.substr(0, d.text.size() - field.size()));
      if (!IsIdentifier(field)) return Unexpected("bad field in " + d.block);
      multis[d.block].emplace_back(type, field);
    }
  }

  GeneratedShim shim;
  std::vector<ImportFunction> imports;
  std::vector<ExportFunction> exports;
  std::vector<std::pair<ExternExportDesc, std::string>> extern_exports;  // with the getter
  std::string memory_getter;
  // Imported memories, tables and globals: the instance members wasm2c declares for them (in
  // header order) and the extern accessors it expects to be defined, by C name.
  std::vector<std::pair<ShimImport, std::string>> extern_members;
  std::map<std::string, Prototype> extern_prototypes;
  std::optional<Prototype> instantiate;
  bool has_init = false;
  bool has_free = false;

  for (const Declaration& d : decls) {
    if (!d.annotation) {
      if (d.depth != 0 || d.text.find('(') == std::string::npos) continue;
      THEATER_ASSIGN_OR_RETURN(Prototype proto, ParsePrototype(d.text));
      if (proto.name == init_name) has_init = true;
      if (proto.name == free_name) has_free = true;
      if (proto.name == instantiate_name) {
        instantiate = std::move(proto);
      } else if (proto.ret.starts_with("extern ")) {
        extern_prototypes.emplace(proto.name, std::move(proto));
      }
      continue;
    }
    const bool is_import = d.annotation->starts_with(" import: ");
    if (is_import && d.depth != 0) {
      // A struct member of the instance: an imported memory, table or global.
      THEATER_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                               Demangle(TrailingIdentifier(d.text)));
      if (parts.size() != 2) return Unexpected("import member " + d.text);
      if (*d.annotation != " import: '" + parts[0] + "' '" + parts[1] + "' ") {
        return Unexpected("import comment does not match member " + PrintableName(d.text));
      }
      ShimImport desc;
      desc.module = parts[0];
      desc.name = parts[1];
      extern_members.emplace_back(std::move(desc), std::string(TrailingIdentifier(d.text)));
      continue;
    }
    if (d.depth != 0) return Unexpected("export inside a block: " + PrintableName(d.text));
    THEATER_ASSIGN_OR_RETURN(Prototype proto, ParsePrototype(d.text));
    THEATER_ASSIGN_OR_RETURN(std::vector<std::string> parts, Demangle(proto.name));
    if (parts.size() != 2) return Unexpected("unexpected identifier " + proto.name);
    if (is_import) {
      ImportFunction f;
      f.desc.module = parts[0];
      f.desc.name = parts[1];
      if (*d.annotation != " import: '" + f.desc.module + "' '" + f.desc.name + "' ") {
        return Unexpected("import comment does not match " + proto.name);
      }
      const std::string display = f.desc.module + "." + f.desc.name;
      if (proto.params.empty() || !proto.params[0].starts_with("struct Z_") ||
          !proto.params[0].ends_with("_instance_t*") ||
          !IsIdentifier(proto.params[0].substr(7, proto.params[0].size() - 8))) {
        return Unexpected("import without a host instance parameter: " + proto.name);
      }
      f.c_name = proto.name;
      f.ctx_type = proto.params[0];
      THEATER_ASSIGN_OR_RETURN(f.params, ParseParams(proto.params, display));
      THEATER_ASSIGN_OR_RETURN(f.results, ParseResults(proto.ret, multis, display));
      f.desc.params = Letters(f.params);
      f.desc.results = f.results.Letters();
      imports.push_back(std::move(f));
      continue;
    }
    if (parts[0] != prefix) return Unexpected("export of another module: " + proto.name);
    const std::string& name = parts[1];
    if (*d.annotation != " export: '" + name + "' ") {
      return Unexpected("export comment does not match " + proto.name);
    }
    if (proto.ret.ends_with("*")) {
      // Memories, tables and globals are exported as getters returning a pointer.
      if (proto.ret == "wasm_rt_memory_t*" && name == "memory") memory_getter = proto.name;
      if (auto kind = ExternOfPointer(proto.ret)) {
        extern_exports.emplace_back(ExternExportDesc{name, kind->first, kind->second}, proto.name);
      } else {
        shim.skipped_exports.push_back(name);
      }
      continue;
    }
    if (proto.params.empty() || proto.params[0] != instance_type + "*") {
      return Unexpected("export without an instance parameter: " + proto.name);
    }
    ExportFunction f;
    f.desc.name = name;
    f.c_name = proto.name;
    THEATER_ASSIGN_OR_RETURN(f.params, ParseParams(proto.params, name));
    THEATER_ASSIGN_OR_RETURN(f.results, ParseResults(proto.ret, multis, name));
    f.desc.params = Letters(f.params);
    f.desc.results = f.results.Letters();
    exports.push_back(std::move(f));
  }
  std::vector<ImportExtern> import_externs;
  for (auto& [desc, c_name] : extern_members) {
    auto proto = extern_prototypes.find(c_name);
    if (proto == extern_prototypes.end()) return Unexpected("no accessor declared for " + c_name);
    ImportExtern e;
    e.c_type = proto->second.ret.substr(std::string_view("extern ").size());
    auto kind = ExternOfPointer(e.c_type);
    if (!kind) {
      return ValidationError("import '" + PrintableName(desc.module) + "." +
                             PrintableName(desc.name) + "' has unsupported type " + e.c_type +
                             " (memories, funcref tables and i32/i64/f32/f64 globals are)");
    }
    if (proto->second.params.size() != 1 || !proto->second.params[0].starts_with("struct Z_") ||
        !proto->second.params[0].ends_with("_instance_t*")) {
      return Unexpected("import accessor without a host instance parameter: " + c_name);
    }
    e.desc = std::move(desc);
    e.desc.kind = kind->first;
    e.desc.params = kind->second;
    e.c_name = c_name;
    e.ctx_type = proto->second.params[0];
    import_externs.push_back(std::move(e));
  }
  if (!has_init || !has_free || !instantiate) {
    return Unexpected("missing " + init_name + ", " + instantiate_name + " or " + free_name);
  }
  if (instantiate->params.empty() || instantiate->params[0] != instance_type + "*") {
    return Unexpected("unexpected parameters of " + instantiate_name);
  }
  const size_t host_instances = instantiate->params.size() - 1;

  std::string& out = shim.source;
  out += "/* Generated by Theater's module compiler from " + CStringLiteral(header_name) +
         ". Do not edit. */\n";
  out += "#include <stdint.h>\n#include <string.h>\n\n";
  out += "#include " + CStringLiteral(header_name) + "\n";
  out += "#include \"shim_abi.h\"\n\n";
  out +=
      "static inline uint64_t theater_f32_bits(f32 v) { uint32_t b; memcpy(&b, &v, 4); return b; "
      "}\n";
  out +=
      "static inline uint64_t theater_f64_bits(f64 v) { uint64_t b; memcpy(&b, &v, 8); return b; "
      "}\n";
  out +=
      "static inline f32 theater_bits_f32(uint64_t b) { uint32_t n = (uint32_t)b; f32 v; "
      "memcpy(&v, &n, 4); return v; }\n";
  out +=
      "static inline f64 theater_bits_f64(uint64_t b) { f64 v; memcpy(&v, &b, 8); return v; }\n\n";

  for (size_t i = 0; i < imports.size(); ++i) EmitImportStub(out, i, imports[i]);
  // Extern imports are numbered after the function imports.
  for (size_t i = 0; i < import_externs.size(); ++i) {
    EmitExternImportStub(out, imports.size() + i, import_externs[i]);
  }
  for (size_t i = 0; i < exports.size(); ++i) EmitTrampoline(out, i, exports[i], instance_type);
  for (size_t i = 0; i < extern_exports.size(); ++i) {
    out += "static void* theater_extern_" + std::to_string(i) + "(void* instance) { return " +
           extern_exports[i].second + "((" + instance_type + "*)instance); }\n";
  }
  if (!extern_exports.empty()) out += "\n";

  out += "static void theater_instantiate(void* instance, void* host_ctx) {\n";
  out += "  " + instantiate_name + "((" + instance_type + "*)instance";
  for (size_t i = 0; i < host_instances; ++i) out += ", host_ctx";
  out += ");\n";
  if (host_instances == 0) out += "  (void)host_ctx;\n";
  out += "}\n\n";
  out += "static void theater_free_instance(void* instance) { " + free_name + "((" + instance_type +
         "*)instance); }\n\n";
  if (!memory_getter.empty()) {
    out += "static wasm_rt_memory_t* theater_memory(void* instance) { return " + memory_getter +
           "((" + instance_type + "*)instance); }\n\n";
  }
  const size_t n_imports = imports.size() + import_externs.size();
  if (n_imports > 0) {
    out += "static const theater_import_desc theater_imports[] = {\n";
    auto emit = [&out](const ShimImport& d) {
      out += "    {" + CStringLiteral(d.module) + ", " + CStringLiteral(d.name) + ", " +
             CStringLiteral(d.params) + ", " + CStringLiteral(d.results) + ", " +
             ExternKindMacro(d.kind) + "},\n";
    };
    for (const ImportFunction& f : imports) emit(f.desc);
    for (const ImportExtern& e : import_externs) emit(e.desc);
    out += "};\n\n";
  }
  if (!extern_exports.empty()) {
    out += "static const theater_extern_export_desc theater_extern_exports[] = {\n";
    for (size_t i = 0; i < extern_exports.size(); ++i) {
      const ExternExportDesc& e = extern_exports[i].first;
      out += "    {" + CStringLiteral(e.name) + ", " + ExternKindMacro(e.kind) + ", " +
             CStringLiteral(e.type) + ", theater_extern_" + std::to_string(i) + "},\n";
    }
    out += "};\n\n";
  }
  if (!exports.empty()) {
    out += "static const theater_export_desc theater_exports[] = {\n";
    for (size_t i = 0; i < exports.size(); ++i) {
      const ShimExport& e = exports[i].desc;
      out += "    {" + CStringLiteral(e.name) + ", " + CStringLiteral(e.params) + ", " +
             CStringLiteral(e.results) + ", theater_export_" + std::to_string(i) + "},\n";
    }
    out += "};\n\n";
  }
  out += "static const theater_module_desc theater_descriptor = {\n";
  out += "    .abi_version = THEATER_SHIM_ABI_VERSION,\n";
  out += "    .memcheck_signal_handler = WASM_RT_MEMCHECK_SIGNAL_HANDLER,\n";
  out += "    .instance_size = sizeof(" + instance_type + "),\n";
  out += "    .init_module = " + init_name + ",\n";
  out += "    .instantiate = theater_instantiate,\n";
  out += "    .free_instance = theater_free_instance,\n";
  out +=
      std::string("    .memory = ") + (memory_getter.empty() ? "NULL" : "theater_memory") + ",\n";
  out += "    .n_imports = " + std::to_string(n_imports) + "u,\n";
  out += std::string("    .imports = ") + (n_imports == 0 ? "NULL" : "theater_imports") + ",\n";
  out += "    .n_exports = " + std::to_string(exports.size()) + "u,\n";
  out += std::string("    .exports = ") + (exports.empty() ? "NULL" : "theater_exports") + ",\n";
  out += "    .n_extern_exports = " + std::to_string(extern_exports.size()) + "u,\n";
  out += std::string("    .extern_exports = ") +
         (extern_exports.empty() ? "NULL" : "theater_extern_exports") + ",\n";
  out += "};\n\n";
  out +=
      "__attribute__((visibility(\"default\"))) const theater_module_desc* theater_module(void) "
      "{\n";
  out += "  return &theater_descriptor;\n}\n";

  for (ImportFunction& f : imports) shim.imports.push_back(std::move(f.desc));
  for (ImportExtern& e : import_externs) shim.imports.push_back(std::move(e.desc));
  for (auto& [desc, getter] : extern_exports) shim.extern_exports.push_back(std::move(desc));
  for (ExportFunction& f : exports) shim.exports.push_back(std::move(f.desc));
  shim.exports_memory = !memory_getter.empty();
  return shim;
}

}  // namespace theater::engine
