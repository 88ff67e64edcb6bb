// Theater: a WebAssembly actor runtime.
#include "engine/compile/wasm_inspect.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace theater::engine {
namespace {

using Bytes = std::vector<uint8_t>;

const Bytes kHeader = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

void Append(Bytes& out, std::initializer_list<uint8_t> bytes) {
  out.insert(out.end(), bytes);
}

void AppendName(Bytes& out, std::string_view name) {
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
}

// A module of the given sections, each given as (id, content).
Bytes Module(std::initializer_list<std::pair<uint8_t, Bytes>> sections) {
  Bytes out = kHeader;
  for (const auto& [id, content] : sections) {
    out.push_back(id);
    out.push_back(static_cast<uint8_t>(content.size()));
    out.insert(out.end(), content.begin(), content.end());
  }
  return out;
}

// Type section with (i32) -> () and (i64) -> ().
Bytes TwoTypes() {
  return {0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x7e, 0x00};
}

Bytes FunctionImport(std::string_view module, std::string_view name, uint8_t type) {
  Bytes out = {0x01};
  AppendName(out, module);
  AppendName(out, name);
  Append(out, {0x00, type});
  return out;
}

TEST(WasmInspectTest, ReadsImportsAndExports) {
  Bytes imports = {0x02};
  AppendName(imports, "theater:simple/runtime");
  AppendName(imports, "log");
  Append(imports, {0x00, 0x00});
  AppendName(imports, "host");
  AppendName(imports, "mem");
  Append(imports, {0x02, 0x01, 0x01, 0x02});  // memory, limits min 1 max 2
  Bytes exports = {0x01};
  AppendName(exports, "theater:simple/actor#init");
  Append(exports, {0x00, 0x01});
  auto info = InspectWasmModule(Module({{1, TwoTypes()}, {2, imports}, {7, exports}}));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->types.size(), 2u);
  EXPECT_EQ(info->types[1].params, Bytes({0x7e}));
  ASSERT_EQ(info->imports.size(), 2u);
  EXPECT_EQ(info->imports[0].module, "theater:simple/runtime");
  EXPECT_EQ(info->imports[0].name, "log");
  EXPECT_EQ(info->imports[0].kind, WasmExternKind::kFunction);
  EXPECT_EQ(info->imports[1].kind, WasmExternKind::kMemory);
  ASSERT_EQ(info->exports.size(), 1u);
  EXPECT_EQ(info->exports[0].name, "theater:simple/actor#init");
  EXPECT_EQ(info->exports[0].index, 1u);
}

TEST(WasmInspectTest, ReadsTheMemoriesTheModuleDefines) {
  // Two memories: min 2 (no max), and min 1 max 300 (a two-byte LEB); an imported one is not
  // counted among them.
  Bytes imports = {0x01};
  AppendName(imports, "host");
  AppendName(imports, "mem");
  Append(imports, {0x02, 0x00, 0x05});
  auto info =
      InspectWasmModule(Module({{2, imports}, {5, {0x02, 0x00, 0x02, 0x01, 0x01, 0xac, 0x02}}}));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->memories.size(), 2u);
  EXPECT_EQ(info->memories[0].min, 2u);
  EXPECT_FALSE(info->memories[0].max.has_value());
  EXPECT_EQ(info->memories[1].min, 1u);
  EXPECT_EQ(info->memories[1].max, 300u);
  ASSERT_EQ(info->imports.size(), 1u);
  EXPECT_EQ(info->imports[0].limits.min, 5u);
  // Bytes left over after the memories are an error, like in the other sections read.
  EXPECT_EQ(InspectWasmModule(Module({{5, {0x01, 0x00, 0x02, 0x00}}})).status().code(),
            StatusCode::kParseError);
}

TEST(WasmInspectTest, RejectsInputsThatAreNotCoreModules) {
  auto text = InspectWasmModule(Bytes{'(', 'm', 'o', 'd', 'u', 'l', 'e', ')'});
  EXPECT_EQ(text.status().code(), StatusCode::kParseError);
  EXPECT_NE(text.status().message().find("text format"), std::string::npos);

  auto garbage = InspectWasmModule(Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
  EXPECT_EQ(garbage.status().code(), StatusCode::kParseError);
  EXPECT_NE(garbage.status().message().find("not a WebAssembly binary"), std::string::npos);

  auto empty = InspectWasmModule(Bytes{});
  EXPECT_EQ(empty.status().code(), StatusCode::kParseError);

  auto short_header = InspectWasmModule(Bytes{0x00, 0x61, 0x73, 0x6d, 0x01});
  EXPECT_EQ(short_header.status().code(), StatusCode::kParseError);
  EXPECT_NE(short_header.status().message().find("truncated"), std::string::npos);

  auto component = InspectWasmModule(Bytes{0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00});
  EXPECT_EQ(component.status().code(), StatusCode::kParseError);
  EXPECT_NE(component.status().message().find("this is a WebAssembly component, not a core module"),
            std::string::npos);

  auto version2 = InspectWasmModule(Bytes{0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00});
  EXPECT_EQ(version2.status().code(), StatusCode::kParseError);
  EXPECT_NE(version2.status().message().find("version"), std::string::npos);
}

TEST(WasmInspectTest, RejectsBrokenFraming) {
  // A section that claims more bytes than the file has.
  Bytes truncated = kHeader;
  Append(truncated, {0x01, 0x20, 0x01, 0x60});
  auto r = InspectWasmModule(truncated);
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().ToString();

  // An over-long LEB128 section size.
  Bytes bad_leb = kHeader;
  Append(bad_leb, {0x01, 0xff, 0xff, 0xff, 0xff, 0x7f});
  EXPECT_EQ(InspectWasmModule(bad_leb).status().code(), StatusCode::kParseError);

  // A type section with bytes left over.
  EXPECT_EQ(InspectWasmModule(Module({{1, {0x00, 0x00}}})).status().code(),
            StatusCode::kParseError);

  // An import count larger than the section.
  EXPECT_EQ(InspectWasmModule(Module({{2, {0x7f}}})).status().code(), StatusCode::kParseError);

  // A name running past its section.
  EXPECT_EQ(InspectWasmModule(Module({{7, {0x01, 0x09, 'a'}}})).status().code(),
            StatusCode::kParseError);
}

TEST(WasmInspectTest, EveryPrefixOfAModuleFailsCleanly) {
  Bytes imports = FunctionImport("host", "log", 0);
  Bytes exports = {0x01};
  AppendName(exports, "run");
  Append(exports, {0x00, 0x00});
  const Bytes full = Module({{1, TwoTypes()}, {2, imports}, {7, exports}});
  ASSERT_TRUE(InspectWasmModule(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = InspectWasmModule(std::span<const uint8_t>(full.data(), n));
    // A prefix that ends exactly between sections is a valid, smaller module.
    if (n == kHeader.size()) {
      EXPECT_TRUE(r.ok()) << n;
      continue;
    }
    if (r.ok()) continue;
    EXPECT_EQ(r.status().code(), StatusCode::kParseError) << n;
  }
}

TEST(WasmInspectTest, AcceptsMemoryTableAndGlobalImportsButNotTagsOrExternrefTables) {
  Bytes imports = {0x03};
  AppendName(imports, "env");
  AppendName(imports, "memory");
  Append(imports, {0x02, 0x00, 0x01});
  AppendName(imports, "env");
  AppendName(imports, "table");
  Append(imports, {0x01, 0x70, 0x00, 0x01});
  AppendName(imports, "env");
  AppendName(imports, "g");
  Append(imports, {0x03, 0x7f, 0x00});
  auto info = InspectWasmModule(Module({{2, imports}}));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(CheckCompilable(*info).ok());
  ASSERT_EQ(info->imports.size(), 3u);
  EXPECT_EQ(info->imports[0].kind, WasmExternKind::kMemory);
  EXPECT_EQ(info->imports[0].limits.min, 1u);
  EXPECT_FALSE(info->imports[0].limits.max.has_value());
  EXPECT_EQ(info->imports[1].kind, WasmExternKind::kTable);
  EXPECT_EQ(info->imports[1].value_type, 0x70);
  EXPECT_EQ(info->imports[2].kind, WasmExternKind::kGlobal);
  EXPECT_EQ(info->imports[2].value_type, 0x7f);
  EXPECT_FALSE(info->imports[2].global_mutable);

  Bytes unsupported = {0x02};
  AppendName(unsupported, "env");
  AppendName(unsupported, "refs");
  Append(unsupported, {0x01, 0x6f, 0x01, 0x01, 0x04});  // externref table, min 1, max 4
  AppendName(unsupported, "env");
  AppendName(unsupported, "oops");
  Append(unsupported, {0x04, 0x00, 0x00});  // a tag
  info = InspectWasmModule(Module({{2, unsupported}}));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->imports[0].limits.max, 4u);
  Status s = CheckCompilable(*info);
  EXPECT_EQ(s.code(), StatusCode::kValidationError);
  EXPECT_EQ(s.message(),
            "imports of tags and externref tables are not supported: env.refs (externref table), "
            "env.oops (tag)");
}

TEST(WasmInspectTest, RejectsNamesThatWouldEndACComment) {
  Bytes exports = {0x01};
  AppendName(exports, "x*/ int injected; /*");
  Append(exports, {0x00, 0x00});
  auto info = InspectWasmModule(Module({{7, exports}}));
  ASSERT_TRUE(info.ok());
  Status s = CheckCompilable(*info);
  EXPECT_EQ(s.code(), StatusCode::kValidationError);
  EXPECT_NE(s.message().find("*/"), std::string::npos);

  auto import_info =
      InspectWasmModule(Module({{1, TwoTypes()}, {2, FunctionImport("a*/b", "c", 0)}}));
  ASSERT_TRUE(import_info.ok());
  EXPECT_EQ(CheckCompilable(*import_info).code(), StatusCode::kValidationError);

  auto nul_info = InspectWasmModule(
      Module({{1, TwoTypes()}, {2, FunctionImport("a", std::string_view("b\0c", 3), 0)}}));
  ASSERT_TRUE(nul_info.ok());
  Status nul = CheckCompilable(*nul_info);
  EXPECT_EQ(nul.code(), StatusCode::kValidationError);
  EXPECT_NE(nul.message().find("b\\x00c"), std::string::npos) << nul.message();
}

TEST(WasmInspectTest, DuplicateImportsMustAgreeOnTheirType) {
  Bytes same = {0x02};
  for (int i = 0; i < 2; ++i) {
    AppendName(same, "host");
    AppendName(same, "dup");
    Append(same, {0x00, 0x00});
  }
  auto same_info = InspectWasmModule(Module({{1, TwoTypes()}, {2, same}}));
  ASSERT_TRUE(same_info.ok());
  EXPECT_TRUE(CheckCompilable(*same_info).ok());

  Bytes different = {0x02};
  for (uint8_t type : {0, 1}) {
    AppendName(different, "host");
    AppendName(different, "dup");
    Append(different, {0x00, type});
  }
  auto info = InspectWasmModule(Module({{1, TwoTypes()}, {2, different}}));
  ASSERT_TRUE(info.ok());
  Status s = CheckCompilable(*info);
  EXPECT_EQ(s.code(), StatusCode::kValidationError);
  EXPECT_NE(s.message().find("(i32) -> () and (i64) -> ()"), std::string::npos) << s.message();

  auto bad_index =
      InspectWasmModule(Module({{1, TwoTypes()}, {2, FunctionImport("host", "f", 9)}}));
  ASSERT_TRUE(bad_index.ok());
  EXPECT_EQ(CheckCompilable(*bad_index).code(), StatusCode::kValidationError);
}

TEST(WasmInspectTest, PrintableNameEscapesControlBytes) {
  EXPECT_EQ(PrintableName("a.b:c/d#e"), "a.b:c/d#e");
  EXPECT_EQ(PrintableName(std::string_view("\n\\\xff", 3)), "\\x0a\\x5c\\xff");
}

}  // namespace
}  // namespace theater::engine
