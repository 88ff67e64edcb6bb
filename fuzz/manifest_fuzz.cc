// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the spawn path's text handling: manifest TOML (a file's or an inline
// manifest's), `{{...}}` templates, the initial state and its merge with a spawn-time override
// (ParseManifest, ParseTemplate/RenderTemplate/MaskTemplate, ParseManifestWithState,
// MergeInitState, ParsePermissionPolicy on what the manifest holds).
//
// Input: up to three parts separated by a line "%%": the manifest text, the bytes every
// reference resolves to (init_state, whether a store:// label or an http(s) URL), and the
// override state (JSON). The manifest is parsed as one fetched from a store, so no reference
// reaches the file system and no fetch leaves the process (support/offline_fetch.h).
//
// Invariants checked besides "no crash, no leak, no hang":
//   - MaskTemplate keeps every byte position (its output is exactly as long as the input);
//   - ParseManifestWithState's state holds the override: every top-level key of an object
//     override with its value, or the whole override when it is not an object;
//   - a manifest that parses has a permission policy ParsePermissionPolicy accepts or refuses
//     with an error (never an exception).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/template.h"
#include "support/offline_fetch.h"
#include "theater/manifest.h"
#include "testing/builtin_permissions_view.h"
#include "theater/permissions.h"

namespace {

using nlohmann::json;

constexpr std::string_view kSeparator = "\n%%\n";

// Splits at lines "%%" (an empty part is a "%%" line right after another).
std::vector<std::string_view> Split(std::string_view data) {
  std::vector<std::string_view> parts;
  while (parts.size() < 2) {
    if (!parts.empty() && data.starts_with("%%\n")) {
      parts.push_back({});
      data.remove_prefix(3);
      continue;
    }
    size_t at = data.find(kSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(data.substr(0, at));
    data.remove_prefix(at + kSeparator.size());
  }
  parts.push_back(data);
  return parts;
}

// Whether `v` dumps without replacing invalid UTF-8 (only such documents compare equal after a
// round trip through text).
bool ValidUtf8(const json& v) {
  try {
    (void)v.dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace theater;
  std::vector<std::string_view> parts =
      Split(std::string_view(reinterpret_cast<const char*>(data), size));
  std::string_view manifest_text = parts[0];
  std::vector<uint8_t> referenced;
  if (parts.size() > 1) referenced.assign(parts[1].begin(), parts[1].end());
  std::optional<json> override_state;
  if (parts.size() > 2) {
    json parsed = json::parse(parts[2], nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) override_state = std::move(parsed);
  }

  // Templates on their own.
  Result<ParsedTemplate> parsed = ParseTemplate(manifest_text, "fuzz.toml");
  if (parsed.ok()) {
    if (MaskTemplate(*parsed).size() != manifest_text.size()) __builtin_trap();
    if (override_state) {
      std::vector<std::string> warnings;
      (void)RenderTemplate(*parsed, *override_state, "fuzz.toml", &warnings);
    }
  }

  // The manifest itself, as a store would hand it over.
  Result<Manifest> manifest =
      ParseManifest(manifest_text, {}, "fuzz.toml", "store://fuzz-store/manifest.toml");
  if (manifest.ok()) (void)handlers::permissions_view::ParsePolicy(manifest->permission_policy);

  // The spawn path: init_state read through the store (or the offline fetch), merged, rendered.
  StoreReader store = [&referenced](const std::string&) -> Result<std::vector<uint8_t>> {
    return referenced;
  };
  fuzz::SetOfflineResponder(store);
  Result<ManifestWithState> with_state = ParseManifestWithState(
      manifest_text, {}, "fuzz.toml", override_state, "store://fuzz-store/manifest.toml", store);
  if (with_state.ok()) {
    (void)handlers::permissions_view::ParsePolicy(with_state->manifest->permission_policy);
    if (override_state && ValidUtf8(*override_state)) {
      // The state is the merge, serialised: it must read back as the same JSON.
      if (!with_state->state) __builtin_trap();
      json back = json::parse(with_state->state->begin(), with_state->state->end(), nullptr, false);
      if (back.is_discarded()) __builtin_trap();
      auto canonical = [](const json& v) {
        return json::parse(v.dump(-1, ' ', false, json::error_handler_t::replace), nullptr, false);
      };
      if (override_state->is_object() && back.is_object()) {
        for (const auto& [key, value] : override_state->items()) {
          auto it = back.find(key);
          if (it == back.end() || *it != canonical(value)) __builtin_trap();
        }
      } else if (!override_state->is_object() && back != canonical(*override_state)) {
        __builtin_trap();
      }
    }
  }
  fuzz::SetOfflineResponder({});
  return 0;
}
