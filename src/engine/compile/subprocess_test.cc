// Theater: a WebAssembly actor runtime.
#include "engine/compile/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>

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
