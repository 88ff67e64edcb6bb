// Theater: a WebAssembly actor runtime.
//
// Resource handles across the component boundary: the component tests/actors/components/resources
// (C against generated bindings, made into a component by the standard tools) run through the
// linker and ValueHost, with a host-implemented resource (blob) and a component-implemented one
// (counter). Also the ResourceTable's rules on their own. The component tests run twice: on an
// instance the linker made by walking the component, and on one it made by replaying the link
// plan an earlier instantiation left in a LinkCache (what every spawn after the first does).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "component/linker.h"
#include "component/value_host.h"
#include "engine/engine_test_util.h"

namespace theater::component {
namespace {

using abi::Value;

constexpr std::string_view kTypes = "test:resources/types";
constexpr std::string_view kApi = "test:resources/api";

// ----- The table on its own

ResourceType MakeType(std::string name, bool host) {
  ResourceType type;
  type.interface_name = "i";
  type.name = std::move(name);
  type.host = host;
  return type;
}

TEST(ResourceTableTest, ReusesTheLastFreedIndexAndChecksTypes) {
  ResourceType blob = MakeType("blob", false);
  ResourceType counter = MakeType("counter", false);
  ResourceTable table;
  EXPECT_EQ(*table.Insert(blob, 10, true), 1u);  // index 0 is never a handle
  EXPECT_EQ(*table.Insert(blob, 11, true), 2u);
  EXPECT_EQ(*table.Insert(counter, 12, true), 3u);
  ASSERT_TRUE(table.Remove(1, blob).ok());
  ASSERT_TRUE(table.Remove(2, blob).ok());
  EXPECT_EQ(*table.Insert(counter, 13, false), 2u);  // last freed first
  EXPECT_EQ(*table.Insert(counter, 14, false), 1u);
  EXPECT_EQ(table.size(), 3u);

  Result<ResourceTable::Entry> wrong = table.Get(3, blob);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kGuestError);
  EXPECT_NE(wrong.status().message().find("is a i.counter, not a i.blob"), std::string::npos)
      << wrong.status().ToString();
  EXPECT_FALSE(table.Get(0, counter).ok());
  EXPECT_FALSE(table.Get(99, counter).ok());
  EXPECT_FALSE(table.Remove(4, counter).ok());
  EXPECT_EQ(table.Get(3, counter)->rep, 12u);
}

TEST(ResourceTableTest, CountsAndClearsBorrowsLentForACall) {
  ResourceType blob = MakeType("blob", true);
  ResourceTable table;
  uint32_t lent = *table.Insert(blob, 5, false, /*lent_for_call=*/true);
  ASSERT_TRUE(table.Insert(blob, 6, false, true).ok());
  EXPECT_EQ(table.call_borrows(), 2u);
  ASSERT_TRUE(table.Remove(lent, blob).ok());
  EXPECT_EQ(table.call_borrows(), 1u);
  table.RemoveCallBorrows();
  EXPECT_EQ(table.call_borrows(), 0u);
  EXPECT_EQ(table.size(), 0u);
}

// ----- The component

// A test component (tests/actors/<name>.component.wasm) decoded, with its core modules compiled.
struct LoadedComponent {
  std::unique_ptr<const Component> component;
  CoreModuleLoader loader;
};

Result<LoadedComponent> LoadTestComponent(const std::string& name) {
  THEATER_ASSIGN_OR_RETURN(
      std::vector<uint8_t> bytes,
      ReadFileBytes(std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".component.wasm",
                    "component"));
  LoadedComponent loaded;
  THEATER_ASSIGN_OR_RETURN(loaded.component, DecodeComponent(bytes));
  THEATER_ASSIGN_OR_RETURN(
      loaded.loader, PrepareCoreModules(*loaded.component, engine::testing::SharedEngine(), name));
  return loaded;
}

// The host's blobs: representation -> value, and what the guest did with them.
struct BlobHost {
  std::map<uint32_t, uint32_t> blobs;
  uint32_t next_rep = 100;
  std::vector<std::string> calls;
  std::vector<uint32_t> dropped;

  void Install(ValueHost& host) {
    host.Define(std::string(kTypes), "[constructor]blob",
                [this](const LoweredImport&, std::vector<Value>& params) {
                  uint32_t rep = next_rep++;
                  blobs[rep] = static_cast<uint32_t>(params[0].as_u64());
                  calls.push_back("new " + std::to_string(rep));
                  return Result<std::vector<Value>>(std::vector<Value>{Value::Own(rep)});
                });
    host.Define(
        std::string(kTypes), "[method]blob.get",
        [this](const LoweredImport&, std::vector<Value>& params) -> Result<std::vector<Value>> {
          uint32_t rep = params[0].handle();
          calls.push_back("get " + std::to_string(rep));
          auto it = blobs.find(rep);
          if (it == blobs.end()) return NotFound("no blob " + std::to_string(rep));
          return std::vector<Value>{Value::U32(it->second)};
        });
    host.OnDrop([this](const ResourceType& type, uint32_t rep) {
      EXPECT_EQ(type.name, "blob");
      dropped.push_back(rep);
      blobs.erase(rep);
    });
  }
};

// The parameter: whether the instance under test is replayed from a link plan.
class ResourcesTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    Result<LoadedComponent> loaded = LoadTestComponent("resources");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    component_ = std::move(loaded->component);
    const CoreModuleLoader* loader = &loaded->loader;
    blobs_.Install(host_);
    if (GetParam()) {
      Result<std::unique_ptr<ComponentInstance>> first =
          Instantiate(*component_, *loader, host_, engine::InstanceOptions{}, &link_cache_);
      ASSERT_TRUE(first.ok()) << first.status().ToString();
    }
    Result<std::unique_ptr<ComponentInstance>> instance =
        Instantiate(*component_, *loader, host_, engine::InstanceOptions{},
                    GetParam() ? &link_cache_ : nullptr);
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    instance_ = std::move(instance).value();
    counter_ = instance_->FindResource(kApi, "counter");
    blob_ = instance_->FindResource(kTypes, "blob");
    ASSERT_NE(counter_, nullptr);
    ASSERT_NE(blob_, nullptr);
  }

  Result<std::vector<Value>> Call(std::string_view function, std::vector<Value> args) {
    const LiftedExport* e = instance_->FindExport(kApi, function);
    if (e == nullptr) return NotFound(std::string(function));
    return CallExport(*instance_, *e, std::move(args));
  }

  uint32_t CallU32(std::string_view function, std::vector<Value> args) {
    Result<std::vector<Value>> r = Call(function, std::move(args));
    EXPECT_TRUE(r.ok()) << function << ": " << r.status().ToString();
    return r.ok() && r->size() == 1 ? static_cast<uint32_t>((*r)[0].as_u64()) : ~0u;
  }

  uint32_t NewCounter(uint32_t start) {
    Result<std::vector<Value>> r = Call("[constructor]counter", {Value::U32(start)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].handle() : 0;
  }

  std::unique_ptr<const Component> component_;
  LinkCache link_cache_;
  ValueHost host_;
  BlobHost blobs_;
  std::unique_ptr<ComponentInstance> instance_;
  const ResourceType* counter_ = nullptr;
  const ResourceType* blob_ = nullptr;
};

TEST_P(ResourcesTest, TypesAreNamedByTheInterfacesThatDeclareThem) {
  EXPECT_FALSE(counter_->host);
  EXPECT_TRUE(blob_->host);
  EXPECT_EQ(counter_->QualifiedName(), "test:resources/api.counter");
  EXPECT_EQ(blob_->QualifiedName(), "test:resources/types.blob");
  EXPECT_NE(counter_->dtor_instance, nullptr);
}

TEST_P(ResourcesTest, ACounterTheHostOwnsIsPassedBackByRepresentationAndDestroyedOnDrop) {
  uint32_t a = NewCounter(5);
  uint32_t b = NewCounter(7);
  EXPECT_NE(a, b);
  // The handles the constructors made left the component's table with the results.
  EXPECT_EQ(instance_->resource_table().size(), 0u);
  EXPECT_EQ(CallU32("live", {}), 2u);
  EXPECT_EQ(CallU32("[method]counter.get", {Value::Borrow(a)}), 5u);
  ASSERT_TRUE(Call("[method]counter.add", {Value::Borrow(a), Value::Borrow(b)}).ok());
  EXPECT_EQ(CallU32("[method]counter.get", {Value::Borrow(a)}), 12u);
  // Given back owned: the component drops it, which runs its destructor.
  EXPECT_EQ(CallU32("take", {Value::Own(b)}), 7u);
  EXPECT_EQ(CallU32("live", {}), 1u);
  // The host drops the other one itself.
  ASSERT_TRUE(DropResource(*counter_, a).ok());
  EXPECT_EQ(CallU32("live", {}), 0u);
  EXPECT_EQ(instance_->resource_table().size(), 0u);
}

TEST_P(ResourcesTest, HostBlobsAreLentAndGivenAndDroppedBackToTheHost) {
  blobs_.blobs[40] = 40;
  blobs_.blobs[41] = 1;
  // make: lent blob 40, constructs blob 100 through the host, reads both, drops 100.
  Result<std::vector<Value>> made = Call("make", {Value::Borrow(40), Value::U32(2)});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(blobs_.calls, (std::vector<std::string>{"new 100", "get 40", "get 100"}));
  EXPECT_EQ(blobs_.dropped, std::vector<uint32_t>{100});
  uint32_t counter = (*made)[0].handle();
  EXPECT_EQ(CallU32("[method]counter.get", {Value::Borrow(counter)}), 42u);
  // The borrow of 40 was dropped by the bindings before make returned.
  EXPECT_EQ(instance_->resource_table().size(), 0u);

  // Borrows inside a list.
  EXPECT_EQ(CallU32("sum", {Value::List({Value::Borrow(40), Value::Borrow(41)})}), 41u);
  EXPECT_EQ(instance_->resource_table().size(), 0u);

  // Given: the component keeps an owned handle until release drops it.
  ASSERT_TRUE(Call("keep", {Value::Own(41)}).ok());
  EXPECT_EQ(instance_->resource_table().size(), 1u);
  EXPECT_EQ(CallU32("release", {}), 1u);
  EXPECT_EQ(blobs_.dropped, (std::vector<uint32_t>{100, 41}));
  EXPECT_EQ(instance_->resource_table().size(), 0u);
  ASSERT_TRUE(DropResource(*counter_, counter).ok());
}

TEST_P(ResourcesTest, AForgedHandleTrapsTheGuestWithTheCause) {
  Result<std::vector<Value>> r = Call("forge", {Value::U32(12345)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("resource handle 12345 does not exist"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(instance_->poisoned());
  EXPECT_TRUE(blobs_.calls.empty());  // the host function never ran
}

TEST_P(ResourcesTest, AHandleUsedAsAnotherTypeTrapsTheGuest) {
  blobs_.blobs[7] = 7;
  Result<std::vector<Value>> r = Call("confuse", {Value::Own(7)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("is a test:resources/types.blob, not a "
                                       "test:resources/api.counter"),
            std::string::npos)
      << r.status().ToString();
}

TEST_P(ResourcesTest, AnArgumentOfTheWrongKindWhereAHandleGoesIsRefusedBeforeTheCall) {
  Result<std::vector<Value>> r = Call("take", {Value::U32(3)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_FALSE(instance_->poisoned());  // the guest never ran
  EXPECT_EQ(CallU32("live", {}), 0u);
}

INSTANTIATE_TEST_SUITE_P(Linking, ResourcesTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Replayed" : "Walked";
                         });

TEST(LinkPlanTest, AReplayRefusesAHostThatLacksAFunctionAsTheFirstInstantiationDoes) {
  Result<LoadedComponent> loaded = LoadTestComponent("resources");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Component& component = *loaded->component;
  const CoreModuleLoader& loader = loaded->loader;

  ValueHost empty;  // serves nothing: the blob constructor is missing
  Result<std::unique_ptr<ComponentInstance>> walked =
      Instantiate(component, loader, empty, engine::InstanceOptions{});
  ASSERT_FALSE(walked.ok());
  EXPECT_NE(walked.status().message().find("[constructor]blob"), std::string::npos)
      << walked.status().ToString();

  LinkCache cache;
  Result<std::unique_ptr<ComponentInstance>> failed =
      Instantiate(component, loader, empty, engine::InstanceOptions{}, &cache);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(cache.plan(), nullptr) << "a failed instantiation leaves no plan";

  ValueHost full;
  BlobHost blobs;
  blobs.Install(full);
  ASSERT_TRUE(Instantiate(component, loader, full, engine::InstanceOptions{}, &cache).ok());
  ASSERT_NE(cache.plan(), nullptr);
  Result<std::unique_ptr<ComponentInstance>> replayed =
      Instantiate(component, loader, empty, engine::InstanceOptions{}, &cache);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().ToString(), walked.status().ToString());
}

TEST(LinkPlanTest, AReplayLeavesOutTheGlueInstancesTheToolsAdd) {
  // The tools wrap the component's main module in a trampoline table and its filler
  // (trampolines.h): the walk makes all three core instances, a replay only the main one.
  Result<LoadedComponent> loaded = LoadTestComponent("resources");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ValueHost host;
  BlobHost blobs;
  blobs.Install(host);
  LinkCache cache;
  Result<std::unique_ptr<ComponentInstance>> walked =
      Instantiate(*loaded->component, loaded->loader, host, engine::InstanceOptions{}, &cache);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  Result<std::unique_ptr<ComponentInstance>> replayed =
      Instantiate(*loaded->component, loaded->loader, host, engine::InstanceOptions{}, &cache);
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_EQ((*walked)->core_instances().size(), 3u);
  EXPECT_EQ((*replayed)->core_instances().size(), 1u);

  // The host imports go through the slots the filler's step filled: `make` constructs a blob
  // through the host and reads it, on either instance alike.
  blobs.blobs[40] = 40;
  for (ComponentInstance* instance : {walked->get(), replayed->get()}) {
    blobs.calls.clear();
    const LiftedExport* make = instance->FindExport(kApi, "make");
    ASSERT_NE(make, nullptr);
    Result<std::vector<Value>> made =
        CallExport(*instance, *make, {Value::Borrow(40), Value::U32(2)});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    EXPECT_EQ(blobs.calls.size(), 3u);
  }
}

// ----- Components composed with each other

// The composition's calls: a number and strings go from one component instance to the other.
void ExpectTheCompositionCrossesInstances(ComponentInstance& instance) {
  const LiftedExport* run = instance.FindExport("", "run");
  ASSERT_NE(run, nullptr);
  Result<std::vector<Value>> doubled = CallExport(instance, *run, {Value::U32(20)});
  ASSERT_TRUE(doubled.ok()) << doubled.status().ToString();
  EXPECT_EQ((*doubled)[0], Value::U32(41));

  // The string is lifted out of the caller's memory, lowered into the callee's, and back.
  const LiftedExport* relay = instance.FindExport("", "relay");
  ASSERT_NE(relay, nullptr);
  for (std::string text :
       {std::string("h\xc3\xa9llo \xf0\x9f\x8c\x8d"), std::string(), std::string(5000, 'x')}) {
    Result<std::vector<Value>> echoed = CallExport(instance, *relay, {Value::String(text)});
    ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
    EXPECT_EQ((*echoed)[0], Value::String(text));
  }
}

TEST(ComposedComponentTest, ACallCrossesFromOneComponentInstanceToAnother) {
  Result<LoadedComponent> loaded = LoadTestComponent("composed");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ValueHost host;  // the composition imports nothing
  LinkCache cache;
  for (const char* how : {"walked", "replayed"}) {
    SCOPED_TRACE(how);
    Result<std::unique_ptr<ComponentInstance>> instance =
        Instantiate(*loaded->component, loaded->loader, host, engine::InstanceOptions{}, &cache);
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    ExpectTheCompositionCrossesInstances(**instance);
  }
}

}  // namespace
}  // namespace theater::component
