// Theater: a WebAssembly actor runtime.
//
// Components built byte by byte: valid ones decode to the expected index spaces and types;
// malformed ones fail with a message that names the section, the offset and the problem.
#include <gtest/gtest.h>

#include <string>

#include "abi/component/component_builder.h"
#include "abi/component/core_module.h"
#include "abi/component/reader.h"
#include "common/status_test_util.h"
#include "theater/abi/component.h"

namespace theater::component {
namespace {

using namespace testing;  // NOLINT(build/namespaces): the byte builder

Result<std::unique_ptr<const Component>> Decode(const Bytes& bytes) {
  return DecodeComponent(bytes.data());
}

Status DecodeStatus(const Bytes& bytes) {
  return Decode(bytes).status();
}

constexpr uint8_t kI32 = 0x7f;

// A core module exporting "f": (i32) -> i32, "realloc", "post": (i32) -> (), and "memory".
Bytes LibraryModule() {
  CoreModuleSpec spec;
  spec.types = {{{kI32}, {kI32}}, {{kI32, kI32, kI32, kI32}, {kI32}}, {{kI32}, {}}};
  spec.funcs = {0, 1, 2};
  spec.memory = true;
  spec.exports = {{"f", 0, 0}, {"realloc", 0, 1}, {"post", 0, 2}, {"memory", 2, 0}};
  return CoreModuleBytes(spec);
}

// The library module, instantiated, with core func 0 = "f", core func 1 = "realloc",
// core func 2 = "post", core memory 0 = "memory".
Bytes LibraryPrefix() {
  Bytes out;
  out.Append(Section(kCoreModule, LibraryModule()));
  out.Append(VecSection(kCoreInstance, {Bytes{0x00, 0x00, 0x00}}));
  out.Append(VecSection(kAlias, {
                                    Bytes{0x00, 0x00, 0x01, 0x00}.Name("f"),
                                    Bytes{0x00, 0x00, 0x01, 0x00}.Name("realloc"),
                                    Bytes{0x00, 0x00, 0x01, 0x00}.Name("post"),
                                    Bytes{0x00, 0x02, 0x01, 0x00}.Name("memory"),
                                }));
  return out;
}

Bytes WithPrefix(const Bytes& prefix, std::initializer_list<Bytes> sections) {
  Bytes out = ComponentPreamble();
  out.Append(prefix);
  for (const Bytes& s : sections) out.Append(s);
  return out;
}

// (func (param "x" u32) (result u32))
Bytes U32ToU32Type() {
  return Bytes{0x40, 0x01}.Name("x").Raw({0x79, 0x00, 0x79});
}

TEST(ComponentDecoderTest, LiftedFunctionHasResolvedIndexSpaces) {
  const Bytes bytes = WithPrefix(
      LibraryPrefix(),
      {VecSection(kType, {U32ToU32Type()}),
       VecSection(kCanon, {Bytes{0x00, 0x00, 0x00, 0x00, 0x00}}),  // lift core func 0, type 0
       VecSection(kExport, {Bytes().ExternName("f").Raw({0x01, 0x00, 0x00})})});
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;

  ASSERT_EQ(c.core_modules.size(), 1u);
  const auto module_bytes = c.ModuleBytes(c.core_modules[0]);
  const Bytes expected = LibraryModule();
  EXPECT_TRUE(std::equal(module_bytes.begin(), module_bytes.end(), expected.data().begin(),
                         expected.data().end()));
  ASSERT_NE(c.core_modules[0].shape->FindExport("f"), nullptr);
  EXPECT_EQ(c.core_modules[0].shape->FindExport("f")->type.func->params,
            std::vector{CoreValType::kI32});

  EXPECT_EQ(c.space(Sort::kCoreFunc).size(), 3u);
  EXPECT_EQ(c.space(Sort::kCoreMemory).size(), 1u);
  EXPECT_EQ(c.Describe(Sort::kCoreFunc, 0),
            "core func 0: alias of export \"f\" of core instance 0");
  EXPECT_EQ(c.Describe(Sort::kCoreMemory, 0),
            "core memory 0: alias of export \"memory\" of core instance 0");
  EXPECT_EQ(c.Describe(Sort::kCoreInstance, 0), "core instance 0: instantiation of core module 0");
  EXPECT_EQ(c.Describe(Sort::kCoreFunc, 9), "core func 9: out of range (3 defined)");
  ASSERT_NE(c.CoreFuncTypeAt(0), nullptr);
  EXPECT_EQ(c.CoreFuncTypeAt(0)->results, std::vector{CoreValType::kI32});

  ASSERT_EQ(c.space(Sort::kFunc).size(), 2u);
  EXPECT_EQ(c.space(Sort::kFunc)[0].origin, Origin::kCanon);
  EXPECT_EQ(c.canons[0].kind, Canon::Kind::kLift);
  EXPECT_EQ(c.canons[0].func, 0u);
  EXPECT_EQ(c.space(Sort::kFunc)[1].origin, Origin::kExport);  // exports add an index
  EXPECT_EQ(c.Describe(Sort::kFunc, 1), "func 1: export \"f\" of func 0");
  EXPECT_EQ(c.FuncTypeAt(1), c.FuncTypeAt(0));

  auto type = FunctionTypeOf(c, 0);
  ASSERT_TRUE(type.ok()) << type.status().ToString();
  ASSERT_EQ(type->params.size(), 1u);
  EXPECT_EQ(type->params[0].name, "x");
  EXPECT_EQ(type->params[0].type->kind, abi::TypeKind::kU32);
  ASSERT_NE(type->result, nullptr);
  EXPECT_EQ(type->result->kind, abi::TypeKind::kU32);

  ASSERT_EQ(c.type->instance->exports.size(), 1u);
  EXPECT_EQ(c.type->instance->exports[0].name, "f");
  EXPECT_EQ(c.type->instance->exports[0].sort, Sort::kFunc);
}

TEST(ComponentDecoderTest, FunctionTypeOfRejectsOutOfRangeAndNonFunctions) {
  const Bytes bytes = ComponentBytes({VecSection(kType, {Bytes{0x70, 0x79}})});  // list<u32>
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_ERROR(FunctionTypeOf(**decoded, 1).status(), StatusCode::kValidationError,
               "type index 1 out of range (1 defined)");
  EXPECT_ERROR(FunctionTypeOf(**decoded, 0).status(), StatusCode::kValidationError,
               "type 0: a list type is not a func type");
  auto list = ToAbiType(*(*decoded)->TypeAt(0));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)->ToWit(), "list<u32>");
}

// An imported interface with a resource and a method; the method is lowered, the resource's
// handles dropped.
Bytes ImportedResourceComponent(std::initializer_list<Bytes> extra) {
  Bytes instance_type = Bytes{0x42, 0x04};
  instance_type.Byte(0x04).ExternName("blob").Raw({0x03, 0x01});  // local type 0: resource
  instance_type.Raw({0x01, 0x68, 0x00});                          // local type 1: borrow<0>
  instance_type.Byte(0x01).Raw({0x40, 0x01}).Name("self").Raw({0x01, 0x00, 0x79});  // type 2
  instance_type.Byte(0x04).ExternName("[method]blob.size").Raw({0x01, 0x02});
  Bytes out = ComponentBytes({
      VecSection(kType, {instance_type}),
      VecSection(kImport, {Bytes().ExternName("test:pkg/blobs@1.0.0").Raw({0x05, 0x00})}),
      VecSection(kAlias, {Bytes{0x03, 0x00, 0x00}.Name("blob"),
                          Bytes{0x01, 0x00, 0x00}.Name("[method]blob.size")}),
      VecSection(kType, {Bytes{0x69, 0x01}}),  // type 2: own<type 1>
  });
  for (const Bytes& s : extra) out.Append(s);
  return out;
}

TEST(ComponentDecoderTest, ImportedResourcesKeepTheirNameAndIdentity) {
  auto decoded = Decode(ImportedResourceComponent({VecSection(
      kCanon, {Bytes{0x03, 0x01}, Bytes{0x01, 0x00, 0x00, 0x00}})}));  // drop type 1, lower func 0
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;

  EXPECT_EQ(c.Describe(Sort::kInstance, 0), "instance 0: import \"test:pkg/blobs@1.0.0\"");
  EXPECT_EQ(c.Describe(Sort::kType, 1), "type 1: alias of export \"blob\" of instance 0");
  const TypeRef& blob = c.TypeAt(1);
  ASSERT_EQ(blob->kind, TypeDefKind::kResource);
  EXPECT_EQ(blob->resource_name, "blob");
  EXPECT_FALSE(blob->resource_defined);
  EXPECT_EQ(blob, c.InstanceTypeAt(0)->FindExport("blob")->type);
  EXPECT_EQ(c.TypeAt(2)->resource, blob);

  auto own = ToAbiType(*c.TypeAt(2));
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ((*own)->kind, abi::TypeKind::kOwn);
  EXPECT_EQ((*own)->resource_name, "blob");

  auto method = ToAbiFunctionType(*c.FuncTypeAt(0));
  ASSERT_TRUE(method.ok()) << method.status().ToString();
  ASSERT_EQ(method->params.size(), 1u);
  EXPECT_EQ(method->params[0].type->kind, abi::TypeKind::kBorrow);
  EXPECT_EQ(method->params[0].type->resource_name, "blob");
  EXPECT_EQ(method->result->kind, abi::TypeKind::kU32);

  EXPECT_EQ(c.Describe(Sort::kCoreFunc, 0), "core func 0: canon resource.drop of type 1");
  EXPECT_EQ(c.Describe(Sort::kCoreFunc, 1),
            "core func 1: canon lower of func 0 (string-encoding utf8)");
  ASSERT_NE(c.CoreFuncTypeAt(0), nullptr);
  EXPECT_EQ(c.CoreFuncTypeAt(0)->params, std::vector{CoreValType::kI32});
  EXPECT_TRUE(c.CoreFuncTypeAt(0)->results.empty());
  EXPECT_EQ(c.CoreFuncTypeAt(1), nullptr);  // a lowering's signature is not derived
}

TEST(ComponentDecoderTest, ResourceNewNeedsAResourceDefinedHere) {
  EXPECT_ERROR(DecodeStatus(ImportedResourceComponent({VecSection(kCanon, {Bytes{0x02, 0x01}})})),
               StatusCode::kValidationError,
               "canon resource.new: resource type 1 is not defined by this component");
  EXPECT_ERROR(DecodeStatus(ImportedResourceComponent({VecSection(kCanon, {Bytes{0x03, 0x02}})})),
               StatusCode::kValidationError,
               "canon resource.drop: type 2 is a own type, not a resource");
}

TEST(ComponentDecoderTest, DefinedResourceIsNamedByItsExport) {
  auto decoded = Decode(ComponentBytes({
      VecSection(kType, {Bytes{0x3f, 0x7f, 0x00}}),
      VecSection(kExport, {Bytes().ExternName("blob").Raw({0x03, 0x00, 0x00})}),
      VecSection(kCanon, {Bytes{0x02, 0x00}, Bytes{0x04, 0x01}}),  // new type 0, rep type 1
  }));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;
  EXPECT_EQ(c.TypeAt(0)->resource_name, "blob");
  EXPECT_TRUE(c.TypeAt(0)->resource_defined);
  EXPECT_EQ(c.TypeAt(1), c.TypeAt(0));
  EXPECT_EQ(c.space(Sort::kType)[1].origin, Origin::kExport);
  EXPECT_EQ(c.Describe(Sort::kCoreFunc, 1), "core func 1: canon resource.rep of type 1");
  EXPECT_EQ(c.CoreFuncTypeAt(0)->results, std::vector{CoreValType::kI32});
}

TEST(ComponentDecoderTest, ResourceRules) {
  // Defined inside an instance type.
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x42, 0x01, 0x01, 0x3f, 0x7f, 0x00}})})),
               StatusCode::kValidationError, "resource definitions are not allowed");
  // A representation other than i32.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x3f, 0x7e, 0x00}})})),
               StatusCode::kValidationError, "resource representation must be i32");
  // A borrow handle in a function result.
  EXPECT_ERROR(
      DecodeStatus(ComponentBytes({VecSection(
          kType, {Bytes{0x3f, 0x7f, 0x00}, Bytes{0x68, 0x00}, Bytes{0x40, 0x00, 0x00, 0x01}})})),
      StatusCode::kValidationError, "function result contains a borrow handle");
  // A destructor of the wrong type (core func 0 is "f": (i32) -> i32).
  EXPECT_ERROR(DecodeStatus(WithPrefix(LibraryPrefix(),
                                       {VecSection(kType, {Bytes{0x3f, 0x7f, 0x01, 0x00}})})),
               StatusCode::kValidationError, "resource destructor must have type [i32] -> []");
  // An outer alias of a defined resource into a nested component.
  const Bytes inner = ComponentBytes({VecSection(kAlias, {Bytes{0x03, 0x02, 0x01, 0x00}})});
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x3f, 0x7f, 0x00}}),
                                            Section(kComponentSection, inner)})),
               StatusCode::kValidationError, "resource types are generative");
}

TEST(ComponentDecoderTest, NestedComponentsAliasOuterTypesAndInstantiate) {
  // Outer type 0: record point { x: s32 }. The inner component aliases it, imports a func
  // "log" and exports both.
  const Bytes inner = ComponentBytes({
      VecSection(kAlias, {Bytes{0x03, 0x02, 0x01, 0x00}}),
      VecSection(kType, {Bytes{0x40, 0x00, 0x01, 0x00}}),
      VecSection(kImport, {Bytes().ExternName("log").Raw({0x01, 0x01})}),
      VecSection(kExport, {Bytes().ExternName("point").Raw({0x03, 0x00, 0x00}),
                           Bytes().ExternName("log2").Raw({0x01, 0x00, 0x00})}),
  });
  auto with = [&](std::initializer_list<Bytes> rest) {
    Bytes out = ComponentBytes({
        VecSection(kType, {Bytes{0x72, 0x01}.Name("x").Byte(0x7a), Bytes{0x40, 0x00, 0x01, 0x00}}),
        Section(kComponentSection, inner),
        VecSection(kImport, {Bytes().ExternName("log").Raw({0x01, 0x01})}),
    });
    for (const Bytes& s : rest) out.Append(s);
    return out;
  };
  auto decoded = Decode(with({
      VecSection(kInstance, {Bytes{0x00, 0x00, 0x01}.Name("log").Raw({0x01, 0x00})}),
      VecSection(kAlias,
                 {Bytes{0x03, 0x00, 0x00}.Name("point"), Bytes{0x01, 0x00, 0x00}.Name("log2")}),
      VecSection(kInstance, {Bytes{0x01, 0x01}.ExternName("log3").Raw({0x01, 0x01})}),
  }));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;
  ASSERT_EQ(c.components.size(), 1u);
  const Component& nested = *c.components[0];
  EXPECT_EQ(nested.Describe(Sort::kType, 0), "type 0: outer alias of type 0 of the scope 1 out");
  EXPECT_EQ(nested.TypeAt(0).get(), c.TypeAt(0).get());
  EXPECT_EQ(c.Describe(Sort::kInstance, 0), "instance 0: instantiation of component 0");
  EXPECT_EQ(c.instances[0].args[0].name, "log");
  // The aliased type is the outer record, named by the export.
  ASSERT_EQ(c.TypeAt(2)->kind, TypeDefKind::kRecord);
  EXPECT_EQ(c.TypeAt(2)->name, "point");
  auto point = ToAbiType(*c.TypeAt(2));
  ASSERT_TRUE(point.ok());
  EXPECT_EQ((*point)->name, "point");
  EXPECT_EQ(c.Describe(Sort::kFunc, 1), "func 1: alias of export \"log2\" of instance 0");
  EXPECT_EQ(c.Describe(Sort::kInstance, 1), "instance 1: instance of 1 inline exports");
  ASSERT_NE(c.InstanceTypeAt(1)->FindExport("log3"), nullptr);
  EXPECT_EQ(c.InstanceTypeAt(1)->FindExport("log3")->type, c.FuncTypeAt(1));

  // Instantiation must supply every import, with the right sort.
  EXPECT_ERROR(DecodeStatus(with({VecSection(kInstance, {Bytes{0x00, 0x00, 0x00}})})),
               StatusCode::kValidationError,
               "component 0 imports `log` but no instantiation argument is named so");
  EXPECT_ERROR(DecodeStatus(with({VecSection(
                   kInstance, {Bytes{0x00, 0x00, 0x01}.Name("log").Raw({0x03, 0x00})})})),
               StatusCode::kValidationError,
               "instantiation argument `log` is a type but component 0 imports a func");
  // Aliases must name an existing export of the right sort.
  EXPECT_ERROR(DecodeStatus(with(
                   {VecSection(kInstance, {Bytes{0x00, 0x00, 0x01}.Name("log").Raw({0x01, 0x00})}),
                    VecSection(kAlias, {Bytes{0x01, 0x00, 0x00}.Name("nope")})})),
               StatusCode::kValidationError, "instance 0 has no export named `nope`");
  EXPECT_ERROR(DecodeStatus(with(
                   {VecSection(kInstance, {Bytes{0x00, 0x00, 0x01}.Name("log").Raw({0x01, 0x00})}),
                    VecSection(kAlias, {Bytes{0x01, 0x00, 0x00}.Name("point")})})),
               StatusCode::kValidationError, "export `point` of instance 0 is a type, not a func");
}

TEST(ComponentDecoderTest, PreambleErrors) {
  EXPECT_ERROR(DecodeStatus(Bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}),
               StatusCode::kParseError, "this is a core module, not a component");
  EXPECT_ERROR(DecodeStatus(Bytes{0x7f, 0x45, 0x4c, 0x46, 0x0d, 0x00, 0x01, 0x00}),
               StatusCode::kParseError, "not a WebAssembly binary");
  EXPECT_ERROR(DecodeStatus(Bytes{0x00, 0x61, 0x73}), StatusCode::kParseError,
               "not a WebAssembly binary");
  EXPECT_ERROR(DecodeStatus(Bytes{0x00, 0x61, 0x73, 0x6d, 0x0a, 0x00, 0x01, 0x00}),
               StatusCode::kParseError, "unsupported component binary version 0xa");
  EXPECT_ERROR(DecodeStatus(Bytes{0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x02, 0x00}),
               StatusCode::kParseError, "unknown binary layer 0x2");
  auto empty = Decode(ComponentPreamble());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->imports.empty());
}

TEST(ComponentDecoderTest, TruncationAndLeb128Errors) {
  // A section claiming 16 bytes with 1 left.
  Bytes overrun = ComponentPreamble();
  overrun.Raw({0x07, 0x10, 0x01});
  EXPECT_ERROR(DecodeStatus(overrun), StatusCode::kParseError,
               "component at offset 0x9: component section 7 (type) of 16 bytes overruns the 1 "
               "bytes left");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, Bytes{0x80, 0x80, 0x80, 0x80, 0x10})})),
               StatusCode::kParseError,
               "component section 7 (type) at offset 0xa: LEB128 integer too large for 32 bits");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, Bytes{0x80})})), StatusCode::kParseError,
               "truncated LEB128 integer");
  // A type whose body is cut off by its section's end.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, Bytes{0x01, 0x70})})),
               StatusCode::kParseError,
               "component section 7 (type) at offset 0xc: unexpected end of data");
  // Bytes left over inside a section.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, Bytes{0x01, 0x79, 0x00})})),
               StatusCode::kParseError, "1 unexpected trailing byte(s)");
  // A name running past the end, and one that is not UTF-8.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kCustom, Bytes{0x05, 'a'})})),
               StatusCode::kParseError, "name of 5 bytes exceeds the 1 bytes left");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kCustom, Bytes{0x02, 0xc0, 0x80})})),
               StatusCode::kParseError, "not valid UTF-8");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(42, Bytes{})})), StatusCode::kParseError,
               "unknown component section id 42");
}

TEST(ComponentDecoderTest, OversizedCountsAreRejectedBeforeAllocating) {
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, Bytes().U32(0xffffffff))})),
               StatusCode::kParseError, "type count 4294967295 exceeds the 0 bytes left");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x72}.U32(1000000)})})),
               StatusCode::kParseError, "field count 1000000 exceeds");
}

TEST(ComponentDecoderTest, IndicesMustBeInRangeWhereTheyAreUsed) {
  EXPECT_ERROR(
      DecodeStatus(ComponentBytes({VecSection(kAlias, {Bytes{0x00, 0x00, 0x01, 0x09}.Name("f")})})),
      StatusCode::kValidationError,
      "component section 6 (alias) at offset 0xe: core instance index 9 out of range "
      "(0 defined)");
  // A type referring to itself: a forward reference.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x70, 0x00}})})),
               StatusCode::kValidationError, "type index 0 out of range (0 defined)");
  // An alias of the index it defines: the only way to write a cycle, and out of range.
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kAlias, {Bytes{0x03, 0x02, 0x00, 0x00}})})),
               StatusCode::kValidationError, "type index 0 out of range (0 defined)");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kAlias, {Bytes{0x03, 0x02, 0x02, 0x00}})})),
               StatusCode::kValidationError, "outer alias count 2 goes beyond the outermost scope");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kAlias, {Bytes{0x01, 0x02, 0x00, 0x00}})})),
               StatusCode::kValidationError, "outer aliases cannot refer to a func");
  EXPECT_ERROR(DecodeStatus(WithPrefix(
                   LibraryPrefix(), {VecSection(kCanon, {Bytes{0x00, 0x00, 0x07, 0x00, 0x00}})})),
               StatusCode::kValidationError, "core func index 7 out of range (3 defined)");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kExport, {Bytes().ExternName("f").Raw({0x01, 0x00, 0x00})})})),
               StatusCode::kValidationError, "func index 0 out of range (0 defined)");
  EXPECT_ERROR(
      DecodeStatus(WithPrefix(LibraryPrefix(), {VecSection(kType, {U32ToU32Type()}),
                                                Section(kStart, Bytes{0x05, 0x00, 0x00})})),
      StatusCode::kValidationError,
      "component section 9 (start) at offset 0x9c: func index 5 out of range (0 defined)");
}

TEST(ComponentDecoderTest, TypeReferencesOfTheWrongKind) {
  EXPECT_ERROR(DecodeStatus(WithPrefix(
                   LibraryPrefix(), {VecSection(kType, {Bytes{0x72, 0x01}.Name("a").Byte(0x79)}),
                                     VecSection(kCanon, {Bytes{0x00, 0x00, 0x00, 0x00, 0x00}})})),
               StatusCode::kValidationError,
               "canon lift: type 0 is a record type, not a func type");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x40, 0x00, 0x01, 0x00}, Bytes{0x70, 0x00}})})),
               StatusCode::kValidationError, "type 0 is a func type, not a value type");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x79}, Bytes{0x69, 0x00}})})),
               StatusCode::kValidationError, "own of type 0, a primitive type, not a resource");
  EXPECT_ERROR(
      DecodeStatus(
          ComponentBytes({VecSection(kType, {Bytes{0x79}}),
                          VecSection(kImport, {Bytes().ExternName("f").Raw({0x01, 0x00})})})),
      StatusCode::kValidationError, "func refers to type 0, a primitive type, not a func type");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x79}}),
                    VecSection(kImport, {Bytes().ExternName("i").Raw({0x05, 0x00})})})),
               StatusCode::kValidationError, "not a instance type");
}

TEST(ComponentDecoderTest, NamesMustBeValidAndUnique) {
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().ExternName("Bad_Name").Raw({0x03, 0x01})})})),
               StatusCode::kValidationError, "invalid import name: `Bad_Name` is not kebab-case");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().ExternName("wasi:io").Raw({0x03, 0x01})})})),
               StatusCode::kValidationError, "names no interface");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x72, 0x01}.Name("two words").Byte(0x79)})})),
               StatusCode::kValidationError, "`two words` is not kebab-case");
  EXPECT_ERROR(
      DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x6d, 0x02}.Name("a").Name("A")})})),
      StatusCode::kValidationError, "duplicate label `A`");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().ExternName("r").Raw({0x03, 0x01}),
                                         Bytes().ExternName("R").Raw({0x03, 0x01})})})),
               StatusCode::kValidationError, "duplicate import name `R`");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().ExternName("r").Raw({0x03, 0x01})}),
                    VecSection(kExport, {Bytes().ExternName("x").Raw({0x03, 0x00, 0x00}),
                                         Bytes().ExternName("x").Raw({0x03, 0x00, 0x00})})})),
               StatusCode::kValidationError, "duplicate export name `x`");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().Byte(0x02).Name("r").Raw({0x03, 0x01})})})),
               StatusCode::kParseError, "invalid name prefix 0x2");
  // The legacy 0x01 prefix is accepted.
  EXPECT_TRUE(Decode(ComponentBytes(
                         {VecSection(kImport, {Bytes().Byte(0x01).Name("r").Raw({0x03, 0x01})})}))
                  .ok());
}

TEST(ComponentDecoderTest, LimitsStopHostileNesting) {
  Bytes component = ComponentPreamble();
  for (int i = 0; i < 40; ++i) component = ComponentBytes({Section(kComponentSection, component)});
  EXPECT_ERROR(DecodeStatus(component), StatusCode::kResourceExhausted,
               "components nest deeper than 32");

  Bytes shallow = ComponentPreamble();
  for (int i = 0; i < 10; ++i) shallow = ComponentBytes({Section(kComponentSection, shallow)});
  EXPECT_TRUE(Decode(shallow).ok());

  // Instance types nested in component types, 40 deep.
  Bytes type = Bytes{0x42, 0x00};
  for (int i = 0; i < 40; ++i) type = Bytes{0x41, 0x01, 0x01}.Append(type);
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {type})})),
               StatusCode::kResourceExhausted, "scopes nest deeper than 32");

  // An instance exporting an instance exporting ... 300 deep.
  Bytes chain;
  chain.U32(300).Raw({0x01, 0x00});
  for (uint32_t i = 1; i < 300; ++i) chain.Raw({0x01, 0x01}).ExternName("x").Byte(0x05).U32(i - 1);
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kInstance, chain)})),
               StatusCode::kResourceExhausted, "instance type nests deeper than 200 levels");

  // list<list<...<u32>>> 150 deep, one definition per level.
  Bytes deep;
  deep.U32(151).Byte(0x79);
  for (uint32_t i = 0; i < 150; ++i) deep.Byte(0x70).S33(i);
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, deep)})), StatusCode::kResourceExhausted,
               "type nests deeper than 100 levels");

  // Type index 64 written as the one byte 0x40 reads as a negative s33, not an index.
  Bytes sixty_four;
  sixty_four.U32(66).Byte(0x79);
  for (uint32_t i = 0; i < 64; ++i) sixty_four.Byte(0x6b).S33(i);
  sixty_four.Raw({0x70, 0x40});
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, sixty_four)})), StatusCode::kParseError,
               "invalid value type 0x40");

  // tuple<t, t> doubling: 2^20 nodes from 21 small definitions.
  Bytes wide;
  wide.U32(21).Byte(0x79);
  for (uint32_t i = 0; i < 20; ++i) wide.Raw({0x6f, 0x02}).U32(i).U32(i);
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kType, wide)})), StatusCode::kResourceExhausted,
               "type has more than 100000 nodes");

  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x6e}.U32(33).Append([] {
                                                         Bytes labels;
                                                         for (char c = 'a'; c < 'a' + 26; ++c)
                                                           labels.Name(std::string(1, c));
                                                         for (char c = 'a'; c < 'a' + 7; ++c)
                                                           labels.Name(std::string(2, c));
                                                         return labels;
                                                       }())})})),
               StatusCode::kValidationError, "flags type has 33 labels (at most 32)");
}

TEST(ComponentDecoderTest, ManyNamesOfALargeTypeShareOneNamedCopy) {
  Bytes record = Bytes{0x72}.U32(1000);
  for (int i = 0; i < 1000; ++i) record.Name("f" + std::to_string(i)).Byte(0x79);
  Bytes exports;
  exports.U32(5000);
  for (int i = 0; i < 5000; ++i) {
    // Each export names the previous one's index, or the record itself.
    exports.ExternName("e" + std::to_string(i)).Byte(0x03).U32(i).Byte(0x00);
  }
  auto decoded = Decode(ComponentBytes({VecSection(kType, {record}), Section(kExport, exports)}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;
  EXPECT_EQ(c.TypeAt(1)->name, "e0");
  EXPECT_EQ(c.TypeAt(5000), c.TypeAt(1));
  EXPECT_EQ(c.TypeAt(0)->name, "");
}

TEST(ComponentDecoderTest, CanonOptionsAreValidated) {
  auto lift = [](Bytes type, Bytes options) {
    Bytes canon = Bytes{0x00, 0x00, 0x00};
    canon.Append(options).Byte(0x00);
    return DecodeStatus(
        WithPrefix(LibraryPrefix(), {VecSection(kType, {type}), VecSection(kCanon, {canon})}));
  };
  const Bytes string_param = Bytes{0x40, 0x01}.Name("s").Raw({0x73, 0x01, 0x00});
  EXPECT_ERROR(lift(string_param, Bytes{0x00}), StatusCode::kValidationError,
               "canon lift: option `memory` is required");
  EXPECT_ERROR(lift(string_param, Bytes{0x01, 0x03, 0x00}), StatusCode::kValidationError,
               "canon lift: option `realloc` is required");
  EXPECT_TRUE(lift(string_param, Bytes{0x03, 0x03, 0x00, 0x04, 0x01, 0x00}).ok());
  EXPECT_ERROR(
      lift(string_param, Bytes{0x02, 0x03, 0x00, 0x04, 0x00}), StatusCode::kValidationError,
      "canon option `realloc`: core func 0 does not have type (i32, i32, i32, i32) -> i32");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x02, 0x03, 0x00, 0x03, 0x00}),
               StatusCode::kValidationError, "canon option `memory` given more than once");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x02, 0x00, 0x01}), StatusCode::kValidationError,
               "string-encoding given more than once");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x01, 0x03, 0x04}), StatusCode::kValidationError,
               "core memory index 4 out of range (1 defined)");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x01, 0x06}), StatusCode::kValidationError,
               "canon option `async` (component-model async) is not supported");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x01, 0x07, 0x00}), StatusCode::kValidationError,
               "canon option `callback`");
  EXPECT_ERROR(lift(U32ToU32Type(), Bytes{0x01, 0x09}), StatusCode::kParseError,
               "invalid canon option 0x9");
  auto ok = Decode(
      WithPrefix(LibraryPrefix(),
                 {VecSection(kType, {U32ToU32Type()}),
                  VecSection(kCanon, {Bytes{0x00, 0x00, 0x00, 0x02, 0x01, 0x05, 0x02, 0x00}})}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->canons[0].options.string_encoding, StringEncoding::kUtf16);
  EXPECT_EQ((*ok)->canons[0].options.post_return, 2u);
  EXPECT_EQ((*ok)->Describe(Sort::kFunc, 0),
            "func 0: canon lift of core func 0 as type 0 (string-encoding utf16, post-return core "
            "func 2)");
  // post-return belongs to lift only.
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x40, 0x00, 0x01, 0x00}}),
                    VecSection(kImport, {Bytes().ExternName("g").Raw({0x01, 0x00})}),
                    VecSection(kCanon, {Bytes{0x01, 0x00, 0x00, 0x01, 0x05, 0x00}})})),
               StatusCode::kValidationError, "`post-return` is only allowed on lift");
}

TEST(ComponentDecoderTest, UnsupportedFeaturesAreRejectedByName) {
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kCanon, {Bytes{0x09, 0x00, 0x79, 0x00}})})),
               StatusCode::kValidationError,
               "canon opcode 0x9 is a component-model async, stream, future, error-context or "
               "thread builtin");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kCanon, {Bytes{0x7a}})})),
               StatusCode::kParseError, "invalid canon opcode 0x7a");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kValue, {Bytes{0x79, 0x01, 0x00}})})),
               StatusCode::kValidationError, "value definitions are not supported");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x43, 0x00, 0x01, 0x00}})})),
               StatusCode::kValidationError, "async function types are not supported");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kType, {Bytes{0x66, 0x00}})})),
               StatusCode::kValidationError, "stream types (component-model async)");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kImport, {Bytes().ExternName("v").Raw({0x02, 0x01, 0x79})})})),
               StatusCode::kValidationError, "values are not supported");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kType, {Bytes{0x40, 0x00, 0x01, 0x01}.Name("r").Byte(0x79)})})),
               StatusCode::kValidationError, "named function results are not supported");
}

TEST(ComponentDecoderTest, CoreInstantiationIsLinkedByName) {
  CoreModuleSpec importer;
  importer.types = {{{kI32}, {kI32}}};
  importer.imports = {{"lib", "f", 0}};
  importer.exports = {{"g", 0, 0}};
  auto with = [&](std::initializer_list<Bytes> instances) {
    Bytes out = WithPrefix(LibraryPrefix(), {Section(kCoreModule, CoreModuleBytes(importer))});
    for (const Bytes& i : instances) out.Append(i);
    return out;
  };
  auto linked = Decode(
      with({VecSection(kCoreInstance, {Bytes{0x00, 0x01, 0x01}.Name("lib").Raw({0x12, 0x00})})}));
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ((*linked)->Describe(Sort::kCoreInstance, 1),
            "core instance 1: instantiation of core module 1 with \"lib\": core instance 0");
  EXPECT_EQ((*linked)->CoreModuleAt(1)->imports[0].module, "lib");

  EXPECT_ERROR(DecodeStatus(with({VecSection(kCoreInstance, {Bytes{0x00, 0x01, 0x00}})})),
               StatusCode::kValidationError,
               "core module 1 imports `lib` `f` but no instantiation argument is named `lib`");
  // An instance of inline exports that lacks "f", or offers a memory under that name, or a
  // function of another signature.
  EXPECT_ERROR(DecodeStatus(with({VecSection(
                   kCoreInstance,
                   {Bytes{0x01, 0x00}, Bytes{0x00, 0x01, 0x01}.Name("lib").Raw({0x12, 0x01})})})),
               StatusCode::kValidationError, "core instance 1 has no export of that name");
  EXPECT_ERROR(DecodeStatus(with({VecSection(
                   kCoreInstance, {Bytes{0x01, 0x01}.Name("f").Raw({0x02, 0x00}),
                                   Bytes{0x00, 0x01, 0x01}.Name("lib").Raw({0x12, 0x01})})})),
               StatusCode::kValidationError, "exports a memory, not a function");
  EXPECT_ERROR(DecodeStatus(with({VecSection(
                   kCoreInstance, {Bytes{0x01, 0x01}.Name("f").Raw({0x00, 0x02}),
                                   Bytes{0x00, 0x01, 0x01}.Name("lib").Raw({0x12, 0x01})})})),
               StatusCode::kValidationError, "exports a function of another signature");
  EXPECT_ERROR(DecodeStatus(with({VecSection(
                   kCoreInstance,
                   {Bytes{0x01, 0x02}.Name("f").Raw({0x00, 0x00}).Name("f").Raw({0x00, 0x00})})})),
               StatusCode::kValidationError, "duplicate core export `f`");
  // Aliases of core exports check the name and the kind.
  EXPECT_ERROR(DecodeStatus(with({VecSection(kAlias, {Bytes{0x00, 0x02, 0x01, 0x00}.Name("f")})})),
               StatusCode::kValidationError,
               "export `f` of core instance 0 is a function, not a memory");
  EXPECT_ERROR(DecodeStatus(with({VecSection(kAlias, {Bytes{0x00, 0x00, 0x01, 0x00}.Name("g")})})),
               StatusCode::kValidationError, "core instance 0 has no export named `g`");
}

TEST(ComponentDecoderTest, CoreModuleTypesAndImportedModules) {
  // (core type (module (type (func (param i32))) (import "a" "b" (func (type 0)))
  //                    (alias outer 1 0 (type)) (export "e" (func (type 1)))))
  Bytes module_type = Bytes{0x50, 0x04};
  module_type.Raw({0x01, 0x60, 0x01, 0x7f, 0x00});
  module_type.Byte(0x00).Name("a").Name("b").Raw({0x00, 0x00});
  module_type.Raw({0x02, 0x10, 0x01, 0x01, 0x00});
  module_type.Byte(0x03).Name("e").Raw({0x00, 0x01});
  auto decoded = Decode(ComponentBytes({
      VecSection(kCoreType, {Bytes{0x60, 0x00, 0x01, 0x7e}, module_type}),
      VecSection(kImport, {Bytes().ExternName("m").Raw({0x00, 0x11, 0x01})}),
  }));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Component& c = **decoded;
  EXPECT_EQ(c.Describe(Sort::kCoreModule, 0), "core module 0: import \"m\"");
  const auto& shape = c.CoreModuleAt(0);
  ASSERT_EQ(shape->imports.size(), 1u);
  EXPECT_EQ(shape->imports[0].type.func->params, std::vector{CoreValType::kI32});
  ASSERT_EQ(shape->exports.size(), 1u);
  EXPECT_EQ(shape->exports[0].type.func->results, std::vector{CoreValType::kI64});

  Bytes nested_module = Bytes{0x50, 0x01, 0x01, 0x50, 0x00};
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kCoreType, {nested_module})})),
               StatusCode::kValidationError, "module types cannot contain module types");
  EXPECT_ERROR(DecodeStatus(ComponentBytes(
                   {VecSection(kCoreType, {Bytes{0x60, 0x00, 0x00}}),
                    VecSection(kImport, {Bytes().ExternName("m").Raw({0x00, 0x11, 0x00})})})),
               StatusCode::kValidationError, "core type 0 is not a module type");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({VecSection(kCoreType, {Bytes{0x5f, 0x00}})})),
               StatusCode::kParseError, "GC types are not supported");
}

TEST(ComponentDecoderTest, EmbeddedCoreModulesAreChecked) {
  Bytes bad_export = Bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  bad_export.Append(VecSection(7, {Bytes().Name("f").Raw({0x00, 0x05})}));
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kCoreModule, bad_export)})),
               StatusCode::kValidationError,
               "export `f`: function index 5 out of range (0 defined)");
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kCoreModule, Bytes{0x00, 0x61, 0x73, 0x6d})})),
               StatusCode::kParseError, "not a core module");
  Bytes truncated = Bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x09, 0x01};
  EXPECT_ERROR(DecodeStatus(ComponentBytes({Section(kCoreModule, truncated)})),
               StatusCode::kParseError, "core section 1 of 9 bytes overruns");
}

TEST(ComponentDecoderTest, CustomSectionsAreKeptByName) {
  auto decoded =
      Decode(ComponentBytes({Section(kCustom, Bytes().Name("producers").Raw({1, 2, 3}))}));
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ((*decoded)->custom_sections.size(), 1u);
  EXPECT_EQ((*decoded)->custom_sections[0].name, "producers");
  EXPECT_EQ((*decoded)->custom_sections[0].size, 3u);
  EXPECT_EQ((*decoded)->bytes()[(*decoded)->custom_sections[0].offset], 1);
}

TEST(ComponentDecoderTest, StartFunctionMustTakeAndReturnNothing) {
  const Bytes prefix =
      Bytes()
          .Append(VecSection(kType, {Bytes{0x40, 0x00, 0x01, 0x00}, U32ToU32Type()}))
          .Append(VecSection(kImport, {Bytes().ExternName("run").Raw({0x01, 0x00}),
                                       Bytes().ExternName("id").Raw({0x01, 0x01})}));
  auto ok = Decode(WithPrefix(prefix, {Section(kStart, Bytes{0x00, 0x00, 0x00})}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_TRUE((*ok)->start.has_value());
  EXPECT_EQ((*ok)->start->func, 0u);
  EXPECT_ERROR(DecodeStatus(WithPrefix(prefix, {Section(kStart, Bytes{0x01, 0x00, 0x00})})),
               StatusCode::kValidationError, "must take no parameters and return nothing");
  EXPECT_ERROR(DecodeStatus(WithPrefix(prefix, {Section(kStart, Bytes{0x00, 0x00, 0x01})})),
               StatusCode::kValidationError, "start results (values) are not supported");
  EXPECT_ERROR(DecodeStatus(WithPrefix(prefix, {Section(kStart, Bytes{0x00, 0x00, 0x00}),
                                                Section(kStart, Bytes{0x00, 0x00, 0x00})})),
               StatusCode::kValidationError, "more than one start section");
}

TEST(ComponentDecoderTest, ExportAscriptionMustMatchTheSort) {
  const Bytes prefix =
      Bytes()
          .Append(VecSection(kType, {U32ToU32Type()}))
          .Append(VecSection(kImport, {Bytes().ExternName("f").Raw({0x01, 0x00})}));
  auto ok = Decode(WithPrefix(
      prefix,
      {VecSection(kExport, {Bytes().ExternName("g").Raw({0x01, 0x00, 0x01, 0x01, 0x00})})}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->exports[0].desc.type, (*ok)->TypeAt(0));
  EXPECT_ERROR(
      DecodeStatus(WithPrefix(
          prefix,
          {VecSection(kExport, {Bytes().ExternName("g").Raw({0x01, 0x00, 0x01, 0x03, 0x01})})})),
      StatusCode::kValidationError, "export `g` of a func is declared as a type");
  EXPECT_ERROR(DecodeStatus(WithPrefix(
                   LibraryPrefix(),
                   {VecSection(kExport, {Bytes().ExternName("f").Raw({0x00, 0x00, 0x00, 0x00})})})),
               StatusCode::kValidationError, "a core func cannot be exported from a component");
}

// Core modules and core module types read their imports the same way: a second import of the
// same two names is refused.
TEST(CoreImportTest, ASecondImportOfTheSameNamesIsRefused) {
  const std::vector<uint8_t> bytes = {0x01, 'm', 0x01, 'f', 0x00, 0x00,   // m.f: func type 0
                                      0x01, 'm', 0x01, 'g', 0x00, 0x00,   // m.g
                                      0x01, 'm', 0x01, 'f', 0x00, 0x00};  // m.f again
  const std::vector<std::shared_ptr<const CoreFuncType>> types = {
      std::make_shared<const CoreFuncType>()};
  Reader reader(bytes, 0, "module");
  std::set<std::pair<std::string, std::string>> seen;
  Result<CoreImport> first = ReadUniqueCoreImport(reader, types, seen);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->module, "m");
  EXPECT_EQ(first->name, "f");
  EXPECT_EQ(first->type.kind, CoreExternKind::kFunc);
  ASSERT_TRUE(ReadUniqueCoreImport(reader, types, seen).ok());
  Result<CoreImport> again = ReadUniqueCoreImport(reader, types, seen);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kValidationError);
  const std::string message(again.status().message());
  EXPECT_NE(message.find("duplicate import `m` `f`"), std::string::npos) << message;
  EXPECT_NE(message.find("0xc"), std::string::npos) << message;  // where the third import starts
}

}  // namespace
}  // namespace theater::component
