// Theater: a WebAssembly actor runtime.
//
// Fetching an http:// or https:// resource (a manifest, a component, an initial state), bounded
// in size and time, TLS verified. What failed is told apart both by the Status code and in the
// message: DNS, connect, TLS, timeout, size limit, HTTP status.
//
// StartFetch runs the transfer on an I/O loop's CurlEngine (common/curl_engine.h: libcurl's multi
// interface driven by the loop), so that no thread waits on the network: the runtime's spawns use
// it (runtime/spawn_fetcher.h). FetchUrl is the same transfer for a caller that may block (the
// CLI, a synchronous embedder call): it runs a loop of its own until the fetch ends.
//
// This file and fetch.cc are alone in their object: the fuzz build links an offline FetchUrl and
// StartFetch in their place (fuzz/support/offline_fetch.h).
//
// Thread-safety: both may be called from any thread. FetchUrl blocks the calling thread for up to
// FetchOptions::timeout; StartFetch returns at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "theater/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

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
// (Messages quote at most a few hundred bytes of the URL.)
Result<std::vector<uint8_t>> FetchUrl(const std::string& url, const FetchOptions& options = {});

// Receives a fetch's outcome: FetchUrl's result.
using FetchDone = std::function<void(Result<std::vector<uint8_t>>)>;
// Aborts a fetch StartFetch began, if it has not ended: its FetchDone gets kCancelled, on the
// loop, within milliseconds. Empty when there is nothing to abort. Call it only while the loop's
// context exists.
using CancelFetch = std::function<void()>;

// Starts FetchUrl(url, options) on the CurlEngine of `io` and returns at once. `done` is called
// exactly once: on a thread of `io`, or, when the fetch cannot start (a URL that is not http(s),
// no libcurl), before StartFetch returns. When `io`'s context is destroyed first, `done` gets
// kCancelled. `done` must not block: it runs on the loop every handler shares.
CancelFetch StartFetch(boost::asio::io_context& io, const std::string& url,
                       const FetchOptions& options, FetchDone done);

// `reference` resolved against the URL `base` the way a browser resolves a relative link
// (RFC 3986): absolute URLs stay as they are, "/x" replaces the path, anything else replaces the
// last path segment of `base`, "." and ".." segments are applied. kInvalidArgument when either
// cannot be parsed.
Result<std::string> ResolveUrl(const std::string& base, const std::string& reference);

}  // namespace theater
