// Theater: a WebAssembly actor runtime.
#include "server/protocol.h"

#include "common/utf8.h"

#include <array>
#include <string>

#include "common/bytes.h"
#include "common/json_writer.h"
#include "common/utf8.h"
#include "common/uuid.h"

namespace theater::server {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 16> kErrorNames = {
    "ActorNotFound",
    "ActorAlreadyExists",
    "ActorNotRunning",
    "ActorError",
    "ChannelNotFound",
    "ChannelClosed",
    "ChannelRejected",
    "StoreError",
    "CommunicationError",
    "InvalidRequest",
    "Timeout",
    "RuntimeError",
    "InternalError",
    "SerializationError",
    "ActorInitializationError",
    "Unauthorized",
};

constexpr std::array<std::string_view, 5> kPushes = {"ActorEvent", "ActorResult", "ChannelMessage",
                                                     "ActorsSnapshot", "CompileProgress"};

// Text of `bytes` in the three-character-or-less decimal forms, precomputed: encoding a byte
// array is the server's hottest loop when it streams events.
struct DecimalTable {
  std::array<std::array<char, 4>, 256> text{};  // digits, then the length in text[i][3]
  constexpr DecimalTable() {
    for (int i = 0; i < 256; ++i) {
      int n = 0;
      if (i >= 100) text[i][n++] = static_cast<char>('0' + i / 100);
      if (i >= 10) text[i][n++] = static_cast<char>('0' + (i / 10) % 10);
      text[i][n++] = static_cast<char>('0' + i % 10);
      text[i][3] = static_cast<char>(n);
    }
  }
};
constexpr DecimalTable kDecimal;

}  // namespace

Result<Variant> ReadVariant(const json& value) {
  return ReadVariant(json(value));
}

Result<Variant> ReadVariant(json&& value) {
  if (value.is_string()) return Variant{value.get<std::string>(), json::object()};
  if (!value.is_object() || value.size() != 1) {
    return InvalidArgument("expected a variant: a name, or an object with one key");
  }
  auto it = value.begin();
  if (!it.value().is_object() && !it.value().is_null()) {
    return InvalidArgument("the fields of '" + it.key() + "' must be an object");
  }
  Variant variant;
  variant.name = it.key();
  if (it.value().is_object()) variant.fields = std::move(it.value());
  return variant;
}

json MakeVariant(std::string_view name, json fields) {
  if (fields.is_null()) return json(name);
  json out = json::object();
  out[std::string(name)] = std::move(fields);
  return out;
}

Result<CommandEnvelope> ParseCommand(std::span<const uint8_t> message) {
  json value = json::parse(message.begin(), message.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return ParseError("the message is not JSON");
  CommandEnvelope envelope;
  json* command = &value;
  if (value.is_object() && value.contains("command")) {
    envelope.wrapped = true;
    command = &value["command"];
    if (value.contains("request_id")) {
      const json& id = value["request_id"];
      if (!id.is_number_integer() && !id.is_number_unsigned() && !id.is_string() && !id.is_null()) {
        return InvalidArgument("request_id must be a number or a string");
      }
      envelope.request_id = id;
    }
    if (value.contains("token") && !value["token"].is_null()) {
      if (!value["token"].is_string()) return InvalidArgument("token must be a string");
      envelope.token = value["token"].get<std::string>();
    }
  }
  THEATER_ASSIGN_OR_RETURN(envelope.command, ReadVariant(std::move(*command)));
  return envelope;
}

json WrapCommand(const json& command, const json& request_id,
                 const std::optional<std::string>& token) {
  if (request_id.is_null() && !token) return command;
  json out = json::object();
  if (!request_id.is_null()) out["request_id"] = request_id;
  if (token) out["token"] = *token;
  out["command"] = command;
  return out;
}

bool Incoming::is_push() const {
  if (wrapped) return false;
  for (std::string_view push : kPushes) {
    if (response.name == push) return true;
  }
  // ChannelClosed is both a reply (to CloseChannel) and a push (the actor closed the channel);
  // the push says who closed it.
  return response.name == "ChannelClosed" && response.fields.contains("closed_by");
}

Result<Incoming> ParseIncoming(std::span<const uint8_t> message) {
  json value = json::parse(message.begin(), message.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return ParseError("the server sent a message that is not JSON");
  Incoming incoming;
  json* response = &value;
  if (value.is_object() && value.contains("response")) {
    incoming.wrapped = true;
    if (value.contains("request_id")) incoming.request_id = value["request_id"];
    response = &value["response"];
  }
  THEATER_ASSIGN_OR_RETURN(incoming.response, ReadVariant(std::move(*response)));
  return incoming;
}

json BytesToJson(std::span<const uint8_t> bytes) {
  json out = json::array();
  out.get_ref<json::array_t&>().reserve(bytes.size());
  for (uint8_t b : bytes) out.push_back(b);
  return out;
}

void AppendBytesJson(std::span<const uint8_t> bytes, std::string& out, ByteEncoding encoding) {
  if (encoding == ByteEncoding::kBase64) {
    out.push_back('"');
    Base64Append(bytes, out);
    out.push_back('"');
    return;
  }
  out.reserve(out.size() + bytes.size() * 4 + 2);
  out.push_back('[');
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out.push_back(',');
    const auto& digits = kDecimal.text[bytes[i]];
    out.append(digits.data(), static_cast<size_t>(digits[3]));
  }
  out.push_back(']');
}

bool HasField(const json& fields, std::string_view field) {
  auto it = fields.find(field);
  return it != fields.end() && !it->is_null();
}

Result<std::optional<std::vector<uint8_t>>> OptionalBytesField(const json& fields,
                                                               std::string_view field) {
  if (!HasField(fields, field)) return std::optional<std::vector<uint8_t>>();
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, BytesField(fields, field));
  return std::optional<std::vector<uint8_t>>(std::move(bytes));
}

Result<std::vector<uint8_t>> BytesField(const json& fields, std::string_view field) {
  auto it = fields.find(field);
  if (it == fields.end() || it->is_null()) {
    return InvalidArgument("missing field '" + std::string(field) + "'");
  }
  std::vector<uint8_t> bytes;
  if (it->is_string()) {
    if (!Base64Decode(it->get_ref<const std::string&>(), &bytes)) {
      return InvalidArgument("field '" + std::string(field) + "' is a string but not base64");
    }
    return bytes;
  }
  if (!it->is_array()) {
    return InvalidArgument("field '" + std::string(field) +
                           "' must be an array of bytes or a base64 string");
  }
  bytes.reserve(it->size());
  for (const json& b : *it) {
    if (!b.is_number_unsigned() && !(b.is_number_integer() && b.get<int64_t>() >= 0)) {
      return InvalidArgument("field '" + std::string(field) + "' holds a value that is not a byte");
    }
    uint64_t v = b.get<uint64_t>();
    if (v > 255) {
      return InvalidArgument("field '" + std::string(field) + "' holds " + std::to_string(v) +
                             ", which is not a byte");
    }
    bytes.push_back(static_cast<uint8_t>(v));
  }
  return bytes;
}

Result<ByteEncoding> ByteEncodingField(const json& fields) {
  auto it = fields.find("byte_encoding");
  if (it == fields.end() || it->is_null()) return ByteEncoding::kArray;
  if (*it == "array") return ByteEncoding::kArray;
  if (*it == "base64") return ByteEncoding::kBase64;
  return InvalidArgument("byte_encoding must be \"array\" or \"base64\"");
}

Result<std::string> StringField(const json& fields, std::string_view field) {
  auto it = fields.find(field);
  if (it == fields.end() || it->is_null()) {
    return InvalidArgument("missing field '" + std::string(field) + "'");
  }
  if (!it->is_string())
    return InvalidArgument("field '" + std::string(field) + "' must be a string");
  return it->get<std::string>();
}

Result<bool> BoolField(const json& fields, std::string_view field, bool fallback) {
  auto it = fields.find(field);
  if (it == fields.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return InvalidArgument("field '" + std::string(field) + "' must be true or false");
  }
  return it->get<bool>();
}

Result<std::string> ActorIdField(const json& fields, std::string_view field) {
  THEATER_ASSIGN_OR_RETURN(std::string id, StringField(fields, field));
  if (!IsUuid(id)) {
    return InvalidArgument("field '" + std::string(field) + "': '" + id + "' is not an actor id");
  }
  return id;
}

json ChainEventToJson(const chain::Event& event) {
  json out = json::object();
  out["hash"] = BytesToJson(event.hash);
  out["parent_hash"] = event.parent ? BytesToJson(*event.parent) : json(nullptr);
  out["event_type"] = event.type;
  out["data"] = BytesToJson(event.payload);
  out["timestamp"] = event.timestamp_ms;
  out["description"] = event.description ? json(*event.description) : json(nullptr);
  return out;
}

void AppendChainEventJson(const chain::Event& event, std::string& out, ByteEncoding encoding,
                          bool decoded) {
  out += "{\"hash\":";
  AppendBytesJson(event.hash, out, encoding);
  out += ",\"parent_hash\":";
  if (event.parent) {
    AppendBytesJson(*event.parent, out, encoding);
  } else {
    out += "null";
  }
  out += ",\"event_type\":";
  AppendJsonString(event.type, out);
  out += ",\"data\":";
  AppendBytesJson(event.payload, out, encoding);
  out += ",\"timestamp\":";
  out += std::to_string(event.timestamp_ms);
  out += ",\"description\":";
  if (event.description) {
    AppendJsonString(*event.description, out);
  } else {
    out += "null";
  }
  if (decoded) {
    out += ",\"decoded\":";
    out += JsonText(chain::PayloadToJson(event.payload));
    // The line it records, for a reader that shows an actor's log (the dashboard).
    if (std::optional<std::string> line = chain::LoggedText(event)) {
      out += ",\"log\":";
      AppendJsonString(SanitizeUtf8(*line), out);
    }
  }
  out.push_back('}');
}

Result<chain::Event> ChainEventFromJson(const json& value) {
  if (!value.is_object()) return InvalidArgument("a chain event must be an object");
  chain::Event event;
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> hash, BytesField(value, "hash"));
  if (hash.size() != event.hash.size()) return InvalidArgument("hash must be 32 bytes");
  std::copy(hash.begin(), hash.end(), event.hash.begin());
  if (HasField(value, "parent_hash")) {
    THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> parent, BytesField(value, "parent_hash"));
    if (parent.size() != event.hash.size()) return InvalidArgument("parent_hash must be 32 bytes");
    chain::Hash p;
    std::copy(parent.begin(), parent.end(), p.begin());
    event.parent = p;
  }
  THEATER_ASSIGN_OR_RETURN(event.type, StringField(value, "event_type"));
  THEATER_ASSIGN_OR_RETURN(event.payload, BytesField(value, "data"));
  auto ts = value.find("timestamp");
  if (ts == value.end() || !ts->is_number_unsigned()) {
    return InvalidArgument("timestamp must be a non-negative number");
  }
  event.timestamp_ms = ts->get<uint64_t>();
  auto description = value.find("description");
  if (description != value.end() && !description->is_null()) {
    if (!description->is_string()) return InvalidArgument("description must be a string");
    event.description = description->get<std::string>();
  }
  return event;
}

Result<EventPush> EventPushFromFields(const json& fields) {
  EventPush push;
  // actor_id and subscription_id are additions: a push from an original server has neither.
  if (HasField(fields, "actor_id")) {
    THEATER_ASSIGN_OR_RETURN(push.actor_id, StringField(fields, "actor_id"));
  }
  if (HasField(fields, "subscription_id")) {
    THEATER_ASSIGN_OR_RETURN(push.subscription_id, StringField(fields, "subscription_id"));
  }
  auto number = [&](const char* key) -> uint64_t {
    auto it = fields.find(key);
    return it != fields.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  push.index = number("index");
  push.dropped = number("dropped");
  if (push.dropped == 0) {
    auto event = fields.find("event");
    if (event == fields.end() || event->is_null()) {
      return InvalidArgument("ActorEvent with neither an event nor a count of dropped ones");
    }
    THEATER_ASSIGN_OR_RETURN(push.event, ChainEventFromJson(*event));
  }
  return push;
}

std::string CompileProgressPush(const engine::CompileProgress& progress) {
  json fields{{"compile_id", progress.compile_id},
              {"module", progress.module},
              {"line", progress.line},
              {"finished", progress.finished},
              {"ok", progress.ok}};
  return JsonText(json{{"CompileProgress", std::move(fields)}});
}

Result<engine::CompileProgress> CompileProgressFromFields(const json& fields) {
  engine::CompileProgress progress;
  const auto id = fields.find("compile_id");
  if (id == fields.end() || !id->is_number_unsigned()) {
    return InvalidArgument("CompileProgress: compile_id must be a number");
  }
  progress.compile_id = id->get<uint64_t>();
  THEATER_ASSIGN_OR_RETURN(progress.module, StringField(fields, "module"));
  THEATER_ASSIGN_OR_RETURN(progress.line, StringField(fields, "line"));
  THEATER_ASSIGN_OR_RETURN(progress.finished, BoolField(fields, "finished", false));
  THEATER_ASSIGN_OR_RETURN(progress.ok, BoolField(fields, "ok", true));
  return progress;
}

namespace {

// A cursor over the canonical text of an ActorEvent (ParseCanonicalEventPush).
class EventCursor {
 public:
  explicit EventCursor(std::string_view text) : text_(text) {}
  bool Literal(std::string_view token) {
    if (text_.substr(at_, token.size()) != token) return false;
    at_ += token.size();
    return true;
  }
  // A string of printable ASCII without escapes (anything else is left to the general parser,
  // which knows escapes and UTF-8).
  bool PlainString(std::string_view* out) {
    if (!Literal("\"")) return false;
    size_t end = text_.find('"', at_);
    if (end == std::string_view::npos) return false;
    *out = text_.substr(at_, end - at_);
    for (char ch : *out) {
      if (ch == '\\' || static_cast<unsigned char>(ch) < 0x20 ||
          static_cast<unsigned char>(ch) >= 0x7f) {
        return false;
      }
    }
    at_ = end + 1;
    return true;
  }
  bool Base64(std::vector<uint8_t>* out) {
    std::string_view text;
    return PlainString(&text) && Base64Decode(text, out);
  }
  bool Hash(chain::Hash* out) {
    std::vector<uint8_t> bytes;
    if (!Base64(&bytes) || bytes.size() != out->size()) return false;
    std::copy(bytes.begin(), bytes.end(), out->begin());
    return true;
  }
  bool Number(uint64_t* out) {
    size_t start = at_;
    uint64_t v = 0;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9' && at_ - start < 19) {
      v = v * 10 + static_cast<uint64_t>(text_[at_++] - '0');
    }
    *out = v;
    if (at_ == start || (text_[start] == '0' && at_ - start > 1)) return false;  // JSON: no 007
    return at_ >= text_.size() || text_[at_] < '0' || text_[at_] > '9';
  }
  bool AtEnd() const { return at_ == text_.size(); }

 private:
  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

bool ParseCanonicalEventPush(std::span<const uint8_t> message, EventPush* out) {
  EventCursor c({reinterpret_cast<const char*>(message.data()), message.size()});
  if (!c.Literal("{\"ActorEvent\":{\"event\":")) return false;
  const bool gap = c.Literal("null");
  if (!gap) {
    chain::Event& e = out->event;
    std::string_view text;
    if (!c.Literal("{\"hash\":") || !c.Hash(&e.hash) || !c.Literal(",\"parent_hash\":"))
      return false;
    if (c.Literal("null")) {
      e.parent.reset();
    } else {
      chain::Hash parent;
      if (!c.Hash(&parent)) return false;
      e.parent = parent;
    }
    if (!c.Literal(",\"event_type\":") || !c.PlainString(&text)) return false;
    e.type.assign(text);
    if (!c.Literal(",\"data\":") || !c.Base64(&e.payload) || !c.Literal(",\"timestamp\":") ||
        !c.Number(&e.timestamp_ms) || !c.Literal(",\"description\":")) {
      return false;
    }
    if (c.Literal("null")) {
      e.description.reset();
    } else {
      if (!c.PlainString(&text)) return false;
      e.description = std::string(text);
    }
    if (!c.Literal("}")) return false;
  }
  std::string_view actor;
  std::string_view subscription;
  if (!c.Literal(",\"actor_id\":") || !c.PlainString(&actor) ||
      !c.Literal(",\"subscription_id\":") || !c.PlainString(&subscription)) {
    return false;
  }
  out->actor_id.assign(actor);
  out->subscription_id.assign(subscription);
  out->index = 0;
  out->dropped = 0;
  if (gap) {
    if (!c.Literal(",\"dropped\":") || !c.Number(&out->dropped) || out->dropped == 0) return false;
  } else if (!c.Literal(",\"index\":") || !c.Number(&out->index)) {
    return false;
  }
  return c.Literal("}}") && c.AtEnd();
}

std::string_view ManagementErrorName(ManagementError error) {
  return kErrorNames[static_cast<size_t>(error)];
}

bool ManagementErrorHasText(ManagementError error) {
  switch (error) {
    case ManagementError::kActorError:
    case ManagementError::kStoreError:
    case ManagementError::kCommunicationError:
    case ManagementError::kInvalidRequest:
    case ManagementError::kRuntimeError:
    case ManagementError::kInternalError:
    case ManagementError::kSerializationError:
    case ManagementError::kActorInitializationError:
      return true;
    default:
      return false;
  }
}

json ErrorResponse(ManagementError error, std::string_view message) {
  // A text-carrying error is {"Name": "text"} (a newtype variant), the others a bare name.
  json variant = json(ManagementErrorName(error));
  if (ManagementErrorHasText(error)) {
    variant = json::object();
    variant[std::string(ManagementErrorName(error))] = std::string(message);
  }
  json fields = json::object();
  fields["error"] = std::move(variant);
  fields["message"] = std::string(message);
  return MakeVariant("Error", std::move(fields));
}

json ErrorResponse(const Status& status, Subject subject) {
  const std::string message = status.ToString();
  switch (status.code()) {
    case StatusCode::kNotFound:
      if (subject == Subject::kChannel)
        return ErrorResponse(ManagementError::kChannelNotFound, message);
      if (subject == Subject::kActor)
        return ErrorResponse(ManagementError::kActorNotFound, message);
      break;
    case StatusCode::kUnavailable:
      if (subject == Subject::kActor || subject == Subject::kChannel) {
        return ErrorResponse(ManagementError::kActorNotRunning, message);
      }
      break;
    case StatusCode::kAlreadyExists:
      if (subject == Subject::kActor || subject == Subject::kSpawn) {
        return ErrorResponse(ManagementError::kActorAlreadyExists, message);
      }
      break;
    case StatusCode::kDeadlineExceeded:
      if (subject != Subject::kSpawn) return ErrorResponse(ManagementError::kTimeout, message);
      break;
    case StatusCode::kFailedPrecondition:
      if (subject == Subject::kChannel)
        return ErrorResponse(ManagementError::kChannelRejected, message);
      break;
    case StatusCode::kPermissionDenied:
      if (subject == Subject::kOther) return ErrorResponse(ManagementError::kUnauthorized, message);
      break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kParseError:
      if (subject == Subject::kOther)
        return ErrorResponse(ManagementError::kInvalidRequest, message);
      break;
    default:
      break;
  }
  switch (subject) {
    case Subject::kSpawn:
      return ErrorResponse(ManagementError::kActorInitializationError, message);
    case Subject::kStore:
      return ErrorResponse(ManagementError::kStoreError, message);
    case Subject::kChannel:
      return ErrorResponse(ManagementError::kCommunicationError, message);
    default:
      return ErrorResponse(status.code() == StatusCode::kInternal ? ManagementError::kInternalError
                                                                  : ManagementError::kRuntimeError,
                           message);
  }
}

Status StatusFromError(const json& fields) {
  std::string message;
  if (auto it = fields.find("message"); it != fields.end() && it->is_string()) message = *it;
  std::string name;
  if (auto it = fields.find("error"); it != fields.end()) {
    if (it->is_string()) {
      name = *it;
    } else if (it->is_object() && it->size() == 1) {
      name = it->begin().key();
      if (message.empty() && it->begin().value().is_string()) message = it->begin().value();
    }
  }
  if (message.empty()) message = name.empty() ? "the server reported an error" : name;
  if (name == "ActorNotFound" || name == "ChannelNotFound") return NotFound(message);
  if (name == "ActorNotRunning") return Unavailable(message);
  if (name == "Timeout") return DeadlineExceeded(message);
  if (name == "Unauthorized") return PermissionDenied(message);
  if (name == "ChannelRejected") return FailedPrecondition(message);
  if (name == "InvalidRequest") return InvalidArgument(message);
  if (name == "ActorAlreadyExists") return AlreadyExists(message);
  return InternalError(message);
}

}  // namespace theater::server
