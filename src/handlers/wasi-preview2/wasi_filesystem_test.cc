// Theater: a WebAssembly actor runtime.
//
// wasi:filesystem in a directory the manifest grants (wasi_filesystem.cc), driven by a real
// component (tests/actors/components/wasi/wasi_fs_probe.c: wasi-libc POSIX calls through the
// preview-1 adapter): what works inside the grant, every kind of escape, the permission flags,
// allowed_paths, and no grant at all. The files are checked on the host side. The same probe
// also sleeps, for the pollables that wait (wasi_preview2.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "testing/escape_layout_fixture.h"
#include "theater/chain.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFileText;

class WasiFilesystemTest : public testing_util::EscapeLayoutFixture {
 protected:
  WasiFilesystemTest()
      : EscapeLayoutFixture("theater-wasi-fs", std::string(THEATER_TEST_ACTOR_DIR) +
                                                   "/wasi_fs_probe.component.wasm") {}
};

TEST_F(WasiFilesystemTest, PosixFileCallsWorkInTheGrantedDirectory) {
  std::string a = Spawn(BaseManifest());
  EXPECT_EQ(Command(a, "write notes.txt hello"), "ok");
  EXPECT_EQ(ReadFileText(base_ / "notes.txt"), "hello");
  EXPECT_EQ(Command(a, "append notes.txt , world"), "ok");
  EXPECT_EQ(Command(a, "read notes.txt"), "ok hello, world");
  EXPECT_EQ(Command(a, "size /notes.txt"), "ok 12");  // absolute paths name the same grant
  EXPECT_EQ(Command(a, "mkdir sub"), "ok");
  EXPECT_TRUE(fs::is_directory(base_ / "sub"));
  EXPECT_EQ(Command(a, "write sub/a.txt inner"), "ok");
  EXPECT_EQ(Command(a, "ls sub"), "ok a.txt");
  EXPECT_EQ(Command(a, "ls ."), "ok abs,loop1,loop2,notes.txt,out,secretlink,sub");
  EXPECT_EQ(Command(a, "mv notes.txt sub/renamed.txt"), "ok");
  EXPECT_EQ(ReadFileText(base_ / "sub/renamed.txt"), "hello, world");
  EXPECT_EQ(Command(a, "read notes.txt"), "error No such file or directory");
  EXPECT_EQ(Command(a, "rmdir sub"), "error Directory not empty");
  EXPECT_EQ(Command(a, "rm sub/a.txt"), "ok");
  EXPECT_EQ(Command(a, "rm sub/renamed.txt"), "ok");
  EXPECT_EQ(Command(a, "rmdir sub"), "ok");
  EXPECT_FALSE(fs::exists(base_ / "sub"));

  // Every file operation is in the chain, and the chain verifies.
  auto events = runtime_->Events(a);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  size_t opens = 0;
  for (const chain::Event& e : *events) {
    if (e.type.starts_with("wasi:filesystem/types@0.2.") &&
        e.type.ends_with("/[method]descriptor.open-at")) {
      ++opens;
    }
  }
  EXPECT_GE(opens, 6u);
  EXPECT_TRUE(runtime_->VerifyChain(a).ok());
}

TEST_F(WasiFilesystemTest, EveryKindOfEscapeIsRefusedAndTouchesNothingOutside) {
  std::string a = Spawn(BaseManifest());
  const std::string not_permitted = "error Operation not permitted";
  EXPECT_EQ(Command(a, "read ../outside/secret.txt"), not_permitted);
  EXPECT_EQ(Command(a, "read out/secret.txt"), not_permitted);  // relative link climbing
  EXPECT_EQ(Command(a, "read abs/secret.txt"), not_permitted);  // absolute link
  EXPECT_EQ(Command(a, "read secretlink"), not_permitted);      // link to a file outside
  EXPECT_EQ(Command(a, "size secretlink"), not_permitted);      // stat follows it: refused
  EXPECT_EQ(Command(a, "ls out"), not_permitted);
  EXPECT_TRUE(Command(a, "read loop1").starts_with("error ")) << Command(a, "read loop1");
  EXPECT_EQ(Command(a, "write out/new.txt x"), not_permitted);
  EXPECT_EQ(Command(a, "mkdir abs/newdir"), not_permitted);
  EXPECT_EQ(Command(a, "write inside.txt x"), "ok");
  EXPECT_EQ(Command(a, "mv inside.txt out/stolen.txt"), not_permitted);
  // "/etc/passwd" is the granted directory's etc/passwd, which does not exist.
  EXPECT_EQ(Command(a, "read /etc/passwd"), "error No such file or directory");
  EXPECT_EQ(ReadFileText(outside_ / "secret.txt"), "secret");
  EXPECT_FALSE(fs::exists(outside_ / "new.txt"));
  EXPECT_FALSE(fs::exists(outside_ / "newdir"));
  EXPECT_FALSE(fs::exists(outside_ / "stolen.txt"));
  EXPECT_TRUE(fs::exists(base_ / "inside.txt"));
}

TEST_F(WasiFilesystemTest, WithoutAGrantNoFileIsReachable) {
  std::string a = Spawn(Manifest(""));
  EXPECT_TRUE(Command(a, "write notes.txt x").starts_with("error ")) << Command(a, "ls .");
  EXPECT_TRUE(Command(a, "read /etc/passwd").starts_with("error "));
  EXPECT_TRUE(Command(a, "ls .").starts_with("error "));
}

TEST_F(WasiFilesystemTest, ThePermissionFlagsApplyToWasiToo) {
  std::ofstream(base_ / "f.txt") << "content";
  std::string parent = Spawn(BaseManifest());
  auto child = [&](const std::string& config) {
    return Spawn(BaseManifest("",
                              "[permission_policy.file_system]\ntype = \"restrict\"\n"
                              "[permission_policy.file_system.config]\n" +
                                  config),
                 parent);
  };
  const std::string denied = "error Permission denied";
  std::string read_only = child("write = false\n");
  EXPECT_EQ(Command(read_only, "read f.txt"), "ok content");
  EXPECT_EQ(Command(read_only, "write f.txt x"), denied);
  EXPECT_EQ(Command(read_only, "write g.txt x"), denied);
  EXPECT_EQ(Command(read_only, "rm f.txt"), denied);
  EXPECT_EQ(Command(read_only, "mkdir d"), denied);
  EXPECT_EQ(ReadFileText(base_ / "f.txt"), "content");
  EXPECT_FALSE(fs::exists(base_ / "g.txt"));

  std::string write_only = child("read = false\n");
  EXPECT_EQ(Command(write_only, "read f.txt"), denied);
  EXPECT_EQ(Command(write_only, "ls ."), denied);
  EXPECT_EQ(Command(write_only, "write g.txt new"), "ok");
  EXPECT_EQ(ReadFileText(base_ / "g.txt"), "new");

  std::string no_new_dir = child("new_dir = false\n");
  EXPECT_EQ(Command(no_new_dir, "mkdir d"), denied);
  EXPECT_EQ(Command(no_new_dir, "write h.txt x"), "ok");
}

TEST_F(WasiFilesystemTest, AllowedPathsBecomeTheOnlyDirectoriesGranted) {
  fs::create_directories(base_ / "data");
  std::ofstream(base_ / "data/in.txt") << "allowed";
  std::ofstream(base_ / "top.txt") << "not allowed";
  std::string parent = Spawn(BaseManifest());
  std::string a = Spawn(BaseManifest("",
                                     "[permission_policy.file_system]\ntype = \"restrict\"\n"
                                     "[permission_policy.file_system.config]\n"
                                     "allowed_paths = [\"data\"]\n"),
                        parent);
  EXPECT_EQ(Command(a, "read data/in.txt"), "ok allowed");
  EXPECT_EQ(Command(a, "read /data/in.txt"), "ok allowed");
  EXPECT_EQ(Command(a, "write data/out.txt x"), "ok");
  EXPECT_EQ(ReadFileText(base_ / "data/out.txt"), "x");
  EXPECT_TRUE(Command(a, "read top.txt").starts_with("error "));
  EXPECT_TRUE(Command(a, "write top.txt y").starts_with("error "));
  EXPECT_EQ(ReadFileText(base_ / "top.txt"), "not allowed");
}

// Not a file, but the same probe: usleep becomes a WASI poll on a monotonic-clock subscription,
// which parks the actor on the runtime's timers.
TEST_F(WasiFilesystemTest, ASleepingComponentWaitsWithoutHoldingAWorker) {
  std::string a = Spawn(Manifest(""));
  const auto start = std::chrono::steady_clock::now();
  const std::string reply = Command(a, "sleep 120");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(reply.starts_with("ok ")) << reply;
  EXPECT_GE(std::stoi(reply.substr(3)), 120);
  EXPECT_GE(took, std::chrono::milliseconds(120));

  // Six actors sleeping 3 s at once on the two workers: if a sleep held a worker, three rounds
  // would take 9 s at least; together they take one sleep, and a busy machine seconds more.
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Spawn(Manifest("")));
  const auto together = std::chrono::steady_clock::now();
  std::vector<std::future<std::string>> replies;
  for (const std::string& id : ids) {
    replies.push_back(std::async(std::launch::async, [&, id] { return Command(id, "sleep 3000"); }));
  }
  for (auto& r : replies) EXPECT_TRUE(r.get().starts_with("ok ")) << "a sleep failed";
  EXPECT_LT(std::chrono::steady_clock::now() - together, std::chrono::milliseconds(6000));

  // A wait beyond the call's deadline fails the call at once, naming why, instead of being cut
  // off by the deadline (which would take 5 s).
  std::string short_deadline = Spawn(Manifest("", "[limits]\ncall_deadline_ms = 5000\n"));
  const auto refused = std::chrono::steady_clock::now();
  const std::string failure = Command(short_deadline, "sleep 10000");
  EXPECT_LT(std::chrono::steady_clock::now() - refused, std::chrono::milliseconds(2500));
  EXPECT_TRUE(failure.starts_with("failed: ")) << failure;
  EXPECT_NE(failure.find("would outlast the call's deadline of 5000 ms"), std::string::npos)
      << failure;
}

}  // namespace
}  // namespace theater::handlers
