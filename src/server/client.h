// Theater: a WebAssembly actor runtime.
//
// ManagementClient: a blocking client for the management protocol (docs/protocol.md), used by
// the `theater` CLI, the end-to-end tests and the benchmarks.
//
// It wraps every command in an envelope with a fresh request id, so replies and pushes are told
// apart exactly: Call() returns the reply to its command and queues the pushes that arrive
// meanwhile, which NextPush() hands out. The server's compile progress (pushed while a command
// that said "progress": true waits) goes to the handler set with OnCompileProgress() instead,
// and each report gives the reply another reply_timeout: the server is working on it.
//
// Thread-safety: not thread-safe; one thread uses a client at a time.
// Ownership: owns its socket; the destructor closes it.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/framing.h"
#include "server/protocol.h"
#include "theater/status.h"

namespace theater::server {

class ManagementClient {
 public:
  struct Options {
    std::string address = "127.0.0.1:9000";  // host:port
    std::optional<std::string> token;
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds reply_timeout{60'000};
  };

  // Connects (and authenticates, when a token is given). Errors: kUnavailable with a message
  // that says the server is not running when nothing listens there.
  static Result<std::unique_ptr<ManagementClient>> Connect(Options options);
  ~ManagementClient();
  ManagementClient(const ManagementClient&) = delete;
  ManagementClient& operator=(const ManagementClient&) = delete;

  // Sends `command` and waits for its reply. An Error reply becomes a failed Status
  // (StatusFromError); any other reply is returned as its variant.
  Result<Variant> Call(const nlohmann::json& command);
  // The same, but an Error reply is returned as the variant instead of a Status.
  Result<Variant> CallRaw(const nlohmann::json& command);
  // Sends raw bytes as one message (tests use it for malformed commands).
  Status SendMessage(std::span<const uint8_t> message);
  // Sends raw bytes on the socket, outside any framing.
  Status SendRaw(std::span<const uint8_t> bytes);

  // The next push (ActorEvent, ActorResult, ChannelMessage, ChannelClosed by the actor), waiting
  // up to `timeout`; nullopt on timeout. Errors: the connection failed or closed.
  Result<std::optional<Variant>> NextPush(std::chrono::milliseconds timeout);
  // The next ActorEvent push (an event, or a gap notice), waiting up to `timeout`; nullopt on
  // timeout. Other pushes that arrive meanwhile are kept for NextPush(). Reads the server's
  // canonical form without a JSON tree, so a subscriber keeps up with a busy actor.
  Result<std::optional<EventPush>> NextEvent(std::chrono::milliseconds timeout);
  // The next message of any kind, unparsed (tests).
  Result<std::optional<std::vector<uint8_t>>> NextMessage(std::chrono::milliseconds timeout);

  // Where CompileProgress pushes go while Call() waits (null: queued for NextPush like any
  // other). Called on the calling thread.
  void OnCompileProgress(std::function<void(const engine::CompileProgress&)> handler) {
    compile_progress_ = std::move(handler);
  }

  int fd() const { return fd_; }

 private:
  explicit ManagementClient(int fd, Options options) : fd_(fd), options_(std::move(options)) {}
  Status Receive(std::chrono::steady_clock::time_point deadline, bool* timed_out);

  int fd_;
  Options options_;
  FrameEncoder encoder_{kCompactCompleteMax};
  FrameDecoder decoder_;
  uint64_t next_request_id_ = 1;
  std::deque<std::vector<uint8_t>> received_;  // messages read but not yet consumed
  std::deque<Variant> pushes_;
  std::function<void(const engine::CompileProgress&)> compile_progress_;
};

// "host:port" → host and port. Accepts "[v6]:port". Errors: kInvalidArgument.
Result<std::pair<std::string, uint16_t>> SplitAddress(const std::string& address);

}  // namespace theater::server
