// Theater: a WebAssembly actor runtime.
#include "component/trampolines.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "abi/component/core_module.h"
#include "abi/component/reader.h"

namespace theater::component {
namespace {

constexpr uint8_t kCoreMagic[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

enum SectionId : uint8_t {
  kCustom = 0,
  kType = 1,
  kImport = 2,
  kFunction = 3,
  kTable = 4,
  kStart = 8,
  kElement = 9,
  kCode = 10,
};

// The module's sections by id (custom sections left out), each at most once; nullopt when the
// framing is broken, a section repeats or one outside `allowed` is present.
using Sections = std::map<uint8_t, Reader>;
std::optional<Sections> ReadSections(std::span<const uint8_t> wasm,
                                     std::initializer_list<uint8_t> allowed) {
  if (wasm.size() < sizeof kCoreMagic ||
      !std::equal(std::begin(kCoreMagic), std::end(kCoreMagic), wasm.begin())) {
    return std::nullopt;
  }
  Reader reader(wasm.subspan(sizeof kCoreMagic), sizeof kCoreMagic, "core module");
  Sections sections;
  while (!reader.done()) {
    Result<uint8_t> id = reader.ReadByte();
    if (!id.ok()) return std::nullopt;
    Result<uint32_t> size = reader.ReadU32();
    if (!size.ok() || *size > reader.remaining()) return std::nullopt;
    Result<Reader> section = reader.Sub(*size, "section");
    if (!section.ok()) return std::nullopt;
    if (*id == kCustom) continue;
    if (std::find(allowed.begin(), allowed.end(), *id) == allowed.end()) return std::nullopt;
    if (!sections.emplace(*id, *section).second) return std::nullopt;
  }
  return sections;
}

std::optional<std::vector<CoreFuncType>> ReadTypes(Sections& sections) {
  std::vector<CoreFuncType> types;
  auto it = sections.find(kType);
  if (it == sections.end()) return types;
  Reader& r = it->second;
  Result<uint32_t> count = r.ReadCount("type");
  if (!count.ok()) return std::nullopt;
  for (uint32_t i = 0; i < *count; ++i) {
    Result<uint8_t> form = r.ReadByte();
    if (!form.ok() || *form != 0x60) return std::nullopt;
    Result<CoreFuncType> type = ReadCoreFuncTypeBody(r);
    if (!type.ok()) return std::nullopt;
    types.push_back(std::move(type).value());
  }
  if (!r.done()) return std::nullopt;
  return types;
}

// The imports, with their function types looked up in `types`.
std::optional<std::vector<CoreImport>> ReadImports(Sections& sections,
                                                   const std::vector<CoreFuncType>& types) {
  std::vector<CoreImport> imports;
  auto it = sections.find(kImport);
  if (it == sections.end()) return imports;
  std::vector<std::shared_ptr<const CoreFuncType>> shared;
  for (const CoreFuncType& t : types) shared.push_back(std::make_shared<const CoreFuncType>(t));
  std::set<std::pair<std::string, std::string>> seen;
  Reader& r = it->second;
  Result<uint32_t> count = r.ReadCount("import");
  if (!count.ok()) return std::nullopt;
  for (uint32_t i = 0; i < *count; ++i) {
    Result<CoreImport> import = ReadUniqueCoreImport(r, shared, seen);
    if (!import.ok()) return std::nullopt;
    imports.push_back(std::move(import).value());
  }
  if (!r.done()) return std::nullopt;
  return imports;
}

// `i32.const n; end` with 0 <= n < 2^32.
std::optional<uint64_t> ReadConstantOffset(Reader& r) {
  Result<uint8_t> op = r.ReadByte();
  if (!op.ok() || *op != 0x41) return std::nullopt;
  Result<int64_t> value = r.ReadS33();
  if (!value.ok() || *value < 0 || *value > INT32_MAX) return std::nullopt;
  Result<uint8_t> end = r.ReadByte();
  if (!end.ok() || *end != 0x0b) return std::nullopt;
  return static_cast<uint64_t>(*value);
}

bool ReadExpected(Reader& r, uint8_t expected) {
  Result<uint8_t> b = r.ReadByte();
  return b.ok() && *b == expected;
}

bool ReadExpectedU32(Reader& r, uint32_t expected) {
  Result<uint32_t> v = r.ReadU32();
  return v.ok() && *v == expected;
}

// The slot a trampoline's body calls, when the body is exactly `local.get 0..n-1; i32.const
// slot; call_indirect (type `type`) (table 0); end` for a function of type `type`.
std::optional<uint32_t> ReadTrampolineBody(Reader& body, const std::vector<CoreFuncType>& types,
                                           uint32_t type) {
  if (!ReadExpectedU32(body, 0)) return std::nullopt;  // no locals
  const size_t params = types[type].params.size();
  for (uint32_t i = 0; i < params; ++i) {
    if (!ReadExpected(body, 0x20) || !ReadExpectedU32(body, i)) return std::nullopt;
  }
  if (!ReadExpected(body, 0x41)) return std::nullopt;
  Result<int64_t> slot = body.ReadS33();
  if (!slot.ok() || *slot < 0 || *slot > INT32_MAX) return std::nullopt;
  if (!ReadExpected(body, 0x11)) return std::nullopt;
  Result<uint32_t> called_type = body.ReadU32();
  if (!called_type.ok() || *called_type >= types.size() || !(types[*called_type] == types[type])) {
    return std::nullopt;
  }
  if (!ReadExpectedU32(body, 0) || !ReadExpected(body, 0x0b) || !body.done()) return std::nullopt;
  return static_cast<uint32_t>(*slot);
}

}  // namespace

std::optional<TrampolineTable> RecognizeTrampolineTable(std::span<const uint8_t> wasm) {
  std::optional<Sections> sections = ReadSections(wasm, {kType, kFunction, kTable, 7, kCode});
  if (!sections || !sections->contains(kFunction) || !sections->contains(kTable) ||
      !sections->contains(7) || !sections->contains(kCode)) {
    return std::nullopt;
  }
  std::optional<std::vector<CoreFuncType>> types = ReadTypes(*sections);
  if (!types) return std::nullopt;

  // One funcref table: its limits give the slots that exist.
  TrampolineTable out;
  Reader& table = sections->at(kTable);
  if (!ReadExpectedU32(table, 1) || !ReadExpected(table, 0x70)) return std::nullopt;
  Result<uint8_t> flags = table.ReadByte();
  if (!flags.ok() || *flags > 1) return std::nullopt;
  Result<uint32_t> min = table.ReadU32();
  if (!min.ok()) return std::nullopt;
  if (*flags == 1 && !table.ReadU32().ok()) return std::nullopt;
  if (!table.done()) return std::nullopt;
  out.table_size = *min;

  Reader& functions = sections->at(kFunction);
  Result<uint32_t> function_count = functions.ReadCount("function");
  if (!function_count.ok()) return std::nullopt;
  std::vector<uint32_t> function_types;
  for (uint32_t i = 0; i < *function_count; ++i) {
    Result<uint32_t> type = functions.ReadU32();
    if (!type.ok() || *type >= types->size()) return std::nullopt;
    function_types.push_back(*type);
  }
  if (!functions.done()) return std::nullopt;

  Reader& code = sections->at(kCode);
  if (!ReadExpectedU32(code, *function_count)) return std::nullopt;
  std::vector<uint32_t> slots;
  for (uint32_t type : function_types) {
    Result<uint32_t> size = code.ReadU32();
    if (!size.ok()) return std::nullopt;
    Result<Reader> body = code.Sub(*size, "function body");
    if (!body.ok()) return std::nullopt;
    std::optional<uint32_t> slot = ReadTrampolineBody(*body, *types, type);
    if (!slot || *slot >= out.table_size) return std::nullopt;
    slots.push_back(*slot);
  }
  if (!code.done()) return std::nullopt;

  Reader& exports = sections->at(7);
  Result<uint32_t> export_count = exports.ReadCount("export");
  if (!export_count.ok()) return std::nullopt;
  bool table_exported = false;
  for (uint32_t i = 0; i < *export_count; ++i) {
    Result<std::string> name = exports.ReadName();
    Result<uint8_t> kind = exports.ReadByte();
    Result<uint32_t> index = exports.ReadU32();
    if (!name.ok() || !kind.ok() || !index.ok()) return std::nullopt;
    if (*kind == 0x00 && *index < slots.size()) {
      out.functions.push_back({*name, slots[*index], (*types)[function_types[*index]]});
    } else if (*kind == 0x01 && *index == 0 && !table_exported) {
      out.table_export = *name;
      table_exported = true;
    } else {
      return std::nullopt;
    }
  }
  if (!exports.done() || !table_exported) return std::nullopt;
  return out;
}

std::optional<TableFiller> RecognizeTableFiller(std::span<const uint8_t> wasm) {
  std::optional<Sections> sections = ReadSections(wasm, {kType, kImport, kElement});
  if (!sections || !sections->contains(kElement)) return std::nullopt;
  std::optional<std::vector<CoreFuncType>> types = ReadTypes(*sections);
  if (!types) return std::nullopt;
  std::optional<std::vector<CoreImport>> imports = ReadImports(*sections, *types);
  if (!imports) return std::nullopt;

  TableFiller out;
  std::vector<const CoreImport*> functions;  // the function index space: imports only
  bool has_table = false;
  for (const CoreImport& import : *imports) {
    if (import.type.kind == CoreExternKind::kFunc) {
      functions.push_back(&import);
    } else if (import.type.kind == CoreExternKind::kTable && !has_table) {
      out.table_module = import.module;
      out.table_name = import.name;
      has_table = true;
    } else {
      return std::nullopt;
    }
  }
  if (!has_table) return std::nullopt;

  Reader& elements = sections->at(kElement);
  Result<uint32_t> segments = elements.ReadCount("element segment");
  if (!segments.ok()) return std::nullopt;
  for (uint32_t s = 0; s < *segments; ++s) {
    // Active segments of function indices into table 0: flags 0, or 2 with table 0 and kind
    // funcref.
    Result<uint32_t> flags = elements.ReadU32();
    if (!flags.ok() || (*flags != 0 && *flags != 2)) return std::nullopt;
    if (*flags == 2 && !ReadExpectedU32(elements, 0)) return std::nullopt;
    std::optional<uint64_t> offset = ReadConstantOffset(elements);
    if (!offset) return std::nullopt;
    if (*flags == 2 && !ReadExpected(elements, 0x00)) return std::nullopt;
    Result<uint32_t> count = elements.ReadCount("element");
    if (!count.ok()) return std::nullopt;
    for (uint32_t j = 0; j < *count; ++j) {
      Result<uint32_t> function = elements.ReadU32();
      if (!function.ok() || *function >= functions.size()) return std::nullopt;
      out.entries.push_back(
          {*offset + j, functions[*function]->module, functions[*function]->name});
    }
  }
  if (!elements.done()) return std::nullopt;
  return out;
}

std::optional<StartForwarder> RecognizeStartForwarder(std::span<const uint8_t> wasm) {
  std::optional<Sections> sections = ReadSections(wasm, {kType, kImport, kStart});
  if (!sections || !sections->contains(kStart)) return std::nullopt;
  std::optional<std::vector<CoreFuncType>> types = ReadTypes(*sections);
  if (!types) return std::nullopt;
  std::optional<std::vector<CoreImport>> imports = ReadImports(*sections, *types);
  if (!imports || imports->size() != 1) return std::nullopt;
  const CoreImport& import = imports->front();
  if (import.type.kind != CoreExternKind::kFunc || !import.type.func->params.empty() ||
      !import.type.func->results.empty()) {
    return std::nullopt;
  }
  Reader& start = sections->at(kStart);
  if (!ReadExpectedU32(start, 0) || !start.done()) return std::nullopt;
  return StartForwarder{import.module, import.name};
}

}  // namespace theater::component
