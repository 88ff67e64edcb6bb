// Theater: a WebAssembly actor runtime.
//
// http_bench: the http-framework handler under wrk. Starts an in-process runtime (chain
// recording on, as in production), spawns tests/actors/http_server_probe.wasm — whose init
// creates and starts a server — and runs wrk against its small GET (/users/1, answered by the
// actor's handle-request with a ~100-byte body). With --wasi-http it spawns the wasi:http/proxy
// component tests/actors/components/wasi-http/proxy_echo.wat behind the wasi-http handler
// instead (each request a call of its incoming-handler: a 201 with one header, no body):
//   1. latency:    wrk -t1 -c1  -d<secs>s --latency http://127.0.0.1:<port>/users/1
//   2. throughput: wrk -t2 -c64 -d<secs>s --latency http://127.0.0.1:<port>/users/1
// and prints wrk's reports. Results and how to read them: docs/benchmarks.md.
//
//   http_bench [--seconds S] [--workers W] [--no-chain] [--serve] [--wasi-http]
// --serve prints the port and serves until stdin closes (run your own load generator).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>
#include <string>

#include "common/uuid.h"

#include "bench_util.h"
#include "theater/builtins.h"
#include "theater/runtime.h"

using namespace theater;

namespace {

int RunWrk(const std::string& args) {
  std::string cmd = "wrk " + args;
  std::printf("\n$ %s\n", cmd.c_str());
  std::fflush(stdout);
  return std::system(cmd.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 5;
  int workers = 0;
  bool chain = true;
  bool serve = false;
  bool no_chain = false;
  bool wasi_http = false;
  CLI::App app("HTTP framework benchmark (docs/benchmarks.md)", "http_bench");
  app.add_option("--seconds", seconds, "How long wrk runs");
  app.add_option("--workers", workers, "0: one per core");
  app.add_flag("--no-chain", no_chain, "Record no chain");
  app.add_flag("--serve", serve, "Serve until interrupted instead of running wrk");
  app.add_flag("--wasi-http", wasi_http,
               "Serve with a wasi:http/proxy component behind the wasi-http handler");
  bench::ParseCommandLine(app, argc, argv);
  chain = !no_chain;
  std::filesystem::path home =
      std::filesystem::temp_directory_path() / ("theater-http-bench-" + NewUuid());
  RuntimeOptions options;
  options.home = home;
  options.workers = workers;
  options.persist = false;
  options.record_calls = chain;
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  if (const char* shared = std::getenv("THEATER_HOME")) {
    options.engine.cache_dir = std::filesystem::path(shared) / "cache";
  }
  // The wasi-http handler names its port in the actor's log.
  std::mutex log_mu;
  std::string listening;
  options.log_sink = [&](std::string_view, std::string_view, std::string_view line) {
    const std::string_view marker = "wasi-http: listening on http://127.0.0.1:";
    if (size_t at = line.find(marker); at != std::string_view::npos) {
      std::lock_guard<std::mutex> lock(log_mu);
      listening = std::string(line.substr(at + marker.size()));
    }
  };
  auto created = TheaterRuntime::Create(options, BuiltinHandlers());
  if (!created.ok()) {
    std::fprintf(stderr, "http_bench: %s\n", created.status().ToString().c_str());
    return 1;
  }
  TheaterRuntime& rt = **created;
  SpawnRequest spawn;
  spawn.manifest =
      wasi_http ? std::string("name = \"web\"\nversion = \"0.1.0\"\ncomponent = \"") +
                      THEATER_TEST_ACTOR_DIR +
                      "/proxy_echo.component.wasm\"\n[[handler]]\ntype = \"wasi-http\"\n"
                      "config = { port = 0 }\n"
                : std::string("name = \"web\"\nversion = \"0.1.0\"\ncomponent = \"") +
                      THEATER_TEST_ACTOR_DIR + "/http_server_probe.wasm\"\nauto_handlers = true\n";
  Result<std::string> id = rt.Spawn(spawn);
  if (!id.ok()) {
    std::fprintf(stderr, "http_bench: spawn: %s\n", id.status().ToString().c_str());
    return 1;
  }
  std::string p;
  if (wasi_http) {
    for (int waited_ms = 0; p.empty() && waited_ms < 10'000; waited_ms += 10) {
      {
        std::lock_guard<std::mutex> lock(log_mu);
        p = listening;
      }
      if (p.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    Result<std::vector<uint8_t>> port =
        rt.RequestMessage(*id, std::vector<uint8_t>{'p', 'o', 'r', 't'}, std::chrono::seconds(10));
    if (!port.ok()) {
      std::fprintf(stderr, "http_bench: port: %s\n", port.status().ToString().c_str());
      return 1;
    }
    p.assign(port->begin(), port->end());
  }
  if (p.empty()) {
    std::fprintf(stderr, "http_bench: the server's port is unknown\n");
    return 1;
  }
  std::string url = "http://127.0.0.1:" + p + "/users/1";
  std::printf("http_bench: actor %s serving %s (chain recording %s)\n", id->c_str(), url.c_str(),
              chain ? "on" : "off");
  int rc = 0;
  if (serve) {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
  } else {
    std::string d = " -d" + std::to_string(seconds) + "s --latency " + url;
    RunWrk("-t1 -c1 -d1s " + url + " >/dev/null");  // warm-up
    rc |= RunWrk("-t1 -c1" + d);
    rc |= RunWrk("-t2 -c64" + d);
  }
  rt.Stop(*id).IgnoreError();
  created->reset();
  std::filesystem::remove_all(home);
  return rc == 0 ? 0 : 1;
}
