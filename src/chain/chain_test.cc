#include "theater/chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace theater::chain {
namespace {

using abi::Value;
using nlohmann::json;
using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

EventChain::Clock FixedClock(uint64_t start) {
  auto now = std::make_shared<uint64_t>(start);
  return [now] { return (*now)++; };
}

Payload LogCall(std::string message) {
  return HostCall{
      "theater:simple/runtime", "log", {Value::String(std::move(message))}, CallOutcome::Ok({})};
}

// A chain with a mix of payloads, for the verification tests.
std::vector<Event> SampleEvents() {
  EventChain chain(FixedClock(1000));
  chain.Append(Lifecycle{"actor-ready", "actor is ready"});
  chain.Append(LogCall("hello"));
  chain.Append(ExportCall{"theater:simple/actor#init",
                          {Value::String("id-1")},
                          CallOutcome::Ok({}),
                          StateRecord::Of(Bytes("{\"n\":1}"))});
  chain.Append(Log{"info", "done"});
  chain.Append(LogCall("again"));
  return chain.events();
}

// ----- the worked example of docs/chain-format.md --------------------------------------------

constexpr char kGoldenPayload0[] =
    "0116746865617465723a73696d706c652f72756e74696d65036c6f67010d0568656c6c6f0000";
constexpr char kGoldenFrame0[] =
    "746865617465722e636861696e2e6576656e742e763100001a00000000000000746865617465723a73696d706c"
    "652f72756e74696d652f6c6f6726000000000000000116746865617465723a73696d706c652f72756e74696d65"
    "036c6f67010d0568656c6c6f0000";
constexpr char kGoldenHash0[] = "b0eae037375c02bc315a26ff750a1f8e80b2cead40552f1b338182e678b763e2";
constexpr char kGoldenPayload1[] =
    "0219746865617465723a73696d706c652f6163746f7223696e6974010d026131000001027b7d";
constexpr char kGoldenFrame1[] =
    "746865617465722e636861696e2e6576656e742e76310001b0eae037375c02bc315a26ff750a1f8e80b2cead40"
    "552f1b338182e678b763e204000000000000007761736d26000000000000000219746865617465723a73696d70"
    "6c652f6163746f7223696e6974010d026131000001027b7d";
constexpr char kGoldenHash1[] = "3cc9031a7ab47e118637c4511b69e94729635d175d58ee19789111d82781e4b7";

Payload GoldenPayload0() {
  return LogCall("hello");
}
Payload GoldenPayload1() {
  return ExportCall{"theater:simple/actor#init",
                    {Value::String("a1")},
                    CallOutcome::Ok({}),
                    StateRecord::Of(Bytes("{}"))};
}

TEST(ChainGoldenTest, WorkedExampleMatchesByteForByte) {
  std::vector<uint8_t> p0 = EncodePayload(GoldenPayload0());
  EXPECT_EQ(ToHex(p0), kGoldenPayload0);
  EXPECT_EQ(ToHex(HashFrame(std::nullopt, "theater:simple/runtime/log", p0)), kGoldenFrame0);
  Hash h0 = HashEvent(std::nullopt, "theater:simple/runtime/log", p0);
  EXPECT_EQ(ToHex(h0), kGoldenHash0);

  std::vector<uint8_t> p1 = EncodePayload(GoldenPayload1());
  EXPECT_EQ(ToHex(p1), kGoldenPayload1);
  EXPECT_EQ(ToHex(HashFrame(h0, "wasm", p1)), kGoldenFrame1);
  EXPECT_EQ(ToHex(HashEvent(h0, "wasm", p1)), kGoldenHash1);

  // The same two events appended to a chain get the same hashes.
  EventChain chain(FixedClock(1));
  EXPECT_EQ(ToHex(chain.Append(GoldenPayload0())), kGoldenHash0);
  EXPECT_EQ(ToHex(chain.Append(GoldenPayload1())), kGoldenHash1);
}

TEST(ChainHashTest, EveryFrameSizeHashesLikeItsFrame) {
  // HashEvent assembles frames up to 1 KiB on the stack and feeds larger ones piece by piece:
  // both must be SHA-256 of HashFrame(), with and without a parent, across the switch.
  std::optional<Hash> parent = Sha256(Bytes("parent"));
  for (size_t size = 0; size <= 1100; size += (size > 900 && size < 1030) ? 1 : 37) {
    std::vector<uint8_t> payload(size);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 7 + size);
    for (const std::optional<Hash>& link : {std::optional<Hash>(), parent}) {
      EXPECT_EQ(HashEvent(link, "wasm", payload), Sha256(HashFrame(link, "wasm", payload)))
          << "payload of " << size << " bytes" << (link ? " with a parent" : "");
    }
  }
}

TEST(ChainGoldenTest, DocumentContainsTheWorkedExample) {
  std::ifstream in(std::string(THEATER_SOURCE_DIR) + "/docs/chain-format.md");
  ASSERT_TRUE(in) << "docs/chain-format.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  // The doc wraps long hex over lines; compare with whitespace removed.
  std::string doc;
  for (char c : text.str()) {
    if (c != ' ' && c != '\n') doc.push_back(c);
  }
  for (const char* hex : {kGoldenPayload0, kGoldenFrame0, kGoldenHash0, kGoldenPayload1,
                          kGoldenFrame1, kGoldenHash1}) {
    EXPECT_NE(doc.find(hex), std::string::npos) << "docs/chain-format.md lacks " << hex;
  }
}

// A byte list over the spill's threshold is recorded as tag 0x19, its size and its SHA-256
// (docs/chain-format.md, "Large byte lists"); one a spill refuses stays inline.
TEST(ChainGoldenTest, LargeByteListsAreRecordedByDigest) {
  const std::vector<uint8_t> big = {'a', 'b', 'c', 'd', 'e'};
  std::vector<std::vector<uint8_t>> kept;
  ByteSpill spill;
  spill.inline_max = 4;
  spill.keep = [&](std::span<const uint8_t> bytes, const Hash& sha256) {
    EXPECT_EQ(sha256, Sha256(bytes));
    kept.emplace_back(bytes.begin(), bytes.end());
    return true;
  };
  const std::vector<abi::Value> input = {abi::Value::Bytes(big), abi::Value::Bytes({1, 2, 3, 4})};
  const std::vector<abi::Value> output;
  std::vector<uint8_t> encoded;
  EncodeHostCallTo("i", "f", input, {output, nullptr}, encoded, &spill);
  // 01 | "i" | "f" | 2 values: 19 05 <sha256(abcde)>, 0f 04 01 02 03 04 | ok, no values
  const Hash digest = Sha256(big);
  std::vector<uint8_t> expected = {0x01, 0x01, 'i', 0x01, 'f', 0x02, 0x19, 0x05};
  expected.insert(expected.end(), digest.begin(), digest.end());
  for (uint8_t b : {0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00}) expected.push_back(b);
  EXPECT_EQ(ToHex(encoded), ToHex(expected));
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], big);

  // Decodes to a BytesByDigest value that re-encodes to the same bytes and renders its digest.
  Result<Payload> decoded = DecodePayload(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const abi::Value& value = std::get<HostCall>(*decoded).input[0];
  ASSERT_TRUE(value.is_bytes_digest());
  EXPECT_EQ(value.bytes_digest().size, 5u);
  EXPECT_EQ(value.bytes_digest().sha256, digest);
  EXPECT_EQ(EncodePayload(*decoded), encoded);
  EXPECT_EQ(ValueToJson(value).dump(), "{\"sha256\":\"" + ToHex(digest) + "\",\"size\":5}");
  EXPECT_THAT(value.ToString(),
              ::testing::StartsWith("<5 bytes, sha256 " + ToHex(digest).substr(0, 16)));

  // A spill that cannot keep the bytes: recorded inline, as without a spill.
  spill.keep = [](std::span<const uint8_t>, const Hash&) { return false; };
  std::vector<uint8_t> refused, plain;
  EncodeHostCallTo("i", "f", input, {output, nullptr}, refused, &spill);
  EncodeHostCallTo("i", "f", input, {output, nullptr}, plain);
  EXPECT_EQ(refused, plain);

  // A truncated digest is refused.
  std::vector<uint8_t> truncated(encoded.begin(), encoded.begin() + 20);
  EXPECT_FALSE(DecodePayload(truncated).ok());
}

TEST(ChainGoldenTest, Sha256KnownVector) {
  EXPECT_EQ(ToHex(Sha256(Bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ShortHex(Sha256(Bytes("abc"))), "ba7816b");
}

// ----- hashing and linkage ----------------------------------------------------------------------

TEST(EventChainTest, HashIgnoresTimestampAndDescription) {
  EventChain a(FixedClock(1));
  EventChain b(FixedClock(1'700'000'000'000));
  a.Append(LogCall("x"));
  b.Append(LogCall("x"), "a description");
  a.Append("custom", Bytes("payload"), "first");
  b.Append("custom", Bytes("payload"), "second");
  EXPECT_EQ(a.events()[0].hash, b.events()[0].hash);
  EXPECT_EQ(a.head(), b.head());
  EXPECT_NE(a.events()[0].timestamp_ms, b.events()[0].timestamp_ms);
  EXPECT_EQ(b.events()[0].description, "a description");
}

TEST(EventChainTest, HashCoversTypePayloadAndParent) {
  Hash base = HashEvent(std::nullopt, "t", Bytes("p"));
  EXPECT_NE(base, HashEvent(std::nullopt, "u", Bytes("p")));
  EXPECT_NE(base, HashEvent(std::nullopt, "t", Bytes("q")));
  EXPECT_NE(base, HashEvent(Hash{}, "t", Bytes("p")));
  // Length prefixes keep the boundary between type and payload unambiguous.
  EXPECT_NE(HashEvent(std::nullopt, "ab", Bytes("c")), HashEvent(std::nullopt, "a", Bytes("bc")));
}

TEST(EventChainTest, AppendLinksEachEventToItsPredecessor) {
  EventChain chain(FixedClock(500));
  EXPECT_EQ(chain.size(), 0u);
  EXPECT_FALSE(chain.head());
  Hash h0 = chain.Append(LogCall("a"));
  Hash h1 = chain.Append(Lifecycle{"actor-ready", "ready"});
  Hash h2 = chain.Append("custom", Bytes("raw"));
  std::vector<Event> events = chain.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_FALSE(events[0].parent);
  EXPECT_EQ(events[1].parent, h0);
  EXPECT_EQ(events[2].parent, h1);
  EXPECT_EQ(events[0].hash, h0);
  EXPECT_EQ(events[2].hash, h2);
  EXPECT_EQ(chain.head(), h2);
  EXPECT_EQ(events[0].type, "theater:simple/runtime/log");
  EXPECT_EQ(events[1].type, "theater-runtime");
  EXPECT_EQ(events[2].type, "custom");
  EXPECT_EQ(events[0].timestamp_ms, 500u);
  EXPECT_EQ(events[2].timestamp_ms, 502u);
  EXPECT_EQ(chain.event(1), events[1]);
  EXPECT_FALSE(chain.event(3));
  EXPECT_TRUE(chain.Verify().ok());
}

TEST(EventChainTest, EventTypeForEachPayload) {
  EXPECT_EQ(EventTypeFor(LogCall("x")), "theater:simple/runtime/log");
  EXPECT_EQ(EventTypeFor(ExportCall{"f", {}, {}, {}}), "wasm");
  EXPECT_EQ(EventTypeFor(Lifecycle{"k", "m"}), "theater-runtime");
  EXPECT_EQ(EventTypeFor(Log{"info", "m"}), "theater:simple/runtime/log");
}

TEST(EventChainTest, ObserversSeeEveryAppendInOrderUntilRemoved) {
  EventChain chain(FixedClock(0));
  std::vector<std::pair<size_t, Hash>> seen;
  EventChain::ObserverId id =
      chain.AddObserver([&](const Event& e, size_t index) { seen.emplace_back(index, e.hash); });
  Hash h0 = chain.Append(LogCall("a"));
  Hash h1 = chain.Append(LogCall("b"));
  chain.RemoveObserver(id);
  chain.Append(LogCall("c"));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(size_t{0}, h0));
  EXPECT_EQ(seen[1], std::make_pair(size_t{1}, h1));
}

// Observers run outside the chain's lock: one may read the chain (before, that deadlocked), and a
// slow one holds up no reader.
TEST(EventChainTest, ObserversRunOutsideTheChainsLock) {
  EventChain chain(FixedClock(0));
  std::vector<size_t> sizes_seen;
  std::atomic<bool> in_observer{false};
  std::atomic<bool> release{false};
  chain.AddObserver([&](const Event&, size_t index) {
    sizes_seen.push_back(chain.size());  // reads the chain from inside an observer
    if (index == 1) {
      in_observer = true;
      while (!release) std::this_thread::yield();
    }
  });
  chain.Append(LogCall("a"));
  std::thread appender([&] { chain.Append(LogCall("b")); });
  while (!in_observer) std::this_thread::yield();
  // The observer of event #1 is still running: the chain can be read meanwhile.
  EXPECT_EQ(chain.size(), 2u);
  EXPECT_TRUE(chain.head().has_value());
  release = true;
  appender.join();
  EXPECT_THAT(sizes_seen, ::testing::ElementsAre(1u, 2u));
}

// An observer registered with an interest sees only what is appended while the interest is not
// zero; one without sees everything, and the two coexist.
TEST(EventChainTest, AnObserverWithAnInterestSeesOnlyEventsAppendedWhileItIsNonzero) {
  EventChain chain(FixedClock(0));
  std::atomic<size_t> interest{0};
  std::vector<size_t> interested_seen, always_seen;
  chain.AddObserver([&](const Event&, size_t index) { interested_seen.push_back(index); },
                    &interest);
  chain.Append(LogCall("nobody listens"));
  interest = 1;
  chain.Append(LogCall("one listener"));
  interest = 0;
  chain.Append(LogCall("gone again"));
  EXPECT_THAT(interested_seen, ::testing::ElementsAre(1u));
  const EventChain::ObserverId always =
      chain.AddObserver([&](const Event&, size_t index) { always_seen.push_back(index); });
  chain.Append(LogCall("always"));
  interest = 2;
  chain.Append(LogCall("both"));
  EXPECT_THAT(always_seen, ::testing::ElementsAre(3u, 4u));
  EXPECT_THAT(interested_seen, ::testing::ElementsAre(1u, 4u));
  chain.RemoveObserver(always);
  interest = 0;
  chain.Append(LogCall("unwatched"));
  EXPECT_THAT(interested_seen, ::testing::ElementsAre(1u, 4u));
  EXPECT_TRUE(chain.Verify().ok());
}

// Appends from many threads reach the observers one at a time, in append order, each before its
// Append returns.
TEST(EventChainTest, ObserversSeeConcurrentAppendsInOrderBeforeAppendReturns) {
  EventChain chain;
  std::mutex mu;
  std::vector<std::pair<size_t, Hash>> seen;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  chain.AddObserver([&](const Event& e, size_t index) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.emplace_back(index, e.hash);
    }
    inside.fetch_sub(1);
  });
  std::atomic<bool> late{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        const Hash hash = chain.Append(LogCall(std::to_string(t * 1000 + i)));
        std::lock_guard<std::mutex> lock(mu);
        bool found = false;
        for (const auto& [index, h] : seen) found |= h == hash;
        if (!found) late = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(overlapped.load()) << "two observer calls at once";
  EXPECT_FALSE(late.load()) << "an Append returned before its event was observed";
  ASSERT_EQ(seen.size(), 1000u);
  std::vector<Event> events = chain.events();
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, i);
    EXPECT_EQ(seen[i].second, events[i].hash);
  }
}

TEST(EventChainTest, ConcurrentAppendsStayLinked) {
  EventChain chain;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&chain, t] {
      for (int i = 0; i < 250; ++i) chain.Append(LogCall(std::to_string(t * 1000 + i)));
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(chain.size(), 1000u);
  Status s = chain.Verify();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// ----- verification ------------------------------------------------------------------------------

TEST(VerifyTest, AcceptsAnUntouchedChainAndAnEmptyOne) {
  std::vector<Event> events = SampleEvents();
  EXPECT_TRUE(VerifyEvents(events).ok());
  EXPECT_TRUE(VerifyEvents({}).ok());
}

TEST(VerifyTest, DetectsModifiedPayload) {
  std::vector<Event> events = SampleEvents();
  events[2].payload = EncodePayload(LogCall("hellO"));
  Status s = VerifyEvents(events);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kValidationError);
  EXPECT_THAT(s.message(), HasSubstr("event #2: stored hash"));
  EXPECT_THAT(s.message(), HasSubstr("does not match"));
}

TEST(VerifyTest, DetectsModifiedType) {
  std::vector<Event> events = SampleEvents();
  events[3].type = "wasm2";
  Status s = VerifyEvents(events);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("event #3: stored hash"));
}

TEST(VerifyTest, IgnoresTimestampAndDescriptionChanges) {
  std::vector<Event> events = SampleEvents();
  events[1].timestamp_ms = 42;
  events[1].description = "edited later";
  EXPECT_TRUE(VerifyEvents(events).ok());
}

TEST(VerifyTest, DetectsSwappedEvents) {
  std::vector<Event> events = SampleEvents();
  std::swap(events[1], events[2]);
  Status s = VerifyEvents(events);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("event #1: parent link broken"));

  std::vector<Event> first = SampleEvents();
  std::swap(first[0], first[1]);
  Status s0 = VerifyEvents(first);
  ASSERT_FALSE(s0.ok());
  EXPECT_THAT(s0.message(), HasSubstr("event #0: the first event names a parent"));
}

TEST(VerifyTest, DetectsBrokenParentLink) {
  std::vector<Event> events = SampleEvents();
  // A consistent forgery of event 3 (hash recomputed) still breaks the link from event 4... and
  // its own link to event 2.
  events[3].parent = events[1].hash;
  events[3].hash = HashEvent(events[3].parent, events[3].type, events[3].payload);
  Status s = VerifyEvents(events);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("event #3: parent link broken"));
  EXPECT_THAT(s.message(), HasSubstr(ToHex(events[2].hash)));

  std::vector<Event> removed = SampleEvents();
  removed.erase(removed.begin() + 2);
  EXPECT_THAT(VerifyEvents(removed).message(), HasSubstr("event #2: parent link broken"));

  std::vector<Event> orphan = SampleEvents();
  orphan[4].parent.reset();
  orphan[4].hash = HashEvent(std::nullopt, orphan[4].type, orphan[4].payload);
  EXPECT_THAT(VerifyEvents(orphan).message(), HasSubstr("event #4: has no parent"));
}

TEST(VerifyTest, DetectsModifiedStoredHash) {
  std::vector<Event> events = SampleEvents();
  events[0].hash[0] ^= 1;
  EXPECT_THAT(VerifyEvents(events).message(), HasSubstr("event #0: stored hash"));
}

// Event #0 names the actor: two actors of one manifest start with different hashes, and a chain
// checked as another actor's is refused, naming both.
TEST(VerifyTest, TheFirstEventBindsTheChainToItsActor) {
  const std::string a = "11111111-1111-4111-8111-111111111111";
  const std::string b = "22222222-2222-4222-8222-222222222222";
  auto started = [](const std::string& id) {
    EventChain chain(FixedClock(1));
    chain.Append(Lifecycle{"actor-load", ActorLoadMessage(id, "echo", "0.1.0", "ab12")});
    chain.Append(LogCall("hello"));
    return chain.events();
  };
  std::vector<Event> of_a = started(a), of_b = started(b);
  EXPECT_NE(of_a.front().hash, of_b.front().hash);
  EXPECT_EQ(std::get<Lifecycle>(DecodePayload(of_a.front().payload).value()).message,
            "actor " + a + " loads echo 0.1.0, component sha256:ab12");
  EXPECT_TRUE(VerifyActorBinding(of_a, 0, a).ok());
  Status other = VerifyActorBinding(of_a, 0, b);
  EXPECT_EQ(other.code(), StatusCode::kValidationError);
  EXPECT_EQ(other.message(), "event #0 binds this chain to actor " + a + ", not to actor " + b);
  // A tail without event #0 has nothing to compare; nor has a chain from before the binding.
  EXPECT_TRUE(VerifyActorBinding(std::span(of_a).subspan(1), 1, b).ok());
  EventChain older(FixedClock(1));
  older.Append(Lifecycle{"actor-load", "echo 0.1.0 component sha256:ab12"});
  EXPECT_TRUE(VerifyActorBinding(older.events(), 0, b).ok());
  // A chain that does not start with actor-load is not an actor's chain.
  EventChain loose(FixedClock(1));
  loose.Append(LogCall("hello"));
  EXPECT_THAT(VerifyActorBinding(loose.events(), 0, a).message(),
              HasSubstr("event #0 is not the actor-load event"));
}

TEST(VerifyTest, FromEventsRestoresAndContinuesTheChain) {
  std::vector<Event> events = SampleEvents();
  Result<std::unique_ptr<EventChain>> chain = EventChain::FromEvents(events, FixedClock(9));
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ((*chain)->size(), events.size());
  EXPECT_EQ((*chain)->head(), events.back().hash);
  (*chain)->Append(LogCall("after restore"));
  EXPECT_EQ((*chain)->events().back().parent, events.back().hash);
  EXPECT_TRUE((*chain)->Verify().ok());

  events[1].payload.push_back(0);
  Result<std::unique_ptr<EventChain>> bad = EventChain::FromEvents(events);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kValidationError);
  EXPECT_THAT(bad.status().ToString(), HasSubstr("restoring an event chain: event #1"));
}

// ----- value encoding ----------------------------------------------------------------------------

std::vector<Value> EveryKind() {
  return {
      Value::Bool(true),
      Value::Bool(false),
      Value::S8(-128),
      Value::U8(255),
      Value::S16(-12345),
      Value::U16(65535),
      Value::S32(std::numeric_limits<int32_t>::min()),
      Value::U32(0xdeadbeef),
      Value::S64(std::numeric_limits<int64_t>::min()),
      Value::U64(std::numeric_limits<uint64_t>::max()),
      Value::F32(3.5f),
      Value::F32(-0.0f),
      Value::F64(-1.25e300),
      Value::F64(std::numeric_limits<double>::infinity()),
      Value::Char(U'é'),
      Value::Char(U'\U0001F600'),
      Value::String(""),
      Value::String("héllo"),
      Value::String(std::string(300, 'x')),
      Value::Bytes({}),
      Value::Bytes({0, 1, 2, 255}),
      Value::List({}),
      Value::List({Value::String("a"), Value::String("b")}),
      Value::List({Value::U8(1), Value::U8(2)}),
      Value::Record({Value::U32(1), Value::String("two")}),
      Value::Tuple({}),
      Value::Tuple({Value::S64(-1), Value::Bool(true)}),
      Value::Variant(0),
      Value::Variant(300, Value::String("payload")),
      Value::Enum(0),
      Value::Enum(4'000'000'000u),
      Value::Flags({}),
      Value::Flags({true, false, true, false, false, false, false, true, true}),
      Value::None(),
      Value::Some(Value::None()),
      Value::Some(Value::Some(Value::U8(7))),
      Value::Ok(),
      Value::Ok(Value::String("fine")),
      Value::Err(),
      Value::Err(Value::Enum(3)),
      Value::Own(0),
      Value::Borrow(0xffffffff),
      Value::List({Value::Record({Value::Some(Value::Tuple({Value::Bytes({9})})),
                                  Value::Variant(1, Value::Flags({true}))})}),
  };
}

TEST(ValueEncodingTest, RoundTripsEveryKind) {
  for (const Value& v : EveryKind()) {
    std::vector<uint8_t> bytes = EncodeValue(v);
    Result<Value> back = DecodeValue(bytes);
    ASSERT_TRUE(back.ok()) << v.ToString() << ": " << back.status().ToString();
    EXPECT_EQ(*back, v) << v.ToString();
    EXPECT_EQ(back->kind(), v.kind());
    EXPECT_EQ(EncodeValue(*back), bytes) << "re-encoding must be byte-identical";
  }
}

TEST(ValueEncodingTest, NanBitsSurvive) {
  uint32_t nan32 = 0x7fc00123;
  uint64_t nan64 = 0xfff8000000000abcULL;
  Result<Value> f = DecodeValue(EncodeValue(Value::F32(std::bit_cast<float>(nan32))));
  Result<Value> d = DecodeValue(EncodeValue(Value::F64(std::bit_cast<double>(nan64))));
  ASSERT_TRUE(f.ok() && d.ok());
  EXPECT_EQ(std::bit_cast<uint32_t>(f->as_f32()), nan32);
  EXPECT_EQ(std::bit_cast<uint64_t>(d->as_f64()), nan64);
}

TEST(ValueEncodingTest, DocumentedBytes) {
  // Spot checks of the tables in docs/chain-format.md.
  EXPECT_EQ(ToHex(EncodeValue(Value::Bool(true))), "0101");
  EXPECT_EQ(ToHex(EncodeValue(Value::S16(-2))), "04feff");
  EXPECT_EQ(ToHex(EncodeValue(Value::U32(0x01020304))), "0704030201");
  EXPECT_EQ(ToHex(EncodeValue(Value::F32(1.0f))), "0a0000803f");
  EXPECT_EQ(ToHex(EncodeValue(Value::Char(U'A'))), "0c41000000");
  EXPECT_EQ(ToHex(EncodeValue(Value::String("hi"))), "0d026869");
  EXPECT_EQ(ToHex(EncodeValue(Value::Bytes({0xab}))), "0f01ab");
  EXPECT_EQ(ToHex(EncodeValue(Value::List({Value::U8(5)}))), "0e010305");
  EXPECT_EQ(ToHex(EncodeValue(Value::Record({Value::Bool(false)}))), "10010100");
  EXPECT_EQ(ToHex(EncodeValue(Value::Tuple({}))), "1100");
  EXPECT_EQ(ToHex(EncodeValue(Value::Variant(200, Value::U8(1)))), "12c801010301");
  EXPECT_EQ(ToHex(EncodeValue(Value::Enum(2))), "1302");
  EXPECT_EQ(ToHex(EncodeValue(Value::Flags({true, false, true}))), "140305");
  EXPECT_EQ(ToHex(EncodeValue(Value::None())), "1500");
  EXPECT_EQ(ToHex(EncodeValue(Value::Some(Value::U8(1)))), "15010301");
  EXPECT_EQ(ToHex(EncodeValue(Value::Ok())), "160000");
  EXPECT_EQ(ToHex(EncodeValue(Value::Err(Value::String("")))), "1601010d00");
  EXPECT_EQ(ToHex(EncodeValue(Value::Own(1))), "1701000000");
  EXPECT_EQ(ToHex(EncodeValue(Value::Borrow(2))), "1802000000");
}

TEST(ValueEncodingTest, DepthLimit) {
  Value v = Value::U8(1);
  for (int i = 1; i < kMaxValueDepth; ++i) v = Value::Some(std::move(v));
  EXPECT_TRUE(DecodeValue(EncodeValue(v)).ok()) << "depth 64 is allowed";
  Value deeper = Value::Some(v);
  Result<Value> r = DecodeValue(EncodeValue(deeper));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_THAT(r.status().message(), HasSubstr("nested deeper than 64"));

  // A hand-made stream of 100000 nested lists must fail cleanly, not overflow the stack.
  std::vector<uint8_t> bomb;
  for (int i = 0; i < 100000; ++i) bomb.insert(bomb.end(), {0x0e, 0x01});
  EXPECT_FALSE(DecodeValue(bomb).ok());
}

std::string DecodeError(const std::vector<uint8_t>& bytes) {
  Result<Value> r = DecodeValue(bytes);
  EXPECT_FALSE(r.ok()) << ToHex(bytes);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  return r.status().message();
}

TEST(ValueEncodingTest, RejectsMalformedInput) {
  EXPECT_THAT(DecodeError({}), HasSubstr("truncated value tag"));
  EXPECT_THAT(DecodeError({0x00}), HasSubstr("unknown value tag 0"));
  EXPECT_THAT(DecodeError({0x1a, 0x00}), HasSubstr("unknown value tag 26"));
  EXPECT_THAT(DecodeError({0x19, 0x00}), HasSubstr("truncated byte list digest"));
  EXPECT_THAT(DecodeError({0x01, 0x02}), HasSubstr("bool must be 0 or 1"));
  EXPECT_THAT(DecodeError({0x01, 0x01, 0x00}), HasSubstr("1 trailing bytes"));
  EXPECT_THAT(DecodeError({0x07, 0x01, 0x02}), HasSubstr("truncated u32"));
  EXPECT_THAT(DecodeError({0x0d, 0x05, 'a'}), HasSubstr("exceeds the remaining input"));
  EXPECT_THAT(DecodeError({0x0d, 0x80, 0x00}), HasSubstr("shortest form"));
  EXPECT_THAT(DecodeError({0x0d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),
              HasSubstr("overflows 64 bits"));
  EXPECT_THAT(DecodeError({0x0e, 0x03, 0x01, 0x01}), HasSubstr("exceeds the remaining input"));
  EXPECT_THAT(DecodeError({0x13, 0x80, 0x80, 0x80, 0x80, 0x10}), HasSubstr("exceeds 32 bits"));
  EXPECT_THAT(DecodeError({0x14, 0x03, 0x08}), HasSubstr("unused flag bits"));
  EXPECT_THAT(DecodeError({0x14, 0x09, 0x01}), HasSubstr("flag count 9 exceeds"));
  EXPECT_THAT(DecodeError({0x15, 0x02}), HasSubstr("payload flag must be 0 or 1"));
  EXPECT_THAT(DecodeError({0x16, 0x02, 0x00}), HasSubstr("result case must be 0 or 1"));
  EXPECT_THAT(DecodeError({0x12, 0x00, 0x01}), HasSubstr("truncated value tag"));
}

// ----- payload encoding --------------------------------------------------------------------------

std::vector<Payload> EveryPayload() {
  std::vector<uint8_t> big(kStateInlineLimit + 1, 'z');
  std::vector<uint8_t> edge(kStateInlineLimit, 'e');
  return {
      LogCall("hello"),
      HostCall{"theater:simple/store",
               "get",
               {Value::String("s"), Value::Record({Value::String("h")})},
               CallOutcome::Ok({Value::Ok(Value::Bytes({1, 2, 3}))})},
      HostCall{"theater:simple/timing",
               "sleep",
               {Value::U64(10)},
               CallOutcome::Error("permission denied: timing")},
      ExportCall{"theater:simple/actor#init",
                 {Value::String("id")},
                 CallOutcome::Ok({}),
                 StateRecord::None()},
      ExportCall{"theater:simple/message-server-client#handle-send",
                 {Value::Bytes({})},
                 CallOutcome::Ok({}),
                 StateRecord::Of(edge)},
      ExportCall{"theater:simple/message-server-client#handle-request",
                 {Value::String("r1"), Value::Bytes({1})},
                 CallOutcome::Ok({Value::Some(Value::Bytes({2}))}),
                 StateRecord::Of(big)},
      ExportCall{"theater:simple/actor#init",
                 {},
                 CallOutcome::Error("trap: unreachable"),
                 StateRecord::Of(std::vector<uint8_t>{})},
      Lifecycle{"actor-ready", "actor abc is ready"},
      Log{"warn", ""},
      InitialState{"init_state", Value::Bytes({'{', '}'})},
  };
}

TEST(PayloadEncodingTest, RoundTripsEveryPayload) {
  for (const Payload& p : EveryPayload()) {
    std::vector<uint8_t> bytes = EncodePayload(p);
    Result<Payload> back = DecodePayload(bytes);
    ASSERT_TRUE(back.ok()) << ToHex(bytes) << ": " << back.status().ToString();
    EXPECT_EQ(*back, p) << ToHex(bytes);
    EXPECT_EQ(EncodePayload(*back), bytes);
  }
}

TEST(PayloadEncodingTest, StateRecordsInlineUpToTheLimitAndDigestAbove) {
  std::vector<uint8_t> edge(kStateInlineLimit, 'e');
  std::vector<uint8_t> big(kStateInlineLimit + 1, 'z');
  StateRecord inline_state = StateRecord::Of(edge);
  EXPECT_EQ(inline_state.form, StateRecord::Form::kInline);
  EXPECT_EQ(inline_state.bytes, edge);
  EXPECT_EQ(inline_state.size, kStateInlineLimit);
  StateRecord digest = StateRecord::Of(big);
  EXPECT_EQ(digest.form, StateRecord::Form::kDigest);
  EXPECT_EQ(digest.size, kStateInlineLimit + 1);
  EXPECT_EQ(digest.digest, Sha256(big));
  EXPECT_TRUE(digest.bytes.empty());
  EXPECT_EQ(StateRecord::Of(std::nullopt).form, StateRecord::Form::kNone);
  EXPECT_EQ(StateRecord::Of(std::vector<uint8_t>{}).form, StateRecord::Form::kInline)
      << "an empty state is present, not absent";
  EXPECT_LT(EncodePayload(ExportCall{"f", {}, {}, digest}).size(), 64u);
}

TEST(PayloadEncodingTest, RejectsNonCanonicalStates) {
  // export-call "f", no params, ok(), then a state: inline with 1025 bytes is not canonical.
  std::vector<uint8_t> head = {0x02, 0x01, 'f', 0x00, 0x00, 0x00};
  std::vector<uint8_t> too_big_inline = head;
  too_big_inline.insert(too_big_inline.end(), {0x01, 0x81, 0x08});  // 1025
  too_big_inline.insert(too_big_inline.end(), 1025, 'x');
  Result<Payload> a = DecodePayload(too_big_inline);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("exceeds the inline limit"));

  std::vector<uint8_t> small_digest = head;
  small_digest.insert(small_digest.end(), {0x02, 0x05});
  small_digest.insert(small_digest.end(), 32, 0xaa);
  Result<Payload> b = DecodePayload(small_digest);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("must be recorded inline"));

  std::vector<uint8_t> bad_form = head;
  bad_form.push_back(0x03);
  EXPECT_THAT(DecodePayload(bad_form).status().message(), HasSubstr("unknown state form 3"));
}

TEST(PayloadEncodingTest, RejectsEveryTruncationAndTrailingBytes) {
  for (const Payload& p : EveryPayload()) {
    std::vector<uint8_t> bytes = EncodePayload(p);
    for (size_t n = 0; n < bytes.size(); ++n) {
      Result<Payload> r = DecodePayload(std::span<const uint8_t>(bytes.data(), n));
      EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes of " << ToHex(bytes);
      EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    }
    bytes.push_back(0);
    Result<Payload> r = DecodePayload(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("trailing"));
  }
  EXPECT_THAT(DecodePayload(std::vector<uint8_t>{0x07}).status().message(),
              HasSubstr("unknown payload kind 7"));
}

TEST(PayloadEncodingTest, GarbageNeverCrashes) {
  std::mt19937 rng(1234);
  std::vector<std::vector<uint8_t>> seeds;
  for (const Payload& p : EveryPayload()) seeds.push_back(EncodePayload(p));
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes;
    if (i % 2 == 0) {
      // Random bytes after a valid payload kind.
      bytes.resize(1 + rng() % 64);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      bytes[0] = static_cast<uint8_t>(1 + rng() % 5);
    } else {
      // A valid payload with a few bytes flipped.
      bytes = seeds[rng() % seeds.size()];
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    }
    Result<Payload> r = DecodePayload(bytes);
    if (r.ok()) {
      ++decoded;
      EXPECT_EQ(EncodePayload(*r), bytes) << "whatever decodes must be canonical";
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    }
    // Rendering must cope with anything too.
    EXPECT_NO_THROW(PayloadToJson(bytes).dump());
  }
  EXPECT_GT(decoded, 0);
}

// ----- rendering ---------------------------------------------------------------------------------

TEST(RenderTest, ValueToJsonIsReadable) {
  EXPECT_EQ(ValueToJson(Value::Bool(true)), json(true));
  EXPECT_EQ(ValueToJson(Value::S32(-5)), json(-5));
  EXPECT_EQ(ValueToJson(Value::U64(std::numeric_limits<uint64_t>::max())),
            json(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(ValueToJson(Value::F64(1.5)), json(1.5));
  EXPECT_EQ(ValueToJson(Value::F32(std::nanf(""))), json("NaN"));
  EXPECT_EQ(ValueToJson(Value::F64(-std::numeric_limits<double>::infinity())), json("-inf"));
  EXPECT_EQ(ValueToJson(Value::Char(U'é')), json("é"));
  EXPECT_EQ(ValueToJson(Value::Char(0xd800)), json({{"char", 0xd800}}));
  EXPECT_EQ(ValueToJson(Value::String("hi")), json("hi"));
  EXPECT_EQ(ValueToJson(Value::Bytes(Bytes("{\"a\": 1}\n"))), json("{\"a\": 1}\n"));
  EXPECT_EQ(ValueToJson(Value::Bytes({0, 1, 0xff})), json({{"hex", "0001ff"}}));
  EXPECT_EQ(ValueToJson(Value::Bytes({0xc3})), json({{"hex", "c3"}})) << "truncated UTF-8";
  EXPECT_EQ(ValueToJson(Value::Bytes(Bytes("\x1b[31m"))), json({{"hex", "1b5b33316d"}}));
  EXPECT_EQ(ValueToJson(Value::List({Value::U8(1), Value::String("x")})), json({1, "x"}));
  EXPECT_EQ(ValueToJson(Value::Record({Value::U8(1)})), json::array({1}));
  EXPECT_EQ(ValueToJson(Value::Tuple({})), json::array());
  EXPECT_EQ(ValueToJson(Value::Variant(2)), json({{"case", 2}}));
  EXPECT_EQ(ValueToJson(Value::Variant(1, Value::U8(3))), json({{"case", 1}, {"value", 3}}));
  EXPECT_EQ(ValueToJson(Value::Enum(4)), json({{"enum", 4}}));
  EXPECT_EQ(ValueToJson(Value::Flags({true, false})), json({true, false}));
  EXPECT_EQ(ValueToJson(Value::None()), json(nullptr));
  EXPECT_EQ(ValueToJson(Value::Some(Value::None())), json({{"some", nullptr}}));
  EXPECT_EQ(ValueToJson(Value::Ok()), json({{"ok", nullptr}}));
  EXPECT_EQ(ValueToJson(Value::Err(Value::String("e"))), json({{"err", "e"}}));
  EXPECT_EQ(ValueToJson(Value::Own(3)), json({{"own", 3}}));
  EXPECT_EQ(ValueToJson(Value::Borrow(4)), json({{"borrow", 4}}));
  // Invalid UTF-8 in a string is replaced, so dump() cannot throw.
  json bad =
      ValueToJson(Value::String("a\xff"
                                "b"));
  EXPECT_EQ(bad, json("a\xef\xbf\xbd"
                      "b"));
  EXPECT_NO_THROW(bad.dump());
}

TEST(RenderTest, EventToJsonCarriesEverything) {
  EventChain chain(FixedClock(1'700'000'000'123));
  chain.Append(GoldenPayload0(), "first");
  chain.Append(GoldenPayload1());
  std::vector<Event> events = chain.events();

  json e0 = EventToJson(events[0]);
  EXPECT_EQ(e0["hash"], kGoldenHash0);
  EXPECT_EQ(e0["parent"], nullptr);
  EXPECT_EQ(e0["type"], "theater:simple/runtime/log");
  EXPECT_EQ(e0["timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(e0["timestamp_ms"], 1'700'000'000'123u);
  EXPECT_EQ(e0["description"], "first");
  EXPECT_EQ(e0["payload_size"], 38u);
  EXPECT_EQ(e0["payload"], json::parse(R"({"kind": "host-call",
      "interface": "theater:simple/runtime", "function": "log",
      "input": ["hello"], "output": {"ok": []}})"));

  json e1 = EventToJson(events[1]);
  EXPECT_EQ(e1["parent"], kGoldenHash0);
  EXPECT_EQ(e1["description"], nullptr);
  EXPECT_EQ(e1["timestamp"], "2023-11-14T22:13:20.124Z");
  EXPECT_EQ(e1["payload"], json::parse(R"({"kind": "export-call",
      "function": "theater:simple/actor#init", "params": ["a1"], "result": {"ok": []},
      "new_state": {"size": 2, "bytes": "{}"}})"));
}

TEST(RenderTest, PayloadToJsonForEveryKind) {
  std::vector<uint8_t> big(kStateInlineLimit + 1, 'z');
  EXPECT_EQ(PayloadToJson(EncodePayload(HostCall{"i", "f", {}, CallOutcome::Error("denied")})),
            json::parse(R"({"kind": "host-call", "interface": "i", "function": "f",
                           "input": [], "output": {"error": "denied"}})"));
  EXPECT_EQ(PayloadToJson(EncodePayload(
                ExportCall{"f", {Value::U8(1)}, CallOutcome::Ok({}), StateRecord::None()})),
            json::parse(R"({"kind": "export-call", "function": "f", "params": [1],
                           "result": {"ok": []}, "new_state": null})"));
  EXPECT_EQ(PayloadToJson(EncodePayload(ExportCall{
                "f", {}, CallOutcome::Error("trap"), StateRecord::Of(std::vector<uint8_t>{0, 1})})),
            json::parse(R"({"kind": "export-call", "function": "f", "params": [],
                           "result": {"error": "trap"},
                           "new_state": {"size": 2, "bytes": {"hex": "0001"}}})"));
  EXPECT_EQ(
      PayloadToJson(EncodePayload(ExportCall{"f", {}, {}, StateRecord::Of(big)}))["new_state"],
      json({{"size", kStateInlineLimit + 1}, {"sha256", ToHex(Sha256(big))}}));
  EXPECT_EQ(PayloadToJson(EncodePayload(Lifecycle{"actor-ready", "ok"})),
            json::parse(R"({"kind": "lifecycle", "step": "actor-ready", "message": "ok"})"));
  EXPECT_EQ(PayloadToJson(EncodePayload(Log{"info", "hi"})),
            json::parse(R"({"kind": "log", "level": "info", "message": "hi"})"));
  json bad = PayloadToJson(std::vector<uint8_t>{0x09, 0xff});
  EXPECT_EQ(bad["kind"], "undecodable");
  EXPECT_EQ(bad["hex"], "09ff");
  EXPECT_THAT(bad["error"].get<std::string>(), HasSubstr("unknown payload kind 9"));
}

TEST(RenderTest, EventToLine) {
  EventChain chain(FixedClock(0));
  chain.Append(Lifecycle{"actor-ready", "actor is ready"});
  chain.Append(ExportCall{"theater:simple/actor#init",
                          {Value::String("id")},
                          CallOutcome::Ok({}),
                          StateRecord::Of(Bytes("{}"))});
  chain.Append(LogCall("hello"));
  chain.Append(ExportCall{"theater:simple/actor#init", {}, CallOutcome::Ok({Value::U8(3)}), {}});
  chain.Append(ExportCall{"theater:simple/actor#init", {}, CallOutcome::Error("trap"), {}});
  chain.Append(Log{"info", "line1\nline2\x1b[31m"}, "note");
  chain.Append("raw", {0xff});
  chain.Append(HostCall{"theater:simple/random",
                        "random-bytes",
                        {Value::U32(2)},
                        CallOutcome::Ok({Value::Ok(Value::Bytes({0, 1}))})});
  chain.Append(Log{"info", std::string(500, 'y')});
  std::vector<Event> e = chain.events();
  auto line = [&](size_t i) { return EventToLine(e[i], i); };
  auto prefix = [&](size_t i) { return "#" + std::to_string(i) + " " + ShortHex(e[i].hash) + " "; };
  EXPECT_EQ(line(0), prefix(0) + "theater-runtime actor-ready: actor is ready");
  EXPECT_EQ(line(1), prefix(1) + "wasm theater:simple/actor#init(\"id\") -> ok, state 2 B");
  EXPECT_EQ(line(2), prefix(2) + "theater:simple/runtime/log log(\"hello\") -> ok");
  EXPECT_EQ(line(3), prefix(3) + "wasm theater:simple/actor#init() -> ok 3, state none");
  EXPECT_EQ(line(4), prefix(4) + "wasm theater:simple/actor#init() -> error: trap, state none");
  EXPECT_EQ(line(5), prefix(5) + "theater:simple/runtime/log [info] line1\\nline2\\x1b[31m | note");
  EXPECT_EQ(line(6), prefix(6) + "raw <1 bytes, undecodable>");
  EXPECT_EQ(line(7),
            prefix(7) +
                "theater:simple/random/random-bytes random-bytes(2) -> ok {\"ok\":{\"hex\":"
                "\"0001\"}}");
  EXPECT_LE(line(8).size(), prefix(8).size() + 27 + 160 + 3) << "summary cut at 160 bytes + …";
  EXPECT_THAT(line(8), HasSubstr("…"));
}

TEST(RenderTest, LoggedTextIsTheLineOfEachKindOfLogAndNothingElse) {
  EventChain chain(FixedClock(0));
  chain.Append(LogCall("hello"));
  chain.Append(HostCall{"theater:simple/runtime",
                        "log",
                        {Value::String("warn"), Value::String("careful")},
                        CallOutcome::Ok({Value::Ok()})});
  chain.Append(HostCall{"theater:simple/runtime-ext",
                        "log-at",
                        {Value::Enum(4), Value::String("broken")},
                        CallOutcome::Ok({})});
  chain.Append(Log{"debug", "from the runtime"});
  chain.Append(HostCall{"wasi_snapshot_preview1",
                        "fd_write",
                        {Value::U32(1), Value::String("to stdout\n")},
                        CallOutcome::Ok({Value::U32(0), Value::U32(10)})});
  chain.Append(HostCall{"wasi_snapshot_preview1",
                        "fd_write",
                        {Value::U32(2), Value::String("to stderr")},
                        CallOutcome::Ok({Value::U32(0), Value::U32(9)})});
  // Not log lines: another descriptor, another function, another kind of event, a payload
  // that does not decode, a log call of a shape no handler records.
  chain.Append(HostCall{"wasi_snapshot_preview1",
                        "fd_write",
                        {Value::U32(5), Value::String("a file")},
                        CallOutcome::Ok({Value::U32(0), Value::U32(6)})});
  chain.Append(HostCall{"theater:simple/random", "random-bytes", {Value::U32(2)}, {}});
  chain.Append(Lifecycle{"actor-ready", "actor is ready"});
  chain.Append("theater:simple/runtime/log", {0xff});
  chain.Append(HostCall{"theater:simple/runtime", "log", {Value::U32(7)}, {}});
  std::vector<Event> e = chain.events();
  std::vector<std::optional<std::string>> lines;
  for (const Event& event : e) lines.push_back(LoggedText(event));
  EXPECT_EQ(lines[0], "hello");
  EXPECT_EQ(lines[1], "[warn] careful");
  EXPECT_EQ(lines[2], "[error] broken");
  EXPECT_EQ(lines[3], "[debug] from the runtime");
  EXPECT_EQ(lines[4], "to stdout");
  EXPECT_EQ(lines[5], "to stderr");
  for (size_t i = 6; i < lines.size(); ++i) EXPECT_EQ(lines[i], std::nullopt) << "event " << i;
}

}  // namespace
}  // namespace theater::chain

namespace theater::chain {
namespace {

TEST(EventChainMemoryLimitTest, DropsTheOldestAndStillVerifiesFromTheAnchor) {
  EventChain chain([] { return uint64_t{1}; });
  chain.SetMemoryLimit(4);
  std::vector<Hash> hashes;
  for (int i = 0; i < 10; ++i) {
    hashes.push_back(chain.Append(Lifecycle{"step", std::to_string(i)}));
  }
  EXPECT_EQ(chain.size(), 10u);
  std::vector<Event> held = chain.events();
  ASSERT_LE(held.size(), 4u);
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(chain.first_index() + held.size(), 10u);
  EXPECT_EQ(chain.head(), hashes.back());
  ASSERT_TRUE(chain.anchor().has_value());
  EXPECT_EQ(*chain.anchor(), hashes[chain.first_index() - 1]);
  EXPECT_EQ(held.front().parent, chain.anchor());
  EXPECT_TRUE(chain.Verify().ok());
  EXPECT_FALSE(chain.event(0).has_value()) << "dropped";
  ASSERT_TRUE(chain.event(9).has_value());
  EXPECT_EQ(chain.event(9)->hash, hashes[9]);
  // The tail alone does not verify as a whole chain, and a wrong anchor is named.
  EXPECT_FALSE(VerifyEvents(held).ok());
  Status wrong = VerifyEvents(held, hashes[0], chain.first_index());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("anchor"), std::string::npos) << wrong.ToString();
  EXPECT_TRUE(VerifyEvents(held, chain.anchor(), chain.first_index()).ok());
}

// The held events form a ring once the limit is reached: after many wrap-arounds, with payloads of
// varying size written into recycled buffers, every held event is the right one in the right
// order, and changing the limit (up or down) after wrapping keeps that true.
TEST(EventChainMemoryLimitTest, RingKeepsOrderAcrossWrapsAndLimitChanges) {
  EventChain chain([] { return uint64_t{1}; });
  chain.SetMemoryLimit(5);
  std::vector<Hash> hashes;
  auto append = [&](int i) {
    std::string message(static_cast<size_t>(i % 7) * 40, static_cast<char>('a' + i % 26));
    hashes.push_back(chain.AppendWith("theater-runtime", [&](std::vector<uint8_t>& out) {
      EXPECT_TRUE(out.empty());
      EncodePayloadTo(Lifecycle{"step", std::to_string(i) + message}, out);
    }));
  };
  auto expect_tail = [&](size_t held_count) {
    std::vector<Event> held = chain.events();
    ASSERT_EQ(held.size(), held_count);
    ASSERT_EQ(chain.first_index() + held.size(), hashes.size());
    for (size_t i = 0; i < held.size(); ++i) {
      const size_t index = chain.first_index() + i;
      EXPECT_EQ(held[i].hash, hashes[index]) << "held event " << i;
      ASSERT_TRUE(chain.event(index).has_value());
      EXPECT_EQ(chain.event(index)->hash, hashes[index]);
      Result<Payload> decoded = DecodePayload(held[i].payload);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      EXPECT_EQ(std::get<Lifecycle>(*decoded).message.substr(0, std::to_string(index).size()),
                std::to_string(index));
    }
    EXPECT_TRUE(chain.Verify().ok()) << chain.Verify().ToString();
    EXPECT_EQ(chain.head(), hashes.back());
  };
  for (int i = 0; i < 23; ++i) append(i);
  expect_tail(5);
  chain.SetMemoryLimit(8);  // grow after wrapping
  for (int i = 23; i < 26; ++i) append(i);
  expect_tail(8);
  for (int i = 26; i < 40; ++i) append(i);
  expect_tail(8);
  chain.SetMemoryLimit(3);  // shrink after wrapping
  expect_tail(3);
  EXPECT_EQ(*chain.anchor(), hashes[chain.first_index() - 1]);
  for (int i = 40; i < 45; ++i) append(i);
  expect_tail(3);
}

// The encoders that write straight from a call's values produce EncodePayload's bytes.
TEST(PayloadEncodingTest, DirectEncodersMatchEncodePayload) {
  std::vector<abi::Value> params{abi::Value::String("hello"), abi::Value::U32(7),
                                 abi::Value::Bytes({1, 2, 3})};
  StateRecord small = StateRecord::OfBytes(std::vector<uint8_t>{9, 8, 7});
  StateRecord large = StateRecord::OfBytes(std::vector<uint8_t>(kStateInlineLimit + 1, 5));
  std::string error = "trap: unreachable";
  std::vector<uint8_t> out;

  out = {0xee};  // they append
  EncodeExportCallTo("theater:simple/actor#init", params, {params, nullptr}, small, out);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 1, out.end()),
            EncodePayload(
                ExportCall{"theater:simple/actor#init", params, CallOutcome::Ok(params), small}));
  out.clear();
  EncodeExportCallTo("f", params, {params, nullptr}, large, out);
  EXPECT_EQ(out, EncodePayload(ExportCall{"f", params, CallOutcome::Ok(params), large}));
  out.clear();
  EncodeExportCallTo("f", {}, {{}, &error}, StateRecord::None(), out);
  EXPECT_EQ(out,
            EncodePayload(ExportCall{"f", {}, CallOutcome::Error(error), StateRecord::None()}));

  // A view of the state in place records it as the owning StateRecord does.
  const std::vector<uint8_t> small_state{9, 8, 7};
  const std::vector<uint8_t> large_state(kStateInlineLimit + 1, 5);
  for (const auto* state : {&small_state, &large_state}) {
    out.clear();
    EncodeExportCallTo("f", params, {params, nullptr},
                       StateRecordView::OfBytes(*state, Sha256(*state)), out);
    EXPECT_EQ(out, EncodePayload(ExportCall{"f", params, CallOutcome::Ok(params),
                                            StateRecord::OfBytes(*state)}));
  }

  out.clear();
  EncodeHostCallTo("theater:simple/runtime", "log", params, {params, nullptr}, out);
  EXPECT_EQ(out, EncodePayload(
                     HostCall{"theater:simple/runtime", "log", params, CallOutcome::Ok(params)}));
  out.clear();
  EncodeHostCallTo("i", "g", {}, CallOutcome::Error(error).view(), out);
  EXPECT_EQ(out, EncodePayload(HostCall{"i", "g", {}, CallOutcome::Error(error)}));
}

}  // namespace
// The limits an actor-load event names come back as written; a message without them (or with a
// malformed list) names none.
TEST(ActorBindingTest, TheLimitsOfAnActorLoadEventRoundTrip) {
  const RecordedLimits limits{64u << 20, 256u * 1024, 60000, 250};
  const std::string message = ActorLoadMessage("a1", "echo", "0.1.0", "ab12", limits);
  EXPECT_EQ(message,
            "actor a1 loads echo 0.1.0, component sha256:ab12, limits memory 67108864 B, stack "
            "262144 B, init 60000 ms, call 250 ms");
  std::optional<RecordedLimits> back = ParseRecordedLimits(message);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->memory_bytes, limits.memory_bytes);
  EXPECT_EQ(back->stack_bytes, limits.stack_bytes);
  EXPECT_EQ(back->init_deadline_ms, limits.init_deadline_ms);
  EXPECT_EQ(back->call_deadline_ms, limits.call_deadline_ms);
  EXPECT_FALSE(ParseRecordedLimits(ActorLoadMessage("a1", "echo", "0.1.0", "ab12")));
  EXPECT_FALSE(ParseRecordedLimits(message + " and more"));
  EXPECT_FALSE(ParseRecordedLimits("x, limits memory B, stack 1 B, init 1 ms, call 1 ms"));
  EXPECT_FALSE(ParseRecordedLimits("x, limits memory 99999999999999999999999 B"));
}

// An actor-load message read back: the id, a name with spaces, the module and the limits; the
// form before event #0 named its actor; a message naming no module.
TEST(ActorBindingTest, AnActorLoadMessageIsReadBack) {
  const std::string sha(64, 'c');
  std::optional<ActorLoad> load = ParseActorLoadMessage(
      ActorLoadMessage("a1", "my echo", "0.1.0", sha, RecordedLimits{1, 2, 3, 4}));
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->actor_id, "a1");
  EXPECT_EQ(load->name, "my echo");
  EXPECT_EQ(load->module_sha256, sha);
  ASSERT_TRUE(load->limits.has_value());
  EXPECT_EQ(load->limits->call_deadline_ms, 4u);
  std::optional<ActorLoad> old = ParseActorLoadMessage("loads echo 0.1.0, component sha256:" + sha);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->actor_id, "");
  EXPECT_EQ(old->name, "echo");
  EXPECT_FALSE(old->limits.has_value());
  EXPECT_FALSE(ParseActorLoadMessage("actor a1 loads echo 0.1.0, component sha256:abc"));
  EXPECT_EQ(ModuleNamedIn("component sha256:" + sha), sha);
  EXPECT_FALSE(ModuleNamedIn("component sha256:" + std::string(64, 'G')));
}

}  // namespace theater::chain
