// Theater: a WebAssembly actor runtime.
//
// Spawns as a hostile client or guest makes them, against a real runtime with the probe actor:
// references and manifests built to crash a recursive parser, to block the thread that loads
// them (a FIFO, a URL that never answers), to read through a child's manifest what the spawner
// may not read, or to raise a child's limits above its parent's; and guests that flood the log
// and the chain. Each must fail (or be throttled) with an error that names the limit, and leave
// the runtime serving everyone else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include <nlohmann/json.hpp>

#include "common/silent_listener.h"
#include "common/uuid.h"
#include "engine/wasm2c/runtime.h"
#include "runtime/admission.h"
#include "runtime/runtime_impl.h"
#include "testing/runtime_test_fixture.h"
#include "theater/content_store.h"
#include "theater/limits.h"
#include "theater/builtins.h"

namespace theater {
namespace {

using namespace std::chrono_literals;
using namespace testing_util;
using ::testing::HasSubstr;
using ::testing::Not;

class HostileSpawnTest : public RuntimeTest {
 protected:
  // Spawn() that expects a failure and returns it.
  Status SpawnFails(const std::string& manifest, std::optional<std::string> state = {}) {
    SpawnRequest request;
    request.manifest = manifest;
    if (state) request.state = Bytes(*state);
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_FALSE(id.ok()) << "spawned " << *id;
    return id.ok() ? Status::Ok() : id.status();
  }
  // The runtime still spawns and answers.
  void ExpectServing() {
    std::string id = Spawn(ProbeManifest());
    ASSERT_TRUE(IsUuid(id));
    EXPECT_EQ(Response(Request(id, "count")), "1");
  }
};

TEST_F(HostileSpawnTest, AVeryLongReferenceIsRefusedNotACrash) {
  // 32 KiB of one letter once sent the inline-manifest check's regex past the stack's end.
  for (size_t n : {size_t{32} << 10, size_t{1} << 20}) {
    Status s = SpawnFails(std::string(n, 'A'));
    EXPECT_NE(s.code(), StatusCode::kOk);
  }
  Status s = SpawnFails("name" + std::string(1 << 20, ' ') + "= 1");
  EXPECT_THAT(s.ToString(), HasSubstr("<inline manifest>"));
  ExpectServing();
}

// An error quotes at most a few hundred bytes of what it refuses, once, and says how long it
// was: a 2 MiB store reference once came back as an 8.4 MB error (quoted four times).
TEST_F(HostileSpawnTest, ErrorsQuoteAFewHundredBytesOfTheirInputOnce) {
  const std::string huge(2u << 20, 'A');
  for (const std::string& manifest :
       {"store://" + huge, "https://" + huge, "/" + huge,
        ProbeManifest("init_state = \"store://" + std::string(900u << 10, 'A') + "\"\n"),
        "name = \"x\"\nversion = \"0.1.0\"\ncomponent = \"store://" +
            std::string(900u << 10, 'A') + "\"\n"}) {
    const std::string error = SpawnFails(manifest).ToString();
    EXPECT_LT(error.size(), 1024u) << error.substr(0, 300);
    EXPECT_THAT(error, HasSubstr("over the limit of 4096 bytes"));
    EXPECT_THAT(error, HasSubstr(" bytes)"));  // how long the input was
  }
  // From a guest the same.
  const std::string parent = Spawn(ProbeManifest());
  const std::string reply = Response(Request(parent, "spawn:store://" + std::string(1u << 20, 'A')));
  EXPECT_LT(reply.size(), 1024u);
  EXPECT_THAT(reply, HasSubstr("over the limit of 4096 bytes"));
  ExpectServing();
}

TEST_F(HostileSpawnTest, ADeepDottedTableHeaderIsRefusedByName) {
  std::string header = "[a";
  for (int i = 0; i < 100000; ++i) header += ".a";
  header += "]\n";
  Status s = SpawnFails(ProbeManifest() + header + "x = 1\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.ToString(), HasSubstr("more than 64 dotted parts"));
  // Nested inline arrays are refused the same way, before toml++ sees them.
  Status arrays = SpawnFails(ProbeManifest() + "x = " + std::string(100000, '[') + "\n");
  EXPECT_THAT(arrays.ToString(), HasSubstr("nests deeper than 64 levels"));
  ExpectServing();
}

TEST_F(HostileSpawnTest, ADeeplyNestedInitialStateIsRefusedByName) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Status given = SpawnFails(ProbeManifest(), deep);
  EXPECT_THAT(given.ToString(), HasSubstr("initial state given at spawn nests deeper than 128"));
  // The same through the manifest's init_state file.
  std::filesystem::path state_file = home_ / "deep.json";
  std::ofstream(state_file) << "{\"a\":" << deep << "}";
  Status from_file = SpawnFails(ProbeManifest("init_state = \"" + state_file.string() + "\"\n"));
  EXPECT_THAT(from_file.ToString(), HasSubstr("init_state nests deeper than 128 levels"));
  // A state just inside the limit is fine.
  const std::string ok = std::string(limits::kMaxJsonDepth - 1, '[') + "1" +
                         std::string(limits::kMaxJsonDepth - 1, ']');
  EXPECT_TRUE(IsUuid(Spawn(ProbeManifest(), ok)));
  ExpectServing();
}

TEST_F(HostileSpawnTest, OversizedManifestsAndStatesNameTheirLimits) {
  std::filesystem::path big = home_ / "big.toml";
  {
    std::ofstream out(big);
    out << ProbeManifest() << "# " << std::string(limits::kMaxManifestBytes, 'x') << "\n";
  }
  Status file = SpawnFails(big.string());
  EXPECT_EQ(file.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(file.ToString(), HasSubstr("over the limit of 1048576 bytes"));
  Status state = SpawnFails(ProbeManifest(), std::string(limits::kMaxInitStateBytes + 1, ' '));
  EXPECT_THAT(state.ToString(), HasSubstr("over the limit of 16777216 bytes"));
  ExpectServing();
}

TEST_F(HostileSpawnTest, AFifoIsRefusedAtOnceAsManifestStateOrComponent) {
  std::filesystem::path fifo = home_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(SpawnFails(fifo.string()).ToString(), HasSubstr("not a regular file"));
  EXPECT_THAT(SpawnFails(ProbeManifest("init_state = \"" + fifo.string() + "\"\n")).ToString(),
              HasSubstr("not a regular file"));
  EXPECT_THAT(
      SpawnFails("name = \"x\"\nversion = \"0.1.0\"\ncomponent = \"" + fifo.string() + "\"\n")
          .ToString(),
      HasSubstr("not a regular file"));
  // From a guest: three spawns of the FIFO neither hang nor hold the workers.
  std::string parent = Spawn(ProbeManifest());
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Response(Request(parent, "spawn:" + fifo.string())), HasSubstr("error:"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);  // a hang never ends
  ExpectServing();
}

TEST_F(HostileSpawnTest, AManifestUrlThatNeverAnswersBlocksNoOtherSpawn) {
  theater::testing::SilentListener silent;
  ASSERT_TRUE(silent.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/m.toml";
  std::promise<Result<std::string>> hung;
  const auto started = std::chrono::steady_clock::now();
  SpawnRequest request;
  request.manifest = url;
  runtime_->SpawnAsync(request, [&](Result<std::string> r) { hung.set_value(r); });
  // SpawnAsync returned without waiting for the fetch (it runs on the loader pool), and the
  // same from a guest: its spawn suspends the guest, not a worker. (Waiting, it would return only
  // once the listener closes, below.)
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  std::string parent = Spawn(ProbeManifest());
  auto guest_spawn = RequestAsync(parent, "spawn:" + url);
  for (int i = 0; i < 3; ++i) ExpectServing();
  auto result = hung.get_future();
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout);
  silent.Close();
  ASSERT_EQ(result.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(result.get().ok());
  ASSERT_EQ(guest_spawn.wait_for(20s), std::future_status::ready);
  EXPECT_THAT(Response(guest_spawn.get()), HasSubstr("error:"));
}

TEST_F(HostileSpawnTest, StoreReferencesInAGuestSpawnObeyTheSpawnersStoreAccess) {
  Result<store::ContentStore*> content = runtime_->content_store();
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  Result<std::string> store_id = (*content)->CreateStore();
  ASSERT_TRUE(store_id.ok());
  ASSERT_TRUE(
      (*content)->PutAtLabel(*store_id, "secret", Bytes("{\"password\":\"hunter2\"}")).ok());
  const std::string secret_ref = "store://" + *store_id + "/secret";

  // A supervisor whose own store access does not include the store.
  std::string root = Spawn(ProbeManifest());
  std::string supervisor = Response(Request(
      root, "spawn:" + ProbeManifest("[permission_policy.store]\ntype = \"restrict\"\n"
                                     "[permission_policy.store.config]\nallowed_stores = []\n")));
  ASSERT_TRUE(IsUuid(supervisor)) << supervisor;
  const std::string leaky = ProbeManifest("init_state = \"" + secret_ref +
                                          "\"\n[[handler]]\ntype = \"filesystem\"\n"
                                          "path = \"/nonexistent/{{password}}\"\n");
  std::string refused = Response(Request(supervisor, "spawn:" + leaky));
  EXPECT_THAT(refused, HasSubstr("error:"));
  EXPECT_THAT(refused, HasSubstr("'" + secret_ref + "': the spawning actor may not read this store"));
  EXPECT_THAT(refused, Not(HasSubstr("hunter2")));
  // Its component and manifest are store references too.
  std::string manifest_ref = Response(Request(supervisor, "spawn:" + secret_ref));
  EXPECT_THAT(manifest_ref,
              HasSubstr("'" + secret_ref + "': the spawning actor may not read this store"));
  EXPECT_THAT(manifest_ref, Not(HasSubstr("hunter2")));

  // The root may read every store: the same manifest loads its state.
  std::string allowed = Response(Request(root, "spawn:" + leaky));
  EXPECT_THAT(allowed, Not(HasSubstr("may not read")));
}

TEST_F(HostileSpawnTest, AChildCannotRaiseItsLimitsAboveItsParents) {
  std::string parent = Spawn(ProbeManifest("[limits]\ncall_deadline_ms = 1000\n"));
  std::string raised = Response(
      Request(parent, "spawn:" + ProbeManifest("[limits]\ncall_deadline_ms = 86400000\n")));
  EXPECT_THAT(raised, HasSubstr("limits.call_deadline_ms = 86400000 is above the parent's 1000"));
  // A child that leaves a limit at its default gets the parent's.
  std::string child = Response(Request(parent, "spawn:" + ProbeManifest()));
  ASSERT_TRUE(IsUuid(child)) << child;
  Result<Manifest> manifest = runtime_->GetManifest(child);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->limits.call_deadline_ms, 1000u);
}

// The sum of `rate-limited` notices ("N log lines (B bytes) dropped: ...") about one kind.
struct DropTotals {
  uint64_t items = 0;
  uint64_t bytes = 0;
  uint64_t notices = 0;
  // Adds `notice` when it is about `what`.
  bool Add(std::string_view notice, std::string_view what) {
    const std::string marker = " " + std::string(what) + " (";
    const size_t at = notice.find(marker);
    if (at == std::string_view::npos) return false;
    items += std::stoull(std::string(notice.substr(0, at)));
    bytes += std::stoull(std::string(notice.substr(at + marker.size())));
    ++notices;
    return true;
  }
};

TEST_F(HostileSpawnTest, LogFloodsAreThrottledWithOneNoticeASecond) {
  RuntimeOptions options;
  options.log_bytes_per_second = 64 * 1024;
  options.custom_event_bytes_per_second = 64 * 1024;
  Start(options);
  std::string id = Spawn(ProbeManifest());
  // 300 KB: past the budget, so the chain (whose in-memory tail keeps the last 1,024 events)
  // records the notice among the calls.
  const auto flood_started = std::chrono::steady_clock::now();
  ASSERT_EQ(Response(Request(id, "log-flood:300:1000")), "ok");
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  bool recorded = false;
  for (const chain::Event& e : *events) {
    auto payload = chain::DecodePayload(e.payload);
    if (!payload.ok()) continue;
    if (auto* life = std::get_if<chain::Lifecycle>(&*payload)) {
      recorded = recorded || (life->kind == "rate-limited" &&
                              life->message.find("log lines") != std::string::npos);
    }
  }
  EXPECT_TRUE(recorded);
  // 20 MB of log lines in one call: about a second's budget passes, the rest is dropped.
  ASSERT_EQ(Response(Request(id, "log-flood:20000:1000")), "ok");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                       flood_started)
                             .count();
  size_t lines = 0, bytes = 0, notices = 0;
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.starts_with("[theater]")) {
        ++notices;
        EXPECT_THAT(line, HasSubstr("log lines"));
        EXPECT_THAT(line, HasSubstr("over the actor's limit of 65536 bytes/s"));
      } else {
        ++lines;
        bytes += line.size();
      }
    }
  }
  // What passed is the bucket (a second's worth) plus what refilled while the floods ran.
  EXPECT_LE(bytes, static_cast<size_t>((seconds + 1.0) * 64 * 1024) + 1000)
      << lines << " lines passed in " << seconds << " s";
  EXPECT_LT(bytes, 20'000'000u / 20) << "most of the 20 MB was dropped";
  EXPECT_GE(lines, 30u);
  EXPECT_GE(notices, 1u);
  // At most one notice a second (and the first at once): a slow machine (a sanitizer build on a
  // loaded VM takes over 10 s for the floods) gets more seconds, not more notices per second.
  EXPECT_LE(notices, static_cast<size_t>(seconds) + 2) << "in " << seconds << " s";
  // Custom events: refused past the budget, with an error the guest sees.
  const auto events_started = std::chrono::steady_clock::now();
  std::string counts = Response(Request(id, "event-flood:1000:1000"));
  const double event_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - events_started).count();
  unsigned long accepted = 0, refused = 0;
  ASSERT_EQ(std::sscanf(counts.c_str(), "%lu %lu", &accepted, &refused), 2) << counts;
  // A second's budget of 1,000-byte events plus what refilled while the flood ran (over a second
  // under a sanitizer on a loaded machine).
  EXPECT_LE(accepted, static_cast<unsigned long>((event_seconds + 1.0) * 64 * 1024 / 1000) + 10)
      << "in " << event_seconds << " s";
  EXPECT_GE(refused, 800u);
  // Every line and event dropped is in exactly one notice, in the log and in the chain alike:
  // once the actor stops (which gives the last notice), the notices add up to what was sent less
  // what was kept.
  ASSERT_TRUE(runtime_->Stop(id).ok());
  DropTotals chain_lines, chain_events, log_lines;
  Result<std::vector<chain::Event>> all = runtime_->Events(id);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  for (const chain::Event& e : *all) {
    auto payload = chain::DecodePayload(e.payload);
    if (!payload.ok()) continue;
    if (auto* life = std::get_if<chain::Lifecycle>(&*payload);
        life && life->kind == "rate-limited") {
      EXPECT_TRUE(chain_lines.Add(life->message, "log lines") ||
                  chain_events.Add(life->message, "custom events"))
          << life->message;
    }
  }
  size_t kept_lines = 0;
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.starts_with("[theater] ")) {
        log_lines.Add(std::string_view(line).substr(10), "log lines");
      } else if (line == std::string(1000, 'x')) {
        ++kept_lines;
      }
    }
  }
  const uint64_t sent_lines = 300 + 20000;
  EXPECT_EQ(chain_lines.items, sent_lines - kept_lines);
  EXPECT_EQ(chain_lines.bytes, (sent_lines - kept_lines) * 1000);
  EXPECT_EQ(log_lines.items, chain_lines.items);
  EXPECT_EQ(log_lines.bytes, chain_lines.bytes);
  EXPECT_EQ(log_lines.notices, chain_lines.notices);
  EXPECT_EQ(chain_events.items, refused);
  EXPECT_EQ(chain_events.bytes, refused * (5 + 1000)) << "an event weighs its type and data";
}

// Initial-state values built to break out of the manifest's template expressions: quotes,
// newlines, brackets, `'''` and backslashes that would add a [[handler]] table or change the
// component or the limits. Each is kept inside its string or refused by name; nothing is added.
TEST_F(HostileSpawnTest, TemplateValuesCannotAddTablesOrKeys) {
  const std::string attacks[] = {
      "x\"\n[[handler]]\ntype = \"process\"\n",
      "x\\\"\ncomponent = \"/evil.wasm\"\n[limits]\nmemory_limit_mb = 100000",
      "\"\"\"\n[[handler]]\ntype = \"process\"\n\"\"\"",
      "'''\n[[handler]]\ntype = 'process'\n'''",
      "\\\\\"]\n[[handler]]\ntype = \"process\"\n#",
  };
  const std::string manifest = ProbeManifest(
      "description = \"{{v}}\"\nlong_description = \"\"\"{{v}}\"\"\"\n# {{v}}\n"
      "[limits]\ncall_deadline_ms = 5000\n");
  for (const std::string& value : attacks) {
    std::string id = Spawn(manifest, nlohmann::json({{"v", value}}).dump());
    ASSERT_TRUE(IsUuid(id)) << value;
    Result<Manifest> m = runtime_->GetManifest(id);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->description, value);
    EXPECT_EQ(m->long_description, value);
    EXPECT_EQ(m->component, kProbe);
    EXPECT_EQ(m->limits.memory_limit_mb, Manifest().limits.memory_limit_mb);
    EXPECT_EQ(m->limits.call_deadline_ms, 5000u);
    for (const HandlerConfig& h : m->handlers) EXPECT_NE(h.type, "process") << value;
  }
  // Where a value cannot be contained, the spawn is refused, naming the variable and what to
  // write instead.
  for (const std::string& value : attacks) {
    Status literal =
        SpawnFails(ProbeManifest("description = '{{v}}'\n"), nlohmann::json({{"v", value}}).dump());
    EXPECT_EQ(literal.code(), StatusCode::kInvalidArgument) << value;
    EXPECT_THAT(literal.ToString(), HasSubstr("template variable 'v' holds a"));
    EXPECT_THAT(literal.ToString(), HasSubstr("write the expression in a basic string"));
    Status bare = SpawnFails(ProbeManifest("[limits]\ncall_deadline_ms = {{v}}\n"),
                             nlohmann::json({{"v", value}}).dump());
    EXPECT_EQ(bare.code(), StatusCode::kInvalidArgument) << value;
    EXPECT_THAT(bare.ToString(), HasSubstr("quote the expression (\"{{v}}\")"));
  }
  // A bare number from the state still works.
  std::string id = Spawn(ProbeManifest("[limits]\ncall_deadline_ms = {{v}}\n"), R"({"v": "4000"})");
  ASSERT_TRUE(IsUuid(id));
  EXPECT_EQ(runtime_->GetManifest(id)->limits.call_deadline_ms, 4000u);
  ExpectServing();
}

TEST_F(HostileSpawnTest, SpawnsAreRefusedBelowTheMemoryFloorAndInfoSaysHowManyFit) {
  RuntimeCapacity capacity = runtime_->Capacity();
  EXPECT_GT(capacity.actors_that_fit, 0u);
  RuntimeOptions options;
  options.min_free_memory_bytes = uint64_t{1} << 60;  // more than any machine has
  Start(options);
  Status refused = SpawnFails(ProbeManifest());
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.ToString(), HasSubstr("below the floor"));
  EXPECT_EQ(runtime_->Capacity().actors_that_fit, 0u);
}

TEST_F(HostileSpawnTest, TwoRuntimesCannotHoldOneHome) {
  RuntimeOptions options = TestRuntimeOptions(home_ / "shared");
  options.exclusive_home = true;
  Result<std::unique_ptr<TheaterRuntime>> first =
      TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<std::unique_ptr<TheaterRuntime>> second =
      TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  const std::string holder = "(pid " + std::to_string(::getpid()) + ") holds the home directory";
  EXPECT_THAT(second.status().ToString(), HasSubstr(holder));
  // The lock file deleted, or replaced by one naming someone else, changes nothing: the lock is
  // on the directory, and the refusal names its holder from the kernel's table.
  const std::filesystem::path lock_file = options.home / "lock";
  ASSERT_TRUE(std::filesystem::remove(lock_file));
  Result<std::unique_ptr<TheaterRuntime>> after_delete =
      TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_FALSE(after_delete.ok()) << "a second runtime started on a home whose lock file is gone";
  EXPECT_EQ(after_delete.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(after_delete.status().ToString(), HasSubstr(holder));
  std::filesystem::remove(lock_file);
  std::ofstream(lock_file) << "999999\n";
  Result<std::unique_ptr<TheaterRuntime>> after_replace =
      TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_FALSE(after_replace.ok());
  EXPECT_THAT(after_replace.status().ToString(), HasSubstr(holder));
  first->reset();
  EXPECT_TRUE(TheaterRuntime::Create(options, BuiltinHandlers()).ok())
      << "the lock goes with its holder";
}

}  // namespace
}  // namespace theater

namespace theater::runtime {
namespace {

using ::testing::HasSubstr;

TEST(AdmissionTest, RefusesTheActorThatWouldOverrunTheAddressSpace) {
  const uint64_t reserved = engine::rt::ReservedAddressSpace();
  Admission roomy(uint64_t{8} << 30, 0, reserved + (uint64_t{8} << 30));
  EXPECT_TRUE(roomy.AdmitOne().ok());
  EXPECT_EQ(roomy.Capacity(0).actors_that_fit >= 1, true);
  Admission full(uint64_t{8} << 30, 0, reserved + (uint64_t{4} << 30));
  Status refused = full.AdmitOne();
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.ToString(), HasSubstr("no room for another actor"));
  EXPECT_THAT(refused.ToString(), HasSubstr("one more needs 8 GiB"));
  EXPECT_EQ(full.Capacity(0).actors_that_fit, 0u);
}

TEST(AdmissionTest, TheDefaultLimitLeavesRoomForAboutFifteenThousandGuardPageActors) {
  Admission admission(uint64_t{8} << 30, 0);
  RuntimeCapacity c = admission.Capacity(0);
  EXPECT_EQ(c.address_space_limit_bytes, (uint64_t{1} << 47) / 16 * 15);
  EXPECT_EQ(c.reservation_per_actor_bytes, uint64_t{8} << 30);
  EXPECT_GT(c.memory_available_bytes, 0u);
}

// supervisor.get-child-events hands a child's whole chain to its parent: a read with a budget
// gives up, by name, before it holds more than the budget, for saved chains and in-memory ones.
TEST_F(HostileSpawnTest, AChainReadWithABudgetStopsAtIt) {
  auto& impl = static_cast<RuntimeImpl&>(*runtime_);
  for (const std::string& extra : {std::string("save_chain = true\n"), std::string()}) {
    const std::string id = Spawn(ProbeManifest(extra));
    ASSERT_TRUE(IsUuid(id));
    for (int i = 0; i < 5; ++i) ASSERT_EQ(Response(Request(id, "count")), std::to_string(i + 1));
    Result<std::vector<chain::Event>> all = runtime_->Events(id);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    Result<std::vector<chain::Event>> within = impl.EventsWithin(id, 64u << 20);
    ASSERT_TRUE(within.ok()) << within.status().ToString();
    EXPECT_EQ(within->size(), all->size()) << extra;
    Result<std::vector<chain::Event>> over = impl.EventsWithin(id, 300);
    ASSERT_FALSE(over.ok()) << extra;
    EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
    EXPECT_THAT(over.status().ToString(), ::testing::HasSubstr("more than 300 bytes of events"));
    EXPECT_EQ(impl.EventsWithin(NewUuid(), 1000).status().code(), StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace theater::runtime
