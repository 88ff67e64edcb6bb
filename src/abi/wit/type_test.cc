// Theater: a WebAssembly actor runtime.
#include "theater/abi/type.h"

#include <gtest/gtest.h>

namespace theater::abi {
namespace {

TEST(TypeTest, PrimitivesSpellTheirWitNames) {
  const std::pair<TypeKind, const char*> kCases[] = {
      {TypeKind::kBool, "bool"},     {TypeKind::kS8, "s8"},   {TypeKind::kU8, "u8"},
      {TypeKind::kS16, "s16"},       {TypeKind::kU16, "u16"}, {TypeKind::kS32, "s32"},
      {TypeKind::kU32, "u32"},       {TypeKind::kS64, "s64"}, {TypeKind::kU64, "u64"},
      {TypeKind::kF32, "f32"},       {TypeKind::kF64, "f64"}, {TypeKind::kChar, "char"},
      {TypeKind::kString, "string"},
  };
  for (const auto& [kind, name] : kCases) {
    TypePtr type = Type::Primitive(kind);
    EXPECT_EQ(type->kind, kind);
    EXPECT_TRUE(type->is_primitive());
    EXPECT_EQ(type->ToWit(), name);
  }
  EXPECT_FALSE(Type::List(Type::Primitive(TypeKind::kU8))->is_primitive());
}

TEST(TypeTest, ConstructorsFillTheirShape) {
  TypePtr u8 = Type::Primitive(TypeKind::kU8);
  TypePtr list = Type::List(u8);
  EXPECT_EQ(list->kind, TypeKind::kList);
  EXPECT_EQ(list->element, u8);

  TypePtr result = Type::Result(nullptr, Type::Primitive(TypeKind::kString));
  EXPECT_EQ(result->kind, TypeKind::kResult);
  EXPECT_EQ(result->ok, nullptr);
  EXPECT_EQ(result->err->kind, TypeKind::kString);

  TypePtr record = Type::Record("point", {{"x", u8}, {"y", u8}});
  EXPECT_EQ(record->name, "point");
  ASSERT_EQ(record->fields.size(), 2u);
  EXPECT_EQ(record->fields[1].name, "y");

  TypePtr variant = Type::Variant("v", {{"a", nullptr}, {"b", u8}});
  EXPECT_EQ(variant->cases[0].type, nullptr);
  EXPECT_EQ(variant->cases[1].type, u8);

  EXPECT_EQ(Type::Enum("e", {"x", "y"})->labels.size(), 2u);
  EXPECT_EQ(Type::Flags("f", {"r"})->kind, TypeKind::kFlags);
  EXPECT_EQ(Type::Own("blob")->resource_name, "blob");
  EXPECT_EQ(Type::Borrow("blob")->kind, TypeKind::kBorrow);
}

TEST(TypeTest, NamedCopiesWithoutTouchingTheOriginal) {
  TypePtr list = Type::List(Type::Primitive(TypeKind::kU8));
  TypePtr bytes = Type::Named("bytes", list);
  EXPECT_EQ(bytes->name, "bytes");
  EXPECT_EQ(bytes->ToWit(), "bytes");
  EXPECT_EQ(list->name, "");
  EXPECT_EQ(list->ToWit(), "list<u8>");
  EXPECT_EQ(bytes->element, list->element);
}

TEST(TypeTest, ToWitSpellsCompositeTypes) {
  TypePtr u32 = Type::Primitive(TypeKind::kU32);
  TypePtr str = Type::Primitive(TypeKind::kString);
  EXPECT_EQ(Type::Option(Type::List(u32))->ToWit(), "option<list<u32>>");
  EXPECT_EQ(Type::Result(nullptr, nullptr)->ToWit(), "result");
  EXPECT_EQ(Type::Result(u32, nullptr)->ToWit(), "result<u32>");
  EXPECT_EQ(Type::Result(nullptr, str)->ToWit(), "result<_, string>");
  EXPECT_EQ(Type::Result(u32, str)->ToWit(), "result<u32, string>");
  EXPECT_EQ(Type::Tuple({u32, str})->ToWit(), "tuple<u32, string>");
  EXPECT_EQ(Type::Own("r")->ToWit(), "own<r>");
  EXPECT_EQ(Type::Borrow("r")->ToWit(), "borrow<r>");
  // Named shapes print their name wherever they are nested.
  EXPECT_EQ(Type::List(Type::Record("point", {{"x", u32}}))->ToWit(), "list<point>");
  // Anonymous named-only shapes have no WIT spelling; they print their declaration.
  EXPECT_EQ(Type::Record("", {{"x", u32}, {"y", str}})->ToWit(), "record { x: u32, y: string }");
  EXPECT_EQ(Type::Variant("", {{"a", nullptr}, {"b", u32}})->ToWit(), "variant { a, b(u32) }");
  EXPECT_EQ(Type::Enum("", {"a", "b"})->ToWit(), "enum { a, b }");
  EXPECT_EQ(Type::Flags("", {"r"})->ToWit(), "flags { r }");
}

TEST(TypeTest, StructurallyEqualIgnoresTypeNames) {
  TypePtr u8 = Type::Primitive(TypeKind::kU8);
  EXPECT_TRUE(StructurallyEqual(*Type::Named("bytes", Type::List(u8)), *Type::List(u8)));
  EXPECT_TRUE(StructurallyEqual(*Type::Record("a", {{"x", u8}}), *Type::Record("b", {{"x", u8}})));
  EXPECT_TRUE(StructurallyEqual(*Type::Result(nullptr, u8), *Type::Result(nullptr, u8)));
}

TEST(TypeTest, StructurallyEqualComparesEverythingElse) {
  TypePtr u8 = Type::Primitive(TypeKind::kU8);
  TypePtr u16 = Type::Primitive(TypeKind::kU16);
  EXPECT_FALSE(StructurallyEqual(*u8, *u16));
  EXPECT_FALSE(StructurallyEqual(*Type::List(u8), *Type::Option(u8)));
  EXPECT_FALSE(StructurallyEqual(*Type::List(u8), *Type::List(u16)));
  EXPECT_FALSE(StructurallyEqual(*Type::Result(u8, nullptr), *Type::Result(nullptr, u8)));
  EXPECT_FALSE(StructurallyEqual(*Type::Tuple({u8}), *Type::Tuple({u8, u8})));
  EXPECT_FALSE(StructurallyEqual(*Type::Record("r", {{"x", u8}}), *Type::Record("r", {{"y", u8}})));
  EXPECT_FALSE(
      StructurallyEqual(*Type::Record("r", {{"x", u8}}), *Type::Record("r", {{"x", u16}})));
  EXPECT_FALSE(
      StructurallyEqual(*Type::Variant("v", {{"a", nullptr}}), *Type::Variant("v", {{"a", u8}})));
  EXPECT_FALSE(StructurallyEqual(*Type::Enum("e", {"a", "b"}), *Type::Enum("e", {"b", "a"})));
  EXPECT_FALSE(StructurallyEqual(*Type::Enum("e", {"a"}), *Type::Flags("e", {"a"})));
  // A handle's resource is part of its identity.
  EXPECT_FALSE(StructurallyEqual(*Type::Own("a"), *Type::Own("b")));
  EXPECT_FALSE(StructurallyEqual(*Type::Own("a"), *Type::Borrow("a")));
  EXPECT_TRUE(StructurallyEqual(*Type::Own("a"), *Type::Own("a")));
}

TEST(TypeTest, ResultTypesListsTheSingleOrNamedResults) {
  FunctionType none;
  EXPECT_TRUE(none.ResultTypes().empty());

  FunctionType single;
  single.result = Type::Primitive(TypeKind::kU32);
  ASSERT_EQ(single.ResultTypes().size(), 1u);
  EXPECT_EQ(single.ResultTypes()[0], single.result);

  FunctionType named;
  named.named_results = {{"a", Type::Primitive(TypeKind::kU8)},
                         {"b", Type::Primitive(TypeKind::kString)}};
  std::vector<TypePtr> results = named.ResultTypes();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]->kind, TypeKind::kU8);
  EXPECT_EQ(results[1]->kind, TypeKind::kString);
}

}  // namespace
}  // namespace theater::abi
