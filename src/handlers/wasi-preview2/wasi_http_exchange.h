// Theater: a WebAssembly actor runtime.
//
// HttpExchange: one HTTP request received for a component's `wasi:http/incoming-handler`, and
// the response the component gives it. The wasi-http handler's listener fills the request half
// and hands the exchange to the actor's WasiPreview2 (AdoptIncoming), which turns it into the
// `incoming-request` and `response-outparam` resources the export is called with; the
// component's calls of wasi:http/types fill the response half; the listener reads it once the
// call has ended.
//
// Thread-safety: none of its own. The request half is written before the exchange is adopted
// and only read afterwards; the response half is written on the actor's fiber during the call
// and read by the listener after the call's reply, which the runtime orders after the call.
// Ownership: shared by the listener and the WASI objects that refer to it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace theater::handlers {

// Header fields as wasi:http carries them: names as strings, values as bytes, in order.
using HttpFields = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

// An outgoing-response or outgoing-request as the component builds it: its headers and body.
// Shared by the resource, its headers, its outgoing-body and that body's output stream, so that
// what the component writes after handing a response to response-outparam.set still reaches it.
struct HttpOutgoingMessage {
  uint16_t status = 200;  // a response's
  // A request's: what outgoing-handler.handle sends.
  std::string method = "GET";
  std::string scheme;  // "http" or "https" (empty: not set)
  std::string authority;
  std::string path_with_query;
  // request-options (nanoseconds; nullopt: the host's default)
  std::optional<uint64_t> connect_timeout_ns, first_byte_timeout_ns, between_bytes_timeout_ns;
  std::shared_ptr<HttpFields> headers = std::make_shared<HttpFields>();
  std::vector<uint8_t> body;
  bool body_finished = false;  // outgoing-body.finish was called
};

// The response an outgoing request got (Options::send_request's answer).
struct HttpIncomingResponse {
  uint16_t status = 0;
  HttpFields headers;
  std::vector<uint8_t> body;
};

// Why an outgoing request got no response: the wasi:http error-code case that says so
// ("connection-refused", "HTTP-request-denied", ...) and the host's words.
struct HttpRequestFailure {
  std::string error_code;
  std::string message;
};

struct HttpExchange {
  // --- The request (the listener's); for an incoming-response, the response received.
  std::string method;           // upper case, e.g. "GET"
  std::string scheme;           // "http" or "https"
  std::string authority;        // the Host header's value (empty when absent)
  std::string path_with_query;  // as received, e.g. "/a/b?c=d"
  std::shared_ptr<HttpFields> headers = std::make_shared<HttpFields>();
  std::vector<uint8_t> body;
  uint16_t status = 0;  // an incoming-response's

  // --- The response (the component's), set by response-outparam.set.
  bool responded = false;
  std::shared_ptr<HttpOutgoingMessage> response;  // set: the response it gave
  std::optional<std::string> error;             // set: the error-code it gave instead
};

}  // namespace theater::handlers
