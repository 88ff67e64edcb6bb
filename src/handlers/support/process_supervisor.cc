// Theater: a WebAssembly actor runtime.
#include "handlers/support/process_supervisor.h"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/child_env.h"
#include "common/confined_spawn.h"
#include "common/pipe_write.h"
#include "engine/compile/subprocess.h"

namespace theater::handlers {
namespace {

using Clock = std::chrono::steady_clock;

// How long Shutdown waits for a shim to kill its subtree before killing the shim itself.
constexpr auto kShimGrace = std::chrono::seconds(2);
constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kRetryDelay = std::chrono::milliseconds(10);
// epoll keys: (id << 2) | kind. Ids start at 1, so key 0 is the wake eventfd.
constexpr uint64_t kKeyStdout = 0, kKeyStderr = 1, kKeyPidfd = 2;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Reaps a shim told to end (its control pipe closed). It kills its subtree in milliseconds; one
// that has not ended within kShimGrace (stuck, or killed by something) is killed and reaped.
void WaitShim(pid_t shim_pid, int pidfd) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    auto until = Clock::now() + kShimGrace;
    while (Clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1)));
      if (ready > 0 || (ready < 0 && errno != EINTR)) break;
    }
  }
  if (::waitpid(shim_pid, nullptr, WNOHANG) == 0) {
    ::kill(shim_pid, SIGKILL);
    while (::waitpid(shim_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

bool IsJsonSpace(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

bool ValidSignal(int sig) {
  return sig >= 1 && sig <= SIGRTMAX;
}

// The supervisor's place on the loop: a watch on its epoll descriptor (readable while it has
// events) and a timer for the next deadline, on a strand of its own. Shared with the loop's
// pending completions, which reach the supervisor only while `target` is set; `mu` is held
// through a turn, so Shutdown() (which clears `target` under it) waits for the turn in progress.
struct ProcessSupervisor::LoopHook {
  LoopHook(boost::asio::io_context& io, int epfd)
      : strand(boost::asio::make_strand(io)), watch(strand), timer(strand) {
    boost::system::error_code ec;
    watch.assign(epfd, ec);
    if (ec) assign_error = ec.message();
  }
  std::mutex mu;
  ProcessSupervisor* target = nullptr;  // guarded by mu
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  boost::asio::posix::stream_descriptor watch;  // guarded by mu; released, never closed, by it
  boost::asio::steady_timer timer;              // guarded by mu
  bool watching = false;                        // guarded by mu: a wait on `watch` is pending
  std::string assign_error;                     // why the loop cannot watch the descriptor
};

ProcessSupervisor::ProcessSupervisor(boost::asio::io_context& io, Options options, Sink sink)
    : options_(options), sink_(std::move(sink)), box_(std::make_shared<AckBox>()) {
  box_->target = this;
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd_ >= 0 && wakefd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
    hook_ = std::make_shared<LoopHook>(io, epfd_);
    hook_->target = this;
  }
}

ProcessSupervisor::~ProcessSupervisor() {
  Shutdown();
}

void ProcessSupervisor::Wake() {
  uint64_t one = 1;
  if (wakefd_ >= 0) (void)!::write(wakefd_, &one, sizeof(one));
}

Result<uint64_t> ProcessSupervisor::Spawn(const ProcessSpec& spec) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return FailedPrecondition("the process handler has stopped");
    if (epfd_ < 0 || wakefd_ < 0 || hook_ == nullptr) {
      return IOError("the process supervisor could not create its epoll or eventfd descriptor");
    }
    if (!hook_->assign_error.empty()) {
      return IOError("the I/O loop cannot watch the process supervisor's epoll descriptor: " +
                     hook_->assign_error);
    }
  }
  ChildSpec child_spec;
  child_spec.program = spec.program;
  child_spec.executable = spec.program;
  if (spec.program.find('/') == std::string::npos) {
    // The host's PATH, never the actor's `env`: an actor must not redirect an allowed name to a
    // file of its choosing.
    Result<std::filesystem::path> found = engine::FindExecutable(spec.program);
    if (!found.ok()) {
      return NotFound("program '" + spec.program + "' not found: " + found.status().message());
    }
    child_spec.executable = found->string();
  }
  THEATER_ASSIGN_OR_RETURN(child_spec.env, BuildChildEnvironment(spec.env, spec.env_allowed));
  child_spec.argv.push_back(spec.program);
  child_spec.argv.insert(child_spec.argv.end(), spec.args.begin(), spec.args.end());
  child_spec.cwd_fd = spec.cwd_fd;
  child_spec.sandbox = spec.sandbox;

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fd :
         {&in_pipe[0], &in_pipe[1], &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]}) {
      CloseFd(*fd);
    }
  };
  for (int* p : {in_pipe, out_pipe, err_pipe}) {
    if (p == in_pipe && !spec.stdin_pipe) continue;  // -1: the shim gives it /dev/null
    if (::pipe2(p, O_CLOEXEC) != 0) {
      int err = errno;
      close_all();
      return ErrnoError("creating a pipe", err);
    }
  }
  child_spec.stdin_fd = in_pipe[0];
  child_spec.stdout_fd = out_pipe[1];
  child_spec.stderr_fd = err_pipe[1];
  Result<ConfinedChild> child = SpawnConfined(child_spec);
  CloseFd(in_pipe[0]);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (!child.ok()) {
    close_all();
    return child.status();
  }
  // The operator chose to run without noexec grants where they cannot be had: said once per
  // supervisor (one actor's handler), not at every spawn.
  if (!child->noexec_warning.empty() && !noexec_warned_.exchange(true)) {
    spdlog::warn("{}", child->noexec_warning);
  }
  for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  }

  auto p = std::make_unique<Proc>();
  p->pid = child->pid;
  p->shim_pid = child->shim_pid;
  p->pidfd = child->pidfd.release();
  p->control_fd = child->control.release();
  p->stdin_fd = in_pipe[1];
  p->out.fd = out_pipe[0];
  p->err.fd = err_pipe[0];
  in_pipe[1] = out_pipe[0] = err_pipe[0] = -1;
  p->out.mode = spec.stdout_mode;
  p->err.mode = spec.stderr_mode;
  p->buffer_size = std::max<uint32_t>(spec.buffer_size, 1);
  p->chunk_size = spec.chunk_size ? spec.chunk_size : p->buffer_size;
  if (spec.timeout) p->deadline = Clock::now() + *spec.timeout;
  p->start_time_ms = NowMs();
  p->last_activity = Clock::now();

  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) {
    CloseProcFds(*p);  // the control pipe first: the shim kills the program
    while (::waitpid(p->shim_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return FailedPrecondition("the process handler has stopped");
  }
  uint64_t id = next_id_++;
  p->id = id;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (id << 2) | kKeyPidfd;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, p->pidfd, &ev);
  Proc& ref = *p;
  procs_[id] = std::move(p);
  ++active_;
  UpdateInterestLocked(ref);
  if (!on_loop_) {
    on_loop_ = true;
    boost::asio::post(hook_->strand, [hook = hook_] { RunTurn(hook); });
  }
  Wake();
  return id;
}

ProcessSupervisor::Proc* ProcessSupervisor::FindLocked(uint64_t id) const {
  auto it = procs_.find(id);
  return it == procs_.end() ? nullptr : it->second.get();
}

Result<uint32_t> ProcessSupervisor::WriteStdin(uint64_t id, std::span<const uint8_t> data) {
  std::lock_guard<std::mutex> lock(mu_);
  Proc* p = FindLocked(id);
  if (!p) return NotFound("unknown process id " + std::to_string(id));
  if (p->reaped) return FailedPrecondition("process " + std::to_string(id) + " has exited");
  if (p->stdin_fd < 0) {
    return FailedPrecondition("the standard input of process " + std::to_string(id) + " is closed");
  }
  if (data.empty()) {
    CloseFd(p->stdin_fd);
    return 0u;
  }
  const size_t len = std::min<size_t>(data.size(), UINT32_MAX);
  const PipeWriteResult wrote = WriteToPipe(p->stdin_fd, data.data(), len);
  if (wrote.written >= 0) return static_cast<uint32_t>(wrote.written);
  const int err = wrote.error;
  if (err == EAGAIN) return 0u;  // the pipe is full: the process is not reading now
  if (err == EPIPE) {
    CloseFd(p->stdin_fd);
    return FailedPrecondition("process " + std::to_string(id) + " closed its standard input");
  }
  return ErrnoError("writing to the standard input of process " + std::to_string(id), err);
}

Result<ProcessInfo> ProcessSupervisor::GetStatus(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  Proc* p = FindLocked(id);
  if (!p) return NotFound("unknown process id " + std::to_string(id));
  ProcessInfo info;
  info.id = id;
  info.pid = p->pid;
  info.running = !p->reaped;
  info.timed_out = p->timed_out;
  info.start_time_ms = p->start_time_ms;
  info.peak_buffered_bytes = p->peak_buffered;
  info.output_bytes = p->output_bytes;
  if (p->reaped) {
    if (WIFEXITED(p->wstatus)) {
      info.exit_code = WEXITSTATUS(p->wstatus);
    } else {
      info.exit_code = -1;
      if (WIFSIGNALED(p->wstatus)) info.term_signal = WTERMSIG(p->wstatus);
    }
  }
  return info;
}

Status ProcessSupervisor::Signal(uint64_t id, int sig) {
  if (!ValidSignal(sig)) {
    return InvalidArgument("invalid signal number " + std::to_string(sig) + " (expected 1.." +
                           std::to_string(SIGRTMAX) + ")");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Proc* p = FindLocked(id);
  if (!p) return NotFound("unknown process id " + std::to_string(id));
  if (p->reaped) return FailedPrecondition("process " + std::to_string(id) + " has exited");
  // Through the shim, the program's parent: it signals the program only while it has not
  // reaped it, so never a reused pid.
  return ForwardSignal(p->control_fd, sig)
      .WithContext("sending signal " + std::to_string(sig) + " to process " + std::to_string(id));
}

Status ProcessSupervisor::Kill(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Proc* p = FindLocked(id);
  if (!p) return NotFound("unknown process id " + std::to_string(id));
  if (p->reaped) return FailedPrecondition("process " + std::to_string(id) + " has exited");
  KillShim(*p);
  return Status();
}

size_t ProcessSupervisor::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void ProcessSupervisor::OnAck(uint64_t id, uint64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_ > 0) --in_flight_;
    if (Proc* p = FindLocked(id)) {
      p->queued_bytes -= std::min(bytes, p->queued_bytes);
      UpdateInterestLocked(*p);
    }
  }
  Wake();
}

void ProcessSupervisor::Emit(Proc& p, bool is_err, std::vector<uint8_t> piece) {
  Queued q;
  q.event.kind = is_err ? ProcessEvent::Kind::kStderr : ProcessEvent::Kind::kStdout;
  q.event.id = p.id;
  q.bytes = piece.size();
  q.event.data = std::move(piece);
  p.queued_bytes += q.bytes;
  queue_.push_back(std::move(q));
}

void ProcessSupervisor::CutPieces(Proc& p, bool is_err, bool at_eof) {
  StreamState& s = is_err ? p.err : p.out;
  std::vector<uint8_t>& buf = s.pending;
  const size_t bs = p.buffer_size;
  auto take = [&](size_t n, size_t drop) {
    std::vector<uint8_t> piece(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n + drop));
    return piece;
  };
  switch (s.mode) {
    case OutputMode::kRaw:
      if (!buf.empty()) Emit(p, is_err, take(std::min(buf.size(), bs), 0));
      return;
    case OutputMode::kChunked:
      while (buf.size() >= p.chunk_size) Emit(p, is_err, take(p.chunk_size, 0));
      if (at_eof && !buf.empty()) Emit(p, is_err, take(buf.size(), 0));
      return;
    case OutputMode::kLineByLine:
      while (true) {
        auto nl = std::find(buf.begin(), buf.end(), uint8_t{'\n'});
        if (nl == buf.end()) break;
        size_t len = static_cast<size_t>(nl - buf.begin());
        size_t cr = (len > 0 && buf[len - 1] == '\r') ? 1 : 0;
        size_t body = len - cr;
        // A line longer than a piece goes out in buffer-size pieces; the newline that ends a
        // line already flushed to its last byte adds no empty piece.
        while (body > bs) {
          Emit(p, is_err, take(bs, 0));
          body -= bs;
          s.skipping = true;
        }
        if (body > 0 || !s.skipping) {
          Emit(p, is_err, take(body, cr + 1));
        } else {
          buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(cr + 1));
        }
        s.skipping = false;  // here: "the current line was flushed early"
      }
      while (buf.size() >= bs) {
        Emit(p, is_err, take(bs, 0));
        s.skipping = true;
      }
      if (at_eof && !buf.empty()) Emit(p, is_err, take(buf.size(), 0));
      return;
    case OutputMode::kJson:
      while (true) {
        auto nl = std::find(buf.begin(), buf.end(), uint8_t{'\n'});
        if (nl == buf.end()) break;
        size_t len = static_cast<size_t>(nl - buf.begin());
        if (s.skipping) {
          buf.erase(buf.begin(), nl + 1);  // the end of an over-long line
          s.skipping = false;
          continue;
        }
        size_t start = 0, end = len;
        while (start < end && IsJsonSpace(buf[start])) ++start;
        while (end > start && IsJsonSpace(buf[end - 1])) --end;
        bool ok = end > start && end - start <= bs &&
                  nlohmann::json::accept(buf.begin() + static_cast<std::ptrdiff_t>(start),
                                         buf.begin() + static_cast<std::ptrdiff_t>(end));
        if (ok) {
          std::vector<uint8_t> piece(buf.begin() + static_cast<std::ptrdiff_t>(start),
                                     buf.begin() + static_cast<std::ptrdiff_t>(end));
          buf.erase(buf.begin(), nl + 1);
          Emit(p, is_err, std::move(piece));
        } else {
          buf.erase(buf.begin(), nl + 1);
        }
      }
      // A line that cannot fit in a piece is dropped as it arrives, not buffered.
      if (buf.size() > bs) {
        buf.clear();
        s.skipping = true;
      }
      if (at_eof && !buf.empty()) {
        buf.push_back('\n');
        CutPieces(p, is_err, false);
        buf.clear();
      }
      return;
  }
}

void ProcessSupervisor::ReadLocked(Proc& p, bool is_err) {
  StreamState& s = is_err ? p.err : p.out;
  if (s.fd < 0) return;
  const uint64_t limit = options_.max_output_buffer;
  const uint64_t held = p.buffered();
  // Nothing waiting for the actor: reading stays possible even when the incomplete pieces fill
  // the buffer, so the streams can never wait on each other.
  uint64_t room = held < limit ? limit - held : (p.queued_bytes == 0 ? 1 : 0);
  if (room == 0) return;
  size_t want = static_cast<size_t>(std::min<uint64_t>(room, kReadChunk));
  if (s.mode == OutputMode::kRaw) want = std::min<size_t>(want, p.buffer_size);
  uint8_t buf[kReadChunk];
  ssize_t n = ::read(s.fd, buf, want);
  if (n > 0) {
    p.output_bytes += static_cast<uint64_t>(n);
    p.last_activity = Clock::now();
    s.pending.insert(s.pending.end(), buf, buf + n);
    CutPieces(p, is_err, false);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    CloseStream(p, is_err);
  }
  p.peak_buffered = std::max(p.peak_buffered, p.buffered());
}

void ProcessSupervisor::CloseStream(Proc& p, bool is_err) {
  StreamState& s = is_err ? p.err : p.out;
  if (s.fd < 0) return;
  CutPieces(p, is_err, true);
  if (s.armed) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, s.fd, nullptr);
  s.armed = false;
  CloseFd(s.fd);
}

void ProcessSupervisor::ReapLocked(Proc& p) {
  if (p.reaped) return;
  // The shim exits once the program has and it has killed whatever the program left.
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(p.shim_pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return;  // not yet (spurious wake-up)
  p.reaped = true;
  p.wstatus = status;
  p.deadline.reset();
  p.last_activity = Clock::now();
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, p.pidfd, nullptr);
  CloseFd(p.pidfd);
}

void ProcessSupervisor::MaybeFinishLocked(Proc& p) {
  if (p.finished || !p.reaped || p.out.fd >= 0 || p.err.fd >= 0) return;
  Queued q;
  q.event.kind = ProcessEvent::Kind::kExit;
  q.event.id = p.id;
  q.event.exit_code = WIFEXITED(p.wstatus) ? WEXITSTATUS(p.wstatus) : -1;
  q.event.timed_out = p.timed_out;
  queue_.push_back(std::move(q));
  p.finished = true;
  CloseFd(p.stdin_fd);
  --active_;
  finished_order_.push_back(p.id);
}

void ProcessSupervisor::UpdateInterestLocked(Proc& p) {
  const uint64_t limit = options_.max_output_buffer;
  bool can_read = p.buffered() < limit || p.queued_bytes == 0;
  for (StreamState* s : {&p.out, &p.err}) {
    if (s->fd < 0 || s->armed == can_read) continue;
    if (can_read) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = (p.id << 2) | (s == &p.out ? kKeyStdout : kKeyStderr);
      ::epoll_ctl(epfd_, EPOLL_CTL_ADD, s->fd, &ev);
    } else {
      // Removed rather than masked: epoll reports a hang-up even with no events requested.
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
    }
    s->armed = can_read;
  }
}

void ProcessSupervisor::ForgetOldLocked() {
  while (finished_order_.size() > options_.keep_finished) {
    uint64_t id = finished_order_.front();
    finished_order_.pop_front();
    auto it = procs_.find(id);
    if (it == procs_.end()) continue;
    CloseProcFds(*it->second);
    procs_.erase(it);
  }
}

void ProcessSupervisor::CloseProcFds(Proc& p) {
  for (StreamState* s : {&p.out, &p.err}) {
    if (s->armed) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
    s->armed = false;
    CloseFd(s->fd);
  }
  if (p.pidfd >= 0) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, p.pidfd, nullptr);
  CloseFd(p.pidfd);
  CloseFd(p.stdin_fd);
  CloseFd(p.control_fd);
}

void ProcessSupervisor::KillShim(Proc& p) {
  CloseFd(p.control_fd);
}

void ProcessSupervisor::RunTurn(const std::shared_ptr<LoopHook>& hook) {
  std::lock_guard<std::mutex> lock(hook->mu);
  if (hook->target == nullptr) return;  // shut down
  Arm(hook, hook->target->Turn());
}

void ProcessSupervisor::Arm(const std::shared_ptr<LoopHook>& hook,
                            std::chrono::milliseconds wait) {
  // With hook->mu held, on the strand.
  hook->timer.expires_after(wait);
  hook->timer.async_wait([hook](boost::system::error_code ec) {
    if (!ec) RunTurn(hook);  // else replaced by a later Arm, or cancelled
  });
  if (hook->watching) return;
  // The loop reports the descriptor's readiness as it changes (edge-triggered): events that are
  // ready already would go unnoticed until the timer. So a ready descriptor gets a turn at once.
  pollfd probe{hook->watch.native_handle(), POLLIN, 0};
  if (::poll(&probe, 1, 0) > 0) {
    boost::asio::post(hook->strand, [hook] { RunTurn(hook); });
    return;
  }
  hook->watching = true;
  hook->watch.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [hook](boost::system::error_code ec) {
                           {
                             std::lock_guard<std::mutex> lock(hook->mu);
                             hook->watching = false;
                           }
                           if (!ec) RunTurn(hook);
                         });
}

std::chrono::milliseconds ProcessSupervisor::Turn() {
  if (stop_) return std::chrono::milliseconds(1000);
  int timeout_ms = 1000;  // a bound, in case a deadline is computed late
  epoll_event events[64];
  int n = ::epoll_wait(epfd_, events, 64, 0);
  if (n < 0) n = 0;  // EINTR: nothing this turn
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == 0) {
        uint64_t drained;
        (void)!::read(wakefd_, &drained, sizeof(drained));
        continue;
      }
      Proc* p = FindLocked(key >> 2);
      if (!p) continue;
      switch (key & 3) {
        case kKeyStdout:
          ReadLocked(*p, false);
          break;
        case kKeyStderr:
          ReadLocked(*p, true);
          break;
        case kKeyPidfd:
          ReapLocked(*p);
          break;
      }
    }
    Clock::time_point now = Clock::now();
    for (auto& [id, p] : procs_) {
      if (p->finished) continue;
      if (p->deadline && !p->reaped && now >= *p->deadline) {
        KillShim(*p);
        p->timed_out = true;
        p->deadline.reset();
      }
      // Past exit, a pipe that stays open without output is held by something that left the
      // group; it would delay the exit forever. (A paused pipe is not idle: we are not
      // reading it.)
      if (p->reaped && now >= p->last_activity + options_.exit_grace) {
        for (bool is_err : {false, true}) {
          StreamState& s = is_err ? p->err : p->out;
          if (s.fd >= 0 && s.armed) CloseStream(*p, is_err);
        }
      }
      MaybeFinishLocked(*p);
      UpdateInterestLocked(*p);
    }
    ForgetOldLocked();
  }
  // Hand over what is ready, in order, within the in-flight window.
  if (!retrying_ || Clock::now() >= retry_at_) {
    retrying_ = false;
    while (!stop_) {
      Queued q;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty() || in_flight_ >= options_.max_in_flight) break;
        q = std::move(queue_.front());
        queue_.pop_front();
        ++in_flight_;
      }
      std::function<void()> ack = [box = box_, id = q.event.id, bytes = q.bytes] {
        std::lock_guard<std::mutex> lock(box->mu);
        if (box->target) box->target->OnAck(id, bytes);
      };
      Delivery d = sink_(q.event, std::move(ack));
      if (d == Delivery::kAccepted) continue;
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
      if (d == Delivery::kRetry) {
        queue_.push_front(std::move(q));
        retry_at_ = Clock::now() + kRetryDelay;
        retrying_ = true;
        break;
      }
      if (Proc* p = FindLocked(q.event.id)) {
        p->queued_bytes -= std::min(q.bytes, p->queued_bytes);
        UpdateInterestLocked(*p);
      }
    }
  }
  // When the next turn is due without an event: the nearest deadline, exit grace or retry.
  {
    std::lock_guard<std::mutex> lock(mu_);
    Clock::time_point now = Clock::now();
    auto consider = [&](Clock::time_point t) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() + 1;
      timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 0, timeout_ms));
    };
    for (auto& [id, p] : procs_) {
      if (p->finished) continue;
      if (p->deadline && !p->reaped) consider(*p->deadline);
      // Only streams being read can be idle; a paused one waits for acks, which wake us.
      if (p->reaped && (p->out.armed || p->err.armed)) {
        consider(p->last_activity + options_.exit_grace);
      }
    }
    if (retrying_) consider(retry_at_);
  }
  return std::chrono::milliseconds(timeout_ms);
}

void ProcessSupervisor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(box_->mu);
    box_->target = nullptr;  // acks arriving from now on do nothing
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;  // Spawn refuses from now on
  }
  stop_ = true;
  if (hook_ != nullptr) {
    // Waits for a turn in progress; the loop's pending completions find no target from now on.
    std::lock_guard<std::mutex> lock(hook_->mu);
    hook_->target = nullptr;
    hook_->timer.cancel();
    hook_->watch.cancel();
    hook_->watch.release();  // the descriptor is epfd_, closed below
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Every shim at once, then wait for each: they kill their subtrees in parallel.
  for (auto& [id, p] : procs_) KillShim(*p);
  for (auto& [id, p] : procs_) {
    if (!p->reaped) {
      WaitShim(p->shim_pid, p->pidfd);
      p->reaped = true;
    }
    CloseProcFds(*p);
  }
  procs_.clear();
  queue_.clear();
  CloseFd(epfd_);
  CloseFd(wakefd_);
}

}  // namespace theater::handlers
