// Theater: a WebAssembly actor runtime.
//
// LocalReadScope (local_read_scope.h) on its own, without a runtime: PathIsUnder's comparison of
// resolved paths, and Open's refusal of a file a symbolic link leads out to. What a spawn may
// read end to end is spawn_read_scope_test.cc's.
#include "runtime/local_read_scope.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/test_dir.h"

namespace theater::runtime {
namespace {

namespace fs = std::filesystem;

TEST(PathIsUnderTest, ComparesWholeComponents) {
  EXPECT_TRUE(PathIsUnder("/a/b", "/a/b"));
  EXPECT_TRUE(PathIsUnder("/a/b/c", "/a/b"));
  EXPECT_TRUE(PathIsUnder("/a/b", "/"));
  EXPECT_FALSE(PathIsUnder("/a/bc", "/a/b"));
  EXPECT_FALSE(PathIsUnder("/a", "/a/b"));
  EXPECT_FALSE(PathIsUnder("/", "/a"));
}

// A root with a trailing separator, and a path that is that root without one: the comparison
// once stepped the path's iterator past its end (undefined behaviour; found by
// fuzz/reference_fuzz, fuzz/regressions/reference_fuzz/crash-root-trailing-separator-past-end).
TEST(PathIsUnderTest, ARootWithATrailingSeparator) {
  EXPECT_TRUE(PathIsUnder("/a", "/a/"));
  EXPECT_TRUE(PathIsUnder("/a/", "/a/"));
  EXPECT_TRUE(PathIsUnder("/a/b", "/a/"));
  EXPECT_FALSE(PathIsUnder("/ab", "/a/"));
  EXPECT_FALSE(PathIsUnder("/", "/a/"));
}

TEST(LocalReadScopeTest, OpensFilesBelowItsDirectoryNotThroughALinkLeadingOut) {
  testing_util::TestDir dir("theater-local-read-scope");
  const fs::path root = dir.path() / "root";
  fs::create_directories(root);
  fs::create_directories(dir.path() / "outside");
  std::ofstream(root / "inside.txt") << "inside";
  std::ofstream(dir.path() / "outside" / "secret.txt") << "secret";
  fs::create_directory_symlink("../outside", root / "out");
  LocalReadScope scope("the test's rule");
  scope.AddDirectory(root);
  ASSERT_EQ(scope.size(), 1u);

  Result<std::vector<uint8_t>> inside = scope.Read((root / "inside.txt").string(), "file", 100);
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_EQ(std::string(inside->begin(), inside->end()), "inside");
  for (const fs::path& path :
       {root / "out" / "secret.txt", root / ".." / "outside" / "secret.txt"}) {
    Result<std::vector<uint8_t>> refused = scope.Read(path.string(), "file", 100);
    ASSERT_FALSE(refused.ok()) << path;
    EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied)
        << refused.status().ToString();
  }
}

}  // namespace
}  // namespace theater::runtime
