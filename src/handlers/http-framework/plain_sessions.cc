// Theater: a WebAssembly actor runtime.
//
// The connections of plain-text servers: HttpSession and WsSession over beast::tcp_stream
// (http_server_impl.h says why the connections are compiled in three files).
#include "handlers/http-framework/http_session.h"
#include "handlers/http-framework/websocket_session.h"

namespace theater::handlers::http {

void StartPlainSession(std::shared_ptr<Impl> impl, tcp::socket socket) {
  std::make_shared<HttpSession<PlainStream>>(std::move(impl), PlainStream(std::move(socket)))
      ->Start();
}

template void StartWebSocket<PlainStream>(std::shared_ptr<Impl> impl, PlainStream&& stream,
                                          WebSocketEndpoint endpoint, std::string path,
                                          std::optional<std::string> query, Request upgrade);

}  // namespace theater::handlers::http
