// {{project_name}}: an HTTP server as a Theater actor, in C++.
//
//   theater run --wait manifest.toml     # serves until Ctrl-C
//   curl http://127.0.0.1:<port>/hello    # the port the log prints (init.json: 0, a free one)
//
// init starts a server of the http-framework handler on 127.0.0.1 at the "port" of its state
// (init.json; 0 picks a free port) and routes GET /, GET /hello and GET /count to this actor's
// HandleRequest. The state is JSON, {"port": P, "served": N}: N counts the requests served.
//
// The actor implements the WIT world `http-actor` (wit/worlds.wit), through the bindings
// `theater bindgen` generated in bindings/http_actor.hpp: imports are functions in
// http_actor::<interface> (also reachable as theater::world::<interface>), exports are the
// functions this file defines in http_actor::exports::<interface>. Exports take their arguments
// by value and return owning values; nothing throws. The http-handlers callbacks this actor does
// not define (handle-middleware, handle-websocket-*) keep the bindings' defaults: middleware lets
// requests through, WebSocket events keep the state.
#include <cstdlib>
#include <string>

#include "http_actor.hpp"

namespace {

using theater::world::exports::State;  // every export's state: std::optional<std::vector<uint8_t>>
using theater::world::http_types::HttpResponse;
using Bytes = std::vector<uint8_t>;

// The number after "<key>": in the JSON state, or 0.
unsigned long NumberIn(const State& state, const std::string& key) {
  const std::string json = state ? std::string(state->begin(), state->end()) : std::string();
  const size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return 0;
  const size_t colon = json.find(':', at);
  return colon == std::string::npos ? 0 : std::strtoul(json.c_str() + colon + 1, nullptr, 10);
}

State MakeState(unsigned long port, unsigned long served) {
  const std::string json =
      "{\"port\": " + std::to_string(port) + ", \"served\": " + std::to_string(served) + "}";
  return Bytes(json.begin(), json.end());
}

HttpResponse Respond(uint16_t status, const std::string& body) {
  return {.status = status,
          .headers = {{"content-type", "text/plain"}},
          .body = Bytes(body.begin(), body.end())};
}

}  // namespace

namespace http_actor::exports::actor {

InitResult Init(State state, InitParams params) {
  const auto& [actor_id] = params;
  const unsigned long port = NumberIn(state, "port");
  auto server = http_framework::CreateServer({.port = static_cast<uint16_t>(port)});
  if (!server.ok()) return InitResult::Err("create-server: " + server.error());
  auto handler = http_framework::RegisterHandler("router");
  if (!handler.ok()) return InitResult::Err("register-handler: " + handler.error());
  for (const char* path : {"/", "/hello", "/count"}) {
    auto route = http_framework::AddRoute(server.value(), path, "GET", handler.value());
    if (!route.ok()) return InitResult::Err("add-route: " + route.error());
  }
  auto started = http_framework::StartServer(server.value());
  if (!started.ok()) return InitResult::Err("start-server: " + started.error());
  runtime::Log("{{project_name}} " + actor_id +
               " serving on http://127.0.0.1:" + std::to_string(started.value()) + "/");
  return InitResult::Ok(MakeState(port, NumberIn(state, "served")));
}

}  // namespace http_actor::exports::actor

namespace http_actor::exports::http_handlers {

HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [handler_id, request] = params;
  const unsigned long served = NumberIn(state, "served") + 1;
  runtime::Log(request.method + " " + request.uri);
  const std::string path = request.uri.substr(0, request.uri.find('?'));
  HttpResponse response;
  if (path == "/") {
    response = Respond(200, "routes: /hello /count\n");
  } else if (path == "/hello") {
    response = Respond(200, "Hello from {{project_name}}!\n");
  } else if (path == "/count") {
    response = Respond(200, std::to_string(served) + "\n");
  } else {
    response = Respond(404, "no such route\n");
  }
  return HandleRequestResult::Ok(MakeState(NumberIn(state, "port"), served), std::move(response));
}

}  // namespace http_actor::exports::http_handlers
