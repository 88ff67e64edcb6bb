// Theater: a WebAssembly actor runtime.
//
// The host's I/O loop keeps the thread count fixed (include/theater/io_loop.h,
// docs/architecture.md "Threads"): a real runtime with 100 real actors — 50 sending HTTP requests
// through the http-client handler (tests/actors/http_probe.c) to a slow loopback server, 50
// running child processes through the process handler (tests/actors/proc_probe.c) — all in
// flight at once, and not one runtime thread more than before they started.
#include <dirent.h>
#include <pthread.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "handlers/http-client/test_http_server.h"
#include "testing/actor_test_fixture.h"

namespace theater {
namespace {

using ::testing::StartsWith;
using namespace std::chrono_literals;

const std::string kHttpProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/http_probe.wasm";
const std::string kProcProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/proc_probe.wasm";

std::string ThreadName(const std::string& task) {
  std::ifstream in("/proc/self/task/" + task + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// The process's threads that belong to the runtime, by name: everything but the threads named as
// the test's main thread is (the test's own threads and the loopback server's inherit its name;
// the runtime names its threads, and a thread a runtime thread starts inherits that name).
std::map<std::string, int> RuntimeThreads() {
  const std::string test_name = ThreadName(std::to_string(::getpid()));
  std::map<std::string, int> names;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return names;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string name = ThreadName(entry->d_name);
    if (name != test_name) names[name]++;
  }
  ::closedir(dir);
  return names;
}

int Total(const std::map<std::string, int>& names) {
  int total = 0;
  for (const auto& [name, count] : names) total += count;
  return total;
}

std::string Describe(const std::map<std::string, int>& names) {
  std::string out;
  for (const auto& [name, count] : names) out += name + " x" + std::to_string(count) + ", ";
  return out;
}

class LoopThreadsTest : public testing_util::ActorTestFixture {
 protected:
  LoopThreadsTest() : ActorTestFixture("theater-loop-threads") {}
};

TEST_F(LoopThreadsTest, HundredActorsWithRequestsAndProcessesInFlightAddNoThread) {
  testing_util::TestHttpServer server;
  constexpr int kEach = 50;
  std::vector<std::string> http_actors, proc_actors;
  for (int i = 0; i < kEach; ++i) {
    http_actors.push_back(Spawn("name = \"http\"\nversion = \"0.1.0\"\ncomponent = \"" +
                                kHttpProbe +
                                "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                                "type = \"http-client\"\n"));
    proc_actors.push_back(Spawn("name = \"proc\"\nversion = \"0.1.0\"\ncomponent = \"" +
                                kProcProbe +
                                "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                                "type = \"process\"\nallowed_programs = [\"sleep\"]\n"));
  }
  const std::map<std::string, int> before = RuntimeThreads();

  // Every process actor starts a process that outlives the sampling below.
  for (const std::string& actor : proc_actors) {
    ASSERT_THAT(Command(actor, "spawn:raw:raw:64:-:-:-:-:sleep:3"), StartsWith("id="));
  }
  // Every http actor waits on a request the server answers after 2 s: all in flight at once.
  std::vector<std::thread> senders;
  std::vector<std::string> replies(kEach);
  for (int i = 0; i < kEach; ++i) {
    senders.emplace_back([&, i] { replies[i] = Command(http_actors[i], "GET " + server.Url("/slow/2000")); });
  }
  ASSERT_TRUE(testing_util::WaitFor([&] { return server.requests().size() >= kEach; }, 20000ms))
      << server.requests().size() << " requests arrived";
  const std::map<std::string, int> during = RuntimeThreads();
  for (std::thread& sender : senders) sender.join();
  for (const std::string& reply : replies) EXPECT_THAT(reply, StartsWith("status=200"));

  // No thread per actor, request or process (before the I/O loop there were 100 more here).
  EXPECT_LE(Total(during), Total(before))
      << "before: " << Describe(before) << "\nduring: " << Describe(during);
  EXPECT_EQ(during.count("theater-io") ? during.at("theater-io") : 0, 1) << Describe(during);
}

}  // namespace
}  // namespace theater
