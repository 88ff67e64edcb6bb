// Theater: a WebAssembly actor runtime.
//
// The dashboard's WebSocket: one browser's messages carried to and from a connection of its own
// to the management server (site.h says why this is a file of its own).
#include <array>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <string>
#include <utility>

#include "dashboard/site.h"
#include "server/framing.h"
#include "server/protocol.h"

namespace theater::dashboard {
namespace {

namespace websocket = beast::websocket;

// Reading from the management server pauses while this much waits for the page (the server's
// own limits then apply: it drops subscription events for a slow reader, with a gap notice).
constexpr size_t kBrowserHighWater = 8u << 20;
constexpr size_t kMaxPendingToServer = 16u << 20;
// Management messages waiting for the page are sent together, in one WebSocket message of at
// most about this size (a larger message goes alone).
constexpr size_t kMaxBatchBytes = 1u << 20;

// One browser's WebSocket, bridged to a connection of its own to the management server.
class Bridge : public std::enable_shared_from_this<Bridge> {
 public:
  Bridge(std::shared_ptr<Site> site, tcp::socket socket)
      : site_(std::move(site)), ws_(std::move(socket)), upstream_(ws_.get_executor()) {}
  ~Bridge() { site_->open.fetch_sub(1); }

  void Start(http::request<http::empty_body> request) {
    beast::error_code ec;
    const tcp::endpoint browser = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (ec) return;  // the browser has gone already
    browser_address_ = browser.address().to_string();
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
      self->IntroduceBrowser();
      self->ReadBrowser();
      self->ReadUpstream();
    });
  }

  // The connection's first message names the browser (management_server.h, bridge_key): the
  // server then judges the page's commands as the browser's, not as this loopback bridge's.
  // The page's own messages queue behind it.
  void IntroduceBrowser() {
    if (!site_->options.bridge_key) return;
    const std::string hello =
        server::MakeVariant(server::kBridgedClientCommand,
                            {{"key", *site_->options.bridge_key}, {"address", browser_address_}})
            .dump();
    std::string frame;
    encoder_.EncodeTo(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(hello.data()),
                                               hello.size()),
                      frame);
    to_server_bytes_ += frame.size();
    to_server_.push_back(std::move(frame));
    awaiting_introduction_ = true;
    WriteServer();
  }

  // The server's answer to IntroduceBrowser, which the page never sees. Anything but the
  // acceptance (an Error: a full per-address quota, a key that is not the server's) closes the
  // page's socket with the server's reason.
  bool AcceptIntroduction(const std::vector<uint8_t>& message) {
    awaiting_introduction_ = false;
    nlohmann::json reply = nlohmann::json::parse(message.begin(), message.end(), nullptr, false);
    if (reply.is_object() && reply.contains(server::kBridgedClientAccepted)) return true;
    std::string why = "the management server refused the dashboard's connection";
    if (reply.is_object() && reply.contains("Error") && reply["Error"].is_object() &&
        reply["Error"].contains("message") && reply["Error"]["message"].is_string()) {
      why = reply["Error"]["message"].get<std::string>();
    }
    CloseWith(why);
    return false;
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
      if (awaiting_introduction_) {
        if (!AcceptIntroduction(m)) return;
        continue;
      }
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
  std::string browser_address_;
  bool awaiting_introduction_ = false;  // IntroduceBrowser's answer has not come yet
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

}  // namespace

void StartBridge(std::shared_ptr<Site> site, tcp::socket socket,
                 http::request<http::empty_body> request) {
  std::make_shared<Bridge>(std::move(site), std::move(socket))->Start(std::move(request));
}

}  // namespace theater::dashboard
