// Theater: a WebAssembly actor runtime.
//
// Messaging end to end: real actors (tests/actors/messenger.c, bench_actor.c) on a real worker
// pool, talking through the runtime's router with the message-server handler — send, request
// (with timeouts, failures and asynchronous answers), channels between actors and with the
// embedder, mailbox overflow, ordering, and the chain records of it all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "testing/runtime_test_util.h"
#include "testing/stress_count.h"
#include "theater/builtins.h"
#include "theater/chain.h"

namespace theater {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using testing_util::StressCount;
using testing_util::WaitFor;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";
const std::string kCounter = std::string(THEATER_TEST_ACTOR_DIR) + "/bench_actor.wasm";
const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";

// The actors here declare the message-server handler (unless `extra` configures it) and timing;
// the probe, which imports nearly every handler, has the runtime add the rest (auto_handlers).
std::string Manifest(const std::string& component, const std::string& extra = "") {
  std::string manifest = "name = \"m\"\nversion = \"0.1.0\"\ncomponent = \"" + component + "\"\n";
  if (component == kProbe) manifest += "auto_handlers = true\n";
  manifest += extra;
  if (extra.find("type = \"message-server\"") == std::string::npos) {
    manifest += "\n[[handler]]\ntype = \"message-server\"\n";
  }
  return manifest + "\n[[handler]]\ntype = \"timing\"\n";
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}
std::string Text(const std::vector<uint8_t>& b) {
  return {b.begin(), b.end()};
}

class MessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = testing_util::NewTestHome("theater-msg");
    StartRuntime(chain::Durability::kNone);
  }
  void StartRuntime(chain::Durability durability) {
    runtime_.reset();
    RuntimeOptions options = testing_util::TestRuntimeOptions(home_);
    options.durability = durability;
    auto rt = TheaterRuntime::Create(options, BuiltinHandlers());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(rt).value();
  }
  void TearDown() override {
    if (runtime_) testing_util::ExpectEveryChainReplays(*runtime_);
    runtime_.reset();
    std::filesystem::remove_all(home_);
  }

  std::string Spawn(const std::string& manifest) {
    SpawnRequest request;
    request.manifest = manifest;
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  std::string Messenger(const std::string& extra = "") {
    return Spawn(Manifest(kMessenger, extra));
  }

  // Sends a command to a messenger as a request from the embedder; the reply, or "failed: ...".
  std::string Command(const std::string& id, const std::string& command) {
    Result<std::vector<uint8_t>> reply = runtime_->RequestMessage(id, Bytes(command), 20s);
    if (!reply.ok()) return "failed: " + reply.status().ToString();
    return Text(*reply);
  }
  std::future<std::string> CommandAsync(const std::string& id, const std::string& command,
                                        std::chrono::milliseconds timeout = 20s) {
    auto promise = std::make_shared<std::promise<std::string>>();
    auto future = promise->get_future();
    runtime_->RequestMessageAsync(
        id, Bytes(command), timeout, [promise](Result<std::vector<uint8_t>> r) {
          promise->set_value(r.ok() ? Text(*r) : "failed: " + r.status().ToString());
        });
    return future;
  }
  std::string Log(const std::string& id) { return Command(id, "log"); }
  std::string State(const std::string& id) {
    auto s = runtime_->State(id);
    return s.ok() && *s ? Text(**s) : "<none>";
  }
  // Whether the actor runs an operation now. Its phase moves on when the operation ends, before
  // the reply and any held outputs leave.
  bool Processing(const std::string& id) {
    Result<ActorPhase> phase = runtime_->Phase(id);
    return phase.ok() && *phase == ActorPhase::kProcessing;
  }

  std::filesystem::path home_;
  std::unique_ptr<TheaterRuntime> runtime_;
};

TEST_F(MessagingTest, PingPongBetweenTwoActors) {
  std::string a = Messenger(), b = Messenger();
  for (int i = 0; i < 50; ++i) {
    std::string n = std::to_string(i);
    ASSERT_EQ(Command(a, "request:" + b + ":echo:ping" + n), "ping" + n);
    ASSERT_EQ(Command(b, "request:" + a + ":echo:pong" + n), "pong" + n);
  }
  EXPECT_EQ(Command(a, "send:" + b + ":hello"), "ok");
  EXPECT_EQ(Command(b, "send:" + a + ":hi back"), "ok");
  EXPECT_TRUE(WaitFor([&] { return Log(b).find("|send:hello") != std::string::npos; }));
  EXPECT_TRUE(WaitFor([&] { return Log(a).find("|send:hi back") != std::string::npos; }));
}

// The output gate (docs/persistence.md): with strict durability a message an actor sends leaves
// only once the call that sent it is over and its events are durable; otherwise at once.
TEST_F(MessagingTest, InStrictDurabilityAMessageLeavesOnceItsCallIsDurable) {
  for (chain::Durability durability : {chain::Durability::kBatched, chain::Durability::kStrict}) {
    SCOPED_TRACE(std::string(DurabilityName(durability)));
    StartRuntime(durability);
    std::string a = Messenger(), b = Messenger();
    // A sends, then sleeps in the same call: long enough for the message to arrive meanwhile on a
    // busy machine too, unless the gate holds it.
    std::future<std::string> call = CommandAsync(a, "then-sleep:2000:send:" + b + ":gated");
    auto arrived = [&] { return State(b).find("|send:gated") != std::string::npos; };
    ASSERT_TRUE(WaitFor([&] { return Processing(a); }));
    // Seen arrived, then a seen still processing: it arrived during the call. (The reply is no
    // sign of the call's end: in strict durability it leaves with the held message, in either
    // order.)
    bool arrived_during_the_call = false;
    ASSERT_TRUE(WaitFor([&] {
      const bool seen = arrived();
      const bool running = Processing(a);
      arrived_during_the_call = seen && running;
      return arrived_during_the_call || !running;
    }));
    EXPECT_EQ(arrived_during_the_call, durability != chain::Durability::kStrict);
    EXPECT_EQ(call.get(), "ok");
    EXPECT_TRUE(WaitFor([&] { return State(b).find("|send:gated") != std::string::npos; }));
    // A target that does not exist is still refused at once.
    EXPECT_THAT(Command(a, "send:" + NewUuid() + ":lost"), ::testing::HasSubstr("error:"));
  }
}

TEST_F(MessagingTest, FanOutFromOneActorToAThousand) {
  std::string sender = Messenger();
  std::vector<std::string> receivers;
  std::string list;
  // A hundred under the sanitizers (StressCount).
  const int receiver_count = StressCount(1000);
  for (int i = 0; i < receiver_count; ++i) {
    receivers.push_back(Spawn(Manifest(kCounter)));
    list += (i ? "," : "") + receivers.back();
  }
  EXPECT_EQ(Command(sender, "fanout:" + list), std::to_string(receiver_count));
  for (const std::string& r : receivers) {
    ASSERT_TRUE(WaitFor([&] { return State(r) == "1"; })) << r << " has " << State(r);
  }
}

TEST_F(MessagingTest, MessagesFromOneSenderArriveInOrder) {
  std::string a = Messenger(), b = Messenger();
  EXPECT_EQ(Command(a, "burst:" + b + ":300"), "300");
  std::string expected = "log";
  for (int i = 0; i < 300; ++i) expected += "|send:" + std::to_string(i);
  EXPECT_TRUE(WaitFor([&] { return State(b) == expected; })) << State(b);
}

// A state over chain::kStateInlineLimit is recorded by its SHA-256 and size, and the digest
// follows the state as it changes.
TEST_F(MessagingTest, LargeStatesAreRecordedByADigestOfTheCurrentState) {
  std::string id = Messenger();
  auto last_export_state = [&]() -> std::optional<chain::StateRecord> {
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    if (!events.ok()) return std::nullopt;
    for (auto e = events->rbegin(); e != events->rend(); ++e) {
      Result<chain::Payload> payload = chain::DecodePayload(e->payload);
      auto* call = payload.ok() ? std::get_if<chain::ExportCall>(&*payload) : nullptr;
      if (call && call->function == "theater:simple/message-server-client#handle-send") {
        return call->new_state;
      }
    }
    return std::nullopt;
  };
  std::string expected = "log";
  for (const std::string& message : {std::string(1500, 'x'), std::string("small")}) {
    ASSERT_TRUE(runtime_->SendMessage(id, Bytes(message)).ok());
    expected += "|send:" + message;
    ASSERT_TRUE(WaitFor([&] { return State(id) == expected; }));
    std::optional<chain::StateRecord> recorded = last_export_state();
    ASSERT_TRUE(recorded.has_value());
    EXPECT_EQ(recorded->form, chain::StateRecord::Form::kDigest);
    EXPECT_EQ(recorded->size, expected.size());
    EXPECT_EQ(recorded->digest, chain::Sha256(Bytes(expected)));
  }
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

TEST_F(MessagingTest, SendErrorsAreDistinct) {
  std::string a = Messenger();
  EXPECT_THAT(Command(a, "send:not-a-uuid:x"), HasSubstr("invalid actor id"));
  EXPECT_THAT(Command(a, "send:" + NewUuid() + ":x"), HasSubstr("not-found"));
  // An actor that runs no message-server handler.
  std::string mute = Spawn("name = \"mute\"\nversion = \"0.1.0\"\ncomponent = \"" +
                           std::string(THEATER_BUILD_DIR) + "/examples/hello/hello.wasm\"\n");
  EXPECT_THAT(Command(a, "send:" + mute + ":x"), HasSubstr("does not receive messages"));
  // A stopped actor.
  std::string b = Messenger();
  ASSERT_TRUE(runtime_->Stop(b).ok());
  std::string stopped = Command(a, "send:" + b + ":x");
  EXPECT_THAT(stopped, HasSubstr("unavailable"));
  EXPECT_THAT(stopped, HasSubstr("has stopped"));
  // From the embedder, as codes.
  EXPECT_EQ(runtime_->SendMessage(NewUuid(), {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->SendMessage(b, {}).code(), StatusCode::kUnavailable);
  // An actor without handle-send.
  std::string probe = Spawn(Manifest(kProbe));
  Status no_export = runtime_->SendMessage(probe, {});
  EXPECT_EQ(no_export.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_export.message(), HasSubstr("does not export"));
}

TEST_F(MessagingTest, FullMailboxRefusesAtOnceAndLosesNothingQueued) {
  std::string a = Messenger();
  std::string b = Messenger("[limits]\nmailbox_capacity = 8\n");
  // b is busy for a while, so a's burst fills its mailbox. The burst must find b's call running
  // (its request taken from the mailbox), and take far less than the sleep.
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  std::string burst = Command(a, "burst:" + b + ":100");
  EXPECT_THAT(burst, StartsWith("8:"));  // exactly the capacity was queued
  EXPECT_THAT(burst, HasSubstr("resource-exhausted"));
  EXPECT_THAT(burst, HasSubstr("is full"));
  EXPECT_EQ(busy.get(), "ok");
  std::string expected = "log";
  for (int i = 0; i < 8; ++i) expected += "|send:" + std::to_string(i);
  EXPECT_TRUE(WaitFor([&] { return State(b) == expected; })) << State(b);
  // Once drained, it takes messages again.
  EXPECT_EQ(Command(a, "send:" + b + ":after"), "ok");
}

// The chain's records of what a drop policy let go (limits.mailbox_overflow).
int OverflowEvents(TheaterRuntime& runtime, const std::string& id, const std::string& policy) {
  Result<std::vector<chain::Event>> events = runtime.Events(id);
  if (!events.ok()) return -1;
  int count = 0;
  for (const chain::Event& e : *events) {
    Result<chain::Payload> payload = chain::DecodePayload(e.payload);
    if (!payload.ok()) continue;
    const auto* step = std::get_if<chain::Lifecycle>(&*payload);
    if (step && step->kind == "mailbox-overflow" && step->message.starts_with(policy + ":")) {
      ++count;
    }
  }
  return count;
}

// b's log once it holds `n` messages ("log|send:..."), or what it held when waiting gave up.
std::string ExpectedLog(unsigned first, unsigned count) {
  std::string log = "log";
  for (unsigned i = first; i < first + count; ++i) log += "|send:" + std::to_string(i);
  return log;
}

TEST_F(MessagingTest, DropNewestKeepsTheFirstAndRecordsEachDrop) {
  std::string a = Messenger();
  std::string b = Messenger("[limits]\nmailbox_capacity = 8\nmailbox_overflow = \"drop-newest\"\n");
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  // Every send succeeds: a drop is the target's, not the sender's error.
  EXPECT_EQ(Command(a, "burst:" + b + ":100"), "100");
  EXPECT_EQ(busy.get(), "ok");
  EXPECT_TRUE(WaitFor([&] { return State(b) == ExpectedLog(0, 8); })) << State(b);
  EXPECT_EQ(OverflowEvents(*runtime_, b, "drop-newest"), 92);
  Result<ActorMetrics> metrics = runtime_->Metrics(b);
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->mailbox_dropped, 92u);
  EXPECT_TRUE(runtime_->VerifyChain(b).ok());
}

TEST_F(MessagingTest, DropOldestKeepsTheLatestAndTellsADroppedRequester) {
  std::string a = Messenger();
  std::string b = Messenger("[limits]\nmailbox_capacity = 8\nmailbox_overflow = \"drop-oldest\"\n");
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  EXPECT_EQ(Command(a, "burst:" + b + ":8:x:0"), "8");  // full: x0 .. x7
  // A request queued behind them is pushed out by the next eight sends: its requester hears so
  // at once, not at its timeout.
  std::future<std::string> pushed_out = CommandAsync(b, "echo:never");
  EXPECT_EQ(Command(a, "burst:" + b + ":100"), "100");
  ASSERT_EQ(pushed_out.wait_for(5s), std::future_status::ready);
  const std::string refused = pushed_out.get();
  EXPECT_THAT(refused, HasSubstr("was full (8 operations), and its mailbox_overflow = "
                                 "\"drop-oldest\" dropped this call of "
                                 "theater:simple/message-server-client#handle-request"));
  EXPECT_EQ(busy.get(), "ok");
  EXPECT_TRUE(WaitFor([&] { return State(b) == ExpectedLog(92, 8); })) << State(b);
  // x0 .. x7, the request, and 0 .. 91.
  EXPECT_EQ(OverflowEvents(*runtime_, b, "drop-oldest"), 101);
  EXPECT_TRUE(runtime_->VerifyChain(b).ok());
}

TEST_F(MessagingTest, BlockSuspendsTheSenderUntilThereIsRoomAndLosesNothing) {
  std::string a = Messenger();
  std::string b = Messenger("[limits]\nmailbox_capacity = 4\nmailbox_overflow = \"block\"\n");
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  // a's burst fills b's mailbox and then waits, suspended, for each place that frees.
  std::future<std::string> burst = CommandAsync(a, "burst:" + b + ":40");
  ASSERT_EQ(burst.wait_for(300ms), std::future_status::timeout) << burst.get();
  // While a (and d) wait, another actor is spawned and answers: a waiting sender holds no
  // worker thread.
  std::string d = Messenger();
  std::future<std::string> also_waiting = CommandAsync(d, "burst:" + b + ":2:d:0");
  std::string c = Messenger();
  EXPECT_EQ(Command(c, "echo:free"), "free");
  EXPECT_EQ(burst.wait_for(0s), std::future_status::timeout) << "b is still asleep";
  EXPECT_EQ(busy.get(), "ok");
  EXPECT_EQ(burst.get(), "40");
  EXPECT_EQ(also_waiting.get(), "2");
  auto entries = [&] {
    const std::string log = State(b);
    size_t n = 0;
    for (size_t at = 0; (at = log.find("|send:", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  EXPECT_TRUE(WaitFor([&] { return entries() == 42; })) << State(b);
  // a's 40 in the order sent, d's two somewhere among them.
  std::string log = State(b);
  for (const std::string d_entry : {"|send:d0", "|send:d1"}) {
    const size_t at = log.find(d_entry);
    ASSERT_NE(at, std::string::npos) << log;
    log.erase(at, d_entry.size());
  }
  EXPECT_EQ(log, ExpectedLog(0, 40));
}

TEST_F(MessagingTest, ABlockedSenderGivesUpAtItsTimeoutWithAClearError) {
  std::string a = Messenger("[[handler]]\ntype = \"message-server\"\nrequest_timeout_ms = 300\n");
  std::string b = Messenger("[limits]\nmailbox_capacity = 2\nmailbox_overflow = \"block\"\n");
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  const std::string burst = Command(a, "burst:" + b + ":10");
  EXPECT_THAT(burst, StartsWith("2:"));
  EXPECT_THAT(burst, HasSubstr("waited 300 ms for room"));
  EXPECT_THAT(burst, HasSubstr("mailbox_overflow = \"block\""));
  // A request waits the same way, and gives up the same way.
  EXPECT_THAT(Command(a, "request:" + b + ":echo:x"), HasSubstr("waited 300 ms for room"));
  EXPECT_EQ(busy.get(), "ok");
}

TEST_F(MessagingTest, AnEmbeddersSendToABlockingMailboxIsAnsweredOnceThereIsRoom) {
  std::string a = Messenger();
  std::string b = Messenger("[limits]\nmailbox_capacity = 2\nmailbox_overflow = \"block\"\n");
  std::future<std::string> busy = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  EXPECT_EQ(Command(a, "burst:" + b + ":2"), "2");
  // The plain form never waits.
  Status refused = runtime_->SendMessage(b, Bytes("refused"));
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.ToString();
  std::promise<Status> sent;
  runtime_->SendMessageAsync(b, Bytes("waited"), 20s, [&](Status s) { sent.set_value(s); });
  std::future<Status> outcome = sent.get_future();
  EXPECT_EQ(outcome.wait_for(300ms), std::future_status::timeout);
  EXPECT_EQ(busy.get(), "ok");
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(outcome.get().ok());
  EXPECT_TRUE(WaitFor([&] { return State(b) == "log|send:0|send:1|send:waited"; })) << State(b);
  // And one that waits in vain hears why.
  std::future<std::string> busy_again = CommandAsync(b, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return Processing(b); }));
  EXPECT_EQ(Command(a, "burst:" + b + ":2"), "2");
  std::promise<Status> timed_out;
  runtime_->SendMessageAsync(b, Bytes("late"), 100ms, [&](Status s) { timed_out.set_value(s); });
  Status late = timed_out.get_future().get();
  EXPECT_EQ(late.code(), StatusCode::kDeadlineExceeded) << late.ToString();
  EXPECT_THAT(late.ToString(), HasSubstr("waited 100 ms for room"));
  EXPECT_EQ(busy_again.get(), "ok");
}

TEST_F(MessagingTest, RequestTimesOut) {
  std::string a = Messenger("[[handler]]\ntype = \"message-server\"\nrequest_timeout_ms = 200\n");
  std::string b = Messenger();
  auto start = std::chrono::steady_clock::now();
  std::string reply = Command(a, "request:" + b + ":defer");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(reply, HasSubstr("timed out after 200 ms"));
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 20s);  // the timeout answered it: nothing else ever would
  // The embedder's own timeout.
  Result<std::vector<uint8_t>> r = runtime_->RequestMessage(b, Bytes("defer"), 100ms);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(MessagingTest, TargetTrappingMidRequestReleasesTheRequester) {
  std::string a = Messenger(), b = Messenger();
  auto start = std::chrono::steady_clock::now();
  std::string reply = Command(a, "request:" + b + ":trap");
  // Well before the request's timeout (30 s by default), however busy the machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_THAT(reply, StartsWith("error:"));
  EXPECT_THAT(reply, HasSubstr("trap"));
  // b failed with its instance; requests to it now fail at once.
  EXPECT_TRUE(WaitFor([&] { return !runtime_->Phase(b).ok(); }));
  EXPECT_THAT(Command(a, "request:" + b + ":echo:x"), HasSubstr("has stopped"));
}

TEST_F(MessagingTest, AsynchronousAnswerFromALaterCall) {
  std::string a = Messenger(), b = Messenger();
  // The embedder's request stays open after handle-request returns none...
  std::future<std::string> pending = CommandAsync(b, "defer");
  std::string rid;
  ASSERT_TRUE(WaitFor([&] {
    rid = Command(b, "outstanding");
    return rid.size() == 36;
  })) << rid;
  EXPECT_EQ(pending.wait_for(50ms), std::future_status::timeout);
  // ...until a later call answers it.
  EXPECT_EQ(Command(b, "respond:" + rid + ":later"), "ok");
  EXPECT_EQ(pending.get(), "later");
  EXPECT_THAT(Command(b, "respond:" + rid + ":again"), HasSubstr("not outstanding"));
  EXPECT_EQ(Command(b, "outstanding"), "");

  // An actor's request, answered from a call another participant triggers.
  std::future<std::string> from_a = CommandAsync(a, "request:" + b + ":defer");
  ASSERT_TRUE(WaitFor([&] { return Command(b, "outstanding").size() == 36; }));
  EXPECT_EQ(Command(b, "answer-all:for a"), "1");
  EXPECT_EQ(from_a.get(), "for a");

  // Cancelled: the requester gets an error.
  std::future<std::string> cancelled = CommandAsync(a, "request:" + b + ":defer");
  ASSERT_TRUE(WaitFor([&] {
    rid = Command(b, "outstanding");
    return rid.size() == 36;
  }));
  EXPECT_EQ(Command(b, "cancel:" + rid), "ok");
  EXPECT_THAT(cancelled.get(), HasSubstr("was cancelled by actor " + b));
  EXPECT_THAT(Command(b, "cancel:" + rid), HasSubstr("not outstanding"));
}

TEST_F(MessagingTest, StoppingWithOutstandingRequestsFailsThem) {
  std::string b = Messenger();
  std::future<std::string> pending = CommandAsync(b, "defer");
  ASSERT_TRUE(WaitFor([&] { return Command(b, "outstanding").size() == 36; }));
  ASSERT_TRUE(runtime_->Stop(b).ok());
  EXPECT_THAT(pending.get(), HasSubstr("stopped before answering"));
}

TEST_F(MessagingTest, ActorsRequestingEachOtherTimeOutWithoutStallingThePool) {
  // The timeout is what ends the wait: long enough that the round trips below finish before it
  // on a busy machine too.
  std::string timeout = "[[handler]]\ntype = \"message-server\"\nrequest_timeout_ms = 5000\n";
  std::string a = Messenger(timeout), b = Messenger(timeout), c = Messenger();
  // a waits for b while b waits for a: each request queues behind the other's running call.
  std::future<std::string> ab = CommandAsync(a, "after:50:request:" + b + ":echo:x");
  std::future<std::string> ba = CommandAsync(b, "after:50:request:" + a + ":echo:y");
  ASSERT_TRUE(WaitFor([&] { return Processing(a) && Processing(b); }));
  // Meanwhile the two workers serve everyone else: round trips to c finish while a and b still
  // wait (they hold no worker; if they held both, not one round trip would finish before the
  // timeout).
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Command(c, "echo:" + std::to_string(i)), std::to_string(i));
  }
  EXPECT_EQ(ab.wait_for(0ms), std::future_status::timeout);
  EXPECT_EQ(ba.wait_for(0ms), std::future_status::timeout);
  std::string r1 = ab.get(), r2 = ba.get();
  // Each waits behind the other's running call, so both time out (unless one of them is answered
  // in the moment between the other's timeout and its own).
  EXPECT_THAT(r1 + " / " + r2, HasSubstr("timed out after 5000 ms"));
  EXPECT_TRUE((r1 == "x" || r1.find("timed out") != std::string::npos) &&
              (r2 == "y" || r2.find("timed out") != std::string::npos))
      << r1 << " / " << r2;
  // And both work again afterwards.
  EXPECT_EQ(Command(a, "request:" + b + ":echo:z"), "z");
}

TEST_F(MessagingTest, ChannelsBetweenActorsInBothDirections) {
  std::string a = Messenger(), b = Messenger();
  std::string ch = Command(a, "open:" + b + ":hello");
  ASSERT_THAT(ch, StartsWith("ch_"));
  EXPECT_THAT(Log(b), HasSubstr("|open:" + ch + ":hello"));
  EXPECT_EQ(Command(a, "chsend:" + ch + ":a to b"), "ok");
  EXPECT_EQ(Command(b, "chsend:" + ch + ":b to a"), "ok");
  EXPECT_TRUE(
      WaitFor([&] { return Log(b).find("|chmsg:" + ch + ":a to b") != std::string::npos; }));
  EXPECT_TRUE(
      WaitFor([&] { return Log(a).find("|chmsg:" + ch + ":b to a") != std::string::npos; }));
  // Echo through the channel: b answers on it from its callback.
  EXPECT_EQ(Command(a, "chsend:" + ch + ":echo:round"), "ok");
  EXPECT_TRUE(
      WaitFor([&] { return Log(a).find("|chmsg:" + ch + ":re:round") != std::string::npos; }));
  // b closes; a hears it; the channel is gone for both.
  EXPECT_EQ(Command(b, "chclose:" + ch), "ok");
  EXPECT_TRUE(WaitFor([&] { return Log(a).find("|chclose:" + ch) != std::string::npos; }));
  EXPECT_THAT(Command(a, "chsend:" + ch + ":late"), HasSubstr("not open"));
  EXPECT_THAT(Command(b, "chclose:" + ch), HasSubstr("not open"));

  // The accept message reaches the opener as the channel's first message.
  std::string ch2 = Command(a, "open:" + b + ":accept:welcome");
  ASSERT_THAT(ch2, StartsWith("ch_"));
  EXPECT_TRUE(
      WaitFor([&] { return Log(a).find("|chmsg:" + ch2 + ":welcome") != std::string::npos; }));
  // A third actor is not a participant.
  std::string c = Messenger();
  EXPECT_THAT(Command(c, "chsend:" + ch2 + ":intrude"), HasSubstr("not a participant"));
  // Stopping a participant closes the channel for the other.
  ASSERT_TRUE(runtime_->Stop(b).ok());
  EXPECT_TRUE(WaitFor([&] { return Log(a).find("|chclose:" + ch2) != std::string::npos; }));
}

TEST_F(MessagingTest, ChannelRejectedOrTargetTrapping) {
  std::string a = Messenger(), b = Messenger();
  std::string rejected = Command(a, "open:" + b + ":reject:not today");
  EXPECT_THAT(rejected, HasSubstr("rejected by " + b + ": not today"));
  std::string trapped = Command(a, "open:" + b + ":trap");
  EXPECT_THAT(trapped, StartsWith("error:"));
  EXPECT_THAT(trapped, HasSubstr("trap"));
  EXPECT_THAT(Command(a, "open:" + a + ":x"), HasSubstr("to itself"));
}

TEST_F(MessagingTest, ChannelWithTheEmbedderInBothDirections) {
  std::string b = Messenger();
  struct Heard {
    std::mutex mu;
    std::vector<std::string> messages;
    int closes = 0;
  };
  auto heard = std::make_shared<Heard>();
  ChannelListener listener;
  listener.on_message = [heard](std::string_view, std::vector<uint8_t> m) {
    std::lock_guard<std::mutex> lock(heard->mu);
    heard->messages.push_back(Text(m));
  };
  listener.on_close = [heard](std::string_view) {
    std::lock_guard<std::mutex> lock(heard->mu);
    ++heard->closes;
  };
  Result<ExternalChannel> opened = runtime_->OpenChannel(b, Bytes("accept:hi embedder"), listener);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const std::string ch = opened->channel;
  ASSERT_TRUE(opened->accept_message.has_value());
  EXPECT_EQ(Text(*opened->accept_message), "hi embedder");
  EXPECT_THAT(Log(b), HasSubstr("|open:" + ch + ":accept:hi embedder"));

  ASSERT_TRUE(runtime_->SendOnChannel(ch, Bytes("echo:one")).ok());
  EXPECT_EQ(Command(b, "chsend:" + ch + ":two"), "ok");
  auto messages = [&] {
    std::lock_guard<std::mutex> lock(heard->mu);
    return heard->messages;
  };
  EXPECT_TRUE(WaitFor([&] { return messages().size() == 2; }));
  EXPECT_THAT(messages(), ::testing::UnorderedElementsAre("re:one", "two"));

  // The actor closes; the embedder hears it and can no longer send.
  EXPECT_EQ(Command(b, "chclose:" + ch), "ok");
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(heard->mu);
    return heard->closes == 1;
  }));
  EXPECT_EQ(runtime_->SendOnChannel(ch, Bytes("late")).code(), StatusCode::kNotFound);

  // The embedder closes a second channel; the actor hears it.
  Result<ExternalChannel> second = runtime_->OpenChannel(b, Bytes("again"), listener);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(runtime_->CloseChannel(second->channel).ok());
  EXPECT_TRUE(
      WaitFor([&] { return Log(b).find("|chclose:" + second->channel) != std::string::npos; }));
  EXPECT_EQ(runtime_->CloseChannel(second->channel).code(), StatusCode::kNotFound);

  // Refusal, as a status.
  Result<ExternalChannel> refused = runtime_->OpenChannel(b, Bytes("reject:go away"), listener);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("go away"));
}

TEST_F(MessagingTest, MessagesAreRecordedInBothChains) {
  std::string a = Messenger(), b = Messenger();
  ASSERT_EQ(Command(a, "send:" + b + ":recorded"), "ok");
  ASSERT_TRUE(WaitFor([&] { return Log(b).find("|send:recorded") != std::string::npos; }));
  // An event of `type` whose payload holds both needles.
  auto has_event = [&](const std::string& id, const std::string& type, const std::string& what,
                       const std::string& needle) {
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    if (!events.ok()) return false;
    for (const chain::Event& e : *events) {
      std::string payload(e.payload.begin(), e.payload.end());
      if (e.type == type && payload.find(what) != std::string::npos &&
          payload.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has_event(a, "theater:simple/message-server-host/send", b, "recorded"));
  EXPECT_TRUE(has_event(b, "wasm", "message-server-client#handle-send", "recorded"));
  EXPECT_TRUE(runtime_->VerifyChain(a).ok());
  EXPECT_TRUE(runtime_->VerifyChain(b).ok());
}

}  // namespace
}  // namespace theater
