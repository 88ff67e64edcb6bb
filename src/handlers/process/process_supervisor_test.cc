// Theater: a WebAssembly actor runtime.
//
// The process supervisor without wasm: real child processes (sh, cat, sleep, head) watched by a
// real ProcessSupervisor, its events collected by a test sink that can hold acknowledgements back
// like a slow actor. Output modes (partial lines, long lines, invalid JSON, chunk sizes), stderr
// apart from stdout, stdin, timeouts, signals, kills, status, flow control under a flood, exits
// with stragglers or escaped descendants, shutdown killing process groups; and the handler's
// config parsing.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "common/io_loop_threads.h"
#include "handlers/process/process_config.h"
#include "handlers/support/process_supervisor.h"
#include "testing/process_state.h"
#include "testing/wait_for.h"

namespace theater::handlers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Kind = ProcessEvent::Kind;
using ::theater::testing_util::WaitFor;

// A sink that records events (or only counts bytes) and acknowledges them at once, or holds the
// acknowledgements back until Release() — an actor that does not keep up.
class Collector {
 public:
  ProcessSupervisor::Sink Sink() {
    return [this](const ProcessEvent& e, std::function<void()> ack) {
      std::unique_lock<std::mutex> lock(mu_);
      if (e.kind != Kind::kExit) {
        bytes_[e.id] += e.data.size();
        held_bytes_ += hold_ ? e.data.size() : 0;
        max_piece_ = std::max(max_piece_, e.data.size());
      }
      if (count_only_ && e.kind != Kind::kExit) {
        ProcessEvent light = e;
        light.data.clear();
        events_.push_back(std::move(light));
      } else {
        events_.push_back(e);
      }
      if (e.kind == Kind::kExit && !bytes_.count(e.id)) bytes_[e.id] = 0;
      cv_.notify_all();
      if (hold_) {
        held_.push_back(std::move(ack));
        return ProcessSupervisor::Delivery::kAccepted;
      }
      lock.unlock();
      ack();
      return ProcessSupervisor::Delivery::kAccepted;
    };
  }
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  void CountOnly() { count_only_ = true; }
  // Acknowledges everything held.
  void Release() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
      held_bytes_ = 0;
    }
    for (auto& ack : held) ack();
  }
  // Catches up a little at a time: acknowledges what is held every millisecond until `id` exits
  // (or `timeout` passes), then stops holding. True when it exited.
  bool DrainUntilExit(uint64_t id, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!WaitExit(id, 1ms) && std::chrono::steady_clock::now() < until) {
      Release();
      std::this_thread::sleep_for(1ms);
    }
    Hold(false);
    Release();
    return WaitExit(id).has_value();
  }
  uint64_t held_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_bytes_;
  }
  size_t held_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // Waits for the exit of `id`; returns its event.
  std::optional<ProcessEvent> WaitExit(uint64_t id, std::chrono::milliseconds timeout = 30s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<ProcessEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const ProcessEvent& e : events_) {
        if (e.id == id && e.kind == Kind::kExit) found = e;
      }
      return found.has_value();
    });
    return found;
  }
  // Waits until `pred(events)` holds.
  bool WaitUntil(const std::function<bool(const std::vector<ProcessEvent>&)>& pred,
                 std::chrono::milliseconds timeout = 30s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
  }
  // The pieces of one stream of `id`, as strings.
  std::vector<std::string> Pieces(uint64_t id, Kind kind) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const ProcessEvent& e : events_) {
      if (e.id == id && e.kind == kind) out.emplace_back(e.data.begin(), e.data.end());
    }
    return out;
  }
  std::string Joined(uint64_t id, Kind kind) {
    std::string out;
    for (const std::string& p : Pieces(id, kind)) out += p;
    return out;
  }
  // The kinds of `id`'s events in order.
  std::vector<Kind> Kinds(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Kind> out;
    for (const ProcessEvent& e : events_) {
      if (e.id == id) out.push_back(e.kind);
    }
    return out;
  }
  uint64_t bytes(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_[id];
  }
  size_t max_piece() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_piece_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ProcessEvent> events_;
  std::vector<std::function<void()>> held_;
  std::map<uint64_t, uint64_t> bytes_;
  uint64_t held_bytes_ = 0;
  size_t max_piece_ = 0;
  bool hold_ = false;
  std::atomic<bool> count_only_{false};
};

ProcessSpec Shell(const std::string& script, OutputMode mode = OutputMode::kRaw,
                  uint32_t buffer = 4096) {
  ProcessSpec spec;
  spec.program = "sh";
  spec.args = {"-c", script};
  spec.buffer_size = buffer;
  spec.stdout_mode = mode;
  spec.stderr_mode = mode;
  return spec;
}

bool Alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

using ::theater::testing_util::GroupAlive;

// GroupAlive turning false (SIGKILL takes effect when the killed process next runs, which on a
// busy machine may take a while).
bool GroupGone(pid_t pgid) {
  return WaitFor([&] { return !GroupAlive(pgid); });
}

class ProcessSupervisorTest : public ::testing::Test {
 protected:
  std::unique_ptr<ProcessSupervisor> Make(ProcessSupervisor::Options options = {}) {
    return std::make_unique<ProcessSupervisor>(loop_.context(), options, collector_.Sink());
  }
  uint64_t Spawn(ProcessSupervisor& sup, const ProcessSpec& spec) {
    Result<uint64_t> id = sup.Spawn(spec);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  IoLoopThreads loop_{1};  // declared first: outlives every supervisor of the test
  Collector collector_;
};

TEST_F(ProcessSupervisorTest, RawModeDeliversEverythingInPiecesThenTheExit) {
  auto sup = Make();
  uint64_t id = Spawn(*sup, Shell("printf 'hello world'; exit 3", OutputMode::kRaw, 4));
  auto exit = collector_.WaitExit(id);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_FALSE(exit->timed_out);
  EXPECT_EQ(collector_.Joined(id, Kind::kStdout), "hello world");
  for (const std::string& piece : collector_.Pieces(id, Kind::kStdout)) {
    EXPECT_LE(piece.size(), 4u);
    EXPECT_FALSE(piece.empty());
  }
  std::vector<Kind> kinds = collector_.Kinds(id);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.back(), Kind::kExit);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), Kind::kExit), 1);
  EXPECT_EQ(sup->active(), 0u);
}

TEST_F(ProcessSupervisorTest, LineModeStripsTerminatorsKeepsEmptyLinesAndThePartialLastLine) {
  auto sup = Make();
  uint64_t id = Spawn(*sup, Shell("printf 'a\\nbb\\r\\n\\nccc'", OutputMode::kLineByLine));
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout), ElementsAre("a", "bb", "", "ccc"));
}

TEST_F(ProcessSupervisorTest, LineModeCutsLongLinesAtBufferSizeWithoutEmptyPieces) {
  auto sup = Make();
  uint64_t a = Spawn(*sup, Shell("printf 'abcdefghij\\nxy\\n'", OutputMode::kLineByLine, 4));
  uint64_t b = Spawn(*sup, Shell("printf 'abcdefgh\\nz\\n'", OutputMode::kLineByLine, 4));
  ASSERT_TRUE(collector_.WaitExit(a));
  ASSERT_TRUE(collector_.WaitExit(b));
  EXPECT_THAT(collector_.Pieces(a, Kind::kStdout), ElementsAre("abcd", "efgh", "ij", "xy"));
  EXPECT_THAT(collector_.Pieces(b, Kind::kStdout), ElementsAre("abcd", "efgh", "z"));
}

TEST_F(ProcessSupervisorTest, JsonModeDeliversOnlyCompleteValuesThatFit) {
  auto sup = Make();
  uint64_t id = Spawn(*sup, Shell("printf '{\"a\":1}\\nnot json\\n[1,2]\\n  \"s\"  \\n{\"x\":\\n"
                                  "{\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\\n\\n7'",
                                  OutputMode::kJson, 16));
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout),
              ElementsAre("{\"a\":1}", "[1,2]", "\"s\"", "7"));
}

TEST_F(ProcessSupervisorTest, ChunkedModeUsesChunkSizeAndAShorterLastPiece) {
  auto sup = Make();
  ProcessSpec spec = Shell("printf 'abcdefghij'", OutputMode::kChunked, 8);
  spec.chunk_size = 4;
  uint64_t id = Spawn(*sup, spec);
  ProcessSpec whole = Shell("printf 'abcdefghij'", OutputMode::kChunked, 5);  // chunk: buffer
  uint64_t id2 = Spawn(*sup, whole);
  ASSERT_TRUE(collector_.WaitExit(id));
  ASSERT_TRUE(collector_.WaitExit(id2));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout), ElementsAre("abcd", "efgh", "ij"));
  EXPECT_THAT(collector_.Pieces(id2, Kind::kStdout), ElementsAre("abcde", "fghij"));
}

TEST_F(ProcessSupervisorTest, StderrIsSeparateWithItsOwnMode) {
  auto sup = Make();
  ProcessSpec spec = Shell("printf 'out1\\nout2\\n'; printf 'e1\\ne2\\n' >&2");
  spec.stdout_mode = OutputMode::kLineByLine;
  spec.stderr_mode = OutputMode::kChunked;
  spec.chunk_size = 3;
  uint64_t id = Spawn(*sup, spec);
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout), ElementsAre("out1", "out2"));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStderr), ElementsAre("e1\n", "e2\n"));
}

TEST_F(ProcessSupervisorTest, StdinRoundTripAndEndOfFile) {
  auto sup = Make();
  ProcessSpec spec;
  spec.program = "cat";
  spec.stdout_mode = OutputMode::kLineByLine;
  uint64_t id = Spawn(*sup, spec);
  std::string msg = "ping\npong\n";
  Result<uint32_t> n =
      sup->WriteStdin(id, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, msg.size());
  EXPECT_TRUE(collector_.WaitUntil([&](const auto& events) {
    return std::count_if(events.begin(), events.end(),
                         [&](const ProcessEvent& e) { return e.kind == Kind::kStdout; }) == 2;
  }));
  EXPECT_TRUE(sup->GetStatus(id)->running);
  ASSERT_TRUE(sup->WriteStdin(id, {}).ok());  // end of file: cat exits
  auto exit = collector_.WaitExit(id);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout), ElementsAre("ping", "pong"));
  Result<uint32_t> after = sup->WriteStdin(id, {reinterpret_cast<const uint8_t*>("x"), 1});
  EXPECT_EQ(after.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ProcessSupervisorTest, StdinClosedByTheProcessIsAnErrorNotASignal) {
  auto sup = Make();
  ProcessSpec spec = Shell("exec 0<&-; echo closed; sleep 30");
  uint64_t id = Spawn(*sup, spec);
  // Written only once the shell has closed its standard input.
  ASSERT_TRUE(WaitFor([&] { return collector_.Joined(id, Kind::kStdout) == "closed\n"; }));
  Result<uint32_t> n = sup->WriteStdin(id, {reinterpret_cast<const uint8_t*>("x"), 1});
  EXPECT_EQ(n.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(n.status().ToString(), HasSubstr("closed its standard input"));
  ASSERT_TRUE(sup->Kill(id).ok());
  EXPECT_TRUE(collector_.WaitExit(id));
}

TEST_F(ProcessSupervisorTest, FullStdinPipeWritesWhatFitsWithoutBlocking) {
  auto sup = Make();
  uint64_t id = Spawn(*sup, Shell("sleep 30"));  // never reads
  std::vector<uint8_t> big(1 << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  Result<uint32_t> n = sup->WriteStdin(id, big);
  ASSERT_TRUE(n.ok());
  EXPECT_LT(*n, big.size());
  EXPECT_GT(*n, 0u);
  Result<uint32_t> again = sup->WriteStdin(id, big);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  // A blocking write would wait for the sleep to end (30 s): anything well short of that is not
  // one, however busy the machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  ASSERT_TRUE(sup->Kill(id).ok());
  EXPECT_TRUE(collector_.WaitExit(id));
}

TEST_F(ProcessSupervisorTest, ExecutionTimeoutKillsTheGroupAndIsReported) {
  auto sup = Make();
  ProcessSpec spec = Shell("sleep 30 & sleep 30");
  spec.timeout = 200ms;
  uint64_t id = Spawn(*sup, spec);
  pid_t pid = sup->GetStatus(id)->pid;
  // Well before the sleeps would end by themselves (30 s).
  auto exit = collector_.WaitExit(id, 20s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, -1);
  EXPECT_TRUE(exit->timed_out);
  Result<ProcessInfo> info = sup->GetStatus(id);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->exit_code, -1);
  EXPECT_EQ(info->term_signal, SIGKILL);
  EXPECT_TRUE(info->timed_out);
  EXPECT_FALSE(Alive(pid));
  EXPECT_TRUE(GroupGone(pid));  // nothing left in the group
}

TEST_F(ProcessSupervisorTest, SignalAndKillAndTheirErrors) {
  auto sup = Make();
  uint64_t term = Spawn(*sup, Shell("exec sleep 30"));
  uint64_t killed = Spawn(*sup, Shell("exec sleep 30"));
  EXPECT_EQ(sup->Signal(term, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sup->Signal(term, 99999).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sup->Signal(12345, SIGTERM).code(), StatusCode::kNotFound);
  EXPECT_EQ(sup->Kill(12345).code(), StatusCode::kNotFound);
  EXPECT_EQ(sup->GetStatus(12345).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(sup->WriteStdin(12345, {}).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(sup->Signal(term, SIGTERM).ok());
  ASSERT_TRUE(sup->Kill(killed).ok());
  auto e1 = collector_.WaitExit(term);
  auto e2 = collector_.WaitExit(killed);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->exit_code, -1);
  EXPECT_EQ(e2->exit_code, -1);
  EXPECT_EQ(sup->GetStatus(term)->term_signal, SIGTERM);
  EXPECT_EQ(sup->GetStatus(killed)->term_signal, SIGKILL);
  EXPECT_FALSE(sup->GetStatus(term)->timed_out);
  EXPECT_EQ(sup->Kill(killed).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sup->Signal(term, SIGTERM).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ProcessSupervisorTest, StatusTellsRunningFromExited) {
  auto sup = Make();
  uint64_t id = Spawn(*sup, Shell("read line; exit 7"));
  Result<ProcessInfo> running = sup->GetStatus(id);
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->running);
  EXPECT_FALSE(running->exit_code);
  EXPECT_GT(running->pid, 0);
  EXPECT_TRUE(Alive(running->pid));
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_NEAR(static_cast<double>(running->start_time_ms), static_cast<double>(now_ms), 5000);
  EXPECT_EQ(sup->active(), 1u);
  ASSERT_TRUE(sup->WriteStdin(id, {reinterpret_cast<const uint8_t*>("go\n"), 3}).ok());
  ASSERT_TRUE(collector_.WaitExit(id));
  Result<ProcessInfo> done = sup->GetStatus(id);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->running);
  EXPECT_EQ(done->exit_code, 7);
  EXPECT_EQ(sup->active(), 0u);
}

TEST_F(ProcessSupervisorTest, SlowConsumerBlocksTheProcessAndBoundsMemory) {
  ProcessSupervisor::Options options;
  options.max_output_buffer = 64 * 1024;
  auto sup = Make(options);
  collector_.Hold(true);
  collector_.CountOnly();
  uint64_t id = Spawn(*sup, Shell("head -c 1000000 /dev/zero", OutputMode::kRaw, 8192));
  // The consumer takes nothing: the host holds at most the limit, and the process waits. Once the
  // host's buffer is full (reads fill exactly the room left), nothing more may come in.
  ASSERT_TRUE(WaitFor(
      [&] { return sup->GetStatus(id)->peak_buffered_bytes >= options.max_output_buffer; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_LE(collector_.held_bytes(), options.max_output_buffer);
  EXPECT_TRUE(sup->GetStatus(id)->running);
  EXPECT_LE(sup->GetStatus(id)->peak_buffered_bytes, options.max_output_buffer);
  // Catching up, a little at a time, delivers everything.
  ASSERT_TRUE(collector_.DrainUntilExit(id, 20s));
  EXPECT_EQ(collector_.bytes(id), 1000000u);
  EXPECT_LE(sup->GetStatus(id)->peak_buffered_bytes, options.max_output_buffer);
  EXPECT_LE(collector_.max_piece(), 8192u);
}

TEST_F(ProcessSupervisorTest, AnExitedProcessWithUnreadOutputWaitsForTheConsumerWithoutSpinning) {
  ProcessSupervisor::Options options;
  options.max_output_buffer = 8192;
  options.exit_grace = 100ms;  // a paused pipe must not count as idle
  auto sup = Make(options);
  collector_.Hold(true);
  collector_.CountOnly();
  // 30 KB fit in the pipe: the process exits at once while the host holds only 8 KB.
  uint64_t id = Spawn(*sup, Shell("head -c 30000 /dev/zero", OutputMode::kRaw, 1024));
  auto cpu = [] {
    rusage u;
    ::getrusage(RUSAGE_SELF, &u);
    return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  // Paused: the process reaped, the host's buffer full.
  ASSERT_TRUE(WaitFor([&] {
    Result<ProcessInfo> info = sup->GetStatus(id);
    return !info->running && info->peak_buffered_bytes >= options.max_output_buffer;
  }));
  // No busy loop while paused. The figure is this process's own CPU time, which other work on
  // the machine cannot add to (it can only take CPU away, so a loop would show less, never an idle
  // wait more); over a second, a spinning thread would show far more than the bound even with a
  // fraction of a core.
  auto cpu_before = cpu();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpu() - cpu_before, 100ms);
  EXPECT_FALSE(sup->GetStatus(id)->running);
  EXPECT_FALSE(collector_.WaitExit(id, 1ms));  // the exit waits behind the output
  ASSERT_TRUE(collector_.DrainUntilExit(id, 30s));
  EXPECT_EQ(collector_.bytes(id), 30000u);
}

TEST_F(ProcessSupervisorTest, InFlightWindowIsBounded) {
  ProcessSupervisor::Options options;
  options.max_in_flight = 3;
  auto sup = Make(options);
  collector_.Hold(true);
  uint64_t id =
      Spawn(*sup, Shell("for i in 1 2 3 4 5 6 7 8; do echo $i; done", OutputMode::kLineByLine));
  // Three are delivered; then no more come while they are unacknowledged.
  ASSERT_TRUE(WaitFor([&] { return collector_.held_count() >= 3; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(collector_.held_count(), 3u);
  collector_.Hold(false);
  collector_.Release();
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_THAT(collector_.Pieces(id, Kind::kStdout),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8"));
}

TEST_F(ProcessSupervisorTest, ASinkThatAsksToRetryGetsTheSameEventsInOrderLater) {
  // A sink refusing every other offer (a full mailbox): nothing is lost or reordered.
  std::mutex mu;
  std::vector<std::string> got;
  int offers = 0;
  std::atomic<bool> exited{false};
  IoLoopThreads loop(1);
  ProcessSupervisor sup(loop.context(), {}, [&](const ProcessEvent& e, std::function<void()> ack) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (++offers % 2 == 1) return ProcessSupervisor::Delivery::kRetry;
      if (e.kind == Kind::kExit) {
        exited = true;
      } else {
        got.emplace_back(e.data.begin(), e.data.end());
      }
    }
    ack();
    return ProcessSupervisor::Delivery::kAccepted;
  });
  Result<uint64_t> id =
      sup.Spawn(Shell("for i in 1 2 3 4 5; do echo $i; done", OutputMode::kLineByLine));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitFor([&] { return exited.load(); }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(got, ElementsAre("1", "2", "3", "4", "5"));
}

TEST_F(ProcessSupervisorTest, DroppedEventsFreeTheBufferSoTheProcessFinishes) {
  ProcessSupervisor::Options options;
  options.max_output_buffer = 8192;
  std::atomic<bool> exited{false};
  IoLoopThreads loop(1);
  ProcessSupervisor sup(loop.context(), options, [&](const ProcessEvent& e, std::function<void()>) {
    if (e.kind == Kind::kExit) exited = true;
    return ProcessSupervisor::Delivery::kDropped;  // e.g. no handle-stdout export
  });
  ASSERT_TRUE(sup.Spawn(Shell("head -c 1000000 /dev/zero", OutputMode::kRaw, 1024)).ok());
  EXPECT_TRUE(WaitFor([&] { return exited.load(); }));
}

TEST_F(ProcessSupervisorTest, FloodOfOutputIsFastAndBounded) {
  ProcessSupervisor::Options options;
  options.max_output_buffer = 1 << 20;
  auto sup = Make(options);
  collector_.CountOnly();
  auto start = std::chrono::steady_clock::now();
  uint64_t id = Spawn(*sup, Shell("head -c 50000000 /dev/zero", OutputMode::kRaw, 65536));
  ASSERT_TRUE(collector_.WaitExit(id, 120s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(collector_.bytes(id), 50000000u);
  EXPECT_LE(sup->GetStatus(id)->peak_buffered_bytes, options.max_output_buffer);
  // Not a measurement (a busy machine makes any figure slower): a bound that only a stall per
  // piece (a retry delay, a missed wake-up) could reach; about a second is usual.
  EXPECT_LT(elapsed, 60s);
  std::cout << "[ flood ] 50 MB in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
}

TEST_F(ProcessSupervisorTest, ExitKillsWhatTheProcessLeftInItsGroup) {
  auto sup = Make();
  // The background sleep keeps stdout open; it is in the group, so the exit kills it: the exit
  // comes well before the sleep would end (30 s).
  uint64_t id = Spawn(*sup, Shell("sleep 30 & echo started"));
  auto exit = collector_.WaitExit(id, 20s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(collector_.Joined(id, Kind::kStdout), "started\n");
  pid_t pid = sup->GetStatus(id)->pid;
  EXPECT_TRUE(GroupGone(pid));
}

TEST_F(ProcessSupervisorTest, AnEscapedDescendantHoldingThePipeDoesNotDelayTheExitForever) {
  ProcessSupervisor::Options options;
  options.exit_grace = 300ms;
  auto sup = Make(options);
  // The escaped sleep could hold stdout for 30 s; the exit comes well before that.
  uint64_t id = Spawn(*sup, Shell("setsid sleep 30 & echo bye"));
  auto exit = collector_.WaitExit(id, 20s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(collector_.Joined(id, Kind::kStdout), "bye\n");
}

TEST_F(ProcessSupervisorTest, ShutdownKillsEveryProcessGroupAndReaps) {
  auto sup = Make();
  uint64_t a = Spawn(*sup, Shell("sleep 30 & echo started; sleep 30"));
  uint64_t b = Spawn(*sup, Shell("exec sleep 30"));
  pid_t pa = sup->GetStatus(a)->pid;
  pid_t pb = sup->GetStatus(b)->pid;
  // The background sleep is started before the echo: the group has two members to kill.
  ASSERT_TRUE(WaitFor([&] { return collector_.Joined(a, Kind::kStdout) == "started\n"; }));
  ASSERT_TRUE(Alive(pa));
  ASSERT_TRUE(GroupAlive(pa));
  sup->Shutdown();
  EXPECT_FALSE(Alive(pa));  // reaped, not a zombie: kill(pid, 0) fails
  EXPECT_FALSE(Alive(pb));
  EXPECT_TRUE(GroupGone(pa));
  EXPECT_EQ(sup->Spawn(Shell("true")).status().code(), StatusCode::kFailedPrecondition);
  sup->Shutdown();  // idempotent
}

TEST_F(ProcessSupervisorTest, EnvironmentIsMinimalPlusTheActorsAndPathIsTheHosts) {
  ::setenv("THEATER_PROCESS_TEST_SECRET", "hunter2", 1);
  auto sup = Make();
  ProcessSpec spec = Shell("echo \"${THEATER_PROCESS_TEST_SECRET:-unset} $FOO\"");
  spec.env = {{"FOO", "bar"}};
  spec.env_allowed = {{"the test", {"FOO", "PATH"}}};
  uint64_t id = Spawn(*sup, spec);
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_EQ(collector_.Joined(id, Kind::kStdout), "unset bar\n");
  ::unsetenv("THEATER_PROCESS_TEST_SECRET");
  // The actor's PATH does not change which program a bare name runs.
  ProcessSpec path_spec;
  path_spec.program = "true";
  path_spec.env = {{"PATH", "/nonexistent"}};
  path_spec.env_allowed = {{"the test", {"FOO", "PATH"}}};
  uint64_t t = Spawn(*sup, path_spec);
  auto exit = collector_.WaitExit(t);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
}

TEST_F(ProcessSupervisorTest, StartsInTheGivenDirectoryAndReportsMissingPrograms) {
  auto sup = Make();
  std::filesystem::path dir = std::filesystem::canonical(std::filesystem::temp_directory_path());
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ProcessSpec spec;
  spec.program = "pwd";
  spec.cwd_fd = fd;
  uint64_t id = Spawn(*sup, spec);
  ::close(fd);
  ASSERT_TRUE(collector_.WaitExit(id));
  EXPECT_EQ(collector_.Joined(id, Kind::kStdout), dir.string() + "\n");
  ProcessSpec missing;
  missing.program = "no-such-program-theater";
  EXPECT_EQ(sup->Spawn(missing).status().code(), StatusCode::kNotFound);
  missing.program = "/no/such/path";
  Result<uint64_t> r = sup->Spawn(missing);
  EXPECT_FALSE(r.ok());
}

TEST_F(ProcessSupervisorTest, FinishedProcessesAreForgottenBeyondTheLimit) {
  ProcessSupervisor::Options options;
  options.keep_finished = 2;
  auto sup = Make(options);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(Spawn(*sup, Shell("true")));
    ASSERT_TRUE(collector_.WaitExit(ids.back()));
  }
  EXPECT_TRUE(
      WaitFor([&] { return sup->GetStatus(ids[0]).status().code() == StatusCode::kNotFound; }));
  EXPECT_TRUE(sup->GetStatus(ids[3]).ok());
  EXPECT_NE(ids[3], ids[0]);  // ids are never reused
}

TEST(ProcessConfigTest, DefaultsAndStrictParsing) {
  Result<ProcessConfig> empty = ParseProcessConfig(nlohmann::json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->max_processes, 10u);
  EXPECT_EQ(empty->max_output_buffer, 1u << 20);
  EXPECT_FALSE(empty->allowed_programs);
  EXPECT_FALSE(empty->allowed_paths);
  Result<ProcessConfig> full = ParseProcessConfig({{"max_processes", 2},
                                                   {"max_output_buffer", 4096},
                                                   {"allowed_programs", {"echo", "/bin/cat"}},
                                                   {"allowed_paths", {"work"}}});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->max_processes, 2u);
  EXPECT_THAT(*full->allowed_programs, ElementsAre("echo", "/bin/cat"));
  struct Bad {
    nlohmann::json config;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{{"max_proceses", 2}}, "unknown key 'max_proceses'"},
      {{{"max_processes", 0}}, "max_processes: must be at least 1"},
      {{{"max_processes", -1}}, "max_processes: must be a non-negative integer"},
      {{{"max_processes", "3"}}, "max_processes: must be a non-negative integer"},
      {{{"max_output_buffer", 1ull << 40}}, "max_output_buffer: 1099511627776 exceeds"},
      {{{"allowed_programs", "echo"}}, "allowed_programs: must be a list of strings"},
      {{{"allowed_programs", {"echo", 3}}}, "allowed_programs[1]: must be a string"},
      {{{"allowed_paths", {""}}}, "allowed_paths[0]: must be non-empty"},
  };
  for (const Bad& b : bad) {
    Result<ProcessConfig> r = ParseProcessConfig(b.config);
    ASSERT_FALSE(r.ok()) << b.config.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().ToString(), HasSubstr(b.message));
  }
}

}  // namespace
}  // namespace theater::handlers
