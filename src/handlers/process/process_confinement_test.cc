// Theater: a WebAssembly actor runtime.
//
// What confines the programs actors run (common/confined_spawn.h, common/landlock.h,
// common/child_env.h), through a real ProcessSupervisor and real child processes: Landlock keeps
// arguments from reaching outside the granted directories (read and read-write grants, the
// system paths, TCP), the refusal when the kernel hides Landlock (a seccomp filter on the
// spawning thread makes landlock_create_ruleset answer ENOSYS, as on a kernel without it) and
// `unconfined`, the environment allow-list and the variables that are never passed, the noexec
// grants against a hostile actor making allowed programs load a library it wrote (OpenSSL,
// Python, Node, bash, iconv, with the system's real programs), and the spawn shim killing every
// descendant — those that `setsid -f` away or double-fork included — on os-kill, at the
// program's exit and at shutdown.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/child_env.h"
#include "common/hide_landlock_test_util.h"
#include "common/io_loop_threads.h"
#include "common/landlock.h"
#include "common/test_dir.h"
#include "handlers/process/process_config.h"
#include "handlers/process/process_permissions.h"
#include "handlers/support/process_supervisor.h"
#include "testing/marker_library.h"
#include "testing/process_state.h"
#include "testing/wait_for.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using Kind = ProcessEvent::Kind;

// Collects every event and acknowledges it at once.
class Events {
 public:
  ProcessSupervisor::Sink Sink() {
    return [this](const ProcessEvent& e, std::function<void()> ack) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (e.kind == Kind::kExit) {
          exits_[e.id] = e.exit_code;
        } else {
          (e.kind == Kind::kStdout ? out_ : err_)[e.id].append(e.data.begin(), e.data.end());
        }
      }
      cv_.notify_all();
      ack();
      return ProcessSupervisor::Delivery::kAccepted;
    };
  }
  // The exit code of `id` once it has exited (nullopt after the timeout).
  std::optional<int> WaitExit(uint64_t id, std::chrono::milliseconds timeout = 30s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return exits_.count(id) > 0; })) return std::nullopt;
    return exits_[id];
  }
  std::string Out(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return out_[id];
  }
  std::string Err(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return err_[id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, int> exits_;
  std::map<uint64_t, std::string> out_, err_;
};

ProcessSpec Shell(const std::string& script, int cwd_fd) {
  ProcessSpec spec;
  spec.program = "sh";
  spec.args = {"-c", script};
  spec.cwd_fd = cwd_fd;
  return spec;
}

using testing_util::ProcessAlive;
using testing_util::WaitFor;

// Waits until `pid` is no longer running (SIGKILL takes effect when the killed process next runs,
// which on a busy machine may take a while); false if it never stops.
bool Gone(pid_t pid) {
  return WaitFor([&] { return !ProcessAlive(pid); });
}

// The pid a script wrote to `file`, once it has (0 if it never does).
pid_t WaitPidFile(const fs::path& file) {
  pid_t pid = 0;
  WaitFor([&] {
    std::ifstream in(file);
    return in >> pid && pid > 0;
  });
  return pid;
}

class ProcessConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(landlock::Abi().ok()) << "these tests need a kernel with Landlock";
    work_ = dir_.path() / "work";
    fs::create_directories(work_);
    fs::create_directories(dir_.path() / "outside");
    fs::create_directories(dir_.path() / "shared");
    std::ofstream(work_ / "inside.txt") << "inside\n";
    std::ofstream(dir_.path() / "outside" / "secret.txt") << "secret\n";
    std::ofstream(dir_.path() / "shared" / "data.txt") << "shared\n";
    cwd_ = ::open(work_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(cwd_, 0);
  }
  void TearDown() override {
    if (sup_) sup_->Shutdown();
    if (cwd_ >= 0) ::close(cwd_);
  }
  ProcessSupervisor& Sup() {
    if (!sup_)
      sup_ = std::make_unique<ProcessSupervisor>(loop_.context(), ProcessSupervisor::Options{},
                                                 events_.Sink());
    return *sup_;
  }
  // A spec confined to the working directory, read-write (as the process handler grants it).
  ProcessSpec Confined(const std::string& script) {
    ProcessSpec spec = Shell(script, cwd_);
    spec.sandbox.grants.push_back(
        {cwd_, "work", landlock::kRead | landlock::kWrite | landlock::kMakeDir});
    return spec;
  }
  uint64_t Run(const ProcessSpec& spec) {
    Result<uint64_t> id = Sup().Spawn(spec);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  testing_util::TestDir dir_{"theater-confine"};
  fs::path work_;
  int cwd_ = -1;
  Events events_;
  IoLoopThreads loop_{1};  // outlives sup_
  std::unique_ptr<ProcessSupervisor> sup_;
};

TEST_F(ProcessConfinementTest, ArgumentsCannotReachOutsideTheGrantedDirectories) {
  uint64_t id =
      Run(Confined("cat inside.txt;"
                   "cat /etc/hostname >/dev/null 2>&1 || echo hostname-denied;"
                   "cat ../outside/secret.txt 2>/dev/null || echo sibling-denied;"
                   "ls / >/dev/null 2>&1 || echo root-denied;"
                   "echo written > new.txt && cat new.txt;"
                   "mkdir made && echo dir-made;"
                   "echo x > ../outside/new.txt 2>/dev/null || echo write-outside-denied"));
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id),
            "inside\nhostname-denied\nsibling-denied\nroot-denied\nwritten\ndir-made\n"
            "write-outside-denied\n");
  EXPECT_FALSE(fs::exists(dir_.path() / "outside" / "new.txt"));
  // The denial is the kernel's, reported by the program as it would report any EACCES.
  uint64_t cat = Run(Confined("exec cat /etc/hostname"));
  EXPECT_EQ(events_.WaitExit(cat), 1);
  EXPECT_THAT(events_.Err(cat), HasSubstr("Permission denied"));
}

TEST_F(ProcessConfinementTest, AReadGrantAllowsReadingOnly) {
  ProcessSpec spec = Confined(
      "cat ../shared/data.txt;"
      "echo x > ../shared/new.txt 2>/dev/null || echo write-denied;"
      "rm ../shared/data.txt 2>/dev/null || echo remove-denied");
  spec.sandbox.grants.push_back({-1, (dir_.path() / "shared").string(), landlock::kRead});
  uint64_t id = Run(spec);
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id), "shared\nwrite-denied\nremove-denied\n");
  EXPECT_TRUE(fs::exists(dir_.path() / "shared" / "data.txt"));
}

TEST_F(ProcessConfinementTest, UnconfinedRunsWithoutLandlock) {
  std::ifstream in("/etc/hostname");
  std::string hostname((std::istreambuf_iterator<char>(in)), {});
  ProcessSpec spec = Confined("cat /etc/hostname");
  spec.sandbox.confine = false;
  uint64_t id = Run(spec);
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id), hostname);
}

TEST_F(ProcessConfinementTest, WithoutLandlockNothingStartsUnlessUnconfined) {
  // The same thread spawns (the probe runs in the caller), so the filter applies to the probe.
  Status refused, unconfined;
  std::thread t([&] {
    ASSERT_TRUE(testing_util::HideLandlockFromThisThread());
    Result<int> abi = landlock::Abi();
    EXPECT_FALSE(abi.ok());
    Result<uint64_t> r = Sup().Spawn(Confined("echo should-not-run > ran.txt"));
    refused = r.status();
    ProcessSpec spec = Confined("echo ran-unconfined");
    spec.sandbox.confine = false;
    Result<uint64_t> ok = Sup().Spawn(spec);
    unconfined = ok.status();
    if (ok.ok()) {
      EXPECT_EQ(events_.WaitExit(*ok), 0);
      EXPECT_EQ(events_.Out(*ok), "ran-unconfined\n");
    }
  });
  t.join();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.ToString(), HasSubstr("Landlock is not available"));
  EXPECT_THAT(refused.ToString(), HasSubstr("unconfined = true"));
  EXPECT_FALSE(fs::exists(work_ / "ran.txt"));
  EXPECT_TRUE(unconfined.ok()) << unconfined.ToString();
}

TEST_F(ProcessConfinementTest, TcpIsDeniedUnlessAllowed) {
  Result<int> abi = landlock::Abi();
  ASSERT_TRUE(abi.ok());
  ASSERT_GE(*abi, 4) << "TCP rules need Landlock ABI 4 (Linux 6.7)";
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string connect =
      "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(ntohs(addr.sin_port)) + " && echo connected";
  ProcessSpec denied = Confined("");
  denied.program = "bash";
  denied.args = {"-c", connect};
  uint64_t a = Run(denied);
  EXPECT_EQ(events_.WaitExit(a), 1);
  EXPECT_THAT(events_.Err(a), HasSubstr("Permission denied"));
  ProcessSpec allowed = denied;
  allowed.sandbox.allow_network = true;
  uint64_t b = Run(allowed);
  EXPECT_EQ(events_.WaitExit(b), 0);
  EXPECT_EQ(events_.Out(b), "connected\n");
  ::close(listener);
}

TEST_F(ProcessConfinementTest, EnvironmentIsTheHostsBasePlusWhatAllowedEnvNames) {
  // Refused before anything starts: the loader's variables even when a list names them, and
  // whatever a list does not name.
  for (const char* name : {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH",
                           "GLIBC_TUNABLES", "MALLOC_CHECK_", "LOCPATH"}) {
    ProcessSpec spec = Confined("echo ran > ran.txt");
    spec.env = {{"FOO", "bar"}, {name, "/tmp/evil.so"}};
    spec.env_allowed = {{"the test", {"FOO", name, "L*", "G*", "M*"}}};
    Result<uint64_t> r = Sup().Spawn(spec);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << name;
    EXPECT_THAT(r.status().ToString(),
                HasSubstr(std::string("env: ") + name + " is never passed to a child process"));
  }
  ProcessSpec unnamed = Confined("echo ran > ran.txt");
  unnamed.env = {{"FOO", "bar"}, {"APP_MODE", "x"}, {"GIT_SSH_COMMAND", "sh evil.sh"}};
  unnamed.env_allowed = {{"the config", {"FOO", "APP_*"}}, {"the permission", {"FOO", "APP_*"}}};
  Status refused = Sup().Spawn(unnamed).status();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "env: GIT_SSH_COMMAND may not be set: it is not in allowed_env of the config "
            "([\"FOO\", \"APP_*\"]); to allow it, an operator adds \"GIT_SSH_COMMAND\" to that "
            "list (docs/handlers.md, \"Environment of child processes\")");
  // Every list must name it: the permission is a ceiling on the config.
  unnamed.env = {{"APP_MODE", "x"}};
  unnamed.env_allowed[1].patterns = {"FOO"};
  EXPECT_THAT(Sup().Spawn(unnamed).status().message(),
              HasSubstr("APP_MODE may not be set: it is not in allowed_env of the permission"));
  // No list at all (the filesystem handler's commands): nothing may be set.
  unnamed.env_allowed.clear();
  EXPECT_THAT(Sup().Spawn(unnamed).status().message(),
              HasSubstr("env: APP_MODE may not be set: no allowed_env applies"));
  EXPECT_FALSE(fs::exists(work_ / "ran.txt"));

  // From the host: only the base, whatever else is set.
  ::setenv("LD_LIBRARY_PATH", "/nonexistent", 1);
  ::setenv("THEATER_CONFINE_TEST_TOKEN", "hunter2", 1);
  ::setenv("LC_TIME", "C", 1);
  ::setenv("TMPDIR", "/tmp", 1);
  ProcessSpec spec = Confined("env");
  spec.program = "env";
  spec.args = {};
  spec.env = {{"FOO", "bar"}, {"TMPDIR", "."}, {"APP_MODE", "fast"}};
  spec.env_allowed = {{"the test", {"FOO", "TMPDIR", "APP_*"}}};
  uint64_t id = Run(spec);
  ::unsetenv("LD_LIBRARY_PATH");
  ::unsetenv("THEATER_CONFINE_TEST_TOKEN");
  ::unsetenv("LC_TIME");
  ASSERT_EQ(events_.WaitExit(id), 0);
  std::string env = events_.Out(id);
  EXPECT_THAT(env, HasSubstr("LC_TIME=C\n"));
  EXPECT_THAT(env, HasSubstr("FOO=bar\n"));
  EXPECT_THAT(env, HasSubstr("APP_MODE=fast\n"));
  EXPECT_THAT(env, HasSubstr("TMPDIR=.\n"));  // the actor's, not the host's
  EXPECT_THAT(env, Not(HasSubstr("TMPDIR=/tmp")));
  EXPECT_THAT(env, Not(HasSubstr("LD_LIBRARY_PATH")));
  EXPECT_THAT(env, Not(HasSubstr("hunter2")));
  EXPECT_TRUE(HostVariablePassed("PATH"));
  EXPECT_TRUE(HostVariablePassed("LC_ALL"));
  EXPECT_FALSE(HostVariablePassed("TMPDIR"));
  EXPECT_FALSE(HostVariablePassed("LD_PRELOAD"));
}

TEST(ChildEnvTest, PatternsMatchNarrowAndAreChecked) {
  EXPECT_TRUE(EnvPatternMatches("MY_VAR", "MY_VAR"));
  EXPECT_FALSE(EnvPatternMatches("MY_VAR", "MY_VAR2"));
  EXPECT_TRUE(EnvPatternMatches("APP_*", "APP_"));
  EXPECT_TRUE(EnvPatternMatches("APP_*", "APP_DEBUG"));
  EXPECT_FALSE(EnvPatternMatches("APP_*", "APPX"));
  EXPECT_TRUE(EnvPatternWithin("APP_DEBUG", "APP_*"));
  EXPECT_TRUE(EnvPatternWithin("APP_X*", "APP_*"));
  EXPECT_FALSE(EnvPatternWithin("APP_*", "APP_X*"));
  EXPECT_FALSE(EnvPatternWithin("APP_*", "APP_DEBUG"));
  // A child's restriction never widens its parent's list, both ways round.
  EXPECT_EQ(IntersectEnvPatterns(std::vector<std::string>{"APP_*", "TZ"},
                                 std::vector<std::string>{"APP_DEBUG", "OPENSSL_CONF", "*"}),
            (AllowList{{"APP_DEBUG", "APP_*", "TZ"}}));
  EXPECT_EQ(IntersectEnvPatterns(std::nullopt, std::vector<std::string>{"TZ"}),
            (AllowList{{"TZ"}}));
  EXPECT_EQ(IntersectEnvPatterns(std::vector<std::string>{"TZ"}, std::vector<std::string>{}),
            (AllowList{std::vector<std::string>{}}));

  EXPECT_TRUE(CheckEnvPattern("MY_VAR").ok());
  EXPECT_TRUE(CheckEnvPattern("APP_*").ok());
  EXPECT_TRUE(CheckEnvPattern("L*").ok());  // wider than LD_*: refused per variable at spawn
  EXPECT_THAT(CheckEnvPattern("*").message(), HasSubstr("would allow every variable"));
  EXPECT_THAT(CheckEnvPattern("").message(), HasSubstr("would allow every variable"));
  EXPECT_THAT(CheckEnvPattern("1X").message(), HasSubstr("is not a variable name"));
  EXPECT_THAT(CheckEnvPattern("A=B").message(), HasSubstr("is not a variable name"));
  EXPECT_THAT(CheckEnvPattern("A*B").message(), HasSubstr("is not a variable name"));
  EXPECT_THAT(CheckEnvPattern("LD_PRELOAD").message(),
              HasSubstr("'LD_PRELOAD': LD_* is never passed to a child process"));
  EXPECT_THAT(CheckEnvPattern("LD_*").message(), HasSubstr("LD_* is never passed"));
  EXPECT_THAT(CheckEnvPattern("GCONV_PATH").message(), HasSubstr("GCONV_PATH is never passed"));
  EXPECT_TRUE(CheckEnvPattern("GCONV_*").ok());
}

// A hostile actor's attempts to make an allowed program run native code it wrote into its
// grant. Each payload below works on an unprotected host (the Landlock-only runs show it: the
// constructor of evil.so creates the marker), and each is refused or inert here.
class HostileChildProcessTest : public ProcessConfinementTest {
 protected:
  void SetUp() override {
    ProcessConfinementTest::SetUp();
    if (HasFatalFailure()) return;
    marker_ = work_ / "evil-ran";
    // As the actor would have written it (a file in its grant).
    Status built = testing_util::BuildMarkerLibrary(work_, marker_);
    ASSERT_TRUE(built.ok()) << built.ToString();
    fs::copy_file(work_ / "evil.so", work_ / "evil.node");  // a Node addon is one too
    const std::string so = (work_ / "evil.so").string();
    std::ofstream(work_ / "evil.cnf") << "openssl_conf = init\n[init]\nproviders = providers\n"
                                         "[providers]\nevil = evil\n[evil]\nmodule = "
                                      << so << "\nactivate = 1\n";
    std::ofstream(work_ / "evil.py") << "import ctypes\nctypes.CDLL('" << so << "')\n";
    std::ofstream(work_ / "evil.sh") << "enable -f " << so << " evil\n";
    fs::create_directories(work_ / "gconv");
    std::ofstream(work_ / "gconv" / "gconv-modules")
        << "module EVIL// INTERNAL " << (work_ / "evil").string() << " 1\n"
        << "module INTERNAL EVIL// " << (work_ / "evil").string() << " 1\n";
  }

  struct Attempt {
    std::string variable, value, program;
    std::vector<std::string> args;
    std::string read_grant = {};  // a directory the program cannot start without
  };
  std::vector<Attempt> Attempts() const {
    const std::string dir = work_.string();
    return {
        {"OPENSSL_CONF", dir + "/evil.cnf", "openssl", {"version"}},
        {"PYTHONSTARTUP", dir + "/evil.py", "/usr/bin/python3", {"-i"}},
        // Node will not start without its OpenSSL configuration.
        {"NODE_OPTIONS", "--require " + dir + "/evil.node", "node", {"-e", "0"}, "/etc/ssl"},
        {"BASH_ENV", dir + "/evil.sh", "bash", {"-c", "true"}},
        {"GCONV_PATH", dir + "/gconv", "iconv", {"-f", "EVIL", "-t", "UTF-8", "evil.c"}},
    };
  }
  ProcessSpec SpecFor(const Attempt& a, std::vector<std::string> allowed) {
    ProcessSpec spec = Confined("");
    spec.program = a.program;
    spec.args = a.args;
    spec.stdin_pipe = false;  // python3 -i reads its end at once
    spec.env = {{a.variable, a.value}};
    spec.env_allowed = {{"the test", std::move(allowed)}};
    if (!a.read_grant.empty()) spec.sandbox.grants.push_back({-1, a.read_grant, landlock::kRead});
    return spec;
  }
  // Runs `spec` to its end; whether the evil constructor ran (the marker is then removed).
  bool EvilRan(const ProcessSpec& spec) {
    uint64_t id = Run(spec);
    EXPECT_TRUE(events_.WaitExit(id).has_value()) << spec.program;
    last_err_ = events_.Err(id);
    bool ran = fs::exists(marker_);
    fs::remove(marker_);
    return ran;
  }

  fs::path marker_;
  std::string last_err_;  // the stderr of EvilRan's program
};

TEST_F(HostileChildProcessTest, VariablesNotNamedByTheOperatorAreRefused) {
  for (const Attempt& a : Attempts()) {
    Result<uint64_t> r = Sup().Spawn(SpecFor(a, {"MY_VAR", "APP_*"}));
    ASSERT_FALSE(r.ok()) << a.variable;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << a.variable;
    EXPECT_THAT(r.status().message(), HasSubstr("env: " + a.variable + " ")) << a.variable;
  }
  EXPECT_FALSE(fs::exists(marker_));
}

// An operator who names a variable lets the actor set it; what it could then make the program
// load from the grant is still not code: the grants are mounted noexec, and the loader's mmap of
// a file there fails. Landlock alone (its execute right covers execve, not mmap) would not stop
// it: the same runs with Noexec::kOff show each payload live.
TEST_F(HostileChildProcessTest, ALibraryTheActorWroteIsNeverLoadedEvenWhenTheVariableIsAllowed) {
  for (const Attempt& a : Attempts()) {
    if (a.variable == "GCONV_PATH") {
      // Never passed, whatever the list says.
      Status refused = Sup().Spawn(SpecFor(a, {a.variable})).status();
      EXPECT_THAT(refused.message(), HasSubstr("GCONV_PATH is never passed to a child process"));
      continue;
    }
    ProcessSpec spec = SpecFor(a, {a.variable});
    ProcessSpec landlock_only = spec;
    landlock_only.sandbox.noexec = SandboxPolicy::Noexec::kOff;
    EXPECT_TRUE(EvilRan(landlock_only)) << a.variable << ": the payload is not live: " << last_err_;
    EXPECT_FALSE(EvilRan(spec)) << a.variable << ": the actor's library ran";
  }
}

// Arguments alone can name a library too (openssl's -provider-path): no variable needed, and
// the filesystem handler's commands take no variables at all. Likewise inert.
TEST_F(HostileChildProcessTest, ALibraryNamedByArgumentsIsNotLoadedEither) {
  ProcessSpec spec = Confined("");
  spec.program = "openssl";
  spec.args = {"list", "-providers", "-provider-path", work_.string(), "-provider", "evil"};
  ProcessSpec landlock_only = spec;
  landlock_only.sandbox.noexec = SandboxPolicy::Noexec::kOff;
  EXPECT_TRUE(EvilRan(landlock_only));
  uint64_t id = Run(spec);
  ASSERT_TRUE(events_.WaitExit(id).has_value());
  EXPECT_FALSE(fs::exists(marker_));
  EXPECT_THAT(events_.Err(id), HasSubstr("failed to map segment from shared object"));
  // Nor can it be executed, nor can the program undo the mount (Landlock forbids mounting).
  ProcessSpec exec = Confined(
      "cp /bin/true ./mytrue; ./mytrue 2>/dev/null || echo exec-denied;"
      "umount . 2>/dev/null || echo umount-denied; echo done");
  uint64_t e = Run(exec);
  ASSERT_EQ(events_.WaitExit(e), 0);
  EXPECT_EQ(events_.Out(e), "exec-denied\numount-denied\ndone\n");
}

// A program that lies in a grant is a file the actor could have written: Landlock lets the
// program's own file run, the noexec grant does not. A grant holding the system directories makes
// them noexec as well, so nothing runs there.
TEST_F(HostileChildProcessTest, NothingInAGrantRunsNotEvenTheProgram) {
  fs::copy_file("/bin/true", work_ / "tool");
  ProcessSpec spec = Confined("");
  spec.program = "./tool";
  spec.args = {};
  ProcessSpec landlock_only = spec;
  landlock_only.sandbox.noexec = SandboxPolicy::Noexec::kOff;
  uint64_t id = Run(landlock_only);
  EXPECT_EQ(events_.WaitExit(id), 0);
  Status refused = Sup().Spawn(spec).status();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(), "cannot run './tool': permission denied (executing the program)");

  ProcessSpec everything = Confined("");
  everything.program = "true";
  everything.sandbox.grants.push_back({-1, "/", landlock::kRead});
  EXPECT_EQ(Sup().Spawn(everything).status().code(), StatusCode::kPermissionDenied);
}

// The host keeps its own mounts: what the program's namespace mounts stays there.
TEST_F(HostileChildProcessTest, TheNoexecMountsStayInTheProgramsNamespace) {
  uint64_t id = Run(Confined("true"));
  ASSERT_EQ(events_.WaitExit(id), 0);
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string all((std::istreambuf_iterator<char>(mountinfo)), {});
  EXPECT_THAT(all, Not(HasSubstr(" " + fs::canonical(work_).string() + " ")));
}

// Without CAP_SYS_ADMIN (CAP_SYS_ADMIN leaves the spawning thread's bounding set: a host not
// running as root), the namespace is made inside a user namespace, the program keeps its ids,
// and the library is still not loaded.
TEST_F(HostileChildProcessTest, WithoutCapSysAdminAUserNamespaceDoesIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "dropping a capability for one thread needs root";
  ProcessSpec spec = SpecFor(Attempts()[0], {"OPENSSL_CONF"});
  ProcessSpec ids = Confined("id -u; id -g; echo x > made.txt && stat -c %u made.txt");
  std::optional<int> evil_exit, ids_exit;
  uint64_t ids_id = 0;
  std::thread t([&] {
    ASSERT_TRUE(testing_util::DropSysAdminFromThisThread());
    uint64_t id = Run(spec);
    evil_exit = events_.WaitExit(id);
    ids_id = Run(ids);
    ids_exit = events_.WaitExit(ids_id);
  });
  t.join();
  ASSERT_TRUE(evil_exit.has_value());
  EXPECT_FALSE(fs::exists(marker_));
  ASSERT_EQ(ids_exit, 0) << events_.Err(ids_id);
  EXPECT_EQ(events_.Out(ids_id), "0\n0\n0\n");
}

// Where no namespace can be made (unshare refused on this thread: no CAP_SYS_ADMIN and user
// namespaces disabled), nothing runs unless the operator opted out; then it runs with
// executable grants and says so.
TEST_F(HostileChildProcessTest, WithoutNamespacesNothingRunsUnlessTheOperatorOptedOut) {
  ProcessSpec spec = SpecFor(Attempts()[0], {"OPENSSL_CONF"});
  Status refused;
  bool opted_out_ran = false;
  std::thread t([&] {
    ASSERT_TRUE(testing_util::RefuseNamespacesOnThisThread());
    refused = Sup().Spawn(spec).status();
    ProcessSpec opted_out = spec;
    opted_out.sandbox.noexec = SandboxPolicy::Noexec::kIfPossible;
    opted_out_ran = EvilRan(opted_out);
  });
  t.join();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(),
              HasSubstr("cannot run 'openssl': making a mount namespace for noexec grants: "
                        "Operation not permitted"));
  EXPECT_THAT(refused.message(), HasSubstr("require_noexec = false"));
  EXPECT_TRUE(opted_out_ran);  // what the operator accepted: Landlock alone
  EXPECT_FALSE(fs::exists(marker_));
}

TEST_F(ProcessConfinementTest, KillReachesADescendantThatLeftWithSetsid) {
  uint64_t id =
      Run(Confined("setsid -f sh -c 'echo $$ > escaped.pid; exec sleep 1000'; exec sleep 1000"));
  pid_t escaped = WaitPidFile(work_ / "escaped.pid");
  ASSERT_GT(escaped, 0);
  ASSERT_TRUE(ProcessAlive(escaped));
  // It really left: another session, another process group.
  EXPECT_NE(::getsid(escaped), ::getsid(Sup().GetStatus(id)->pid));
  ASSERT_TRUE(Sup().Kill(id).ok());
  EXPECT_TRUE(Gone(escaped));
  EXPECT_EQ(events_.WaitExit(id), -1);
}

TEST_F(ProcessConfinementTest, ADoubleForkedDescendantDiesWhenTheProgramExits) {
  uint64_t id =
      Run(Confined("(sh -c 'echo $$ > orphan.pid; exec sleep 1000' &);"
                   "while [ ! -s orphan.pid ]; do sleep 0.05; done; echo done"));
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id), "done\n");
  pid_t orphan = WaitPidFile(work_ / "orphan.pid");
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(Gone(orphan));
}

TEST_F(ProcessConfinementTest, ShutdownKillsEveryDescendant) {
  uint64_t id =
      Run(Confined("setsid -f sh -c 'echo $$ > a.pid; exec sleep 1000';"
                   "(setsid sh -c 'echo $$ > b.pid; exec sleep 1000' &); exec sleep 1000"));
  pid_t a = WaitPidFile(work_ / "a.pid");
  pid_t b = WaitPidFile(work_ / "b.pid");
  pid_t program = Sup().GetStatus(id)->pid;
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  // Shutdown returns once every shim has killed and reaped its subtree: nothing is left running
  // the moment it returns. (How long that takes is the machine's business.)
  Sup().Shutdown();
  EXPECT_FALSE(ProcessAlive(a));
  EXPECT_FALSE(ProcessAlive(b));
  EXPECT_FALSE(ProcessAlive(program));
}

TEST_F(ProcessConfinementTest, TheProgramCannotSignalItsShimOrTheHost) {
  Result<int> abi = landlock::Abi();
  ASSERT_TRUE(abi.ok());
  ASSERT_GE(*abi, 6) << "signal scoping needs Landlock ABI 6 (Linux 6.12)";
  std::string script = "kill -0 $PPID 2>/dev/null || echo shim-denied; kill -0 " +
                       std::to_string(::getpid()) + " 2>/dev/null || echo host-denied";
  uint64_t id = Run(Confined(script));
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id), "shim-denied\nhost-denied\n");
}

// A program holds nothing of the host's but its three pipes: in particular no other shim's
// control pipe, whose write end must close when the host dies so that the shims kill their
// subtrees. (Unconfined, to be allowed to list /proc/self/fd.)
TEST_F(ProcessConfinementTest, AProgramInheritsOnlyItsStandardStreams) {
  uint64_t other = Run(Confined("exec sleep 1000"));
  ProcessSpec spec = Confined("ls /proc/self/fd");
  spec.program = "ls";
  spec.args = {"/proc/self/fd"};
  spec.sandbox.confine = false;
  uint64_t id = Run(spec);
  ASSERT_EQ(events_.WaitExit(id), 0);
  EXPECT_EQ(events_.Out(id), "0\n1\n2\n3\n");  // 3: the directory ls itself opened
  ASSERT_TRUE(Sup().Kill(other).ok());
}

TEST(ProcessConfigTest, ConfinementKeys) {
  Result<ProcessConfig> defaults = ParseProcessConfig(nlohmann::json::object());
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->unconfined);
  EXPECT_FALSE(defaults->allow_network);
  Result<ProcessConfig> set = ParseProcessConfig({{"unconfined", true}, {"allow_network", true}});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->unconfined);
  EXPECT_TRUE(set->allow_network);
  Result<ProcessConfig> bad = ParseProcessConfig({{"unconfined", "yes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().ToString(), HasSubstr("unconfined: must be a boolean"));
  EXPECT_TRUE(defaults->require_noexec);
  EXPECT_TRUE(defaults->allowed_env.empty());
  Result<ProcessConfig> env =
      ParseProcessConfig({{"allowed_env", {"MY_VAR", "APP_*"}}, {"require_noexec", false}});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->allowed_env, (std::vector<std::string>{"MY_VAR", "APP_*"}));
  EXPECT_FALSE(env->require_noexec);
  EXPECT_EQ(ParseProcessConfig({{"allowed_env", {"OK", "LD_PRELOAD"}}}).status().message(),
            "allowed_env[1]: 'LD_PRELOAD': LD_* is never passed to a child process: it makes "
            "the dynamic loader or the C library load code or read files of the caller's "
            "choosing, in every program the child starts; no allowed_env entry can allow it");
  EXPECT_THAT(ParseProcessConfig({{"allowed_env", {"*"}}}).status().message(),
              HasSubstr("allowed_env[0]: '*' would allow every variable"));
  EXPECT_THAT(ParseProcessConfig({{"allowed_env", "FOO"}}).status().message(),
              HasSubstr("allowed_env: must be a list of strings"));
  EXPECT_THAT(ParseProcessConfig({{"require_noexec", 1}}).status().message(),
              HasSubstr("require_noexec: must be a boolean"));
}

}  // namespace
}  // namespace theater::handlers
