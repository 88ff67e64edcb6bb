// Theater: a WebAssembly actor runtime.
#include "abi/component/names.h"

#include <gtest/gtest.h>

namespace theater::component {
namespace {

TEST(ComponentNamesTest, Labels) {
  for (const char* ok : {"a", "log", "get-stdin", "HTTP-request", "utf8", "a1-b2", "UTF8"}) {
    EXPECT_EQ(CheckLabel(ok), "") << ok;
  }
  EXPECT_NE(CheckLabel("").find("cannot be empty"), std::string::npos);
  EXPECT_NE(CheckLabel("a--b").find("doubled '-'"), std::string::npos);
  EXPECT_NE(CheckLabel("-a").find("doubled '-'"), std::string::npos);
  EXPECT_NE(CheckLabel("a-").find("doubled '-'"), std::string::npos);
  EXPECT_NE(CheckLabel("1a").find("must start with a letter"), std::string::npos);
  EXPECT_NE(CheckLabel("camelCase").find("mixes upper and lower case"), std::string::npos);
  EXPECT_NE(CheckLabel("snake_case").find("'_' is not allowed"), std::string::npos);
}

TEST(ComponentNamesTest, ExportNames) {
  for (const char* ok : {"run", "[constructor]blob", "[method]blob.read", "[static]blob.merge",
                         "wasi:io/streams", "wasi:io/streams@0.2.3", "theater:simple/actor",
                         "a:b/c/d", "ns:sub:pkg/iface", "x:y/z@1.0.0-rc.1+build.5"}) {
    EXPECT_EQ(CheckExportName(ok), "") << ok;
  }
  EXPECT_NE(CheckExportName("[method]blob").find("needs `resource.function`"), std::string::npos);
  EXPECT_NE(CheckExportName("[async]f").find("unknown annotation"), std::string::npos);
  EXPECT_NE(CheckExportName("wasi:io").find("names no interface"), std::string::npos);
  EXPECT_NE(CheckExportName("Wasi:io/x").find("invalid namespace"), std::string::npos);
  EXPECT_NE(CheckExportName("wasi:io/x@1.0").find("invalid semver"), std::string::npos);
  EXPECT_NE(CheckExportName("wasi:io/x@01.0.0").find("invalid semver"), std::string::npos);
  EXPECT_NE(CheckExportName("wasi:io/bad_name").find("not kebab-case"), std::string::npos);
  // Dependency and URL names are import-only.
  EXPECT_NE(CheckExportName("url=<https://x>"), "");
}

TEST(ComponentNamesTest, ImportNames) {
  for (const char* ok : {"log", "wasi:io/error@0.2.3", "unlocked-dep=<a:b@{>=1.0.0}>",
                         "locked-dep=<a:b@1.0.0>,integrity=<sha256-abc>", "url=<https://x/y>",
                         "integrity=<sha256-abc>"}) {
    EXPECT_EQ(CheckImportName(ok), "") << ok;
  }
  EXPECT_NE(CheckImportName("url=<>").find("not a valid url name"), std::string::npos);
  EXPECT_NE(CheckImportName("url=<a>junk").find("not a valid url name"), std::string::npos);
  EXPECT_NE(CheckImportName("integrity=<a>,integrity=<b>").find("not a valid integrity"),
            std::string::npos);
}

TEST(ComponentNamesTest, KeysIgnoreCase) {
  EXPECT_EQ(NameKey("HTTP-Thing"), "http-thing");
  EXPECT_NE(NameKey("a"), NameKey("b"));
}

}  // namespace
}  // namespace theater::component
