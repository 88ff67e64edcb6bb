// Theater: a WebAssembly actor runtime.
//
// The management protocol's framing: round trips of small and fragmented messages, streams cut
// at every byte, and hostile frames (oversize, malformed JSON, bad bytes, inconsistent fragments,
// too many partial messages, expiry).
#include "server/framing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace theater::server {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// The frame (length prefix included) carrying `json`.
std::vector<uint8_t> RawFrame(std::string_view json) {
  std::vector<uint8_t> f;
  f.reserve(4 + json.size());
  for (int shift : {24, 16, 8, 0}) f.push_back(static_cast<uint8_t>(json.size() >> shift));
  f.insert(f.end(), json.begin(), json.end());
  return f;
}

std::vector<std::vector<uint8_t>> DecodeAll(FrameDecoder& decoder,
                                            const std::vector<std::vector<uint8_t>>& frames,
                                            Status* status) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& f : frames) {
    *status = decoder.Feed(f, out);
    if (!status->ok()) break;
  }
  return out;
}

TEST(FramingTest, SmallMessagesAreOneCompleteFrame) {
  FrameEncoder encoder;
  auto frames = encoder.Encode(Bytes("\"ListActors\""));
  ASSERT_EQ(frames.size(), 1u);
  std::string json(frames[0].begin() + 4, frames[0].end());
  EXPECT_EQ(json, "{\"Complete\":[34,76,105,115,116,65,99,116,111,114,115,34]}");
  EXPECT_EQ(frames[0][3], json.size());
  FrameDecoder decoder;
  Status status;
  auto messages = DecodeAll(decoder, frames, &status);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], Bytes("\"ListActors\""));
  // An empty message, and whitespace between tokens from another encoder.
  messages.clear();
  ASSERT_TRUE(decoder.Feed(RawFrame("{\"Complete\":[]}"), messages).ok());
  ASSERT_TRUE(decoder.Feed(RawFrame(" { \"Complete\" : [ 1 , 2 ,3 ] } "), messages).ok());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_TRUE(messages[0].empty());
  EXPECT_EQ(messages[1], (std::vector<uint8_t>{1, 2, 3}));
}

TEST(FramingTest, LargeMessagesAreFragmentedAndReassembled) {
  std::vector<uint8_t> big(kMaxFragmentData * 2 + 12345);
  std::mt19937 rng(7);
  for (auto& b : big) b = static_cast<uint8_t>(rng());
  FrameEncoder encoder;
  auto frames = encoder.Encode(big);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_THAT(std::string(frames[0].begin() + 4, frames[0].begin() + 40),
              HasSubstr("{\"Fragment\":{\"message_id\":1"));
  // Fragments may arrive in any order and interleaved with other messages.
  FrameDecoder decoder;
  std::vector<std::vector<uint8_t>> messages;
  ASSERT_TRUE(decoder.Feed(frames[2], messages).ok());
  ASSERT_TRUE(decoder.Feed(encoder.Encode(Bytes("between"))[0], messages).ok());
  ASSERT_TRUE(decoder.Feed(frames[0], messages).ok());
  EXPECT_EQ(decoder.pending_messages(), 1u);
  ASSERT_TRUE(decoder.Feed(frames[1], messages).ok());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], Bytes("between"));
  EXPECT_EQ(messages[1], big);
  EXPECT_EQ(decoder.pending_messages(), 0u);
  // The next large message gets the next id.
  auto again = encoder.Encode(big);
  EXPECT_THAT(std::string(again[0].begin() + 4, again[0].begin() + 40),
              HasSubstr("\"message_id\":2"));
}

TEST(FramingTest, AStreamCutAnywhereDecodesTheSame) {
  FrameEncoder encoder;
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> m(static_cast<size_t>(i * 7), static_cast<uint8_t>(i));
    sent.push_back(m);
    for (auto& f : encoder.Encode(m)) stream.insert(stream.end(), f.begin(), f.end());
  }
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{17}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<std::vector<uint8_t>> got;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      size_t n = std::min(chunk, stream.size() - at);
      ASSERT_TRUE(decoder.Feed({stream.data() + at, n}, got).ok());
    }
    EXPECT_EQ(got, sent) << "chunk " << chunk;
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(FramingTest, HostileFramesAreErrors) {
  struct Case {
    std::string json;
    std::string why;
  };
  std::vector<Case> cases = {
      {"not json", "not JSON"},
      {"{\"Complete\":[1,256]}", "out of range"},
      {"{\"Complete\":[1,-2]}", "not a number"},
      {"{\"Complete\":[01]}", "leading zero"},
      {"{\"Complete\":[1,2}", "expected ',' or ']'"},
      {"{\"Complete\":\"abc\"}", "array of bytes"},
      {"{\"Complete\":[1]} x", "trailing"},
      {"{\"Other\":1}", "expected"},
      {"[1,2]", "expected"},
      {"{\"Fragment\":{\"message_id\":1,\"fragment_index\":2,\"total_fragments\":2,\"data\":\"\"}}",
       "index 2 of 2"},
      {"{\"Fragment\":{\"message_id\":1,\"fragment_index\":0,\"total_fragments\":0,\"data\":\"\"}}",
       "index 0 of 0"},
      {"{\"Fragment\":{\"message_id\":-1,\"fragment_index\":0,\"total_fragments\":1,\"data\":\"\"}"
       "}",
       "message_id"},
      {"{\"Fragment\":{\"message_id\":1,\"fragment_index\":0,\"total_fragments\":2,\"data\":\"***"
       "\"}}",
       "base64"},
      {"{\"Fragment\":{\"message_id\":1,\"fragment_index\":0,\"total_fragments\":2}}", "base64"},
  };
  for (const Case& c : cases) {
    FrameDecoder decoder;
    std::vector<std::vector<uint8_t>> messages;
    Status status = decoder.Feed(RawFrame(c.json), messages);
    EXPECT_FALSE(status.ok()) << c.json;
    EXPECT_THAT(status.ToString(), HasSubstr(c.why)) << c.json;
    EXPECT_TRUE(messages.empty()) << c.json;
  }
}

TEST(FramingTest, LimitsBoundMemory) {
  FrameDecoder::Limits limits;
  limits.max_frame_bytes = 1000;
  limits.max_pending_messages = 2;
  FrameDecoder decoder(limits);
  std::vector<std::vector<uint8_t>> messages;
  // A length prefix beyond the limit is refused before any of the frame arrives.
  Status oversize = decoder.Feed(std::vector<uint8_t>{0x7f, 0xff, 0xff, 0xff}, messages);
  EXPECT_EQ(oversize.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(oversize.ToString(), HasSubstr("frame of 2147483647 bytes exceeds the frame limit "
                                             "of 1000 bytes (max_frame_bytes)"));
  // Too many messages left half-sent.
  FrameDecoder partial(limits);
  auto fragment = [](int id) {
    return RawFrame("{\"Fragment\":{\"message_id\":" + std::to_string(id) +
                    ",\"fragment_index\":0,\"total_fragments\":3,\"data\":\"AAAA\"}}");
  };
  ASSERT_TRUE(partial.Feed(fragment(1), messages).ok());
  ASSERT_TRUE(partial.Feed(fragment(2), messages).ok());
  EXPECT_EQ(partial.Feed(fragment(3), messages).code(), StatusCode::kResourceExhausted);
  // Duplicates and changing totals.
  FrameDecoder dup;
  ASSERT_TRUE(dup.Feed(fragment(9), messages).ok());
  EXPECT_THAT(dup.Feed(fragment(9), messages).ToString(), HasSubstr("arrived twice"));
  FrameDecoder changed;
  ASSERT_TRUE(changed.Feed(fragment(4), messages).ok());
  Status total = changed.Feed(
      RawFrame("{\"Fragment\":{\"message_id\":4,\"fragment_index\":1,\"total_fragments\":5,"
               "\"data\":\"AAAA\"}}"),
      messages);
  EXPECT_THAT(total.ToString(), HasSubstr("announced 3 fragments, now 5"));
  // A message announcing more fragments than the size limit allows.
  FrameDecoder huge;
  EXPECT_EQ(huge.Feed(RawFrame("{\"Fragment\":{\"message_id\":1,\"fragment_index\":0,"
                               "\"total_fragments\":4000000000,\"data\":\"AAAA\"}}"),
                      messages)
                .code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(messages.empty());
}

// A caller that must act between messages (a connection that authenticates with its first)
// takes them one at a time: later frames stay buffered, unread, until new limits apply.
TEST(FramingTest, MessagesCanBeTakenOneAtATimeUnderChangingLimits) {
  FrameDecoder::Limits small;
  small.max_frame_bytes = 64;
  small.frame_limit_label = "unauthenticated frame limit";
  small.frame_limit_name = "max_unauthenticated_frame_bytes";
  FrameDecoder decoder(small);
  FrameEncoder encoder;
  std::vector<uint8_t> stream;
  for (const auto& f : encoder.Encode(Bytes("\"first\"")))
    stream.insert(stream.end(), f.begin(), f.end());
  const std::string large(100, 'x');
  for (const auto& f : encoder.Encode(Bytes("\"" + large + "\""))) {
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::vector<std::vector<uint8_t>> messages;
  ASSERT_TRUE(decoder.Feed(stream, messages, std::chrono::steady_clock::now(), 1).ok());
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], Bytes("\"first\""));
  EXPECT_TRUE(decoder.HasWholeFrame());
  // Under the small limits the next frame is refused, naming them ...
  FrameDecoder strict(small);
  std::vector<std::vector<uint8_t>> ignored;
  Status refused = strict.Feed(stream, ignored);
  EXPECT_THAT(refused.ToString(), HasSubstr("exceeds the unauthenticated frame limit of 64 bytes "
                                            "(max_unauthenticated_frame_bytes)"));
  // ... but once the limits are lifted it is read.
  decoder.set_limits(FrameDecoder::Limits{});
  ASSERT_TRUE(decoder.Feed({}, messages).ok());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1], Bytes("\"" + large + "\""));
  EXPECT_FALSE(decoder.HasWholeFrame());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  // A partial frame: its header, then not yet its body.
  ASSERT_TRUE(decoder.Feed(std::vector<uint8_t>{0, 0}, messages).ok());
  EXPECT_FALSE(decoder.HasFrameHeader());
  ASSERT_TRUE(decoder.Feed(std::vector<uint8_t>{0, 9, '{'}, messages).ok());
  EXPECT_TRUE(decoder.HasFrameHeader());
  EXPECT_FALSE(decoder.HasWholeFrame());
}

TEST(FramingTest, PartialMessagesExpire) {
  FrameDecoder::Limits limits;
  limits.fragment_timeout = std::chrono::milliseconds(30'000);
  FrameDecoder decoder(limits);
  std::vector<std::vector<uint8_t>> messages;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(decoder
                  .Feed(RawFrame("{\"Fragment\":{\"message_id\":5,\"fragment_index\":0,"
                                 "\"total_fragments\":2,\"data\":\"AAAA\"}}"),
                        messages, t0)
                  .ok());
  EXPECT_EQ(decoder.pending_messages(), 1u);
  ASSERT_TRUE(decoder.Feed({}, messages, t0 + std::chrono::seconds(29)).ok());
  EXPECT_EQ(decoder.pending_messages(), 1u);
  ASSERT_TRUE(decoder.Feed({}, messages, t0 + std::chrono::seconds(31)).ok());
  EXPECT_EQ(decoder.pending_messages(), 0u);
  // The second half arriving late starts a new (incomplete) message instead of completing one.
  ASSERT_TRUE(decoder
                  .Feed(RawFrame("{\"Fragment\":{\"message_id\":5,\"fragment_index\":1,"
                                 "\"total_fragments\":2,\"data\":\"AAAA\"}}"),
                        messages, t0 + std::chrono::seconds(32))
                  .ok());
  EXPECT_TRUE(messages.empty());
}

}  // namespace
}  // namespace theater::server
