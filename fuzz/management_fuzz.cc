// Theater: a WebAssembly actor runtime.
//
// Stateful libFuzzer target for the management server (src/server/management_server.cc) and
// the runtime commands it dispatches, spawn path included: real ManagementServers on
// 127.0.0.1:0 (one without a token, one with) over one in-process TheaterRuntime (persist=false,
// THEATER_HOME in a private temporary directory), started once and reused by every input.
//
// An input is a script (text starting "#script", see RunScript) or a program of up to 64 steps
// over at most 4 connections: open a connection (to
// either server), send a command built from the input (any command name, ids the server handed
// out earlier or made up, inline manifests naming the test actors or not, byte fields as arrays
// or base64, envelopes with request ids and tokens), send raw frame bytes, send a command cut in
// fragments, read what has arrived (replies are parsed; ids of started actors, subscriptions and
// channels are remembered for later steps), or close a connection.
//
// Invariants: the server never crashes; after every input — its connections closed, its actors
// stopped — a fresh client still gets an answer to GetServerInfo within 5 s (nothing a client
// sends locks others out), and the runtime holds no actor.
//
// Known gaps, excluded so that a campaign is not stopped at once by a problem already being
// fixed (issue 19, item 13): strings naming /dev, /proc, /sys or "..", and messages asking the
// probe actor to spin, sleep or grow (they block a worker for the call deadline).
#include <arpa/inet.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/framing.h"
#include "server/management_server.h"
#include "server/protocol.h"
#include "support/temp_dir.h"
#include "theater/runtime.h"
#include "theater/builtins.h"

#ifndef THEATER_FUZZ_ACTOR_DIR
#error "THEATER_FUZZ_ACTOR_DIR must name the directory of the built test actors"
#endif
#ifndef THEATER_FUZZ_WORK_DIR
#error "THEATER_FUZZ_WORK_DIR must name a directory the target may write (its compile cache)"
#endif

namespace {

using namespace theater;
using namespace theater::server;
using nlohmann::json;

constexpr const char* kToken = "fuzz-token";

struct World {
  std::unique_ptr<TheaterRuntime> runtime;
  std::unique_ptr<ManagementServer> servers[2];
  std::string addresses[2];
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World();
    namespace fs = std::filesystem;
    const fs::path dir = fuzz::FreshSubdir("management");
    RuntimeOptions options;
    options.home = dir / "home";
    options.persist = false;
    options.workers = 2;
    // The inputs' manifests name the probe and the messenger, whose handlers they do not all
    // declare: the runtime adds them, so inputs reach the server's code, not that refusal.
    options.auto_handlers = true;
    options.engine.cache_dir = fs::path(THEATER_FUZZ_WORK_DIR) / "compile-cache";
    options.engine.progress = engine::EngineOptions::Progress::kOff;
    Result<std::unique_ptr<TheaterRuntime>> runtime = TheaterRuntime::Create(options, BuiltinHandlers());
    if (!runtime.ok()) {
      fprintf(stderr, "runtime: %s\n", runtime.status().ToString().c_str());
      abort();
    }
    w->runtime = std::move(*runtime);
    for (int i = 0; i < 2; ++i) {
      ServerOptions server;
      server.address = "127.0.0.1:0";
      if (i == 1) server.token = kToken;
      server.max_connections = 64;
      server.request_timeout = std::chrono::milliseconds(2000);
      Result<std::unique_ptr<ManagementServer>> started =
          ManagementServer::Start(*w->runtime, server);
      if (!started.ok()) abort();
      w->servers[i] = std::move(*started);
      w->addresses[i] = w->servers[i]->address();
    }
    // Compile both actors once (the cache keeps them), so that inputs spend their time on the
    // server, not in the compiler, and so that a setup problem stops the target at once.
    for (const char* component : {"runtime_probe.wasm", "messenger.wasm"}) {
      SpawnRequest request;
      request.manifest = std::string("name = \"warm\"\nversion = \"1\"\ncomponent = \"") +
                         THEATER_FUZZ_ACTOR_DIR + "/" + component +
                         "\"\n[[handler]]\ntype = \"message-server\"\n";
      Result<std::string> id = w->runtime->Spawn(request);
      if (!id.ok()) {
        fprintf(stderr, "spawning %s: %s\n", component, id.status().ToString().c_str());
        abort();
      }
      (void)w->runtime->Terminate(*id);
    }
    return w;
  }();
  return *world;
}

int Connect(const std::string& address) {
  size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) abort();
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 200) <= 0) return;  // a server not reading: give up on this frame
    ssize_t n = send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

struct Connection {
  int fd = -1;
  FrameDecoder decoder;
  bool broken = false;
};

// Whatever the fuzzer builds must not hit the problems excluded above.
bool Excluded(const std::string& s) {
  for (const char* bad : {"/dev", "/proc", "/sys", ".."}) {
    if (s.find(bad) != std::string::npos) return true;
  }
  return s.starts_with("spin") || s.starts_with("sleep") || s.starts_with("grow");
}

struct State {
  std::vector<std::string> actors;
  std::vector<std::string> subscriptions;
  std::vector<std::string> channels;
  bool excluded = false;

  std::string Pick(FuzzedDataProvider& in, const std::vector<std::string>& known) {
    if (!known.empty() && in.ConsumeIntegralInRange<int>(0, 3) != 0) {
      return known[in.ConsumeIntegralInRange<size_t>(0, known.size() - 1)];
    }
    if (in.ConsumeBool()) return "00000000-0000-4000-8000-000000000000";
    return Take(in, 40);
  }
  std::string Take(FuzzedDataProvider& in, size_t max) {
    std::string s = in.ConsumeRandomLengthString(max);
    if (Excluded(s)) excluded = true;
    return s;
  }
};

std::string Manifest(FuzzedDataProvider& in, State& state) {
  static const char* const kHandlers[] = {
      "",
      "[[handler]]\ntype = \"message-server\"\n",
      "[[handler]]\ntype = \"supervisor\"\n[[handler]]\ntype = \"runtime\"\n",
      "[[handler]]\ntype = \"timing\"\nmax_sleep_duration = 10\n",
      "[[handler]]\ntype = \"store\"\n",
      "[[handler]]\ntype = \"random\"\nseed = 1\n"};
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
    case 1: {
      std::string m = "name = \"fuzz\"\nversion = \"0.1.0\"\ncomponent = \"";
      m += THEATER_FUZZ_ACTOR_DIR;
      m += in.ConsumeBool() ? "/runtime_probe.wasm" : "/messenger.wasm";
      m += "\"\n";
      if (in.ConsumeBool()) m += "save_chain = true\n";
      m += "[limits]\ncall_deadline_ms = 2000\ninit_deadline_ms = 2000\n";
      m += kHandlers[in.ConsumeIntegralInRange<size_t>(0, std::size(kHandlers) - 1)];
      m += state.Take(in, 200);
      return m;
    }
    case 2:
      return "name = \"fuzz\"\nversion = \"1\"\ncomponent = \"" + state.Take(in, 60) + "\"\n";
    case 3:
      return "https://example.invalid/" + state.Take(in, 30);
    default:
      return state.Take(in, 300);
  }
}

json Bytes(FuzzedDataProvider& in, State& state) {
  static const char* const kMessages[] = {"count",    "echo:hi",  "get-state",   "err",
                                          "trap",     "actor-id", "children",    "uuid",
                                          "random:4", "metric:3", "shutdown:bye"};
  std::string text = in.ConsumeBool()
                         ? kMessages[in.ConsumeIntegralInRange<size_t>(0, std::size(kMessages) - 1)]
                         : state.Take(in, 64);
  if (in.ConsumeBool())
    return BytesToJson({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  json array = json::array();
  for (unsigned char c : text) array.push_back(c);
  return array;
}

json Command(FuzzedDataProvider& in, State& state) {
  static const char* const kBare[] = {"ListActors", "ListStored", "GetServerInfo", "NewStore"};
  static const char* const kById[] = {
      "StopActor",       "TerminateActor", "RestartActor",    "PauseActor",       "ResumeActor",
      "ListChildren",    "GetActorStatus", "GetActorState",   "GetActorManifest", "GetActorEvents",
      "GetActorMetrics", "VerifyChain",    "SubscribeToActor"};
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      return kBare[in.ConsumeIntegralInRange<size_t>(0, std::size(kBare) - 1)];
    case 1: {
      json f = {{"manifest", Manifest(in, state)},
                {"parent", in.ConsumeBool()},
                {"subscribe", in.ConsumeBool()}};
      if (in.ConsumeBool()) f["initial_state"] = Bytes(in, state);
      if (in.ConsumeBool()) f["byte_encoding"] = "base64";
      return MakeVariant("StartActor", f);
    }
    case 2:
    case 3: {
      json f = {{"id", state.Pick(in, state.actors)}};
      if (in.ConsumeBool()) f["byte_encoding"] = "base64";
      return MakeVariant(kById[in.ConsumeIntegralInRange<size_t>(0, std::size(kById) - 1)], f);
    }
    case 4:
      return MakeVariant(in.ConsumeBool() ? "SendActorMessage" : "RequestActorMessage",
                         {{"id", state.Pick(in, state.actors)}, {"data", Bytes(in, state)}});
    case 5:
      return MakeVariant("UnsubscribeFromActor",
                         {{"id", state.Pick(in, state.actors)},
                          {"subscription_id", state.Pick(in, state.subscriptions)}});
    case 6:
      return MakeVariant("OpenChannel", {{"actor_id", {{"Actor", state.Pick(in, state.actors)}}},
                                         {"initial_message", Bytes(in, state)}});
    case 7:
      if (in.ConsumeBool()) {
        return MakeVariant("SendOnChannel", {{"channel_id", state.Pick(in, state.channels)},
                                             {"message", Bytes(in, state)}});
      }
      return MakeVariant("CloseChannel", {{"channel_id", state.Pick(in, state.channels)}});
    case 8:
      return MakeVariant("Authenticate",
                         {{"token", in.ConsumeBool() ? kToken : state.Take(in, 20)}});
    default:
      return MakeVariant("UpdateActorComponent",
                         {{"id", state.Pick(in, state.actors)}, {"component", state.Take(in, 40)}});
  }
}

void Remember(const std::vector<uint8_t>& message, State& state) {
  Result<Incoming> in = ParseIncoming(message);
  if (!in.ok()) return;
  const json& f = in->response.fields;
  auto grab = [&](const char* key, std::vector<std::string>& into) {
    if (f.is_object() && f.contains(key) && f[key].is_string() && into.size() < 16) {
      into.push_back(f[key].get<std::string>());
    }
  };
  if (in->response.name == "ActorStarted") grab("id", state.actors);
  if (in->response.name == "Subscribed") grab("subscription_id", state.subscriptions);
  if (in->response.name == "ChannelOpened") grab("channel_id", state.channels);
}

void Drain(Connection& c, State& state, int wait_ms) {
  if (c.fd < 0 || c.broken) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  char buf[65536];
  do {
    pollfd p{c.fd, POLLIN, 0};
    if (poll(&p, 1, 5) <= 0) continue;
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n <= 0) {
      c.broken = true;
      return;
    }
    std::vector<std::vector<uint8_t>> messages;
    if (!c.decoder.Feed({reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)}, messages).ok()) {
      __builtin_trap();  // the server's own frames must always decode
    }
    for (const auto& m : messages) Remember(m, state);
  } while (std::chrono::steady_clock::now() < deadline);
}

// A fresh client's GetServerInfo is answered within 5 s.
void CheckAnswers(const std::string& address) {
  int fd = Connect(address);
  if (fd < 0) __builtin_trap();
  std::string wire;
  FrameEncoder encoder;
  json command = address == TheWorld().addresses[1]
                     ? WrapCommand(json("GetServerInfo"), 1, std::string(kToken))
                     : json("GetServerInfo");
  std::string text = command.dump();
  encoder.EncodeTo({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, wire);
  SendAll(fd, wire);
  FrameDecoder decoder;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    std::vector<std::vector<uint8_t>> messages;
    if (!decoder.Feed({reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)}, messages).ok())
      break;
    for (const auto& m : messages) {
      Result<Incoming> in = ParseIncoming(m);
      if (in.ok() && in->response.name == "ServerInfo") {
        close(fd);
        return;
      }
    }
  }
  fprintf(stderr, "the server at %s did not answer GetServerInfo within 5 s\n", address.c_str());
  __builtin_trap();
}

// A script: the input as lines "<conn> <verb> [text]", verbs open0/open1 (to the server without
// or with a token), send (the text as one message: a command's JSON, where "$A" stands for the
// last actor id and "$S" for the last subscription id), raw (the text's bytes as they are),
// read (wait up to 100 ms for replies), close; "$D" stands for the test actors' directory. Seeds
// and dictionaries can reach deep states this way at once; random inputs go through RunProgram.
void RunScript(std::string_view script, State& state, Connection (&conns)[4]) {
  World& world = TheWorld();
  FrameEncoder encoder(kCompactCompleteMax);
  int lines = 0;
  while (!script.empty() && lines++ < 64 && !state.excluded) {
    size_t nl = script.find('\n');
    std::string_view line = script.substr(0, nl);
    script.remove_prefix(nl == std::string_view::npos ? script.size() : nl + 1);
    if (line.size() < 2 || line[0] < '0' || line[0] > '3' || line[1] != ' ') continue;
    Connection& c = conns[line[0] - '0'];
    line.remove_prefix(2);
    size_t space = line.find(' ');
    std::string_view verb = line.substr(0, space);
    std::string text(space == std::string_view::npos ? "" : line.substr(space + 1));
    if (Excluded(text)) {
      state.excluded = true;
      break;
    }
    if (verb == "open0" || verb == "open1") {
      if (c.fd >= 0) close(c.fd);
      c.fd = Connect(world.addresses[verb == "open1" ? 1 : 0]);
      c.decoder = FrameDecoder();
      c.broken = false;
    } else if (verb == "send" && c.fd >= 0) {
      // "$D": the directory of the test actors (inline manifests name them by absolute path).
      for (size_t at = text.find("$D"); at != std::string::npos; at = text.find("$D", at)) {
        text.replace(at, 2, THEATER_FUZZ_ACTOR_DIR);
        at += std::strlen(THEATER_FUZZ_ACTOR_DIR);
      }
      for (const auto& [mark, known] :
           {std::pair{"$A", &state.actors}, std::pair{"$S", &state.subscriptions},
            std::pair{"$C", &state.channels}}) {
        std::string value = known->empty() ? "none" : known->back();
        for (size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at)) {
          text.replace(at, 2, value);
          at += value.size();
        }
      }
      std::string wire;
      encoder.EncodeTo({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, wire);
      SendAll(c.fd, wire);
    } else if (verb == "raw" && c.fd >= 0) {
      SendAll(c.fd, text);
    } else if (verb == "read") {
      Drain(c, state, 100);
    } else if (verb == "close" && c.fd >= 0) {
      close(c.fd);
      c.fd = -1;
    }
  }
}

void RunProgram(FuzzedDataProvider& in, State& state, Connection (&conns)[4]) {
  World& world = TheWorld();
  FrameEncoder encoder(in.ConsumeBool() ? kCompactCompleteMax : kMaxFragmentData);
  for (int step = 0; step < 64 && in.remaining_bytes() > 0 && !state.excluded; ++step) {
    Connection& c = conns[in.ConsumeIntegralInRange<int>(0, 3)];
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        if (c.fd < 0) {
          c.fd = Connect(world.addresses[in.ConsumeBool() ? 1 : 0]);
          c.decoder = FrameDecoder();
          c.broken = false;
        }
        break;
      case 1:
      case 2:
      case 3: {
        if (c.fd < 0) break;
        json command = Command(in, state);
        if (state.excluded) break;
        if (in.ConsumeBool()) {
          json request_id = in.ConsumeBool() ? json(in.ConsumeIntegral<int32_t>()) : json("r");
          std::optional<std::string> token;
          if (in.ConsumeBool()) token = in.ConsumeBool() ? kToken : "wrong";
          command = WrapCommand(command, request_id, token);
        }
        std::string text = command.dump(-1, ' ', false, json::error_handler_t::replace);
        std::string wire;
        encoder.EncodeTo({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, wire);
        SendAll(c.fd, wire);
        break;
      }
      case 4: {  // raw bytes: a frame of anything, or a cut one
        if (c.fd < 0) break;
        std::string raw = state.Take(in, 256);
        if (!state.excluded) SendAll(c.fd, raw);
        break;
      }
      case 5:
      case 6:
        Drain(c, state, in.ConsumeIntegralInRange<int>(0, 100));
        break;
      default:
        if (c.fd >= 0) close(c.fd);
        c.fd = -1;
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  State state;
  Connection conns[4];
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.starts_with("#script\n")) {
    RunScript(text.substr(8), state, conns);
  } else {
    FuzzedDataProvider in(data, size);
    RunProgram(in, state, conns);
  }
  for (Connection& c : conns) {
    if (c.fd >= 0) {
      Drain(c, state, 20);
      close(c.fd);
    }
  }
  // Leave nothing running for the next input. A StartActor whose connection has closed may still
  // be loading on the runtime's loader pool and register its actor a moment later: terminate
  // until the list has stayed empty for a while (a stuck actor still fails the check below).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int quiet_rounds = 0;
  while (quiet_rounds < 3 && std::chrono::steady_clock::now() < give_up) {
    std::vector<ActorSummary> actors = world.runtime->List();
    if (actors.empty()) {
      ++quiet_rounds;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    quiet_rounds = 0;
    for (const ActorSummary& a : actors) {
      if (!a.parent_id) (void)world.runtime->Terminate(a.id);
    }
  }
  CheckAnswers(world.addresses[0]);
  CheckAnswers(world.addresses[1]);
  if (std::vector<ActorSummary> left = world.runtime->List(); !left.empty()) {
    fprintf(stderr, "actors are still running after Terminate:\n");
    for (const ActorSummary& a : left) {
      fprintf(stderr, "  %s '%s' phase %d parent %s from %.80s\n", a.id.c_str(), a.name.c_str(),
              static_cast<int>(a.phase), a.parent_id ? a.parent_id->c_str() : "-",
              a.manifest_source.c_str());
    }
    __builtin_trap();
  }
  return 0;
}
