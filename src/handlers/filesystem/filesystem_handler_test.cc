// Theater: a WebAssembly actor runtime.
//
// Tests of the filesystem handler's parts without wasm: config parsing (through the handler's
// CreateInstance), guest path checks, the kernel-confined operations on a real temporary tree
// with symbolic links pointing out, and the command runner (arguments, directory, exit codes,
// timeout, output limit, UTF-8, kill). The end-to-end tests with a real actor are in
// filesystem_runtime_test.cc.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "common/confined_dir.h"
#include "common/hide_landlock_test_util.h"
#include "common/io_loop_threads.h"
#include "common/landlock.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "handlers/filesystem/command_runner.h"
#include "handlers/filesystem/filesystem_handler.h"
#include "handlers/filesystem/fs_config.h"
#include "testing/marker_library.h"
#include "testing/process_state.h"
#include "testing/wait_for.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::theater::testing_util::ProcessesWorkingUnder;
using ::theater::testing_util::WaitFor;
using json = nlohmann::json;

Status CreateWith(json config) {
  HandlerConfig handler_config;
  handler_config.type = "filesystem";
  handler_config.config = std::move(config);
  return NewFilesystemHandler()->CreateInstance(handler_config).status();
}

std::string ErrorOf(json config) {
  Status s = CreateWith(std::move(config));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  return s.message();
}

TEST(FilesystemConfigTest, PrototypeNamesItsInterface) {
  auto handler = NewFilesystemHandler();
  EXPECT_EQ(handler->name(), "filesystem");
  EXPECT_EQ(handler->imports(), "theater:simple/filesystem");
  EXPECT_EQ(handler->exports(), std::nullopt);
}

TEST(FilesystemConfigTest, ParsesEveryKey) {
  auto parsed = ParseFilesystemConfig(json{{"path", "data"},
                                           {"allowed_commands", {"ls", "/bin/echo"}},
                                           {"command_timeout_ms", 200},
                                           {"max_output_bytes", 100},
                                           {"max_file_bytes", 1000}});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->path, "data");
  EXPECT_FALSE(parsed->new_dir);
  EXPECT_EQ(parsed->allowed_commands, (std::vector<std::string>{"ls", "/bin/echo"}));
  EXPECT_EQ(parsed->command_timeout_ms, 200u);
  EXPECT_EQ(parsed->max_output_bytes, 100u);
  EXPECT_EQ(parsed->max_file_bytes, 1000u);
  EXPECT_FALSE(parsed->unconfined);  // confined by default
  EXPECT_FALSE(parsed->allow_network);
  EXPECT_TRUE(parsed->require_noexec);  // refuse to run where grants cannot be made noexec
  auto opened = ParseFilesystemConfig(json{
      {"path", "data"}, {"unconfined", true}, {"allow_network", true}, {"require_noexec", false}});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->unconfined);
  EXPECT_TRUE(opened->allow_network);
  EXPECT_FALSE(opened->require_noexec);

  auto fresh = ParseFilesystemConfig(json{{"temp_dir", true}, {"keep_dir", true}});
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->temp_dir);
  EXPECT_TRUE(fresh->keep_dir);
  EXPECT_FALSE(fresh->path);
  EXPECT_TRUE(fresh->allowed_commands.empty());  // no command runs unless listed
  EXPECT_TRUE(CreateWith(json{{"temp_dir", true}}).ok());
  // `new_dir = true` alone is the older spelling of temp_dir.
  auto older = ParseFilesystemConfig(json{{"new_dir", true}, {"keep_dir", true}});
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_TRUE(older->temp_dir);
  EXPECT_FALSE(older->new_dir);
  EXPECT_TRUE(older->keep_dir);
  // With path, as the design documents write it: use that directory, creating it if missing.
  auto design = ParseFilesystemConfig(json{{"path", "data"}, {"new_dir", true}});
  ASSERT_TRUE(design.ok()) << design.status().ToString();
  EXPECT_EQ(design->path, "data");
  EXPECT_TRUE(design->new_dir);
  EXPECT_FALSE(design->temp_dir);
}

TEST(FilesystemConfigTest, RejectsUnknownMistypedAndContradictoryKeys) {
  EXPECT_THAT(ErrorOf(json{{"pathh", "x"}}), HasSubstr("unknown key 'pathh'"));
  EXPECT_THAT(ErrorOf(json::object()), HasSubstr("one of 'path' or 'temp_dir = true' is required"));
  EXPECT_THAT(ErrorOf(json{{"new_dir", false}}), HasSubstr("one of 'path'"));
  EXPECT_THAT(ErrorOf(json{{"path", "x"}, {"temp_dir", true}}),
              HasSubstr("path and temp_dir = true are exclusive"));
  EXPECT_EQ(ErrorOf(json{{"path", 3}}), "path: must be a string");
  EXPECT_EQ(ErrorOf(json{{"path", ""}}), "path: must not be empty");
  EXPECT_EQ(ErrorOf(json{{"new_dir", "yes"}}), "new_dir: must be a boolean");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"keep_dir", true}}),
            "keep_dir: only allowed with temp_dir (a private directory)");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"new_dir", true}, {"keep_dir", true}}),
            "keep_dir: only allowed with temp_dir (a private directory)");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"allowed_commands", "ls"}}),
            "allowed_commands: must be a list of strings");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"allowed_commands", {"ls", 3}}}),
            "allowed_commands[1]: must be a string");
  EXPECT_THAT(ErrorOf(json{{"path", "x"}, {"allowed_commands", {"./run.sh"}}}),
              HasSubstr("allowed_commands[0]: './run.sh' must be a bare program name"));
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"command_timeout_ms", -1}}),
            "command_timeout_ms: must be a non-negative integer");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"command_timeout_ms", 0}}),
            "command_timeout_ms: must be at least 1");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"max_output_bytes", 1.5}}),
            "max_output_bytes: must be a non-negative integer");
  EXPECT_THAT(ErrorOf(json{{"path", "x"}, {"max_file_bytes", 1ull << 40}}),
              HasSubstr("max_file_bytes: 1099511627776 exceeds the maximum"));
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"unconfined", 1}}), "unconfined: must be a boolean");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"allow_network", "yes"}}),
            "allow_network: must be a boolean");
  EXPECT_EQ(ErrorOf(json{{"path", "x"}, {"require_noexec", 0}}),
            "require_noexec: must be a boolean");
}

TEST(GuestPathTest, SplitsAndRefusesWhatCouldEscapeOrMislead) {
  auto p = ParseGuestPath("a//b/./c/");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->parts, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p->Joined(), "a/b/c");
  EXPECT_EQ(ParseGuestPath(".")->Joined(), ".");
  EXPECT_TRUE(ParseGuestPath("")->parts.empty());
  EXPECT_THAT(ParseGuestPath("..").status().message(), HasSubstr("'..' contains a '..'"));
  EXPECT_THAT(ParseGuestPath("a/../../x").status().message(), HasSubstr("'a/../../x'"));
  EXPECT_THAT(ParseGuestPath("/etc/passwd").status().message(), HasSubstr("is absolute"));
  EXPECT_THAT(ParseGuestPath(std::string("a\0b", 3)).status().message(),
              HasSubstr("contains a NUL byte"));
  EXPECT_THAT(ParseGuestPath(std::string(5000, 'a')).status().message(),
              HasSubstr("more than the limit of 4096"));
  EXPECT_TRUE(ParseGuestPath("..a/b..").ok());  // only whole ".." components are refused
}

// A base directory with a file, a subdirectory, and links: inside, out (relative), abs
// (absolute), a link to a file outside, and a loop. `outside` holds a secret.
class ConfinedDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    top_ = fs::temp_directory_path() / ("theater-fsunit-" + NewUuid());
    base_ = top_ / "base";
    outside_ = top_ / "outside";
    fs::create_directories(base_ / "sub");
    fs::create_directories(outside_);
    std::ofstream(outside_ / "secret.txt") << "secret";
    std::ofstream(base_ / "a.txt") << "hello";
    fs::create_directory_symlink("sub", base_ / "inlink");
    fs::create_directory_symlink("../outside", base_ / "out");
    fs::create_directory_symlink(outside_, base_ / "abs");
    fs::create_symlink("../outside/secret.txt", base_ / "secretlink");
    fs::create_symlink("loop2", base_ / "loop1");
    fs::create_symlink("loop1", base_ / "loop2");
    auto root = OpenRoot(base_.string());
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    root_ = std::move(root).value();
  }
  void TearDown() override { fs::remove_all(top_); }

  std::vector<std::string> Parts(std::string_view path) { return ParseGuestPath(path)->parts; }

  fs::path top_, base_, outside_;
  UniqueFd root_;
};

TEST_F(ConfinedDirTest, OperationsWorkInside) {
  int r = root_.get();
  ASSERT_TRUE(WriteFileBeneath(r, Parts("sub/x.txt"), "data", 100, "sub/x.txt").ok());
  EXPECT_EQ(*ReadFileBeneath(r, Parts("inlink/x.txt"), 100, "inlink/x.txt"),
            (std::vector<uint8_t>{'d', 'a', 't', 'a'}));
  EXPECT_EQ(*ListBeneath(r, Parts("sub"), "sub"), (std::vector<std::string>{"x.txt"}));
  ASSERT_TRUE(CreateDirBeneath(r, Parts("sub/d"), "sub/d").ok());
  ASSERT_TRUE(WriteFileBeneath(r, Parts("sub/d/y"), "", 100, "sub/d/y").ok());
  EXPECT_TRUE(*ExistsBeneath(r, Parts("sub/d/y"), "sub/d/y"));
  EXPECT_FALSE(*ExistsBeneath(r, Parts("sub/nope"), "sub/nope"));
  EXPECT_FALSE(*ExistsBeneath(r, Parts("a.txt/below"), "a.txt/below"));
  ASSERT_TRUE(DeleteDirBeneath(r, Parts("sub"), "sub").ok());
  EXPECT_FALSE(fs::exists(base_ / "sub"));
  EXPECT_TRUE(fs::is_symlink(base_ / "inlink"));
}

TEST_F(ConfinedDirTest, LinksLeadingOutAreRefusedByTheKernel) {
  int r = root_.get();
  for (const char* path : {"out/secret.txt", "abs/secret.txt", "secretlink"}) {
    SCOPED_TRACE(path);
    Result<std::vector<uint8_t>> read = ReadFileBeneath(r, Parts(path), 100, path);
    EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied);
    EXPECT_THAT(read.status().message(), HasSubstr(std::string("'") + path + "' escapes"));
    EXPECT_EQ(WriteFileBeneath(r, Parts(path), "pwned", 100, path).code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(ExistsBeneath(r, Parts(path), path).status().code(), StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(ListBeneath(r, Parts("out"), "out").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(DeleteFileBeneath(r, Parts("out/secret.txt"), "out/secret.txt").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CreateDirBeneath(r, Parts("abs/new"), "abs/new").code(), StatusCode::kPermissionDenied);
  // delete-dir of a link refuses without touching what it points to.
  EXPECT_THAT(DeleteDirBeneath(r, Parts("out"), "out").message(), HasSubstr("symbolic link"));
  Status loop = ReadFileBeneath(r, Parts("loop1"), 100, "loop1").status();
  EXPECT_THAT(loop.message(), HasSubstr("too many levels of symbolic links"));
  EXPECT_FALSE(ExistsBeneath(r, Parts("loop1"), "loop1").ok());
  // Deleting a link removes the link only.
  ASSERT_TRUE(DeleteFileBeneath(r, Parts("secretlink"), "secretlink").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(base_ / "secretlink")));
  std::ifstream secret(outside_ / "secret.txt");
  std::string text((std::istreambuf_iterator<char>(secret)), {});
  EXPECT_EQ(text, "secret");
  EXPECT_FALSE(fs::exists(outside_ / "new"));
}

TEST_F(ConfinedDirTest, DeleteDirDoesNotFollowLinksInside) {
  int r = root_.get();
  fs::create_directories(base_ / "tree/deep/er");
  std::ofstream(base_ / "tree/deep/er/f") << "x";
  fs::create_directory_symlink(outside_, base_ / "tree/deep/escape");
  ASSERT_TRUE(DeleteDirBeneath(r, Parts("tree"), "tree").ok());
  EXPECT_FALSE(fs::exists(base_ / "tree"));
  EXPECT_TRUE(fs::exists(outside_ / "secret.txt"));
  EXPECT_THAT(DeleteDirBeneath(r, Parts("a.txt"), "a.txt").message(), HasSubstr("not a directory"));
  EXPECT_THAT(DeleteDirBeneath(r, {}, ".").message(), HasSubstr("base directory itself"));
}

TEST_F(ConfinedDirTest, LimitsAndFileTypes) {
  int r = root_.get();
  EXPECT_EQ(ReadFileBeneath(r, Parts("a.txt"), 4, "a.txt").status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(WriteFileBeneath(r, Parts("b.txt"), "12345", 4, "b.txt").code(),
            StatusCode::kResourceExhausted);
  EXPECT_THAT(ReadFileBeneath(r, Parts("sub"), 100, "sub").status().message(),
              HasSubstr("is a directory"));
  ASSERT_EQ(::mkfifo((base_ / "fifo").c_str(), 0600), 0);
  // A FIFO neither blocks the read nor is written to.
  EXPECT_THAT(ReadFileBeneath(r, Parts("fifo"), 100, "fifo").status().message(),
              HasSubstr("not a regular file"));
  EXPECT_FALSE(WriteFileBeneath(r, Parts("fifo"), "x", 100, "fifo").ok());
  EXPECT_EQ(CreateDirBeneath(r, Parts("sub"), "sub").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFileBeneath(r, Parts(std::string(300, 'n')), 100, "long").status().code(),
            StatusCode::kInvalidArgument);
}

// A symbolic link flipped between a directory inside and one outside while reads go on: the
// kernel resolves each read atomically, so the secret never comes back.
TEST_F(ConfinedDirTest, SymlinkRaceNeverLeaksTheSecret) {
  std::ofstream(base_ / "sub/secret.txt") << "public";
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    fs::path link = base_ / "flip", tmp = base_ / "flip.tmp";
    for (int i = 0; !stop; ++i) {
      std::error_code ec;
      fs::remove(tmp, ec);
      fs::create_directory_symlink(i % 2 ? fs::path("sub") : outside_, tmp, ec);
      fs::rename(tmp, link, ec);
    }
  });
  int leaked = 0;
  for (int i = 0; i < 2000; ++i) {
    auto data = ReadFileBeneath(root_.get(), Parts("flip/secret.txt"), 100, "flip/secret.txt");
    if (data.ok() && std::string(data->begin(), data->end()) == "secret") ++leaked;
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(leaked, 0);
}

// The runner watches its commands on a loop of the test's own, as the handler's does on the
// host's.
class CommandRunnerTest : public ConfinedDirTest {
 protected:
  CommandSpec Spec(std::string program, std::vector<std::string> args) {
    CommandSpec spec;
    spec.program = std::move(program);
    spec.args = std::move(args);
    spec.cwd_fd = root_.get();
    return spec;
  }
  // Starts `spec` and waits for its outcome.
  std::optional<CommandOutput> RunSpec(const CommandSpec& spec) {
    auto finished = std::make_shared<std::promise<void>>();
    std::future<void> done = finished->get_future();
    Result<uint64_t> id = runner_.Start(spec, [finished] { finished->set_value(); });
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return std::nullopt;
    EXPECT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return runner_.Take(*id);
  }
  CommandOutput Run(std::string program, std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                    uint64_t max_output = 1 << 20) {
    CommandSpec spec = Spec(std::move(program), std::move(args));
    spec.timeout = timeout;
    spec.max_output_bytes = max_output;
    std::optional<CommandOutput> out = RunSpec(spec);
    EXPECT_TRUE(out.has_value());
    return out.value_or(CommandOutput{});
  }

  IoLoopThreads loop_{1};  // outlives the runner
  CommandRunner runner_{loop_.context()};
};

TEST_F(CommandRunnerTest, RunsWithArgumentsInTheDirectoryAndCapturesBothStreams) {
  CommandOutput out = Run("echo", {"hello", "world"});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, "hello world\n");
  EXPECT_EQ(Run("pwd", {}).stdout_text, fs::canonical(base_).string() + "\n");
  CommandOutput missing = Run("ls", {"no-such-file"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.stderr_text, HasSubstr("no-such-file"));
  EXPECT_EQ(missing.stdout_text, "");
  // The host's environment is not passed on, only a few harmless variables.
  ::setenv("THEATER_FSTEST_SECRET", "hunter2", 1);
  EXPECT_THAT(Run("env", {}).stdout_text, ::testing::Not(HasSubstr("hunter2")));
  ::unsetenv("THEATER_FSTEST_SECRET");
  // stdin is /dev/null: a program that reads it sees its end at once.
  EXPECT_EQ(Run("wc", {"-c"}).stdout_text, "0\n");
}

TEST_F(CommandRunnerTest, TimeoutKillsTheGroupAndOutputIsLimitedAndValidUtf8) {
  auto start = std::chrono::steady_clock::now();
  CommandOutput slow = Run("sleep", {"30"}, std::chrono::milliseconds(200));
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(slow.killed);
  EXPECT_EQ(slow.exit_code, -1);
  // Killed, not waited for: well before the sleep would end (30 s), however busy the machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));

  CommandOutput big = Run("seq", {"1", "100000"}, std::chrono::seconds(10), 100);
  EXPECT_TRUE(big.stdout_truncated);
  EXPECT_EQ(big.exit_code, 0);
  EXPECT_THAT(big.stdout_text, HasSubstr("[theater: stdout truncated: 588895 bytes written, only "
                                         "the first 100 kept]"));
  EXPECT_EQ(big.stdout_text.substr(0, 6), "1\n2\n3\n");

  EXPECT_EQ(theater::SanitizeUtf8("ok\xff\xfe!"), "ok\xEF\xBF\xBD\xEF\xBF\xBD!");
  EXPECT_EQ(theater::SanitizeUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST_F(CommandRunnerTest, KillEndsACommandPromptlyAndMissingProgramsAreNotFound) {
  CommandSpec spec = Spec("sleep", {"30"});
  auto finished = std::make_shared<std::promise<void>>();
  std::future<void> done = finished->get_future();
  Result<uint64_t> id = runner_.Start(spec, [finished] { finished->set_value(); });
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(done.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  EXPECT_FALSE(runner_.Take(*id).has_value());
  runner_.Kill(*id);
  // Well before the sleep would end (30 s).
  ASSERT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  std::optional<CommandOutput> killed = runner_.Take(*id);
  ASSERT_TRUE(killed.has_value());
  EXPECT_TRUE(killed->killed);
  EXPECT_FALSE(runner_.Take(*id).has_value());  // taken once

  spec.program = "theater-no-such-program";
  EXPECT_EQ(runner_.Start(spec, [] {}).status().code(), StatusCode::kNotFound);
  spec.program = "/nonexistent/prog";
  EXPECT_THAT(runner_.Start(spec, [] {}).status().message(),
              HasSubstr("command '/nonexistent/prog' not found"));
}

// An abandoned command is killed and never reported; Shutdown() kills what still runs and hands
// each its outcome, and refuses new commands.
TEST_F(CommandRunnerTest, AbandonAndShutdownKillWhatRuns) {
  bool abandoned_done = false;
  Result<uint64_t> abandoned =
      runner_.Start(Spec("sleep", {"30"}), [&abandoned_done] { abandoned_done = true; });
  ASSERT_TRUE(abandoned.ok()) << abandoned.status().ToString();
  // Both commands work in base_: nothing else there is called sleep.
  auto sleeping = [&] {
    const std::vector<std::string> names = ProcessesWorkingUnder(base_);
    return std::find(names.begin(), names.end(), "sleep") != names.end();
  };
  ASSERT_TRUE(WaitFor(sleeping));
  runner_.Abandon(*abandoned);
  EXPECT_TRUE(WaitFor([&] { return !sleeping(); })) << "the abandoned command still runs";

  auto finished = std::make_shared<std::promise<void>>();
  std::future<void> done = finished->get_future();
  Result<uint64_t> running = runner_.Start(Spec("sh", {"-c", "echo started; exec sleep 30"}),
                                           [finished] { finished->set_value(); });
  ASSERT_TRUE(running.ok()) << running.status().ToString();
  // Once the sleep runs, "started" is in the pipe; the runner's loop thread reads it within
  // milliseconds of its arrival (nothing it does can be observed from here, hence the margin).
  ASSERT_TRUE(WaitFor(sleeping));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  runner_.Shutdown();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  std::optional<CommandOutput> out = runner_.Take(*running);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->killed);
  EXPECT_EQ(out->stdout_text, "started\n");
  EXPECT_FALSE(abandoned_done);
  EXPECT_FALSE(runner_.Take(*abandoned).has_value());
  EXPECT_EQ(runner_.Start(Spec("echo", {}), [] {}).status().code(),
            StatusCode::kFailedPrecondition);
}

// execute-command takes no variables, but arguments can name a library too: openssl loads a
// provider from the directory -provider-path names. A shared object written into the handler's
// directory is not loaded (its grant is mounted noexec for the command), where Landlock alone
// would let it run.
TEST_F(CommandRunnerTest, ALibraryWrittenIntoTheGrantIsNotLoadedByACommand) {
  const fs::path base = fs::canonical(base_);
  const fs::path marker = base / "evil-ran";
  Status built = testing_util::BuildMarkerLibrary(base, marker);
  ASSERT_TRUE(built.ok()) << built.ToString();
  // As the handler grants its directory (Sandbox()): read-write.
  CommandSpec spec =
      Spec("openssl", {"list", "-providers", "-provider-path", base.string(), "-provider", "evil"});
  spec.sandbox.grants.push_back(
      {root_.get(), base.string(), landlock::kRead | landlock::kWrite | landlock::kMakeDir});
  CommandSpec landlock_only = spec;
  landlock_only.sandbox.noexec = SandboxPolicy::Noexec::kOff;
  ASSERT_TRUE(RunSpec(landlock_only).has_value());
  EXPECT_TRUE(fs::exists(marker)) << "the payload is not live";
  fs::remove(marker);
  std::optional<CommandOutput> out = RunSpec(spec);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_THAT(out->stderr_text, HasSubstr("failed to map segment from shared object"));
  // The command's environment is the host's base: nothing the actor could name.
  CommandOutput env = Run("env", {});
  EXPECT_THAT(env.stdout_text, ::testing::Not(HasSubstr("OPENSSL")));
}

// On a kernel without Landlock (hidden by a seccomp filter on this thread), a command is refused
// unless the policy is unconfined; with it, it runs.
TEST_F(CommandRunnerTest, WithoutLandlockACommandRunsOnlyUnconfined) {
  Status refused;
  std::optional<CommandOutput> unconfined;
  std::thread t([&] {
    ASSERT_TRUE(testing_util::HideLandlockFromThisThread());
    CommandSpec spec = Spec("sh", {"-c", "echo ran > ran.txt; echo ran"});
    refused = runner_.Start(spec, [] {}).status();
    spec.sandbox.confine = false;
    unconfined = RunSpec(spec);
  });
  t.join();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("cannot run 'sh': Landlock is not available"));
  EXPECT_THAT(refused.message(), HasSubstr("unless the handler's config sets unconfined = true"));
  ASSERT_TRUE(unconfined.has_value());
  EXPECT_EQ(unconfined->stdout_text, "ran\n");
}

}  // namespace
}  // namespace theater::handlers
