// Theater: a WebAssembly actor runtime.
//
// Name resolution: `use`, foreign packages, directories of files, worlds and `include`, and the
// errors for unknown, duplicate and recursive names.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "theater/abi/wit.h"

namespace theater::wit {
namespace {

using abi::TypeKind;

Status ErrorOf(std::string_view text) {
  Result<Package> package = ParseWitText(text, "t.wit");
  return package.ok() ? Status::Ok() : package.status();
}

TEST(WitResolveTest, UseBringsTypesFromAnotherInterface) {
  auto package = ParseWitText(R"(package a:b;
interface user {
  use types.{point, id as my-id, blob};
  f: func(p: point, i: my-id, b: borrow<blob>) -> blob;
}
interface types {
  record point { x: u8 }
  type id = string;
  resource blob;
}
)",
                              "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const Interface& user = *package->FindInterface("user");
  const Interface& types = *package->FindInterface("types");
  // The same type node, shared, when not renamed.
  EXPECT_EQ(user.FindType("point"), types.FindType("point"));
  const TypeDef& point = *user.FindTypeDef("point");
  EXPECT_EQ(point.used_from, "a:b/types");
  EXPECT_EQ(point.used_name, "point");
  // A rename spells the type by its new name, with the same structure.
  const TypeDef& id = *user.FindTypeDef("my-id");
  EXPECT_EQ(id.used_name, "id");
  EXPECT_EQ(id.type->name, "my-id");
  EXPECT_EQ(id.type->kind, TypeKind::kString);
  EXPECT_EQ(user.FindTypeDef("id"), nullptr);
  EXPECT_TRUE(user.FindTypeDef("blob")->is_resource);

  const abi::FunctionType& f = *user.FindFunction("f");
  EXPECT_EQ(f.params[0].type, types.FindType("point"));
  EXPECT_EQ(f.params[1].type->ToWit(), "my-id");
  EXPECT_EQ(f.params[2].type->kind, TypeKind::kBorrow);
  EXPECT_EQ(f.params[2].type->resource_name, "blob");
  EXPECT_EQ(f.result->kind, TypeKind::kOwn);
}

TEST(WitResolveTest, UseOfThisPackageByFullName) {
  auto package = ParseWitText(R"(package a:b@1.0.0;
interface types { type id = u32; }
interface user {
  use a:b/types@1.0.0.{id};
  use a:b/types.{id as other};
  f: func(x: id, y: other);
}
)",
                              "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const Interface& user = *package->FindInterface("user");
  EXPECT_EQ(user.FindTypeDef("id")->used_from, "a:b/types@1.0.0");
  EXPECT_EQ(user.FindFunction("f")->params[1].type->kind, TypeKind::kU32);
}

TEST(WitResolveTest, ForeignPackagesAreRecordedAndFailOnlyWhenNeeded) {
  const char* kText = R"(package a:b;
use wasi:io/streams@0.2.0 as io;
interface user {
  use wasi:clocks/wall-clock@0.2.0.{datetime};
  use io.{input-stream};
  f: func();
}
world w {
  import wasi:clocks/monotonic-clock@0.2.0;
  import io;
  export user;
}
)";
  auto package = ParseWitText(kText, "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const Interface& user = *package->FindInterface("user");
  const TypeDef& datetime = *user.FindTypeDef("datetime");
  EXPECT_EQ(datetime.type, nullptr);
  EXPECT_EQ(datetime.used_from, "wasi:clocks/wall-clock@0.2.0");
  EXPECT_EQ(user.FindTypeDef("input-stream")->used_from, "wasi:io/streams@0.2.0");
  EXPECT_EQ(user.FindType("input-stream"), nullptr);
  const World& w = *package->FindWorld("w");
  EXPECT_EQ(w.imports[0].name, "wasi:clocks/monotonic-clock@0.2.0");
  EXPECT_EQ(w.imports[0].interface, nullptr);
  EXPECT_EQ(w.imports[1].name, "wasi:io/streams@0.2.0");

  std::string needed = kText;
  needed.replace(needed.find("f: func();"), 10, "f: func(s: input-stream);");
  Status status = ErrorOf(needed);
  EXPECT_EQ(status.code(), StatusCode::kValidationError);
  EXPECT_EQ(status.message(),
            "t.wit:6:14: type 'input-stream' comes from interface 'wasi:io/streams@0.2.0', whose "
            "package is not loaded");
}

TEST(WitResolveTest, WorldsImplicitlyImportTheInterfacesTheirItemsUse) {
  auto package = ParseWitText(R"(package a:b;
interface types { type id = u32; }
interface base { use types.{id}; }
interface host { use base.{id}; f: func(x: id); }
interface api { use types.{id}; }
world w {
  import host;
  export api;
}
world exports-types {
  export types;
  export api;
}
)",
                              "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const World& w = *package->FindWorld("w");
  ASSERT_EQ(w.imports.size(), 3u);
  EXPECT_EQ(w.imports[0].name, "a:b/host");
  EXPECT_FALSE(w.imports[0].implicit);
  EXPECT_TRUE(w.imports[1].implicit);
  EXPECT_TRUE(w.imports[2].implicit);
  EXPECT_NE(w.FindImport("a:b/base"), nullptr);
  EXPECT_NE(w.FindImport("a:b/types"), nullptr);
  ASSERT_EQ(w.exports.size(), 1u);
  // An exported interface's dependency that the world exports itself is not imported.
  EXPECT_TRUE(package->FindWorld("exports-types")->imports.empty());
}

TEST(WitResolveTest, IncludeMergesWorlds) {
  auto package = ParseWitText(R"(package a:b;
interface x { f: func(); }
interface y { g: func(); }
world one { import x; import run: func(); export y; }
world two { import x; import run: func(); }
world both {
  include one;
  include two with { run as run-two };
}
)",
                              "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const World& both = *package->FindWorld("both");
  ASSERT_EQ(both.imports.size(), 3u);  // x once, run, run-two
  EXPECT_NE(both.FindImport("x"), nullptr);
  EXPECT_NE(both.FindImport("run"), nullptr);
  const WorldItem* renamed = both.FindImport("run-two");
  ASSERT_NE(renamed, nullptr);
  EXPECT_EQ(renamed->function.name, "run-two");
  ASSERT_EQ(both.exports.size(), 1u);
}

TEST(WitResolveTest, ParsesADirectoryAsOnePackage) {
  char pattern[] = "/tmp/wit-resolve-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  auto write = [&](const char* name, const char* text) { std::ofstream(dir / name) << text; };
  write("b.wit", "interface user { use types.{id}; f: func(x: id); }\nworld w { import user; }\n");
  write("a.wit", "/// Docs.\npackage a:b@2.0.0;\ninterface types { type id = u64; }\n");
  write("notes.txt", "not wit");
  auto package = ParseWitDirectory(dir);
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  EXPECT_EQ(package->Id(), "a:b@2.0.0");
  EXPECT_EQ(package->docs, "Docs.");
  ASSERT_EQ(package->interfaces.size(), 2u);
  EXPECT_EQ(package->interfaces[0]->name, "types");  // files in name order
  EXPECT_EQ(package->FindInterface("user")->FindFunction("f")->params[0].type->kind,
            TypeKind::kU64);

  write("c.wit", "package a:c;\n");
  package = ParseWitDirectory(dir);
  ASSERT_FALSE(package.ok());
  EXPECT_EQ(package.status().message(),
            (dir / "c.wit").string() +
                ":1:1: package 'a:c' does not match package 'a:b@2.0.0' declared at " +
                (dir / "a.wit").string() + ":2:1");
  std::filesystem::remove(dir / "c.wit");

  write("c.wit", "interface types { }\n");
  package = ParseWitDirectory(dir);
  ASSERT_FALSE(package.ok());
  EXPECT_EQ(package.status().message(),
            (dir / "c.wit").string() +
                ":1:11: duplicate name 'types': an interface or world with this name is already "
                "declared at " +
                (dir / "a.wit").string() + ":3:11");
  std::filesystem::remove(dir / "c.wit");

  std::filesystem::remove(dir / "a.wit");
  write("c.wit", "interface types { type id = u64; }\n");
  package = ParseWitDirectory(dir);
  ASSERT_FALSE(package.ok());
  EXPECT_EQ(package.status().code(), StatusCode::kValidationError);
  EXPECT_EQ(package.status().message(),
            (dir / "b.wit").string() +
                ":1:1: none of the files declares the package (expected 'package "
                "namespace:name;' at the top of one of them)");

  std::filesystem::remove_all(dir);
  EXPECT_EQ(ParseWitDirectory(dir).status().code(), StatusCode::kIOError);
  std::filesystem::create_directory(dir);
  EXPECT_EQ(ParseWitDirectory(dir).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(WitResolveTest, ToWitRoundTrips) {
  const char* kExpressions[] = {
      "u8",
      "list<list<string>>",
      "option<point>",
      "result",
      "result<u32>",
      "result<_, color>",
      "result<tuple<point, bytes>, string>",
      "tuple<bool, char, f32, f64, s64>",
      "own<blob>",
      "borrow<blob>",
      "list<option<result<s8, flagged>>>",
  };
  std::string body =
      "record point { x: u8 }\nenum color { red }\nflags flagged { a }\ntype bytes = list<u8>;\n"
      "resource blob;\n";
  for (size_t i = 0; i < std::size(kExpressions); ++i) {
    body += "f" + std::to_string(i) + ": func(x: " + kExpressions[i] + ");\n";
  }
  auto package = ParseWitText("package a:b;\ninterface i {\n" + body + "}\n", "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();

  std::string reparsed_body =
      "record point { x: u8 }\nenum color { red }\nflags flagged { a }\ntype bytes = list<u8>;\n"
      "resource blob;\n";
  const Interface& i = *package->FindInterface("i");
  for (size_t n = 0; n < std::size(kExpressions); ++n) {
    const abi::TypePtr& type = i.FindFunction("f" + std::to_string(n))->params[0].type;
    EXPECT_EQ(type->ToWit(), kExpressions[n]);
    reparsed_body += "f" + std::to_string(n) + ": func(x: " + type->ToWit() + ");\n";
  }
  auto reparsed = ParseWitText("package a:b;\ninterface i {\n" + reparsed_body + "}\n", "t.wit");
  ASSERT_TRUE(reparsed.ok());
  for (size_t n = 0; n < std::size(kExpressions); ++n) {
    const std::string name = "f" + std::to_string(n);
    EXPECT_TRUE(
        abi::StructurallyEqual(*i.FindFunction(name)->params[0].type,
                               *reparsed->FindInterface("i")->FindFunction(name)->params[0].type))
        << kExpressions[n];
  }
}

struct ErrorCase {
  const char* name;
  const char* text;
  const char* message;
};

class WitResolveErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(WitResolveErrorTest, ReportsLocationAndCause) {
  Status status = ErrorOf(GetParam().text);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kValidationError);
  EXPECT_EQ(status.message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, WitResolveErrorTest,
    testing::Values(
        ErrorCase{"MissingPackage", "interface i {}",
                  "t.wit:1:1: missing package declaration (expected 'package namespace:name;' "
                  "first)"},
        ErrorCase{"UnknownType", "package a:b;\ninterface i {\n  f: func(x: nope);\n}",
                  "t.wit:3:14: unknown type 'nope' in interface 'i'"},
        ErrorCase{"FunctionIsNotAType",
                  "package a:b;\ninterface i {\n  g: func();\n  f: func(x: g);\n}",
                  "t.wit:4:14: 'g' is a function, not a type"},
        ErrorCase{"SelfRecursiveRecord",
                  "package a:b;\ninterface i {\n  record node { next: option<node> }\n}",
                  "t.wit:3:10: type 'node' is defined in terms of itself; recursive types are "
                  "not allowed in WIT"},
        ErrorCase{"MutuallyRecursiveAliases",
                  "package a:b;\ninterface i {\n  type a = list<b>;\n  type b = tuple<a>;\n}",
                  "t.wit:3:8: type 'a' is defined in terms of itself; recursive types are not "
                  "allowed in WIT"},
        ErrorCase{"DuplicateTypeAndFunction",
                  "package a:b;\ninterface i {\n  type f = u8;\n  f: func();\n}",
                  "t.wit:4:3: duplicate name 'f' in interface 'i' (first declared at line 3)"},
        ErrorCase{"DuplicateInterface", "package a:b;\ninterface i {}\nworld I {}",
                  "t.wit:3:7: duplicate name 'I': an interface or world with this name is "
                  "already declared at t.wit:2:11"},
        ErrorCase{"UnknownInterface", "package a:b;\ninterface i {\n  use nope.{x};\n}",
                  "t.wit:3:7: unknown interface 'nope'"},
        ErrorCase{"UseOfAWorld", "package a:b;\nworld w {}\ninterface i {\n  use w.{x};\n}",
                  "t.wit:4:7: 'w' is a world, not an interface"},
        ErrorCase{"UsedNameMissing",
                  "package a:b;\ninterface t { type x = u8; }\ninterface i {\n  use t.{y};\n}",
                  "t.wit:4:10: interface 't' has no type named 'y'"},
        ErrorCase{"UseOwnTypes", "package a:b;\ninterface i {\n  use i.{x};\n  type x = u8;\n}",
                  "t.wit:3:7: interface 'i' cannot 'use' its own types"},
        ErrorCase{"UseCycle",
                  "package a:b;\ninterface x {\n  use y.{b};\n  type a = u8;\n}\ninterface y {\n  "
                  "use x.{a};\n  type b = u8;\n}",
                  "t.wit:7:7: interface 'y' uses types from interface 'x', which (directly or "
                  "indirectly) uses types from it; 'use' between interfaces must not form a "
                  "cycle"},
        ErrorCase{"OwnOfNonResource",
                  "package a:b;\ninterface i {\n  type t = own<u>;\n  type u = u8;\n}",
                  "t.wit:3:12: 'u' is not a resource; own<...> takes a resource"},
        ErrorCase{"MethodWithSelf",
                  "package a:b;\ninterface i {\n  resource r {\n    m: func(self: u8);\n  }\n}",
                  "t.wit:4:13: method 'm' cannot declare a parameter named 'self'; methods "
                  "receive 'self' implicitly"},
        ErrorCase{"UnknownPackageInterface", "package a:b;\nworld w { import a:b/nope; }",
                  "t.wit:2:18: package 'a:b' has no interface 'nope'"},
        ErrorCase{"DuplicateImport",
                  "package a:b;\ninterface i {}\nworld w { import i; import i; }",
                  "t.wit:3:28: import 'a:b/i' appears twice in world 'w' (first at line 3)"},
        ErrorCase{"IncludeCycle", "package a:b;\nworld x { include y; }\nworld y { include x; }",
                  "t.wit:2:7: world 'x' includes itself (directly or through other worlds)"},
        ErrorCase{"IncludeConflict",
                  "package a:b;\nworld x { import f: func(); }\nworld y { import f: func(); "
                  "include x; }",
                  "t.wit:3:29: including world 'x' brings import 'f', which the world already "
                  "has; rename it with 'with { f as ... }'"},
        ErrorCase{"IncludeRenameOfNothing",
                  "package a:b;\nworld x { import f: func(); }\nworld y { include x with { g as "
                  "h } }",
                  "t.wit:3:28: world 'x' has no import or export with the plain name 'g' to "
                  "rename (interface names cannot be renamed)"},
        ErrorCase{"IncludeForeignWorld",
                  "package a:b;\nworld y { include wasi:cli/command@0.2.0; }",
                  "t.wit:2:19: cannot include world 'wasi:cli/command@0.2.0': its package is "
                  "not loaded"},
        ErrorCase{"TopLevelUseClash", "package a:b;\nuse wasi:io/streams;\ninterface streams {}",
                  "t.wit:2:1: 'streams' is already the name of an interface or world of this "
                  "package (declared at t.wit:3:11); rename the use with 'as'"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(WitResolveTest, LongDefinitionChainsAreCapped) {
  auto chain = [](int length) {
    std::string text = "package a:b;\ninterface i {\n";
    for (int n = 0; n < length; ++n) {
      text += "type t" + std::to_string(n) + " = list<t" + std::to_string(n + 1) + ">;\n";
    }
    return text + "type t" + std::to_string(length) + " = u8;\n}\n";
  };
  EXPECT_TRUE(ParseWitText(chain(50), "t.wit").ok());
  Status status = ErrorOf(chain(5000));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kValidationError);
  EXPECT_NE(status.message().find("nested too deeply (the limit is 256 levels)"), std::string::npos)
      << status.message();

  std::string worlds = "package a:b;\n";
  for (int n = 0; n < 500; ++n) {
    worlds += "world w" + std::to_string(n) + " { include w" + std::to_string(n + 1) + "; }\n";
  }
  worlds += "world w500 {}\n";
  status = ErrorOf(worlds);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("worlds include each other too deeply"), std::string::npos);
}

}  // namespace
}  // namespace theater::wit
