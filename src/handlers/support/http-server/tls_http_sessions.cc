// Theater: a WebAssembly actor runtime.
//
// The HTTP connections of TLS servers: HttpSession over beast::ssl_stream (their WebSockets are
// in tls_websocket_sessions.cc; http_server_impl.h says why).
#include "handlers/support/http-server/http_session.h"

namespace theater::handlers::http {

void StartTlsSession(std::shared_ptr<Impl> impl, tcp::socket socket) {
  ssl::context& context = *impl->tls;
  std::make_shared<HttpSession<TlsStream>>(std::move(impl), TlsStream(std::move(socket), context))
      ->Start();
}

}  // namespace theater::handlers::http
