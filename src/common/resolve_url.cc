// Theater: a WebAssembly actor runtime.
//
// ResolveUrl (common/fetch.h), in a file of its own so that FetchUrl is alone in fetch.cc: the
// fuzz targets link an offline FetchUrl of their own in place of that object (fuzz/CMakeLists.txt).
#include <curl/curl.h>

#include <memory>

#include "common/fetch.h"
#include "common/utf8.h"

namespace theater {
namespace {

struct UrlDeleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};

}  // namespace

Result<std::string> ResolveUrl(const std::string& base, const std::string& reference) {
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return InternalError("resolving a URL: libcurl could not create a handle");
  // Both come from outside (a spawner, the server a manifest was fetched from): a refusal quotes
  // them (QuoteInput), never raw, so that neither can forge lines or drive a terminal in the
  // message a client or the CLI shows, and neither makes it kilobytes long: 100 bytes of each,
  // which are up to 400 once every byte is escaped, keep a message of both under a kilobyte.
  constexpr size_t kQuoted = 100;
  if (curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument(QuoteInput(base, kQuoted) + " is not a valid URL");
  }
  auto unresolvable = [&] {
    return InvalidArgument(QuoteInput(reference, kQuoted) + " cannot be resolved against " +
                           QuoteInput(base, kQuoted));
  };
  if (curl_url_set(url.get(), CURLUPART_URL, reference.c_str(), 0) != CURLUE_OK) {
    return unresolvable();
  }
  char* resolved = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &resolved, 0) != CURLUE_OK || resolved == nullptr) {
    return unresolvable();
  }
  std::string out(resolved);
  curl_free(resolved);
  return out;
}

}  // namespace theater
