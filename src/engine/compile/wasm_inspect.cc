// Theater: a WebAssembly actor runtime.
#include "engine/compile/wasm_inspect.h"

#include "engine/compile/wasm_reader.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

namespace theater::engine {
namespace {

constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};
// Bytes 4..7 of a core module: version 1, layer 0.
constexpr uint8_t kCoreVersion[4] = {0x01, 0x00, 0x00, 0x00};
// A component binary has layer 1 in bytes 6..7.
constexpr uint8_t kComponentLayer[2] = {0x01, 0x00};

using Reader = WasmReader;

bool IsValueType(uint8_t b) {
  switch (b) {
    case 0x7f:  // i32
    case 0x7e:  // i64
    case 0x7d:  // f32
    case 0x7c:  // f64
    case 0x7b:  // v128
    case 0x70:  // funcref
    case 0x6f:  // externref
      return true;
    default:
      return false;
  }
}

std::string_view ValueTypeName(uint8_t b) {
  switch (b) {
    case 0x7f:
      return "i32";
    case 0x7e:
      return "i64";
    case 0x7d:
      return "f32";
    case 0x7c:
      return "f64";
    case 0x7b:
      return "v128";
    case 0x70:
      return "funcref";
    case 0x6f:
      return "externref";
    default:
      return "?";
  }
}

std::string FuncTypeText(const WasmFuncType& type) {
  std::string out = "(";
  for (size_t i = 0; i < type.params.size(); ++i) {
    if (i) out += ", ";
    out += ValueTypeName(type.params[i]);
  }
  out += ") -> (";
  for (size_t i = 0; i < type.results.size(); ++i) {
    if (i) out += ", ";
    out += ValueTypeName(type.results[i]);
  }
  return out + ")";
}

Result<std::vector<uint8_t>> ReadValueTypes(Reader& r, std::string_view what) {
  THEATER_ASSIGN_OR_RETURN(uint32_t n, r.Count(what));
  std::vector<uint8_t> types;
  types.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    THEATER_ASSIGN_OR_RETURN(uint8_t t, r.Byte(what));
    if (!IsValueType(t)) {
      return r.Error("unknown value type " + HexNumber(t, 2) + " in " + std::string(what));
    }
    types.push_back(t);
  }
  return types;
}

Status ReadTypeSection(Reader& r, WasmModuleInfo& info) {
  THEATER_ASSIGN_OR_RETURN(uint32_t n, r.Count("type"));
  info.types.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    THEATER_ASSIGN_OR_RETURN(uint8_t form, r.Byte("type form"));
    if (form != 0x60) {
      return r.Error("unsupported type form " + HexNumber(form, 2) +
                     " (only function types are supported)");
    }
    WasmFuncType type;
    THEATER_ASSIGN_OR_RETURN(type.params, ReadValueTypes(r, "function parameters"));
    THEATER_ASSIGN_OR_RETURN(type.results, ReadValueTypes(r, "function results"));
    info.types.push_back(std::move(type));
  }
  return Status::Ok();
}

// Skips a limits structure; the flags also cover shared (threads) and 64-bit (memory64) limits.
Result<WasmLimits> ReadLimits(Reader& r) {
  THEATER_ASSIGN_OR_RETURN(uint8_t flags, r.Byte("limits"));
  if (flags > 0x07) return r.Error("invalid limits flags " + HexNumber(flags, 2));
  WasmLimits limits;
  limits.shared = (flags & 0x02) != 0;
  limits.is64 = (flags & 0x04) != 0;
  const int bits = limits.is64 ? 64 : 32;
  THEATER_ASSIGN_OR_RETURN(limits.min, r.Leb(bits, "limits minimum"));
  if (flags & 0x01) {
    THEATER_ASSIGN_OR_RETURN(limits.max, r.Leb(bits, "limits maximum"));
  }
  return limits;
}

Status ReadImportSection(Reader& r, WasmModuleInfo& info) {
  THEATER_ASSIGN_OR_RETURN(uint32_t n, r.Count("import"));
  info.imports.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    WasmImport imp;
    THEATER_ASSIGN_OR_RETURN(imp.module, r.Name("import module name"));
    THEATER_ASSIGN_OR_RETURN(imp.name, r.Name("import name"));
    THEATER_ASSIGN_OR_RETURN(uint8_t kind, r.Byte("import kind"));
    switch (kind) {
      case 0: {
        THEATER_ASSIGN_OR_RETURN(imp.type_index, r.U32("import type index"));
        break;
      }
      case 1: {
        THEATER_ASSIGN_OR_RETURN(uint8_t ref, r.Byte("table element type"));
        if (ref != 0x70 && ref != 0x6f)
          return r.Error("invalid table element type " + HexNumber(ref, 2));
        imp.value_type = ref;
        THEATER_ASSIGN_OR_RETURN(imp.limits, ReadLimits(r));
        break;
      }
      case 2: {
        THEATER_ASSIGN_OR_RETURN(imp.limits, ReadLimits(r));
        break;
      }
      case 3: {
        THEATER_ASSIGN_OR_RETURN(uint8_t type, r.Byte("global type"));
        if (!IsValueType(type)) return r.Error("unknown global type " + HexNumber(type, 2));
        THEATER_ASSIGN_OR_RETURN(uint8_t mut, r.Byte("global mutability"));
        if (mut > 1) return r.Error("invalid global mutability " + HexNumber(mut, 2));
        imp.value_type = type;
        imp.global_mutable = mut == 1;
        break;
      }
      case 4: {
        THEATER_RETURN_IF_ERROR(r.Byte("tag attribute").status());
        THEATER_RETURN_IF_ERROR(r.U32("tag type index").status());
        break;
      }
      default:
        return r.Error("invalid import kind " + HexNumber(kind, 2));
    }
    imp.kind = static_cast<WasmExternKind>(kind);
    info.imports.push_back(std::move(imp));
  }
  return Status::Ok();
}

Status ReadMemorySection(Reader& r, WasmModuleInfo& info) {
  THEATER_ASSIGN_OR_RETURN(uint32_t n, r.Count("memory"));
  info.memories.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    THEATER_ASSIGN_OR_RETURN(WasmLimits limits, ReadLimits(r));
    info.memories.push_back(limits);
  }
  return Status::Ok();
}

Status ReadExportSection(Reader& r, WasmModuleInfo& info) {
  THEATER_ASSIGN_OR_RETURN(uint32_t n, r.Count("export"));
  info.exports.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    WasmExport exp;
    THEATER_ASSIGN_OR_RETURN(exp.name, r.Name("export name"));
    THEATER_ASSIGN_OR_RETURN(uint8_t kind, r.Byte("export kind"));
    if (kind > 4) return r.Error("invalid export kind " + HexNumber(kind, 2));
    exp.kind = static_cast<WasmExternKind>(kind);
    THEATER_ASSIGN_OR_RETURN(exp.index, r.U32("export index"));
    info.exports.push_back(std::move(exp));
  }
  return Status::Ok();
}

Status CheckHeader(std::span<const uint8_t> wasm) {
  if (wasm.size() >= 1 && (wasm[0] == '(' || wasm[0] == ';')) {
    // "(module" or a ";;" comment: the text format.
    return ParseError(
        "not a WebAssembly binary: this looks like the text format (.wat); convert it with "
        "wat2wasm first");
  }
  if (wasm.size() < 4 || !std::equal(kMagic, kMagic + 4, wasm.begin())) {
    return ParseError("not a WebAssembly binary: it does not start with the magic bytes \\0asm");
  }
  if (wasm.size() < 8) {
    return ParseError("truncated WebAssembly binary: " + std::to_string(wasm.size()) +
                      " bytes, the header alone is 8");
  }
  if (std::equal(kCoreVersion, kCoreVersion + 4, wasm.begin() + 4)) return Status::Ok();
  if (std::equal(kComponentLayer, kComponentLayer + 2, wasm.begin() + 6)) {
    return ParseError(
        "this is a WebAssembly component, not a core module (decode the component and compile "
        "its core modules)");
  }
  char version[64];
  std::snprintf(version, sizeof(version), "%02x %02x %02x %02x", wasm[4], wasm[5], wasm[6],
                wasm[7]);
  return ParseError(std::string("unsupported WebAssembly binary version (bytes ") + version +
                    "; only version 1 core modules are supported)");
}

std::string ImportText(const WasmImport& imp) {
  return PrintableName(imp.module) + "." + PrintableName(imp.name);
}

Status CheckName(std::string_view what, std::string_view name) {
  if (name.find("*/") != std::string_view::npos) {
    return ValidationError(std::string(what) + " '" + PrintableName(name) +
                           "' contains \"*/\", which wasm2c 1.0.32 copies unescaped into a C "
                           "comment");
  }
  if (name.find('\0') != std::string_view::npos) {
    return ValidationError(std::string(what) + " '" + PrintableName(name) +
                           "' contains a NUL character");
  }
  return Status::Ok();
}

}  // namespace

std::string PrintableName(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

Result<WasmModuleInfo> InspectWasmModule(std::span<const uint8_t> wasm) {
  THEATER_RETURN_IF_ERROR(CheckHeader(wasm));
  WasmModuleInfo info;
  Reader r(wasm, 8);
  while (!r.AtEnd()) {
    const size_t section_start = r.pos();
    THEATER_ASSIGN_OR_RETURN(uint8_t id, r.Byte("section id"));
    THEATER_ASSIGN_OR_RETURN(uint32_t size, r.U32("section size"));
    if (size > r.end() - r.pos()) {
      return ParseError(WasmOffsetText(section_start) + ": section " + std::to_string(id) +
                        " declares " + std::to_string(size) + " bytes but only " +
                        std::to_string(r.end() - r.pos()) + " remain (truncated file?)");
    }
    info.sections.push_back(WasmSection{id, section_start, r.pos(), r.pos() + size});
    Reader section(wasm, r.pos(), r.pos() + size);
    Status status;
    switch (id) {
      case kSectionType:
        status = ReadTypeSection(section, info);
        break;
      case kSectionImport:
        status = ReadImportSection(section, info);
        break;
      case kSectionMemory:
        status = ReadMemorySection(section, info);
        break;
      case kSectionExport:
        status = ReadExportSection(section, info);
        break;
      case kSectionFunction: {
        // Only the count (wasm2c validates the type indices that follow).
        auto count = section.U32("function count");
        if (count.ok()) info.defined_functions = *count;
        status = count.status();
        break;
      }
      default:
        break;  // wasm2c reads and validates the others
    }
    THEATER_RETURN_IF_ERROR(status);
    if ((id == kSectionType || id == kSectionImport || id == kSectionMemory ||
         id == kSectionExport) &&
        !section.AtEnd()) {
      return ParseError(WasmOffsetText(section.pos()) + ": section " + std::to_string(id) +
                        " has " + std::to_string(section.end() - section.pos()) +
                        " unread bytes at its end");
    }
    r.Skip(size);
  }
  return info;
}

Status CheckCompilable(const WasmModuleInfo& info) {
  std::string unsupported;
  // (module, name) -> type of the first import with that name.
  std::map<std::pair<std::string_view, std::string_view>, uint32_t> function_imports;
  for (const WasmImport& imp : info.imports) {
    THEATER_RETURN_IF_ERROR(CheckName("import module name", imp.module));
    THEATER_RETURN_IF_ERROR(CheckName("import name", imp.name));
    if (imp.kind == WasmExternKind::kTag ||
        (imp.kind == WasmExternKind::kTable && imp.value_type != 0x70)) {
      if (!unsupported.empty()) unsupported += ", ";
      unsupported += ImportText(imp);
      unsupported += imp.kind == WasmExternKind::kTag ? " (tag)" : " (externref table)";
      continue;
    }
    if (imp.kind != WasmExternKind::kFunction) continue;
    if (imp.type_index >= info.types.size()) {
      return ValidationError("import " + ImportText(imp) + " refers to type " +
                             std::to_string(imp.type_index) + " but the module declares " +
                             std::to_string(info.types.size()) + " types");
    }
    auto [it, inserted] = function_imports.try_emplace({imp.module, imp.name}, imp.type_index);
    if (!inserted && !(info.types[it->second] == info.types[imp.type_index])) {
      return ValidationError("import " + ImportText(imp) +
                             " is declared twice with different types " +
                             FuncTypeText(info.types[it->second]) + " and " +
                             FuncTypeText(info.types[imp.type_index]));
    }
  }
  if (!unsupported.empty()) {
    return ValidationError("imports of tags and externref tables are not supported: " +
                           unsupported);
  }
  for (const WasmExport& exp : info.exports) {
    THEATER_RETURN_IF_ERROR(CheckName("export name", exp.name));
  }
  return Status::Ok();
}

size_t CodeSectionBytes(const WasmModuleInfo& info) {
  for (const WasmSection& section : info.sections) {
    if (section.id == kSectionCode) return section.end - section.payload;
  }
  return 0;
}

}  // namespace theater::engine
