// Theater: a WebAssembly actor runtime.
#include "common/curl_engine.h"

#include "common/ascii.h"
#include "common/utf8.h"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <map>

namespace theater {
namespace {

using Clock = std::chrono::steady_clock;

// Response headers beyond this (per hop) abort the transfer: libcurl caps a single header line,
// not how many lines a hostile server sends.
constexpr size_t kMaxHeaderBytes = 256 * 1024;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) {
    --e;
  }
  return std::string(s.substr(b, e - b));
}

HttpErrorKind KindOf(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpErrorKind::kDns;
    case CURLE_COULDNT_CONNECT:
      return HttpErrorKind::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpErrorKind::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return HttpErrorKind::kTls;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_TOO_MANY_REDIRECTS:
      return HttpErrorKind::kLimit;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return HttpErrorKind::kInvalidArgument;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_FAILED_INIT:
    case CURLE_ABORTED_BY_CALLBACK:
      return HttpErrorKind::kInternal;
    default:
      return HttpErrorKind::kTransfer;
  }
}

TransferOutcome Failure(HttpErrorKind kind, std::string message) {
  TransferOutcome out;
  out.error = kind;
  out.message = std::move(message);
  return out;
}

}  // namespace

std::string_view HttpErrorKindName(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kInvalidArgument:
      return "invalid-argument";
    case HttpErrorKind::kPermissionDenied:
      return "permission-denied";
    case HttpErrorKind::kDns:
      return "dns";
    case HttpErrorKind::kConnect:
      return "connect";
    case HttpErrorKind::kTls:
      return "tls";
    case HttpErrorKind::kTimeout:
      return "timeout";
    case HttpErrorKind::kLimit:
      return "limit";
    case HttpErrorKind::kTransfer:
      return "transfer";
    case HttpErrorKind::kCancelled:
      return "cancelled";
    case HttpErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

std::string TransferOutcome::ErrorString() const {
  if (!error) return "ok";
  return std::string(HttpErrorKindName(*error)) + ": " + message;
}

Result<ParsedUrl> ParseHttpUrl(std::string_view url) {
  InitCurlOnce();
  if (url.find('\0') != std::string_view::npos) {
    return InvalidArgument("URL contains a NUL byte");
  }
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u) return InternalError("curl_url failed");
  std::string text(url);
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    return InvalidArgument("invalid URL '" + text + "': " + curl_url_strerror(rc) +
                           " (an absolute http or https URL is required)");
  }
  auto part = [&](CURLUPart which) -> std::string {
    char* value = nullptr;
    if (curl_url_get(u.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string out(value);
    curl_free(value);
    return out;
  };
  ParsedUrl parsed;
  parsed.scheme = AsciiLower(part(CURLUPART_SCHEME));
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return InvalidArgument("invalid URL '" + text + "': scheme '" + parsed.scheme +
                           "' is not http or https");
  }
  parsed.host = AsciiLower(part(CURLUPART_HOST));
  if (parsed.host.size() >= 2 && parsed.host.front() == '[' && parsed.host.back() == ']') {
    parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
  }
  if (parsed.host.empty()) return InvalidArgument("invalid URL '" + text + "': no host");
  parsed.url = part(CURLUPART_URL);
  return parsed;
}

// ---- libcurl's callbacks --------------------------------------------------------------------

// Exact C signatures for libcurl, forwarding to the engine (which libcurl calls only on its
// strand).
struct CurlCallbacks {
  static int Socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* /*socketp*/) {
    static_cast<CurlEngine*>(self)->Watch(fd, what);
    return 0;
  }
  static int Timer(CURLM* /*multi*/, long timeout_ms, void* self) {
    static_cast<CurlEngine*>(self)->SetTimer(timeout_ms);
    return 0;
  }
  static curl_socket_t Open(void* self, curlsocktype /*purpose*/, struct curl_sockaddr* address) {
    return static_cast<CurlEngine*>(self)->OpenSocket(address->family, address->socktype,
                                                      address->protocol);
  }
  static int Close(void* self, curl_socket_t fd) {
    static_cast<CurlEngine*>(self)->CloseSocket(fd);
    return 0;
  }
};

// ---- Transfer -------------------------------------------------------------------------------

bool Transfer::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return outcome_.has_value() || taken_;
}

void Transfer::WaitDone() const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return outcome_.has_value() || taken_; });
}

TransferOutcome Transfer::TakeOutcome() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!outcome_) return Failure(HttpErrorKind::kInternal, "the transfer has no outcome");
  TransferOutcome out = std::move(*outcome_);
  outcome_.reset();
  taken_ = true;
  return out;
}

void Transfer::Finish(TransferOutcome outcome) {
  std::function<void()> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (outcome_ || taken_) return;
    outcome_ = std::move(outcome);
    done = std::move(on_done_);
  }
  cv_.notify_all();
  if (done) done();
}

// ---- the engine's state of one running transfer ----------------------------------------------

struct CurlEngine::Active {
  std::shared_ptr<Transfer> transfer;
  CurlEngine* engine = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  // The current hop.
  std::string method;
  std::string url;
  std::string host;
  HeaderList headers;
  std::optional<std::vector<uint8_t>> body;
  Clock::time_point deadline;

  // What the current hop received.
  HeaderList response_headers;
  std::vector<uint8_t> response_body;
  size_t header_bytes = 0;
  bool body_over_limit = false;
  bool headers_over_limit = false;
  uint32_t redirects = 0;

  ~Active() {
    if (easy) curl_easy_cleanup(easy);
    if (header_list) curl_slist_free_all(header_list);
  }

  const TransferSpec& spec() const { return transfer->spec_; }

  // The outcome when the deadline passes between hops.
  TransferOutcome TimedOut() const {
    return Failure(HttpErrorKind::kTimeout, url + ": no complete response within " +
                                                std::to_string(spec().timeout_ms) +
                                                " ms (timeout_ms)");
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Active*>(user);
    size_t n = size * count;
    if (self->response_body.size() + n > self->spec().max_response_bytes) {
      self->body_over_limit = true;
      return 0;  // libcurl aborts with CURLE_WRITE_ERROR
    }
    self->response_body.insert(self->response_body.end(), data, data + n);
    return n;
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Active*>(user);
    size_t n = size * count;
    std::string_view line(data, n);
    if (line.substr(0, 5) == "HTTP/") {
      // A new response (after a 1xx interim one): only the last one's headers count.
      self->response_headers.clear();
      self->header_bytes = 0;
    }
    self->header_bytes += n;
    if (self->header_bytes > kMaxHeaderBytes) {
      self->headers_over_limit = true;
      return 0;
    }
    if (line.substr(0, 5) == "HTTP/") return n;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return n;  // the blank end line
    self->response_headers.emplace_back(std::string(line.substr(0, colon)),
                                        Trim(line.substr(colon + 1)));
    return n;
  }

  // (Re)configures the easy handle for the current hop. False when the deadline passed.
  bool Configure() {
    curl_easy_reset(easy);
    if (header_list) curl_slist_free_all(header_list);
    header_list = nullptr;
    response_headers.clear();
    response_body.clear();
    header_bytes = 0;
    error[0] = '\0';

    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) return false;
    const TransferSpec& s = spec();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // followed here, after the checks
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    // Environment proxies (http_proxy, ...) would send the request to a host the permission
    // never saw: an actor's request connects directly (TransferSpec::environment_proxy).
    if (!s.environment_proxy) curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<uint64_t>(s.connect_timeout_ms, remaining)));
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(s.max_response_bytes));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, s.tls_verify ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, s.tls_verify ? 2L : 0L);
    if (!s.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, s.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Active::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Active::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
    // The engine makes and closes the sockets, so that the loop owns the descriptors it watches.
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlCallbacks::Open);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, engine);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlCallbacks::Close);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, engine);

    if (method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (method != "GET" || body) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    // HEAD never carries a body. POST, PUT and PATCH always do, if only an empty one: without
    // a Content-Length the server would wait for a body that never comes.
    bool sends_body = method != "HEAD" && (body.has_value() || method == "POST" ||
                                           method == "PUT" || method == "PATCH");
    if (sends_body) {
      curl_off_t size = body ? static_cast<curl_off_t>(body->size()) : 0;
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                       body ? body->data() : reinterpret_cast<const uint8_t*>(""));
      // POSTFIELDS switches the method to POST unless a custom one is set.
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    bool has_content_type = false, has_expect = false;
    for (const auto& [name, value] : headers) {
      has_content_type |= AsciiEqualsIgnoreCase(name, "content-type");
      has_expect |= AsciiEqualsIgnoreCase(name, "expect");
      // "Name;" is libcurl's way to send a header with an empty value.
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      header_list = curl_slist_append(header_list, line.c_str());
    }
    // libcurl would add a form Content-Type to a body and wait for "100 Continue" on large
    // ones: send exactly what the actor asked for.
    if (sends_body && !has_content_type) {
      header_list = curl_slist_append(header_list, "Content-Type:");
    }
    if (!has_expect) header_list = curl_slist_append(header_list, "Expect:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
    return true;
  }
};

// One of libcurl's sockets on the loop. The engine opens and closes the transfers' sockets itself
// (CURLOPT_OPENSOCKETFUNCTION), so the descriptor the loop watches is never closed behind its
// back; a descriptor libcurl makes on its own (its resolver's wake-up pipe) is watched but never
// closed here (`owned` false: released, not closed, when libcurl lets go of it).
struct CurlEngine::Socket {
  Socket(const boost::asio::strand<boost::asio::io_context::executor_type>& strand, int fd,
         uint64_t serial, bool owned)
      : descriptor(strand, fd), serial(serial), owned(owned) {}
  ~Socket() {
    if (!owned) descriptor.release();
  }
  boost::asio::posix::stream_descriptor descriptor;  // closes an owned socket when destroyed
  const uint64_t serial;  // tells a late completion for a closed socket from its fd's reuse
  const bool owned;
  int wanted = 0;        // CURL_POLL_IN / CURL_POLL_OUT bits libcurl asked for
  bool reading = false;  // a read wait is pending
  bool writing = false;  // a write wait is pending
};

// ---- CurlEngine -----------------------------------------------------------------------------

boost::asio::io_context::id CurlEngine::id;

Result<CurlEngine*> CurlEngine::Of(boost::asio::io_context& io) {
  CurlEngine& engine = boost::asio::use_service<CurlEngine>(io);
  if (!engine.init_error_.ok()) return engine.init_error_;
  return &engine;
}

CurlEngine::CurlEngine(boost::asio::io_context& io)
    : boost::asio::io_context::service(io),
      io_(io),
      strand_(boost::asio::make_strand(io)),
      timer_(strand_) {
  InitCurlOnce();
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    init_error_ = InternalError("curl_multi_init failed");
    return;
  }
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlCallbacks::Socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlCallbacks::Timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  multi_ = multi;
}

CurlEngine::~CurlEngine() {
  shutdown();
}

std::shared_ptr<Transfer> CurlEngine::Start(TransferSpec spec, std::function<void()> on_done) {
  auto transfer = std::make_shared<Transfer>();
  transfer->spec_ = std::move(spec);
  transfer->on_done_ = std::move(on_done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && multi_ != nullptr) {
      in_flight_.emplace(transfer.get(), transfer);
      boost::asio::post(strand_, [this, transfer] { Begin(transfer); });
      return transfer;
    }
  }
  transfer->Finish(Failure(HttpErrorKind::kCancelled, "the host's I/O loop has stopped"));
  return transfer;
}

void CurlEngine::Cancel(const std::shared_ptr<Transfer>& transfer) {
  if (!transfer || transfer->done()) return;
  boost::asio::post(strand_, [this, transfer] { Abort(transfer); });
}

size_t CurlEngine::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_.size();
}

void CurlEngine::shutdown() {
  std::map<Transfer*, std::shared_ptr<Transfer>> unfinished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    unfinished.swap(in_flight_);
  }
  // The loop's threads have stopped: nothing else touches the engine's state now.
  CURLM* multi = static_cast<CURLM*>(multi_);
  for (auto& [raw, active] : active_) {
    if (multi != nullptr) curl_multi_remove_handle(multi, active->easy);
  }
  active_.clear();
  if (multi != nullptr) curl_multi_cleanup(multi);  // closes the pooled connections' sockets
  multi_ = nullptr;
  sockets_.clear();
  timer_.cancel();
  // Outside any libcurl call: a callback wakes a call, which may do anything.
  for (auto& [raw, transfer] : unfinished) {
    transfer->Finish(Failure(HttpErrorKind::kCancelled, "the host's I/O loop has stopped"));
  }
}

void CurlEngine::Finish(Active* a, TransferOutcome outcome) {
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), a->easy);
  std::shared_ptr<Transfer> t = a->transfer;
  active_.erase(t.get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(t.get());
  }
  t->Finish(std::move(outcome));
}

void CurlEngine::Begin(const std::shared_ptr<Transfer>& t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_.find(t.get()) == in_flight_.end()) return;  // shut down meanwhile
  }
  auto a = std::make_unique<Active>();
  a->transfer = t;
  a->engine = this;
  a->easy = curl_easy_init();
  Active* raw = a.get();
  active_[t.get()] = std::move(a);
  if (raw->easy == nullptr) {
    return Finish(raw, Failure(HttpErrorKind::kInternal, "curl_easy_init failed"));
  }
  const TransferSpec& s = t->spec_;
  raw->method = s.method;
  raw->url = s.url;
  raw->headers = s.headers;
  raw->body = s.body;
  raw->deadline = Clock::now() + std::chrono::milliseconds(s.timeout_ms);
  Result<ParsedUrl> parsed = ParseHttpUrl(s.url);
  if (!parsed.ok()) {
    return Finish(raw, Failure(HttpErrorKind::kInvalidArgument, parsed.status().message()));
  }
  raw->host = parsed->host;
  if (!raw->Configure()) return Finish(raw, raw->TimedOut());
  curl_multi_add_handle(static_cast<CURLM*>(multi_), raw->easy);
}

void CurlEngine::Abort(const std::shared_ptr<Transfer>& t) {
  auto it = active_.find(t.get());
  if (it != active_.end()) {
    return Finish(it->second.get(), Failure(HttpErrorKind::kCancelled,
                                            it->second->url + ": the request was cancelled"));
  }
  // Not begun yet (its Begin is queued behind this): it never will.
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued = in_flight_.erase(t.get()) > 0;
  }
  if (queued) t->Finish(Failure(HttpErrorKind::kCancelled, "the request was cancelled"));
}

// A hop ended with `code`: finish the transfer, or follow the redirect.
void CurlEngine::HopDone(Active* a, int curl_code) {
  const CURLcode code = static_cast<CURLcode>(curl_code);
  const TransferSpec& s = a->spec();
  if (a->body_over_limit || code == CURLE_FILESIZE_EXCEEDED) {
    TransferOutcome out =
        Failure(HttpErrorKind::kLimit, a->url + ": the response body exceeds " +
                                           std::to_string(s.max_response_bytes) +
                                           " bytes (max_response_bytes); the transfer was aborted");
    out.limit = HttpLimit::kBody;
    return Finish(a, std::move(out));
  }
  if (a->headers_over_limit) {
    TransferOutcome out =
        Failure(HttpErrorKind::kLimit, a->url + ": the response headers exceed " +
                                           std::to_string(kMaxHeaderBytes) + " bytes");
    out.limit = HttpLimit::kHeaders;
    return Finish(a, std::move(out));
  }
  if (code != CURLE_OK) {
    std::string detail = a->error[0] ? a->error : curl_easy_strerror(code);
    TransferOutcome out = Failure(KindOf(code), a->url + ": " + detail);
    out.detail = std::move(detail);
    return Finish(a, std::move(out));
  }
  long status = 0;
  curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &status);
  char* location = nullptr;
  curl_easy_getinfo(a->easy, CURLINFO_REDIRECT_URL, &location);
  bool redirect = location != nullptr && (status == 301 || status == 302 || status == 303 ||
                                          status == 307 || status == 308);
  if (!redirect) {
    TransferOutcome out;
    out.response.status = static_cast<uint16_t>(status);
    out.response.headers = std::move(a->response_headers);
    out.response.body = std::move(a->response_body);
    out.response.url = a->url;
    out.response.redirects = a->redirects;
    return Finish(a, std::move(out));
  }
  std::string target(location);
  if (a->redirects >= s.max_redirects) {
    TransferOutcome out = Failure(
        HttpErrorKind::kLimit,
        "too many redirects: " + QuoteInput(a->url) + " redirects (" + std::to_string(status) +
            ") to " + QuoteInput(target) + " after " + std::to_string(a->redirects) + " redirect(s); at most " +
            std::to_string(s.max_redirects) + " are followed (max_redirects)");
    out.limit = HttpLimit::kRedirects;
    return Finish(a, std::move(out));
  }
  Result<ParsedUrl> next = ParseHttpUrl(target);
  if (!next.ok()) {
    return Finish(a, Failure(HttpErrorKind::kTransfer,
                             a->url + " redirects to an invalid URL: " + next.status().message()));
  }
  std::string method = a->method;
  bool drop_body = false;
  if ((status == 303 && method != "HEAD") ||
      ((status == 301 || status == 302) && method == "POST")) {
    method = "GET";
    drop_body = true;
  }
  if (s.allow_redirect) {
    Status allowed = s.allow_redirect(method, next->host);
    if (!allowed.ok()) {
      return Finish(a, Failure(HttpErrorKind::kPermissionDenied,
                               "redirect from " + a->url + " to " + next->url +
                                   " refused: " + allowed.message()));
    }
  }
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), a->easy);
  if (drop_body) {
    a->body.reset();
    std::erase_if(a->headers, [](const auto& h) {
      return AsciiEqualsIgnoreCase(h.first, "content-type") ||
             AsciiEqualsIgnoreCase(h.first, "content-length");
    });
  }
  if (next->host != a->host) {
    // Credentials meant for one host are not handed to another.
    std::erase_if(a->headers, [](const auto& h) {
      return AsciiEqualsIgnoreCase(h.first, "authorization") ||
             AsciiEqualsIgnoreCase(h.first, "cookie") ||
             AsciiEqualsIgnoreCase(h.first, "proxy-authorization");
    });
  }
  a->method = method;
  a->url = next->url;
  a->host = next->host;
  ++a->redirects;
  if (!a->Configure()) return Finish(a, a->TimedOut());
  curl_multi_add_handle(static_cast<CURLM*>(multi_), a->easy);
}

void CurlEngine::ReadMessages() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(static_cast<CURLM*>(multi_), &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    HopDone(static_cast<Active*>(priv), msg->data.result);
  }
}

int CurlEngine::OpenSocket(int domain, int type, int protocol) {
  const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  // A stale entry under the same number (a descriptor of libcurl's own, closed without a word)
  // goes first: the loop cannot watch one number twice.
  sockets_.erase(fd);
  try {
    sockets_.emplace(fd, std::make_unique<Socket>(strand_, fd, ++next_serial_, /*owned=*/true));
  } catch (const std::exception&) {
    ::close(fd);  // the loop cannot watch it (out of memory): the connection fails
    return CURL_SOCKET_BAD;
  }
  return fd;
}

void CurlEngine::CloseSocket(int fd) {
  auto it = sockets_.find(fd);
  const bool owned = it != sockets_.end() && it->second->owned;
  if (it != sockets_.end()) sockets_.erase(it);  // an owned descriptor closes its socket
  if (!owned) ::close(fd);
}

void CurlEngine::Watch(int fd, int what) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) {
    if (what == CURL_POLL_REMOVE) return;
    try {
      it = sockets_.emplace(fd, std::make_unique<Socket>(strand_, fd, ++next_serial_, false)).first;
    } catch (const std::exception&) {
      return;  // not watched: libcurl's timer still drives the transfer, later
    }
  }
  Socket& socket = *it->second;
  if (what == CURL_POLL_REMOVE && !socket.owned) {
    sockets_.erase(it);  // libcurl closes it itself
    return;
  }
  socket.wanted = what == CURL_POLL_REMOVE ? 0 : what;
  if (socket.wanted & CURL_POLL_IN) Arm(fd, /*write=*/false);
  if (socket.wanted & CURL_POLL_OUT) Arm(fd, /*write=*/true);
}

void CurlEngine::Arm(int fd, bool write) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return;
  Socket& socket = *it->second;
  bool& pending = write ? socket.writing : socket.reading;
  if (pending) return;
  pending = true;
  const uint64_t serial = socket.serial;
  auto ready = [this, fd, serial, write](boost::system::error_code ec) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second->serial != serial) return;  // closed meanwhile
    (write ? it->second->writing : it->second->reading) = false;
    if (ec) return;  // cancelled
    OnReady(fd, write);
  };
  // The loop's reactor reports a descriptor's readiness as it changes (edge-triggered), and a
  // wait started after the change would miss it: libcurl may have left bytes unread on its last
  // turn. So a socket that is ready now is handed to libcurl at once.
  pollfd probe{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
  if (::poll(&probe, 1, 0) > 0) {
    boost::asio::post(strand_, [ready] { ready(boost::system::error_code()); });
    return;
  }
  socket.descriptor.async_wait(write ? boost::asio::posix::stream_descriptor::wait_write
                                     : boost::asio::posix::stream_descriptor::wait_read,
                               std::move(ready));
}

void CurlEngine::OnReady(int fd, bool write) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end() || !(it->second->wanted & (write ? CURL_POLL_OUT : CURL_POLL_IN))) {
    return;
  }
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_), fd,
                           write ? CURL_CSELECT_OUT : CURL_CSELECT_IN, &running);
  ReadMessages();
  // Still wanted (libcurl's callback may have changed what, or closed the socket): wait again.
  it = sockets_.find(fd);
  if (it != sockets_.end() && (it->second->wanted & (write ? CURL_POLL_OUT : CURL_POLL_IN))) {
    Arm(fd, write);
  }
}

void CurlEngine::SetTimer(long timeout_ms) {
  timer_.cancel();
  if (timeout_ms < 0) return;  // libcurl needs no timeout now
  timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // replaced or cancelled
    int running = 0;
    curl_multi_socket_action(static_cast<CURLM*>(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
    ReadMessages();
  });
}

}  // namespace theater
