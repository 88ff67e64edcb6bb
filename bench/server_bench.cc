// Theater: a WebAssembly actor runtime.
//
// Management server benchmarks (docs/benchmarks.md): a runtime and its ManagementServer on a
// loopback port in this process, driven by ManagementClient over real TCP.
//
//   server_bench rtt       [--n N]   N commands alternating ListActors and GetActorState (one
//                                    actor running); round-trip p50/p99/max in µs
//   server_bench start     [--n N]   N StartActor commands of the cached bench actor, one after
//                                    another on one connection; total seconds and starts/s
//   server_bench subscribe [--n N] [--encoding base64|array]
//                                    one subscriber to an actor that N handle-send calls keep
//                                    busy; events received (and parsed) per second, and how many
//                                    the server dropped for it. --encoding: how the events carry
//                                    bytes (docs/protocol.md); default base64
//
// Prints one JSON line per run.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/uuid.h"
#include "server/client.h"
#include "server/management_server.h"
#include "server/protocol.h"
#include "theater/builtins.h"

namespace theater::server {
namespace {

using json = nlohmann::json;
using bench::Clock;
using bench::Seconds;

struct Args {
  std::string mode;
  uint64_t n = 0;
  std::string encoding = "base64";
};

Args Parse(int argc, char** argv) {
  Args a;
  CLI::App app("Management server benchmarks (docs/benchmarks.md)", "server_bench");
  app.add_option("mode", a.mode)->required()->check(CLI::IsMember({"rtt", "start", "subscribe"}));
  app.add_option("--n", a.n);
  app.add_option("--encoding", a.encoding);
  bench::ParseCommandLine(app, argc, argv);
  return a;
}

std::string ManifestText() {
  return "name = \"bench\"\nversion = \"0.1.0\"\ncomponent = \"" +
         std::string(THEATER_TEST_ACTOR_DIR) +
         "/bench_actor.wasm\"\n[[handler]]\ntype = \"message-server\"\n[[handler]]\ntype = "
         "\"timing\"\n";
}

std::unique_ptr<ManagementClient> MustConnect(const std::string& address) {
  ManagementClient::Options options;
  options.address = address;
  auto client = ManagementClient::Connect(options);
  if (!client.ok()) {
    std::fprintf(stderr, "connect: %s\n", client.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(client).value();
}

std::string MustStart(ManagementClient& client) {
  auto reply = client.Call(MakeVariant("StartActor", json{{"manifest", ManifestText()}}));
  if (!reply.ok()) {
    std::fprintf(stderr, "start: %s\n", reply.status().ToString().c_str());
    std::exit(1);
  }
  return reply->fields["id"].get<std::string>();
}

int Main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  const char* env_home = std::getenv("THEATER_HOME");
  std::filesystem::path home =
      std::filesystem::temp_directory_path() / ("server-bench-" + NewUuid());
  RuntimeOptions options;
  options.home = home;
  if (env_home) options.engine.cache_dir = std::filesystem::path(env_home) / "cache";
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  auto runtime = TheaterRuntime::Create(options, BuiltinHandlers());
  if (!runtime.ok()) {
    std::fprintf(stderr, "runtime: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  ServerOptions server_options;
  server_options.address = "127.0.0.1:0";
  auto server = ManagementServer::Start(**runtime, server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  auto client = MustConnect((*server)->address());
  // Compiles the actor into the cache if it is not there yet: the figures are for a cached one.
  std::string first = MustStart(*client);

  if (args.mode == "rtt") {
    const uint64_t n = args.n ? args.n : 20000;
    const json list = "ListActors";
    const json state = MakeVariant("GetActorState", json{{"id", first}});
    std::vector<double> micros;
    micros.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      auto start = Clock::now();
      auto reply = client->Call(i % 2 ? state : list);
      micros.push_back(Seconds(Clock::now() - start) * 1e6);
      if (!reply.ok()) return 1;
    }
    std::sort(micros.begin(), micros.end());
    std::printf("{\"mode\":\"rtt\",\"n\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
                static_cast<unsigned long long>(n), micros[n / 2], micros[n * 99 / 100],
                micros.back());
  } else if (args.mode == "start") {
    const uint64_t n = args.n ? args.n : 1000;
    auto start = Clock::now();
    for (uint64_t i = 0; i < n; ++i) MustStart(*client);
    double seconds = Seconds(Clock::now() - start);
    std::printf("{\"mode\":\"start\",\"n\":%llu,\"seconds\":%.3f,\"starts_per_s\":%.0f}\n",
                static_cast<unsigned long long>(n), seconds, n / seconds);
  } else {
    const uint64_t n = args.n ? args.n : 400000;
    auto subscribed = client->Call(
        MakeVariant("SubscribeToActor", json{{"id", first}, {"byte_encoding", args.encoding}}));
    if (!subscribed.ok()) return 1;
    std::atomic<bool> producing{true};
    std::thread producer([&] {
      // Calls in flight are bounded so that the actor's mailbox never refuses one.
      std::mutex mu;
      std::condition_variable cv;
      uint64_t in_flight = 0;
      for (uint64_t i = 0; i < n; ++i) {
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return in_flight < 512; });
          ++in_flight;
        }
        (*runtime)->CallAsync(first, "theater:simple/message-server-client", "handle-send",
                              {abi::Value::Bytes({1, 2, 3})}, [&](Result<std::vector<abi::Value>>) {
                                std::lock_guard<std::mutex> lock(mu);
                                --in_flight;
                                cv.notify_one();
                              });
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
      producing = false;
    });
    uint64_t received = 0;
    uint64_t dropped = 0;
    auto start = Clock::now();
    auto last = start;
    for (;;) {
      auto push = client->NextEvent(std::chrono::milliseconds(producing ? 2000 : 300));
      if (!push.ok()) return 1;
      if (!*push) {
        if (!producing) break;
        continue;
      }
      if ((*push)->dropped) {
        dropped += (*push)->dropped;
      } else {
        ++received;
      }
      last = Clock::now();
    }
    producer.join();
    double seconds = Seconds(last - start);
    std::printf(
        "{\"mode\":\"subscribe\",\"encoding\":\"%s\",\"calls\":%llu,\"received\":%llu,\"dropped\":%"
        "llu,"
        "\"seconds\":%.3f,\"events_per_s\":%.0f}\n",
        args.encoding.c_str(), static_cast<unsigned long long>(n),
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(dropped),
        seconds, received / seconds);
  }
  client.reset();
  (*server)->Stop();
  runtime->reset();
  std::filesystem::remove_all(home);
  return 0;
}

}  // namespace
}  // namespace theater::server

int main(int argc, char** argv) {
  return theater::server::Main(argc, argv);
}
