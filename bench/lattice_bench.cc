// Theater: a WebAssembly actor runtime.
//
// lattice_bench: the lattice's figures of docs/benchmarks.md (issue 53), each beside what NATS
// itself does through the same nats-server (bench/lattice.sh starts one and alternates the modes).
//
//   lattice_bench raw-send    --nats URL [--n N] [--size S]
//       the C client alone: one connection publishes N messages of S bytes (16 by default, a
//       bench_actor message) to a subject another connection subscribes to; the clock stops when
//       the subscriber has them all.
//   lattice_bench raw-request --nats URL [--n N]
//       the C client alone: request/reply round trips to a responder on another connection,
//       both sending each message at once (as the hosts do); p50, p99.
//   lattice_bench send        --nats URL [--n N] [--pairs P] [--same-host] [--no-cluster]
//       actor-to-actor sends (tests/actors/bench_actor.c, 16 bytes each) from P senders on host
//       a to P receivers on host b: two runtimes in this process, each joined to the lattice
//       through its own NATS connection. --same-host puts the receivers on host a too (the
//       lattice's cost on local delivery); --no-cluster runs host a alone, outside any lattice
//       (the baseline of --same-host).
//   lattice_bench request     --nats URL [--n N] [--same-host] [--no-cluster]
//       request round trips from an actor on host a to an actor on host b, timed inside the
//       requester (p50, p99).
//
// Common: --workers W per host (default: one per core). Output: one JSON line.
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "cluster/lattice_member.h"
#include "cluster/lattice_messenger.h"
#include "common/uuid.h"
#include "theater/builtins.h"
#include "theater/runtime.h"

namespace {

using namespace theater;
using bench::Clock;
using bench::ProcessCpuSeconds;
using bench::Seconds;

struct Args {
  std::string mode;
  std::string nats;
  uint64_t n = 0;
  size_t size = 16;
  unsigned pairs = 8;
  bool same_host = false;
  bool no_cluster = false;
  int workers = 0;
};

[[noreturn]] void Usage(const std::string& why) {
  bench::UsageError("lattice_bench", why);
}

[[noreturn]] void Die(const std::string& what, const Status& why) {
  std::fprintf(stderr, "lattice_bench: %s: %s\n", what.c_str(), why.ToString().c_str());
  std::exit(1);
}

void CheckNats(natsStatus status, const char* what) {
  if (status != NATS_OK) {
    std::fprintf(stderr, "lattice_bench: %s: %s\n", what, natsStatus_GetText(status));
    std::exit(1);
  }
}

natsConnection* RawConnect(const std::string& url) {
  natsOptions* options = nullptr;
  CheckNats(natsOptions_Create(&options), "options");
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetSendAsap(options, true);
  natsConnection* nc = nullptr;
  CheckNats(natsConnection_Connect(&nc, options), "connecting");
  natsOptions_Destroy(options);
  return nc;
}

int RawSend(const Args& args) {
  const uint64_t n = args.n ? args.n : 1'000'000;
  natsConnection* publisher = RawConnect(args.nats);
  // The publisher buffers (as a host's batches fill while the last one goes): SendAsap off.
  natsConnection_Destroy(publisher);
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  natsOptions_SetURL(options, args.nats.c_str());
  CheckNats(natsConnection_Connect(&publisher, options), "connecting");
  natsOptions_Destroy(options);
  natsConnection* subscriber = RawConnect(args.nats);
  std::atomic<uint64_t> received{0};
  natsSubscription* sub = nullptr;
  const std::string subject = "bench.raw." + NewUuid();
  CheckNats(natsConnection_Subscribe(
                &sub, subscriber, subject.c_str(),
                [](natsConnection*, natsSubscription*, natsMsg* msg, void* count) {
                  static_cast<std::atomic<uint64_t>*>(count)->fetch_add(1);
                  natsMsg_Destroy(msg);
                },
                &received),
            "subscribing");
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(subscriber);
  const std::vector<char> payload(args.size, 'm');
  const double cpu0 = ProcessCpuSeconds();
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    CheckNats(natsConnection_Publish(publisher, subject.c_str(), payload.data(),
                                     static_cast<int>(payload.size())),
              "publishing");
  }
  natsConnection_Flush(publisher);
  while (received.load() < n) std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double seconds = Seconds(Clock::now() - start);
  const double cpu = ProcessCpuSeconds() - cpu0;
  std::printf("{\"mode\":\"raw-send\",\"messages\":%llu,\"size\":%zu,\"seconds\":%.3f,"
              "\"messages_per_s\":%.0f,\"cpu_us_per_message\":%.2f}\n",
              static_cast<unsigned long long>(n), args.size, seconds, n / seconds,
              cpu * 1e6 / n);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(publisher);
  natsConnection_Destroy(subscriber);
  return 0;
}

int RawRequest(const Args& args) {
  const uint64_t n = args.n ? args.n : 20'000;
  natsConnection* requester = RawConnect(args.nats);
  natsConnection* responder = RawConnect(args.nats);
  const std::string subject = "bench.rtt." + NewUuid();
  natsSubscription* sub = nullptr;
  CheckNats(natsConnection_Subscribe(
                &sub, responder, subject.c_str(),
                [](natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
                  natsConnection_Publish(nc, natsMsg_GetReply(msg), "pong", 4);
                  natsMsg_Destroy(msg);
                },
                nullptr),
            "subscribing");
  natsConnection_Flush(responder);
  std::vector<double> took;
  took.reserve(n);
  for (uint64_t i = 0; i < n + 1000; ++i) {  // the first thousand warm up
    natsMsg* reply = nullptr;
    const auto start = Clock::now();
    CheckNats(natsConnection_Request(&reply, requester, subject.c_str(), "ping", 4, 5000),
              "requesting");
    const double us = Seconds(Clock::now() - start) * 1e6;
    natsMsg_Destroy(reply);
    if (i >= 1000) took.push_back(us);
  }
  std::sort(took.begin(), took.end());
  std::printf("{\"mode\":\"raw-request\",\"requests\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
              static_cast<unsigned long long>(n), took[took.size() / 2],
              took[took.size() * 99 / 100]);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(requester);
  natsConnection_Destroy(responder);
  return 0;
}

// One host: a runtime, and (unless --no-cluster) its place in the lattice.
struct Host {
  std::filesystem::path home;
  std::unique_ptr<TheaterRuntime> runtime;
  std::unique_ptr<cluster::LatticeMember> member;
  std::shared_ptr<cluster::LatticeMessenger> messenger;
  ~Host() {
    if (runtime) (void)runtime->Shutdown();
    if (messenger) messenger->Close();
    member.reset();
    runtime.reset();
    messenger.reset();
    std::filesystem::remove_all(home);
  }
};

std::unique_ptr<Host> StartHost(const Args& args, const std::string& name,
                                const std::string& lattice) {
  auto host = std::make_unique<Host>();
  host->home = std::filesystem::temp_directory_path() / ("theater-latbench-" + NewUuid());
  RuntimeOptions options;
  options.home = host->home;
  options.persist = false;
  options.workers = args.workers;
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  if (const char* cache = std::getenv("THEATER_HOME")) {
    options.engine.cache_dir = std::filesystem::path(cache) / "cache";
  }
  Result<std::unique_ptr<TheaterRuntime>> rt = TheaterRuntime::Create(options, BuiltinHandlers());
  if (!rt.ok()) Die("runtime", rt.status());
  host->runtime = std::move(rt).value();
  if (args.no_cluster) return host;
  ClusterOptions cluster;
  cluster.url = args.nats;
  cluster.lattice = lattice;
  cluster.host_id = name;
  TheaterRuntime* runtime = host->runtime.get();
  Result<std::unique_ptr<cluster::LatticeMember>> member = cluster::LatticeMember::Join(
      cluster, [runtime] { return cluster::LatticeMember::Facts{runtime->ActorCount(), ""}; });
  if (!member.ok()) Die("joining", member.status());
  host->member = std::move(member).value();
  Result<std::shared_ptr<cluster::LatticeMessenger>> messenger =
      cluster::LatticeMessenger::Start(*host->member);
  if (!messenger.ok()) Die("messenger", messenger.status());
  host->messenger = std::move(messenger).value();
  if (Status joined = host->runtime->JoinLattice(host->messenger); !joined.ok()) {
    Die("joining", joined);
  }
  return host;
}

std::string BenchManifest(uint64_t mailbox) {
  return "name = \"bench\"\nversion = \"0.1.0\"\ncomponent = \"" +
         std::string(THEATER_TEST_ACTOR_DIR) +
         "/bench_actor.wasm\"\n[[handler]]\ntype = \"message-server\"\n"
         "[[handler]]\ntype = \"timing\"\n[limits]\nmailbox_capacity = " +
         std::to_string(mailbox) + "\n";
}

std::string Spawn(TheaterRuntime& rt, uint64_t mailbox = 1024) {
  SpawnRequest request;
  request.manifest = BenchManifest(mailbox);
  Result<std::string> id = rt.Spawn(request);
  if (!id.ok()) Die("spawn", id.status());
  return *id;
}

std::string Command(TheaterRuntime& rt, const std::string& id, const std::string& command) {
  Result<std::vector<uint8_t>> reply = rt.RequestMessage(
      id, std::vector<uint8_t>(command.begin(), command.end()), std::chrono::minutes(10));
  if (!reply.ok()) Die(command, reply.status());
  return std::string(reply->begin(), reply->end());
}

uint64_t Count(TheaterRuntime& rt, const std::string& id) {
  Result<std::optional<std::vector<uint8_t>>> state = rt.State(id);
  if (!state.ok() || !*state) return 0;
  return std::stoull(std::string((*state)->begin(), (*state)->end()));
}

// Both hosts have heard each other (a lookup needs the holder live).
void WaitForEachOther(Host& a, Host& b) {
  while (!a.member->IsLive("b", std::chrono::seconds(5)) ||
         !b.member->IsLive("a", std::chrono::seconds(5))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Host a, and host b unless the mode keeps everything on a (a lattice of its own per run).
void StartHosts(const Args& args, std::unique_ptr<Host>* a, std::unique_ptr<Host>* b) {
  const std::string lattice = "bench" + NewUuid().substr(0, 8);
  *a = StartHost(args, "a", lattice);
  if (!args.same_host && !args.no_cluster) {
    *b = StartHost(args, "b", lattice);
    WaitForEachOther(**a, **b);
  }
}

int Send(const Args& args) {
  const uint64_t n = args.n ? args.n : 400'000;
  std::unique_ptr<Host> a, b;
  StartHosts(args, &a, &b);
  Host& receiving = b ? *b : *a;
  // Receivers' mailboxes hold a whole run: a refusal across hosts is reported after the fact,
  // which the benchmark's sender does not retry.
  const uint64_t each = n / args.pairs;
  std::vector<std::string> senders, receivers;
  for (unsigned p = 0; p < args.pairs; ++p) {
    senders.push_back(Spawn(*a->runtime));
    receivers.push_back(Spawn(*receiving.runtime, each + 1024));
  }
  for (unsigned p = 0; p < args.pairs; ++p) Command(*a->runtime, senders[p], "send:" + receivers[p] + ":10");
  std::vector<uint64_t> base;
  for (const std::string& r : receivers) {
    while (Count(*receiving.runtime, r) < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    base.push_back(Count(*receiving.runtime, r));
  }
  const double cpu0 = ProcessCpuSeconds();
  const auto start = Clock::now();
  std::atomic<unsigned> failed{0};
  for (unsigned p = 0; p < args.pairs; ++p) {
    const std::string command = "send:" + receivers[p] + ":" + std::to_string(each);
    a->runtime->RequestMessageAsync(
        senders[p], std::vector<uint8_t>(command.begin(), command.end()), std::chrono::minutes(10),
        [&failed, each](Result<std::vector<uint8_t>> r) {
          if (!r.ok() || std::string(r->begin(), r->end()) != std::to_string(each)) {
            std::fprintf(stderr, "lattice_bench: sender: %s\n",
                         r.ok() ? std::string(r->begin(), r->end()).c_str()
                                : r.status().ToString().c_str());
            ++failed;
          }
        });
  }
  for (unsigned p = 0; p < args.pairs; ++p) {
    while (Count(*receiving.runtime, receivers[p]) < base[p] + each && !failed) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  const double seconds = Seconds(Clock::now() - start);
  const double cpu = ProcessCpuSeconds() - cpu0;
  const uint64_t total = each * args.pairs;
  std::printf("{\"mode\":\"send\",\"where\":\"%s\",\"messages\":%llu,\"pairs\":%u,"
              "\"seconds\":%.3f,\"messages_per_s\":%.0f,\"cpu_us_per_message\":%.2f}\n",
              args.no_cluster ? "no-cluster" : (args.same_host ? "same-host" : "cross-host"),
              static_cast<unsigned long long>(total), args.pairs, seconds, total / seconds,
              cpu * 1e6 / total);
  return failed ? 1 : 0;
}

int Request(const Args& args) {
  const uint64_t n = args.n ? args.n : 20'000;
  std::unique_ptr<Host> a, b;
  StartHosts(args, &a, &b);
  Host& answering = b ? *b : *a;
  const std::string requester = Spawn(*a->runtime);
  const std::string target = Spawn(*answering.runtime);
  Command(*a->runtime, requester, "rtt:" + target + ":1000");  // warm-up
  const std::string figures =
      Command(*a->runtime, requester, "rtt:" + target + ":" + std::to_string(n));
  unsigned long long p50 = 0, p99 = 0, max = 0, mean = 0;
  if (std::sscanf(figures.c_str(), "%llu %llu %llu %llu", &p50, &p99, &max, &mean) != 4) {
    std::fprintf(stderr, "lattice_bench: unexpected reply '%s'\n", figures.c_str());
    return 1;
  }
  std::printf("{\"mode\":\"request\",\"where\":\"%s\",\"requests\":%llu,\"p50_us\":%.1f,"
              "\"p99_us\":%.1f}\n",
              args.no_cluster ? "no-cluster" : (args.same_host ? "same-host" : "cross-host"),
              static_cast<unsigned long long>(n), p50 / 1000.0, p99 / 1000.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app("The lattice's benchmarks (docs/benchmarks.md)", "lattice_bench");
  app.add_option("mode", a.mode)
      ->required()
      ->check(CLI::IsMember({"raw-send", "raw-request", "send", "request"}));
  app.add_option("--nats", a.nats, "The NATS server's URL (bench/lattice.sh starts one)");
  app.add_option("--n", a.n);
  app.add_option("--size", a.size, "raw-send: bytes per message");
  app.add_option("--pairs", a.pairs);
  app.add_flag("--same-host", a.same_host, "Receivers on the senders' host");
  app.add_flag("--no-cluster", a.no_cluster, "One host outside any lattice");
  app.add_option("--workers", a.workers, "0: one per core");
  bench::ParseCommandLine(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON line only
  if (a.nats.empty() && !a.no_cluster) Usage("--nats URL is needed (bench/lattice.sh)");
  if (a.pairs == 0) Usage("--pairs must be at least 1");
  if (a.mode == "raw-send") return RawSend(a);
  if (a.mode == "raw-request") return RawRequest(a);
  if (a.mode == "send") return Send(a);
  return Request(a);
}
