// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/names.h"

#include <gtest/gtest.h>

namespace theater::bindgen {
namespace {

TEST(BindgenNames, SnakeCaseEscapesKeywordsOfBothLanguages) {
  EXPECT_EQ(SnakeName("open-channel"), "open_channel");
  EXPECT_EQ(SnakeName("wit-error-type"), "wit_error_type");
  EXPECT_EQ(SnakeName("HTTP-client"), "http_client");
  EXPECT_EQ(SnakeName("%interface"), "interface");  // WIT's escape is dropped
  EXPECT_EQ(SnakeName("default"), "default_");      // C and C++
  EXPECT_EQ(SnakeName("new"), "new_");              // C++ only, but the C layer is built as C++
  EXPECT_EQ(SnakeName("register"), "register_");
  EXPECT_EQ(SnakeName("errno"), "errno_");  // a macro in every libc
  EXPECT_EQ(SnakeName("stdout"), "stdout_");  // wasi-libc: #define stdout (stdout)
  EXPECT_EQ(SnakeName("stderr"), "stderr_");
  EXPECT_EQ(SnakeWords("new"), "new");      // parts of longer identifiers need no escape
}

TEST(BindgenNames, UpperAndCamelCase) {
  EXPECT_EQ(UpperName("operation-timeout"), "OPERATION_TIMEOUT");
  EXPECT_EQ(CamelName("channel-accept"), "ChannelAccept");
  EXPECT_EQ(CamelName("HTTP-client"), "HttpClient");
  EXPECT_EQ(CamelName("f32-or-f64"), "F32OrF64");
  EXPECT_EQ(CamelName("a"), "A");
}

TEST(BindgenNames, RustNamesEscapeRustKeywordsAndPreludeNames) {
  EXPECT_EQ(RustSnakeName("open-channel"), "open_channel");
  EXPECT_EQ(RustSnakeName("type"), "r#type");  // a raw identifier
  EXPECT_EQ(RustSnakeName("where"), "r#where");
  EXPECT_EQ(RustSnakeName("self"), "self_");  // the four that cannot be raw
  EXPECT_EQ(RustSnakeName("crate"), "crate_");
  EXPECT_EQ(RustSnakeName("default"), "default");  // a keyword of C, not of Rust
  EXPECT_EQ(RustTypeName("channel-accept"), "ChannelAccept");
  EXPECT_EQ(RustTypeName("result"), "Result_");  // would shadow std's in the bindings
  EXPECT_EQ(RustTypeName("string"), "String_");
  EXPECT_EQ(RustTypeName("class"), "Class");  // C++'s escape is not Rust's
}

TEST(BindgenNames, Versions) {
  EXPECT_EQ(StripVersion("theater:simple/runtime@0.1.0"), "theater:simple/runtime");
  EXPECT_EQ(StripVersion("theater:simple/runtime"), "theater:simple/runtime");
}

}  // namespace
}  // namespace theater::bindgen
