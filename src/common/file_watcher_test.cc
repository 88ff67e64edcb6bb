// Theater: a WebAssembly actor runtime.
#include "common/file_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_dir.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Everything that changes within `for_at_least`, gathered from several waits.
std::vector<fs::path> Gather(FileWatcher& watcher, std::chrono::milliseconds for_at_least) {
  std::vector<fs::path> all;
  const auto until = std::chrono::steady_clock::now() + for_at_least;
  while (std::chrono::steady_clock::now() < until) {
    Result<std::vector<fs::path>> changed = watcher.Wait(50ms);
    EXPECT_TRUE(changed.ok()) << changed.status().ToString();
    if (!changed.ok()) break;
    for (fs::path& p : *changed) all.push_back(std::move(p));
  }
  return all;
}

TEST(FileWatcherTest, EachWayAnEditorSavesIsAChange) {
  testing_util::TestDir dir("theater-watch");
  std::ofstream(dir.path() / "kept.c") << "int a;\n";
  Result<std::unique_ptr<FileWatcher>> watcher = FileWatcher::Create();
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  ASSERT_TRUE((*watcher)->Watch(dir.path()).ok());

  // Nothing happened: an empty answer after the wait.
  Result<std::vector<fs::path>> none = (*watcher)->Wait(20ms);
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());

  // Written in place.
  std::ofstream(dir.path() / "kept.c") << "int b;\n";
  EXPECT_THAT(Gather(**watcher, 100ms), ElementsAre(dir.path() / "kept.c"));
  // Written beside and renamed over it (vim, many IDEs).
  std::ofstream(dir.path() / "kept.c.new") << "int c;\n";
  fs::rename(dir.path() / "kept.c.new", dir.path() / "kept.c");
  EXPECT_THAT(Gather(**watcher, 100ms), Contains(dir.path() / "kept.c"));
  // Deleted.
  fs::remove(dir.path() / "kept.c");
  EXPECT_THAT(Gather(**watcher, 100ms), ElementsAre(dir.path() / "kept.c"));
}

TEST(FileWatcherTest, ASubdirectoryIsWatchedOnlyWhenAskedAndDiscardForgets) {
  testing_util::TestDir dir("theater-watch");
  fs::create_directories(dir.path() / "src");
  Result<std::unique_ptr<FileWatcher>> watcher = FileWatcher::Create();
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE((*watcher)->Watch(dir.path()).ok());
  std::ofstream(dir.path() / "src" / "a.c") << "x";
  EXPECT_THAT(Gather(**watcher, 100ms), IsEmpty());

  ASSERT_TRUE((*watcher)->Watch(dir.path() / "src").ok());
  std::ofstream(dir.path() / "src" / "a.c") << "y";
  (*watcher)->Discard();
  EXPECT_THAT(Gather(**watcher, 100ms), IsEmpty());
  std::ofstream(dir.path() / "src" / "b.c") << "z";
  EXPECT_THAT(Gather(**watcher, 100ms), ElementsAre(dir.path() / "src" / "b.c"));
}

TEST(FileWatcherTest, WatchingWhatIsNotADirectoryIsAnError) {
  testing_util::TestDir dir("theater-watch");
  std::ofstream(dir.path() / "file") << "x";
  Result<std::unique_ptr<FileWatcher>> watcher = FileWatcher::Create();
  ASSERT_TRUE(watcher.ok());
  Status missing = (*watcher)->Watch(dir.path() / "missing");
  EXPECT_EQ(missing.code(), StatusCode::kIOError);
  EXPECT_THAT(missing.message(), ::testing::HasSubstr("missing"));
  EXPECT_FALSE((*watcher)->Watch(dir.path() / "file").ok());
}

}  // namespace
}  // namespace theater
