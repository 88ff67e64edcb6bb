// Theater: a WebAssembly actor runtime.
//
// The management server's large replies and what a remote client may name, over real TCP:
// events and states in pages under max_reply_bytes (and the original forms refused with a hint
// to page when they would not fit), chain verification read page by page (finding a damaged
// row), and StartActor with manifest files from beyond loopback only under --manifest-root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "server/event_pages.h"
#include "server/manifest_access.h"
#include "server/server_test_util.h"
#include "testing/runtime_test_util.h"

namespace theater::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using server_testing::TestServer;
using namespace std::chrono_literals;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";

// `top_level`: more top-level keys (before the handler tables).
std::string Manifest(const std::string& component, const std::string& name = "probe",
                     const std::string& top_level = "") {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + component + "\"\n" +
         top_level + testing_util::HandlersOf(component);
}

// Bytes as the server also reads them: a base64 string (cheap to build for large payloads).
json Bytes(std::string_view text) {
  return Base64Encode({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::string Start(ManagementClient& client, const std::string& manifest) {
  auto reply = client.Call(MakeVariant("StartActor", json{{"manifest", manifest}}));
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  return reply.ok() ? reply->fields["id"].get<std::string>() : "";
}

// An actor whose chain holds `requests` echo calls of `size` bytes each.
std::string BusyMessenger(ManagementClient& client, int requests, size_t size) {
  std::string id = Start(client, Manifest(kMessenger));
  for (int i = 0; i < requests; ++i) {
    std::string text(size, static_cast<char>('a' + i % 26));
    auto reply = client.Call(
        MakeVariant("RequestActorMessage", json{{"id", id}, {"data", Bytes("echo:" + text)}}));
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  }
  return id;
}

// Every event, read page by page with `max_bytes`; each reply checked against the limits.
std::vector<chain::Event> ReadPages(ManagementClient& client, const std::string& id,
                                    size_t max_bytes, const std::string& encoding,
                                    int* pages = nullptr) {
  std::vector<chain::Event> events;
  size_t from = 0;
  for (int page = 0;; ++page) {
    EXPECT_LT(page, 10000);
    if (page >= 10000) break;
    auto reply = client.Call(MakeVariant("GetActorEvents", json{{"id", id},
                                                                {"from_index", from},
                                                                {"max_bytes", max_bytes},
                                                                {"byte_encoding", encoding}}));
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    if (!reply.ok()) break;
    EXPECT_EQ(reply->name, "ActorEvents");
    const json& fields = reply->fields;
    const size_t size = MakeVariant("ActorEvents", fields).dump().size();
    EXPECT_TRUE(size <= max_bytes || fields["events"].size() == 1)
        << "page of " << size << " bytes, " << fields["events"].size() << " events";
    EXPECT_EQ(fields["next_index"].get<size_t>(), from + fields["events"].size());
    for (const json& e : fields["events"]) {
      auto event = ChainEventFromJson(e);
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      if (event.ok()) events.push_back(std::move(*event));
    }
    from = fields["next_index"];
    if (pages) *pages = page + 1;
    if (!fields["more"].get<bool>()) break;
  }
  return events;
}

TEST(ServerPagingTest, EventsComeInPagesUnderTheReplyLimit) {
  ServerOptions options;
  options.max_reply_bytes = 256u << 10;
  options.default_page_bytes = 64u << 10;
  TestServer t(options);
  ASSERT_TRUE(t.ok());
  auto client = t.Connect();
  ASSERT_TRUE(client);
  std::string id = BusyMessenger(*client, 40, 20000);
  auto all = t.runtime().Events(id);
  ASSERT_TRUE(all.ok());

  // The original form would pass the limit: refused, with what to do instead.
  auto whole = client->Call(MakeVariant("GetActorEvents", json{{"id", id}}));
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(whole.status().ToString(),
              HasSubstr("take more than the reply limit of 262144 bytes (max_reply_bytes)"));
  EXPECT_THAT(whole.status().ToString(), HasSubstr("from_index and max_bytes"));

  // In pages: every event, in order, none of the pages over its size.
  int pages = 0;
  EXPECT_EQ(ReadPages(*client, id, 100000, "array", &pages), *all);
  EXPECT_GT(pages, 5);
  EXPECT_EQ(ReadPages(*client, id, 50000, "base64"), *all);
  // A page smaller than one event still holds one, so paging goes on.
  EXPECT_EQ(ReadPages(*client, id, 1, "base64"), *all);

  // From the middle; past the end; max_bytes absent (the server's default page).
  auto middle = client->Call(
      MakeVariant("GetActorEvents", json{{"id", id}, {"from_index", 7}, {"max_bytes", 10}}));
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->fields["events"].size(), 1u);
  EXPECT_EQ(*ChainEventFromJson(middle->fields["events"][0]), (*all)[7]);
  EXPECT_EQ(middle->fields["first_index"], 0);
  auto past = client->Call(
      MakeVariant("GetActorEvents", json{{"id", id}, {"from_index", all->size() + 5}}));
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->fields["events"].empty());
  EXPECT_FALSE(past->fields["more"].get<bool>());
  auto first = client->Call(MakeVariant("GetActorEvents", json{{"id", id}, {"from_index", 0}}));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(MakeVariant("ActorEvents", first->fields).dump().size() <= (64u << 10) ||
              first->fields["events"].size() == 1);
  EXPECT_TRUE(first->fields["more"].get<bool>());
  // Bad paging fields are named.
  auto bad = client->Call(MakeVariant("GetActorEvents", json{{"id", id}, {"max_bytes", -1}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().ToString(), HasSubstr("'max_bytes' must be a non-negative integer"));

  // A short chain still comes whole in the original form.
  std::string quiet = Start(*client, Manifest(kMessenger));
  auto small = client->Call(MakeVariant("GetActorEvents", json{{"id", quiet}}));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->fields["events"].size(), t.runtime().Events(quiet)->size());
  EXPECT_FALSE(small->fields["more"].get<bool>());
}

TEST(ServerPagingTest, AnUnsavedChainIsPagedFromMemory) {
  ServerOptions options;
  options.max_reply_bytes = 64u << 10;
  TestServer t(options, /*persist=*/false);
  ASSERT_TRUE(t.ok());
  auto client = t.Connect();
  ASSERT_TRUE(client);
  std::string id = BusyMessenger(*client, 20, 10000);
  auto all = t.runtime().Events(id);
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(client->Call(MakeVariant("GetActorEvents", json{{"id", id}})).ok());
  EXPECT_EQ(ReadPages(*client, id, 30000, "base64"), *all);
}

TEST(ServerPagingTest, StatesComeInSlicesUnderTheReplyLimit) {
  ServerOptions options;
  options.max_reply_bytes = 64u << 10;
  TestServer t(options);
  ASSERT_TRUE(t.ok());
  auto client = t.Connect();
  ASSERT_TRUE(client);
  std::string id = Start(*client, Manifest(kMessenger));
  // The messenger logs every message it is sent in its state: 20 of 2,000 bytes.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client
                    ->Call(MakeVariant("SendActorMessage",
                                       json{{"id", id}, {"data", Bytes(std::string(2000, 'm'))}}))
                    .ok());
  }
  ASSERT_TRUE(testing_util::WaitFor([&] {
    auto state = t.runtime().State(id);
    return state.ok() && *state && (*state)->size() > 20 * 2000;
  }));
  const std::vector<uint8_t> expected = **t.runtime().State(id);

  auto whole = client->Call(MakeVariant("GetActorState", json{{"id", id}}));
  ASSERT_FALSE(whole.ok());
  EXPECT_THAT(whole.status().ToString(),
              HasSubstr("more than the reply limit of 65536 bytes (max_reply_bytes)"));
  EXPECT_THAT(whole.status().ToString(), HasSubstr("offset and max_bytes"));

  for (const std::string& encoding : {std::string("array"), std::string("base64")}) {
    std::vector<uint8_t> joined;
    size_t offset = 0;
    int slices = 0;
    for (;;) {
      auto slice = client->Call(MakeVariant(
          "GetActorState",
          json{{"id", id}, {"offset", offset}, {"max_bytes", 10000}, {"byte_encoding", encoding}}));
      ASSERT_TRUE(slice.ok()) << slice.status().ToString();
      ++slices;
      EXPECT_EQ(slice->fields["offset"], offset);
      EXPECT_EQ(slice->fields["total_bytes"], expected.size());
      auto bytes = BytesField(slice->fields, "state");
      ASSERT_TRUE(bytes.ok());
      EXPECT_LE(EncodedBytesSize(
                    *bytes, encoding == "base64" ? ByteEncoding::kBase64 : ByteEncoding::kArray),
                10000u);
      joined.insert(joined.end(), bytes->begin(), bytes->end());
      offset += bytes->size();
      if (!slice->fields["more"].get<bool>()) break;
      ASSERT_LT(slices, 100);
    }
    EXPECT_EQ(joined, expected) << encoding;
    EXPECT_GT(slices, 2);
  }
  // A small state comes whole as before.
  std::string fresh = Start(*client, Manifest(kMessenger));
  auto small = client->Call(MakeVariant("GetActorState", json{{"id", fresh}}));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(*BytesField(small->fields, "state"), testing_util::Bytes("log"));
}

// Runs `sql` on the runtime's database directly (another connection, as another process would).
void RawExec(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(ServerPagingTest, ChainsAreVerifiedPageByPage) {
  TestServer t;
  ASSERT_TRUE(t.ok());
  auto client = t.Connect();
  ASSERT_TRUE(client);
  std::string id = BusyMessenger(*client, 30, 1000);
  const size_t count = t.runtime().Events(id)->size();
  auto verified = client->Call(MakeVariant("VerifyChain", json{{"id", id}}));
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->fields["valid"].get<bool>()) << verified->fields.dump();
  EXPECT_EQ(verified->fields["events"], count);

  ASSERT_TRUE(client->Call(MakeVariant("StopActor", json{{"id", id}})).ok());
  // Damage one stored row: verification finds it; the events stop before it.
  RawExec(t.home() / "theater.db",
          "UPDATE events SET payload = CAST('tampered' AS BLOB) WHERE seq = 5 AND actor_key = "
          "(SELECT actor_key FROM actor_keys WHERE actor = '" +
              id + "');");
  verified = client->Call(MakeVariant("VerifyChain", json{{"id", id}}));
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_FALSE(verified->fields["valid"].get<bool>());
  EXPECT_EQ(verified->fields["events"], 5);
  EXPECT_THAT(verified->fields["error"].get<std::string>(), HasSubstr("from #5 on do not verify"));
  auto events = client->Call(MakeVariant("GetActorEvents", json{{"id", id}}));
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->fields["events"].size(), 5u);
  EXPECT_FALSE(events->fields["more"].get<bool>());
}

TEST(ManifestAccessTest, ClassifiesAsTheRuntimeDoes) {
  EXPECT_EQ(ClassifyManifest("name = \"x\""), ManifestForm::kInline);
  EXPECT_EQ(ClassifyManifest("  key-1\t= 3"), ManifestForm::kInline);
  EXPECT_EQ(ClassifyManifest(" \t[handler]"), ManifestForm::kInline);
  EXPECT_EQ(ClassifyManifest("a/b.toml\nmore"), ManifestForm::kInline);
  EXPECT_EQ(ClassifyManifest("store://s/label"), ManifestForm::kStore);
  EXPECT_EQ(ClassifyManifest("https://example.com/m.toml"), ManifestForm::kUrl);
  EXPECT_EQ(ClassifyManifest("http://example.com/m.toml"), ManifestForm::kUrl);
  EXPECT_EQ(ClassifyManifest("/etc/passwd"), ManifestForm::kFile);
  EXPECT_EQ(ClassifyManifest("manifest.toml"), ManifestForm::kFile);
  EXPECT_EQ(ClassifyManifest("a b = c"), ManifestForm::kFile);  // not a bare key before '='
  EXPECT_EQ(ClassifyManifest("store:/x"), ManifestForm::kFile);
  EXPECT_EQ(ClassifyManifest(""), ManifestForm::kFile);
  // Linear in the input: 32 MiB of key characters with no '=' is a path, at once.
  EXPECT_EQ(ClassifyManifest(std::string(32u << 20, 'A')), ManifestForm::kFile);
}

// Issue 19, "why" 5: StartActor read any path a client named and echoed its parse position.
TEST(ManifestAccessTest, ClientsBeyondLoopbackNameFilesOnlyUnderAManifestRoot) {
  std::optional<std::string> external = server_testing::NonLoopbackAddress();
  if (!external) GTEST_SKIP() << "this host has no non-loopback IPv4 address to connect from";
  const std::filesystem::path dir = testing_util::NewTestHome("theater-manifest-roots");
  const std::filesystem::path allowed = dir / "allowed";
  const std::filesystem::path outside = dir / "outside";
  std::filesystem::create_directories(allowed / "sub");
  std::filesystem::create_directories(outside);
  // Every file a spawn reads for such a client lies under a root: the component too.
  const std::string component = (allowed / "messenger.wasm").string();
  std::filesystem::copy_file(kMessenger, component);
  std::ofstream(allowed / "sub" / "ok.toml") << Manifest(component, "in-root");
  std::ofstream(outside / "secret.toml") << "password = \"hunter2\"\nnot toml at all [[[\n";
  std::ofstream(outside / "valid.toml") << Manifest(kMessenger, "outside");
  std::filesystem::create_symlink(outside / "secret.toml", allowed / "link.toml");

  ServerOptions options;
  options.address = "0.0.0.0:0";
  options.token = "s3cret";
  options.manifest_roots = {allowed};
  TestServer t(options);
  ASSERT_TRUE(t.ok());
  const std::string port = t.address().substr(t.address().rfind(':') + 1);
  auto remote = t.Connect(*external + ":" + port);
  ASSERT_TRUE(remote);

  for (const std::string& path :
       {std::string("/etc/passwd"), (outside / "secret.toml").string(),
        (outside / "valid.toml").string(), (allowed / "link.toml").string(),
        (allowed / ".." / "outside" / "valid.toml").string(), (allowed / "missing.toml").string(),
        allowed.string()}) {
    auto refused = remote->CallRaw(MakeVariant("StartActor", json{{"manifest", path}}));
    ASSERT_TRUE(refused.ok()) << refused.status().ToString();
    ASSERT_EQ(refused->name, "Error") << path;
    EXPECT_EQ(refused->fields["error"], "Unauthorized") << path;
    const std::string message = refused->fields["message"];
    EXPECT_THAT(message, HasSubstr("manifest roots (--manifest-root)")) << path;
    // Nothing read on the client's behalf comes back: no content, no position.
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
    EXPECT_THAT(message, Not(HasSubstr("root:")));
    EXPECT_THAT(message, Not(HasSubstr(":1:")));
  }
  // Under the root: started. Inline content is allowed, and the files it names obey the roots.
  EXPECT_FALSE(Start(*remote, (allowed / "sub" / "ok.toml").string()).empty());
  const std::string inline_ok = Start(*remote, Manifest(component, "inline"));
  EXPECT_FALSE(inline_ok.empty());
  std::ofstream(outside / "state.json") << "{\"password\": \"hunter2\"}";
  std::ofstream(allowed / "sub" / "escape.toml")
      << Manifest(component, "escape", "init_state = \"../../outside/state.json\"\n");
  for (const auto& [manifest, what] : std::vector<std::pair<std::string, std::string>>{
           {Manifest(kMessenger, "component-outside"), "component"},
           {Manifest(component, "state-outside",
                     "init_state = \"" + (outside / "state.json").string() + "\"\n"),
            "init_state"},
           {(allowed / "sub" / "escape.toml").string(), "init_state"},
           {Manifest("/etc/passwd", "passwd"), "component"}}) {
    auto refused = remote->Call(MakeVariant("StartActor", json{{"manifest", manifest}}));
    ASSERT_FALSE(refused.ok()) << manifest;
    const std::string message = refused.status().ToString();
    EXPECT_THAT(message, HasSubstr("the " + what + " '")) << manifest;
    EXPECT_THAT(message, HasSubstr("manifest roots (--manifest-root)")) << manifest;
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
    EXPECT_THAT(message, Not(HasSubstr("root:")));
  }
  // Replacing an actor's component follows the same rule.
  auto update = remote->Call(MakeVariant("UpdateActorComponent",
                                         json{{"id", inline_ok}, {"component", kMessenger}}));
  ASSERT_FALSE(update.ok());
  EXPECT_THAT(update.status().ToString(), HasSubstr("manifest roots (--manifest-root)"));
  EXPECT_TRUE(remote
                  ->Call(MakeVariant("UpdateActorComponent",
                                     json{{"id", inline_ok}, {"component", component}}))
                  .ok());

  // From loopback, any path, as before.
  auto local = t.Connect("127.0.0.1:" + port);
  ASSERT_TRUE(local);
  EXPECT_FALSE(Start(*local, (outside / "valid.toml").string()).empty());

  // A server without roots refuses every file from beyond loopback, and says how to allow them.
  options.manifest_roots.clear();
  TestServer bare(options);
  ASSERT_TRUE(bare.ok());
  const std::string bare_port = bare.address().substr(bare.address().rfind(':') + 1);
  auto remote_bare = bare.Connect(*external + ":" + bare_port);
  ASSERT_TRUE(remote_bare);
  auto refused = remote_bare->Call(
      MakeVariant("StartActor", json{{"manifest", (allowed / "sub" / "ok.toml").string()}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(), HasSubstr("has no manifest root"));
  EXPECT_THAT(refused.status().ToString(), HasSubstr("--manifest-root DIR"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace theater::server
