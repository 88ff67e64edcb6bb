// Theater: a WebAssembly actor runtime.
//
// FetchUrl: downloads an http:// or https:// resource (a manifest, a component, an initial state)
// with libcurl, bounded in size and time, TLS verified. What failed is told apart both by the
// Status code and in the message: DNS, connect, TLS, timeout, size limit, HTTP status.
//
// Thread-safety: FetchUrl may be called from any thread (each call has its own libcurl handle;
// libcurl's global initialisation is done once, thread-safely). It blocks the calling thread for
// up to FetchOptions::timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater {

struct FetchOptions {
  // The body may be at most this long; a longer one fails with kResourceExhausted.
  size_t max_bytes = 256u << 20;
  // The whole transfer, redirects included.
  std::chrono::milliseconds timeout{30'000};
  int max_redirects = 5;
  // Verify the server's certificate and host name (turn off only for tests against a local
  // server with a self-signed certificate).
  bool verify_tls = true;
};

// The body of a 2xx response to GET `url`. Errors: kInvalidArgument for a URL that is not
// http(s); kNotFound for HTTP 404 and 410; kUnavailable for DNS, connect and TLS failures and
// other HTTP errors (the status is in the message); kDeadlineExceeded for the timeout;
// kResourceExhausted for a body over max_bytes or too many redirects.
Result<std::vector<uint8_t>> FetchUrl(const std::string& url, const FetchOptions& options = {});

// `reference` resolved against the URL `base` the way a browser resolves a relative link
// (RFC 3986): absolute URLs stay as they are, "/x" replaces the path, anything else replaces the
// last path segment of `base`, "." and ".." segments are applied. kInvalidArgument when either
// cannot be parsed.
Result<std::string> ResolveUrl(const std::string& base, const std::string& reference);

}  // namespace theater
