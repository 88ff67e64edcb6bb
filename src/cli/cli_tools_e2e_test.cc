// Theater: a WebAssembly actor runtime.
//
// Tests of the commands that look into things (docs/cli.md): `store ls|labels|get`, `tree`,
// `validate`, `start --logs`, the export names `events --type` matches, and the exit codes of
// server commands about an actor that does not exist. The server-side ones run the `theater`
// binary against a real `theater server` process on loopback with a fresh home, with test
// actors from tests/actors (storer fills a content store, runtime_probe spawns a child) and the
// hello example (it logs from init).
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_test_child.h"
#include "cli/event_query.h"
#include "server/client.h"
#include "testing/runtime_test_util.h"
#include "theater/abi/value.h"
#include "theater/chain.h"

namespace {

namespace fs = std::filesystem;
namespace chain = theater::chain;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace theater::cli_testing;  // the children, fixtures and checks of cli_test_child.h
using namespace std::chrono_literals;

const std::string kActors = THEATER_TEST_ACTOR_DIR;
const std::string kCacheDir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";
const std::string kHello = std::string(THEATER_BUILD_DIR) + "/examples/hello/manifest.toml";

// --- events --type: export names (no server) --------------------------------------------------

chain::Event ExportEvent(const std::string& function) {
  chain::ExportCall call;
  call.function = function;
  call.params.push_back(theater::abi::Value::String("handle-send inside a parameter"));
  call.result = chain::CallOutcome::Ok({});
  chain::Payload payload = call;
  chain::Event event;
  event.type = chain::EventTypeFor(payload);
  event.payload = chain::EncodePayload(payload);
  return event;
}

bool TypeFilterMatches(const chain::Event& event, const std::string& text) {
  theater::cli::EventQuery query;
  query.type_contains = text;
  return theater::cli::EventMatches(event, query);
}

TEST(EventTypeFilter, MatchesTheExportsNameInEveryForm) {
  const chain::Event event = ExportEvent("theater:simple/message-server-client#handle-request");
  ASSERT_EQ(event.type, "wasm");  // the recorded type is unchanged
  EXPECT_TRUE(TypeFilterMatches(event, "wasm"));
  EXPECT_TRUE(TypeFilterMatches(event, "handle-request"));
  EXPECT_TRUE(TypeFilterMatches(event, "message-server-client#handle-request"));
  EXPECT_TRUE(TypeFilterMatches(event, "theater:simple/message-server-client#handle-request"));
  // The host-call spelling, interface/function.
  EXPECT_TRUE(TypeFilterMatches(event, "theater:simple/message-server-client/handle-request"));
  // Text in the parameters is not the export's name.
  EXPECT_FALSE(TypeFilterMatches(event, "handle-send"));
  EXPECT_FALSE(TypeFilterMatches(event, "runtime/log"));
  // A damaged payload matches by its type only, and does not crash the filter.
  chain::Event damaged = event;
  damaged.payload.resize(damaged.payload.size() / 2);
  EXPECT_FALSE(TypeFilterMatches(damaged, "handle-request"));
  EXPECT_TRUE(TypeFilterMatches(damaged, "wasm"));
}

// --- handler plug-ins: the stock server loads one ------------------------------------------------

const std::string kCustomHandler = std::string(THEATER_BUILD_DIR) + "/examples/custom-handler";
const std::string kPlugins = std::string(THEATER_BUILD_DIR) + "/tests/plugins";

class CliPluginTest : public ::testing::Test {
 protected:
  void SetUp() override { home_ = NewTempDir("theater-cli-plugin"); }
  void TearDown() override { fs::remove_all(home_); }
  // The counter actor (examples/custom-handler), which calls the plug-in's `next` three times
  // in its init and logs "counter: 1 2 3".
  std::string CounterManifest() {
    const fs::path path = home_ / "counter.toml";
    std::ofstream(path) << "name = \"counter\"\nversion = \"0.1.0\"\ncomponent = \""
                        << kCustomHandler
                        << "/counter_actor.wasm\"\n\n[[handler]]\ntype = "
                           "\"counter\"\nstart = 1\n\n[[handler]]\ntype = \"runtime\"\n";
    return path.string();
  }
  Finished Run(const std::vector<std::string>& args, const std::string& address = "127.0.0.1:1") {
    return Child(args, BaseEnv(home_, address), "").Finish();
  }
  fs::path home_;
};

TEST_F(CliPluginTest, TheStockServerLoadsAHandlerPluginAndItsActorUsesIt) {
  const std::string plugin = kCustomHandler + "/counter_handler.so";
  Child server(
      {"server", "--address", "127.0.0.1:0", "--home", (home_ / "server").string(), "--cache-dir",
       kCacheDir, "--durability", "none", "--workers", "2", "--handler", plugin},
      BaseEnv(home_, ""), "", /*keep_stdin_open=*/true);
  ASSERT_TRUE(server.WaitForOutput(
      [](const std::string& out) { return out.find('\n') != std::string::npos; }, 30s));
  const std::string line = server.out();
  ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line << server.err();
  const std::string address = line.substr(13, line.find('\n') - 13);
  Finished started = Run({"start", "--logs", CounterManifest()}, address);
  EXPECT_EQ(started.code, 0) << started.err;
  EXPECT_THAT(started.out, HasSubstr("counter: 1 2 3"));
  server.Signal(SIGTERM);
  Finished stopped = server.Finish(30s);
  EXPECT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("handler plug-in " + plugin + ": handler 'counter'"));
}

TEST_F(CliPluginTest, AServerRefusesAPluginItCannotTrustAndSaysWhy) {
  Finished stale = Run({"server", "--address", "127.0.0.1:0", "--home", (home_ / "s").string(),
                        "--handler", kPlugins + "/broken_plugin_stale_api.so"});
  EXPECT_EQ(stale.code, 1) << stale.out;
  EXPECT_THAT(stale.err, HasSubstr("was built against host API"));
  EXPECT_THAT(stale.err, HasSubstr("rebuild it against this version's include/theater/"));
  EXPECT_THAT(stale.out, Not(HasSubstr("listening on")));
  Finished missing = Run({"server", "--address", "127.0.0.1:0", "--home", (home_ / "s").string(),
                          "--handler", (home_ / "missing.so").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("missing.so: no such file"));
  // A plug-in does not replace a built-in handler.
  Finished twice = Run({"server", "--address", "127.0.0.1:0", "--home", (home_ / "s").string(),
                        "--handler", kCustomHandler + "/counter_handler.so", "--handler",
                        kCustomHandler + "/counter_handler.so"});
  EXPECT_EQ(twice.code, 1);
  EXPECT_THAT(twice.err, HasSubstr("names its handler 'counter', which is already a handler here"));
}

TEST_F(CliPluginTest, ValidateKnowsAPluginsHandlerFromTheFlagOrTheConfigFile) {
  const std::string manifest = CounterManifest();
  Finished unknown = Run({"validate", manifest});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("unknown handler type 'counter'"));
  Finished flagged =
      Run({"validate", "--handler", kCustomHandler + "/counter_handler.so", manifest});
  EXPECT_EQ(flagged.code, 0) << flagged.err;
  // The handler list, not the manifest's name (counter.toml), names the plug-in's handler.
  Finished listed =
      Run({"validate", "--json", "--handler", kCustomHandler + "/counter_handler.so", manifest});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const json handlers = json::parse(listed.out)["handlers"];
  EXPECT_NE(std::find(handlers.begin(), handlers.end(), "counter"), handlers.end())
      << handlers.dump();
  const fs::path config = home_ / "config.toml";
  std::ofstream(config) << "[handlers]\nplugins = [\"" << kCustomHandler
                        << "/counter_handler.so\"]\n";
  Finished configured = Run({"validate", "--config", config.string(), manifest});
  EXPECT_EQ(configured.code, 0) << configured.err;
  std::ofstream(config) << "[handlers]\nplugin = [\"x.so\"]\n";
  Finished misspelt = Run({"validate", "--config", config.string(), manifest});
  EXPECT_EQ(misspelt.code, 1) << misspelt.err;
  EXPECT_THAT(misspelt.err, HasSubstr("unknown key 'handlers.plugin' (known: plugins)"));
}

// --- validate (no server) ---------------------------------------------------------------------

class CliValidateTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = NewTempDir("theater-cli-validate"); }
  void TearDown() override { fs::remove_all(dir_); }
  Finished Run(const std::vector<std::string>& args) {
    return Child(args, BaseEnv(dir_, "127.0.0.1:1"), "").Finish();
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(CliValidateTest, AGoodManifestIsOk) {
  const std::string path =
      Write("messenger.toml", "name = \"messenger\"\nversion = \"0.1.0\"\ncomponent = \"" +
                                  kActors + "/messenger.wasm\"\n" +
                                  theater::testing_util::HandlersOf("messenger.wasm"));
  Finished r = Run({"validate", path});
  EXPECT_EQ(r.code, 0) << r.err;
  // The declared handlers and the implicit ones the component uses (runtime, WASI).
  EXPECT_THAT(r.out, HasSubstr(path + ": ok ("));
  EXPECT_THAT(r.out, HasSubstr("message-server"));
  Finished j = Run({"validate", "--json", path});
  ASSERT_EQ(j.code, 0) << j.err;
  json report = json::parse(j.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["name"], "messenger");
  EXPECT_TRUE(report["problems"].empty());
  EXPECT_THAT(report["handlers"].dump(), HasSubstr("timing"));
  if (fs::exists(kHello)) {
    Finished hello = Run({"validate", kHello});
    EXPECT_EQ(hello.code, 0) << hello.err;
  }
}

TEST_F(CliValidateTest, EveryProblemIsNamed) {
  const std::string path = Write("bad.toml",
                                 "name = \"bad\"\nversion = \"0.1.0\"\n"
                                 "component = \"missing.wasm\"\n"
                                 "[[handler]]\ntype = \"no-such-handler\"\n"
                                 "[[handler]]\ntype = \"timing\"\n"
                                 "[[handler]]\ntype = \"runtime\"\nunexpected = 1\n");
  Finished r = Run({"validate", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("theater: error: " + path + ": "));
  EXPECT_THAT(r.err, HasSubstr("unknown handler type 'no-such-handler' (known: "));
  EXPECT_THAT(r.err, HasSubstr("handler 'runtime'"));
  EXPECT_THAT(r.err, HasSubstr("missing.wasm"));
  EXPECT_EQ(r.out, "");
  Finished j = Run({"validate", "--json", path});
  EXPECT_EQ(j.code, 1);
  json report = json::parse(j.out);
  EXPECT_FALSE(report["ok"].get<bool>());
  EXPECT_EQ(report["problems"].size(), 3u) << report.dump(2);

  // A component importing a WASI interface no handler implements: named, function by
  // function, and the interface that is implemented is not.
  const std::string unserved =
      Write("unserved.toml", "name = \"unserved\"\nversion = \"0.1.0\"\ncomponent = \"" + kActors +
                                 "/unserved_wasi.component.wasm\"\n");
  Finished wasi = Run({"validate", unserved});
  EXPECT_EQ(wasi.code, 1) << wasi.out;
  EXPECT_THAT(wasi.err, HasSubstr("the component imports "
                                  "wasi:sockets/instance-network@0.2.0#instance-network, which "
                                  "no handler provides"));
  EXPECT_THAT(wasi.err, Not(HasSubstr("wasi:random")));

  // A wasi:http/proxy component: its imports are served only by the wasi-http handler, which the
  // manifest must declare (a registered handler the actor does not run serves nothing).
  const std::string proxy = kActors + "/proxy_echo.component.wasm";
  const std::string bare =
      Write("proxy.toml", "name = \"proxy\"\nversion = \"0.1.0\"\ncomponent = \"" + proxy + "\"\n");
  Finished undeclared_http = Run({"validate", bare});
  EXPECT_EQ(undeclared_http.code, 1) << undeclared_http.out;
  EXPECT_THAT(undeclared_http.err,
              HasSubstr("wasi:http/types@0.2.0#[method]incoming-request.path-with-query"));
  EXPECT_THAT(undeclared_http.err,
              HasSubstr("(the wasi-http handler does: declare [[handler]] type = \"wasi-http\")"));
  const std::string declared = Write(
      "proxy-http.toml", "name = \"proxy\"\nversion = \"0.1.0\"\ncomponent = \"" + proxy +
                             "\"\n[[handler]]\ntype = \"wasi-http\"\nconfig = { port = 0 }\n");
  Finished served = Run({"validate", declared});
  EXPECT_EQ(served.code, 0) << served.err;
  EXPECT_THAT(served.out, HasSubstr("ok (1 handler: wasi-http)"));

  // Bytes that are no wasm at all.
  std::ofstream(dir_ / "junk.wasm") << "this is not wasm";
  const std::string junk =
      Write("junk.toml", "name = \"junk\"\nversion = \"0.1.0\"\ncomponent = \"junk.wasm\"\n");
  Finished not_wasm = Run({"validate", junk});
  EXPECT_EQ(not_wasm.code, 1);
  EXPECT_THAT(not_wasm.err, HasSubstr("neither a wasm module nor a component"));

  // A component that uses handlers its manifest does not declare (the probe imports the
  // supervisor and more); --auto-handlers accepts them, as the runtime's flag does.
  const std::string probe = Write("probe.toml",
                                  "name = \"probe\"\nversion = \"0.1.0\"\n"
                                  "component = \"" +
                                      kActors + "/runtime_probe.wasm\"\n");
  Finished undeclared = Run({"validate", probe});
  EXPECT_EQ(undeclared.code, 1);
  EXPECT_THAT(undeclared.err, HasSubstr("does not declare"));
  EXPECT_EQ(Run({"validate", "--auto-handlers", probe}).code, 0);

  // A handler the actor uses (declared, and imported by the messenger) that its own policy
  // disallows: every call would be refused, so it is a problem; a malformed policy is one too.
  const std::string messenger =
      "name = \"m\"\nversion = \"0.1.0\"\ncomponent = \"" + kActors + "/messenger.wasm\"\n";
  const std::string disallowed =
      Write("disallowed.toml", messenger + "[permission_policy.timing]\ntype = \"disallow\"\n" +
                                   theater::testing_util::HandlersOf("messenger.wasm"));
  Finished refused = Run({"validate", disallowed});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("handler 'timing' is disallowed by "
                                     "[permission_policy.timing], but the actor uses it"));
  const std::string malformed =
      Write("malformed.toml", messenger + "[permission_policy.timing]\ntype = \"maybe\"\n" +
                                  theater::testing_util::HandlersOf("messenger.wasm"));
  Finished bad_policy = Run({"validate", malformed});
  EXPECT_EQ(bad_policy.code, 1);
  EXPECT_THAT(bad_policy.err, HasSubstr("permission_policy.timing"));
  // A misspelt handler type is named with the nearest one.
  const std::string misspelt =
      Write("misspelt.toml", messenger + "[[handler]]\ntype = \"timming\"\n");
  Finished near = Run({"validate", misspelt});
  EXPECT_EQ(near.code, 1);
  EXPECT_THAT(near.err, HasSubstr("unknown handler type 'timming' (did you mean 'timing'?)"));

  // A manifest that does not parse, and one that does not exist.
  const std::string broken = Write("broken.toml", "name = \n");
  Finished parse = Run({"validate", broken});
  EXPECT_EQ(parse.code, 1);
  EXPECT_THAT(parse.err, HasSubstr("broken.toml:1:"));
  EXPECT_EQ(Run({"validate", (dir_ / "nothing.toml").string()}).code, 1);
  EXPECT_EQ(Run({"validate"}).code, 2);
}

// --- with a server ----------------------------------------------------------------------------

class CliToolsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = NewTempDir("theater-cli-tools");
    // A small reply limit, so a piece of content of 1 MiB comes in several pages.
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"server", "--address", "127.0.0.1:0", "--home", home_.string(),
                                 "--cache-dir", kCacheDir, "--durability", "none", "--workers", "2",
                                 "--log-level", "warn", "--max-reply-bytes", "400000",
                                 // The test actors, which the probe spawns as children.
                                 "--spawn-root", THEATER_TEST_ACTOR_DIR},
        BaseEnv(home_, ""), "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find('\n') != std::string::npos; }, 30s));
    const std::string& line = server_->out();
    ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line;
    address_ = line.substr(13, line.find('\n') - 13);
  }
  void TearDown() override {
    server_->Signal(SIGTERM);
    Finished f = server_->Finish(30s);
    EXPECT_EQ(f.code, 0) << f.err;
    fs::remove_all(home_);
  }
  std::string Manifest(const std::string& name, const std::string& handlers) {
    const fs::path path = home_ / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\nversion = \"0.1.0\"\ncomponent = \""
                        << kActors << "/" << name << ".wasm\"\n"
                        << handlers;
    return path.string();
  }
  Finished Run(const std::vector<std::string>& args) {
    return Child(args, BaseEnv(home_, address_), "").Finish();
  }
  std::string StartActor(const std::string& manifest) {
    Finished r = Run({"start", manifest});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  std::string Request(const std::string& id, const std::string& text) {
    Finished r = Run({"message", "-r", id, text});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
  json Json(std::vector<std::string> args) {
    args.push_back("--json");
    Finished r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    json parsed = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << r.out;
    return parsed;
  }

  fs::path home_;
  std::unique_ptr<Child> server_;
  std::string address_;
};

TEST_F(CliToolsServerTest, StoreLsLabelsAndGet) {
  const std::string storer = StartActor(Manifest("storer",
                                                 "[[handler]]\ntype = \"store\"\n"
                                                 "[[handler]]\ntype = \"message-server\"\n"));
  const std::string store = Request(storer, "new");
  ASSERT_EQ(store.size(), 36u) << store;
  const std::string text_hash = Request(storer, "put:" + store + ":hello, store");
  ASSERT_EQ(text_hash.size(), 64u) << text_hash;
  const std::string labelled = Request(storer, "putat:" + store + ":greeting:hi there");
  ASSERT_EQ(Request(storer, "label:" + store + ":also-hello:" + text_hash), "ok");
  const std::string big_hash = Request(storer, "big:" + store + ":1");  // 1 MiB, binary
  ASSERT_EQ(big_hash.size(), 64u) << big_hash;

  // The stores, then one store's content with the labels beside it (a prefix of the id works).
  Finished stores = Run({"store", "ls"});
  EXPECT_EQ(stores.code, 0) << stores.err;
  EXPECT_THAT(stores.out, HasSubstr(store));
  // The actor's store, beside the runtime's own (where chains keep large byte lists).
  json stores_json = Json({"store", "ls"});
  json mine;
  for (const json& s : stores_json) {
    if (s["id"] == store) mine = s;
  }
  ASSERT_TRUE(mine.is_object()) << stores_json.dump(2);
  EXPECT_EQ(mine["content"], 3);
  EXPECT_EQ(mine["labels"], 2);
  EXPECT_EQ(mine["owner"], storer);
  Finished ls = Run({"store", "ls", store.substr(0, 8)});
  EXPECT_EQ(ls.code, 0) << ls.err;
  EXPECT_THAT(ls.out, HasSubstr(text_hash));
  EXPECT_THAT(ls.out, HasSubstr("also-hello"));
  json content = Json({"store", "ls", store});
  ASSERT_EQ(content["content"].size(), 3u);
  for (const json& item : content["content"]) {
    if (item["hash"] == text_hash) {
      EXPECT_EQ(item["size"], 12);
      EXPECT_EQ(item["labels"], json({"also-hello"}));
    }
    if (item["hash"] == big_hash) {
      EXPECT_EQ(item["size"], 1 << 20);
    }
  }

  json labels = Json({"store", "labels", store});
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0], json({{"label", "also-hello"}, {"hash", text_hash}}));
  EXPECT_EQ(labels[1], json({{"label", "greeting"}, {"hash", labelled}}));
  EXPECT_THAT(Run({"store", "labels", store}).out, HasSubstr("greeting"));

  // Bytes, raw, by hash (or a prefix of one) and by label.
  EXPECT_EQ(Run({"store", "get", store, text_hash}).out, "hello, store");
  EXPECT_EQ(Run({"store", "get", store, text_hash.substr(0, 10)}).out, "hello, store");
  EXPECT_EQ(Run({"store", "get", store, "--label", "greeting"}).out, "hi there");
  json got = Json({"store", "get", store, "--label", "greeting"});
  EXPECT_EQ(got["data"], "hi there");
  EXPECT_EQ(got["hash"], labelled);
  EXPECT_EQ(Run({"store", "get", store, "--hex", text_hash}).out, "68656c6c6f2c2073746f7265\n");
  // 1 MiB through a 400 kB reply limit: several pages, the same bytes as the actor reads.
  const fs::path out_file = home_ / "big.bin";
  Finished big = Run({"store", "get", store, big_hash, "--out", out_file.string()});
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_EQ(fs::file_size(out_file), 1u << 20);
  std::ifstream in(out_file, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  EXPECT_EQ(chain::ToHex(chain::Sha256(bytes)), big_hash);
  Finished piped = Run({"store", "get", store, big_hash});
  EXPECT_EQ(piped.code, 0) << piped.err;
  EXPECT_EQ(piped.out.size(), 1u << 20);

  // The protocol underneath: slices within max_bytes, the hash also when asked by label, and
  // requests that name both or neither refused.
  {
    theater::server::ManagementClient::Options options;
    options.address = address_;
    auto client = theater::server::ManagementClient::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    auto page = (*client)->Call(theater::server::MakeVariant(
        "GetStoreContent",
        json{{"store_id", store}, {"label", "greeting"}, {"offset", 3}, {"max_bytes", 9}}));
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->name, "StoreContent");
    EXPECT_EQ(page->fields["hash"], labelled);
    EXPECT_EQ(page->fields["offset"], 3);
    EXPECT_EQ(page->fields["total_bytes"], 8);
    EXPECT_TRUE(page->fields["more"].get<bool>());
    EXPECT_EQ(page->fields["data"], json({116, 104}));  // "th": [116,104] is 9 bytes of JSON
    for (const json& fields : {json{{"store_id", store}},
                               json{{"store_id", store}, {"hash", text_hash}, {"label", "x"}}}) {
      auto refused = (*client)->Call(theater::server::MakeVariant("GetStoreContent", fields));
      ASSERT_FALSE(refused.ok());
      EXPECT_THAT(refused.status().ToString(), HasSubstr("exactly one of"));
    }
  }

  // Failures: an unknown hash, label and store; no store given; both a hash and a label.
  Finished no_hash = Run({"store", "get", store, std::string(64, 'a')});
  EXPECT_EQ(no_hash.code, 1);
  EXPECT_THAT(no_hash.err, HasSubstr("theater: error:"));
  Finished no_prefix = Run({"store", "get", store, "ffffffffff0"});
  EXPECT_EQ(no_prefix.code, 1);
  EXPECT_THAT(no_prefix.err, HasSubstr("holds no content 'ffffffffff0'"));
  Finished no_label = Run({"store", "get", store, "--label", "nope"});
  EXPECT_EQ(no_label.code, 1);
  EXPECT_THAT(no_label.err, HasSubstr("has no label 'nope'"));
  Finished no_store = Run({"store", "ls", "00000000-0000-0000-0000-00000000dead"});
  EXPECT_EQ(no_store.code, 1);
  EXPECT_THAT(no_store.err, HasSubstr("does not exist"));
  Finished no_match = Run({"store", "labels", "zzz"});
  EXPECT_EQ(no_match.code, 1);
  EXPECT_THAT(no_match.err, HasSubstr("no store matches 'zzz'"));
  EXPECT_EQ(Run({"store", "get", store, text_hash, "--label", "greeting"}).code, 2);
  EXPECT_EQ(Run({"store"}).code, 2);
}

TEST_F(CliToolsServerTest, TreeShowsParentsAboveChildren) {
  const std::string probe = StartActor(Manifest("runtime_probe", "auto_handlers = true\n"));
  const std::string child_manifest =
      Manifest("messenger", theater::testing_util::HandlersOf("messenger.wasm"));
  const std::string child = Request(probe, "spawn:" + child_manifest);
  ASSERT_EQ(child.size(), 36u) << child;
  const std::string other = StartActor(child_manifest);

  Finished tree = Run({"tree"});
  ASSERT_EQ(tree.code, 0) << tree.err;
  const size_t parent_at = tree.out.find("runtime_probe " + probe);
  const size_t child_at = tree.out.find("\n  messenger " + child);
  ASSERT_NE(parent_at, std::string::npos) << tree.out;
  ASSERT_NE(child_at, std::string::npos) << tree.out;
  EXPECT_LT(parent_at, child_at);
  EXPECT_THAT(tree.out, HasSubstr("messenger " + other));  // a root of its own

  json forest = Json({"tree"});
  ASSERT_EQ(forest.size(), 2u) << forest.dump(2);
  for (const json& root : forest) {
    if (root["id"] == probe) {
      ASSERT_EQ(root["children"].size(), 1u);
      EXPECT_EQ(root["children"][0]["id"], child);
      EXPECT_EQ(root["children"][0]["name"], "messenger");
      EXPECT_TRUE(root["children"][0]["children"].empty());
    } else {
      EXPECT_EQ(root["id"], other);
    }
  }
}

TEST_F(CliToolsServerTest, StartLogsPrintsTheLogAndLeavesTheActorRunning) {
  if (!fs::exists(kHello)) GTEST_SKIP() << "examples not built";
  Finished r = Run({"start", "--logs", kHello});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[hello] Hello from"));
  EXPECT_THAT(r.err, HasSubstr("detached"));
  json list = Json({"list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "hello");

  Finished j = Run({"start", "--logs", "--json", kHello});
  ASSERT_EQ(j.code, 0) << j.err;
  const json first = json::parse(j.out.substr(0, j.out.find('\n')));
  EXPECT_EQ(first["name"], "hello");
  EXPECT_THAT(first["log"].get<std::string>(), HasSubstr("Hello from"));
  EXPECT_THAT(j.out, HasSubstr("\"Detached\""));
  EXPECT_EQ(Run({"start", "--logs", "--parent", kHello}).code, 2);
}

TEST_F(CliToolsServerTest, StartLogsCtrlCDetaches) {
  // An actor kept busy: it never settles, so only Ctrl-C ends the wait.
  const std::string manifest = Manifest("runtime_probe", "auto_handlers = true\n");
  Child cli({"start", "--logs", "--settle-ms", "60000", manifest}, BaseEnv(home_, address_), "");
  // Started and attached: the line comes once the server has started it, just before the command
  // follows its log (and Ctrl-C is caught from before it asks the server).
  ASSERT_TRUE(cli.WaitForErr(
      [](const std::string& err) { return err.find("started actor ") != std::string::npos; },
      60s));
  cli.Signal(SIGINT);
  Finished r = cli.Finish(30s);
  EXPECT_EQ(r.code, 130) << r.err;
  EXPECT_THAT(r.err, HasSubstr("detached"));
  EXPECT_EQ(Json({"list"}).size(), 1u);  // still running
}

TEST_F(CliToolsServerTest, LogsPrintsWhatAnActorLoggedAndFollowsIt) {
  const std::string probe = StartActor(Manifest("runtime_probe", "auto_handlers = true\n"));
  ASSERT_FALSE(probe.empty());
  EXPECT_EQ(Request(probe, "log-flood:3:4"), "ok");
  Finished all = Run({"logs", probe});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(all.out, "xxxx\nxxxx\nxxxx\n");
  Finished last = Run({"logs", "-n", "1", "--timestamps", probe});
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_THAT(last.out, HasSubstr(" xxxx\n"));  // after the time
  EXPECT_EQ(std::count(last.out.begin(), last.out.end(), '\n'), 1) << last.out;
  json listed = Json({"logs", probe});
  ASSERT_TRUE(listed.is_array()) << listed.dump();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0]["line"], "xxxx");
  EXPECT_TRUE(listed[0]["index"].is_number());
  EXPECT_TRUE(listed[0]["timestamp_ms"].is_number());

  // --follow: the lines so far, then new ones as they are logged, until the actor stops.
  Child follow({"logs", "-f", probe}, BaseEnv(home_, address_), "");
  ASSERT_TRUE(follow.WaitForOutput(
      [](const std::string& out) { return std::count(out.begin(), out.end(), '\n') >= 3; }, 30s))
      << follow.out();
  EXPECT_EQ(Request(probe, "log-flood:2:6"), "ok");
  ASSERT_TRUE(follow.WaitForOutput(
      [](const std::string& out) { return out.find("xxxxxx\nxxxxxx\n") != std::string::npos; },
      30s))
      << follow.out();
  EXPECT_EQ(Run({"stop", probe}).code, 0);
  Finished followed = follow.Finish(30s);
  EXPECT_EQ(followed.code, 0) << followed.err;
  EXPECT_THAT(followed.err, HasSubstr("no longer running"));
  EXPECT_EQ(followed.out, "xxxx\nxxxx\nxxxx\nxxxxxx\nxxxxxx\n");

  // The chain is stored: the lines of a stopped actor are still there.
  Finished stopped = Run({"logs", probe});
  EXPECT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_EQ(stopped.out, followed.out);
  EXPECT_EQ(Run({"logs", "no-such-actor"}).code, 1);
}

TEST_F(CliToolsServerTest, EventsTypeMatchesExportNames) {
  const std::string id =
      StartActor(Manifest("messenger", theater::testing_util::HandlersOf("messenger.wasm")));
  Request(id, "echo:x");
  Run({"message", id, "one-way"});
  json requests = Json({"events", id, "--type", "handle-request"});
  ASSERT_FALSE(requests.empty());
  for (const json& e : requests) {
    EXPECT_EQ(e["type"], "wasm");
    EXPECT_THAT(e.dump(), HasSubstr("handle-request"));
    EXPECT_THAT(e.dump(), Not(HasSubstr("handle-send")));
  }
  json sends = Json({"events", id, "--type", "handle-send"});
  ASSERT_FALSE(sends.empty());
  EXPECT_THAT(sends[0].dump(), HasSubstr("handle-send"));
  json all_wasm = Json({"events", id, "--type", "wasm"});
  EXPECT_GT(all_wasm.size(), requests.size());
  Finished human = Run({"events", id, "--type", "actor#init"});
  EXPECT_EQ(human.code, 0);
  EXPECT_THAT(human.out, HasSubstr("#init"));
}

TEST_F(CliToolsServerTest, CommandsAboutAnUnknownActorExitOne) {
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"inspect", unknown},
                                             {"inspect", "no-such-name"},
                                             {"metrics", unknown},
                                             {"state", unknown},
                                             {"stop", unknown},
                                             {"terminate", unknown},
                                             {"restart", unknown},
                                             {"pause", unknown},
                                             {"resume", unknown},
                                             {"update", unknown, kActors + "/messenger.wasm"},
                                             {"events", unknown},
                                             {"chain", "verify", unknown},
                                             {"chain", "export", unknown}}) {
    Finished r = Run(args);
    EXPECT_EQ(r.code, 1) << args[0] << " " << args[1] << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("theater: error:")) << args[0];
    args.push_back("--json");
    EXPECT_EQ(Run(args).code, 1) << args[0] << " --json";
  }
}

}  // namespace
