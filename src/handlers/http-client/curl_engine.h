// Theater: a WebAssembly actor runtime.
//
// CurlEngine: the HTTP transfers of one http-client handler instance, run by libcurl's multi
// interface on one thread the engine owns, so that any number of requests are in flight without
// holding a runtime worker each. A caller starts a Transfer with a callback; the engine thread
// calls it once the transfer has its outcome (a response or a classified error), and the caller
// (the handler, suspended in runtime::Await) picks the outcome up.
//
// Redirects are followed by the engine itself, not by libcurl: every hop's target is parsed,
// checked by the caller's `allow_redirect` (the actor's host/method permission) and counted
// against `max_redirects` *before* anything connects to it. The method changes as browsers and
// libcurl do (303: GET; 301/302 from POST: GET; 307/308: kept), and credentials headers are
// dropped when the host changes.
//
// Errors are classified by kind (HttpErrorKind), whose names prefix the `err` strings the actor
// sees ("dns: ...", "timeout: ..."); docs/handlers.md lists them.
//
// Thread-safety: Start, Cancel and Shutdown may be called from any thread. A Transfer's outcome
// is written once by the engine thread and read by anyone after the callback ran (or
// WaitDone). The callback runs on the engine thread and must not block. The engine must outlive
// nothing in particular: destroying it (or Shutdown) cancels what is in flight, calls every
// pending callback and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "theater/status.h"

namespace theater::handlers {

// What went wrong with a request; the name is the stable prefix of the err string.
enum class HttpErrorKind {
  kInvalidArgument,   // "invalid-argument": bad method, URL, header
  kPermissionDenied,  // "permission-denied": host/method refused (also for a redirect)
  kDns,               // "dns": the host name could not be resolved
  kConnect,           // "connect": no TCP connection (refused, unreachable)
  kTls,               // "tls": handshake or certificate verification failed
  kTimeout,           // "timeout": connect or total timeout passed
  kLimit,             // "limit": response too large, too many redirects, headers too large
  kTransfer,          // "transfer": connected, but the exchange failed (reset, bad reply)
  kCancelled,         // "cancelled": the actor stopped while the request ran
  kInternal,          // "internal": a bug or resource failure in the host
};
std::string_view HttpErrorKindName(HttpErrorKind kind);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// An absolute http(s) URL as libcurl understands it.
struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case, IPv6 without brackets: what permissions compare
  std::string url;     // libcurl's normalised form: what is actually requested
};
// Errors (kInvalidArgument): not a URL, a scheme other than http/https, no host.
Result<ParsedUrl> ParseHttpUrl(std::string_view url);

struct TransferSpec {
  std::string method;  // an upper-case token
  std::string url;     // a ParsedUrl::url
  HeaderList headers;  // validated: no CR, LF or NUL; names are tokens
  std::optional<std::vector<uint8_t>> body;
  uint64_t max_redirects = 10;
  uint64_t connect_timeout_ms = 10'000;
  uint64_t timeout_ms = 30'000;  // for the whole transfer, redirects included
  uint64_t max_response_bytes = 16ull << 20;
  bool tls_verify = true;
  std::string ca_file;  // empty: the system's CA store
  // Called on the engine thread before a redirect to `host` with `method` is followed; an error
  // refuses it (the outcome is kPermissionDenied with the error's message). Unset: all allowed.
  std::function<Status(std::string_view method, std::string_view host)> allow_redirect;
};

struct HttpResponseData {
  uint16_t status = 0;
  HeaderList headers;  // of the final response, in order, values as sent (not UTF-8-checked)
  std::vector<uint8_t> body;
  std::string url;         // the URL that answered (after redirects)
  uint32_t redirects = 0;  // how many were followed
};

struct TransferOutcome {
  std::optional<HttpErrorKind> error;  // nullopt: `response` holds the answer
  std::string message;                 // why, when error is set
  HttpResponseData response;
  bool ok() const { return !error.has_value(); }
  // "<kind>: <message>"; "ok" when there is no error.
  std::string ErrorString() const;
};

// One request. Created by CurlEngine::Start; shared by the engine and the caller.
class Transfer {
 public:
  bool done() const;
  // Blocks until the outcome is there (for callers that cannot suspend).
  void WaitDone() const;
  // The outcome; call once, after done().
  TransferOutcome TakeOutcome();

 private:
  friend class CurlEngine;
  void Finish(TransferOutcome outcome);

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<TransferOutcome> outcome_;  // guarded by mu_
  bool taken_ = false;                      // guarded by mu_
  std::function<void()> on_done_;           // set before the engine sees the transfer
  TransferSpec spec_;                       // read by the engine thread only after Start
};

class CurlEngine {
 public:
  // Initialises libcurl (once per process), creates the multi handle and starts the thread.
  static Result<std::unique_ptr<CurlEngine>> Create();
  ~CurlEngine();
  CurlEngine(const CurlEngine&) = delete;
  CurlEngine& operator=(const CurlEngine&) = delete;

  // Starts `spec`; `on_done` runs on the engine thread once the outcome is set. After
  // Shutdown the transfer finishes at once as cancelled.
  std::shared_ptr<Transfer> Start(TransferSpec spec, std::function<void()> on_done);
  // Aborts `transfer` (closing its connection) if it has not finished; its outcome becomes
  // kCancelled. Returns at once; the abort happens on the engine thread within milliseconds.
  void Cancel(const std::shared_ptr<Transfer>& transfer);
  // Cancels everything in flight and joins the thread. Idempotent.
  void Shutdown();

  // How many transfers are in flight (queued or running); for tests.
  size_t in_flight() const;

 private:
  struct Active;
  CurlEngine() = default;
  void Run();
  void Wakeup();

  void* multi_ = nullptr;  // CURLM*, used by the engine thread only (and wakeup)
  std::thread thread_;

  mutable std::mutex mu_;
  bool stopping_ = false;                             // guarded by mu_
  std::vector<std::shared_ptr<Transfer>> pending_;    // guarded by mu_
  std::vector<std::shared_ptr<Transfer>> cancelled_;  // guarded by mu_
  size_t in_flight_ = 0;                              // guarded by mu_
};

}  // namespace theater::handlers
