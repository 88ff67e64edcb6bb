// Theater: a WebAssembly actor runtime.
//
// The management protocol's messages (docs/protocol.md, sections 2–4): the pieces both the
// server and its clients need to read and write commands, responses and pushes.
//
// Messages are externally tagged JSON values: a variant without fields is its name as a string,
// one with fields is {"Name": {fields}}. Byte strings are JSON arrays of numbers 0–255. Every
// reader here validates its input and answers a Status (kInvalidArgument naming the field) rather
// than throwing.
//
// Thread-safety: free functions on values; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"
#include "theater/compile_progress.h"
#include "theater/status.h"

namespace theater::server {

// The protocol version GetServerInfo reports; bumped when a command or response changes shape.
inline constexpr int kProtocolVersion = 1;

// --- Variants -------------------------------------------------------------------------------

// A message split into its variant name and its fields (an empty object for a bare name).
struct Variant {
  std::string name;
  nlohmann::json fields = nlohmann::json::object();
};

// Reads an externally tagged value. Errors: not a string or a one-key object whose value is an
// object (or null).
Result<Variant> ReadVariant(const nlohmann::json& value);
// The same, taking the fields out of `value` instead of copying them.
Result<Variant> ReadVariant(nlohmann::json&& value);
// {"name": fields}, or "name" when `fields` is null.
nlohmann::json MakeVariant(std::string_view name, nlohmann::json fields = nullptr);

// --- Envelopes (docs/protocol.md, 2.1) -------------------------------------------------------

// A command as the client sent it: bare, or wrapped with a request id and a token.
struct CommandEnvelope {
  nlohmann::json request_id;  // null when absent (and for bare commands)
  std::optional<std::string> token;
  bool wrapped = false;
  Variant command;
};

// Parses a message the server received. Errors: not JSON (kParseError), or not a command shape
// (kInvalidArgument). A request id must be a number or a string.
Result<CommandEnvelope> ParseCommand(std::span<const uint8_t> message);
// The command as the client sends it: wrapped when `request_id` is not null or `token` is set.
nlohmann::json WrapCommand(const nlohmann::json& command, const nlohmann::json& request_id,
                           const std::optional<std::string>& token = std::nullopt);

// A message a client received: a reply (wrapped or bare) or a push.
struct Incoming {
  nlohmann::json request_id;  // null unless the reply came wrapped
  bool wrapped = false;
  Variant response;
  // Pushes are never wrapped; a bare message is a push when its variant is one of these.
  bool is_push() const;
};
Result<Incoming> ParseIncoming(std::span<const uint8_t> message);

// --- Fields ----------------------------------------------------------------------------------

// How a message writes byte strings: JSON arrays of numbers (what the original reads and
// writes), or base64 strings (an addition a client asks for with "byte_encoding": "base64"; about
// three times smaller and many times faster to read). Readers accept both.
enum class ByteEncoding { kArray, kBase64 };
// Reads an optional "byte_encoding" field ("array" or "base64").
Result<ByteEncoding> ByteEncodingField(const nlohmann::json& fields);

nlohmann::json BytesToJson(std::span<const uint8_t> bytes);
// Appends the JSON array form of `bytes` to `out` (the fast path for large payloads).
void AppendBytesJson(std::span<const uint8_t> bytes, std::string& out,
                     ByteEncoding encoding = ByteEncoding::kArray);

// Reads fields.<field> as a byte string (an array of numbers or a base64 string); a missing or
// null field is an error.
Result<std::vector<uint8_t>> BytesField(const nlohmann::json& fields, std::string_view field);
// The same, but a missing or null field is nullopt.
Result<std::optional<std::vector<uint8_t>>> OptionalBytesField(const nlohmann::json& fields,
                                                               std::string_view field);
// Whether fields.<field> is present and not null.
bool HasField(const nlohmann::json& fields, std::string_view field);
Result<std::string> StringField(const nlohmann::json& fields, std::string_view field);
// A missing field is `fallback`; a present one must be a boolean.
Result<bool> BoolField(const nlohmann::json& fields, std::string_view field, bool fallback);
// An actor id field: a string in UUID form.
Result<std::string> ActorIdField(const nlohmann::json& fields, std::string_view field = "id");

// --- Chain events ----------------------------------------------------------------------------

// {"hash": bytes, "parent_hash": bytes|null, "event_type", "data": bytes, "timestamp",
//  "description": string|null}.
nlohmann::json ChainEventToJson(const chain::Event& event);
// The same, appended as text (used for ActorEvent pushes, which may come by the hundred thousand
// a second). With `decoded` (an addition clients ask for with "decoded": true), the event also
// carries "decoded": its payload as readable JSON (chain::PayloadToJson).
void AppendChainEventJson(const chain::Event& event, std::string& out,
                          ByteEncoding encoding = ByteEncoding::kArray, bool decoded = false);
Result<chain::Event> ChainEventFromJson(const nlohmann::json& value);

// --- Event pushes ---------------------------------------------------------------------------

// An ActorEvent push: an event of a subscription, or (dropped > 0, event unset) a gap notice.
struct EventPush {
  std::string actor_id;
  std::string subscription_id;
  uint64_t index = 0;
  uint64_t dropped = 0;
  chain::Event event;
};
// Reads an ActorEvent push from its fields (the general path).
Result<EventPush> EventPushFromFields(const nlohmann::json& fields);
// Reads a whole ActorEvent message in exactly the form the server writes it with base64 bytes,
// without building a JSON tree (a subscriber may receive a hundred thousand a second). Returns
// false for anything else, which the general path then reads.
bool ParseCanonicalEventPush(std::span<const uint8_t> message, EventPush* out);

// --- Compile progress (an addition) ----------------------------------------------------------

// {"CompileProgress": {"compile_id", "module", "line", "finished", "ok"}}: what the server pushes
// to a connection whose command asked for it ("progress": true) while a module compiles.
std::string CompileProgressPush(const engine::CompileProgress& progress);
// Reads its fields; kInvalidArgument for a missing or mistyped one.
Result<engine::CompileProgress> CompileProgressFromFields(const nlohmann::json& fields);

// --- Errors (docs/protocol.md, section 4) ----------------------------------------------------

enum class ManagementError {
  kActorNotFound,
  kActorAlreadyExists,
  kActorNotRunning,
  kActorError,
  kChannelNotFound,
  kChannelClosed,
  kChannelRejected,
  kStoreError,
  kCommunicationError,
  kInvalidRequest,
  kTimeout,
  kRuntimeError,
  kInternalError,
  kSerializationError,
  kActorInitializationError,
  kUnauthorized,
};
std::string_view ManagementErrorName(ManagementError error);
// Whether the variant carries a message ({"ActorError": "…"}) or is a bare name.
bool ManagementErrorHasText(ManagementError error);

// {"Error": {"error": <variant>, "message": message}}.
nlohmann::json ErrorResponse(ManagementError error, std::string_view message);
// A failed Status as the error a client sees, given what the command was about.
// The field a server in a lattice adds to a command it passes to the host that holds the actor
// (ServerOptions::lattice_locate): that host runs it, and never passes it on again.
inline constexpr char kForwardedField[] = "forwarded_in_lattice";

enum class Subject { kActor, kSpawn, kChannel, kStore, kOther };
nlohmann::json ErrorResponse(const Status& status, Subject subject);

// --- The dashboard's bridge (docs/protocol.md, section 4) --------------------------------------------

// The first message the in-process dashboard sends on the connection it opens for one browser:
// {"BridgedClient": {"key": <ServerOptions::bridge_key>, "address": <the browser's IP>}}, answered
// with {"BridgedClientAccepted": {"address": ...}} (or an Error, and the connection closes).
inline constexpr std::string_view kBridgedClientCommand = "BridgedClient";
inline constexpr std::string_view kBridgedClientAccepted = "BridgedClientAccepted";

// A client's view of an Error response: the Status it stands for (kNotFound for ActorNotFound
// and ChannelNotFound, kUnavailable for ActorNotRunning, kDeadlineExceeded for Timeout,
// kPermissionDenied for Unauthorized, kFailedPrecondition for ChannelRejected, kInvalidArgument
// for InvalidRequest, kInternal otherwise) with the server's message.
Status StatusFromError(const nlohmann::json& fields);

}  // namespace theater::server
