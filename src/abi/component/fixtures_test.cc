// Theater: a WebAssembly actor runtime.
//
// Components produced by the standard tools decode: small ones written as WAT in testdata/ (the
// build assembles them with tools/jco/parse.mjs), and tests/actors/messenger.c made into a
// component with the WASI preview-1 adapter by `wasm-tools component new` (the build does it with
// tools/jco/componentize.mjs).
#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "theater/abi/component.h"

namespace theater::component {
namespace {

std::unique_ptr<const Component> Load(const std::string& name) {
  auto bytes =
      ReadFileBytes(std::string(name) == "messenger.component.wasm"
                        ? std::string(THEATER_TEST_ACTOR_DIR) + "/" + name
                        : std::string(THEATER_COMPONENT_FIXTURES) + "/" + name);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  if (!bytes.ok()) return nullptr;
  auto decoded = DecodeComponent(*bytes);
  EXPECT_TRUE(decoded.ok()) << name << ": " << decoded.status().ToString();
  return decoded.ok() ? std::move(*decoded) : nullptr;
}

const Export* FindExport(const Component& c, const std::string& name) {
  for (const Export& e : c.exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

TEST(ComponentFixturesTest, Resources) {
  auto c = Load("resources.wasm");
  ASSERT_NE(c, nullptr);
  const Export* blob = FindExport(*c, "blob");
  ASSERT_NE(blob, nullptr);
  ASSERT_EQ(blob->desc.type->kind, TypeDefKind::kResource);
  EXPECT_EQ(blob->desc.type->resource_name, "blob");
  EXPECT_TRUE(blob->desc.type->resource_defined);
  EXPECT_EQ(blob->desc.type->resource_dtor, 0u);
  EXPECT_EQ(c->Describe(Sort::kCoreFunc, 1), "core func 1: canon resource.new of type 0");

  const Export* make = FindExport(*c, "[constructor]blob");
  ASSERT_NE(make, nullptr);
  auto make_type = ToAbiFunctionType(*make->desc.type);
  ASSERT_TRUE(make_type.ok()) << make_type.status().ToString();
  EXPECT_EQ(make_type->result->ToWit(), "own<blob>");

  const Export* greet = FindExport(*c, "greet");
  ASSERT_NE(greet, nullptr);
  const IndexEntry& lifted = c->space(Sort::kFunc)[greet->item.index];
  ASSERT_EQ(lifted.origin, Origin::kCanon);
  const CanonOptions& options = c->canons[lifted.item].options;
  EXPECT_EQ(options.memory, 0u);
  EXPECT_TRUE(options.realloc.has_value());
  EXPECT_TRUE(options.post_return.has_value());
  EXPECT_EQ(c->CoreFuncTypeAt(*options.realloc)->params.size(), 4u);
}

TEST(ComponentFixturesTest, ImportsLinkedThroughInlineCoreInstances) {
  auto c = Load("imports.wasm");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->imports.size(), 1u);
  EXPECT_EQ(c->imports[0].name, "test:demo/store@0.1.0");
  EXPECT_EQ(c->Describe(Sort::kFunc, 0),
            "func 0: alias of export \"[method]handle.get\" of instance 0");
  auto get = ToAbiFunctionType(*c->FuncTypeAt(0));
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  ASSERT_EQ(get->params.size(), 2u);
  EXPECT_EQ(get->params[0].type->ToWit(), "borrow<handle>");
  EXPECT_EQ(get->params[1].type->ToWit(), "string");
  EXPECT_EQ(get->result->ToWit(), "option<list<u8>>");
  EXPECT_EQ(c->Describe(Sort::kCoreInstance, 1),
            "core instance 1: core instance of 2 inline exports");
  EXPECT_EQ(c->Describe(Sort::kCoreInstance, 2),
            "core instance 2: instantiation of core module 1 with \"store\": core instance 1");
  EXPECT_EQ(c->Describe(Sort::kCoreFunc, 1),
            "core func 1: canon lower of func 0 (string-encoding utf8, memory 0, realloc core "
            "func 0)");
  auto run = FunctionTypeOf(*c, 2);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->params[0].name, "x");
}

TEST(ComponentFixturesTest, NestedComponents) {
  auto c = Load("nested.wasm");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->components.size(), 1u);
  EXPECT_EQ(c->components[0]->TypeAt(0), c->TypeAt(0));
  const Export* bundle = FindExport(*c, "bundle");
  ASSERT_NE(bundle, nullptr);
  ASSERT_EQ(bundle->desc.sort, Sort::kInstance);
  const ExternItem* point = bundle->desc.type->FindExport("point");
  ASSERT_NE(point, nullptr);
  auto type = ToAbiType(*point->type);
  ASSERT_TRUE(type.ok()) << type.status().ToString();
  EXPECT_EQ(type->get()->kind, abi::TypeKind::kRecord);
  EXPECT_EQ(type->get()->fields.size(), 2u);
}

TEST(ComponentFixturesTest, RealActorWithWasiAdapter) {
  auto c = Load("messenger.component.wasm");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->core_modules.size(), 5u);
  EXPECT_EQ(c->core_instances.size(), 19u);
  EXPECT_EQ(c->components.size(), 2u);
  EXPECT_NE(FindExport(*c, "theater:simple/actor"), nullptr);
  EXPECT_NE(FindExport(*c, "theater:simple/message-server-client"), nullptr);
  for (const auto& module : c->core_modules) {
    const auto bytes = c->ModuleBytes(module);
    ASSERT_GE(bytes.size(), 8u);
    EXPECT_EQ(bytes[4], 0x01);  // a core module, version 1
  }
  // Every function type of the component and of its imported interfaces converts.
  size_t converted = 0;
  for (uint32_t i = 0; i < c->space(Sort::kFunc).size(); ++i) {
    auto type = ToAbiFunctionType(*c->FuncTypeAt(i));
    EXPECT_TRUE(type.ok()) << c->Describe(Sort::kFunc, i) << ": " << type.status().ToString();
    ++converted;
  }
  EXPECT_GT(converted, 10u);
  const Import* streams = nullptr;
  for (const Import& import : c->imports) {
    if (import.name == "wasi:io/streams@0.2.3") streams = &import;
  }
  ASSERT_NE(streams, nullptr);
  const ExternItem* check_write =
      streams->desc.type->FindExport("[method]output-stream.check-write");
  ASSERT_NE(check_write, nullptr);
  auto type = ToAbiFunctionType(*check_write->type);
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->params[0].type->ToWit(), "borrow<output-stream>");
  EXPECT_EQ(type->result->ToWit(), "result<u64, stream-error>");
}

}  // namespace
}  // namespace theater::component
