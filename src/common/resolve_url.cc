// Theater: a WebAssembly actor runtime.
//
// ResolveUrl (common/fetch.h), in a file of its own so that FetchUrl is alone in fetch.cc: the
// fuzz targets link an offline FetchUrl of their own in place of that object (fuzz/CMakeLists.txt).
#include <curl/curl.h>

#include <memory>

#include "common/fetch.h"

namespace theater {
namespace {

struct UrlDeleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};

}  // namespace

Result<std::string> ResolveUrl(const std::string& base, const std::string& reference) {
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return InternalError("resolving a URL: libcurl could not create a handle");
  if (curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("'" + base + "' is not a valid URL");
  }
  if (curl_url_set(url.get(), CURLUPART_URL, reference.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("'" + reference + "' cannot be resolved against " + base);
  }
  char* resolved = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &resolved, 0) != CURLUE_OK || resolved == nullptr) {
    return InvalidArgument("'" + reference + "' cannot be resolved against " + base);
  }
  std::string out(resolved);
  curl_free(resolved);
  return out;
}

}  // namespace theater
