// Theater: a WebAssembly actor runtime.
//
// Recognising the glue modules of components made by the standard tools (trampolines.h): the
// shapes wit-component writes are recognised, and any change to them (an instruction, a section,
// a type, a slot out of range) makes the module a module like any other.
#include "component/trampolines.h"

#include <gtest/gtest.h>

#include <vector>

#include "abi/component/component_builder.h"

namespace theater::component {
namespace {

using testing::Bytes;
using testing::Section;

Bytes CorePreamble() {
  return Bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
}

// Type 0: (i32 i32) -> (); type 1: (i64) -> (); type 2: () -> ().
Bytes TypeSection() {
  return Section(1, Bytes()
                        .U32(3)
                        .Raw({0x60, 0x02, 0x7f, 0x7f, 0x00})
                        .Raw({0x60, 0x01, 0x7e, 0x00})
                        .Raw({0x60, 0x00, 0x00}));
}

struct TableSpec {
  uint32_t table_size = 2;
  std::vector<uint32_t> slots = {0, 1};  // function i calls slots[i]; its type is i % 2
  bool swap_locals = false;              // local.get 1 before local.get 0
  bool extra_instruction = false;        // a nop before `end`
  bool call_other_type = false;          // call_indirect names type 2
  bool add_memory = false;
};

Bytes TableModule(const TableSpec& spec) {
  Bytes out = CorePreamble();
  out.Append(TypeSection());
  Bytes functions;
  functions.U32(spec.slots.size());
  for (size_t i = 0; i < spec.slots.size(); ++i) functions.U32(i % 2);
  out.Append(Section(3, functions));
  out.Append(
      Section(4, Bytes().U32(1).Byte(0x70).Byte(0x01).U32(spec.table_size).U32(spec.table_size)));
  if (spec.add_memory) out.Append(Section(5, Bytes{0x01, 0x00, 0x01}));
  Bytes exports;
  exports.U32(spec.slots.size() + 1);
  for (size_t i = 0; i < spec.slots.size(); ++i) {
    exports.Name(std::to_string(i)).Byte(0x00).U32(i);
  }
  exports.Name("$imports").Byte(0x01).U32(0);
  out.Append(Section(7, exports));
  Bytes code;
  code.U32(spec.slots.size());
  for (size_t i = 0; i < spec.slots.size(); ++i) {
    const uint32_t type = i % 2;
    Bytes body;
    body.U32(0);  // no locals
    if (type == 0) {
      body.Raw(spec.swap_locals ? std::initializer_list<uint8_t>{0x20, 0x01, 0x20, 0x00}
                                : std::initializer_list<uint8_t>{0x20, 0x00, 0x20, 0x01});
    } else {
      body.Raw({0x20, 0x00});
    }
    body.Byte(0x41).S33(spec.slots[i]);
    body.Byte(0x11).U32(spec.call_other_type ? 2 : type).U32(0);
    if (spec.extra_instruction) body.Byte(0x01);
    body.Byte(0x0b);
    code.U32(body.size()).Append(body);
  }
  out.Append(Section(10, code));
  return out;
}

struct FillerSpec {
  uint32_t flags = 0;
  uint32_t offset = 0;
  std::vector<uint32_t> functions = {0, 1};
  bool add_start = false;
};

Bytes FillerModule(const FillerSpec& spec) {
  Bytes out = CorePreamble();
  out.Append(TypeSection());
  Bytes imports;
  imports.U32(3);
  imports.Name("").Name("0").Byte(0x00).U32(0);
  imports.Name("").Name("1").Byte(0x00).U32(1);
  imports.Name("").Name("$imports").Byte(0x01).Byte(0x70).Byte(0x01).U32(2).U32(2);
  out.Append(Section(2, imports));
  if (spec.add_start) out.Append(Section(8, Bytes().U32(0)));
  Bytes elements;
  elements.U32(1).U32(spec.flags);
  if (spec.flags == 2) elements.U32(0);
  elements.Byte(0x41).S33(spec.offset).Byte(0x0b);
  if (spec.flags == 2) elements.Byte(0x00);
  elements.U32(spec.functions.size());
  for (uint32_t f : spec.functions) elements.U32(f);
  out.Append(Section(9, elements));
  return out;
}

Bytes ForwarderModule(uint32_t import_type, bool with_start) {
  Bytes out = CorePreamble();
  out.Append(TypeSection());
  out.Append(Section(2, Bytes().U32(1).Name("").Name("").Byte(0x00).U32(import_type)));
  if (with_start) out.Append(Section(8, Bytes().U32(0)));
  return out;
}

TEST(TrampolinesTest, TheToolsTrampolineTableIsRecognisedWithTheSlotEachFunctionCalls) {
  std::optional<TrampolineTable> table = RecognizeTrampolineTable(TableModule({}).data());
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->table_export, "$imports");
  EXPECT_EQ(table->table_size, 2u);
  ASSERT_EQ(table->functions.size(), 2u);
  EXPECT_EQ(table->functions[0].export_name, "0");
  EXPECT_EQ(table->functions[0].slot, 0u);
  EXPECT_EQ(table->functions[0].type.params.size(), 2u);
  EXPECT_EQ(table->functions[1].export_name, "1");
  EXPECT_EQ(table->functions[1].slot, 1u);

  TableSpec crossed;
  crossed.slots = {1, 0};
  table = RecognizeTrampolineTable(TableModule(crossed).data());
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->functions[0].slot, 1u);
}

TEST(TrampolinesTest, ATableModuleThatDoesAnythingElseIsNotATrampolineTable) {
  TableSpec swapped;
  swapped.swap_locals = true;
  TableSpec extra;
  extra.extra_instruction = true;
  TableSpec other_type;
  other_type.call_other_type = true;
  TableSpec memory;
  memory.add_memory = true;
  TableSpec beyond;
  beyond.slots = {0, 2};  // the table has 2 slots
  for (const TableSpec& spec : {swapped, extra, other_type, memory, beyond}) {
    EXPECT_FALSE(RecognizeTrampolineTable(TableModule(spec).data()).has_value());
  }
  EXPECT_FALSE(RecognizeTrampolineTable(FillerModule({}).data()).has_value());
  std::vector<uint8_t> truncated = TableModule({}).data();
  truncated.resize(truncated.size() - 3);
  EXPECT_FALSE(RecognizeTrampolineTable(truncated).has_value());
  EXPECT_FALSE(RecognizeTrampolineTable({}).has_value());
}

TEST(TrampolinesTest, TheToolsTableFillerIsRecognisedWithWhatGoesInEachSlot) {
  for (uint32_t flags : {0u, 2u}) {
    FillerSpec spec;
    spec.flags = flags;
    spec.functions = {1, 0};
    std::optional<TableFiller> filler = RecognizeTableFiller(FillerModule(spec).data());
    ASSERT_TRUE(filler.has_value()) << "flags " << flags;
    EXPECT_EQ(filler->table_module, "");
    EXPECT_EQ(filler->table_name, "$imports");
    ASSERT_EQ(filler->entries.size(), 2u);
    EXPECT_EQ(filler->entries[0].slot, 0u);
    EXPECT_EQ(filler->entries[0].name, "1");
    EXPECT_EQ(filler->entries[1].slot, 1u);
    EXPECT_EQ(filler->entries[1].name, "0");
  }
}

TEST(TrampolinesTest, AFillerThatDoesAnythingElseIsNotAFiller) {
  FillerSpec start;
  start.add_start = true;
  FillerSpec passive;
  passive.flags = 1;
  FillerSpec unknown_function;
  unknown_function.functions = {0, 7};
  for (const FillerSpec& spec : {start, passive, unknown_function}) {
    EXPECT_FALSE(RecognizeTableFiller(FillerModule(spec).data()).has_value());
  }
  EXPECT_FALSE(RecognizeTableFiller(TableModule({}).data()).has_value());
}

TEST(TrampolinesTest, TheStartForwarderIsRecognisedOnlyForAFunctionOfNoParametersOrResults) {
  std::optional<StartForwarder> forwarder =
      RecognizeStartForwarder(ForwarderModule(2, true).data());
  ASSERT_TRUE(forwarder.has_value());
  EXPECT_EQ(forwarder->module, "");
  EXPECT_EQ(forwarder->name, "");
  EXPECT_FALSE(RecognizeStartForwarder(ForwarderModule(1, true).data()).has_value());
  EXPECT_FALSE(RecognizeStartForwarder(ForwarderModule(2, false).data()).has_value());
}

}  // namespace
}  // namespace theater::component
