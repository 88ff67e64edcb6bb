// Theater: a WebAssembly actor runtime.
//
// The filesystem handler end to end: a real actor (tests/actors/fs_probe.c) in a real
// TheaterRuntime calling every function of theater:simple/filesystem on a real temporary tree —
// happy paths, every kind of escape attempt, permissions (with a parent's restricting policy),
// new_dir, commands (arguments, directory, refusal, timeout, output limit, not blocking a
// worker, nix), config errors and what the chain records.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "testing/escape_layout_fixture.h"
#include "testing/process_state.h"
#include "theater/chain.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_util::ProcessAlive;
using testing_util::ProcessesWorkingUnder;
using testing_util::ReadFileText;
using testing_util::WaitFor;
using namespace std::chrono_literals;

class FilesystemRuntimeTest : public testing_util::EscapeLayoutFixture {
 protected:
  FilesystemRuntimeTest()
      : EscapeLayoutFixture("theater-fs", std::string(THEATER_TEST_ACTOR_DIR) + "/fs_probe.wasm") {}
};

TEST_F(FilesystemRuntimeTest, EveryFunctionWorksInsideTheBase) {
  std::string a = Spawn(BaseManifest());
  EXPECT_EQ(Command(a, "write:notes.txt:hello: world"), "ok");
  EXPECT_EQ(ReadFileText(base_ / "notes.txt"), "hello: world");
  EXPECT_EQ(Command(a, "read:notes.txt"), "hello: world");
  EXPECT_EQ(Command(a, "write:notes.txt:short"), "ok");  // truncates
  EXPECT_EQ(Command(a, "read:./notes.txt"), "short");
  EXPECT_EQ(Command(a, "exists:notes.txt"), "true");
  EXPECT_EQ(Command(a, "exists:missing.txt"), "false");
  EXPECT_EQ(Command(a, "exists:missing/deeper"), "false");
  EXPECT_EQ(Command(a, "mkdir:dir"), "ok");
  EXPECT_TRUE(fs::is_directory(base_ / "dir"));
  EXPECT_THAT(Command(a, "mkdir:dir"), StartsWith("error:already-exists: path 'dir'"));
  EXPECT_THAT(Command(a, "mkdir:no/parent"), StartsWith("error:not-found: path 'no/parent'"));
  EXPECT_EQ(Command(a, "mkdir:dir/inner"), "ok");
  EXPECT_EQ(Command(a, "write:dir/inner/f:x"), "ok");
  EXPECT_EQ(Command(a, "write:dir/g:y"), "ok");
  EXPECT_EQ(Command(a, "ls:dir"), "g,inner");
  EXPECT_EQ(Command(a, "ls:."), "abs,dir,loop1,loop2,notes.txt,out,secretlink");
  EXPECT_THAT(Command(a, "read:dir"),
              StartsWith("error:invalid-argument: path 'dir': is a directory"));
  EXPECT_THAT(Command(a, "rm:dir"), HasSubstr("is a directory (use delete-dir)"));
  EXPECT_EQ(Command(a, "rm:dir/g"), "ok");
  EXPECT_FALSE(fs::exists(base_ / "dir/g"));
  EXPECT_THAT(Command(a, "rm:dir/g"), StartsWith("error:not-found"));
  EXPECT_EQ(Command(a, "rmdir:dir"), "ok");  // recursive
  EXPECT_FALSE(fs::exists(base_ / "dir"));
  EXPECT_THAT(Command(a, "read:nothing"), StartsWith("error:not-found: path 'nothing'"));
  // Deleting a link inside removes the link, not its target.
  EXPECT_EQ(Command(a, "rm:secretlink"), "ok");
  EXPECT_EQ(ReadFileText(outside_ / "secret.txt"), "secret");
}

TEST_F(FilesystemRuntimeTest, EveryKindOfEscapeIsRefusedWithTheName) {
  std::string a = Spawn(BaseManifest("allowed_commands = [\"pwd\"]\n"));
  const std::string nul("bad\0name", 8);
  const std::string long_path = std::string(2100, 'a') + "/" + std::string(2100, 'b');
  const std::string long_name = std::string(300, 'n');
  struct Case {
    std::string path;
    std::string error;  // what the message says
  };
  const std::vector<Case> cases = {
      {"..", "contains a '..' component"},
      {"../x", "contains a '..' component"},
      {"a/../../x", "contains a '..' component"},
      {"/etc/passwd", "is absolute"},
      {"out/secret.txt", "escapes the base directory"},
      {"abs/secret.txt", "escapes the base directory"},
      {"out/newthing", "escapes the base directory"},
      {"loop1/x", "too many levels of symbolic links"},
      {nul, "contains a NUL byte"},
      {long_path, "more than the limit of 4096"},
      {long_name, "name too long"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path.substr(0, 40));
    for (const char* op : {"read", "ls", "rm", "mkdir", "rmdir", "exists"}) {
      SCOPED_TRACE(op);
      std::string reply = Command(a, std::string(op) + ":" + c.path);
      EXPECT_THAT(reply, StartsWith("error:")) << reply;
      EXPECT_THAT(reply, HasSubstr(c.error)) << reply;
    }
    std::string written = Command(a, "write:" + c.path + ":pwned");
    EXPECT_THAT(written, StartsWith("error:"));
    EXPECT_THAT(written, HasSubstr(c.error));
    std::string exec = Command(a, "exec:" + c.path + ":pwd");
    EXPECT_THAT(exec, StartsWith("error:"));
    EXPECT_THAT(exec, HasSubstr(c.error));
  }
  // The escape messages name the path; links that point out are refused for every operation.
  EXPECT_EQ(Command(a, "read:secretlink"),
            "error:permission-denied: path 'secretlink' escapes the base directory (refused by "
            "the kernel)");
  EXPECT_THAT(Command(a, "write:secretlink:pwned"), HasSubstr("'secretlink' escapes"));
  EXPECT_THAT(Command(a, "ls:out"), HasSubstr("'out' escapes"));
  EXPECT_THAT(Command(a, "exec:abs:pwd"), HasSubstr("'abs' escapes"));
  EXPECT_THAT(Command(a, "exists:out/secret.txt"), HasSubstr("escapes"));
  EXPECT_THAT(Command(a, "rmdir:out"), HasSubstr("symbolic link"));
  EXPECT_THAT(Command(a, "exists:loop1"), StartsWith("error:"));
  EXPECT_THAT(Command(a, "rmdir:."), HasSubstr("base directory itself"));
  EXPECT_THAT(Command(a, "rm:."), HasSubstr("base directory itself"));
  // Nothing outside changed.
  EXPECT_EQ(ReadFileText(outside_ / "secret.txt"), "secret");
  EXPECT_EQ(std::distance(fs::directory_iterator(outside_), fs::directory_iterator()), 1);
  EXPECT_FALSE(fs::exists(home_ / "x"));
  EXPECT_TRUE(fs::exists(base_ / "out"));
}

TEST_F(FilesystemRuntimeTest, RelativePathResolvesAgainstTheManifestsDirectory) {
  fs::create_directories(home_ / "app/data");
  std::ofstream(home_ / "app/data/in.txt") << "beside the manifest";
  fs::path manifest = home_ / "app/manifest.toml";
  std::ofstream(manifest) << Manifest("path = \"data\"\n");
  std::string a = Spawn(manifest.string());
  EXPECT_EQ(Command(a, "read:in.txt"), "beside the manifest");
}

TEST_F(FilesystemRuntimeTest, ConfigErrorsFailTheSpawnClearly) {
  EXPECT_THAT(SpawnError(BaseManifest("pathh = \"x\"\n")), HasSubstr("unknown key 'pathh'"));
  EXPECT_THAT(SpawnError(Manifest("path = \"" + (home_ / "missing").string() + "\"\n")),
              HasSubstr("cannot open the base directory"));
  // Importing the interface without a [[handler]] table is refused, naming the table to add;
  // when the runtime adds the handler (auto_handlers), it has no base directory: no start.
  EXPECT_THAT(SpawnError(Manifest("")), HasSubstr("does not declare the 'filesystem' handler; add\n"
                                                  "[[handler]]\ntype = \"filesystem\"\n"));
  EXPECT_THAT(SpawnError(Manifest("", "auto_handlers = true\n")),
              HasSubstr("one of 'path' or 'temp_dir = true' is required"));
}

// Permissions come from a parent's policy: restrict the child's file_system permission.
TEST_F(FilesystemRuntimeTest, PermissionsAreEnforcedOnEveryCall) {
  std::ofstream(base_ / "f.txt") << "content";
  std::string parent = Spawn(BaseManifest());
  auto child = [&](const std::string& config, const std::string& handler = "") {
    return Spawn(BaseManifest(handler,
                              "[permission_policy.file_system]\ntype = \"restrict\"\n"
                              "[permission_policy.file_system.config]\n" +
                                  config),
                 parent);
  };
  std::string no_read = child("read = false\n");
  const std::string read_denied =
      "error:permission-denied: Operation denied: read not permitted by filesystem permissions";
  EXPECT_EQ(Command(no_read, "read:f.txt"), read_denied);
  EXPECT_EQ(Command(no_read, "ls:."), read_denied);
  EXPECT_EQ(Command(no_read, "exists:f.txt"), read_denied);
  EXPECT_EQ(Command(no_read, "write:g.txt:x"), "ok");

  std::string no_write = child("write = false\n");
  const std::string write_denied =
      "error:permission-denied: Operation denied: write not permitted by filesystem permissions";
  EXPECT_EQ(Command(no_write, "write:f.txt:x"), write_denied);
  EXPECT_EQ(Command(no_write, "rm:f.txt"), write_denied);
  EXPECT_EQ(Command(no_write, "rmdir:d"), write_denied);
  EXPECT_THAT(Command(no_write, "mkdir:d"), HasSubstr("Operation denied: create-dir"));
  EXPECT_EQ(Command(no_write, "read:f.txt"), "content");

  std::string no_new_dir = child("new_dir = false\n");
  EXPECT_THAT(Command(no_new_dir, "mkdir:d"),
              StartsWith("error:permission-denied: Operation denied: create-dir"));
  EXPECT_EQ(Command(no_new_dir, "write:h.txt:x"), "ok");

  std::string no_exec = child("execute = false\n", "allowed_commands = [\"echo\"]\n");
  EXPECT_EQ(Command(no_exec, "exec:.:echo:hi"),
            "cmd-error:permission-denied: Operation denied: execute not permitted by filesystem "
            "permissions");

  std::string only_echo =
      child("allowed_commands = [\"echo\"]\n", "allowed_commands = [\"echo\", \"ls\"]\n");
  EXPECT_EQ(Command(only_echo, "exec:.:echo:hi"), "exit=0;stdout=hi\n;stderr=");
  EXPECT_EQ(Command(only_echo, "exec:.:ls"),
            "cmd-error:permission-denied: Command 'ls' not in allowed commands: [\"echo\"]");

  // allowed_paths: relative to the base, by component; a link inside an allowed tree cannot
  // lead into the rest of the base.
  fs::create_directories(base_ / "pub");
  fs::create_directories(base_ / "priv");
  fs::create_directories(base_ / "public");
  std::ofstream(base_ / "pub/a") << "public";
  std::ofstream(base_ / "priv/a") << "private";
  fs::create_directory_symlink("../priv", base_ / "pub/link");
  std::string paths = child("allowed_paths = [\"pub\"]\n", "allowed_commands = [\"pwd\"]\n");
  EXPECT_EQ(Command(paths, "read:pub/a"), "public");
  EXPECT_EQ(Command(paths, "read:priv/a"),
            "error:permission-denied: Path 'priv/a' not in allowed paths: [\"pub\"]");
  EXPECT_THAT(Command(paths, "ls:public"), HasSubstr("not in allowed paths"));
  EXPECT_THAT(Command(paths, "ls:."), HasSubstr("Path '.' not in allowed paths"));
  EXPECT_THAT(Command(paths, "read:pub/link/a"), HasSubstr("'pub/link/a' escapes"));
  EXPECT_THAT(Command(paths, "exec:priv:pwd"), HasSubstr("not in allowed paths"));
  EXPECT_THAT(Command(paths, "exec:pub:pwd"), EndsWith("/pub\n;stderr="));
  EXPECT_EQ(Command(paths, "write:pub/b:x"), "ok");
  EXPECT_EQ(Command(paths, "exists:pub/nothing"), "false");

  // Without the permission at all the actor host refuses every call with the function's err.
  std::string none =
      Spawn(BaseManifest("", "[permission_policy.file_system]\ntype = \"disallow\"\n"), parent);
  EXPECT_EQ(Command(none, "read:f.txt"),
            "error:Handler type 'filesystem' not permitted by effective permissions");
}

TEST_F(FilesystemRuntimeTest, TempDirGivesEachActorItsOwnDirectoryRemovedAtStop) {
  std::string manifest = Manifest("temp_dir = true\nallowed_commands = [\"pwd\"]\n");
  std::string a = Spawn(manifest);
  std::string b = Spawn(manifest);
  EXPECT_EQ(Command(a, "write:who:a"), "ok");
  EXPECT_EQ(Command(b, "write:who:b"), "ok");
  EXPECT_EQ(Command(a, "read:who"), "a");
  EXPECT_EQ(Command(b, "read:who"), "b");
  std::string pwd_a = Command(a, "exec:.:pwd");
  std::string pwd_b = Command(b, "exec:.:pwd");
  ASSERT_THAT(pwd_a, StartsWith("exit=0;stdout=/"));
  EXPECT_NE(pwd_a, pwd_b);
  EXPECT_THAT(pwd_a, HasSubstr("theater-fs-" + a + "-"));
  fs::path dir_a = pwd_a.substr(pwd_a.find('/'), pwd_a.find('\n') - pwd_a.find('/'));
  ASSERT_TRUE(fs::exists(dir_a / "who"));
  ASSERT_TRUE(runtime_->Stop(a).ok());
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(dir_a); }));
  EXPECT_EQ(Command(b, "read:who"), "b");

  // `new_dir = true` without a path is the older spelling of temp_dir.
  std::string kept =
      Spawn(Manifest("new_dir = true\nkeep_dir = true\nallowed_commands = "
                     "[\"pwd\"]\n"));
  std::string pwd_k = Command(kept, "exec:.:pwd");
  fs::path dir_k = pwd_k.substr(pwd_k.find('/'), pwd_k.find('\n') - pwd_k.find('/'));
  ASSERT_TRUE(runtime_->Stop(kept).ok());
  EXPECT_TRUE(fs::is_directory(dir_k));
  fs::remove_all(dir_k);
}

// denied_paths: paths under the allowed ones that stay refused, checked where a call really
// lands (links followed), also for a write that would delete a tree holding one; names are still
// listed. Commands cannot be confined that finely, so they do not run; a child keeps what its
// parent denies.
TEST_F(FilesystemRuntimeTest, DeniedPathsStayRefusedUnderAllowedOnesLinksIncluded) {
  fs::create_directories(base_ / "data/secret");
  std::ofstream(base_ / "data/secret/key") << "k";
  std::ofstream(base_ / "data/open") << "o";
  fs::create_directory_symlink("secret", base_ / "data/alias");
  fs::create_symlink("secret/key", base_ / "data/keylink");
  std::string parent = Spawn(BaseManifest("allowed_commands = [\"echo\"]\n"));
  auto restricted = [&](const std::string& config, const std::string& of) {
    return Spawn(BaseManifest("allowed_commands = [\"echo\"]\n",
                              "[permission_policy.file_system]\ntype = \"restrict\"\n"
                              "[permission_policy.file_system.config]\n" +
                                  config),
                 of);
  };
  std::string child =
      restricted("allowed_paths = [\"data\"]\ndenied_paths = [\"data/secret\"]\n", parent);
  EXPECT_EQ(Command(child, "read:data/open"), "o");
  EXPECT_EQ(Command(child, "read:data/secret/key"),
            "error:permission-denied: Path 'data/secret/key' is in denied paths: "
            "[\"data/secret\"]");
  EXPECT_THAT(Command(child, "read:data/alias/key"), HasSubstr("is in denied paths"));
  EXPECT_THAT(Command(child, "read:data/keylink"), HasSubstr("is in denied paths"));
  EXPECT_THAT(Command(child, "exists:data/secret"), HasSubstr("is in denied paths"));
  EXPECT_THAT(Command(child, "ls:data/alias"), HasSubstr("is in denied paths"));
  EXPECT_THAT(Command(child, "write:data/secret/new:x"), HasSubstr("is in denied paths"));
  EXPECT_THAT(Command(child, "mkdir:data/secret/sub"), HasSubstr("is in denied paths"));
  EXPECT_FALSE(fs::exists(base_ / "data/secret/new"));
  EXPECT_THAT(Command(child, "rmdir:data"), HasSubstr("Path 'data' is in denied paths"));
  EXPECT_EQ(ReadFileText(base_ / "data/secret/key"), "k");
  EXPECT_EQ(Command(child, "ls:data"), "alias,keylink,open,secret");
  EXPECT_EQ(Command(child, "write:data/other:x"), "ok");
  EXPECT_THAT(Command(child, "exec:data:echo:hi"),
              HasSubstr("commands cannot run while denied_paths is set"));
  // A grandchild denies more, never less.
  std::string grandchild = restricted("denied_paths = [\"data/open\"]\n", child);
  EXPECT_THAT(Command(grandchild, "read:data/open"),
              HasSubstr("is in denied paths: [\"data/secret\", \"data/open\"]"));
  EXPECT_THAT(Command(grandchild, "read:data/secret/key"), HasSubstr("is in denied paths"));
  EXPECT_EQ(Command(grandchild, "read:data/other"), "x");
  // Without denied paths the same calls work.
  EXPECT_EQ(Command(parent, "read:data/alias/key"), "k");
}

// The design documents' `{ path = "data", new_dir = true }`: use that directory, creating it (and
// its missing parents) when it is not there; it stays after the actor stops. Creating it needs
// the permission to create directories.
TEST_F(FilesystemRuntimeTest, NewDirWithAPathCreatesThatDirectoryWhenMissing) {
  const fs::path data = home_ / "made" / "data";
  ASSERT_FALSE(fs::exists(home_ / "made"));
  std::string a = Spawn(Manifest("path = \"" + data.string() + "\"\nnew_dir = true\n"));
  EXPECT_TRUE(fs::is_directory(data));
  EXPECT_EQ(Command(a, "write:note:kept"), "ok");
  ASSERT_TRUE(runtime_->Stop(a).ok());
  EXPECT_EQ(ReadFileText(data / "note"), "kept");
  // An existing directory is used as it is.
  std::string b = Spawn(Manifest("path = \"" + data.string() + "\"\nnew_dir = true\n"));
  EXPECT_EQ(Command(b, "read:note"), "kept");

  // A child that may not create directories cannot have one made for it...
  const fs::path other = home_ / "other";
  SpawnRequest request;
  request.manifest = Manifest("path = \"" + other.string() + "\"\nnew_dir = true\n",
                              "[permission_policy.file_system]\ntype = \"restrict\"\n"
                              "[permission_policy.file_system.config]\nnew_dir = false\n");
  request.parent_id = b;
  Result<std::string> refused = runtime_->Spawn(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(),
              HasSubstr("new_dir: creating '" + other.string() +
                        "' needs the filesystem permission's write and new_dir"));
  EXPECT_FALSE(fs::exists(other));
}

TEST_F(FilesystemRuntimeTest, CommandsRunWithArgsInTheirDirectoryWithinLimits) {
  fs::create_directories(base_ / "sub");
  std::ofstream(base_ / "sub/f.txt") << "x";
  std::string a =
      Spawn(BaseManifest("allowed_commands = [\"echo\", \"ls\", \"pwd\", \"sleep\", \"seq\"]\n"
                         "command_timeout_ms = 300\nmax_output_bytes = 100\n"));
  EXPECT_EQ(Command(a, "exec:.:echo:hello:two words"), "exit=0;stdout=hello two words\n;stderr=");
  EXPECT_EQ(Command(a, "exec:sub:ls"), "exit=0;stdout=f.txt\n;stderr=");
  EXPECT_EQ(Command(a, "exec:sub:pwd"),
            "exit=0;stdout=" + fs::canonical(base_ / "sub").string() + "\n;stderr=");
  std::string failed = Command(a, "exec:.:ls:nothing-here");
  EXPECT_THAT(failed, StartsWith("exit=2;stdout=;stderr="));
  EXPECT_THAT(failed, HasSubstr("nothing-here"));
  EXPECT_EQ(Command(a, "exec:.:rm:-rf:."),
            "cmd-error:permission-denied: Command 'rm' not in the filesystem handler's "
            "allowed_commands: [\"echo\", \"ls\", \"pwd\", \"sleep\", \"seq\"]");
  EXPECT_TRUE(fs::exists(base_ / "sub/f.txt"));
  EXPECT_THAT(Command(a, "exec:missing:ls"), StartsWith("error:not-found: path 'missing'"));

  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Command(a, "exec:.:sleep:30"),
            "cmd-error:deadline-exceeded: command 'sleep' did not finish within 300 ms "
            "(command_timeout_ms) and was killed");
  // Killed, not waited for: well before the sleep would end (30 s), however busy the machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);

  std::string big = Command(a, "exec:.:seq:1:1000");
  EXPECT_THAT(big, StartsWith("exit=0;stdout=1\n2\n3\n"));
  EXPECT_THAT(big, HasSubstr("[theater: stdout truncated: 3893 bytes written, only the first "
                             "100 kept]"));
  EXPECT_LT(big.size(), 300u);
}

// The kernel (Landlock) confines what a command's arguments reach: the base directory (or the
// allowed directories), with the permission's read and write flags, plus the system paths.
TEST_F(FilesystemRuntimeTest, CommandArgumentsCannotReachOutsideTheBase) {
  std::ofstream(base_ / "inside.txt") << "inside\n";
  std::string a = Spawn(BaseManifest("allowed_commands = [\"cat\", \"ls\", \"sh\"]\n"));
  EXPECT_EQ(Command(a, "exec:.:cat:inside.txt"), "exit=0;stdout=inside\n;stderr=");
  EXPECT_EQ(Command(a, "exec:.:cat:/etc/hostname"),
            "exit=1;stdout=;stderr=cat: /etc/hostname: Permission denied\n");
  EXPECT_EQ(
      Command(a, "exec:.:cat:" + (outside_ / "secret.txt").string()),
      "exit=1;stdout=;stderr=cat: " + (outside_ / "secret.txt").string() + ": Permission denied\n");
  EXPECT_EQ(Command(a, "exec:.:cat:secretlink"),
            "exit=1;stdout=;stderr=cat: secretlink: Permission denied\n");
  EXPECT_THAT(Command(a, "exec:.:ls:-la:/"),
              StartsWith("exit=2;stdout=;stderr=ls: cannot open directory '/': Permission denied"));
  EXPECT_EQ(Command(a, "exec:.:sh:-c:echo made > made.txt && cat made.txt"),
            "exit=0;stdout=made\n;stderr=");
  EXPECT_EQ(
      Command(a, "exec:.:sh:-c:echo x > " + (outside_ / "new.txt").string() + " || echo denied"),
      "exit=0;stdout=denied\n;stderr=sh: 1: cannot create " + (outside_ / "new.txt").string() +
          ": Permission denied\n");
  EXPECT_FALSE(fs::exists(outside_ / "new.txt"));

  // The permission's flags become the kernel's: without `write`, nothing is written.
  std::string parent = Spawn(BaseManifest());
  std::string read_only =
      Spawn(BaseManifest("allowed_commands = [\"sh\"]\n",
                         "[permission_policy.file_system]\ntype = \"restrict\"\n"
                         "[permission_policy.file_system.config]\nwrite = false\n"),
            parent);
  EXPECT_EQ(
      Command(read_only, "exec:.:sh:-c:cat inside.txt; echo x > w.txt || echo denied"),
      "exit=0;stdout=inside\ndenied\n;stderr=sh: 1: cannot create w.txt: Permission denied\n");
  EXPECT_FALSE(fs::exists(base_ / "w.txt"));

  // allowed_paths: a command started in `pub` cannot read `priv`, though both are in the base.
  fs::create_directories(base_ / "pub");
  fs::create_directories(base_ / "priv");
  std::ofstream(base_ / "priv/a") << "private";
  std::string paths =
      Spawn(BaseManifest("allowed_commands = [\"cat\"]\n",
                         "[permission_policy.file_system]\ntype = \"restrict\"\n"
                         "[permission_policy.file_system.config]\nallowed_paths = [\"pub\"]\n"),
            parent);
  EXPECT_EQ(Command(paths, "exec:pub:cat:../priv/a"),
            "exit=1;stdout=;stderr=cat: ../priv/a: Permission denied\n");

  // unconfined = true: the program runs without Landlock (for hosts that must).
  std::ifstream in("/etc/hostname");
  std::string hostname((std::istreambuf_iterator<char>(in)), {});
  std::string unconfined = Spawn(BaseManifest("allowed_commands = [\"cat\"]\nunconfined = true\n"));
  EXPECT_EQ(Command(unconfined, "exec:.:cat:/etc/hostname"),
            "exit=0;stdout=" + hostname + ";stderr=");
}

// Nothing a command starts outlives it: a descendant that left with `setsid -f` is killed when
// the command exits.
TEST_F(FilesystemRuntimeTest, ACommandsEscapedDescendantsDieWithIt) {
  std::string a = Spawn(BaseManifest("allowed_commands = [\"sh\"]\n"));
  EXPECT_EQ(Command(a,
                    "exec:.:sh:-c:setsid -f sh -c 'echo $$ > escaped.pid; exec sleep 1000';"
                    "while [ ! -s escaped.pid ]; do sleep 0.05; done; echo started"),
            "exit=0;stdout=started\n;stderr=");
  pid_t escaped = 0;
  std::istringstream(ReadFileText(base_ / "escaped.pid")) >> escaped;
  ASSERT_GT(escaped, 0);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(escaped); }));
}

// A running command suspends its actor, not a worker: with both of the runtime's two workers'
// actors running commands, a third actor still answers, before either command ends.
TEST_F(FilesystemRuntimeTest, ARunningCommandDoesNotHoldAWorker) {
  std::string manifest = BaseManifest("allowed_commands = [\"sleep\"]\n");
  std::string a = Spawn(manifest);
  std::string b = Spawn(manifest);
  std::string c = Spawn(manifest);
  auto slow_a = std::async(std::launch::async, [&] { return Command(a, "exec:.:sleep:3"); });
  auto slow_b = std::async(std::launch::async, [&] { return Command(b, "exec:.:sleep:3"); });
  // Both commands run (in the base directory, where nothing else works).
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<std::string> names = ProcessesWorkingUnder(base_);
    return std::count(names.begin(), names.end(), "sleep") == 2;
  }));
  EXPECT_EQ(Command(c, "exists:nothing"), "false");
  // Had they held both workers, c would have had to wait for one of them to end.
  EXPECT_EQ(slow_a.wait_for(0ms), std::future_status::timeout);
  EXPECT_EQ(slow_b.wait_for(0ms), std::future_status::timeout);
  EXPECT_EQ(slow_a.get(), "exit=0;stdout=;stderr=");
  EXPECT_EQ(slow_b.get(), "exit=0;stdout=;stderr=");
}

// A graceful stop lets the running call (and its command) finish; a forced one interrupts it,
// which must kill the command.
TEST_F(FilesystemRuntimeTest, TerminatingAnActorKillsItsCommand) {
  std::string a =
      Spawn(BaseManifest("allowed_commands = [\"sleep\"]\ncommand_timeout_ms = "
                         "60000\n"));
  auto pending = std::async(std::launch::async, [&] { return Command(a, "exec:.:sleep:30"); });
  auto sleeping = [&] {
    const std::vector<std::string> names = ProcessesWorkingUnder(base_);
    return std::find(names.begin(), names.end(), "sleep") != names.end();
  };
  ASSERT_TRUE(WaitFor(sleeping));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Terminate(a).ok());
  EXPECT_THAT(pending.get(), StartsWith("failed:"));
  // Interrupted, not waited for: well before the sleep would end (30 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_TRUE(WaitFor([&] { return !sleeping(); })) << "the command outlived its actor";
}

TEST_F(FilesystemRuntimeTest, NixCommandsFollowTheSameRules) {
  std::string denied = Spawn(BaseManifest("allowed_commands = [\"echo\"]\n"));
  EXPECT_THAT(Command(denied, "nix:.:echo hi"),
              StartsWith("cmd-error:permission-denied: Command 'nix' not in the filesystem "
                         "handler's allowed_commands"));
  std::string inner_denied = Spawn(BaseManifest("allowed_commands = [\"nix\"]\n"));
  EXPECT_THAT(Command(inner_denied, "nix:.:cargo build"),
              StartsWith("cmd-error:permission-denied: Command 'cargo' not in"));
  // nix is not installed on the test machine: allowed, it is reported missing.
  std::string allowed = Spawn(BaseManifest("allowed_commands = [\"nix\", \"echo\"]\n"));
  EXPECT_THAT(Command(allowed, "nix:.:echo hi"),
              StartsWith("cmd-error:not-found: command 'nix' not found"));
  EXPECT_THAT(Command(allowed, "nix:out:echo hi"), HasSubstr("'out' escapes"));
  EXPECT_THAT(Command(allowed, "nix:.:  "), HasSubstr("empty command"));
}

TEST_F(FilesystemRuntimeTest, TheChainRecordsEveryCallWithItsInputsAndOutputs) {
  std::string a = Spawn(BaseManifest("allowed_commands = [\"echo\"]\n"));
  EXPECT_EQ(Command(a, "write:c.txt:chained"), "ok");
  EXPECT_EQ(Command(a, "read:c.txt"), "chained");
  EXPECT_THAT(Command(a, "read:../x"), StartsWith("error:"));
  EXPECT_EQ(Command(a, "exec:.:echo:recorded"), "exit=0;stdout=recorded\n;stderr=");
  ASSERT_TRUE(runtime_->VerifyChain(a).ok());
  std::map<std::string, std::vector<chain::HostCall>> calls;
  for (const chain::HostCall& call : RecordedInChain<chain::HostCall>(a)) {
    if (call.interface == "theater:simple/filesystem") calls[call.function].push_back(call);
  }
  ASSERT_EQ(calls["write-file"].size(), 1u);
  EXPECT_EQ(calls["write-file"][0].input[0].as_string(), "c.txt");
  EXPECT_EQ(calls["write-file"][0].input[1].as_string(), "chained");
  ASSERT_EQ(calls["read-file"].size(), 2u);
  // The outputs: ok(content), then err(why) for the escape attempt.
  ASSERT_TRUE(calls["read-file"][0].output.ok());
  EXPECT_THAT(chain::ValueToJson(calls["read-file"][0].output.values[0]).dump(),
              HasSubstr("chained"));
  EXPECT_THAT(chain::ValueToJson(calls["read-file"][1].output.values[0]).dump(),
              HasSubstr("contains a '..' component"));
  ASSERT_EQ(calls["execute-command"].size(), 1u);
  EXPECT_EQ(calls["execute-command"][0].input[1].as_string(), "echo");
  EXPECT_THAT(chain::ValueToJson(calls["execute-command"][0].output.values[0]).dump(),
              HasSubstr("recorded"));
}

}  // namespace
}  // namespace theater
