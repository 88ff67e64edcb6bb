// Theater: a WebAssembly actor runtime.
//
// A guest cannot crash the host (issue 19): tests/actors/hostile_host_calls.c calls every host
// function with worst-case raw arguments — pointers past the end of memory or wrapping past
// 4 GiB, lengths of 0xFFFFFFFF, strings one byte over the limit, invalid UTF-8, millions of list
// elements, bad return areas, bogus ids — and drives every guest-reachable spawn path with
// hostile manifests and initial states. Against a real runtime, for each case:
//   * the call ends with the outcome this file expects, and its error names the problem (the
//     host's words, not only "failed"): a trap confined to the hostile actor, or an error value
//     the actor receives (and then keeps running);
//   * the host process is alive and a bystander actor (runtime_probe) still answers.
// A coverage check enumerates every host function the runtime serves and fails when one has no
// case, so a new host function cannot arrive without its hostile cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/actor_host.h"
#include "testing/runtime_test_fixture.h"
#include "handlers/wasi-preview1/wasi_preview1_handler.h"

namespace theater {
namespace {

using namespace testing_util;
using ::testing::HasSubstr;

const std::string kHostile = std::string(THEATER_TEST_ACTOR_DIR) + "/hostile_host_calls.wasm";
// The same guest built with runtime.log in its leveled form (level, message): a module imports
// one form of a name, so the leveled form's cases are this build's.
const std::string kHostileLeveled =
    std::string(THEATER_TEST_ACTOR_DIR) + "/hostile_host_calls_leveled.wasm";

// How a case must end.
enum class Outcome {
  kTrap,  // the host refuses the call: the request fails, the hostile instance is discarded
  kErr,   // the function returns err(...) to the guest, which keeps running
  kOk,    // the call succeeds (or returns a WASI errno / a plain value): "ok" or "rc=<n>"
};

struct Expectation {
  Outcome outcome;
  std::string text;  // a substring of the trap's error or the guest's response
};

// Errors of the canonical ABI (src/abi/canonical), shared by many cases.
const std::string kBeyondMemory = "exceeds guest memory";
const std::string kOverStringLimit = "exceeds the limit of 16777216 bytes";
const std::string kOverListLimit = "exceeds the limit of 16777216 elements";
const std::string kNotUtf8 = "is not valid UTF-8";
const std::string kMisaligned = "is misaligned";

// The expectations of STRING_CASES in the guest: the same attacks on one string parameter.
void AddStringCases(std::map<std::string, Expectation>& e, const std::string& prefix) {
  e[prefix + "-far-ptr"] = {Outcome::kTrap, kBeyondMemory};
  e[prefix + "-huge-len"] = {Outcome::kTrap, kBeyondMemory};
  e[prefix + "-wrapping"] = {Outcome::kTrap, kBeyondMemory};
  e[prefix + "-at-end"] = {Outcome::kTrap, kBeyondMemory};
  e[prefix + "-continuation"] = {Outcome::kTrap, kNotUtf8 + " (byte 0x80 at offset 2)"};
  e[prefix + "-overlong"] = {Outcome::kTrap, kNotUtf8 + " (byte 0xc0 at offset 0)"};
  e[prefix + "-surrogate"] = {Outcome::kTrap, kNotUtf8 + " (byte 0xed at offset 0)"};
  e[prefix + "-over-limit"] = {Outcome::kTrap, kOverStringLimit};
}

std::map<std::string, Expectation> Expectations() {
  std::map<std::string, Expectation> e;
  for (const char* prefix : {"log",
                             "log-leveled-level",
                             "log-leveled-message",
                             "rt-get-env",
                             "rt-record-metric",
                             "rt-record-event",
                             "get-env",
                             "log-at",
                             "record-metric",
                             "record-event",
                             "env-get-var",
                             "env-exists",
                             "fs-read-file",
                             "fs-write-file",
                             "fs-list-files",
                             "fs-delete-file",
                             "fs-create-dir",
                             "fs-delete-dir",
                             "fs-path-exists",
                             "fs-execute-command",
                             "fs-execute-nix-command",
                             "hf-register-handler",
                             "ms-send",
                             "store-store-id",
                             "spawn-manifest",
                             "resume-manifest"}) {
    AddStringCases(e, prefix);
  }
  const Outcome trap = Outcome::kTrap, err = Outcome::kErr, ok = Outcome::kOk;
  const std::string ret_far = "return area at 0xfffffff0";
  const std::string ret_odd = "return area at ";
  const std::string not_found = "not-found: ";
  const std::string bad_tag = "out of range for ";
  const std::string lift_budget = "lifted values exceed the limit of 67108864 bytes";
  // An id or name of 16 MiB is quoted in an error by its first 200 bytes and its length
  // (QuoteInput), not echoed and then cut at the limit for errors returned to actors.
  const std::string quoted_max = "\u2026' (16777216 bytes)";
  // runtime
  e["log-max-length"] = {ok, "rc=0"};
  e["get-chain-ret-far"] = {trap, ret_far + " for results (8 bytes) " + kBeyondMemory};
  e["get-chain-ret-odd"] = {trap, kMisaligned + " (alignment 4)"};
  e["get-state-ret-far"] = {trap, ret_far};
  e["get-state-ret-at-end"] = {trap, kMisaligned};
  e["shutdown-bad-tag"] = {trap, "discriminant 7 out of range for option<list<u8>>"};
  e["shutdown-far-data"] = {trap, "list<u8> at 0xfffffff0 with length 16 " + kBeyondMemory};
  e["shutdown-data-over-limit"] = {trap, kOverListLimit};
  e["shutdown-ret-odd"] = {trap, kMisaligned};
  e["log-leveled-unknown-level"] = {err, "unknown log level 'hostile'"};
  e["log-leveled-ret-far"] = {trap, ret_far};
  e["get-actor-id-ret-far"] = {trap, ret_far};
  e["get-actor-name-ret-odd"] = {trap, kMisaligned};
  e["get-current-time-ok"] = {ok, "rc=1"};
  e["rt-get-env-ret-far"] = {trap, ret_far};
  e["rt-record-metric-long-name"] = {err, "a metric name must be 1 to 128 bytes"};
  e["rt-record-metric-ret-far"] = {trap, ret_far};
  e["rt-record-event-data-over-limit"] = {trap, kOverListLimit};
  e["get-theater-version-ret-far"] = {trap, ret_far};
  e["get-system-info-ret-odd"] = {trap, kMisaligned + " (alignment 8)"};
  // runtime-ext
  e["actor-id-ret-far"] = {trap, ret_far};
  e["actor-name-ret-odd"] = {trap, kMisaligned};
  e["now-ok"] = {ok, "rc=1"};
  e["get-env-max-length"] = {ok, "rc=0"};  // none: no permission names that variable
  e["get-env-ret-far"] = {trap, ret_far};
  e["log-at-bad-level"] = {trap, "discriminant 99 out of range for log-level (5 cases)"};
  e["record-metric-max-name"] = {ok, "rc=0"};
  e["record-event-long-type"] = {err, "event type must be 1 to 128 bytes"};
  e["record-event-data-over-limit"] = {trap, kOverListLimit};
  e["record-event-data-max"] = {ok, "ok"};
  e["theater-version-ret-far"] = {trap, ret_far};
  e["system-info-ret-odd"] = {trap, kMisaligned + " (alignment 8)"};
  // environment
  e["env-get-var-max-length"] = {ok, "rc=0"};
  e["env-list-vars-ret-far"] = {trap, ret_far};
  e["env-exists-max-length"] = {ok, "rc=0"};
  // filesystem
  e["fs-read-file-max-path"] = {err, "is 16777216 bytes long, more than the limit of 4096"};
  e["fs-read-file-ret-odd"] = {trap, kMisaligned};
  e["fs-write-file-content-over-limit"] = {trap, kOverStringLimit};
  e["fs-write-file-content-max"] = {ok, "ok"};
  e["fs-create-dir-max-path"] = {err, "more than the limit of 4096"};
  e["fs-execute-command-huge-args"] = {trap, "param 'args': " + lift_budget};
  e["fs-execute-command-args-far"] = {trap,
                                      "list<string> at 0xfffffff0 with length 16 " + kBeyondMemory};
  // http-client
  e["http-send-method-far"] = {trap, "field 'method' of http-request: string at 0xfffffff0"};
  e["http-send-uri-invalid-utf8"] = {trap, "field 'uri' of http-request: string at "};
  e["http-send-huge-headers"] = {trap, "field 'headers' of http-request: " + lift_budget};
  e["http-send-body-over-limit"] = {trap, "field 'body' of http-request"};
  e["http-send-uri-max"] = {err, "the URL is 16777216 bytes, more than the limit of 65536"};
  e["http-send-bad-body-tag"] = {trap, "discriminant 9 out of range for option<bytes>"};
  // http-framework
  e["hf-create-server-host-far"] = {trap, "field 'host' of server-config"};
  e["hf-create-server-host-max"] = {err, "is not an IP address"};
  e["hf-create-server-tls-invalid-utf8"] = {trap, "field 'cert-path' of tls-config"};
  e["hf-create-server-bad-port-tag"] = {trap, "discriminant 5 out of range for option<u16>"};
  for (const char* name :
       {"hf-get-server-info-bogus-id", "hf-start-server-bogus-id", "hf-stop-server-bogus-id",
        "hf-destroy-server-bogus-id", "hf-disable-websocket-bogus-id",
        "hf-send-websocket-message-bogus-ids", "hf-close-websocket-bogus-ids"}) {
    e[name] = {err, "is not one of this actor's servers"};
  }
  // Creating without end: per-actor caps (http_framework_handler.cc), found by these cases.
  e["hf-create-server-flood"] = {err, "an actor may have at most 16 HTTP servers (max_servers)"};
  e["hf-register-handler-flood"] = {err, "at most 1024 registered HTTP handlers (max_handlers)"};
  e["hf-add-route-flood"] = {err, "at most 1024 routes on one server (max_routes_per_server)"};
  e["hf-add-middleware-flood"] = {err, "at most 256 middleware on one server"};
  e["hf-enable-websocket-flood"] = {err, "at most 256 WebSocket endpoints on one server"};
  e["hf-start-server-real"] = {ok, "ok"};
  e["hf-register-handler-max"] = {err, "handler name must be 1-256 bytes"};
  e["hf-add-route-bogus-ids"] = {err, "route path 'hostile': must start with '/'"};
  e["hf-add-route-path-far"] = {trap, "param 'path': string at 0xfffffff0"};
  e["hf-remove-route-bogus-id"] = {err, "route 18446744073709551615 is not one of this actor's"};
  e["hf-add-middleware-bogus-ids"] = {err, "middleware path 'hostile' must start with '/'"};
  e["hf-remove-middleware-bogus-id"] = {err, "middleware 999 is not one of this actor's"};
  e["hf-enable-websocket-bogus-ids"] = {err, "WebSocket path 'hostile' must be a literal path"};
  e["hf-enable-websocket-bad-option-tag"] = {trap, bad_tag + "option<handler-id>"};
  e["hf-send-websocket-message-bad-type"] = {trap, "discriminant 77 out of range for message-type"};
  e["hf-send-websocket-message-data-over-limit"] = {trap, kOverListLimit};
  // message-server-host
  e["ms-send-max-id"] = {err, quoted_max};
  e["ms-send-unknown-actor"] = {err, not_found + "actor 00000000-0000-4000-8000-000000000000"};
  e["ms-send-msg-over-limit"] = {trap, kOverListLimit};
  e["ms-request-unknown-actor"] = {err, not_found + "actor 00000000-0000-4000-8000-000000000000"};
  e["ms-request-max-id"] = {err, quoted_max};
  e["ms-request-msg-far"] = {trap, "param 'msg': list<u8> at 0xfffffff0"};
  e["ms-open-channel-unknown-actor"] = {err, not_found + "actor 00000000-0000-4000-8000"};
  e["ms-open-channel-max-id"] = {err, quoted_max};
  e["ms-send-on-channel-bogus"] = {err, "channel 'hostile' is not open"};
  e["ms-send-on-channel-max-id"] = {err, quoted_max};
  e["ms-send-on-channel-invalid-utf8"] = {trap, "param 'channel-id': string at "};
  e["ms-close-channel-bogus"] = {err, "is not open"};
  e["ms-close-channel-max-id"] = {err, quoted_max};
  e["ms-list-outstanding-ret-far"] = {trap, ret_far};
  e["ms-respond-bogus-request"] = {err, "is not outstanding"};
  e["ms-respond-max-id"] = {err, quoted_max};
  e["ms-respond-response-over-limit"] = {trap, kOverListLimit};
  e["ms-cancel-bogus-request"] = {err, "is not outstanding"};
  e["ms-cancel-max-id"] = {err, quoted_max};
  // process
  e["os-spawn-program-far"] = {trap, "field 'program' of process-config: string at 0xfffffff0"};
  e["os-spawn-program-max"] = {err, quoted_max};
  e["os-spawn-huge-args"] = {trap, "field 'args' of process-config: " + lift_budget};
  e["os-spawn-huge-env"] = {trap, "field 'env' of process-config: " + lift_budget};
  e["os-spawn-cwd-invalid-utf8"] = {trap, "field 'cwd' of process-config"};
  e["os-spawn-bad-mode"] = {trap, "discriminant 9 out of range for output-mode"};
  e["os-spawn-huge-buffer"] = {err, "output_buffer = 8589934590 > 1048576"};
  e["os-spawn-ret-far"] = {trap, ret_far};
  e["os-write-stdin-bogus-pid"] = {err, "unknown process id 18446744073709551615"};
  e["os-write-stdin-data-over-limit"] = {trap, kOverListLimit};
  e["os-status-bogus-pid"] = {err, "unknown process id 0"};
  e["os-signal-bogus"] = {err, "invalid signal number 4294967295"};
  e["os-kill-bogus-pid"] = {err, "unknown process id 18446744073709551615"};
  // random
  e["random-bytes-huge"] = {err, "exceeds the limit of 16777216 bytes per call"};
  e["random-bytes-ret-far"] = {trap, ret_far};
  e["random-range-inverted"] = {err, "Invalid range"};
  e["random-float-ret-odd"] = {trap, kMisaligned + " (alignment 8)"};
  e["generate-uuid-ret-far"] = {trap, ret_far};
  // store
  const std::string no_store = "store 00000000-0000-4000-8000-000000000000 does not exist";
  e["store-new-ret-far"] = {trap, ret_far};
  e["store-store-bogus-id"] = {err, no_store};
  e["store-store-content-over-limit"] = {trap, kOverListLimit};
  e["store-get-bogus-ref"] = {err, no_store};
  e["store-get-unknown-hash"] = {err, no_store};
  e["store-get-ref-invalid-utf8"] = {trap, "field 'hash' of content-ref"};
  e["store-exists-max-hash"] = {err, no_store};
  e["store-label-max-label"] = {err, no_store};
  e["store-get-by-label-far"] = {trap, "param 'label': string at 0xfffffff0"};
  e["store-remove-label-bogus"] = {err, no_store};
  e["store-remove-from-label-bogus"] = {err, no_store};
  e["store-store-at-label-content-over-limit"] = {trap, kOverListLimit};
  e["store-replace-content-at-label-max-label"] = {err, no_store};
  e["store-replace-at-label-bogus"] = {err, no_store};
  e["store-list-labels-max-id"] = {err, "(16777216 bytes): expected a lowercase UUID"};
  e["store-list-all-content-bogus"] = {err, no_store};
  e["store-calculate-total-size-surrogate"] = {trap, "param 'store-id': string at "};
  // supervisor: the spawn paths
  // A reference longer than any path or URL is refused before anything quotes it: the error
  // holds 200 bytes of it, not the input cut at the error limit.
  const std::string reference_limit =
      "over the limit of 4096 bytes for a path, store:// or http(s):// reference";
  e["spawn-manifest-max"] = {err, reference_limit};
  e["spawn-long-reference"] = {err, reference_limit};
  e["spawn-deep-toml"] = {err, "more than 64 dotted parts"};
  e["spawn-manifest-over-1mib"] = {err, "over the manifest size limit of 1048576 bytes"};
  e["spawn-param"] = {ok, "ok"};
  e["spawn-state-json-129"] = {err, "the initial state given at spawn nests deeper than 128"};
  e["spawn-state-json-1m"] = {err, "the initial state given at spawn nests deeper than 128"};
  e["spawn-state-json-128"] = {ok, "ok"};
  e["spawn-state-over-limit"] = {
      trap, "param 'init-bytes': some of option<list<u8>>: " + std::string("list<u8> at ")};
  e["spawn-state-far"] = {trap, "param 'init-bytes'"};
  e["spawn-bad-option-tag"] = {trap, "discriminant 2 out of range for option<list<u8>>"};
  e["spawn-ret-far"] = {trap, ret_far};
  e["resume-param"] = {ok, "ok"};
  e["resume-deep-toml"] = {err, "more than 64 dotted parts"};
  // A resumed actor's state is its saved bytes, never parsed as JSON: any depth is fine.
  e["resume-state-json-1m"] = {ok, "ok"};
  e["resume-state-over-limit"] = {trap, kOverListLimit};
  e["list-children-ret-far"] = {trap, ret_far};
  const std::string not_child =
      "00000000-0000-4000-8000-000000000000' is not a child of this actor";
  e["stop-child-bogus"] = {err, not_child};
  e["stop-child-max-id"] = {err, quoted_max};
  e["restart-child-bogus"] = {err, not_child};
  e["restart-child-invalid-utf8"] = {trap, "param 'child-id': string at "};
  e["get-child-state-bogus"] = {err, not_child};
  e["get-child-state-max-id"] = {err, quoted_max};
  e["get-child-events-bogus"] = {err, not_child};
  e["get-child-events-far"] = {trap, "param 'child-id': string at 0xfffffff0"};
  // timing
  e["timing-now-ok"] = {ok, "rc=1"};
  // 2^64 - 1 ms once wrapped to a negative wait and "slept" at once.
  e["sleep-forever"] = {err, "a wait of 18446744073709551615 ms would outlast the call's deadline"};
  e["sleep-ret-far"] = {trap, ret_far};
  e["sleep-over-deadline"] = {err, "a wait of 300000 ms would outlast the call's deadline"};
  e["deadline-far-future"] = {err, "would outlast the call's deadline"};
  // WASI preview 1: errno values (8 badf, 21 fault, 28 inval); out is the first output word.
  // 1024 iovecs over all of memory once made the host copy 1024 times the memory and split it
  // into lines quadratically (past the 300 s deadline): now a short write of 64 KiB.
  e["fd-write-iov-bomb"] = {ok, "rc=0 out=65536"};
  e["fd-write-iovs-far"] = {ok, "rc=21"};
  e["fd-write-too-many-iovs"] = {ok, "rc=28"};
  e["fd-write-nwritten-far"] = {ok, "rc=21"};
  e["fd-write-bad-fd"] = {ok, "rc=8"};
  e["fd-close-stdout"] = {ok, "rc=8"};
  e["fd-seek-bogus"] = {ok, "rc=8"};
  e["fd-fdstat-get-far"] = {ok, "rc=21"};
  e["environ-sizes-get-far"] = {ok, "rc=21"};
  e["environ-get-far"] = {ok, "rc=0"};  // nothing to write: the environment is empty
  e["args-sizes-get-far"] = {ok, "rc=21"};
  e["args-get-far"] = {ok, "rc=0"};
  e["proc-exit"] = {trap, "actor called proc_exit(4294967295)"};
  e["clock-time-get-far"] = {ok, "rc=21"};
  e["random-get-huge"] = {ok, "rc=21"};
  e["random-get-wrapping"] = {ok, "rc=21"};
  e["random-get-over-limit"] = {ok, "rc=28"};  // 16 MiB + 1 bytes: EINVAL
  return e;
}

class HostileHostCallsTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    std::filesystem::create_directories(home_ / "fs");
    bystander_ = Spawn(ProbeManifest("", "bystander"));
    ASSERT_TRUE(IsUuid(bystander_));
  }

  std::string HostileManifest(const std::string& module = kHostile) const {
    // The hostile guest calls every handler's functions: the runtime adds those not declared.
    return "name = \"hostile\"\nversion = \"0.1.0\"\ncomponent = \"" + module +
           "\"\nauto_handlers = true\n"
           "[[handler]]\ntype = \"filesystem\"\npath = \"" +
           (home_ / "fs").string() +
           "\"\nallowed_commands = [\"echo\"]\n"
           "[[handler]]\ntype = \"process\"\nallowed_programs = [\"echo\"]\n";
  }

  // The bystander answers, and its count goes up by one each time.
  void ExpectBystanderAnswers(const std::string& context) {
    EXPECT_EQ(Response(Request(bystander_, "count")), std::to_string(++bystander_count_))
        << "after " << context;
  }

  std::string bystander_;
  int bystander_count_ = 0;
};

// The cases the guest has, with the host function each one attacks.
std::vector<std::pair<std::string, std::string>> ParseList(const std::string& listing) {
  std::vector<std::pair<std::string, std::string>> cases;
  std::istringstream in(listing);
  std::string name, target;
  while (in >> name >> target) cases.emplace_back(name, target);
  return cases;
}

TEST_F(HostileHostCallsTest, EveryHostFunctionHasAHostileCase) {
  std::set<std::string> covered;
  for (const std::string& module : {kHostile, kHostileLeveled}) {
    std::string hostile = Spawn(HostileManifest(module));
    ASSERT_TRUE(IsUuid(hostile)) << module;
    for (const auto& [name, target] : ParseList(Response(Request(hostile, "list")))) {
      covered.insert(target);
    }
  }
  ASSERT_FALSE(covered.empty());

  // Every host function the runtime serves: each handler adds its functions typed by the
  // embedded theater:simple WIT (AddHostFunction refuses any other), and the world `full`
  // imports every interface of it that the host serves; plus the WASI preview-1 functions the
  // actor host serves to core modules itself.
  Result<const wit::Package*> package = runtime::TheaterPackage();
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  const wit::World* full = (*package)->FindWorld("full");
  ASSERT_NE(full, nullptr);
  std::set<std::string> served;
  for (const wit::WorldItem& item : full->imports) {
    if (item.kind != wit::WorldItemKind::kInterface || !item.interface) continue;
    const std::string short_name = item.name.substr(item.name.find('/') + 1);
    ASSERT_TRUE(item.interface->resources.empty())
        << item.name << " has resources: their methods need cases too";
    for (const wit::Function& f : item.interface->functions) {
      served.insert(short_name + "." + f.name);
    }
  }
  // Interfaces `full` imports only for their types have no functions; every other one must be
  // there (a sanity check of the enumeration itself).
  for (const char* iface :
       {"runtime", "runtime-ext", "supervisor", "message-server-host", "store", "filesystem",
        "process", "random", "timing", "environment", "http-client", "http-framework"}) {
    EXPECT_TRUE(std::any_of(served.begin(), served.end(), [&](const std::string& s) {
      return s.rfind(iface + std::string("."), 0) == 0;
    })) << iface;
  }
  for (const std::string& name : handlers::WasiPreview1Functions()) {
    served.insert("wasi_snapshot_preview1." + name);
  }
  // Not reachable from a core module, so not here: the WASI preview-2 interfaces, which the
  // wasi-preview2 handler serves only to components (resource-typed: streams, descriptors,
  // pollables); a core C guest cannot import them. Their hostile inputs are that handler's tests
  // (src/handlers/wasi-preview2/wasi_preview2_test.cc, wasi_filesystem_test.cc).
  for (const std::string& function : served) {
    EXPECT_TRUE(covered.count(function)) << "no hostile case for host function " << function;
  }
  for (const std::string& target : covered) {
    EXPECT_TRUE(served.count(target))
        << "a case attacks " << target << ", which the host does not serve";
  }
}

// WASI preview 1 is a handler like the others: a parent can disallow it for a child, whose calls
// then trap (a core function has no error value to return), while the parent's still work.
TEST_F(HostileHostCallsTest, AParentCanDisallowWasiPreview1ForAChild) {
  std::string parent = Spawn(ProbeManifest());
  ASSERT_TRUE(IsUuid(parent));
  std::string child = Response(Request(
      parent, "spawn:" + HostileManifest() + "[permission_policy.wasi_preview1]\n" +
                  "type = \"disallow\"\n"));
  ASSERT_TRUE(IsUuid(child)) << child;
  Result<std::vector<Value>> denied =
      Request(child, "run:fd-write-bad-fd\n" + ProbeManifest());
  ASSERT_FALSE(denied.ok());
  EXPECT_THAT(denied.status().ToString(),
              HasSubstr("wasi_snapshot_preview1.fd_write: Handler type 'wasi-preview1' not "
                        "permitted by effective permissions"));
  // The same call from an actor that has the permission gets its errno.
  std::string allowed = Spawn(HostileManifest());
  EXPECT_THAT(Response(Request(allowed, "run:fd-write-bad-fd\n" + ProbeManifest())),
              HasSubstr("rc=8"));
  ExpectBystanderAnswers("wasi disallowed");
}

// The cases run in four shards (every fourth case each), so that the test runner spreads them
// over its jobs: one after another they take minutes under the sanitizers.
constexpr size_t kCaseShards = 4;

class HostileCaseShardTest : public HostileHostCallsTest,
                             public ::testing::WithParamInterface<size_t> {};

TEST_P(HostileCaseShardTest, EveryCaseFailsCleanlyInTheOffendingActorOnly) {
  const size_t shard = GetParam();
  const std::map<std::string, Expectation> expectations = Expectations();
  // Every case of the main build, then the cases only the leveled build has.
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> cases;
  std::set<std::string> names;
  for (const std::string& module : {kHostile, kHostileLeveled}) {
    std::string lister = Spawn(HostileManifest(module));
    ASSERT_TRUE(IsUuid(lister)) << module;
    const auto listed = ParseList(Response(Request(lister, "list")));
    ASSERT_GT(listed.size(), 100u);
    ASSERT_TRUE(runtime_->Stop(lister).ok());
    for (const auto& named_case : listed) {
      if (names.insert(named_case.first).second) cases.push_back({module, named_case});
    }
  }
  for (size_t index = shard; index < cases.size(); index += kCaseShards) {
    const auto& [module, named_case] = cases[index];
    const auto& [name, target] = named_case;
    SCOPED_TRACE(name + " (" + target + ")");
    std::string hostile = Spawn(HostileManifest(module));
    ASSERT_TRUE(IsUuid(hostile));
    const auto started = std::chrono::steady_clock::now();
    Result<std::vector<Value>> r = Request(hostile, "run:" + name + "\n" + ProbeManifest());
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, std::chrono::seconds(10));
    // Its return area is refused before the 3 s sleep would begin (the sleep alone would take
    // that long, however fast the machine).
    if (name == "sleep-ret-far") {
      EXPECT_LT(took, std::chrono::seconds(3));
    }
    std::string got = r.ok() ? Response(r) : r.status().ToString();
    auto expected = expectations.find(name);
    if (expected == expectations.end()) {
      ADD_FAILURE() << "no expectation for case " << name << "; it ended "
                    << (r.ok() ? "with response: " : "with error: ") << got.substr(0, 600);
    } else {
      const Expectation& want = expected->second;
      if (want.outcome == Outcome::kTrap) {
        EXPECT_FALSE(r.ok()) << "expected a trap, got: " << got.substr(0, 600);
      } else {
        EXPECT_TRUE(r.ok()) << "expected a response, got: " << got.substr(0, 600);
        EXPECT_EQ(got.rfind(want.outcome == Outcome::kErr ? "err(" : "", 0), 0u)
            << got.substr(0, 600);
      }
      EXPECT_THAT(got, HasSubstr(want.text)) << got.substr(0, 600);
    }
    if (r.ok()) {
      // An error value leaves the offending actor running, and it keeps answering.
      EXPECT_EQ(Response(Request(hostile, "ping")), "pong");
      // Errors do not echo what the guest sent back at it (megabytes of it, at worst): the
      // guest saw at most the host's limit for errors and the note that it was cut.
      EXPECT_LT(got.size(), 1000u) << got.substr(0, 600);
      unsigned long err_bytes = 0;
      if (std::sscanf(got.c_str(), "err(%lu bytes)", &err_bytes) == 1) {
        EXPECT_LE(err_bytes, 1200u) << got.substr(0, 600);
      }
    } else {
      EXPECT_TRUE(WaitFor([&] { return !Running(hostile); })) << "a trapped instance is discarded";
    }
    ExpectBystanderAnswers(name);
    (void)runtime_->Stop(hostile);
  }
  for (const auto& [name, want] : expectations) {
    EXPECT_TRUE(names.count(name)) << "expectation for a case the guest does not have: " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, HostileCaseShardTest, ::testing::Range<size_t>(0, kCaseShards));

}  // namespace
}  // namespace theater
