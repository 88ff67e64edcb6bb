// Theater: a WebAssembly actor runtime.
//
// The fuzz build's FetchUrl (see offline_fetch.h).
#include "support/offline_fetch.h"

#include <mutex>

namespace theater {
namespace fuzz {
namespace {

std::mutex& ResponderMutex() {
  static std::mutex mu;
  return mu;
}
OfflineResponder& Responder() {
  static OfflineResponder responder;
  return responder;
}

}  // namespace

void SetOfflineResponder(OfflineResponder responder) {
  std::lock_guard lock(ResponderMutex());
  Responder() = std::move(responder);
}

}  // namespace fuzz

Result<std::vector<uint8_t>> FetchUrl(const std::string& url, const FetchOptions& options) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return InvalidArgument("not an http(s) URL: " + url);
  }
  fuzz::OfflineResponder responder;
  {
    std::lock_guard lock(fuzz::ResponderMutex());
    responder = fuzz::Responder();
  }
  if (!responder) return Unavailable("fetching " + url + ": offline (fuzz build)");
  Result<std::vector<uint8_t>> body = responder(url);
  if (body.ok() && body->size() > options.max_bytes) {
    return ResourceExhausted("fetching " + url + ": body larger than " +
                             std::to_string(options.max_bytes) + " bytes");
  }
  return body;
}

// Answered at once, on the caller's thread (StartFetch allows it): nothing to cancel.
CancelFetch StartFetch(boost::asio::io_context& /*io*/, const std::string& url,
                       const FetchOptions& options, FetchDone done) {
  done(FetchUrl(url, options));
  return {};
}

}  // namespace theater
