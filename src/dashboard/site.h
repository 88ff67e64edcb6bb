// Theater: a WebAssembly actor runtime.
//
// What the dashboard's connections share (dashboard_server.cc serves its files and accepts the
// upgrade; bridge.cc carries a browser's WebSocket to the management server): the site's options
// and the headers every response carries. Two files, compiled side by side: Beast's HTTP and
// WebSocket templates in one took clang 1.6 GB with the sanitizers (docs/testing.md). Included
// only by the dashboard's own files (and its fuzz target).
//
// Thread-safety: a Site is written before the first connection and then only read, but for its
// connection count (atomic).
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "dashboard/dashboard_server.h"

namespace theater::dashboard {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// What every connection shares: the options and who the dashboard is.
struct Site {
  DashboardOptions options;
  std::string bound;  // "127.0.0.1:9001"
  uint16_t port = 0;
  bool loopback = false;
  tcp::endpoint management;
  std::atomic<size_t> open{0};
};

template <class Fields>
void SetSecurityHeaders(http::header<false, Fields>& h) {
  h.set("Content-Security-Policy", kContentSecurityPolicy);
  h.set(http::field::cache_control, "no-store");
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "no-referrer");
  h.set(http::field::server, "theater-dashboard");
}

// Serves one browser connection accepted for `site`: the dashboard's files, or the upgrade to its
// WebSocket, then the bridge (dashboard_server.cc). The caller has counted the connection in
// site->open; the session gives it back when it ends. The listener calls it for each accepted
// socket; the dashboard's fuzz target (fuzz/dashboard_ws_fuzz.cc) for a loopback socket of its
// own, so that the fuzzer drives the real sessions without the listener's thread.
void ServeHttp(std::shared_ptr<Site> site, tcp::socket socket);

// Carries a browser's WebSocket, whose upgrade `request` came on `socket`, to a connection of its
// own to the management server (bridge.cc). The bridge counts the connection from then on.
void StartBridge(std::shared_ptr<Site> site, tcp::socket socket,
                 http::request<http::empty_body> request);

}  // namespace theater::dashboard
