// Theater: a WebAssembly actor runtime.
#include "dashboard/dashboard_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "dashboard/dashboard_files.h"
#include "server/client.h"
#include "server/framing.h"

namespace theater::dashboard {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kRequestTimeout{30};
constexpr uint32_t kMaxHeaderBytes = 8 << 10;
// Reading from the management server pauses while this much waits for the page (the server's
// own limits then apply: it drops subscription events for a slow reader, with a gap notice).
constexpr size_t kBrowserHighWater = 8u << 20;
constexpr size_t kMaxPendingToServer = 16u << 20;
// Management messages waiting for the page are sent together, in one WebSocket message of at
// most about this size (a larger message goes alone).
constexpr size_t kMaxBatchBytes = 1u << 20;

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

// One browser's WebSocket, bridged to a connection of its own to the management server.
class Bridge : public std::enable_shared_from_this<Bridge> {
 public:
  Bridge(std::shared_ptr<Site> site, tcp::socket socket)
      : site_(std::move(site)), ws_(std::move(socket)), upstream_(ws_.get_executor()) {}
  ~Bridge() { site_->open.fetch_sub(1); }

  void Start(http::request<http::empty_body> request) {
    ws_.read_message_max(site_->options.max_ws_message_bytes);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { SetSecurityHeaders(response.base()); }));
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->ConnectUpstream();
    });
  }

 private:
  void ConnectUpstream() {
    upstream_.async_connect(site_->management, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->CloseWith("the management server is not reachable: " + ec.message());
        return;
      }
      self->ReadBrowser();
      self->ReadUpstream();
    });
  }

  void ReadBrowser() {
    ws_.async_read(from_browser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnBrowserMessage(ec);
    });
  }

  void OnBrowserMessage(beast::error_code ec) {
    if (ec) {
      Close();
      return;
    }
    if (!ws_.got_text()) {
      CloseWith("the dashboard's socket carries text messages only");
      return;
    }
    const auto data = from_browser_.cdata();
    const auto* bytes = static_cast<const uint8_t*>(data.data());
    std::string frame;
    encoder_.EncodeTo(std::span<const uint8_t>(bytes, data.size()), frame);
    from_browser_.consume(from_browser_.size());
    to_server_bytes_ += frame.size();
    if (to_server_bytes_ > kMaxPendingToServer) {
      CloseWith("the management server is not reading");
      return;
    }
    to_server_.push_back(std::move(frame));
    WriteServer();
    ReadBrowser();
  }

  void WriteServer() {
    if (writing_server_ || to_server_.empty() || closed_) return;
    writing_server_ = true;
    asio::async_write(upstream_, asio::buffer(to_server_.front()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_server_ = false;
                        if (ec) {
                          self->Close();
                          return;
                        }
                        self->to_server_bytes_ -= self->to_server_.front().size();
                        self->to_server_.pop_front();
                        self->WriteServer();
                      });
  }

  void ReadUpstream() {
    if (reading_upstream_ || closed_) return;
    reading_upstream_ = true;
    upstream_.async_read_some(asio::buffer(upstream_buffer_),
                              [self = shared_from_this()](beast::error_code ec, size_t n) {
                                self->reading_upstream_ = false;
                                self->OnUpstream(ec, n);
                              });
  }

  void OnUpstream(beast::error_code ec, size_t n) {
    if (ec) {
      CloseWith(ec == asio::error::eof
                    ? "the management server closed the connection"
                    : "the management server's connection failed: " + ec.message());
      return;
    }
    std::vector<std::vector<uint8_t>> messages;
    Status fed = decoder_.Feed(std::span<const uint8_t>(upstream_buffer_.data(), n), messages);
    for (std::vector<uint8_t>& m : messages) {
      to_browser_bytes_ += m.size();
      to_browser_.emplace_back(m.begin(), m.end());
    }
    if (!fed.ok()) {
      CloseWith("a malformed frame from the management server: " + fed.ToString());
      return;
    }
    if (to_browser_bytes_ > site_->options.max_pending_to_browser) {
      CloseWith("the page is not reading its socket");
      return;
    }
    WriteBrowser();
    if (to_browser_bytes_ < kBrowserHighWater) ReadUpstream();
  }

  // Everything waiting goes out as one WebSocket message (up to kMaxBatchBytes): a JSON array
  // of the management messages when there are several. A page reading a stream of ten thousand
  // events a second then handles a few dozen messages a second, not ten thousand.
  void WriteBrowser() {
    if (writing_browser_ || to_browser_.empty() || closed_) return;
    writing_browser_ = true;
    writing_.clear();
    size_t taken = 0;
    if (to_browser_.size() == 1 || to_browser_.front().size() >= kMaxBatchBytes) {
      writing_.swap(to_browser_.front());
      taken = 1;
    } else {
      writing_.push_back('[');
      while (taken < to_browser_.size() &&
             (taken == 0 || writing_.size() + to_browser_[taken].size() < kMaxBatchBytes)) {
        if (taken > 0) writing_.push_back(',');
        writing_ += to_browser_[taken];
        ++taken;
      }
      writing_.push_back(']');
    }
    for (size_t i = 0; i < taken; ++i) {
      to_browser_bytes_ -= to_browser_.front().size();
      to_browser_.pop_front();
    }
    ws_.text(true);
    ws_.async_write(asio::buffer(writing_),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_browser_ = false;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      if (self->to_browser_bytes_ < kBrowserHighWater / 2) self->ReadUpstream();
                      self->WriteBrowser();
                    });
  }

  // Tells the page why (a close reason is at most 123 bytes), then closes both sides.
  void CloseWith(std::string why) {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    upstream_.close(ignored);
    if (why.size() > 120) why.resize(120);
    ws_.async_close(websocket::close_reason(websocket::close_code::going_away, why),
                    [self = shared_from_this()](beast::error_code) {});
  }
  void Close() { CloseWith(""); }

  std::shared_ptr<Site> site_;
  websocket::stream<beast::tcp_stream> ws_;
  tcp::socket upstream_;
  beast::flat_buffer from_browser_;
  server::FrameEncoder encoder_{server::kCompactCompleteMax};
  server::FrameDecoder decoder_;
  std::array<uint8_t, 64 << 10> upstream_buffer_{};
  std::deque<std::string> to_server_;
  size_t to_server_bytes_ = 0;
  std::deque<std::string> to_browser_;
  size_t to_browser_bytes_ = 0;  // in to_browser_ (not counting the message being written)
  std::string writing_;          // the WebSocket message being written
  bool writing_server_ = false;
  bool writing_browser_ = false;
  bool reading_upstream_ = false;
  bool closed_ = false;
};

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
      handed_over_ = true;
      stream_.expires_never();
      std::make_shared<Bridge>(site_, stream_.release_socket())->Start(std::move(request));
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
          std::make_shared<HttpSession>(site_, std::move(socket))->Read();
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

Result<std::unique_ptr<DashboardServer>> DashboardServer::Start(DashboardOptions options) {
  auto server = std::make_unique<DashboardServerImpl>(std::move(options));
  THEATER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<DashboardServer>(std::move(server));
}

}  // namespace theater::dashboard
