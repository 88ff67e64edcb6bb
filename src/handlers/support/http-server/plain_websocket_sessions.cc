// Theater: a WebAssembly actor runtime.
//
// The WebSockets of plain-text servers: WsSession over beast::tcp_stream, for the HTTP sessions
// of plain_http_sessions.cc (http_server_impl.h says why they are apart).
#include "handlers/support/http-server/websocket_session.h"

namespace theater::handlers::http {

template void StartWebSocket<PlainStream>(std::shared_ptr<Impl> impl, PlainStream&& stream,
                                          WebSocketEndpoint endpoint, std::string path,
                                          std::optional<std::string> query, Request upgrade);

}  // namespace theater::handlers::http
