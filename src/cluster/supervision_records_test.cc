// Theater: a WebAssembly actor runtime.
//
// Supervision records (supervision_records.h): a child's spawn and a child's event survive the
// trip between hosts whole, and what another host sends that is malformed — not JSON, nested past
// the limit, ids that are not UUIDs, fields of the wrong type, unknown kinds and codes — is
// refused with a reason, never crashes or half-parses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/supervision_records.h"
#include "common/uuid.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;

std::string Text(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

SpawnRequest ASpawn() {
  SpawnRequest request;
  request.manifest = "/srv/actors/child.toml";
  request.actor_id = NewUuid();
  request.state = std::vector<uint8_t>{'{', '}', 0, 255};
  request.resume = true;
  request.client = "client-7";
  request.read_roots = LocalReadRoots{{"/srv/actors", "/data"}, "the parent's roots"};
  auto parent = std::make_shared<RemoteParent>();
  parent->id = NewUuid();
  parent->host = "a";
  parent->ancestry_policies = {nlohmann::json::object(),
                               nlohmann::json{{"environment", {{"type", "restrict"}}}}};
  parent->limits.memory_limit_mb = 64;
  parent->limits.mailbox_capacity = 7;
  request.remote_parent = std::move(parent);
  return request;
}

TEST(SupervisionRecordsTest, AChildsSpawnArrivesWhole) {
  const SpawnRequest sent = ASpawn();
  Result<SpawnRequest> got = ParseRemoteSpawn(Text(EncodeRemoteSpawn(sent)), "a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->manifest, sent.manifest);
  EXPECT_EQ(got->actor_id, sent.actor_id);
  EXPECT_EQ(got->state, sent.state);
  EXPECT_TRUE(got->resume);
  EXPECT_EQ(got->client, "client-7");
  EXPECT_EQ(got->read_roots, sent.read_roots);
  EXPECT_TRUE(got->placed) << "the parent's host placed it";
  EXPECT_FALSE(got->parent_id) << "the parent is not among the receiving host's actors";
  ASSERT_TRUE(got->remote_parent);
  EXPECT_EQ(got->remote_parent->id, sent.remote_parent->id);
  EXPECT_EQ(got->remote_parent->host, "a");
  EXPECT_EQ(got->remote_parent->ancestry_policies, sent.remote_parent->ancestry_policies);
  EXPECT_EQ(got->remote_parent->limits, sent.remote_parent->limits);
}

TEST(SupervisionRecordsTest, AChildsEventArrivesWhole) {
  ChildEvent sent;
  sent.kind = ChildEvent::Kind::kError;
  sent.child_id = NewUuid();
  sent.error = Unavailable("host c lost: its process is gone");
  sent.data = std::vector<uint8_t>{1, 2, 3};
  sent.reason = "why";
  Result<ChildEvent> got = ParseChildEvent(Text(EncodeChildEvent(sent)));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->kind, ChildEvent::Kind::kError);
  EXPECT_EQ(got->child_id, sent.child_id);
  EXPECT_EQ(got->error.code(), StatusCode::kUnavailable);
  EXPECT_EQ(got->error.message(), sent.error.message());
  EXPECT_EQ(got->data, sent.data);
  EXPECT_EQ(got->reason, "why");

  ChildEvent exit;
  exit.kind = ChildEvent::Kind::kExit;
  exit.child_id = NewUuid();
  Result<ChildEvent> exited = ParseChildEvent(Text(EncodeChildEvent(exit)));
  ASSERT_TRUE(exited.ok());
  EXPECT_TRUE(exited->error.ok());
  EXPECT_FALSE(exited->data);
}

TEST(SupervisionRecordsTest, WhatIsMalformedIsRefusedWithAReason) {
  const std::string uuid = NewUuid();
  const struct {
    std::string payload;
    std::string says;
  } spawns[] = {
      {"not json", "not a JSON object"},
      {"[1]", "not a JSON object"},
      {std::string(200, '[') + std::string(200, ']'), "nests deeper"},
      {R"({"parent":"x","child":")" + uuid + R"("})", "must be UUIDs"},
      {R"({"parent":")" + uuid + R"(","child":")" + uuid + R"(","manifest":7})", "'manifest'"},
      {R"({"parent":")" + uuid + R"(","child":")" + uuid +
           R"(","manifest":"m","state":"zz","resume":false,"client":""})",
       "not hex"},
      {R"({"parent":")" + uuid + R"(","child":")" + uuid +
           R"(","manifest":"m","state":null,"resume":false,"client":"","policies":[1]})",
       "a policy is not a table"},
      {R"({"parent":")" + uuid + R"(","child":")" + uuid +
           R"(","manifest":"m","state":null,"resume":false,"client":"","policies":[]})",
       "no parent's limits"},
      {R"({"parent":")" + uuid + R"(","child":")" + uuid +
           R"(","manifest":"m","state":null,"resume":false,"client":"","read_roots":[]})",
       "'read_roots' is malformed"},
  };
  for (const auto& bad : spawns) {
    Result<SpawnRequest> parsed = ParseRemoteSpawn(bad.payload, "h9");
    ASSERT_FALSE(parsed.ok()) << bad.payload.substr(0, 80);
    EXPECT_THAT(parsed.status().message(), HasSubstr(bad.says)) << parsed.status().ToString();
    EXPECT_THAT(parsed.status().message(), HasSubstr("host h9"));
  }
  const struct {
    std::string payload;
    std::string says;
  } events[] = {
      {R"({"kind":"vanished","child":")" + uuid + R"("})", "unknown kind"},
      {R"({"kind":"exit","child":"../etc"})", "not a UUID"},
      {R"({"kind":"exit","child":")" + uuid +
           R"(","data":null,"code":200,"message":"","reason":""})",
       "unknown status code"},
      {R"({"kind":"exit","child":")" + uuid + R"(","data":null,"code":-1,"message":""})",
       "'code'"},
  };
  for (const auto& bad : events) {
    Result<ChildEvent> parsed = ParseChildEvent(bad.payload);
    ASSERT_FALSE(parsed.ok()) << bad.payload;
    EXPECT_THAT(parsed.status().message(), HasSubstr(bad.says)) << parsed.status().ToString();
  }
  EXPECT_FALSE(ParseControlName("explode").ok());
  for (ChildControl op : {ChildControl::kStop, ChildControl::kRestart,
                          ChildControl::kRestartFailed, ChildControl::kRelease,
                          ChildControl::kFence}) {
    Result<ChildControl> back = ParseControlName(ControlName(op));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, op);
  }
}

TEST(SupervisionRecordsTest, AMoveArrivesWholeAndAMalformedOneIsRefusedByName) {
  MoveRequest move;
  move.record = R"({"actor_id":"x"})";
  move.state = std::vector<uint8_t>{1, 2, 3};
  move.replicated = true;
  const std::vector<uint8_t> encoded = EncodeMove(move);
  const std::string_view view(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  Result<MoveRequest> parsed = ParseMove(view);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->record, move.record);
  EXPECT_EQ(parsed->state, move.state);
  EXPECT_TRUE(parsed->replicated);
  move.state.reset();
  move.replicated = false;
  const std::vector<uint8_t> stateless = EncodeMove(move);
  parsed = ParseMove(std::string_view(reinterpret_cast<const char*>(stateless.data()), stateless.size()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->state.has_value());
  EXPECT_FALSE(parsed->replicated);

  const struct {
    std::string payload;
    std::string says;
  } bad[] = {
      {"", "ends inside"},
      {std::string{'\x09'}, "flags"},
      {std::string{'\0', '\5', '\0', '\0', '\0', 'a', 'b'}, "ends inside"},
      {std::string{'\0', '\1', '\0', '\0', '\0', 'a', '!'}, "past its end"},
      {std::string{'\2', '\1', '\0', '\0', '\0', 'a'}, "ends inside"},
  };
  for (const auto& b : bad) {
    Result<MoveRequest> refused = ParseMove(b.payload);
    ASSERT_FALSE(refused.ok()) << b.says;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(refused.status().message(), HasSubstr(b.says));
  }
}

}  // namespace
}  // namespace theater::cluster
