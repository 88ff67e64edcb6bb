// Theater: a WebAssembly actor runtime.
//
// The WebSockets of TLS servers: WsSession over beast::ssl_stream, for the HTTP sessions of
// tls_http_sessions.cc (http_server_impl.h says why they are apart).
#include <boost/beast/websocket/ssl.hpp>

#include "handlers/support/http-server/websocket_session.h"

namespace theater::handlers::http {

template void StartWebSocket<TlsStream>(std::shared_ptr<Impl> impl, TlsStream&& stream,
                                        WebSocketEndpoint endpoint, std::string path,
                                        std::optional<std::string> query, Request upgrade);

}  // namespace theater::handlers::http
