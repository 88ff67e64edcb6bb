// Theater: a WebAssembly actor runtime.
#include "dashboard/dashboard_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "dashboard/dashboard_files.h"
#include "dashboard/site.h"
#include "server/client.h"
#include "server/framing.h"

namespace theater::dashboard {
namespace {

namespace websocket = beast::websocket;

constexpr std::chrono::seconds kRequestTimeout{30};
constexpr uint32_t kMaxHeaderBytes = 8 << 10;

// Whether a request's Host names this dashboard. Beyond loopback any name may reach it (and a
// token guards it); on loopback only the loopback names do, so that a page of another site whose
// name was re-pointed at 127.0.0.1 (DNS rebinding) is refused.
bool HostAllowed(const Site& site, std::string_view host) {
  if (!site.loopback) return true;
  const std::string port = ":" + std::to_string(site.port);
  return host == site.bound || host == "localhost" + port || host == "127.0.0.1" + port ||
         host == "[::1]" + port;
}

// Whether a WebSocket upgrade comes from a page of this dashboard.
bool OriginAllowed(std::string_view origin, std::string_view host) {
  return !origin.empty() && origin == "http://" + std::string(host);
}

std::string_view ContentType(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// One HTTP connection: the dashboard's files, or the upgrade to its WebSocket.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<Site> site, tcp::socket socket)
      : site_(std::move(site)), stream_(std::move(socket)) {}
  ~HttpSession() {
    if (!handed_over_) site_->open.fetch_sub(1);
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(0);
    stream_.expires_after(kRequestTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::header_limit || ec == http::error::body_limit ||
          ec == http::error::unexpected_body) {
        Respond(http::status::payload_too_large,
                "the dashboard takes requests without a body "
                "and with at most 8 KiB of headers\n",
                false);
      } else if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
        Respond(http::status::bad_request, "malformed request\n", false);
      }
      return;
    }
    http::request<http::empty_body> request = parser_->release();
    const std::string host(request[http::field::host]);
    if (!HostAllowed(*site_, host)) {
      Respond(http::status::misdirected_request,
              "this dashboard answers to " + site_->bound + ", not to '" + host + "'\n", false);
      return;
    }
    std::string_view target = request.target();
    if (const size_t query = target.find('?'); query != std::string_view::npos) {
      target = target.substr(0, query);
    }
    // Only origin-form targets ("/..."): "?x", "*" or an absolute URL name no file here (and an
    // empty path once threw out of the file lookup, ending the process: dashboard_ws_fuzz).
    if (!target.starts_with('/')) {
      Respond(http::status::bad_request, "the request's target must be a path starting with /\n",
              false);
      return;
    }
    if (websocket::is_upgrade(request)) {
      if (target != "/ws") {
        Respond(http::status::not_found, "no WebSocket here\n", false);
        return;
      }
      if (!OriginAllowed(request[http::field::origin], host)) {
        Respond(http::status::forbidden,
                "the WebSocket is opened only by the dashboard's own pages (Origin)\n", false);
        return;
      }
      // Bytes read past the upgrade request would be lost: the bridge's WebSocket reads the
      // socket, not this buffer, and would take what follows them for the start of a frame. A
      // client waits for the answer before sending frames (RFC 6455, 4.1); one that did not is
      // told so rather than silently missing its first messages.
      if (buffer_.size() != 0) {
        Respond(http::status::bad_request,
                "a WebSocket client sends nothing after its upgrade request before the answer\n",
                false);
        return;
      }
      handed_over_ = true;
      stream_.expires_never();
      StartBridge(site_, stream_.release_socket(), std::move(request));
      return;
    }
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      Respond(http::status::method_not_allowed, "the dashboard's files are read with GET\n",
              request.keep_alive(), request.method() == http::verb::head);
      return;
    }
    const EmbeddedFile* file =
        FindEmbeddedFile(EmbeddedDashboardFiles(), target == "/" ? "index.html" : target.substr(1));
    if (file == nullptr) {
      Respond(http::status::not_found, "not found\n", request.keep_alive());
      return;
    }
    auto response =
        std::make_shared<http::response<http::string_body>>(http::status::ok, request.version());
    SetSecurityHeaders(response->base());
    response->set(http::field::content_type, ContentType(file->name));
    if (request.method() == http::verb::get) response->body() = std::string(file->contents);
    response->content_length(file->contents.size());
    response->keep_alive(request.keep_alive());
    Send(std::move(response));
  }

  void Respond(http::status status, std::string text, bool keep_alive, bool head = false) {
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    SetSecurityHeaders(response->base());
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    response->content_length(text.size());
    if (!head) response->body() = std::move(text);
    response->keep_alive(keep_alive);
    Send(std::move(response));
  }

  void Send(std::shared_ptr<http::response<http::string_body>> response) {
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec || !response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  std::shared_ptr<Site> site_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  bool handed_over_ = false;  // to a Bridge, which counts the connection from then on
};

class DashboardServerImpl final : public DashboardServer {
 public:
  explicit DashboardServerImpl(DashboardOptions options)
      : site_(std::make_shared<Site>()), acceptor_(io_) {
    site_->options = std::move(options);
  }
  ~DashboardServerImpl() override { Stop(); }

  Status Listen() {
    THEATER_ASSIGN_OR_RETURN(auto host_port, server::SplitAddress(site_->options.address));
    THEATER_ASSIGN_OR_RETURN(auto management,
                             server::SplitAddress(site_->options.management_address));
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host_port.first, std::to_string(host_port.second), ec);
    if (ec || results.empty()) {
      return InvalidArgument("dashboard: cannot resolve '" + host_port.first +
                             "': " + ec.message());
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    auto upstream = resolver.resolve(management.first, std::to_string(management.second), ec);
    if (ec || upstream.empty()) {
      return InvalidArgument("dashboard: cannot resolve the management server's address '" +
                             site_->options.management_address + "'");
    }
    site_->management = upstream.begin()->endpoint();
    site_->loopback = endpoint.address().is_loopback();
    if (!site_->loopback && !site_->options.token_required) {
      return FailedPrecondition("refusing to serve the dashboard on " + site_->options.address +
                                " without a token: set --token-file or THEATER_SERVER_TOKEN "
                                "(only a loopback dashboard may go without one)");
    }
    if (!site_->loopback && !site_->options.bridge_key) {
      return FailedPrecondition("refusing to serve the dashboard on " + site_->options.address +
                                " without the management server's bridge key: its browsers "
                                "would reach the server as loopback clients");
    }
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return IOError("dashboard: listening on " + site_->options.address + ": " + ec.message());
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    site_->port = bound.port();
    site_->bound = (bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                            : bound.address().to_string()) +
                   ":" + std::to_string(bound.port());
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  std::string address() const override { return site_->bound; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (site_->open.load() >= site_->options.max_sockets) {
          beast::error_code ignored;
          socket.close(ignored);  // at the cap: the browser retries
        } else {
          site_->open.fetch_add(1);
          ServeHttp(site_, std::move(socket));
        }
      }
      Accept();
    });
  }

  std::shared_ptr<Site> site_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace

void ServeHttp(std::shared_ptr<Site> site, tcp::socket socket) {
  std::make_shared<HttpSession>(std::move(site), std::move(socket))->Read();
}

Result<std::unique_ptr<DashboardServer>> DashboardServer::Start(DashboardOptions options) {
  auto server = std::make_unique<DashboardServerImpl>(std::move(options));
  THEATER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<DashboardServer>(std::move(server));
}

}  // namespace theater::dashboard
