// {{project_name}}: an HTTP server as a Theater actor, in C++.
//
//   theater run --wait manifest.toml     # serves until Ctrl-C
//   curl http://127.0.0.1:8080/hello
//
// init starts a server of the http-framework handler on 127.0.0.1 at the "port" of its state
// (init.json; 0 picks a free port) and routes GET /, GET /hello and GET /count to this actor's
// HandleRequest. The state is JSON, {"port": P, "served": N}: N counts the requests served.
//
// The actor implements the WIT world `http-actor` (wit/worlds.wit), through the bindings
// `theater bindgen` generated in bindings/http_actor.hpp: imports are functions in
// http_actor::<interface>, exports are the functions this file defines in
// http_actor::exports::<interface>. Exports take their arguments by value and return owning
// values; nothing throws.
#include <cstdlib>
#include <string>

#include "http_actor.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using State = std::optional<Bytes>;
// What most handlers return: the new state, or an error.
using StateResult = theater_bindgen::Result<std::tuple<State>, std::string>;
namespace framework = http_actor::http_framework;
namespace runtime = http_actor::runtime;
using http_actor::http_types::HttpRequest;
using http_actor::http_types::HttpResponse;

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
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type", "text/plain");
  response.body = Bytes(body.begin(), body.end());
  return response;
}

}  // namespace

namespace http_actor::exports::actor {

StateResult Init(State state, std::tuple<std::string> params) {
  const unsigned long port = NumberIn(state, "port");
  http_types::ServerConfig config;
  config.port = static_cast<uint16_t>(port);
  auto server = framework::CreateServer(config);
  if (!server.ok()) return StateResult::Err("create-server: " + server.error());
  auto handler = framework::RegisterHandler("router");
  if (!handler.ok()) return StateResult::Err("register-handler: " + handler.error());
  for (const char* path : {"/", "/hello", "/count"}) {
    auto route = framework::AddRoute(server.value(), path, "GET", handler.value());
    if (!route.ok()) return StateResult::Err("add-route: " + route.error());
  }
  auto started = framework::StartServer(server.value());
  if (!started.ok()) return StateResult::Err("start-server: " + started.error());
  runtime::Log("{{project_name}} " + std::get<0>(params) +
               " serving on http://127.0.0.1:" + std::to_string(started.value()) + "/");
  return StateResult::Ok({MakeState(port, NumberIn(state, "served"))});
}

}  // namespace http_actor::exports::actor

namespace http_actor::exports::http_handlers {

theater_bindgen::Result<std::tuple<State, std::tuple<HttpResponse>>, std::string> HandleRequest(
    State state, std::tuple<uint64_t, HttpRequest> params) {
  const HttpRequest& request = std::get<1>(params);
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
  using R = theater_bindgen::Result<std::tuple<State, std::tuple<HttpResponse>>, std::string>;
  return R::Ok(
      {MakeState(NumberIn(state, "port"), served), std::tuple<HttpResponse>(std::move(response))});
}

// No middleware is registered; should one be, it lets every request through unchanged.
theater_bindgen::Result<std::tuple<State, std::tuple<http_types::MiddlewareResult>>, std::string>
HandleMiddleware(State state, std::tuple<uint64_t, HttpRequest> params) {
  http_types::MiddlewareResult result;
  result.proceed = true;
  result.request = std::move(std::get<1>(params));
  using R = theater_bindgen::Result<std::tuple<State, std::tuple<http_types::MiddlewareResult>>,
                                    std::string>;
  return R::Ok({std::move(state), std::tuple<http_types::MiddlewareResult>(std::move(result))});
}

// No WebSocket endpoint is enabled: these keep the state (and send nothing back).
StateResult HandleWebsocketConnect(
    State state, std::tuple<uint64_t, uint64_t, std::string, std::optional<std::string>>) {
  return StateResult::Ok({std::move(state)});
}

theater_bindgen::Result<
    std::tuple<State, std::tuple<std::vector<websocket_types::WebsocketMessage>>>, std::string>
HandleWebsocketMessage(State state,
                       std::tuple<uint64_t, uint64_t, websocket_types::WebsocketMessage>) {
  using Messages = std::vector<websocket_types::WebsocketMessage>;
  using R = theater_bindgen::Result<std::tuple<State, std::tuple<Messages>>, std::string>;
  return R::Ok({std::move(state), std::tuple<Messages>()});
}

StateResult HandleWebsocketDisconnect(State state, std::tuple<uint64_t, uint64_t>) {
  return StateResult::Ok({std::move(state)});
}

}  // namespace http_actor::exports::http_handlers
