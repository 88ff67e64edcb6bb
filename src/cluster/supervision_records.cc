// Theater: a WebAssembly actor runtime.
#include "cluster/supervision_records.h"

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/nesting_guard.h"
#include "common/uuid.h"
#include "cluster/wire_bytes.h"
#include "theater/limits.h"

namespace theater::cluster {
namespace {

using nlohmann::json;

std::vector<uint8_t> ToBytes(const json& document) {
  const std::string text = document.dump();
  return {text.begin(), text.end()};
}

Result<json> ParseBounded(std::string_view payload, std::string_view what) {
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(payload, limits::kMaxJsonDepth, what));
  json parsed = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument(std::string(what) + " is not a JSON object");
  }
  return parsed;
}

// Reads `key` of `object` as a T, naming the field when it is missing or of another type.
template <typename T>
Status Field(const json& object, const char* key, std::string_view what, T* out) {
  auto it = object.find(key);
  if (it == object.end()) return InvalidArgument(std::string(what) + " has no '" + key + "'");
  bool matches = false;
  if constexpr (std::is_same_v<T, std::string>) {
    matches = it->is_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    matches = it->is_boolean();
  } else {
    matches = it->is_number_unsigned();
  }
  if (!matches) return InvalidArgument(std::string(what) + ": '" + key + "' is of the wrong type");
  *out = it->get<T>();
  return Status::Ok();
}

// Optional bytes, written as hex or null.
Status HexField(const json& object, const char* key, std::string_view what,
                std::optional<std::vector<uint8_t>>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::Ok();
  std::vector<uint8_t> bytes;
  if (!it->is_string() || !HexDecode(it->get_ref<const std::string&>(), &bytes)) {
    return InvalidArgument(std::string(what) + ": '" + key + "' is not hex");
  }
  *out = std::move(bytes);
  return Status::Ok();
}

json HexOrNull(const std::optional<std::vector<uint8_t>>& bytes) {
  return bytes ? json(HexEncode(*bytes)) : json(nullptr);
}

// The limits a parent passes on, by the manifest's names for them.
json LimitsJson(const ManifestLimits& limits) {
  return json{{"init_deadline_ms", limits.init_deadline_ms},
              {"call_deadline_ms", limits.call_deadline_ms},
              {"memory_limit_mb", limits.memory_limit_mb},
              {"stack_size_kb", limits.stack_size_kb},
              {"mailbox_capacity", limits.mailbox_capacity},
              {"chain_retention_events", limits.chain_retention_events},
              {"chain_retention_bytes", limits.chain_retention_bytes}};
}

Status ParseLimits(const json& object, std::string_view what, ManifestLimits* limits) {
  THEATER_RETURN_IF_ERROR(Field(object, "init_deadline_ms", what, &limits->init_deadline_ms));
  THEATER_RETURN_IF_ERROR(Field(object, "call_deadline_ms", what, &limits->call_deadline_ms));
  THEATER_RETURN_IF_ERROR(Field(object, "memory_limit_mb", what, &limits->memory_limit_mb));
  THEATER_RETURN_IF_ERROR(Field(object, "stack_size_kb", what, &limits->stack_size_kb));
  THEATER_RETURN_IF_ERROR(Field(object, "mailbox_capacity", what, &limits->mailbox_capacity));
  THEATER_RETURN_IF_ERROR(
      Field(object, "chain_retention_events", what, &limits->chain_retention_events));
  return Field(object, "chain_retention_bytes", what, &limits->chain_retention_bytes);
}

constexpr std::string_view kKinds[] = {"exit", "error", "external-stop"};

}  // namespace

std::string_view ControlName(ChildControl op) {
  switch (op) {
    case ChildControl::kStop:
      return "stop";
    case ChildControl::kRestart:
      return "restart";
    case ChildControl::kRestartFailed:
      return "restart-failed";
    case ChildControl::kRelease:
      return "release";
    case ChildControl::kFence:
      return "fence";
  }
  return "unknown";
}

Result<ChildControl> ParseControlName(std::string_view name) {
  for (ChildControl op : {ChildControl::kStop, ChildControl::kRestart,
                          ChildControl::kRestartFailed, ChildControl::kRelease,
                          ChildControl::kFence}) {
    if (ControlName(op) == name) return op;
  }
  return InvalidArgument("a supervision record of unknown operation");
}

std::vector<uint8_t> EncodeRemoteSpawn(const SpawnRequest& request) {
  json document{{"child", request.actor_id.value_or("")},
                {"manifest", request.manifest},
                {"state", HexOrNull(request.state)},
                {"resume", request.resume},
                {"client", request.client}};
  if (request.read_roots) {
    json directories = json::array();
    for (const auto& directory : request.read_roots->directories) {
      directories.push_back(directory.string());
    }
    document["read_roots"] = json{{"directories", std::move(directories)},
                                  {"rule", request.read_roots->rule}};
  }
  if (request.remote_parent) {
    document["parent"] = request.remote_parent->id;
    document["policies"] = request.remote_parent->ancestry_policies;
    document["limits"] = LimitsJson(request.remote_parent->limits);
  }
  return ToBytes(document);
}

Result<SpawnRequest> ParseRemoteSpawn(std::string_view payload, const std::string& origin) {
  const std::string what = "a child's spawn from host " + origin;
  THEATER_ASSIGN_OR_RETURN(json document, ParseBounded(payload, what));
  SpawnRequest request;
  auto parent = std::make_shared<RemoteParent>();
  parent->host = origin;
  std::string child;
  THEATER_RETURN_IF_ERROR(Field(document, "parent", what, &parent->id));
  THEATER_RETURN_IF_ERROR(Field(document, "child", what, &child));
  if (!IsUuid(parent->id) || !IsUuid(child)) {
    return InvalidArgument(what + ": the parent's and the child's ids must be UUIDs");
  }
  request.actor_id = std::move(child);
  THEATER_RETURN_IF_ERROR(Field(document, "manifest", what, &request.manifest));
  THEATER_RETURN_IF_ERROR(HexField(document, "state", what, &request.state));
  THEATER_RETURN_IF_ERROR(Field(document, "resume", what, &request.resume));
  THEATER_RETURN_IF_ERROR(Field(document, "client", what, &request.client));
  if (auto roots = document.find("read_roots"); roots != document.end()) {
    auto directories = roots->is_object() ? roots->find("directories") : roots->end();
    if (!roots->is_object() || directories == roots->end() || !directories->is_array()) {
      return InvalidArgument(what + ": 'read_roots' is malformed");
    }
    LocalReadRoots read_roots;
    for (const json& directory : *directories) {
      if (!directory.is_string()) return InvalidArgument(what + ": a read root is not a path");
      read_roots.directories.emplace_back(directory.get<std::string>());
    }
    THEATER_RETURN_IF_ERROR(Field(*roots, "rule", what, &read_roots.rule));
    request.read_roots = std::move(read_roots);
  }
  auto policies = document.find("policies");
  if (policies == document.end() || !policies->is_array()) {
    return InvalidArgument(what + " has no list of its ancestors' policies");
  }
  for (json& policy : *policies) {
    if (!policy.is_object()) return InvalidArgument(what + ": a policy is not a table");
    parent->ancestry_policies.push_back(std::move(policy));
  }
  auto limits = document.find("limits");
  if (limits == document.end() || !limits->is_object()) {
    return InvalidArgument(what + " has no parent's limits");
  }
  THEATER_RETURN_IF_ERROR(ParseLimits(*limits, what, &parent->limits));
  request.remote_parent = std::move(parent);
  request.placed = true;
  return request;
}

std::vector<uint8_t> EncodeChildEvent(const ChildEvent& event) {
  return ToBytes(json{{"kind", kKinds[static_cast<int>(event.kind)]},
                      {"child", event.child_id},
                      {"data", HexOrNull(event.data)},
                      {"code", static_cast<uint64_t>(event.error.code())},
                      {"message", event.error.message()},
                      {"reason", event.reason}});
}

Result<ChildEvent> ParseChildEvent(std::string_view payload) {
  const std::string what = "a child's event from another host";
  THEATER_ASSIGN_OR_RETURN(json document, ParseBounded(payload, what));
  ChildEvent event;
  std::string kind;
  THEATER_RETURN_IF_ERROR(Field(document, "kind", what, &kind));
  bool known = false;
  for (int k = 0; k < 3; ++k) {
    if (kKinds[k] == kind) {
      event.kind = static_cast<ChildEvent::Kind>(k);
      known = true;
    }
  }
  if (!known) return InvalidArgument(what + " is of an unknown kind");
  THEATER_RETURN_IF_ERROR(Field(document, "child", what, &event.child_id));
  if (!IsUuid(event.child_id)) return InvalidArgument(what + ": the child's id is not a UUID");
  THEATER_RETURN_IF_ERROR(HexField(document, "data", what, &event.data));
  uint64_t code = 0;
  std::string message;
  THEATER_RETURN_IF_ERROR(Field(document, "code", what, &code));
  THEATER_RETURN_IF_ERROR(Field(document, "message", what, &message));
  if (code > static_cast<uint64_t>(StatusCode::kInternal)) {
    return InvalidArgument(what + " has an unknown status code");
  }
  event.error = code == 0 ? Status::Ok() : Status(static_cast<StatusCode>(code), message);
  THEATER_RETURN_IF_ERROR(Field(document, "reason", what, &event.reason));
  return event;
}

std::vector<uint8_t> EncodeMove(const MoveRequest& move) {
  std::string out;
  PutWireInt((move.replicated ? 1u : 0u) | (move.state ? 2u : 0u), 1, out);
  PutWireBytes(move.record, 4, out);
  if (move.state) {
    PutWireBytes(std::string_view(reinterpret_cast<const char*>(move.state->data()),
                                  move.state->size()),
                 4, out);
  }
  return {out.begin(), out.end()};
}

Result<MoveRequest> ParseMove(std::string_view payload) {
  // Bounded by the message that carried it; the record is parsed (bounded) where it is used.
  constexpr size_t kMaxPart = size_t{64} << 20;
  WireReader reader(payload, "a move record", "its");
  uint64_t flags = 0;
  THEATER_RETURN_IF_ERROR(reader.Int(1, &flags, "flags"));
  if (flags > 3) return InvalidArgument("a move record's flags are " + std::to_string(flags));
  MoveRequest move;
  move.replicated = (flags & 1) != 0;
  std::string_view record;
  THEATER_RETURN_IF_ERROR(reader.Bytes(4, kMaxPart, &record, "record"));
  move.record = std::string(record);
  if ((flags & 2) != 0) {
    std::string_view state;
    THEATER_RETURN_IF_ERROR(reader.Bytes(4, kMaxPart, &state, "state"));
    move.state = std::vector<uint8_t>(state.begin(), state.end());
  }
  if (!reader.done()) return InvalidArgument("a move record has bytes past its end");
  return move;
}

}  // namespace theater::cluster
