// Theater: a WebAssembly actor runtime.
//
// Outgoing requests of wasi:http 0.2 (WasiPreview2::FindHttpOutgoing): the outgoing-request and
// request-options a component builds, wasi:http/outgoing-handler#handle, which sends the request
// through Options::send_request (the wasi-http handler: the http-client permission, libcurl on the
// host's loop, the actor's fiber suspended meanwhile), and the future-incoming-response and
// incoming-response it answers with, whose body is read through an input stream.
//
// The request is sent whole when handle is called (its body as written so far) and the response
// arrives whole before handle returns, so the future is ready at once. The calls are recorded
// like every WASI call; a replay answers handle from the chain without touching the network.
#include <utility>

#include "common/ascii.h"
#include "handlers/wasi-preview2/wasi_internal.h"
#include "handlers/wasi-preview2/wasi_preview2.h"

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;
using Values = std::vector<Value>;
using wasi_internal::CaseIndex;

constexpr size_t kMaxAuthority = 255;
constexpr size_t kMaxPathWithQuery = 8u << 10;

bool PrintableWithoutSpaces(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A value of `type` carrying nothing: the payload of an error-code case the host has no details
// for (none, empty records, zeroes).
Value EmptyOf(const Type* type) {
  if (type == nullptr) return Value::None();
  switch (type->kind) {
    case TypeKind::kOption:
      return Value::None();
    case TypeKind::kRecord: {
      std::vector<Value> fields;
      for (const abi::Field& field : type->fields) fields.push_back(EmptyOf(field.type.get()));
      return Value::Record(std::move(fields));
    }
    case TypeKind::kString:
      return Value::String("");
    case TypeKind::kList:
      return Value::List({});
    default:
      return Value::U64(0);
  }
}

// The error-code value naming `failure` in the component's own error-code type: its case when
// the type has it, else internal-error with the host's words.
Result<Value> ErrorCodeValue(const Type* error_code, const HttpRequestFailure& failure) {
  if (Result<uint32_t> index = CaseIndex(error_code, failure.error_code); index.ok()) {
    const Type* payload = error_code->cases[*index].type.get();
    if (payload == nullptr) return Value::Variant(*index);
    if (payload->kind == TypeKind::kOption && payload->element &&
        payload->element->kind == TypeKind::kString) {
      return Value::Variant(*index, Value::Some(Value::String(failure.message)));
    }
    return Value::Variant(*index, EmptyOf(payload));
  }
  THEATER_ASSIGN_OR_RETURN(uint32_t internal, CaseIndex(error_code, "internal-error"));
  return Value::Variant(internal,
                        Value::Some(Value::String(failure.error_code + ": " + failure.message)));
}

// The error-code type inside the result of `import` (result<_, error-code>, or the
// result<own<future>, error-code> of handle).
const Type* ErrorCodeIn(const ComponentImport& import) {
  const Type* result = import.type.result.get();
  return result != nullptr && result->kind == TypeKind::kResult ? result->err.get() : nullptr;
}

}  // namespace

Result<WasiPreview2::Impl> WasiPreview2::FindHttpOutgoing(std::string_view interface_name,
                                                          std::string_view function) {
  const std::string name = std::string(interface_name) + "#" + std::string(function);

  if (interface_name == "wasi:http/outgoing-handler" && function == "handle") {
    return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
      std::shared_ptr<HttpOutgoingMessage> message = request->response;
      objects_.erase(params[0].handle());  // given to the host
      if (params.size() > 1 && params[1].is_some()) {
        THEATER_ASSIGN_OR_RETURN(Object * options,
                                 Get(*params[1].payload(), Kind::kRequestOptions));
        const HttpOutgoingMessage& set = *options->response;
        message->connect_timeout_ns = set.connect_timeout_ns;
        message->first_byte_timeout_ns = set.first_byte_timeout_ns;
        message->between_bytes_timeout_ns = set.between_bytes_timeout_ns;
        objects_.erase(params[1].payload()->handle());
      }
      std::variant<HttpIncomingResponse, HttpRequestFailure> outcome =
          options_.send_request
              ? options_.send_request(*message)
              : HttpRequestFailure{"HTTP-request-denied", "this host sends no requests"};
      const uint32_t future = New(Kind::kFutureIncomingResponse);
      if (auto* failure = std::get_if<HttpRequestFailure>(&outcome)) {
        // A request that never left (refused by the permission, a malformed request) is handle's
        // own error; one that left and failed is the future's.
        if (failure->error_code == "HTTP-request-denied" ||
            failure->error_code == "HTTP-request-URI-invalid") {
          objects_.erase(future);
          THEATER_ASSIGN_OR_RETURN(Value code, ErrorCodeValue(ErrorCodeIn(import), *failure));
          return Values{Value::Err(std::move(code))};
        }
        objects_[future].failure = std::move(*failure);
      } else {
        auto received = std::make_shared<HttpExchange>();
        HttpIncomingResponse& response = std::get<HttpIncomingResponse>(outcome);
        received->status = response.status;
        *received->headers = std::move(response.headers);
        received->body = std::move(response.body);
        objects_[future].exchange = std::move(received);
      }
      return Values{Value::Ok(Value::Own(future))};
    });
  }

  // ----- outgoing-request
  if (function == "[constructor]outgoing-request") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      return NewOutgoingMessage(params[0], Kind::kOutgoingRequest);
    });
  }
  const std::string_view request_method = "[method]outgoing-request.";
  if (function.starts_with(request_method)) {
    const std::string_view method = function.substr(request_method.size());
    if (method == "body") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        return TakeChildOnce(params[0], Kind::kOutgoingRequest, Kind::kOutgoingBody);
      });
    }
    if (method == "headers") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        return Values{Value::Own(NewFields(request->response->headers, /*immutable=*/true))};
      });
    }
    if (method == "method") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        THEATER_ASSIGN_OR_RETURN(const Type* type, wasi_internal::ResultType(import));
        const std::string& text = request->response->method;
        Result<uint32_t> known = CaseIndex(type, AsciiLower(text));
        if (known.ok() && !type->cases[*known].type) return Values{Value::Variant(*known)};
        THEATER_ASSIGN_OR_RETURN(uint32_t other, CaseIndex(type, "other"));
        return Values{Value::Variant(other, Value::String(text))};
      });
    }
    if (method == "set-method") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        const Type* type =
            import.type.params.size() > 1 ? import.type.params[1].type.get() : nullptr;
        const Value& chosen = params[1];
        std::string text;
        if (const Value* payload = chosen.payload(); payload != nullptr) {
          text = payload->as_string();
        } else if (type != nullptr && chosen.case_index() < type->cases.size()) {
          text = type->cases[chosen.case_index()].name;
        }
        if (!IsHttpToken(text) || text.size() > 32) return Values{Value::Err()};
        request->response->method = AsciiUpper(text);
        return Values{Value::Ok()};
      });
    }
    if (method == "path-with-query" || method == "authority") {
      const bool path = method == "path-with-query";
      return Impl([this, path](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        const std::string& text =
            path ? request->response->path_with_query : request->response->authority;
        if (text.empty()) return Values{Value::None()};
        return Values{Value::Some(Value::String(text))};
      });
    }
    if (method == "set-path-with-query" || method == "set-authority") {
      const bool path = method == "set-path-with-query";
      return Impl([this, path](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        std::string text = params[1].is_some() ? params[1].payload()->as_string() : "";
        const bool valid =
            PrintableWithoutSpaces(text) &&
            (path
                 ? text.size() <= kMaxPathWithQuery && (text.empty() || text[0] == '/')
                 : text.size() <= kMaxAuthority && text.find_first_of("/@?#") == std::string::npos);
        if (!valid) return Values{Value::Err()};
        (path ? request->response->path_with_query : request->response->authority) =
            std::move(text);
        return Values{Value::Ok()};
      });
    }
    if (method == "scheme") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        if (request->response->scheme.empty()) return Values{Value::None()};
        THEATER_ASSIGN_OR_RETURN(const Type* option, wasi_internal::ResultType(import));
        const Type* type = option->kind == TypeKind::kOption ? option->element.get() : nullptr;
        THEATER_ASSIGN_OR_RETURN(uint32_t index, CaseIndex(type, request->response->scheme));
        return Values{Value::Some(Value::Variant(index))};
      });
    }
    if (method == "set-scheme") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kOutgoingRequest));
        if (!params[1].is_some()) {
          request->response->scheme.clear();
          return Values{Value::Ok()};
        }
        const Type* option =
            import.type.params.size() > 1 ? import.type.params[1].type.get() : nullptr;
        const Type* type = option != nullptr && option->kind == TypeKind::kOption
                               ? option->element.get()
                               : nullptr;
        const Value& chosen = *params[1].payload();
        std::string text;
        if (const Value* payload = chosen.payload(); payload != nullptr) {
          text = payload->as_string();
        } else if (type != nullptr && chosen.case_index() < type->cases.size()) {
          text = type->cases[chosen.case_index()].name;
        }
        text = AsciiLower(text);
        // Only what the host can send: plain HTTP and HTTPS.
        if (text != "http" && text != "https") return Values{Value::Err()};
        request->response->scheme = std::move(text);
        return Values{Value::Ok()};
      });
    }
  }

  // ----- request-options
  if (function == "[constructor]request-options") {
    return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
      const uint32_t rep = New(Kind::kRequestOptions);
      objects_[rep].response = std::make_shared<HttpOutgoingMessage>();
      return Values{Value::Own(rep)};
    });
  }
  const std::string_view options_method = "[method]request-options.";
  if (function.starts_with(options_method)) {
    std::string_view method = function.substr(options_method.size());
    const bool set = method.starts_with("set-");
    if (set) method.remove_prefix(4);
    std::optional<uint64_t> HttpOutgoingMessage::*field = nullptr;
    if (method == "connect-timeout") field = &HttpOutgoingMessage::connect_timeout_ns;
    if (method == "first-byte-timeout") field = &HttpOutgoingMessage::first_byte_timeout_ns;
    if (method == "between-bytes-timeout") field = &HttpOutgoingMessage::between_bytes_timeout_ns;
    if (field != nullptr) {
      return Impl([this, set, field](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * options, Get(params[0], Kind::kRequestOptions));
        std::optional<uint64_t>& value = (*options->response).*field;
        if (!set) return Values{value ? Value::Some(Value::U64(*value)) : Value::None()};
        value = params[1].is_some() ? std::optional<uint64_t>(params[1].payload()->as_u64())
                                    : std::nullopt;
        return Values{Value::Ok()};
      });
    }
  }

  // ----- future-incoming-response and incoming-response
  if (function == "[method]future-incoming-response.subscribe") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_RETURN_IF_ERROR(Get(params[0], Kind::kFutureIncomingResponse).status());
      return Values{Value::Own(New(Kind::kPollable))};  // ready: the response is there
    });
  }
  if (function == "[method]future-incoming-response.get") {
    return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * future, Get(params[0], Kind::kFutureIncomingResponse));
      if (future->taken) return Values{Value::Some(Value::Err())};
      future->taken = true;
      if (future->failure) {
        // option<result<result<own<incoming-response>, error-code>>>: the inner error-code.
        const Type* type = import.type.result.get();
        const Type* outer =
            type != nullptr && type->kind == TypeKind::kOption ? type->element.get() : nullptr;
        const Type* inner =
            outer != nullptr && outer->kind == TypeKind::kResult ? outer->ok.get() : nullptr;
        const Type* error_code =
            inner != nullptr && inner->kind == TypeKind::kResult ? inner->err.get() : nullptr;
        THEATER_ASSIGN_OR_RETURN(Value code, ErrorCodeValue(error_code, *future->failure));
        return Values{Value::Some(Value::Ok(Value::Err(std::move(code))))};
      }
      std::shared_ptr<HttpExchange> received = future->exchange;
      const uint32_t rep = New(Kind::kIncomingResponse);
      objects_[rep].exchange = std::move(received);
      return Values{Value::Some(Value::Ok(Value::Ok(Value::Own(rep))))};
    });
  }
  const std::string_view response_method = "[method]incoming-response.";
  if (function.starts_with(response_method)) {
    const std::string_view method = function.substr(response_method.size());
    if (method == "status") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * response, Get(params[0], Kind::kIncomingResponse));
        return Values{Value::U16(response->exchange->status)};
      });
    }
    if (method == "headers") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * response, Get(params[0], Kind::kIncomingResponse));
        return Values{Value::Own(NewFields(response->exchange->headers, /*immutable=*/true))};
      });
    }
    if (method == "consume") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        return TakeChildOnce(params[0], Kind::kIncomingResponse, Kind::kIncomingBody);
      });
    }
  }
  return NotFound(name + " is not provided to actors");
}

}  // namespace theater::handlers
