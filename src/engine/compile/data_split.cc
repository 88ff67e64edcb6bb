// Theater: a WebAssembly actor runtime.
#include "engine/compile/data_split.h"

#include <cstring>
#include <string_view>
#include <utility>

#include "engine/compile/wasm_reader.h"

namespace theater::engine {
namespace {

constexpr uint64_t kPageBytes = 65536;
// The "name" section's subsection that names data segments, which the code module has none of.
constexpr uint8_t kDataNamesSubsection = 9;

struct ParsedData {
  std::vector<ModuleData::Segment> segments;
  std::vector<uint8_t> bytes;
};

// Reads the data section; nullopt (with why) for anything but active segments of memory 0 at
// an i32.const offset that fit in `memory_bytes`.
std::optional<ParsedData> ReadActiveSegments(std::span<const uint8_t> wasm,
                                             const WasmSection& section, uint64_t memory_bytes,
                                             std::string& why) {
  WasmReader r(wasm, section.payload, section.end);
  ParsedData out;
  auto count = r.Count("data segment");
  if (!count.ok()) {
    why = count.status().message();
    return std::nullopt;
  }
  out.segments.reserve(*count);
  out.bytes.reserve(r.left());
  for (uint32_t i = 0; i < *count; ++i) {
    const std::string which = "data segment " + std::to_string(i);
    auto flags = r.U32("data segment flags");
    if (!flags.ok() || (*flags != 0 && *flags != 2)) {
      why = flags.ok() ? which + " is passive" : flags.status().message();
      return std::nullopt;
    }
    if (*flags == 2) {
      auto memory = r.U32("data segment memory");
      if (!memory.ok() || *memory != 0) {
        why = which + " is not in memory 0";
        return std::nullopt;
      }
    }
    auto opcode = r.Byte("data segment offset");
    if (!opcode.ok() || *opcode != 0x41) {  // i32.const
      why = which + "'s offset is not a constant";
      return std::nullopt;
    }
    auto offset = r.S32("data segment offset");
    auto end = offset.ok() ? r.Byte("data segment offset") : offset.status();
    if (!end.ok() || *end != 0x0b) {
      why = which + "'s offset is not a single constant";
      return std::nullopt;
    }
    auto size = r.U32("data segment size");
    auto bytes = size.ok() ? r.Bytes(*size, "data segment") : size.status();
    if (!bytes.ok()) {
      why = bytes.status().message();
      return std::nullopt;
    }
    const uint64_t at = static_cast<uint32_t>(*offset);
    if (at + *size > memory_bytes) {
      why = which + " does not fit in the initial memory";
      return std::nullopt;
    }
    out.segments.push_back({static_cast<uint32_t>(at), *size});
    out.bytes.insert(out.bytes.end(), bytes->begin(), bytes->end());
  }
  if (!r.AtEnd()) {
    why = "the data section has bytes after its segments";
    return std::nullopt;
  }
  return out;
}

// The memory section with the initial size zero (flags and maximum kept).
std::optional<std::vector<uint8_t>> MemoryWithoutInitialSize(std::span<const uint8_t> wasm,
                                                             const WasmSection& section) {
  WasmReader r(wasm, section.payload, section.end);
  auto count = r.U32("memory count");
  auto flags = count.ok() ? r.Byte("limits") : count.status();
  auto min = flags.ok() ? r.Leb(32, "limits minimum") : flags.status();
  if (!min.ok() || *count != 1) return std::nullopt;
  std::vector<uint8_t> payload = {1, *flags};
  AppendUleb(payload, 0);
  if (*flags & 0x01) {
    auto max = r.Leb(32, "limits maximum");
    if (!max.ok()) return std::nullopt;
    AppendUleb(payload, *max);
  }
  if (!r.AtEnd()) return std::nullopt;
  return payload;
}

// A "name" custom section without its data-segment names; nullopt when it is not one, or is
// malformed (then it is copied as it is, and wasm2c judges it).
std::optional<std::vector<uint8_t>> NamesWithoutDataNames(std::span<const uint8_t> wasm,
                                                          const WasmSection& section) {
  WasmReader r(wasm, section.payload, section.end);
  auto name = r.Name("custom section name");
  if (!name.ok() || *name != "name") return std::nullopt;
  std::vector<uint8_t> payload;
  AppendUleb(payload, name->size());
  payload.insert(payload.end(), name->begin(), name->end());
  while (!r.AtEnd()) {
    auto id = r.Byte("name subsection id");
    auto size = id.ok() ? r.U32("name subsection size") : id.status();
    auto body = size.ok() ? r.Bytes(*size, "name subsection") : size.status();
    if (!body.ok()) return std::nullopt;
    if (*id == kDataNamesSubsection) continue;
    AppendSection(payload, *id, *body);
  }
  return payload;
}

}  // namespace

ModuleData::ModuleData(uint64_t initial_pages, std::vector<Segment> segments,
                       std::vector<uint8_t> bytes)
    : initial_pages_(initial_pages), segments_(std::move(segments)), bytes_(std::move(bytes)) {}

void ModuleData::WriteTo(uint8_t* memory) const {
  const uint8_t* from = bytes_.data();
  for (const Segment& segment : segments_) {
    std::memcpy(memory + segment.memory_offset, from, segment.size);
    from += segment.size;
  }
}

std::optional<DataSplit> SplitModuleData(std::span<const uint8_t> wasm, const WasmModuleInfo& info,
                                         size_t min_code_bytes, std::string* whole_reason) {
  std::string ignored;
  std::string& why = whole_reason ? *whole_reason : ignored;
  const WasmSection* code = nullptr;
  const WasmSection* data = nullptr;
  const WasmSection* memory = nullptr;
  for (const WasmSection& section : info.sections) {
    if (section.id == kSectionCode) code = &section;
    if (section.id == kSectionData) data = &section;
    if (section.id == kSectionMemory) memory = &section;
    if (section.id == kSectionStart) {
      why = "it has a start function";
      return std::nullopt;
    }
  }
  if (!code || code->end - code->payload < min_code_bytes) {
    why = "its code is small";
    return std::nullopt;
  }
  if (!data) {
    why = "it has no data";
    return std::nullopt;
  }
  for (const WasmImport& import : info.imports) {
    if (import.kind == WasmExternKind::kMemory) {
      why = "it imports a memory";
      return std::nullopt;
    }
  }
  if (!memory || info.memories.size() != 1 || info.memories[0].is64 || info.memories[0].shared ||
      info.memories[0].min > 65536) {
    why = "it does not define exactly one 32-bit unshared memory";
    return std::nullopt;
  }
  bool memory_exported = false;
  for (const WasmExport& e : info.exports) {
    if (e.kind == WasmExternKind::kMemory && e.index == 0 && e.name == "memory") {
      memory_exported = true;
    }
  }
  if (!memory_exported) {
    why = "its memory is not exported as \"memory\"";
    return std::nullopt;
  }
  const uint64_t initial_pages = info.memories[0].min;
  std::optional<ParsedData> segments =
      ReadActiveSegments(wasm, *data, initial_pages * kPageBytes, why);
  if (!segments) return std::nullopt;
  std::optional<std::vector<uint8_t>> memory_payload = MemoryWithoutInitialSize(wasm, *memory);
  if (!memory_payload) {
    why = "its memory section is malformed";
    return std::nullopt;
  }

  DataSplit out;
  out.code.reserve(wasm.size() - (data->end - data->begin));
  out.code.insert(out.code.end(), wasm.begin(), wasm.begin() + 8);
  for (const WasmSection& section : info.sections) {
    if (section.id == kSectionData || section.id == kSectionDataCount) continue;
    if (section.id == kSectionMemory) {
      AppendSection(out.code, kSectionMemory, *memory_payload);
      continue;
    }
    if (section.id == kSectionCustom) {
      if (std::optional<std::vector<uint8_t>> names = NamesWithoutDataNames(wasm, section)) {
        AppendSection(out.code, kSectionCustom, *names);
        continue;
      }
    }
    out.code.insert(out.code.end(), wasm.begin() + section.begin, wasm.begin() + section.end);
  }
  out.data = std::make_shared<const ModuleData>(initial_pages, std::move(segments->segments),
                                                std::move(segments->bytes));
  return out;
}

}  // namespace theater::engine
