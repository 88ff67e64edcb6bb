// Theater: a WebAssembly actor runtime.
#include "engine/compile/subprocess.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace theater::engine {
namespace {

using std::chrono::milliseconds;

Result<SubprocessResult> Sh(const std::string& script, milliseconds timeout = milliseconds(10000),
                            const std::filesystem::path& dir = {}) {
  return RunSubprocess({"/bin/sh", "-c", script}, dir, timeout);
}

TEST(SubprocessTest, CapturesMergedOutputAndExitCode) {
  auto r = Sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->output.find("out\n"), std::string::npos);
  EXPECT_NE(r->output.find("err\n"), std::string::npos);

  auto ok = Sh("exit 0");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok());
}

TEST(SubprocessTest, RunsInTheWorkingDirectoryWithStdinClosed) {
  auto r = Sh("pwd; cat; echo done", milliseconds(10000), "/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->output, "/\ndone\n");
}

TEST(SubprocessTest, ReportsDeathBySignal) {
  auto r = Sh("kill -9 $$");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->term_signal, 9);
}

TEST(SubprocessTest, TimeoutKillsTheWholeProcessGroup) {
  const auto start = std::chrono::steady_clock::now();
  // The background sleep keeps the output pipe open: only killing the group ends the wait.
  auto r = Sh("sleep 30 & sleep 30", milliseconds(300));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// CancelAllSubprocesses is for a process that is shutting down, and cannot be undone: it is tried
// in a child process of its own.
TEST(SubprocessTest, CancellingStopsRunningToolsAndRefusesNewOnes) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::thread canceller([] {
      std::this_thread::sleep_for(milliseconds(300));
      CancelAllSubprocesses();
    });
    const auto start = std::chrono::steady_clock::now();
    auto running = Sh("sleep 30 & sleep 30");
    // Well before the sleeps would end (30 s), however busy the machine.
    const bool stopped = running.status().code() == StatusCode::kCancelled &&
                         std::chrono::steady_clock::now() - start < std::chrono::seconds(20);
    canceller.join();
    const bool refused = Sh("true").status().code() == StatusCode::kCancelled;
    _exit(stopped && refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(SubprocessTest, KeepsOnlyTheTailOfLongOutput) {
  auto r =
      Sh("i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
         "i=$((i+1)); done");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LE(r->output.size(), kMaxSubprocessOutput);
  EXPECT_NE(r->output.find("line-2999-"), std::string::npos);
  EXPECT_EQ(r->output.find("line-0-"), std::string::npos);
}

TEST(SubprocessTest, MissingProgramIsUnavailable) {
  auto r = RunSubprocess({"/nonexistent/theater-tool"}, {}, milliseconds(1000));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("/nonexistent/theater-tool"), std::string::npos);
  EXPECT_EQ(RunSubprocess({}, {}, milliseconds(1000)).status().code(),
            StatusCode::kInvalidArgument);
}

// CPU time (user + system) of the reaped children of this process so far.
std::chrono::microseconds ChildrenCpuTime() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  const auto to_us = [](const timeval& tv) {
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  };
  return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

// The spawn shim waits for its tool without using the CPU. It once closed its own signalfd (the
// descriptor took the slot of the absent Landlock ruleset) and spun on poll() for as long as the
// tool ran: a whole core during every compile. The figure is the children's own CPU time, which
// other work on the machine cannot add to; it can only take CPU away from a spinning shim, which
// over two seconds would still show far more than the bound.
TEST(SubprocessTest, TheShimDoesNotSpinWhileTheToolRuns) {
  const auto before = ChildrenCpuTime();
  auto r = Sh("sleep 2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok());
  EXPECT_LT(ChildrenCpuTime() - before, std::chrono::milliseconds(200));
}

class SubprocessBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "theater-batch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // A job that appends "start <i>" and "end <i>" to the shared log around `body`.
  SubprocessJob Job(int i, const std::string& body) const {
    const std::string n = std::to_string(i);
    return SubprocessJob{{"/bin/sh", "-c",
                          "echo start " + n + " >>log; " + body + "; s=$?; echo end " + n +
                              " >>log; echo out " + n + "; exit $s"},
                         dir_};
  }
  std::string Log() const {
    std::ifstream in(dir_ / "log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path dir_;
};

// A watcher hears the tool's output as it comes, before the tool ends (here: the tool waits
// until the watcher has seen its first line), and hears time pass while the tool is quiet.
TEST_F(SubprocessBatchTest, AWatcherHearsTheOutputWhileTheToolRuns) {
  std::string heard;
  size_t quiet_calls = 0;
  const OutputWatch watch = [&](std::string_view output) {
    if (output.empty()) {
      ++quiet_calls;
      return;
    }
    heard.append(output);
    if (heard.find("first\n") != std::string::npos) {
      std::ofstream(dir_ / "seen") << "yes";
    }
  };
  auto run = RunSubprocess(
      {"/bin/sh", "-c",
       "echo first; while [ ! -e seen ]; do sleep 0.05; done; sleep 0.5; echo second"},
      dir_, milliseconds(10000), nullptr, watch);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_TRUE(run->ok()) << run->output;
  EXPECT_EQ(heard, "first\nsecond\n");
  EXPECT_EQ(run->output, "first\nsecond\n") << "the result keeps the output too";
  EXPECT_GE(quiet_calls, 2u) << "half a second of quiet is heard";
}

TEST_F(SubprocessBatchTest, RunsAtMostParallelAtOnceAndKeepsTheOrderOfResults) {
  std::vector<SubprocessJob> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(Job(i, "sleep 0.1"));
  auto sequential = RunSubprocesses(jobs, 1, milliseconds(10000));
  ASSERT_TRUE(sequential.ok()) << sequential.status().ToString();
  EXPECT_EQ(Log(), "start 0\nend 0\nstart 1\nend 1\nstart 2\nend 2\n");
  ASSERT_EQ(sequential->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE((*sequential)[i].ok());
    EXPECT_FALSE((*sequential)[i].cancelled);
    EXPECT_EQ((*sequential)[i].output, "out " + std::to_string(i) + "\n");
  }

  std::filesystem::remove(dir_ / "log");
  jobs.clear();
  // Each waits until all three have started: only a batch that runs them together finishes.
  for (int i = 0; i < 3; ++i) {
    jobs.push_back(Job(i, "while [ $(grep -c start log) -lt 3 ]; do sleep 0.01; done"));
  }
  auto together = RunSubprocesses(jobs, 3, milliseconds(10000));
  ASSERT_TRUE(together.ok()) << together.status().ToString();
  for (const SubprocessResult& result : *together) EXPECT_TRUE(result.ok()) << result.output;
}

TEST_F(SubprocessBatchTest, AFailureCancelsTheRest) {
  const auto start = std::chrono::steady_clock::now();
  // Job 0 fails once job 1 runs.
  std::vector<SubprocessJob> jobs = {
      Job(0, "while ! grep -q 'start 1' log; do sleep 0.01; done; echo broken; false"),
      Job(1, "sleep 30"), Job(2, "sleep 30"), Job(3, "sleep 30")};
  auto r = RunSubprocesses(jobs, 2, milliseconds(60000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].exit_code, 1);
  EXPECT_FALSE((*r)[0].cancelled);
  EXPECT_NE((*r)[0].output.find("broken"), std::string::npos);
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE((*r)[i].cancelled) << i;
    EXPECT_FALSE((*r)[i].ok()) << i;
  }
  // Job 1 was running and was killed; jobs 2 and 3 never started.
  EXPECT_EQ(Log().find("start 2"), std::string::npos);
  EXPECT_EQ(Log().find("start 3"), std::string::npos);
  EXPECT_NE(Log().find("start 1"), std::string::npos);
  EXPECT_EQ(Log().find("end 1"), std::string::npos);
}

TEST_F(SubprocessBatchTest, TheDeadlineCoversTheWholeBatch) {
  std::vector<SubprocessJob> jobs = {Job(0, "sleep 30"), Job(1, "sleep 30")};
  const auto start = std::chrono::steady_clock::now();
  auto r = RunSubprocesses(jobs, 2, milliseconds(300));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(RunSubprocesses(jobs, 0, milliseconds(300)).status().code(),
            StatusCode::kInvalidArgument);
  auto empty = RunSubprocesses({}, 2, milliseconds(300));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(SubprocessTest, FindExecutableSearchesPath) {
  auto sh = FindExecutable("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().ToString();
  EXPECT_TRUE(sh->is_absolute());
  EXPECT_EQ(FindExecutable("theater-no-such-program").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FindExecutable("/nonexistent/sh").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FindExecutable("/etc/passwd").status().code(),
            StatusCode::kNotFound);  // not executable
  EXPECT_TRUE(FindExecutable("/bin/sh").ok());
  EXPECT_EQ(FindExecutable("").status().code(), StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, TailLines) {
  EXPECT_EQ(TailLines("a\nb\n\nc\nd\n", 2), "c\nd");
  EXPECT_EQ(TailLines("a", 5), "a");
  EXPECT_EQ(TailLines("", 5), "");
}

}  // namespace
}  // namespace theater::engine
