// Theater: a WebAssembly actor runtime.
//
// Syntax: every construct of WIT parsed through the public API, and syntax errors with their
// exact locations.
#include <gtest/gtest.h>

#include <string>

#include "theater/abi/wit.h"

namespace theater::wit {
namespace {

using abi::TypeKind;

// Parses `body` as the inside of `interface i { ... }` of package `test:pkg`.
const Interface& ParseInterfaceOrDie(std::string_view body, Package* storage) {
  Result<Package> package =
      ParseWitText("package test:pkg;\ninterface i {\n" + std::string(body) + "\n}\n", "t.wit");
  EXPECT_TRUE(package.ok()) << package.status().ToString();
  if (!package.ok()) std::abort();
  *storage = std::move(package).value();
  return *storage->FindInterface("i");
}

Status ParseError(std::string_view text) {
  Result<Package> package = ParseWitText(text, "t.wit");
  return package.ok() ? Status::Ok() : package.status();
}

TEST(WitSyntaxTest, PackageDeclaration) {
  auto plain = ParseWitText("package theater:simple;", "t.wit");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->namespace_name, "theater");
  EXPECT_EQ(plain->name, "simple");
  EXPECT_FALSE(plain->version.has_value());
  EXPECT_EQ(plain->Id(), "theater:simple");
  EXPECT_EQ(plain->QualifiedInterfaceName("runtime"), "theater:simple/runtime");

  auto versioned = ParseWitText("/// The docs.\npackage wasi:io@0.2.0-rc.1;", "t.wit");
  ASSERT_TRUE(versioned.ok());
  EXPECT_EQ(versioned->version, "0.2.0-rc.1");
  EXPECT_EQ(versioned->docs, "The docs.");
  EXPECT_EQ(versioned->QualifiedInterfaceName("streams"), "wasi:io/streams@0.2.0-rc.1");
}

TEST(WitSyntaxTest, EveryPrimitiveType) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(
      "f: func(a: bool, b: s8, c: u8, d: s16, e: u16, g: s32, h: u32, i: s64, j: u64, k: f32,\n"
      "        l: f64, m: char, n: string, o: float32, p: float64);",
      &storage);
  const TypeKind kExpected[] = {TypeKind::kBool,   TypeKind::kS8,  TypeKind::kU8,  TypeKind::kS16,
                                TypeKind::kU16,    TypeKind::kS32, TypeKind::kU32, TypeKind::kS64,
                                TypeKind::kU64,    TypeKind::kF32, TypeKind::kF64, TypeKind::kChar,
                                TypeKind::kString, TypeKind::kF32, TypeKind::kF64};
  const abi::FunctionType* f = i.FindFunction("f");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->params.size(), std::size(kExpected));
  for (size_t n = 0; n < f->params.size(); ++n) {
    EXPECT_EQ(f->params[n].type->kind, kExpected[n]) << f->params[n].name;
  }
  EXPECT_EQ(f->result, nullptr);
  EXPECT_TRUE(f->named_results.empty());
}

TEST(WitSyntaxTest, CompositeTypes) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(
      "f: func(a: list<list<u8>>, b: option<string>, c: tuple<u8, string,>, d: result,\n"
      "        e: result<u32>, g: result<_, string>, h: result<u32, string>);",
      &storage);
  const abi::FunctionType& f = *i.FindFunction("f");
  ASSERT_EQ(f.params.size(), 7u);
  const abi::Type& a = *f.params[0].type;
  EXPECT_EQ(a.kind, TypeKind::kList);
  EXPECT_EQ(a.element->kind, TypeKind::kList);
  EXPECT_EQ(a.element->element->kind, TypeKind::kU8);
  EXPECT_EQ(f.params[1].type->kind, TypeKind::kOption);
  EXPECT_EQ(f.params[1].type->element->kind, TypeKind::kString);
  const abi::Type& c = *f.params[2].type;
  EXPECT_EQ(c.kind, TypeKind::kTuple);
  ASSERT_EQ(c.elements.size(), 2u);
  EXPECT_EQ(c.elements[1]->kind, TypeKind::kString);
  const abi::Type& d = *f.params[3].type;
  EXPECT_EQ(d.kind, TypeKind::kResult);
  EXPECT_EQ(d.ok, nullptr);
  EXPECT_EQ(d.err, nullptr);
  const abi::Type& e = *f.params[4].type;
  EXPECT_EQ(e.ok->kind, TypeKind::kU32);
  EXPECT_EQ(e.err, nullptr);
  const abi::Type& g = *f.params[5].type;
  EXPECT_EQ(g.ok, nullptr);
  EXPECT_EQ(g.err->kind, TypeKind::kString);
  const abi::Type& h = *f.params[6].type;
  EXPECT_EQ(h.ok->kind, TypeKind::kU32);
  EXPECT_EQ(h.err->kind, TypeKind::kString);
}

TEST(WitSyntaxTest, DeclaredTypes) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(R"(
    record point { x: s32, y: s32, }
    variant shape { none, circle(u32), poly(list<point>) }
    enum color { red, green, blue }
    flags perms { read, write }
    type bytes = list<u8>;
    type pt = point;
  )",
                                           &storage);
  abi::TypePtr point = i.FindType("point");
  ASSERT_NE(point, nullptr);
  EXPECT_EQ(point->kind, TypeKind::kRecord);
  EXPECT_EQ(point->name, "point");
  ASSERT_EQ(point->fields.size(), 2u);
  EXPECT_EQ(point->fields[0].name, "x");
  EXPECT_EQ(point->fields[0].type->kind, TypeKind::kS32);

  abi::TypePtr shape = i.FindType("shape");
  ASSERT_EQ(shape->kind, TypeKind::kVariant);
  ASSERT_EQ(shape->cases.size(), 3u);
  EXPECT_EQ(shape->cases[0].type, nullptr);
  EXPECT_EQ(shape->cases[1].type->kind, TypeKind::kU32);
  EXPECT_EQ(shape->cases[2].type->element, point);  // the same node, not a copy

  abi::TypePtr color = i.FindType("color");
  EXPECT_EQ(color->kind, TypeKind::kEnum);
  EXPECT_EQ(color->labels, (std::vector<std::string>{"red", "green", "blue"}));
  EXPECT_EQ(i.FindType("perms")->kind, TypeKind::kFlags);

  abi::TypePtr bytes = i.FindType("bytes");
  EXPECT_EQ(bytes->kind, TypeKind::kList);
  EXPECT_EQ(bytes->name, "bytes");
  EXPECT_EQ(bytes->element->kind, TypeKind::kU8);
  abi::TypePtr pt = i.FindType("pt");
  EXPECT_EQ(pt->name, "pt");
  EXPECT_TRUE(abi::StructurallyEqual(*pt, *point));

  // Types may be used before they are declared.
  Package later;
  const Interface& j = ParseInterfaceOrDie("type a = list<b>;\nrecord b { x: u8 }", &later);
  EXPECT_EQ(j.FindType("a")->element->name, "b");
}

TEST(WitSyntaxTest, FunctionResults) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(R"(
    none: func();
    one: func() -> u32;
    named: func() -> (a: u32, b: string);
    empty: func() -> ();
  )",
                                           &storage);
  EXPECT_EQ(i.FindFunction("none")->ResultTypes().size(), 0u);
  EXPECT_EQ(i.FindFunction("one")->result->kind, TypeKind::kU32);
  const abi::FunctionType& named = *i.FindFunction("named");
  EXPECT_EQ(named.result, nullptr);
  ASSERT_EQ(named.named_results.size(), 2u);
  EXPECT_EQ(named.named_results[1].name, "b");
  EXPECT_EQ(named.ResultTypes().size(), 2u);
  EXPECT_EQ(i.FindFunction("empty")->ResultTypes().size(), 0u);
  EXPECT_EQ(i.FindFunction("missing"), nullptr);
}

TEST(WitSyntaxTest, Resources) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(R"(
    /// A blob.
    resource blob {
      /// Makes one.
      constructor(init: list<u8>);
      write: func(bytes: list<u8>);
      read: func(n: u32) -> list<u8>;
      merge: static func(lhs: borrow<blob>, rhs: borrow<blob>) -> blob;
    }
    resource empty;
    take: func(b: own<blob>, e: empty);
  )",
                                           &storage);
  const Resource* blob = i.FindResource("blob");
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(blob->docs, "A blob.");
  ASSERT_EQ(blob->functions.size(), 4u);
  EXPECT_NE(i.FindResource("empty"), nullptr);

  const Function* ctor = i.FindFunctionDef("[constructor]blob");
  ASSERT_NE(ctor, nullptr);
  EXPECT_EQ(ctor->kind, FunctionKind::kConstructor);
  EXPECT_EQ(ctor->docs, "Makes one.");
  ASSERT_EQ(ctor->type.params.size(), 1u);
  EXPECT_EQ(ctor->type.result->kind, TypeKind::kOwn);
  EXPECT_EQ(ctor->type.result->resource_name, "blob");

  const abi::FunctionType* read = i.FindFunction("[method]blob.read");
  ASSERT_NE(read, nullptr);
  ASSERT_EQ(read->params.size(), 2u);
  EXPECT_EQ(read->params[0].name, "self");
  EXPECT_EQ(read->params[0].type->kind, TypeKind::kBorrow);
  EXPECT_EQ(read->params[0].type->resource_name, "blob");
  EXPECT_EQ(read->result->kind, TypeKind::kList);

  const Function* merge = i.FindFunctionDef("[static]blob.merge");
  ASSERT_NE(merge, nullptr);
  EXPECT_EQ(merge->kind, FunctionKind::kStatic);
  EXPECT_EQ(merge->ComponentName(), "[static]blob.merge");
  EXPECT_EQ(merge->type.params.size(), 2u);
  EXPECT_EQ(merge->type.result->kind, TypeKind::kOwn);
  // Resource functions are not reachable by their bare names.
  EXPECT_EQ(i.FindFunction("read"), nullptr);

  const abi::FunctionType& take = *i.FindFunction("take");
  EXPECT_EQ(take.params[0].type->kind, TypeKind::kOwn);
  EXPECT_EQ(take.params[1].type->kind, TypeKind::kOwn);
  EXPECT_EQ(take.params[1].type->resource_name, "empty");
  const TypeDef* def = i.FindTypeDef("blob");
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(def->is_resource);
}

TEST(WitSyntaxTest, DocCommentsAreKept) {
  auto package = ParseWitText(R"(package a:b;
/// The interface.
/** More. */
interface i {
  /// A type.
  type t = u8;
  // Not a doc comment.
  /// A function,
  /// on two lines.
  f: func();
}
/// The world.
world w {
  /// The import.
  import i;
}
)",
                              "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const Interface& i = *package->FindInterface("i");
  EXPECT_EQ(i.docs, "The interface.\nMore.");
  EXPECT_EQ(i.FindTypeDef("t")->docs, "A type.");
  EXPECT_EQ(i.FindFunctionDef("f")->docs, "A function,\non two lines.");
  const World& w = *package->FindWorld("w");
  EXPECT_EQ(w.docs, "The world.");
  EXPECT_EQ(w.FindImport("i")->docs, "The import.");
}

TEST(WitSyntaxTest, EscapedKeywords) {
  Package storage;
  const Interface& i =
      ParseInterfaceOrDie("record %record { %type: u8 }\n%func: func(%enum: %record);", &storage);
  EXPECT_EQ(i.FindType("record")->fields[0].name, "type");
  EXPECT_EQ(i.FindFunction("func")->params[0].name, "enum");
}

TEST(WitSyntaxTest, FeatureGatesAreAccepted) {
  Package storage;
  const Interface& i = ParseInterfaceOrDie(R"(
    @since(version = 0.2.0)
    /// Gated.
    f: func();
    @unstable(feature = fancy)
    @deprecated(version = 1.0.0)
    type t = u8;
  )",
                                           &storage);
  EXPECT_EQ(i.FindFunctionDef("f")->docs, "Gated.");
  EXPECT_NE(i.FindType("t"), nullptr);
  EXPECT_EQ(ParseError("package a:b;\ninterface i {\n  @later(version = 1.0.0)\n  f: func();\n}")
                .message(),
            "t.wit:3:4: unknown feature gate '@later' (expected @since, @unstable or "
            "@deprecated)");
}

TEST(WitSyntaxTest, Worlds) {
  auto package = ParseWitText(R"(package a:b@1.0.0;
interface host { log: func(msg: string); }
interface api { run: func(); }
world w {
  import host;
  import wasi:io/streams@0.2.0;
  import clock: func() -> u64;
  import inline: interface {
    use host.{};
  }
  export api;
  export go: func(n: u32) -> result;
}
)",
                              "t.wit");
  ASSERT_FALSE(package.ok());  // `use host.{}` names nothing
  EXPECT_EQ(package.status().message(), "t.wit:9:15: expected an identifier, found '}'");

  package = ParseWitText(R"(package a:b@1.0.0;
interface host { log: func(msg: string); }
interface api { run: func(); }
world w {
  type id = u64;
  import host;
  import wasi:io/streams@0.2.0;
  import clock: func() -> id;
  import inline: interface {
    ping: func();
  }
  export api;
  export go: func(n: u32) -> result;
}
)",
                         "t.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const World& w = *package->FindWorld("w");
  EXPECT_EQ(w.qualified_name, "a:b/w@1.0.0");
  ASSERT_EQ(w.imports.size(), 4u);
  EXPECT_EQ(w.imports[0].name, "a:b/host@1.0.0");
  ASSERT_NE(w.imports[0].interface, nullptr);
  EXPECT_EQ(w.imports[0].interface.get(), package->FindInterface("host"));
  EXPECT_EQ(w.imports[1].name, "wasi:io/streams@0.2.0");
  EXPECT_EQ(w.imports[1].interface, nullptr);
  EXPECT_EQ(w.imports[2].kind, WorldItemKind::kFunction);
  EXPECT_EQ(w.imports[2].function.type.result->name, "id");
  EXPECT_EQ(w.imports[3].name, "inline");
  ASSERT_NE(w.imports[3].interface, nullptr);
  EXPECT_NE(w.imports[3].interface->FindFunction("ping"), nullptr);
  EXPECT_EQ(w.FindImport("host"), &w.imports[0]);
  EXPECT_EQ(w.FindImport("a:b/host@1.0.0"), &w.imports[0]);
  ASSERT_EQ(w.exports.size(), 2u);
  EXPECT_EQ(w.FindExport("api")->name, "a:b/api@1.0.0");
  EXPECT_EQ(w.FindExport("go")->function.type.result->kind, TypeKind::kResult);
  EXPECT_EQ(w.FindExport("host"), nullptr);
  ASSERT_EQ(w.types.size(), 1u);
  EXPECT_EQ(w.types[0].name, "id");
}

struct ErrorCase {
  const char* name;
  const char* text;
  StatusCode code;
  const char* message;
};

class WitSyntaxErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(WitSyntaxErrorTest, ReportsLocationExpectedAndFound) {
  const ErrorCase& c = GetParam();
  Status status = ParseError(c.text);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), c.code);
  EXPECT_EQ(status.message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, WitSyntaxErrorTest,
    testing::Values(
        ErrorCase{"MissingSemicolon", "package a:b;\ninterface i {\n  f: func()\n  g: func();\n}",
                  StatusCode::kParseError, "t.wit:4:3: expected ';', found identifier 'g'"},
        ErrorCase{"MissingPackageSemicolon", "package a:b\ninterface i {}", StatusCode::kParseError,
                  "t.wit:2:1: expected ';', found keyword 'interface'"},
        ErrorCase{"BadIdentifier", "package a:b;\ninterface i {\n  record Point { x: u8 }\n}",
                  StatusCode::kParseError,
                  "t.wit:3:10: invalid identifier 'Point': word 'Point' mixes upper and lower "
                  "case letters"},
        ErrorCase{"KeywordAsName", "package a:b;\ninterface i {\n  f: func(type: u8);\n}",
                  StatusCode::kParseError,
                  "t.wit:3:11: expected a parameter name, found keyword 'type' (write %type to "
                  "use a keyword as a name)"},
        ErrorCase{"UnterminatedComment", "package a:b;\ninterface i {\n  /* oops\n}",
                  StatusCode::kParseError,
                  "t.wit:3:3: unterminated block comment (expected '*/' before end of file)"},
        ErrorCase{"UnterminatedInterface", "package a:b;\ninterface i {\n  f: func();\n",
                  StatusCode::kParseError,
                  "t.wit:4:1: expected a type definition, 'use', a function or '}', found end "
                  "of file"},
        ErrorCase{"DuplicateField",
                  "package a:b;\ninterface i {\n  record r { a: u8, b: u8, a: s8 }\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:28: duplicate field 'a' in record 'r' (first declared at line 3)"},
        ErrorCase{"DuplicateCaseIgnoringCase", "package a:b;\ninterface i {\n  enum e { a, A }\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:15: duplicate label 'A' in enum 'e' (first declared at line 3)"},
        ErrorCase{"DuplicateParameter", "package a:b;\ninterface i {\n  f: func(x: u8, x: u8);\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:18: duplicate parameter 'x' in function 'f' (first declared at line "
                  "3)"},
        ErrorCase{"EmptyRecord", "package a:b;\ninterface i {\n  record r {}\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:10: record 'r' must have at least one field"},
        ErrorCase{"EmptyTuple", "package a:b;\ninterface i {\n  type t = tuple<>;\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:18: a tuple must have at least one element"},
        ErrorCase{"ResultWithOnlyUnderscore",
                  "package a:b;\ninterface i {\n  type t = result<_>;\n}", StatusCode::kParseError,
                  "t.wit:3:20: expected ',', found '>'"},
        ErrorCase{"NotAType", "package a:b;\ninterface i {\n  type t = 5;\n}",
                  StatusCode::kParseError, "t.wit:3:12: expected a type, found version '5'"},
        ErrorCase{"BadVersion", "package a:b@1.0;", StatusCode::kParseError,
                  "t.wit:1:13: invalid version '1.0': expected MAJOR.MINOR.PATCH with decimal "
                  "numbers"},
        ErrorCase{"NestedPackageBlock", "package a:b;\npackage c:d { interface i {} }",
                  StatusCode::kParseError,
                  "t.wit:2:1: a file declares its package only once; nested package blocks "
                  "('package a:b { ... }') are not supported"},
        ErrorCase{"OnlyNestedPackageBlock", "package c:d { interface i {} }",
                  StatusCode::kParseError,
                  "t.wit:1:13: nested package blocks ('package a:b { ... }') are not supported; "
                  "declare the package with 'package a:b;' and keep other packages in their own "
                  "files"},
        ErrorCase{"PackageNotFirst", "interface i {}\npackage a:b;", StatusCode::kParseError,
                  "t.wit:2:1: the package declaration must come before any other item"},
        ErrorCase{"AsyncFunction", "package a:b;\ninterface i {\n  f: async func();\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:6: async functions are not supported by Theater"},
        ErrorCase{"StreamType", "package a:b;\ninterface i {\n  f: func(s: stream<u8>);\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:14: 'stream' types are not supported by Theater"},
        ErrorCase{"TwoConstructors",
                  "package a:b;\ninterface i {\n  resource r {\n    constructor();\n    "
                  "constructor(x: u8);\n  }\n}",
                  StatusCode::kValidationError,
                  "t.wit:5:5: resource 'r' has more than one constructor"},
        ErrorCase{"TooManyFlags",
                  "package a:b;\ninterface i {\n flags f { a0, a1, a2, a3, a4, a5, a6, a7, a8, "
                  "a9, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, c0, c1, c2, c3, c4, c5, c6, c7, "
                  "c8, c9, d0, d1, d2 }\n}",
                  StatusCode::kValidationError,
                  "t.wit:3:8: flags 'f' has 33 labels; at most 32 are allowed"},
        ErrorCase{"NestedNamespace", "package a:b;\nworld w { import a:b:c/d; }",
                  StatusCode::kParseError,
                  "t.wit:2:21: nested namespaces ('a:b:c') are not supported"},
        ErrorCase{"StrayToken", "package a:b;\nrecord r { a: u8 }", StatusCode::kParseError,
                  "t.wit:2:1: expected 'interface', 'world' or 'use', found keyword 'record'"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(WitSyntaxTest, NestingIsCappedWithAClearError) {
  auto nested = [](int depth) {
    std::string type;
    for (int i = 0; i < depth; ++i) type += "list<";
    type += "u8";
    for (int i = 0; i < depth; ++i) type += ">";
    return "package a:b;\ninterface i {\n  type t = " + type + ";\n}";
  };
  EXPECT_TRUE(ParseWitText(nested(kMaxNestingDepth - 1), "t.wit").ok());
  Status status = ParseError(nested(kMaxNestingDepth));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kParseError);
  EXPECT_EQ(status.message(), "t.wit:3:" + std::to_string(12 + 5 * kMaxNestingDepth) +
                                  ": type is nested too deeply (the limit is 100 levels)");
  // Far deeper input fails the same way, without exhausting the stack.
  EXPECT_FALSE(ParseWitText(nested(100000), "t.wit").ok());
}

TEST(WitSyntaxTest, ReportsTheFirstProblemInTheFile) {
  // A lexical error after the syntax error does not hide it.
  EXPECT_EQ(ParseError("package a:b;\ninterface i {\n  f: func()\n}\n$").message(),
            "t.wit:4:1: expected ';', found '}'");
  // A lexical error before any syntax error is the one reported.
  EXPECT_EQ(ParseError("package a:b;\ninterface i {\n  f: func($)\n}").message(),
            "t.wit:3:11: unexpected character '$'");
}

}  // namespace
}  // namespace theater::wit
