// Theater: a WebAssembly actor runtime.
#include "common/fetch.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace theater {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Body {
  std::vector<uint8_t> bytes;
  size_t limit = 0;
  bool over_limit = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * count;
  if (body->bytes.size() + n > body->limit) {
    body->over_limit = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  body->bytes.insert(body->bytes.end(), data, data + n);
  return n;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
Status TransferError(const std::string& url, CURLcode code, const char* detail,
                     const FetchOptions& options) {
  std::string what = std::string(detail[0] != '\0' ? detail : curl_easy_strerror(code));
  std::string prefix = "fetching " + url + ": ";
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Unavailable(prefix + "DNS lookup failed: " + what);
    case CURLE_COULDNT_CONNECT:
      return Unavailable(prefix + "connection failed: " + what);
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded(prefix + "timed out after " +
                              std::to_string(options.timeout.count()) + " ms: " + what);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return Unavailable(prefix + "TLS failed: " + what);
    case CURLE_TOO_MANY_REDIRECTS:
      return ResourceExhausted(prefix + "more than " + std::to_string(options.max_redirects) +
                               " redirects");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(prefix + "unsupported protocol: " + what);
    case CURLE_URL_MALFORMAT:
      return InvalidArgument(prefix + "malformed URL: " + what);
    default:
      return Unavailable(prefix + what);
  }
}

}  // namespace

Result<std::vector<uint8_t>> FetchUrl(const std::string& url, const FetchOptions& options) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return InvalidArgument("fetching '" + url + "': only http:// and https:// URLs can be fetched");
  }
  InitCurlOnce();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return InternalError("fetching " + url + ": libcurl could not create a handle");
  Body body;
  body.limit = options.max_bytes;
  char error[CURL_ERROR_SIZE] = "";
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are threaded
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "theater");
  const CURLcode code = curl_easy_perform(h);
  if (body.over_limit || code == CURLE_FILESIZE_EXCEEDED) {
    return ResourceExhausted("fetching " + url + ": the body is larger than the limit of " +
                             std::to_string(options.max_bytes) + " bytes");
  }
  if (code != CURLE_OK) return TransferError(url, code, error, options);
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status < 200 || http_status >= 300) {
    std::string message = "fetching " + url + ": HTTP status " + std::to_string(http_status);
    if (http_status == 404 || http_status == 410) return NotFound(message);
    return Unavailable(message);
  }
  return std::move(body.bytes);
}

}  // namespace theater
