// Theater: a WebAssembly actor runtime.
//
// ProcessSupervisor: the operating-system processes one actor started through
// theater:simple/process, watched on the host's I/O loop (include/theater/io_loop.h).
// docs/handlers.md, "process", is the reference for the behaviour described here. The filesystem
// handler's commands run on one too (handlers/filesystem/command_runner.h), so that every child
// process of the host is watched the same way, on the loop.
//
// Each process is started through the spawn shim (common/confined_spawn.h; no shell) in its own
// process group, confined by Landlock unless its spec says otherwise, with an allow-listed
// environment (common/child_env.h), three pipes (stdin unless the spec asks for /dev/null,
// stdout, stderr) and the shim's pidfd. The
// supervisor gathers all of them in one epoll descriptor of its own, which the host's I/O loop
// watches (with a timer for the next deadline): no thread per process, nor per supervisor. A turn
// on the loop reads output, cuts it into pieces by the stream's OutputMode, notices exits through
// the pidfd, enforces execution timeouts, and hands ProcessEvents to a Sink in the order they were
// produced — every piece of a process before its exit.
//
// Flow control instead of dropping: a process's output held by the host — pieces handed to the
// sink and not yet acknowledged, plus the incomplete piece of each stream — never exceeds
// `max_output_buffer` bytes. When it reaches the limit the supervisor stops reading that
// process's pipes, the pipes fill and the process blocks in write(2) until the actor catches up.
// At most `max_in_flight` events are handed to the sink unacknowledged at a time, whatever the
// number of processes. A flood of output therefore costs bounded memory and never stalls the
// runtime's workers.
//
// When a process exits, its shim kills every descendant it left (those that left its process
// group or session included: the shim is their subreaper), the shim is reaped (no zombies) and
// the pipes are drained; a pipe still held open is closed after a short grace period. Kill, the
// execution timeout and Shutdown() close the shim's control pipe, which kills the whole subtree.
// Shutdown() waits for a turn in progress, then reaps.
//
// Thread-safety: every public method may be called from any thread; one mutex guards the
// process table. The Sink is called on the loop (one turn at a time, on a strand of the
// supervisor's own) without that mutex held, and the ack it receives may be called from any
// thread, also after Shutdown() (it then does nothing).
//
// Ownership: owns its processes' descriptors; the sink is owned by value; borrows the loop, which
// must outlive Shutdown() (the destructor calls it).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/child_env.h"
#include "common/confined_spawn.h"
#include "theater/status.h"

namespace theater::handlers {

// How a stream's output is cut into pieces (the WIT's output-mode, in its case order).
enum class OutputMode { kRaw = 0, kLineByLine = 1, kJson = 2, kChunked = 3 };

// What to run. Validated by the handler (permissions, NUL bytes, limits) before Spawn.
struct ProcessSpec {
  std::string program;  // a bare name (looked up on the host's PATH) or a path
  std::vector<std::string> args;
  int cwd_fd = -1;  // the directory the child starts in (borrowed); -1: the host's cwd
  // Added to (or replacing) the host's base variables (common/child_env.h); a variable that is
  // never passed (LD_PRELOAD, ...), or that a list of `env_allowed` does not name, fails the
  // spawn.
  std::vector<std::pair<std::string, std::string>> env;
  // The operator's lists (the handler's config, the permission), each of which must allow every
  // variable of `env`; none: `env` must be empty.
  std::vector<EnvAllowList> env_allowed;
  // Landlock: the system paths, the program, and these grants. The working directory is not
  // granted implicitly: the handler adds it.
  SandboxPolicy sandbox;
  uint32_t buffer_size = 4096;  // the largest piece, >= 1
  OutputMode stdout_mode = OutputMode::kRaw;
  OutputMode stderr_mode = OutputMode::kRaw;
  uint32_t chunk_size = 0;  // kChunked's piece size; 0: buffer_size
  std::optional<std::chrono::milliseconds> timeout;
  // False: the child's stdin is /dev/null, with no pipe (WriteStdin is refused), for a caller
  // that never writes to it (the filesystem handler's commands).
  bool stdin_pipe = true;
};

struct ProcessEvent {
  enum class Kind { kStdout, kStderr, kExit };
  Kind kind = Kind::kStdout;
  uint64_t id = 0;
  std::vector<uint8_t> data;  // kStdout / kStderr
  int32_t exit_code = 0;      // kExit: the exit status, -1 when a signal ended it
  bool timed_out = false;     // kExit: killed because its execution timeout passed
};

// A snapshot of one process (os-status).
struct ProcessInfo {
  uint64_t id = 0;
  pid_t pid = -1;
  bool running = true;               // false once it has exited (been reaped)
  std::optional<int32_t> exit_code;  // set once exited; -1 when a signal ended it
  int term_signal = 0;               // the signal that ended it, if one did
  bool timed_out = false;            // killed by its execution timeout
  uint64_t start_time_ms = 0;        // ms since the Unix epoch
  uint64_t peak_buffered_bytes = 0;  // the most output held by the host at once
  uint64_t output_bytes = 0;         // bytes read from stdout and stderr
};

class ProcessSupervisor {
 public:
  // What the sink did with an event.
  enum class Delivery {
    kAccepted,  // taken; `ack` will be called once the actor has handled it (or it was refused)
    kRetry,     // not taken now (e.g. the mailbox is full): offered again shortly
    kDropped,   // will never be delivered (the actor stopped, or does not export the callback)
  };
  using Sink = std::function<Delivery(const ProcessEvent& event, std::function<void()> ack)>;

  struct Options {
    uint64_t max_output_buffer = 1 << 20;       // bytes per process (see the header comment)
    size_t max_in_flight = 64;                  // events handed to the sink and not yet acked
    size_t keep_finished = 256;                 // finished processes remembered for GetStatus()
    std::chrono::milliseconds exit_grace{500};  // pipes held open past exit are closed after
  };

  ProcessSupervisor(boost::asio::io_context& io, Options options, Sink sink);
  ~ProcessSupervisor();  // Shutdown()
  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;

  // Starts a process; returns its id (1, 2, ...; never reused). Joins the loop on first use. Errors: kNotFound (no such program), kUnavailable (cannot be started), kIOError,
  // kPermissionDenied (an env variable that is never passed; a program Landlock denies),
  // kFailedPrecondition after Shutdown or when Landlock is unavailable and the spec confines.
  Result<uint64_t> Spawn(const ProcessSpec& spec);
  // Writes what fits in the stdin pipe now, without blocking; returns the count (0 when the pipe
  // is full). Empty `data` closes stdin (end of file). Errors: kNotFound (unknown id),
  // kFailedPrecondition (exited, or stdin closed by us or by the process).
  Result<uint32_t> WriteStdin(uint64_t id, std::span<const uint8_t> data);
  Result<ProcessInfo> GetStatus(uint64_t id) const;
  // Sends `sig` to the process (not its group) through its shim, its parent. Errors: kNotFound,
  // kFailedPrecondition (exited), kInvalidArgument (bad signal number).
  Status Signal(uint64_t id, int sig);
  // Kills the process and every descendant (SIGKILL, by its shim). Errors: kNotFound,
  // kFailedPrecondition (exited).
  Status Kill(uint64_t id);

  // Processes started and not finished (finished: exited, its pipes read to the end and its
  // exit queued for the sink).
  size_t active() const;
  // Leaves the loop (waiting for a turn in progress), kills every process and its descendants,
  // reaps. No event is handed over afterwards. Idempotent.
  void Shutdown();

 private:
  struct StreamState {
    int fd = -1;
    OutputMode mode = OutputMode::kRaw;
    bool armed = false;            // registered for EPOLLIN (false while paused or closed)
    bool skipping = false;         // kJson: inside an over-long line, discarding to its end
    std::vector<uint8_t> pending;  // the incomplete piece
  };
  struct Proc {
    uint64_t id = 0;
    pid_t pid = -1;       // the program
    pid_t shim_pid = -1;  // its spawn shim: the process we wait for
    int pidfd = -1;       // the shim's
    int control_fd = -1;  // the shim's control pipe: closing it kills the subtree
    int stdin_fd = -1;
    StreamState out, err;
    uint32_t buffer_size = 0;
    uint32_t chunk_size = 0;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    uint64_t start_time_ms = 0;
    bool reaped = false;
    bool finished = false;  // exit queued
    bool timed_out = false;
    int wstatus = 0;
    std::chrono::steady_clock::time_point last_activity;  // for the exit grace
    uint64_t queued_bytes = 0;                            // pieces queued or in flight
    uint64_t peak_buffered = 0;
    uint64_t output_bytes = 0;
    uint64_t buffered() const { return queued_bytes + out.pending.size() + err.pending.size(); }
  };
  struct Queued {
    ProcessEvent event;
    uint64_t bytes = 0;
  };
  // Lets acks outlive the supervisor: they reach it only while `target` is set.
  struct AckBox {
    std::mutex mu;
    ProcessSupervisor* target = nullptr;
  };

  struct LoopHook;  // the supervisor's watch and timer on the loop (process_supervisor.cc)
  // One turn on the loop: reads what the epoll descriptor reports, enforces deadlines, hands over
  // what is ready. Returns how long the loop may wait for the next turn, at most.
  std::chrono::milliseconds Turn();
  static void RunTurn(const std::shared_ptr<LoopHook>& hook);
  static void Arm(const std::shared_ptr<LoopHook>& hook, std::chrono::milliseconds wait);
  void OnAck(uint64_t id, uint64_t bytes);
  void Wake();
  // All below: with mu_ held.
  Proc* FindLocked(uint64_t id) const;
  void ReadLocked(Proc& p, bool is_err);
  void Emit(Proc& p, bool is_err, std::vector<uint8_t> piece);
  void CutPieces(Proc& p, bool is_err, bool at_eof);
  void CloseStream(Proc& p, bool is_err);
  void ReapLocked(Proc& p);
  void MaybeFinishLocked(Proc& p);
  void UpdateInterestLocked(Proc& p);
  void ForgetOldLocked();
  void CloseProcFds(Proc& p);
  // Closes the shim's control pipe: it kills the program and its descendants, then exits.
  void KillShim(Proc& p);

  const Options options_;
  Sink sink_;
  std::shared_ptr<AckBox> box_;
  int epfd_ = -1;
  int wakefd_ = -1;

  mutable std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<Proc>> procs_;  // guarded by mu_
  std::deque<uint64_t> finished_order_;              // guarded by mu_
  std::deque<Queued> queue_;                         // guarded by mu_
  size_t in_flight_ = 0;                             // guarded by mu_
  uint64_t next_id_ = 1;                             // guarded by mu_
  size_t active_ = 0;                                // guarded by mu_
  bool shut_down_ = false;                           // guarded by mu_
  bool on_loop_ = false;                             // guarded by mu_: the first turn is queued
  std::atomic<bool> stop_{false};
  std::atomic<bool> noexec_warned_{false};  // ConfinedChild::noexec_warning logged once
  // The turns' own: when the sink last asked to retry (nothing is handed over before then).
  std::chrono::steady_clock::time_point retry_at_ = std::chrono::steady_clock::time_point::min();
  bool retrying_ = false;
  std::shared_ptr<LoopHook> hook_;
};

// The POSIX signal numbers os-signal accepts: 1 .. SIGRTMAX.
bool ValidSignal(int sig);

}  // namespace theater::handlers
