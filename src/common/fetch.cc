// Theater: a WebAssembly actor runtime.
#include "common/fetch.h"

#include <boost/asio/io_context.hpp>

#include <algorithm>

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "common/curl_engine.h"
#include "common/utf8.h"

namespace theater {
namespace {

TransferSpec FetchSpec(const std::string& url, const FetchOptions& options) {
  TransferSpec spec;
  spec.method = "GET";
  spec.url = url;
  spec.headers = {{"User-Agent", "theater"}};
  spec.max_redirects = static_cast<uint64_t>(std::max(options.max_redirects, 0));
  const auto timeout_ms = static_cast<uint64_t>(std::max<int64_t>(options.timeout.count(), 0));
  spec.timeout_ms = timeout_ms;
  spec.connect_timeout_ms = timeout_ms;  // only the whole transfer is bounded, as it always was
  spec.max_response_bytes = options.max_bytes;
  spec.tls_verify = options.verify_tls;
  spec.environment_proxy = true;
  return spec;
}

// FetchUrl's Status for what the engine made of a transfer of `url`.
Result<std::vector<uint8_t>> FetchResult(const std::string& url, const FetchOptions& options,
                                         TransferOutcome outcome) {
  const std::string prefix = "fetching " + QuoteInput(url) + ": ";
  if (outcome.ok()) {
    const uint16_t status = outcome.response.status;
    if (status >= 200 && status < 300) return std::move(outcome.response.body);
    std::string message = prefix + "HTTP status " + std::to_string(status);
    if (status == 404 || status == 410) return NotFound(std::move(message));
    return Unavailable(std::move(message));
  }
  // libcurl's words when it has some, else the engine's (which name the URL once more).
  const std::string what = outcome.detail.empty() ? outcome.message : outcome.detail;
  switch (*outcome.error) {
    case HttpErrorKind::kDns:
      return Unavailable(prefix + "DNS lookup failed: " + what);
    case HttpErrorKind::kConnect:
      return Unavailable(prefix + "connection failed: " + what);
    case HttpErrorKind::kTls:
      return Unavailable(prefix + "TLS failed: " + what);
    case HttpErrorKind::kTimeout:
      return DeadlineExceeded(prefix + "timed out after " +
                              std::to_string(options.timeout.count()) + " ms" +
                              (outcome.detail.empty() ? "" : ": " + outcome.detail));
    case HttpErrorKind::kLimit:
      switch (outcome.limit) {
        case HttpLimit::kRedirects:
          return ResourceExhausted(prefix + "more than " + std::to_string(options.max_redirects) +
                                   " redirects");
        case HttpLimit::kHeaders:
          return ResourceExhausted(prefix + "the response headers are over the limit");
        case HttpLimit::kBody:
        case HttpLimit::kNone:
          break;
      }
      return ResourceExhausted(prefix + "the body is larger than the limit of " +
                               std::to_string(options.max_bytes) + " bytes");
    case HttpErrorKind::kInvalidArgument:
      return InvalidArgument(prefix + what);
    case HttpErrorKind::kCancelled:
      return Cancelled(prefix + "cancelled: " + what);
    case HttpErrorKind::kInternal:
      return InternalError(prefix + what);
    case HttpErrorKind::kPermissionDenied:  // no allow_redirect: not reached
    case HttpErrorKind::kTransfer:
      break;
  }
  return Unavailable(prefix + what);
}

// A fetch's state shared by its starter and the engine's callback, which may run (on the loop)
// before CurlEngine::Start has returned the transfer: whichever of the two comes second delivers.
struct PendingFetch {
  std::string url;
  FetchOptions options;
  FetchDone done;
  std::mutex mu;
  std::shared_ptr<Transfer> transfer;  // guarded by mu: set once Start returned
  bool finished = false;               // guarded by mu: the engine's callback ran

  void Deliver(Transfer& t) { done(FetchResult(url, options, t.TakeOutcome())); }
};

}  // namespace

CancelFetch StartFetch(boost::asio::io_context& io, const std::string& url,
                       const FetchOptions& options, FetchDone done) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    done(InvalidArgument("fetching " + QuoteInput(url) +
                         ": only http:// and https:// URLs can be fetched"));
    return {};
  }
  Result<CurlEngine*> engine = CurlEngine::Of(io);
  if (!engine.ok()) {
    done(engine.status().WithContext("fetching " + QuoteInput(url)));
    return {};
  }
  auto pending = std::make_shared<PendingFetch>();
  pending->url = url;
  pending->options = options;
  pending->done = std::move(done);
  std::shared_ptr<Transfer> transfer = (*engine)->Start(FetchSpec(url, options), [pending] {
    std::shared_ptr<Transfer> t;
    {
      std::lock_guard<std::mutex> lock(pending->mu);
      pending->finished = true;
      t = pending->transfer;
    }
    if (t) pending->Deliver(*t);
  });
  bool finished = false;
  {
    std::lock_guard<std::mutex> lock(pending->mu);
    pending->transfer = transfer;
    finished = pending->finished;
  }
  if (finished) pending->Deliver(*transfer);
  return [engine = *engine, weak = std::weak_ptr<Transfer>(transfer)] {
    if (std::shared_ptr<Transfer> t = weak.lock()) engine->Cancel(t);
  };
}

Result<std::vector<uint8_t>> FetchUrl(const std::string& url, const FetchOptions& options) {
  // A loop of its own, run on this thread until the fetch ends (and destroyed with its engine).
  boost::asio::io_context io;
  std::optional<Result<std::vector<uint8_t>>> result;
  StartFetch(io, url, options,
             [&result](Result<std::vector<uint8_t>> r) { result = std::move(r); });
  while (!result && io.run_one() > 0) {
  }
  if (!result) return InternalError("fetching " + QuoteInput(url) + ": the fetch never ended");
  return std::move(*result);
}

}  // namespace theater
