// Theater: a WebAssembly actor runtime.
#include "cli/chain_file.h"

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/nesting_guard.h"
#include "server/protocol.h"
#include "theater/limits.h"

namespace theater::cli {
namespace {

using nlohmann::json;

// A chain file larger than this is refused before it is read (the ReplayChain message that
// carries it must stay under the server's message limit too).
constexpr size_t kMaxChainFileBytes = 256u << 20;

// 64 hex digits into a hash.
bool HashFromHex(const json& value, chain::Hash& hash) {
  std::vector<uint8_t> bytes;
  if (!value.is_string() || !HexDecode(value.get<std::string>(), &bytes) ||
      bytes.size() != hash.size()) {
    return false;
  }
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return true;
}

}  // namespace

Result<ChainFile> ReadChainFile(const std::string& path) {
  THEATER_ASSIGN_OR_RETURN(std::string text, ReadFileText(path, "chain file", kMaxChainFileBytes));
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(text, limits::kMaxJsonDepth, path));
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("events") ||
      !doc["events"].is_array()) {
    return InvalidArgument(path +
                           " is not an exported chain ({\"events\": [...]}, as `theater "
                           "chain export` writes)");
  }
  ChainFile file;
  if (const auto id = doc.find("actor_id"); id != doc.end() && id->is_string()) {
    file.actor_id = id->get<std::string>();
  }
  if (const auto first = doc.find("first_index"); first != doc.end()) {
    if (!first->is_number_unsigned()) {
      return InvalidArgument(path + ": 'first_index' must be a non-negative integer");
    }
    file.first_index = first->get<uint64_t>();
  }
  if (const auto anchor = doc.find("anchor"); anchor != doc.end() && !anchor->is_null()) {
    chain::Hash hash;
    if (!HashFromHex(*anchor, hash))
      return InvalidArgument(path + ": 'anchor' must be 64 hex digits or null");
    file.anchor = hash;
  }
  const json& list = doc["events"];
  file.events.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    auto bad = [&](const std::string& why) {
      return InvalidArgument(path + ": events[" + std::to_string(i) + "]: " + why);
    };
    if (!e.is_object()) return bad("not an object");
    chain::Event event;
    if (!e.contains("hash") || !HashFromHex(e["hash"], event.hash)) {
      return bad("'hash' must be 64 hex digits");
    }
    if (e.contains("parent") && !e["parent"].is_null()) {
      chain::Hash parent;
      if (!HashFromHex(e["parent"], parent)) return bad("'parent' must be 64 hex digits or null");
      event.parent = parent;
    }
    if (!e.contains("type") || !e["type"].is_string()) return bad("'type' must be a string");
    event.type = e["type"].get<std::string>();
    if (!e.contains("payload_hex") || !e["payload_hex"].is_string() ||
        !HexDecode(e["payload_hex"].get<std::string>(), &event.payload)) {
      return bad(
          "'payload_hex' must be hex (files exported before it was added cannot be "
          "read: export the chain again)");
    }
    event.timestamp_ms = e.value("timestamp_ms", uint64_t{0});
    if (e.contains("description") && e["description"].is_string()) {
      event.description = e["description"].get<std::string>();
    }
    file.events.push_back(std::move(event));
  }
  return file;
}

Status VerifyChainFile(const ChainFile& file) {
  THEATER_RETURN_IF_ERROR(chain::VerifyEvents(file.events, file.anchor, file.first_index));
  if (file.first_index == 0 && !file.events.empty() && file.actor_id.empty()) {
    return ValidationError("the file names no actor_id, so nothing holds its event #0 to an actor");
  }
  return chain::VerifyActorBinding(file.events, file.first_index, file.actor_id);
}

}  // namespace theater::cli
