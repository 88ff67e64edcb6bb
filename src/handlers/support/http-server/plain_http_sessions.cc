// Theater: a WebAssembly actor runtime.
//
// The HTTP connections of plain-text servers: HttpSession over beast::tcp_stream (their
// WebSockets are in plain_websocket_sessions.cc; http_server_impl.h says why).
#include "handlers/support/http-server/http_session.h"

namespace theater::handlers::http {

void StartPlainSession(std::shared_ptr<Impl> impl, tcp::socket socket) {
  std::make_shared<HttpSession<PlainStream>>(std::move(impl), PlainStream(std::move(socket)))
      ->Start();
}

}  // namespace theater::handlers::http
