// Theater: a WebAssembly actor runtime.
//
// The process handler end to end: a real actor (tests/actors/proc_probe.c) in a real
// TheaterRuntime spawning real processes through theater:simple/process and receiving their
// output and exits through its theater:simple/process-handlers exports — every output mode,
// stderr, stdin, timeouts, kill and signal, status, every limit and allowlist refused, a flood
// of output that must not stall the runtime or blow memory, callbacks going to the spawning
// actor only, processes killed when their actor stops, and what the chain records.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/sanitizers.h"
#include "testing/actor_test_fixture.h"
#include "testing/process_state.h"
#include "theater/chain.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/proc_probe.wasm";

using ::theater::testing_util::GroupAlive;
using ::theater::testing_util::ProcessAlive;
using ::theater::testing_util::WaitFor;

uint64_t RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class ProcessRuntimeTest : public testing_util::ActorTestFixture {
 protected:
  ProcessRuntimeTest() : ActorTestFixture("theater-proc") {}
  void SetUp() override {
    ActorTestFixture::SetUp();
    fs::create_directories(home_ / "work" / "sub");
    fs::create_directories(home_ / "outside");
    fs::create_directory_symlink(home_ / "outside", home_ / "work" / "escape");
  }

  std::string Manifest(const std::string& handler = "", const std::string& extra = "") {
    return "name = \"proc\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe + "\"\n" + extra +
           "\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"process\"\n" + handler;
  }
  // spawn:<out>:<err>:<buffer>:<chunk>:<timeout>:<cwd>:<env>:<program>[:args] → the id.
  std::string Start(const std::string& actor, const std::string& spec) {
    std::string reply = Command(actor, "spawn:" + spec);
    EXPECT_THAT(reply, StartsWith("id=")) << spec;
    return reply.rfind("id=", 0) == 0 ? reply.substr(3) : "";
  }
  // Waits until the actor's callback log contains `needle` (a failure if it never does); returns
  // the log.
  std::string WaitLog(const std::string& actor, const std::string& needle) {
    std::string log;
    EXPECT_TRUE(WaitFor([&] {
      log = Command(actor, "log");
      return log.find(needle) != std::string::npos;
    })) << "never logged: " << needle << "\nlog:\n" << log;
    return log;
  }
  pid_t PidOf(const std::string& actor, const std::string& id) {
    std::string status = Command(actor, "status:" + id);
    EXPECT_THAT(status, StartsWith("pid="));
    return static_cast<pid_t>(std::stoll(status.substr(4)));
  }
};

TEST_F(ProcessRuntimeTest, EveryOutputModeReachesTheActorInOrderThenTheExit) {
  std::string a = Spawn(Manifest());
  std::string raw = Start(a, "raw:raw:4:-:-:-:-:sh:-c:printf 'hello world'; exit 5");
  std::string log = WaitLog(a, "x:" + raw + ":5\n");
  std::string joined;
  std::istringstream lines(log);
  std::string line;
  std::vector<std::string> kinds;
  while (std::getline(lines, line)) {
    if (line.rfind("o:" + raw + ":", 0) == 0) {
      std::string piece = line.substr(3 + raw.size());
      EXPECT_LE(piece.size(), 4u);
      joined += piece;
    }
    if (line.rfind("x:" + raw + ":", 0) == 0) {
      EXPECT_EQ(joined, "hello world");  // the exit comes last
    }
  }
  EXPECT_EQ(joined, "hello world");

  std::string line_id = Start(a, "line:raw:64:-:-:-:-:sh:-c:printf 'one\\ntwo\\n\\npartial'");
  log = WaitLog(a, "x:" + line_id + ":0\n");
  std::string l = line_id;
  EXPECT_THAT(log, HasSubstr("o:" + l + ":one\no:" + l + ":two\no:" + l + ":\no:" + l +
                             ":partial\nx:" + l + ":0\n"));

  // (\\072 is ':', which the probe's command syntax reserves.)
  std::string json = Start(a, "json:raw:64:-:-:-:-:sh:-c:printf '{\"a\"\\072 1}\\nnope\\n[2]\\n'");
  log = WaitLog(a, "x:" + json + ":0\n");
  EXPECT_THAT(log, HasSubstr("o:" + json + ":{\"a\": 1}\no:" + json + ":[2]\nx:" + json + ":0"));
  EXPECT_THAT(log, Not(HasSubstr("nope")));

  std::string chunked = Start(a, "chunked:raw:8:3:-:-:-:sh:-c:printf abcdefgh");
  log = WaitLog(a, "x:" + chunked + ":0\n");
  std::string c = chunked;
  EXPECT_THAT(log, HasSubstr("o:" + c + ":abc\no:" + c + ":def\no:" + c + ":gh\nx:" + c + ":0"));
}

TEST_F(ProcessRuntimeTest, StderrArrivesSeparately) {
  std::string a = Spawn(Manifest());
  std::string id = Start(a, "line:line:64:-:-:-:-:sh:-c:echo to-out; echo to-err >&2; exit 2");
  std::string log = WaitLog(a, "x:" + id + ":2\n");
  EXPECT_THAT(log, HasSubstr("o:" + id + ":to-out\n"));
  EXPECT_THAT(log, HasSubstr("e:" + id + ":to-err\n"));
  EXPECT_THAT(log, Not(HasSubstr("o:" + id + ":to-err")));
}

TEST_F(ProcessRuntimeTest, StdinRoundTripThroughCat) {
  std::string a = Spawn(Manifest());
  std::string id = Start(a, "line:raw:64:-:-:-:-:cat");
  EXPECT_EQ(Command(a, "write:" + id + ":hello cat\n"), "wrote=10");
  WaitLog(a, "o:" + id + ":hello cat\n");
  EXPECT_THAT(Command(a, "status:" + id), HasSubstr("running=1 exit=none"));
  EXPECT_EQ(Command(a, "write:" + id + ":"), "wrote=0");  // end of file
  std::string log = WaitLog(a, "x:" + id + ":0\n");
  EXPECT_THAT(log, HasSubstr("o:" + id + ":hello cat\nx:" + id + ":0\n"));
  EXPECT_THAT(Command(a, "write:" + id + ":late"), StartsWith("error:failed-precondition:"));
  EXPECT_THAT(Command(a, "write:999:x"), StartsWith("error:not-found: unknown process id 999"));
}

TEST_F(ProcessRuntimeTest, ExecutionTimeoutKillsAndReportsMinusOne) {
  std::string a = Spawn(Manifest());
  auto start = std::chrono::steady_clock::now();
  std::string id = Start(a, "raw:raw:64:-:1:-:-:sh:-c:sleep 30 & sleep 30");
  pid_t pid = PidOf(a, id);
  WaitLog(a, "x:" + id + ":-1\n");
  // Well before the sleeps would end by themselves (30 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_THAT(Command(a, "status:" + id), HasSubstr("running=0 exit=-1"));
  EXPECT_TRUE(WaitFor([&] { return !GroupAlive(pid); }));
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:0:-:-:true"),
              StartsWith("error:invalid-argument: execution-timeout"));
}

TEST_F(ProcessRuntimeTest, KillAndSignalEndProcessesAndReportErrors) {
  std::string a = Spawn(Manifest());
  std::string term = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  std::string killed = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  EXPECT_THAT(Command(a, "signal:" + term + ":0"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "signal:" + term + ":4096"), StartsWith("error:invalid-argument"));
  EXPECT_EQ(Command(a, "signal:" + term + ":15"), "ok");  // SIGTERM
  EXPECT_EQ(Command(a, "kill:" + killed), "ok");
  WaitLog(a, "x:" + term + ":-1\n");
  WaitLog(a, "x:" + killed + ":-1\n");
  EXPECT_THAT(Command(a, "kill:" + killed), StartsWith("error:failed-precondition: process"));
  EXPECT_THAT(Command(a, "signal:" + term + ":15"), StartsWith("error:failed-precondition"));
  EXPECT_THAT(Command(a, "kill:777"), StartsWith("error:not-found"));
  EXPECT_THAT(Command(a, "status:777"), StartsWith("error:not-found"));
}

TEST_F(ProcessRuntimeTest, StatusTellsTheTruthWhileRunningAndAfterExit) {
  std::string a = Spawn(Manifest());
  std::string id = Start(a, "raw:raw:64:-:-:-:-:sh:-c:read line; exit 4");
  std::string running = Command(a, "status:" + id);
  EXPECT_THAT(running, HasSubstr("running=1 exit=none"));
  pid_t pid = PidOf(a, id);
  EXPECT_EQ(::kill(pid, 0), 0);  // the OS pid of a live process
  EXPECT_EQ(Command(a, "write:" + id + ":go\n"), "wrote=3");
  WaitLog(a, "x:" + id + ":4\n");
  EXPECT_THAT(Command(a, "status:" + id), HasSubstr("running=0 exit=4"));
}

TEST_F(ProcessRuntimeTest, MaxProcessesIsEnforcedAndFreedByExits) {
  std::string a = Spawn(Manifest("max_processes = 2\n"));
  std::string p1 = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  std::string p2 = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  EXPECT_EQ(Command(a, "spawn:raw:raw:64:-:-:-:-:sleep:30"),
            "error:permission-denied: Resource limit exceeded: process_count = 3 > 2");
  EXPECT_EQ(Command(a, "kill:" + p1), "ok");
  WaitLog(a, "x:" + p1 + ":-1\n");
  std::string p3 = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  EXPECT_NE(p3, p1);
  EXPECT_EQ(Command(a, "kill:" + p2), "ok");
  EXPECT_EQ(Command(a, "kill:" + p3), "ok");
}

TEST_F(ProcessRuntimeTest, AllowedProgramsAreEnforced) {
  std::string a = Spawn(Manifest("allowed_programs = [\"echo\"]\n"));
  EXPECT_EQ(Command(a, "spawn:raw:raw:64:-:-:-:-:sh:-c:echo no"),
            "error:permission-denied: Command 'sh' not in allowed commands: [\"echo\"]");
  EXPECT_EQ(Command(a, "spawn:raw:raw:64:-:-:-:-:/bin/echo:no"),
            "error:permission-denied: Command '/bin/echo' not in allowed commands: [\"echo\"]");
  std::string id = Start(a, "raw:raw:64:-:-:-:-:echo:yes");
  EXPECT_THAT(WaitLog(a, "x:" + id + ":0\n"), HasSubstr("o:" + id + ":yes\\n\n"));
  // Hostile input: a NUL byte, an empty name, a bad env name.
  EXPECT_THAT(Command(a, std::string("spawn:raw:raw:64:-:-:-:-:ec\0ho", 29)),
              StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:-:A=1,=x:echo"),
              StartsWith("error:invalid-argument: env"));
}

TEST_F(ProcessRuntimeTest, CwdMustLieInsideAllowedPathsAfterResolvingLinks) {
  fs::path work = fs::canonical(home_ / "work");
  std::string a = Spawn(Manifest("allowed_paths = [\"" + work.string() + "\"]\n"));
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:/etc:-:pwd"),
              StartsWith("error:permission-denied: Path '/etc' not in allowed paths"));
  // A link inside the allowed tree that leads out is judged by where it leads.
  EXPECT_THAT(
      Command(a, "spawn:raw:raw:64:-:-:" + (work / "escape").string() + ":-:pwd"),
      StartsWith("error:permission-denied: Path '" + fs::canonical(home_ / "outside").string()));
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:" + work.string() + "/../outside:-:pwd"),
              StartsWith("error:permission-denied"));
  // A sibling sharing the prefix is not inside.
  fs::create_directories(home_ / "workshop");
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:" + (home_ / "workshop").string() + ":-:pwd"),
              StartsWith("error:permission-denied"));
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:" + (work / "missing").string() + ":-:pwd"),
              StartsWith("error:not-found"));
  std::string id = Start(a, "raw:raw:256:-:-:" + (work / "sub").string() + ":-:pwd");
  EXPECT_THAT(WaitLog(a, "x:" + id + ":0\n"),
              HasSubstr("o:" + id + ":" + (work / "sub").string() + "\\n\n"));
}

TEST_F(ProcessRuntimeTest, TheParentsPolicyNarrowsThePermissionTheHandlerChecks) {
  fs::path work = fs::canonical(home_ / "work");
  std::string parent = Spawn(Manifest());
  std::string child = Spawn(Manifest("",
                                     "[permission_policy.process]\ntype = \"restrict\"\n"
                                     "[permission_policy.process.config]\n"
                                     "max_processes = 1\nmax_output_buffer = 2048\n"
                                     "allowed_programs = [\"sleep\"]\nallowed_paths = [\"" +
                                         work.string() + "\"]\n"),
                            parent);
  const std::string in_work = ":-:-:" + work.string() + ":-:";
  EXPECT_EQ(Command(child, "spawn:raw:raw:64" + in_work + "echo:x"),
            "error:permission-denied: Command 'echo' not in allowed commands: [\"sleep\"]");
  EXPECT_THAT(Command(child, "spawn:raw:raw:64:-:-:" + (home_ / "outside").string() + ":-:sleep:1"),
              StartsWith("error:permission-denied: Path '"));
  EXPECT_THAT(Command(child, "spawn:raw:raw:2048" + in_work + "sleep:1"),
              HasSubstr("Resource limit exceeded: output_buffer = 4096 > 2048"));
  std::string id = Start(child, "raw:raw:64" + in_work + "sleep:30");
  EXPECT_EQ(Command(child, "spawn:raw:raw:64" + in_work + "sleep:30"),
            "error:permission-denied: Resource limit exceeded: process_count = 2 > 1");
  EXPECT_EQ(Command(child, "kill:" + id), "ok");

  std::string none =
      Spawn(Manifest("", "[permission_policy.process]\ntype = \"disallow\"\n"), parent);
  EXPECT_EQ(Command(none, "spawn:raw:raw:64:-:-:-:-:true"),
            "error:Handler type 'process' not permitted by effective permissions");
}

TEST_F(ProcessRuntimeTest, OutputBufferLimitsPieceSizesAndBlocksInsteadOfDropping) {
  std::string a = Spawn(Manifest("max_output_buffer = 4096\n"));
  EXPECT_THAT(Command(a, "spawn:raw:raw:4096:-:-:-:-:true"),
              StartsWith("error:permission-denied: buffer-size 4096 needs an output buffer of "
                         "twice its size"));
  EXPECT_THAT(Command(a, "spawn:raw:raw:0:-:-:-:-:true"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "spawn:chunked:raw:1024:2048:-:-:-:true"),
              StartsWith("error:invalid-argument: chunk-size 2048"));
  // 200 KB through a 4 KB buffer: the process waits for the actor; nothing is lost.
  std::string id = Start(a, "raw:raw:1024:-:-:-:-:head:-c:200000:/dev/zero");
  // (Waiting on the counters: 200 KB of escaped zeros overflow the probe's log.)
  EXPECT_TRUE(WaitFor([&] { return Command(a, "stats").find("exits=1") != std::string::npos; }));
  EXPECT_THAT(Command(a, "stats"), StartsWith("out=200000 err=0"));
  EXPECT_THAT(Command(a, "status:" + id), HasSubstr("running=0 exit=0"));
  EXPECT_THAT(Command(a, "stats"), HasSubstr("maxpiece=1024"));
}

TEST_F(ProcessRuntimeTest, FloodDoesNotStallTheRuntimeOrBlowMemory) {
  std::string a = Spawn(Manifest());
  std::string other = Spawn(Manifest());
  uint64_t rss_before = RssKb();
  auto start = std::chrono::steady_clock::now();
  std::string id = Start(a, "raw:raw:16384:-:-:-:-:head:-c:50000000:/dev/zero");
  // Meanwhile another actor answers promptly.
  std::chrono::nanoseconds worst{0};
  for (int i = 0; i < 20; ++i) {
    auto t = std::chrono::steady_clock::now();
    EXPECT_THAT(Command(other, "stats"), StartsWith("out=0"));
    worst = std::max<std::chrono::nanoseconds>(worst, std::chrono::steady_clock::now() - t);
    std::this_thread::sleep_for(20ms);
  }
  uint64_t rss_peak = RssKb();
  std::string stats;
  ASSERT_TRUE(WaitFor(
      [&] {
        stats = Command(a, "stats");
        rss_peak = std::max(rss_peak, RssKb());
        return stats.find("exits=1") != std::string::npos;
      },
      120s))
      << stats;
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(stats, StartsWith("out=50000000 err=0"));
  EXPECT_THAT(stats, HasSubstr("maxpiece=16384"));
  // Stalled behind the flood, a reply would wait for all of it; a busy machine makes each reply
  // slower, hence the generous bound.
  EXPECT_LT(worst, 5s);
  // The output is held a window at a time; the chain's in-memory tail is bounded by count.
#if THEATER_ADDRESS_SANITIZER
  // AddressSanitizer keeps freed memory in its quarantine (256 MiB by default): RSS says nothing.
#else
  EXPECT_LT(rss_peak - std::min(rss_peak, rss_before), 200u * 1024);
#endif
  std::cout << "[ flood ] 50 MB to an actor in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms; other actor's worst reply "
            << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count()
            << " ms; RSS growth " << (rss_peak - std::min(rss_peak, rss_before)) / 1024 << " MiB\n";
}

TEST_F(ProcessRuntimeTest, CallbacksGoToTheSpawningActorOnly) {
  std::string a = Spawn(Manifest());
  std::string b = Spawn(Manifest());
  std::string ia = Start(a, "raw:raw:64:-:-:-:-:echo:from-a");
  std::string ib = Start(b, "raw:raw:64:-:-:-:-:echo:from-b");
  EXPECT_EQ(ia, "1");
  EXPECT_EQ(ib, "1");  // ids are per actor
  std::string la = WaitLog(a, "x:1:0\n");
  std::string lb = WaitLog(b, "x:1:0\n");
  EXPECT_THAT(la, HasSubstr("from-a"));
  EXPECT_THAT(la, Not(HasSubstr("from-b")));
  EXPECT_THAT(lb, HasSubstr("from-b"));
  EXPECT_THAT(lb, Not(HasSubstr("from-a")));
}

TEST_F(ProcessRuntimeTest, StoppingOrTerminatingTheActorKillsItsProcessGroups) {
  std::string a = Spawn(Manifest());
  std::string p1 = Start(a, "raw:raw:64:-:-:-:-:sh:-c:sleep 30 & echo started; sleep 30");
  std::string p2 = Start(a, "raw:raw:64:-:-:-:-:sleep:30");
  pid_t g1 = PidOf(a, p1), g2 = PidOf(a, p2);
  // The background sleep is started before the echo: p1's group has two members to kill.
  WaitLog(a, "o:" + p1 + ":started");
  ASSERT_TRUE(GroupAlive(g1));
  ASSERT_TRUE(GroupAlive(g2));
  ASSERT_TRUE(runtime_->Stop(a).ok());
  EXPECT_TRUE(WaitFor([&] { return !GroupAlive(g1) && !GroupAlive(g2); }));
  EXPECT_NE(::kill(g2, 0), 0);  // reaped: not even a zombie is left

  std::string b = Spawn(Manifest());
  std::string p3 = Start(b, "raw:raw:64:-:-:-:-:sleep:30");
  pid_t g3 = PidOf(b, p3);
  ASSERT_TRUE(runtime_->Terminate(b).ok());
  EXPECT_TRUE(WaitFor([&] { return !GroupAlive(g3); }));
}

// The kernel (Landlock) confines what a program's arguments reach: its working directory and the
// allowed paths, plus the system paths; with `unconfined = true`, nothing.
TEST_F(ProcessRuntimeTest, ProgramsAreConfinedToTheirDirectories) {
  const std::string work = (home_ / "work").string();
  std::ofstream(home_ / "work" / "inside.txt") << "inside\n";
  std::ofstream(home_ / "outside" / "secret.txt") << "secret\n";
  std::string a =
      Spawn(Manifest("allowed_programs = [\"cat\", \"ls\"]\nallowed_paths = [\"" + work + "\"]\n"));
  std::string in = Start(a, "line:line:256:-:-:" + work + ":-:cat:inside.txt");
  std::string log = WaitLog(a, "x:" + in + ":0\n");
  EXPECT_THAT(log, HasSubstr("o:" + in + ":inside\n"));
  std::string host = Start(a, "line:line:256:-:-:" + work + ":-:cat:/etc/hostname");
  log = WaitLog(a, "x:" + host + ":1\n");
  EXPECT_THAT(log, HasSubstr("e:" + host + ":cat: /etc/hostname: Permission denied\n"));
  // escape -> ../outside: the link resolves outside the grant.
  std::string link = Start(a, "line:line:256:-:-:" + work + ":-:cat:escape/secret.txt");
  log = WaitLog(a, "x:" + link + ":1\n");
  EXPECT_THAT(log, HasSubstr("e:" + link + ":cat: escape/secret.txt: Permission denied\n"));
  std::string root = Start(a, "line:line:256:-:-:" + work + ":-:ls:-la:/");
  log = WaitLog(a, "x:" + root + ":2\n");
  EXPECT_THAT(log, HasSubstr("e:" + root + ":ls: cannot open directory '/': Permission denied"));

  std::ifstream hostname_file("/etc/hostname");
  std::string hostname;
  std::getline(hostname_file, hostname);
  std::string free = Spawn(Manifest("allowed_programs = [\"cat\"]\nunconfined = true\n"));
  std::string id = Start(free, "line:line:256:-:-:" + work + ":-:cat:/etc/hostname");
  log = WaitLog(free, "x:" + id + ":0\n");
  EXPECT_THAT(log, HasSubstr("o:" + id + ":" + hostname + "\n"));
}

TEST_F(ProcessRuntimeTest, EnvIsLimitedToAllowedEnvAndLoaderVariablesAreRefusedByName) {
  std::string a = Spawn(Manifest("allowed_programs = [\"echo\"]\nallowed_env = [\"FOO\"]\n"));
  EXPECT_EQ(Command(a, "spawn:raw:raw:64:-:-:-:LD_PRELOAD=/tmp/evil.so:echo:hi"),
            "error:permission-denied: env: LD_PRELOAD is never passed to a child process: it "
            "makes the dynamic loader or the C library load code or read files of the caller's "
            "choosing, in every program the child starts; no allowed_env entry can allow it");
  EXPECT_THAT(Command(a, "spawn:raw:raw:64:-:-:-:FOO=1,GCONV_PATH=.:echo:hi"),
              StartsWith("error:permission-denied: env: GCONV_PATH is never passed"));
  // Not named by the config: refused, saying where to allow it.
  EXPECT_EQ(Command(a, "spawn:raw:raw:64:-:-:-:FOO=1,OPENSSL_CONF=evil.cnf:echo:hi"),
            "error:permission-denied: env: OPENSSL_CONF may not be set: it is not in allowed_env "
            "of the process handler's config ([\"FOO\"]); to allow it, an operator adds "
            "\"OPENSSL_CONF\" to that list (docs/handlers.md, \"Environment of child "
            "processes\")");
  std::string ok = Start(a, "line:raw:64:-:-:-:FOO=1:echo:fine");
  std::string log = WaitLog(a, "x:" + ok + ":0\n");
  EXPECT_THAT(log, HasSubstr("o:" + ok + ":fine\n"));
  // Without allowed_env an actor sets nothing; a loader variable cannot even be listed.
  std::string none = Spawn(Manifest("allowed_programs = [\"echo\"]\n"));
  EXPECT_THAT(Command(none, "spawn:raw:raw:64:-:-:-:FOO=1:echo:hi"),
              HasSubstr("env: FOO may not be set: it is not in allowed_env of the process "
                        "handler's config (none)"));
  EXPECT_THAT(SpawnError(Manifest("allowed_env = [\"LD_*\"]\n")),
              HasSubstr("allowed_env[0]: 'LD_*': LD_* is never passed to a child process"));
  EXPECT_THAT(SpawnError(Manifest("allowed_env = [\"*\"]\n")),
              HasSubstr("allowed_env[0]: '*' would allow every variable"));
}

// Nothing outlives its actor: a descendant that left the process group and the session
// (`setsid -f`) is killed when the actor stops.
TEST_F(ProcessRuntimeTest, StoppingTheActorKillsDescendantsThatLeftTheGroup) {
  const fs::path work = home_ / "work";
  std::string a = Spawn(Manifest("allowed_programs = [\"sh\"]\n"));
  Start(a,
        "raw:raw:64:-:-:" + work.string() +
            ":-:sh:-c:setsid -f sh -c 'echo $$ > escaped.pid; exec sleep 1000'; exec sleep 1000");
  pid_t escaped = 0;
  ASSERT_TRUE(WaitFor([&] {
    std::ifstream in(work / "escaped.pid");
    return static_cast<bool>(in >> escaped) && escaped > 0;
  }));
  ASSERT_TRUE(ProcessAlive(escaped));
  ASSERT_TRUE(runtime_->Stop(a).ok());
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(escaped); }));
}

TEST_F(ProcessRuntimeTest, ConfigErrorsFailTheSpawnNamingTheKey) {
  EXPECT_THAT(SpawnError(Manifest("max_processes = 0\n")),
              HasSubstr("max_processes: must be at least 1"));
  EXPECT_THAT(SpawnError(Manifest("max_procs = 1\n")), HasSubstr("unknown key 'max_procs'"));
}

TEST_F(ProcessRuntimeTest, TheChainRecordsSpawnsAndCallbacks) {
  std::string a = Spawn(Manifest());
  std::string id = Start(a, "line:raw:64:-:-:-:-:echo:recorded");
  WaitLog(a, "x:" + id + ":0\n");
  ASSERT_TRUE(runtime_->VerifyChain(a).ok());
  int spawns = 0, stdout_calls = 0, exit_calls = 0;
  for (const chain::HostCall& call : RecordedInChain<chain::HostCall>(a)) {
    if (call.interface == "theater:simple/process" && call.function == "os-spawn") ++spawns;
  }
  for (const chain::ExportCall& call : RecordedInChain<chain::ExportCall>(a)) {
    if (call.function.find("handle-stdout") != std::string::npos) {
      ++stdout_calls;
      EXPECT_THAT(chain::ValueToJson(call.params.back()).dump(), HasSubstr("recorded"))
          << chain::ValueToJson(call.params.back()).dump();
    }
    if (call.function.find("handle-exit") != std::string::npos) ++exit_calls;
  }
  EXPECT_EQ(spawns, 1);
  EXPECT_EQ(stdout_calls, 1);
  EXPECT_EQ(exit_calls, 1);
}

}  // namespace
}  // namespace theater
