// Theater: a WebAssembly actor runtime.
//
// wasi:http/types 0.2 for a component the wasi-http handler calls (WasiPreview2::FindHttp):
// header fields, the incoming request and its body, the outgoing response and its body, and the
// response-outparam through which the component answers. The request comes from an HttpExchange
// the handler's listener adopted (AdoptIncoming); the response goes back into it. Bodies travel
// through wasi:io streams served by wasi_preview2.cc (an input stream reading the request body,
// an output stream appending to the response body). The calls are recorded like every other
// WASI call (Options::record), so a replay answers them from the chain.
//
// Variant cases (method, scheme, header-error) are found by name in the component's own types,
// so a component built against any 0.2.x WIT is answered in its own numbering.
#include <algorithm>
#include <utility>

#include "common/ascii.h"
#include "handlers/wasi-preview2/wasi_internal.h"
#include "handlers/wasi-preview2/wasi_preview2.h"

using theater::handlers::wasi_internal::CaseIndex;

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;
using Values = std::vector<Value>;

// What one fields object may hold: more is a guest making the host allocate without bound.
constexpr size_t kMaxFields = 1024;
constexpr size_t kMaxFieldBytes = 64u << 10;
// The most a response body may hold: writes past it fail the stream.
constexpr size_t kMaxResponseBody = 16u << 20;

// Hop-by-hop fields a component may not set: the connection is the host's.
bool ForbiddenField(std::string_view name) {
  for (std::string_view forbidden :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
    if (AsciiEqualsIgnoreCase(name, forbidden)) return true;
  }
  return false;
}

bool ValidFieldValue(const std::vector<uint8_t>& value) {
  return std::none_of(value.begin(), value.end(),
                      [](uint8_t c) { return c == '\r' || c == '\n' || c == 0; });
}

size_t FieldBytes(const HttpFields& fields) {
  size_t bytes = 0;
  for (const auto& [name, value] : fields) bytes += name.size() + value.size();
  return bytes;
}

// err(<case>) of a result<_, header-error>.
Result<Value> HeaderError(const ComponentImport& import, std::string_view which) {
  THEATER_ASSIGN_OR_RETURN(const Type* result, wasi_internal::ResultType(import));
  if (result->kind != TypeKind::kResult) return InvalidArgument("expected a result");
  THEATER_ASSIGN_OR_RETURN(uint32_t index, CaseIndex(result->err.get(), which));
  return Value::Err(Value::Variant(index));
}

// The name of the error-code a component gave, with its payload printed.
std::string ErrorCodeText(const Type* error_code, const Value& value) {
  std::string text = "error-code #" + std::to_string(value.case_index());
  if (error_code != nullptr && error_code->kind == TypeKind::kVariant &&
      value.case_index() < error_code->cases.size()) {
    text = error_code->cases[value.case_index()].name;
  }
  if (const Value* payload = value.payload()) text += "(" + payload->ToString() + ")";
  return text;
}

Values FieldEntries(const HttpFields& fields) {
  Values entries;
  entries.reserve(fields.size());
  for (const auto& [name, value] : fields) {
    entries.push_back(Value::Tuple({Value::String(name), Value::Bytes(value)}));
  }
  return entries;
}

}  // namespace

Result<uint32_t> wasi_internal::CaseIndex(const Type* variant, std::string_view name) {
  if (variant == nullptr || variant->kind != TypeKind::kVariant) {
    return InvalidArgument("expected a variant with a case '" + std::string(name) + "'");
  }
  for (uint32_t i = 0; i < variant->cases.size(); ++i) {
    if (AsciiEqualsIgnoreCase(variant->cases[i].name, name)) return i;
  }
  return InvalidArgument("the variant " + variant->name + " has no case '" + std::string(name) +
                         "'");
}

Result<std::vector<Value>> WasiPreview2::ReadHttpBody(const ComponentImport& import, Object& stream,
                                                      uint64_t len, bool skip) {
  const std::vector<uint8_t>& body = stream.exchange->body;
  if (stream.offset >= body.size() && len > 0) {
    THEATER_ASSIGN_OR_RETURN(Value closed, wasi_internal::StreamClosed(import));
    return Values{std::move(closed)};
  }
  const uint64_t n =
      std::min<uint64_t>({len, wasi_internal::kMaxTransfer, body.size() - stream.offset});
  const auto from = body.begin() + static_cast<std::ptrdiff_t>(stream.offset);
  stream.offset += n;
  if (skip) return Values{Value::Ok(Value::U64(n))};
  return Values{
      Value::Ok(Value::Bytes(std::vector<uint8_t>(from, from + static_cast<std::ptrdiff_t>(n))))};
}

Result<std::vector<Value>> WasiPreview2::WriteHttpBody(const ComponentImport& import,
                                                       Object& stream,
                                                       std::span<const uint8_t> bytes) {
  std::vector<uint8_t>& body = stream.response->body;
  if (stream.response->body_finished || body.size() + bytes.size() > kMaxResponseBody) {
    return StreamFailed(import);
  }
  body.insert(body.end(), bytes.begin(), bytes.end());
  return Values{Value::Ok()};
}

uint32_t WasiPreview2::NewFields(std::shared_ptr<HttpFields> fields, bool immutable) {
  const uint32_t rep = New(Kind::kFields);
  objects_[rep].fields = std::move(fields);
  objects_[rep].immutable = immutable;
  return rep;
}

Result<std::vector<Value>> WasiPreview2::NewOutgoingMessage(const Value& headers, Kind kind) {
  THEATER_ASSIGN_OR_RETURN(Object * fields, Get(headers, Kind::kFields));
  auto message = std::make_shared<HttpOutgoingMessage>();
  message->headers = std::make_shared<HttpFields>(*fields->fields);
  objects_.erase(headers.handle());  // given to the message
  const uint32_t rep = New(kind);
  objects_[rep].response = std::move(message);
  return Values{Value::Own(rep)};
}

Result<std::vector<Value>> WasiPreview2::TakeChildOnce(const Value& handle, Kind parent,
                                                       Kind child) {
  THEATER_ASSIGN_OR_RETURN(Object * object, Get(handle, parent));
  if (object->taken) return Values{Value::Err()};
  object->taken = true;
  std::shared_ptr<HttpExchange> exchange = object->exchange;
  std::shared_ptr<HttpOutgoingMessage> message = object->response;
  const uint32_t rep = New(child);
  objects_[rep].exchange = std::move(exchange);
  objects_[rep].response = std::move(message);
  return Values{Value::Ok(Value::Own(rep))};
}

Result<WasiPreview2::Impl> WasiPreview2::FindHttp(std::string_view interface_name,
                                                  std::string_view function) {
  const std::string name = std::string(interface_name) + "#" + std::string(function);
  auto new_fields = [this](std::shared_ptr<HttpFields> fields, bool immutable) {
    return NewFields(std::move(fields), immutable);
  };

  // ----- fields
  if (function == "[constructor]fields") {
    return Impl([new_fields](const ComponentImport&, Values&) -> Result<Values> {
      return Values{Value::Own(new_fields(std::make_shared<HttpFields>(), false))};
    });
  }
  if (function == "[static]fields.from-list") {
    return Impl([new_fields](const ComponentImport& import, Values& params) -> Result<Values> {
      auto fields = std::make_shared<HttpFields>();
      const Values& entries = params[0].items();
      if (entries.size() > kMaxFields) {
        THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
        return Values{std::move(error)};
      }
      size_t bytes = 0;
      for (const Value& entry : entries) {
        const std::string& key = entry.items()[0].as_string();
        const std::vector<uint8_t>& value = entry.items()[1].as_bytes();
        if (!IsHttpToken(key) || !ValidFieldValue(value)) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
          return Values{std::move(error)};
        }
        if (ForbiddenField(key)) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "forbidden"));
          return Values{std::move(error)};
        }
        bytes += key.size() + value.size();
        if (bytes > kMaxFieldBytes) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
          return Values{std::move(error)};
        }
        fields->emplace_back(key, value);
      }
      return Values{Value::Ok(Value::Own(new_fields(std::move(fields), false)))};
    });
  }
  const std::string_view fields_method = "[method]fields.";
  if (function.starts_with(fields_method)) {
    const std::string_view method = function.substr(fields_method.size());
    if (method == "get" || method == "has") {
      const bool has = method == "has";
      return Impl([this, has](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * fields, Get(params[0], Kind::kFields));
        const std::string& key = params[1].as_string();
        Values values;
        for (const auto& [name, value] : *fields->fields) {
          if (!AsciiEqualsIgnoreCase(name, key)) continue;
          if (has) return Values{Value::Bool(true)};
          values.push_back(Value::Bytes(value));
        }
        if (has) return Values{Value::Bool(false)};
        return Values{Value::List(std::move(values))};
      });
    }
    if (method == "set" || method == "append" || method == "delete") {
      return Impl([this, method](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * object, Get(params[0], Kind::kFields));
        if (object->immutable) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "immutable"));
          return Values{std::move(error)};
        }
        const std::string& key = params[1].as_string();
        if (!IsHttpToken(key)) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
          return Values{std::move(error)};
        }
        if (ForbiddenField(key)) {
          THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "forbidden"));
          return Values{std::move(error)};
        }
        // set takes a list of values, append one.
        std::vector<std::vector<uint8_t>> added;
        if (method == "set") {
          for (const Value& v : params[2].items()) added.push_back(v.as_bytes());
        } else if (method == "append") {
          added.push_back(params[2].as_bytes());
        }
        for (const std::vector<uint8_t>& value : added) {
          if (!ValidFieldValue(value)) {
            THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
            return Values{std::move(error)};
          }
        }
        HttpFields& fields = *object->fields;
        if (method != "append") {
          std::erase_if(fields,
                        [&key](const auto& f) { return AsciiEqualsIgnoreCase(f.first, key); });
        }
        size_t bytes = FieldBytes(fields);
        for (std::vector<uint8_t>& value : added) {
          bytes += key.size() + value.size();
          if (fields.size() >= kMaxFields || bytes > kMaxFieldBytes) {
            THEATER_ASSIGN_OR_RETURN(Value error, HeaderError(import, "invalid-syntax"));
            return Values{std::move(error)};
          }
          fields.emplace_back(key, std::move(value));
        }
        return Values{Value::Ok()};
      });
    }
    if (method == "entries") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * fields, Get(params[0], Kind::kFields));
        return Values{Value::List(FieldEntries(*fields->fields))};
      });
    }
    if (method == "clone") {
      return Impl([this, new_fields](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * fields, Get(params[0], Kind::kFields));
        return Values{Value::Own(new_fields(std::make_shared<HttpFields>(*fields->fields), false))};
      });
    }
  }

  // ----- incoming-request
  const std::string_view request_method = "[method]incoming-request.";
  if (function.starts_with(request_method)) {
    const std::string_view method = function.substr(request_method.size());
    if (method == "method") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kIncomingRequest));
        THEATER_ASSIGN_OR_RETURN(const Type* type, wasi_internal::ResultType(import));
        const std::string lower = AsciiLower(request->exchange->method);
        Result<uint32_t> known = CaseIndex(type, lower);
        if (known.ok() && !type->cases[*known].type) return Values{Value::Variant(*known)};
        THEATER_ASSIGN_OR_RETURN(uint32_t other, CaseIndex(type, "other"));
        return Values{Value::Variant(other, Value::String(request->exchange->method))};
      });
    }
    if (method == "path-with-query" || method == "authority") {
      const bool path = method == "path-with-query";
      return Impl([this, path](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kIncomingRequest));
        const std::string& text =
            path ? request->exchange->path_with_query : request->exchange->authority;
        if (text.empty()) return Values{Value::None()};
        return Values{Value::Some(Value::String(text))};
      });
    }
    if (method == "scheme") {
      return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kIncomingRequest));
        THEATER_ASSIGN_OR_RETURN(const Type* option, wasi_internal::ResultType(import));
        const Type* type = option->kind == TypeKind::kOption ? option->element.get() : nullptr;
        THEATER_ASSIGN_OR_RETURN(uint32_t index, CaseIndex(type, request->exchange->scheme));
        return Values{Value::Some(Value::Variant(index))};
      });
    }
    if (method == "headers") {
      return Impl([this, new_fields](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * request, Get(params[0], Kind::kIncomingRequest));
        return Values{Value::Own(new_fields(request->exchange->headers, /*immutable=*/true))};
      });
    }
    if (method == "consume") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        return TakeChildOnce(params[0], Kind::kIncomingRequest, Kind::kIncomingBody);
      });
    }
  }

  // ----- incoming-body and its trailers
  if (function == "[method]incoming-body.stream") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      return TakeChildOnce(params[0], Kind::kIncomingBody, Kind::kInputStream);
    });
  }
  if (function == "[static]incoming-body.finish") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_RETURN_IF_ERROR(Get(params[0], Kind::kIncomingBody).status());
      objects_.erase(params[0].handle());  // given to the host
      return Values{Value::Own(New(Kind::kFutureTrailers))};
    });
  }
  if (function == "[method]future-trailers.subscribe") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_RETURN_IF_ERROR(Get(params[0], Kind::kFutureTrailers).status());
      return Values{Value::Own(New(Kind::kPollable))};  // ready: requests carry no trailers
    });
  }
  if (function == "[method]future-trailers.get") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * future, Get(params[0], Kind::kFutureTrailers));
      if (future->taken) return Values{Value::Some(Value::Err())};
      future->taken = true;
      return Values{Value::Some(Value::Ok(Value::Ok(Value::None())))};
    });
  }

  // ----- outgoing-response and its body
  if (function == "[constructor]outgoing-response") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      return NewOutgoingMessage(params[0], Kind::kOutgoingResponse);
    });
  }
  const std::string_view response_method = "[method]outgoing-response.";
  if (function.starts_with(response_method)) {
    const std::string_view method = function.substr(response_method.size());
    if (method == "status-code") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * response, Get(params[0], Kind::kOutgoingResponse));
        return Values{Value::U16(response->response->status)};
      });
    }
    if (method == "set-status-code") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * response, Get(params[0], Kind::kOutgoingResponse));
        const uint64_t status = params[1].as_u64();
        if (status < 100 || status > 599) return Values{Value::Err()};
        response->response->status = static_cast<uint16_t>(status);
        return Values{Value::Ok()};
      });
    }
    if (method == "headers") {
      return Impl([this, new_fields](const ComponentImport&, Values& params) -> Result<Values> {
        THEATER_ASSIGN_OR_RETURN(Object * response, Get(params[0], Kind::kOutgoingResponse));
        // A child view, immutable as wasi:http 0.2 says: headers are given to the constructor.
        return Values{Value::Own(new_fields(response->response->headers, /*immutable=*/true))};
      });
    }
    if (method == "body") {
      return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
        return TakeChildOnce(params[0], Kind::kOutgoingResponse, Kind::kOutgoingBody);
      });
    }
  }
  if (function == "[method]outgoing-body.write") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      return TakeChildOnce(params[0], Kind::kOutgoingBody, Kind::kOutputStream);
    });
  }
  if (function == "[static]outgoing-body.finish") {
    return Impl([this](const ComponentImport&, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * body, Get(params[0], Kind::kOutgoingBody));
      body->response->body_finished = true;
      objects_.erase(params[0].handle());  // given to the host
      // Trailers are not sent (HTTP/1.1 without chunked trailers): taken and dropped.
      if (params.size() > 1 && params[1].is_some()) objects_.erase(params[1].payload()->handle());
      return Values{Value::Ok()};
    });
  }

  // ----- response-outparam
  if (function == "[static]response-outparam.set") {
    return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * outparam, Get(params[0], Kind::kResponseOutparam));
      std::shared_ptr<HttpExchange> exchange = outparam->exchange;
      objects_.erase(params[0].handle());  // given to the host
      if (exchange->responded) return FailedPrecondition("the response was set already");
      exchange->responded = true;
      const Value& response = params[1];
      const Value* payload = response.payload();
      if (response.case_index() == 0 && payload != nullptr) {
        THEATER_ASSIGN_OR_RETURN(Object * outgoing, Get(*payload, Kind::kOutgoingResponse));
        exchange->response = outgoing->response;
        objects_.erase(payload->handle());  // given to the host
      } else {
        const Type* result =
            import.type.params.size() > 1 ? import.type.params[1].type.get() : nullptr;
        const Type* error_code = result != nullptr ? result->err.get() : nullptr;
        exchange->error = payload != nullptr ? ErrorCodeText(error_code, *payload) : "error";
      }
      return Values{};
    });
  }
  if (function == "http-error-code") {
    return Impl(
        [](const ComponentImport&, Values&) -> Result<Values> { return Values{Value::None()}; });
  }
  return FindHttpOutgoing(interface_name, function);
}

}  // namespace theater::handlers
