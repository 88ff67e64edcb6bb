// Theater: a WebAssembly actor runtime.
//
// Linking instances to each other, as a component's core modules are: one instance uses another's
// memory, funcref table and mutable global as its own (HostBinding::external) and calls its
// functions through a host binding that forwards the call. The modules are hand-written
// (tests/actors/link_provider.wat and link_consumer.wat).
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"

namespace theater::engine {
namespace {

using testing::LoadActor;

// A function import bound to an export of another instance.
struct Forward {
  Instance* target = nullptr;
  uint32_t export_index = 0;
};

int ForwardCall(Instance& caller, void* data, const uint64_t* args, uint64_t* results) {
  auto* forward = static_cast<Forward*>(data);
  const ExportInfo& e = forward->target->module().exports()[forward->export_index];
  Status status = forward->target->Call(forward->export_index, {args, e.sig.params.size()},
                                        {results, e.sig.results.size()});
  return status.ok() ? 0 : caller.Fail(status);
}

// Resolves every import of module "provider" from one provider instance.
class ProviderResolver : public ImportResolver {
 public:
  explicit ProviderResolver(Instance& provider) : provider_(provider) {}

  Result<HostBinding> Resolve(const ImportInfo& import) override {
    if (import.module != "provider") return NotFound("no module " + import.module);
    const Module& module = provider_.module();
    if (import.kind == ExternKind::kFunction) {
      auto index = module.FindExport(import.name);
      if (!index) return NotFound("provider exports no function " + import.name);
      if (module.exports()[*index].sig != import.sig) return InvalidArgument("signature mismatch");
      forwards_.push_back(std::make_unique<Forward>(Forward{&provider_, *index}));
      return HostBinding{ForwardCall, forwards_.back().get()};
    }
    const auto& externs = module.extern_exports();
    for (uint32_t i = 0; i < externs.size(); ++i) {
      if (externs[i].name == import.name && externs[i].kind == import.kind) {
        HostBinding binding;
        binding.external = provider_.ExternExport(i);
        return binding;
      }
    }
    return NotFound("provider exports no " + import.name + " of that kind");
  }

 private:
  Instance& provider_;
  std::vector<std::unique_ptr<Forward>> forwards_;
};

class LinkTest : public ::testing::TestWithParam<MemoryMode> {
 protected:
  void SetUp() override {
    provider_module_ = LoadActor("link_provider", GetParam());
    consumer_module_ = LoadActor("link_consumer", GetParam());
    ASSERT_NE(provider_module_, nullptr);
    ASSERT_NE(consumer_module_, nullptr);
    testing::TableResolver none;
    auto provider = provider_module_->Instantiate(none, {});
    ASSERT_TRUE(provider.ok()) << provider.status().ToString();
    provider_ = std::move(provider).value();
    resolver_ = std::make_unique<ProviderResolver>(*provider_);
    auto consumer = consumer_module_->Instantiate(*resolver_, {});
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    consumer_ = std::move(consumer).value();
  }

  // Calls `name` on `instance` with i32 arguments and returns its i32 result (or the error).
  static Result<uint32_t> CallI32(Instance& instance, const std::string& name,
                                  std::vector<uint64_t> args) {
    auto index = instance.module().FindExport(name);
    if (!index) return NotFound(name);
    uint64_t result = 0;
    const bool has_result = !instance.module().exports()[*index].sig.results.empty();
    THEATER_RETURN_IF_ERROR(
        instance.Call(*index, args, {&result, has_result ? size_t{1} : size_t{0}}));
    return static_cast<uint32_t>(result);
  }

  std::shared_ptr<const Module> provider_module_;
  std::shared_ptr<const Module> consumer_module_;
  std::unique_ptr<Instance> provider_;
  std::unique_ptr<ProviderResolver> resolver_;
  std::unique_ptr<Instance> consumer_;  // destroyed first: it points into the provider
};

TEST_P(LinkTest, ModulesDescribeTheirExternImportsAndExports) {
  std::map<std::string, ExternKind> imports;
  for (const ImportInfo& i : consumer_module_->imports()) imports[i.name] = i.kind;
  EXPECT_EQ(imports, (std::map<std::string, ExternKind>{{"memory", ExternKind::kMemory},
                                                        {"table", ExternKind::kTable},
                                                        {"counter", ExternKind::kGlobal},
                                                        {"double", ExternKind::kFunction}}));
  std::map<std::string, ExternKind> externs;
  for (const ExternExportInfo& e : provider_module_->extern_exports()) {
    externs[e.name] = e.kind;
    if (e.kind == ExternKind::kGlobal) {
      EXPECT_EQ(e.global_type, 'i');
    }
  }
  EXPECT_EQ(externs, (std::map<std::string, ExternKind>{{"memory", ExternKind::kMemory},
                                                        {"table", ExternKind::kTable},
                                                        {"counter", ExternKind::kGlobal}}));
  EXPECT_TRUE(consumer_module_->extern_exports().empty());
}

TEST_P(LinkTest, SharesTheMemory) {
  ASSERT_TRUE(CallI32(*consumer_, "store", {64, 0xC0FFEE}).ok());
  Result<uint32_t> read = CallI32(*provider_, "read", {64});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, 0xC0FFEEu);
  // An out-of-bounds store through the shared memory traps the consumer, not the provider.
  Result<uint32_t> oob = CallI32(*consumer_, "store", {65536, 1});
  EXPECT_EQ(oob.status().code(), StatusCode::kTrap) << oob.status().ToString();
  EXPECT_TRUE(consumer_->poisoned());
  EXPECT_FALSE(provider_->poisoned());
}

TEST_P(LinkTest, SharesTheTableBothWays) {
  // Slot 0 holds the provider's function, slot 1 the consumer's (written by its element segment).
  Result<uint32_t> doubled = CallI32(*consumer_, "call_slot", {0, 21});
  ASSERT_TRUE(doubled.ok()) << doubled.status().ToString();
  EXPECT_EQ(*doubled, 42u);
  Result<uint32_t> tripled = CallI32(*consumer_, "call_slot", {1, 5});
  ASSERT_TRUE(tripled.ok()) << tripled.status().ToString();
  EXPECT_EQ(*tripled, 15u);
  Result<uint32_t> outside = CallI32(*consumer_, "call_slot", {2, 5});
  EXPECT_EQ(outside.status().code(), StatusCode::kTrap);
}

TEST_P(LinkTest, SharesTheGlobal) {
  Result<uint32_t> bumped = CallI32(*consumer_, "bump", {});
  ASSERT_TRUE(bumped.ok()) << bumped.status().ToString();
  EXPECT_EQ(*bumped, 8u);
  Result<uint32_t> seen = CallI32(*provider_, "counter_value", {});
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, 8u);
}

TEST_P(LinkTest, ForwardsFunctionImportsToTheOtherInstance) {
  Result<uint32_t> doubled = CallI32(*consumer_, "call_double", {50});
  ASSERT_TRUE(doubled.ok()) << doubled.status().ToString();
  EXPECT_EQ(*doubled, 100u);
}

TEST_P(LinkTest, AnUnboundExternImportFailsInstantiation) {
  testing::TableResolver none;
  none.set_default(testing::TrappingImport);  // functions only: the memory stays unbound
  auto consumer = consumer_module_->Instantiate(none, {});
  ASSERT_FALSE(consumer.ok());
  EXPECT_NE(consumer.status().ToString().find("nothing to bind"), std::string::npos)
      << consumer.status().ToString();
}

TEST_P(LinkTest, InstantiationIsBoundedByTheStartTimeout) {
  auto module = LoadActor("start_loop", GetParam());
  ASSERT_NE(module, nullptr);
  testing::TableResolver none;
  InstanceOptions options;
  options.start_timeout = std::chrono::milliseconds(100);
  const auto started = std::chrono::steady_clock::now();
  auto instance = module->Instantiate(none, options);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().code(), StatusCode::kDeadlineExceeded)
      << instance.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(10));  // the loop never ends by itself
}

INSTANTIATE_TEST_SUITE_P(BothMemoryModes, LinkTest, testing::BothMemoryModes(),
                         testing::MemoryModeTestName);

}  // namespace
}  // namespace theater::engine
