// Theater: a WebAssembly actor runtime.
//
// The store handler end to end: a real actor (tests/actors/storer.c) using every function of
// theater:simple/store against the runtime's content store in a real SQLite database; access
// rules between actors; large content; and actors spawned from store:// references.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/bytes.h"
#include "testing/actor_test_fixture.h"

namespace theater {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

const std::string kStorer = std::string(THEATER_TEST_ACTOR_DIR) + "/storer.wasm";
const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";

// The storer declares the handlers it uses: store (unless `extra` configures it) and
// message-server, through which the tests drive it.
std::string Manifest(const std::string& extra = "") {
  std::string manifest =
      "name = \"storer\"\nversion = \"0.1.0\"\ncomponent = \"" + kStorer + "\"\n" + extra;
  if (extra.find("type = \"store\"") == std::string::npos) manifest += "\n[[handler]]\ntype = \"store\"\n";
  return manifest + "\n[[handler]]\ntype = \"message-server\"\n";
}
std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

class StoreHandlerTest : public testing_util::ActorTestFixture {
 protected:
  StoreHandlerTest() : ActorTestFixture("theater-store") {}
};

TEST_F(StoreHandlerTest, ContentIsDedupedAndAddressedBySha256) {
  std::string a = Spawn(Manifest());
  std::string store = Command(a, "new");
  ASSERT_TRUE(IsUuid(store)) << store;
  std::string h1 = Command(a, "put:" + store + ":hello");
  EXPECT_EQ(h1, Sha256Hex(Bytes("hello")));
  EXPECT_EQ(Command(a, "put:" + store + ":hello"), h1);  // the same bytes: the same ref
  std::string h2 = Command(a, "put:" + store + ":world!");
  EXPECT_EQ(Command(a, "get:" + store + ":" + h1), "hello");
  EXPECT_EQ(Command(a, "exists:" + store + ":" + h2), "true");
  EXPECT_EQ(Command(a, "size:" + store), "11");  // hello (5) once + world! (6)
  std::string contents = Command(a, "contents:" + store);
  EXPECT_THAT(contents, HasSubstr(h1));
  EXPECT_THAT(contents, HasSubstr(h2));
  // Missing content, malformed hash, malformed and unknown store ids.
  std::string missing = Sha256Hex(Bytes("never stored"));
  EXPECT_EQ(Command(a, "exists:" + store + ":" + missing), "false");
  EXPECT_THAT(Command(a, "get:" + store + ":" + missing), StartsWith("error:not-found"));
  EXPECT_THAT(Command(a, "get:" + store + ":xyz"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "put:../../etc:x"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "put:" + NewUuid() + ":x"), StartsWith("error:not-found"));
}

TEST_F(StoreHandlerTest, LabelsNameOneContentAndMove) {
  std::string a = Spawn(Manifest());
  std::string s = Command(a, "new");
  std::string h1 = Command(a, "put:" + s + ":one");
  std::string h2 = Command(a, "put:" + s + ":two");
  EXPECT_EQ(Command(a, "label:" + s + ":current:" + h1), "ok");
  EXPECT_EQ(Command(a, "getlabel:" + s + ":current"), h1);
  EXPECT_EQ(Command(a, "label:" + s + ":current:" + h2), "ok");  // moves
  EXPECT_EQ(Command(a, "getlabel:" + s + ":current"), h2);
  // Labelling content the store does not hold fails and leaves the label.
  EXPECT_THAT(Command(a, "label:" + s + ":current:" + Sha256Hex(Bytes("nope"))),
              StartsWith("error:not-found"));
  EXPECT_EQ(Command(a, "getlabel:" + s + ":current"), h2);
  // Compare-and-delete: only when it points at the given content.
  EXPECT_EQ(Command(a, "rmfrom:" + s + ":current:" + h1), "ok");
  EXPECT_EQ(Command(a, "getlabel:" + s + ":current"), h2);
  EXPECT_EQ(Command(a, "rmfrom:" + s + ":current:" + h2), "ok");
  EXPECT_EQ(Command(a, "getlabel:" + s + ":current"), "none");
  // store-at-label, replace-content-at-label, replace-at-label, remove-label.
  std::string h3 = Command(a, "putat:" + s + ":doc:three");
  EXPECT_EQ(h3, Sha256Hex(Bytes("three")));
  EXPECT_EQ(Command(a, "getlabel:" + s + ":doc"), h3);
  std::string h4 = Command(a, "replacecontent:" + s + ":doc:four");
  EXPECT_EQ(Command(a, "getlabel:" + s + ":doc"), h4);
  EXPECT_THAT(Command(a, "replacecontent:" + s + ":nolabel:x"), StartsWith("error:not-found"));
  EXPECT_EQ(Command(a, "replaceat:" + s + ":doc:" + h1), "ok");
  EXPECT_EQ(Command(a, "getlabel:" + s + ":doc"), h1);
  EXPECT_THAT(Command(a, "replaceat:" + s + ":nolabel:" + h1), StartsWith("error:not-found"));
  EXPECT_EQ(Command(a, "putat:" + s + ":dir/name with spaces:x").size(), 64u);
  EXPECT_EQ(Command(a, "labels:" + s), "dir/name with spaces,doc");
  EXPECT_EQ(Command(a, "rmlabel:" + s + ":doc"), "ok");
  EXPECT_EQ(Command(a, "rmlabel:" + s + ":doc"), "ok");  // missing is not an error
  EXPECT_EQ(Command(a, "labels:" + s), "dir/name with spaces");
  // Invalid labels.
  EXPECT_THAT(Command(a, "putat:" + s + ": padded:x"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "putat:" + s + "::x"), StartsWith("error:invalid-argument"));
  EXPECT_THAT(Command(a, "putat:" + s + ":" + std::string(300, 'l') + ":x"),
              StartsWith("error:invalid-argument"));
}

TEST_F(StoreHandlerTest, AStoreIsSharedOnlyWithTheActorsTheManifestAllows) {
  std::string owner = Spawn(Manifest());
  std::string s = Command(owner, "new");
  std::string h = Command(owner, "put:" + s + ":shared");
  // Another actor: not its store, not listed.
  std::string stranger = Spawn(Manifest());
  EXPECT_THAT(Command(stranger, "get:" + s + ":" + h), StartsWith("error:permission-denied"));
  EXPECT_THAT(Command(stranger, "put:" + s + ":x"), StartsWith("error:permission-denied"));
  // Listed in its manifest: allowed.
  std::string friend_ =
      Spawn(Manifest("[[handler]]\ntype = \"store\"\nstores = [\"" + s + "\"]\n"));
  EXPECT_EQ(Command(friend_, "get:" + s + ":" + h), "shared");
  EXPECT_EQ(Command(friend_, "put:" + s + ":from friend").size(), 64u);
  // A child whose permission narrows the stores to another one: listed, but not permitted.
  std::string child = Spawn(Manifest("[[handler]]\ntype = \"store\"\nstores = [\"*\"]\n"
                                     "[permission_policy.store]\ntype = \"restrict\"\n"
                                     "[permission_policy.store.config]\nallowed_stores = [\"" +
                                     NewUuid() + "\"]\ncreate = false\n"),
                            owner);
  EXPECT_THAT(Command(child, "get:" + s + ":" + h), StartsWith("error:permission-denied"));
  EXPECT_THAT(Command(child, "new"), StartsWith("error:permission-denied"));
  // Bad config is a spawn error naming the field.
  SpawnRequest bad;
  bad.manifest = Manifest("[[handler]]\ntype = \"store\"\nstores = [\"not-a-uuid\"]\n");
  Result<std::string> r = runtime_->Spawn(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().ToString(), HasSubstr("stores[0]"));
}

TEST_F(StoreHandlerTest, LargeContentGoesThroughAnActor) {
  std::string a = Spawn(Manifest());
  std::string s = Command(a, "new");
  std::string hash = Command(a, "big:" + s + ":16");
  ASSERT_EQ(hash.size(), 64u) << hash;
  EXPECT_EQ(Command(a, "getsize:" + s + ":" + hash), std::to_string(16u << 20));
  EXPECT_EQ(Command(a, "size:" + s), std::to_string(16u << 20));
  // The embedder reads the same bytes from the runtime's content store.
  Result<store::ContentStore*> content = runtime_->content_store();
  ASSERT_TRUE(content.ok());
  Result<std::vector<uint8_t>> bytes = (*content)->Get(s, hash);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(Sha256Hex(*bytes), hash);
}

// Byte lists over RuntimeOptions::chain_bytes_inline_max (64 KiB) are recorded by SHA-256 and
// size, the bytes kept in the runtime's chain-bytes store; smaller ones stay inline; the chain
// still verifies.
TEST_F(StoreHandlerTest, LargeByteListsAreRecordedByDigestAndKeptInTheChainStore) {
  std::string a = Spawn(Manifest());
  std::string s = Command(a, "new");
  std::vector<uint8_t> large(100 * 1024);
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  const std::string large_hash = Sha256Hex(large);
  ASSERT_EQ(Command(a, "put:" + s + ":", large), large_hash);
  const std::vector<uint8_t> small(1000, 'x');
  ASSERT_EQ(Command(a, "put:" + s + ":", small), Sha256Hex(small));

  Result<std::vector<chain::Event>> events = runtime_->Events(a);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  int by_digest = 0, inline_small = 0;
  for (const chain::Event& event : *events) {
    // Nothing records the 100 KiB itself: not the store call, not the handle-request message.
    EXPECT_LT(event.payload.size(), 64u * 1024 + 2048) << event.type;
    Result<chain::Payload> payload = chain::DecodePayload(event.payload);
    ASSERT_TRUE(payload.ok()) << payload.status().ToString();
    const auto* call = std::get_if<chain::HostCall>(&*payload);
    if (call == nullptr || call->function != "store" || call->input.size() != 2) continue;
    const abi::Value& content = call->input[1];
    if (content.is_bytes_digest()) {
      EXPECT_EQ(content.bytes_digest().size, large.size());
      EXPECT_EQ(chain::ToHex(content.bytes_digest().sha256), large_hash);
      ++by_digest;
    } else if (content.is_bytes() && content.as_bytes() == small) {
      ++inline_small;
    }
  }
  EXPECT_EQ(by_digest, 1);
  EXPECT_EQ(inline_small, 1);
  EXPECT_TRUE(runtime_->VerifyChain(a).ok());

  Result<store::ContentStore*> content = runtime_->content_store();
  ASSERT_TRUE(content.ok());
  Result<std::vector<uint8_t>> kept = (*content)->Get(std::string(kChainBytesStoreId), large_hash);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, large);
  EXPECT_FALSE((*content)->Exists(std::string(kChainBytesStoreId), Sha256Hex(small)).value());
}

TEST_F(StoreHandlerTest, ActorsSpawnFromStoreReferences) {
  std::string a = Spawn(Manifest());
  std::string s = Command(a, "new");
  Result<std::vector<uint8_t>> wasm = ReadFileBytes(kMessenger, "test actor");
  ASSERT_TRUE(wasm.ok());
  std::string wasm_hash = Command(a, "putat:" + s + ":app.wasm:", *wasm);
  ASSERT_EQ(wasm_hash.size(), 64u) << wasm_hash;
  ASSERT_EQ(Command(a, "putat:" + s + ":state.json:\"from the store\"").size(), 64u);
  // A manifest by label whose relative references name labels of the same store.
  std::string by_label =
      "name = \"stored\"\nversion = \"1.0.0\"\ncomponent = \"app.wasm\"\n"
      "init_state = \"state.json\"\n" +
      testing_util::HandlersOf("messenger.wasm");
  ASSERT_EQ(Command(a, "putat:" + s + ":app.toml:" + by_label).size(), 64u);
  std::string id = Spawn("store://" + s + "/app.toml");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Command(id, "echo:stored and running"), "stored and running");
  // A manifest by hash naming its component by hash.
  std::string by_hash = "name = \"hashed\"\nversion = \"1.0.0\"\ncomponent = \"store://" + s +
                        "/hash/" + wasm_hash + "\"\n" + testing_util::HandlersOf("messenger.wasm");
  std::string manifest_hash = Command(a, "put:" + s + ":" + by_hash);
  ASSERT_EQ(manifest_hash.size(), 64u) << manifest_hash;
  std::string id2 = Spawn("store://" + s + "/hash/" + manifest_hash);
  ASSERT_FALSE(id2.empty());
  EXPECT_EQ(Command(id2, "echo:by hash"), "by hash");
  // Missing labels, hashes and stores give clear errors.
  for (const std::string& ref :
       {"store://" + s + "/missing.toml", "store://" + s + "/hash/" + std::string(64, '0'),
        "store://" + NewUuid() + "/app.toml", std::string("store://not-a-store/x"),
        "store://" + s}) {
    SpawnRequest request;
    request.manifest = ref;
    Result<std::string> r = runtime_->Spawn(request);
    ASSERT_FALSE(r.ok()) << ref;
    EXPECT_THAT(r.status().ToString(), HasSubstr("store")) << ref;
  }
}

}  // namespace
}  // namespace theater
