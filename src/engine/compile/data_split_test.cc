// Theater: a WebAssembly actor runtime.
//
// The data split on modules assembled here byte by byte: what qualifies, what the code module
// is, and that the data written back is the module's. module_compiler_test and engine_test
// compile and run split modules.
#include "engine/compile/data_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/compile/wasm_reader.h"

namespace theater::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Bytes = std::vector<uint8_t>;

void Section(Bytes& module, uint8_t id, const Bytes& payload) {
  module.push_back(id);
  AppendUleb(module, payload.size());
  module.insert(module.end(), payload.begin(), payload.end());
}

Bytes Name(std::string_view text) {
  Bytes out;
  AppendUleb(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

// An active segment of memory 0 at i32.const `offset` (a one-byte signed LEB: below 64).
Bytes ActiveSegment(uint8_t offset, const Bytes& bytes) {
  Bytes out = {0x00, 0x41, offset, 0x0b};
  AppendUleb(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

struct ModuleParts {
  uint8_t memory_min = 1;
  bool memory_max = true;
  std::string memory_export = "memory";
  bool import_memory = false;
  bool start = false;
  bool data_count = true;
  bool data_names = true;
  std::vector<Bytes> segments = {ActiveSegment(8, {1, 2, 3}), ActiveSegment(40, {9})};
};

// (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u), a memory, the segments.
Bytes Module(const ModuleParts& parts) {
  Bytes m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  Section(m, 1, {0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f});
  if (parts.import_memory) {
    Bytes imports = {0x01};
    for (std::string_view n : {"env", "memory"}) {
      Bytes name = Name(n);
      imports.insert(imports.end(), name.begin(), name.end());
    }
    imports.insert(imports.end(), {0x02, 0x00, 0x01});
    Section(m, 2, imports);
  }
  Section(m, 3, {0x01, 0x00});
  if (!parts.import_memory) {
    if (parts.memory_max) {
      Section(m, 5, {0x01, 0x01, parts.memory_min, 0x10});
    } else {
      Section(m, 5, {0x01, 0x00, parts.memory_min});
    }
  }
  Bytes exports = {static_cast<uint8_t>(parts.memory_export.empty() ? 1 : 2)};
  Bytes peek = Name("peek");
  exports.insert(exports.end(), peek.begin(), peek.end());
  exports.insert(exports.end(), {0x00, 0x00});
  if (!parts.memory_export.empty()) {
    Bytes name = Name(parts.memory_export);
    exports.insert(exports.end(), name.begin(), name.end());
    exports.insert(exports.end(), {0x02, 0x00});
  }
  Section(m, 7, exports);
  if (parts.start) Section(m, 8, {0x00});
  if (parts.data_count) Section(m, 12, {static_cast<uint8_t>(parts.segments.size())});
  Section(m, 10, {0x01, 0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b});
  Bytes data = {static_cast<uint8_t>(parts.segments.size())};
  for (const Bytes& segment : parts.segments)
    data.insert(data.end(), segment.begin(), segment.end());
  Section(m, 11, data);
  // A "name" section naming the function (subsection 1) and the first segment (subsection 9).
  Bytes names = Name("name");
  Bytes function_names = {0x01, 0x00};
  Bytes peek_name = Name("peek");
  function_names.insert(function_names.end(), peek_name.begin(), peek_name.end());
  Section(names, 1, function_names);
  if (parts.data_names) {
    Bytes data_names = {0x01, 0x00};
    Bytes segment_name = Name("greeting");
    data_names.insert(data_names.end(), segment_name.begin(), segment_name.end());
    Section(names, 9, data_names);
  }
  Section(m, 0, names);
  return m;
}

std::optional<DataSplit> Split(const Bytes& wasm, std::string* why = nullptr,
                               size_t min_code_bytes = 0) {
  Result<WasmModuleInfo> info = InspectWasmModule(wasm);
  EXPECT_TRUE(info.ok()) << info.status().message();
  if (!info.ok()) return std::nullopt;
  return SplitModuleData(wasm, *info, min_code_bytes, why);
}

std::vector<uint8_t> SectionIds(const Bytes& wasm) {
  std::vector<uint8_t> ids;
  const Result<WasmModuleInfo> info = InspectWasmModule(wasm);
  for (const WasmSection& section : info->sections) ids.push_back(section.id);
  return ids;
}

TEST(DataSplitTest, TheCodeModuleHasNoDataAndAnEmptyInitialMemory) {
  const Bytes wasm = Module({});
  std::optional<DataSplit> split = Split(wasm);
  ASSERT_TRUE(split.has_value());

  // Type, function, memory, export, code and the name section: no data count, no data.
  EXPECT_THAT(SectionIds(split->code), ElementsAre(1, 3, 5, 7, 10, 0));
  Result<WasmModuleInfo> code = InspectWasmModule(split->code);
  ASSERT_TRUE(code.ok()) << code.status().message();
  ASSERT_EQ(code->memories.size(), 1u);
  EXPECT_EQ(code->memories[0].min, 0u);
  EXPECT_EQ(code->memories[0].max, 16u);  // the maximum is the module's
  EXPECT_EQ(code->exports.size(), 2u);
  // The name section keeps the function's name and loses the segment's.
  const std::string text(split->code.begin(), split->code.end());
  EXPECT_THAT(text, HasSubstr("peek"));
  EXPECT_EQ(text.find("greeting"), std::string::npos);

  const ModuleData& data = *split->data;
  EXPECT_EQ(data.initial_pages(), 1u);
  ASSERT_EQ(data.segments().size(), 2u);
  EXPECT_EQ(data.segments()[0].memory_offset, 8u);
  EXPECT_EQ(data.segments()[1].memory_offset, 40u);
  EXPECT_THAT(data.bytes(), ElementsAre(1, 2, 3, 9));
  std::vector<uint8_t> memory(65536, 0xee);
  data.WriteTo(memory.data());
  EXPECT_EQ(memory[7], 0xee);
  EXPECT_THAT(std::vector<uint8_t>(memory.begin() + 8, memory.begin() + 11), ElementsAre(1, 2, 3));
  EXPECT_EQ(memory[11], 0xee);
  EXPECT_EQ(memory[40], 9);
}

TEST(DataSplitTest, ModulesDifferingOnlyInDataShareTheirCodeModule) {
  ModuleParts other;
  other.memory_min = 3;
  other.segments = {ActiveSegment(0, {7, 7, 7, 7}), ActiveSegment(60, {5}), ActiveSegment(2, {1})};
  std::optional<DataSplit> a = Split(Module({}));
  std::optional<DataSplit> b = Split(Module(other));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->code, b->code);
  EXPECT_EQ(b->data->initial_pages(), 3u);
  // Later segments overwrite earlier ones, as instantiation writes them in order.
  std::vector<uint8_t> memory(3 * 65536, 0);
  b->data->WriteTo(memory.data());
  EXPECT_THAT(std::vector<uint8_t>(memory.begin(), memory.begin() + 4), ElementsAre(7, 7, 1, 7));

  ModuleParts no_max;
  no_max.memory_max = false;
  no_max.data_count = false;
  no_max.data_names = false;
  std::optional<DataSplit> c = Split(Module(no_max));
  ASSERT_TRUE(c);
  EXPECT_FALSE(InspectWasmModule(c->code)->memories[0].max.has_value());
}

TEST(DataSplitTest, ModulesThatDoNotQualifyAreKeptWholeAndSayWhy) {
  const auto why = [](const ModuleParts& parts, size_t min_code_bytes = 0) {
    std::string reason;
    EXPECT_FALSE(Split(Module(parts), &reason, min_code_bytes).has_value());
    return reason;
  };
  EXPECT_THAT(why({}, 1 << 20), HasSubstr("code is small"));
  ModuleParts start;
  start.start = true;
  EXPECT_THAT(why(start), HasSubstr("start function"));
  ModuleParts hidden;
  hidden.memory_export = "";
  EXPECT_THAT(why(hidden), HasSubstr("not exported as \"memory\""));
  ModuleParts renamed;
  renamed.memory_export = "heap";
  EXPECT_THAT(why(renamed), HasSubstr("not exported as \"memory\""));
  ModuleParts imported;
  imported.import_memory = true;
  EXPECT_THAT(why(imported), HasSubstr("imports a memory"));
  ModuleParts passive;
  passive.segments.push_back({0x01, 0x01, 0x05});
  EXPECT_THAT(why(passive), HasSubstr("data segment 2 is passive"));
  ModuleParts from_global;
  from_global.segments.push_back({0x00, 0x23, 0x00, 0x0b, 0x01, 0x05});
  EXPECT_THAT(why(from_global), HasSubstr("data segment 2's offset is not a constant"));
  ModuleParts other_memory;
  other_memory.segments.push_back({0x02, 0x01, 0x41, 0x00, 0x0b, 0x01, 0x05});
  EXPECT_THAT(why(other_memory), HasSubstr("not in memory 0"));
  ModuleParts beyond;
  beyond.segments.push_back({0x00, 0x41, 0x80, 0x80, 0x04, 0x0b, 0x01, 0x05});  // at 65536
  EXPECT_THAT(why(beyond), HasSubstr("does not fit in the initial memory"));
  ModuleParts negative;
  negative.segments.push_back({0x00, 0x41, 0x7f, 0x0b, 0x01, 0x05});  // at -1: 4 GiB - 1
  EXPECT_THAT(why(negative), HasSubstr("does not fit"));
  ModuleParts truncated;
  truncated.segments.push_back({0x00, 0x41, 0x00, 0x0b, 0x05, 0x01});  // 5 bytes, 1 present
  EXPECT_THAT(why(truncated), HasSubstr("extends past the end"));
}

}  // namespace
}  // namespace theater::engine
