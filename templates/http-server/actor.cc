// {{project_name}}: an HTTP-style request router as a Theater actor, in C++.
//
//   id=$(theater start manifest.toml)
//   theater message --request $id "GET /hello"
//
// Routes: GET / (an index), GET /hello, GET /count (requests served so far); anything else is
// 404. The state is the number of requests served, as decimal text.
#include <theater/theater.hpp>

#include <cstdlib>
#include <string>

namespace {

std::string Response(int status, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\ncontent-type: text/plain\r\ncontent-length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

theater::Result Init(theater::State& state, std::string_view actor_id) {
  theater::log("{{project_name}} " + std::string(actor_id) + " serving");
  state = theater::to_bytes("0");
  return theater::Result::ok();
}

theater::Result HandleRequest(theater::State& state, std::string_view /*request_id*/,
                              const theater::Bytes& msg, std::optional<theater::Bytes>& response) {
  const unsigned long count =
      (state ? std::strtoul(std::string(theater::as_string_view(*state)).c_str(), nullptr, 10)
             : 0) +
      1;
  state = theater::to_bytes(std::to_string(count));
  const std::string line(theater::as_string_view(msg));
  theater::log(line);
  std::string answer;
  if (line == "GET /") {
    answer = Response(200, "OK", "routes: /hello /count\n");
  } else if (line == "GET /hello") {
    answer = Response(200, "OK", "Hello from {{project_name}}!\n");
  } else if (line == "GET /count") {
    answer = Response(200, "OK", std::to_string(count) + "\n");
  } else {
    answer = Response(404, "Not Found", "no such route\n");
  }
  response = theater::to_bytes(answer);
  return theater::Result::ok();
}

}  // namespace

THEATER_CPP_ACTOR_INIT(Init)
THEATER_CPP_HANDLE_REQUEST(HandleRequest)
