// Theater: a WebAssembly actor runtime.
//
// `theater dev` as a developer uses it: a project made by `theater create`, the command running
// in a child process, files edited as an editor saves them, and what it prints checked at each
// step — on the embedded runtime and against a `theater server` (real clang-14, tcc and gcc).
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_test_child.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace theater::cli_testing;
using namespace std::chrono_literals;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// An editor's save: the new text written beside the file and renamed over it.
void Save(const fs::path& file, const std::string& text) {
  const fs::path beside = file.string() + ".saving";
  std::ofstream(beside) << text;
  fs::rename(beside, file);
}

// `text` with its first `from` replaced by `to` (which the test expects to be there).
std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class CliDevTest : public ServerFixture {
 protected:
  CliDevTest() : ServerFixture("theater-cli-dev") {}

  std::map<std::string, std::string> Env() const override {
    auto env = ServerFixture::Env();
    // The build's shared cache: the runtime's own modules compile once for all tests.
    env["THEATER_HOME"] = (dir_ / "home").string();
    return env;
  }

  fs::path Create(const std::string& name, const std::string& template_name) {
    Finished created = Run({"create", name, "-t", template_name, "-o", dir_.string()});
    EXPECT_EQ(created.code, 0) << created.err;
    return dir_ / name;
  }
};

TEST_F(CliDevTest, ASaveUpdatesInPlaceABrokenBuildKeepsTheLastGoodAndAManifestChangeRestarts) {
  const fs::path project = Create("devhello", "basic");
  Child dev({"dev", project.string()}, Env(), "");
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) { return err.find("theater dev: watching") != std::string::npos; },
      120s));
  ASSERT_TRUE(dev.WaitForOutput(
      [](const std::string& out) { return out.find("started 1 time(s)") != std::string::npos; },
      60s))
      << dev.out();
  EXPECT_THAT(dev.out(), HasSubstr("[devhello] Hello from devhello"));

  // An edit of the source: rebuilt and put into the running actor, its state kept.
  const fs::path source = project / "src" / "actor.c";
  const std::string original = cli_testing::ReadFileText(source);
  Save(source, Replaced(original, "Hello from", "Hi from"));
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) {
        return err.find("updated in place, its state kept") != std::string::npos;
      },
      60s));

  // A broken build: the compiler's error, and the actor keeps running what it ran.
  Save(source, original + "\nthis is not C;\n");
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) { return err.find("build failed") != std::string::npos; }, 60s));
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) { return err.find("error:") != std::string::npos; }, 10s));

  // Fixed, with a change to the manifest: a restart with fresh state, so init runs again with
  // the new code.
  Save(source, Replaced(original, "Hello from", "Hi from"));
  const fs::path manifest = project / "manifest.toml";
  Save(manifest,
       Replaced(cli_testing::ReadFileText(manifest), "A minimal actor", "A changed actor"));
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) {
        return err.find("restarted with fresh state: manifest.toml changed") != std::string::npos;
      },
      60s));
  ASSERT_TRUE(dev.WaitForOutput(
      [](const std::string& out) { return out.find("[devhello] Hi from") != std::string::npos; },
      30s))
      << dev.out();
  // An editor's scratch files start nothing.
  const size_t rebuilds = Count(dev.err(), "rebuilding");
  std::ofstream(project / "src" / ".actor.c.swp") << "scratch";
  std::ofstream(project / "src" / "actor.c~") << "backup";
  std::this_thread::sleep_for(500ms);  // time for a rebuild that must not come

  dev.Signal(SIGINT);
  Finished ended = dev.Finish(30s);
  EXPECT_EQ(ended.code, 130) << ended.err;
  EXPECT_THAT(ended.err, HasSubstr("stopping the actor"));
  EXPECT_EQ(Count(ended.err, "rebuilding"), rebuilds) << ended.err;
  EXPECT_THAT(ended.err, Not(HasSubstr("not running"))) << "the broken build stopped nothing";
}

TEST_F(CliDevTest, AgainstAServerTheUpdatedActorAnswersWithItsStateKept) {
  StartServer();
  const fs::path project = Create("devserver", "message-server");
  Child dev({"dev", "--server", address_, project.string()}, Env(), "");
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) { return err.find("theater dev: watching") != std::string::npos; },
      120s));
  EXPECT_THAT(dev.err(), HasSubstr("the server at " + address_));
  Finished listed = Run({"list", "--json"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const json actors = json::parse(listed.out);
  ASSERT_EQ(actors.size(), 1u) << listed.out;
  const std::string id = actors[0]["id"];
  EXPECT_EQ(Request(id, "count"), "1");
  EXPECT_EQ(Request(id, "ping"), "pong");

  const fs::path source = project / "src" / "actor.c";
  // (The reply's format string: the comment at the top of the file also says "pong".)
  Save(source, Replaced(cli_testing::ReadFileText(source), "format(\"pong\")", "format(\"PONG\")"));
  ASSERT_TRUE(dev.WaitForErr(
      [](const std::string& err) {
        return err.find("updated in place, its state kept") != std::string::npos;
      },
      60s));
  EXPECT_EQ(Request(id, "ping"), "PONG") << dev.err();
  EXPECT_EQ(Request(id, "count"), "4") << "the count went on from the old version's";
  // What the actor logs comes to the terminal of `theater dev`.
  ASSERT_TRUE(dev.WaitForOutput(
      [](const std::string& out) { return out.find("[devserver]") != std::string::npos; }, 30s))
      << dev.out();

  dev.Signal(SIGINT);
  Finished ended = dev.Finish(30s);
  EXPECT_EQ(ended.code, 130) << ended.err;
  // The actor is stopped with the session.
  Finished after = Run({"list", "--json"});
  ASSERT_EQ(after.code, 0);
  EXPECT_EQ(json::parse(after.out).size(), 0u) << after.out;
}

TEST_F(CliDevTest, ADirectoryThatIsNotAProjectIsAClearError) {
  Finished ran = Run({"dev", dir_.string()});
  EXPECT_EQ(ran.code, 1) << ran.err;
  EXPECT_THAT(ran.err, HasSubstr("manifest.toml"));
  Finished json_out = Run({"dev", "--json", dir_.string()});
  EXPECT_EQ(json_out.code, 2) << json_out.err;
}

}  // namespace
}  // namespace theater
