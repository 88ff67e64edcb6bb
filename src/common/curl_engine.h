// Theater: a WebAssembly actor runtime.
//
// CurlEngine: the HTTP transfers of one host, run by libcurl's multi interface on the host's I/O
// loop (include/theater/io_loop.h): the http-client handler's requests and the runtime's fetches
// of http(s) references for spawns (StartFetch, common/fetch.h). The loop watches libcurl's
// sockets and its timer, so that any number of requests of any number of actors are in flight
// without a thread each (or a runtime worker or loader thread each). It lives below the runtime
// and the handlers (library theater_fetch), so both use it without one depending on the other. One
// engine per loop: an Asio service of the loop's io_context (CurlEngine::Of), destroyed with it. A
// caller starts a Transfer with a callback; the engine calls it once the transfer has its outcome
// (a response or a classified error), and the caller (the handler, suspended in runtime::Await)
// picks the outcome up.
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
// Thread-safety: Start, Cancel and in_flight may be called from any thread. Everything libcurl
// sees runs on one strand of the loop, so the engine is right for any number of loop threads. A
// Transfer's outcome is written once on that strand and read by anyone after the callback ran
// (or WaitDone). The callback runs on the loop and must not block. Destroying the loop's context
// cancels what is in flight and calls every pending callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "theater/status.h"

namespace theater {

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
  // Honour the environment's proxies (http_proxy, https_proxy, no_proxy). Off for an actor's
  // requests: a proxy would receive a request for a host the permission never saw. On for the
  // runtime's own fetches (StartFetch), which have always gone where the operator's proxy says.
  bool environment_proxy = false;
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

// Which limit a kLimit outcome hit.
enum class HttpLimit { kNone, kBody, kRedirects, kHeaders };

struct TransferOutcome {
  std::optional<HttpErrorKind> error;  // nullopt: `response` holds the answer
  std::string message;                 // why, when error is set
  // The cause alone, without the URL: libcurl's words for a transfer error, empty otherwise.
  // For callers that word their own messages (FetchResult, common/fetch.h).
  std::string detail;
  HttpLimit limit = HttpLimit::kNone;  // with kLimit
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

class CurlEngine final : public boost::asio::io_context::service {
 public:
  static boost::asio::io_context::id id;  // the Asio service's key

  // The engine of `io`'s loop, created on its first use (libcurl initialised once per process).
  // Fails when libcurl cannot create its multi handle.
  static Result<CurlEngine*> Of(boost::asio::io_context& io);

  // For boost::asio::use_service (call Of instead).
  explicit CurlEngine(boost::asio::io_context& io);
  ~CurlEngine() override;
  CurlEngine(const CurlEngine&) = delete;
  CurlEngine& operator=(const CurlEngine&) = delete;

  // Starts `spec`; `on_done` runs on the loop once the outcome is set. Once the loop is shutting
  // down, the transfer finishes at once as cancelled.
  std::shared_ptr<Transfer> Start(TransferSpec spec, std::function<void()> on_done);
  // Aborts `transfer` (closing its connection) if it has not finished; its outcome becomes
  // kCancelled. Returns at once; the abort happens on the loop within milliseconds.
  void Cancel(const std::shared_ptr<Transfer>& transfer);

  // How many transfers are in flight (queued or running); for tests.
  size_t in_flight() const;

 private:
  struct Active;  // a running transfer's libcurl state
  struct Socket;  // one of libcurl's sockets, as the loop watches it

  // The context is being destroyed (its threads have stopped): every transfer finishes as
  // cancelled, libcurl lets go of its sockets.
  void shutdown() override;

  // On the strand.
  void Begin(const std::shared_ptr<Transfer>& transfer);
  void Abort(const std::shared_ptr<Transfer>& transfer);
  void Finish(Active* active, TransferOutcome outcome);
  void HopDone(Active* active, int curl_code);
  void ReadMessages();
  // libcurl's callbacks (CurlCallbacks in curl_engine.cc has their exact C signatures), called
  // inside libcurl calls on the strand.
  friend struct CurlCallbacks;
  void Watch(int fd, int what);    // CURLMOPT_SOCKETFUNCTION: CURL_POLL_* for `fd`
  void SetTimer(long timeout_ms);  // CURLMOPT_TIMERFUNCTION
  int OpenSocket(int domain, int type, int protocol);  // CURLOPT_OPENSOCKETFUNCTION
  void CloseSocket(int fd);                            // CURLOPT_CLOSESOCKETFUNCTION
  // Waits for `fd` to become readable (or writable); OnReady then tells libcurl.
  void Arm(int fd, bool write);
  void OnReady(int fd, bool write);

  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;  // libcurl's timeout; on the strand
  void* multi_ = nullptr;            // CURLM*, used on the strand only (and in shutdown)
  Status init_error_;                // why the multi handle is missing

  // On the strand: the running transfers and libcurl's sockets.
  std::map<Transfer*, std::unique_ptr<Active>> active_;
  std::map<int, std::unique_ptr<Socket>> sockets_;
  uint64_t next_serial_ = 0;

  mutable std::mutex mu_;
  bool stopping_ = false;  // guarded by mu_
  // Every transfer started and not finished (queued on the strand or running), so that a
  // shutdown finishes even those whose Begin never ran. Guarded by mu_.
  std::map<Transfer*, std::shared_ptr<Transfer>> in_flight_;
};

}  // namespace theater
