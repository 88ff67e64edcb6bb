// Theater: a WebAssembly actor runtime.
//
// LoadHandlerPlugin's refusals, each with its reason, on real shared objects built beside the
// test (tests/plugins/broken_plugin.cc). A plug-in that loads and serves actors is tested through
// the `theater` command, which exports the host API it calls (src/cli/cli_tools_e2e_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/runtime_test_util.h"
#include "theater/handler_registry.h"
#include "theater/plugin.h"

namespace theater {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kPlugins = fs::path(THEATER_BUILD_DIR) / "tests" / "plugins";

TEST(HandlerPluginTest, WhatIsNotAPluginIsRefusedWithItsReason) {
  Result<std::unique_ptr<Handler>> missing = LoadHandlerPlugin(kPlugins / "nothing_here.so");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().ToString(), HasSubstr("nothing_here.so: no such file"));

  const fs::path home = testing_util::NewTestHome("theater-plugin");
  const fs::path junk = home / "junk.so";
  std::ofstream(junk) << "not an ELF object";
  Result<std::unique_ptr<Handler>> not_elf = LoadHandlerPlugin(junk);
  EXPECT_EQ(not_elf.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(not_elf.status().ToString(), HasSubstr("junk.so does not load: "));
  fs::remove_all(home);

  Result<std::unique_ptr<Handler>> no_info =
      LoadHandlerPlugin(kPlugins / "broken_plugin_no_info.so");
  EXPECT_EQ(no_info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_info.status().ToString(),
              HasSubstr("is not a Theater handler plug-in: it defines no theater_handler_plugin"));
}

TEST(HandlerPluginTest, APluginBuiltForAnotherHostIsRefusedBeforeAnythingOfItRuns) {
  Result<std::unique_ptr<Handler>> stale =
      LoadHandlerPlugin(kPlugins / "broken_plugin_stale_api.so");
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().ToString(),
              HasSubstr("was built against host API " + std::to_string(kHostApiVersion + 1) +
                        "; this theater (" + std::string(kVersion) + ") has host API " +
                        std::to_string(kHostApiVersion) +
                        ": rebuild it against this version's include/theater/"));

  Result<std::unique_ptr<Handler>> abi =
      LoadHandlerPlugin(kPlugins / "broken_plugin_string_abi.so");
  EXPECT_EQ(abi.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(abi.status().ToString(), HasSubstr("was compiled for another C++ ABI"));

  Result<std::unique_ptr<Handler>> empty =
      LoadHandlerPlugin(kPlugins / "broken_plugin_null_factory.so");
  EXPECT_EQ(empty.status().code(), StatusCode::kInternal);
  EXPECT_THAT(empty.status().ToString(), HasSubstr("its factory made no handler"));

  // Registering goes through the same checks, and leaves the registry as it was.
  HandlerRegistry registry;
  const size_t before = registry.Names().size();
  Result<std::string> added =
      RegisterHandlerPlugin(registry, kPlugins / "broken_plugin_stale_api.so");
  EXPECT_EQ(added.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.Names().size(), before);
}

}  // namespace
}  // namespace theater
