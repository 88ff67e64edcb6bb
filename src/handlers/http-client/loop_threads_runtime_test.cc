// Theater: a WebAssembly actor runtime.
//
// The host's I/O loop keeps the thread count fixed (include/theater/io_loop.h,
// docs/architecture.md "Threads"): a real runtime with 120 real actors — 34 sending HTTP requests
// through the http-client handler (tests/actors/http_probe.c) to a slow loopback server, 33
// running child processes through the process handler (tests/actors/proc_probe.c), 33 serving
// HTTP through the http-framework handler (tests/actors/http_server_probe.c) to a connection
// each, 20 waiting for a command of the filesystem handler (tests/actors/fs_probe.c) — all in
// flight at once, and not one runtime thread more than before they started.
#include <dirent.h>
#include <pthread.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

#include "handlers/http-client/test_http_server.h"
#include "testing/actor_test_fixture.h"

namespace theater {
namespace {

using ::testing::StartsWith;
using namespace std::chrono_literals;

const std::string kHttpProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/http_probe.wasm";
const std::string kProcProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/proc_probe.wasm";
const std::string kServerProbe =
    std::string(THEATER_TEST_ACTOR_DIR) + "/http_server_probe.wasm";
const std::string kFsProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/fs_probe.wasm";

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// A keep-alive connection to a server on 127.0.0.1 that has had one GET answered: the status.
struct OpenConnection {
  explicit OpenConnection(asio::io_context& io) : socket(io) {}
  int Get(uint16_t port, const std::string& target) {
    boost::system::error_code ec;
    socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return -1;
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(socket, req, ec);
    if (ec) return -1;
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket, buffer, res, ec);
    return ec ? -1 : static_cast<int>(res.result_int());
  }
  asio::ip::tcp::socket socket;
};

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

// The runtime's threads but the blocking pool's (theater-block: spawns load on it, and it grows
// on demand up to a bound of its own, BlockingPool::Options::max_threads).
std::map<std::string, int> FixedThreads() {
  std::map<std::string, int> names = RuntimeThreads();
  names.erase("theater-block");
  return names;
}

TEST_F(LoopThreadsTest, ActorsWithRequestsProcessesServersAndCommandsAddNoThread) {
  testing_util::TestHttpServer server;
  auto spawn_client = [&] {
    return Spawn("name = \"http\"\nversion = \"0.1.0\"\ncomponent = \"" + kHttpProbe +
                 "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                 "type = \"http-client\"\n");
  };
  auto spawn_proc = [&] {
    return Spawn("name = \"proc\"\nversion = \"0.1.0\"\ncomponent = \"" + kProcProbe +
                 "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                 "type = \"process\"\nallowed_programs = [\"sleep\"]\n");
  };
  auto spawn_server = [&] {
    return Spawn("name = \"web\"\nversion = \"0.1.0\"\ncomponent = \"" + kServerProbe +
                 "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                 "type = \"timing\"\n\n[[handler]]\ntype = \"http-framework\"\n");
  };
  // Each in a directory of its own, fs<n> in the test's home.
  auto fs_dir = [&](size_t n) { return home_ / ("fs" + std::to_string(n)); };
  auto spawn_fs = [&](size_t n) {
    return Spawn("name = \"fs\"\nversion = \"0.1.0\"\ncomponent = \"" + kFsProbe +
                 "\"\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                 "type = \"filesystem\"\npath = \"" +
                 fs_dir(n).string() + "\"\nnew_dir = true\nallowed_commands = [\"sh\"]\n");
  };
  auto port_of = [&](const std::string& actor) -> uint16_t {
    const std::string port = Command(actor, "port");
    EXPECT_TRUE(!port.empty() && std::isdigit(static_cast<unsigned char>(port[0]))) << port;
    return port.empty() || !std::isdigit(static_cast<unsigned char>(port[0]))
               ? 0
               : static_cast<uint16_t>(std::stoi(port));
  };
  asio::io_context client_io;

  // One actor of each kind, each used once: whatever the runtime starts lazily is started.
  std::vector<std::string> http_actors{spawn_client()};
  std::vector<std::string> proc_actors{spawn_proc()};
  std::vector<std::string> server_actors{spawn_server()};
  std::vector<std::string> fs_actors{spawn_fs(0)};
  EXPECT_THAT(Command(http_actors[0], "GET " + server.Url("/echo")), StartsWith("status=200"));
  EXPECT_THAT(Command(proc_actors[0], "spawn:raw:raw:64:-:-:-:-:sleep:0"), StartsWith("id="));
  EXPECT_EQ(OpenConnection(client_io).Get(port_of(server_actors[0]), "/users/1"), 200);
  EXPECT_EQ(Command(fs_actors[0], "exec:.:sh:-c:echo ready"), "exit=0;stdout=ready\n;stderr=");
  const std::map<std::string, int> before = FixedThreads();

  // 120 in all: 34 clients, 33 with processes, 33 servers, 20 with commands.
  while (http_actors.size() < 34) http_actors.push_back(spawn_client());
  while (proc_actors.size() < 33) proc_actors.push_back(spawn_proc());
  while (server_actors.size() < 33) server_actors.push_back(spawn_server());
  while (fs_actors.size() < 20) fs_actors.push_back(spawn_fs(fs_actors.size()));
  // Every server answers a request on a connection that stays open.
  std::vector<std::unique_ptr<OpenConnection>> connections;
  for (const std::string& actor : server_actors) {
    connections.push_back(std::make_unique<OpenConnection>(client_io));
    EXPECT_EQ(connections.back()->Get(port_of(actor), "/users/1"), 200) << actor;
  }
  // Every process actor starts a process that outlives the sampling below.
  for (const std::string& actor : proc_actors) {
    ASSERT_THAT(Command(actor, "spawn:raw:raw:64:-:-:-:-:sleep:3"), StartsWith("id="));
  }
  // Every filesystem actor waits for a command that outlives the sampling below (the file it
  // touches first says it runs).
  std::vector<std::thread> commanders;
  std::vector<std::string> outputs(fs_actors.size());
  std::vector<std::chrono::steady_clock::time_point> ended(fs_actors.size());
  for (size_t i = 0; i < fs_actors.size(); ++i) {
    commanders.emplace_back([&, i] {
      outputs[i] = Command(fs_actors[i], "exec:.:sh:-c:touch started; sleep 4");
      ended[i] = std::chrono::steady_clock::now();
    });
  }
  EXPECT_TRUE(testing_util::WaitFor(
      [&] {
        for (size_t i = 0; i < fs_actors.size(); ++i) {
          if (!std::filesystem::exists(fs_dir(i) / "started")) return false;
        }
        return true;
      },
      20000ms));
  // Every client waits on a request the server answers after 2 s: all in flight at once.
  std::vector<std::thread> senders;
  std::vector<std::string> replies(http_actors.size());
  for (size_t i = 0; i < http_actors.size(); ++i) {
    senders.emplace_back(
        [&, i] { replies[i] = Command(http_actors[i], "GET " + server.Url("/slow/2000")); });
  }
  ASSERT_TRUE(testing_util::WaitFor(
      [&] { return server.requests().size() >= 1 + http_actors.size(); }, 20000ms))
      << server.requests().size() << " requests arrived";
  const std::map<std::string, int> during = FixedThreads();
  const auto sampled = std::chrono::steady_clock::now();
  const int loaders = RuntimeThreads()["theater-block"];
  for (std::thread& sender : senders) sender.join();
  for (const std::string& reply : replies) EXPECT_THAT(reply, StartsWith("status=200"));
  for (std::thread& commander : commanders) commander.join();
  for (size_t i = 0; i < fs_actors.size(); ++i) {
    EXPECT_EQ(outputs[i], "exit=0;stdout=;stderr=") << fs_actors[i];
    EXPECT_GT(ended[i], sampled) << "the command of " << fs_actors[i] << " ended before sampling";
  }

  // No thread per actor, request, process, server or command: before the I/O loop there were
  // 120 more.
  EXPECT_LE(Total(during), Total(before))
      << "before: " << Describe(before) << "\nduring: " << Describe(during);
  EXPECT_EQ(during.count("theater-io") ? during.at("theater-io") : 0, 1) << Describe(during);
  EXPECT_LE(loaders, 16) << "the blocking pool's bound";
}

}  // namespace
}  // namespace theater
