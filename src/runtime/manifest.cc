// Theater: a WebAssembly actor runtime.
//
// Manifest parsing. toml++ and nlohmann throw; both are caught here and turned into Status values
// that carry the source position, so nothing escapes this file's API.
#include "theater/manifest.h"
#include "common/json_writer.h"

#include "common/bytes.h"
#include "common/fetch.h"
#include "common/nearest_name.h"
#include "common/nesting_guard.h"
#include "common/utf8.h"
#include "theater/limits.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <toml++/toml.h>

#include "common/bounded_memo.h"
#include "runtime/template.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxDeadlineMs = 86'400'000;  // a day: longer is a mistake, not a policy
constexpr uint64_t kMaxMemoryLimitMb = 4096;     // the whole wasm32 address space
constexpr uint64_t kMinStackSizeKb = 16;         // room for the host frames below a guest call
constexpr uint64_t kMaxStackSizeKb = 65536;
constexpr uint64_t kMaxMailboxCapacity = 1 << 20;

// Top-level keys docs/manifest.md defines; anything else is warned about.
constexpr std::string_view kKnownKeys[] = {
    "name",       "version",    "component",         "description", "long_description",
    "save_chain", "init_state", "permission_policy", "handler",     "limits",
    "auto_handlers", "placement", "durability",
    // The design documents' spellings of `component` and `handler` (docs/manifest.md).
    "component_path", "handlers",
};

// The version of a manifest that states none (the design documents' examples omit it).
constexpr std::string_view kDefaultVersion = "0.1.0";

// A warning and where it points, so warnings can be reported in document order (toml++ iterates
// tables in key order).
struct Warning {
  toml::source_position position;
  std::string message;
};

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Builds messages that point into the manifest.
class ManifestSource {
 public:
  explicit ManifestSource(std::string source_name) : source_name_(std::move(source_name)) {}

  const std::string& source_name() const { return source_name_; }

  std::string Where(const toml::source_region& region) const {
    if (region.begin.line == 0) return source_name_;
    return source_name_ + ":" + std::to_string(region.begin.line) + ":" +
           std::to_string(region.begin.column);
  }

  Status Invalid(const toml::source_region& region, const std::string& field,
                 const std::string& what) const {
    return InvalidArgument(Where(region) + ": field '" + field + "' " + what);
  }

  Status WrongType(const toml::node& node, const std::string& field,
                   std::string_view expected) const {
    return Invalid(node.source(), field,
                   "must be " + std::string(expected) + ", not " + std::string(TypeName(node)));
  }

  Status Missing(const toml::source_region& region, const std::string& field) const {
    return InvalidArgument(Where(region) + ": missing required field '" + field + "'");
  }

 private:
  std::string source_name_;
};

template <typename T>
std::string Streamed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// TOML → JSON for the parts of the manifest other areas interpret (handler configs, permissions).
Result<json> ToJson(const toml::node& node, const std::string& field, const ManifestSource& ctx) {
  switch (node.type()) {
    case toml::node_type::string:
      return json(node.as_string()->get());
    case toml::node_type::integer:
      return json(node.as_integer()->get());
    case toml::node_type::floating_point: {
      double v = node.as_floating_point()->get();
      if (!std::isfinite(v)) return ctx.Invalid(node.source(), field, "must be a finite number");
      return json(v);
    }
    case toml::node_type::boolean:
      return json(node.as_boolean()->get());
    case toml::node_type::date:
      return json(Streamed(node.as_date()->get()));
    case toml::node_type::time:
      return json(Streamed(node.as_time()->get()));
    case toml::node_type::date_time:
      return json(Streamed(node.as_date_time()->get()));
    case toml::node_type::array: {
      json out = json::array();
      const toml::array& array = *node.as_array();
      for (size_t i = 0; i < array.size(); ++i) {
        THEATER_ASSIGN_OR_RETURN(json item,
                                 ToJson(array[i], field + "[" + std::to_string(i) + "]", ctx));
        out.push_back(std::move(item));
      }
      return out;
    }
    case toml::node_type::table: {
      json out = json::object();
      for (const auto& [key, value] : *node.as_table()) {
        THEATER_ASSIGN_OR_RETURN(json item,
                                 ToJson(value, field + "." + std::string(key.str()), ctx));
        out[std::string(key.str())] = std::move(item);
      }
      return out;
    }
    case toml::node_type::none:
      break;
  }
  return json(nullptr);
}

// A placement: "least-loaded", or a host's name as a lattice spells it (letters, digits, '-'
// and '_', at most 64).
Status CheckPlacement(std::string_view placement) {
  if (placement == "least-loaded") return Status::Ok();
  bool valid = !placement.empty() && placement.size() <= 64;
  for (const char c : placement) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_');
  }
  if (valid) return Status::Ok();
  return InvalidArgument("must be a host's name (letters, digits, '-' and '_', at most 64) or "
                         "\"least-loaded\"");
}

Result<std::optional<std::string>> OptionalString(const toml::table& table, std::string_view key,
                                                  const std::string& field,
                                                  const ManifestSource& ctx) {
  const toml::node* node = table.get(key);
  if (!node) return std::optional<std::string>();
  if (!node->is_string()) return ctx.WrongType(*node, field, "a string");
  return std::optional<std::string>(node->as_string()->get());
}

// `table_region` locates a missing field: the [[handler]] table it belongs in, or nothing (an empty
// region) for top-level fields, which are missing from the file as a whole.
Result<std::string> RequiredString(const toml::table& table, std::string_view key,
                                   const std::string& field,
                                   const toml::source_region& table_region,
                                   const ManifestSource& ctx) {
  const toml::node* node = table.get(key);
  if (!node) return ctx.Missing(table_region, field);
  if (!node->is_string()) return ctx.WrongType(*node, field, "a string");
  const std::string& value = node->as_string()->get();
  if (value.empty()) return ctx.Invalid(node->source(), field, "must not be empty");
  return value;
}

// Classifies `reference` into *kind and resolves it against where the manifest came from: a path
// against the manifest's directory, or, in a manifest fetched from a URL, against that URL (so a
// relative path there names a resource beside the manifest on the same server).
Result<std::string> ResolveReference(const std::string& reference, ReferenceKind* kind,
                                     const fs::path& base_dir, const std::string& base_url) {
  if (reference.size() > limits::kMaxReferenceBytes) {
    return InvalidArgument(QuoteInput(reference) + " is over the limit of " +
                           std::to_string(limits::kMaxReferenceBytes) + " bytes for a reference");
  }
  *kind = ClassifyReference(reference);
  if (*kind != ReferenceKind::kFile) return reference;
  fs::path path(reference);
  if (!base_url.empty()) {
    if (path.is_absolute()) {
      return InvalidArgument(QuoteInput(reference) +
                             " is a local path, but the manifest was fetched from " +
                             QuoteInput(base_url));
    }
    if (base_url.starts_with("store://")) {
      // Labels are flat names: a relative reference names a label of the manifest's own store.
      std::string_view rest = std::string_view(base_url).substr(8);
      std::string_view store_id = rest.substr(0, rest.find('/'));
      *kind = ReferenceKind::kStore;
      return "store://" + std::string(store_id) + "/" + reference;
    }
    *kind = ReferenceKind::kUrl;
    return ResolveUrl(base_url, reference);
  }
  if (!path.is_absolute() && !base_dir.empty()) path = base_dir / path;
  return path.lexically_normal().string();
}

Status ParseLimit(const toml::table& limits, std::string_view key, uint64_t min, uint64_t max,
                  uint64_t* out, const ManifestSource& ctx) {
  const toml::node* node = limits.get(key);
  if (!node) return Status::Ok();
  const std::string field = "limits." + std::string(key);
  if (!node->is_integer()) return ctx.WrongType(*node, field, "an integer");
  int64_t v = node->as_integer()->get();
  if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
    return ctx.Invalid(node->source(), field,
                       "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", got " + std::to_string(v));
  }
  *out = static_cast<uint64_t>(v);
  return Status::Ok();
}

// A key the manifest format does not have: an error when it is a near miss of one it has (a
// misspelt `permission_policy` would otherwise drop a security policy with only a warning), a
// warning that it is ignored otherwise (a note of the author's own).
Status CheckUnknownKey(const toml::key& key, const std::vector<std::string>& known,
                       std::string_view prefix, const ManifestSource& ctx,
                       std::vector<Warning>& warnings) {
  const std::string_view name = key.str();
  if (std::find(known.begin(), known.end(), name) != known.end()) return Status::Ok();
  const std::string quoted = "'" + std::string(prefix) + std::string(name) + "'";
  if (std::optional<std::string> near = NearestName(name, known)) {
    return InvalidArgument(ctx.Where(key.source()) + ": unknown key " + quoted +
                           " (did you mean '" + std::string(prefix) + *near + "'?)");
  }
  warnings.push_back(
      {key.source().begin, ctx.Where(key.source()) + ": unknown key " + quoted + " (ignored)"});
  return Status::Ok();
}

Status ParseLimits(const toml::node& node, Manifest& m, std::vector<Warning>& warnings,
                   const ManifestSource& ctx) {
  if (!node.is_table()) return ctx.WrongType(node, "limits", "a table");
  const toml::table& limits = *node.as_table();
  ManifestLimits& l = m.limits;
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "init_deadline_ms", 1, kMaxDeadlineMs, &l.init_deadline_ms, ctx));
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "call_deadline_ms", 1, kMaxDeadlineMs, &l.call_deadline_ms, ctx));
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "memory_limit_mb", 1, kMaxMemoryLimitMb, &l.memory_limit_mb, ctx));
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "stack_size_kb", kMinStackSizeKb, kMaxStackSizeKb, &l.stack_size_kb, ctx));
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "mailbox_capacity", 1, kMaxMailboxCapacity, &l.mailbox_capacity, ctx));
  THEATER_RETURN_IF_ERROR(
      ParseLimit(limits, "chain_retention_events", 0, UINT32_MAX, &l.chain_retention_events, ctx));
  THEATER_RETURN_IF_ERROR(ParseLimit(limits, "chain_retention_bytes", 0, UINT64_C(1) << 40,
                                     &l.chain_retention_bytes, ctx));
  THEATER_ASSIGN_OR_RETURN(
      std::optional<std::string> overflow,
      OptionalString(limits, "mailbox_overflow", "limits.mailbox_overflow", ctx));
  if (overflow) {
    constexpr MailboxOverflow kPolicies[] = {MailboxOverflow::kRefuse, MailboxOverflow::kDropOldest,
                                             MailboxOverflow::kDropNewest, MailboxOverflow::kBlock};
    bool known = false;
    for (MailboxOverflow policy : kPolicies) {
      if (*overflow == MailboxOverflowName(policy)) {
        l.mailbox_overflow = policy;
        known = true;
      }
    }
    if (!known) {
      return ctx.Invalid(limits.get("mailbox_overflow")->source(), "limits.mailbox_overflow",
                         "must be \"refuse\", \"drop-oldest\", \"drop-newest\" or \"block\", got " +
                             QuoteInput(*overflow));
    }
  }
  static const std::vector<std::string> kLimitKeys{
      "init_deadline_ms", "call_deadline_ms", "memory_limit_mb",        "stack_size_kb",
      "mailbox_capacity", "mailbox_overflow", "chain_retention_events", "chain_retention_bytes"};
  for (const auto& [key, value] : limits) {
    THEATER_RETURN_IF_ERROR(CheckUnknownKey(key, kLimitKeys, "limits.", ctx, warnings));
  }
  return Status::Ok();
}

// `[[handler]]` or, as the design documents spell it, `[[handlers]]` (`key`). A handler's settings
// are its table's other keys, or, as the design writes them, the table `config` (inline,
// `config = { ... }`, or a sub-table, `[handlers.config]`); one table using both is refused.
Status ParseHandlers(const toml::node& node, std::string_view key, Manifest& m,
                     const ManifestSource& ctx) {
  const std::string name(key);
  if (!node.is_array() || !(node.as_array()->empty() || node.is_array_of_tables())) {
    return ctx.WrongType(node, name, "an array of tables ([[" + name + "]])");
  }
  const toml::array& array = *node.as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    const std::string prefix = name + "[" + std::to_string(i) + "]";
    HandlerConfig handler;
    handler.location = ctx.Where(table.source());
    THEATER_ASSIGN_OR_RETURN(handler.type,
                             RequiredString(table, "type", prefix + ".type", table.source(), ctx));
    const toml::node* config = table.get("config");
    if (config != nullptr) {
      if (!config->is_table()) return ctx.WrongType(*config, prefix + ".config", "a table");
      for (const auto& [other, value] : table) {
        if (other.str() == "type" || other.str() == "config") continue;
        return ctx.Invalid(other.source(), prefix + "." + std::string(other.str()),
                           "is a setting outside '" + prefix +
                               ".config', which holds the others: give the settings either in "
                               "'config' or as keys of the table, not both");
      }
      THEATER_ASSIGN_OR_RETURN(handler.config, ToJson(*config, prefix + ".config", ctx));
      m.handlers.push_back(std::move(handler));
      continue;
    }
    for (const auto& [setting, value] : table) {
      if (setting.str() == "type") continue;
      THEATER_ASSIGN_OR_RETURN(json item,
                               ToJson(value, prefix + "." + std::string(setting.str()), ctx));
      handler.config[std::string(setting.str())] = std::move(item);
    }
    m.handlers.push_back(std::move(handler));
  }
  return Status::Ok();
}

// The node of `key` or of its synonym `synonym`, refusing a manifest that gives both.
Result<const toml::node*> OneSpelling(const toml::table& root, std::string_view key,
                                      std::string_view synonym, const ManifestSource& ctx) {
  const toml::node* node = root.get(key);
  const toml::node* other = root.get(synonym);
  if (node != nullptr && other != nullptr) {
    return ctx.Invalid(other->source(), std::string(synonym),
                       "and '" + std::string(key) + "' (" + ctx.Where(node->source()) +
                           ") are two spellings of one field: give only one");
  }
  return node != nullptr ? node : other;
}

Result<Manifest> BuildManifest(const toml::table& root, fs::path base_dir, std::string base_url,
                               const ManifestSource& ctx) {
  Manifest m;
  std::vector<Warning> warnings;
  m.source_name = ctx.source_name();
  m.base_dir = std::move(base_dir);
  m.base_url = std::move(base_url);

  // Required fields are checked in document order of the spec so the first missing one is named.
  THEATER_ASSIGN_OR_RETURN(m.name, RequiredString(root, "name", "name", {}, ctx));
  THEATER_ASSIGN_OR_RETURN(std::optional<std::string> version,
                           OptionalString(root, "version", "version", ctx));
  if (version && version->empty()) {
    return ctx.Invalid(root.get("version")->source(), "version", "must not be empty");
  }
  m.version = version ? std::move(*version) : std::string(kDefaultVersion);
  THEATER_ASSIGN_OR_RETURN(const toml::node* component_node,
                           OneSpelling(root, "component", "component_path", ctx));
  // OneSpelling refused both, so the synonym is the one given when it is there at all.
  const std::string component_key =
      root.get("component_path") != nullptr ? "component_path" : "component";
  THEATER_ASSIGN_OR_RETURN(std::string component,
                           RequiredString(root, component_key, component_key, {}, ctx));
  Result<std::string> resolved_component =
      ResolveReference(component, &m.component_kind, m.base_dir, m.base_url);
  if (!resolved_component.ok()) {
    return ctx.Invalid(component_node->source(), component_key,
                       resolved_component.status().message());
  }
  m.component = std::move(*resolved_component);

  THEATER_ASSIGN_OR_RETURN(m.description, OptionalString(root, "description", "description", ctx));
  THEATER_ASSIGN_OR_RETURN(m.long_description,
                           OptionalString(root, "long_description", "long_description", ctx));

  for (auto [key, field] : {std::pair{"save_chain", &m.save_chain},
                             std::pair{"auto_handlers", &m.auto_handlers}}) {
    if (const toml::node* node = root.get(key)) {
      if (!node->is_boolean()) return ctx.WrongType(*node, key, "a boolean");
      *field = node->as_boolean()->get();
    }
  }

  THEATER_ASSIGN_OR_RETURN(std::optional<std::string> init_state,
                           OptionalString(root, "init_state", "init_state", ctx));
  if (init_state) {
    if (init_state->empty()) {
      return ctx.Invalid(root.get("init_state")->source(), "init_state", "must not be empty");
    }
    Result<std::string> resolved =
        ResolveReference(*init_state, &m.init_state_kind, m.base_dir, m.base_url);
    if (!resolved.ok()) {
      return ctx.Invalid(root.get("init_state")->source(), "init_state",
                         resolved.status().message());
    }
    m.init_state = std::move(*resolved);
  }

  if (const toml::node* node = root.get("permission_policy")) {
    if (!node->is_table()) return ctx.WrongType(*node, "permission_policy", "a table");
    THEATER_ASSIGN_OR_RETURN(m.permission_policy, ToJson(*node, "permission_policy", ctx));
  }
  THEATER_ASSIGN_OR_RETURN(const toml::node* handlers,
                           OneSpelling(root, "handler", "handlers", ctx));
  if (handlers != nullptr) {
    m.handler_table_key = root.get("handlers") != nullptr ? "handlers" : "handler";
    THEATER_RETURN_IF_ERROR(ParseHandlers(*handlers, m.handler_table_key, m, ctx));
  }
  if (const toml::node* node = root.get("limits")) {
    THEATER_RETURN_IF_ERROR(ParseLimits(*node, m, warnings, ctx));
  }
  THEATER_ASSIGN_OR_RETURN(m.placement, OptionalString(root, "placement", "placement", ctx));
  if (m.placement) {
    if (Status valid = CheckPlacement(*m.placement); !valid.ok()) {
      return ctx.Invalid(root.get("placement")->source(), "placement", valid.message());
    }
  }
  THEATER_ASSIGN_OR_RETURN(std::optional<std::string> durability,
                           OptionalString(root, "durability", "durability", ctx));
  if (durability) {
    if (*durability == "replicated") {
      m.replicated = true;
    } else if (*durability != "local") {
      return ctx.Invalid(root.get("durability")->source(), "durability",
                         "must be \"local\" or \"replicated\"");
    }
  }

  static const std::vector<std::string> kKnown(std::begin(kKnownKeys), std::end(kKnownKeys));
  for (const auto& [key, value] : root) {
    THEATER_RETURN_IF_ERROR(CheckUnknownKey(key, kKnown, "", ctx, warnings));
  }
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const Warning& a, const Warning& b) { return a.position < b.position; });
  for (Warning& w : warnings) m.warnings.push_back(std::move(w.message));
  return m;
}

// "line:col" of byte offset `pos` (0-based) in `text`.
std::string LineColumn(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
}

// What every manifest text passes before toml++ sees it: toml++ recurses once per component of a
// dotted key or table header (its own nesting limit guards only arrays and inline tables), and
// the TOML → JSON conversion above recurses once per level.
Status CheckManifestText(std::string_view text, const std::string& source_name) {
  if (text.size() > limits::kMaxManifestBytes) {
    return ResourceExhausted(source_name + ": manifest is " + std::to_string(text.size()) +
                             " bytes, over the manifest size limit of " +
                             std::to_string(limits::kMaxManifestBytes) + " bytes");
  }
  return CheckTomlNesting(text, limits::kMaxTomlDepth, source_name + ": manifest");
}

// The largest thing a reference may name, by what it is.
size_t MaxReferenceBytes(std::string_view what) {
  if (what.starts_with("manifest")) return limits::kMaxManifestBytes;
  if (what.starts_with("init_state")) return limits::kMaxInitStateBytes;
  return limits::kMaxModuleBytes;
}

}  // namespace

bool LooksLikeInlineManifest(std::string_view text) {
  if (text.find('\n') != std::string_view::npos) return true;
  const size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  if (text[start] == '[') return true;
  // A bare TOML key, then `=`: one pass, whatever the length (a regex here recursed per byte).
  auto bare_key_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  size_t i = start;
  while (i < text.size() && bare_key_char(text[i])) ++i;
  if (i == start) return false;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return i < text.size() && text[i] == '=';
}

std::string_view MailboxOverflowName(MailboxOverflow policy) {
  switch (policy) {
    case MailboxOverflow::kRefuse:
      return "refuse";
    case MailboxOverflow::kDropOldest:
      return "drop-oldest";
    case MailboxOverflow::kDropNewest:
      return "drop-newest";
    case MailboxOverflow::kBlock:
      return "block";
  }
  return "refuse";
}

ReferenceKind ClassifyReference(std::string_view reference) {
  if (reference.starts_with("store://")) return ReferenceKind::kStore;
  if (reference.starts_with("http://") || reference.starts_with("https://")) {
    return ReferenceKind::kUrl;
  }
  return ReferenceKind::kFile;
}

namespace {

// Parsing is a pure function of its inputs, so a spawn from the same manifest text does not
// parse it again: two TOML parses were about a tenth of a spawn's time. Bounded: 64 manifests,
// 16 MiB (a manifest weighs about twice its text: the text it keeps and what it parsed into).
constexpr size_t kMemoEntries = 64;
constexpr size_t kMemoBytes = size_t{16} << 20;
size_t ManifestWeight(std::string_view text) { return 2 * text.size() + 4096; }

// What ParseManifestWithState learns from the text before the initial state is known.
struct TemplateProbe {
  Result<ParsedTemplate> parsed = ParsedTemplate{};
  std::optional<std::string> init_ref;  // the init_state reference, as written
};

Result<Manifest> ParseManifestText(std::string_view toml_text, fs::path base_dir,
                                   std::string source_name, std::string base_url) {
  THEATER_RETURN_IF_ERROR(CheckManifestText(toml_text, source_name));
  ManifestSource ctx(std::move(source_name));
  try {
    toml::table root = toml::parse(toml_text, ctx.source_name());
    Result<Manifest> built = BuildManifest(root, std::move(base_dir), std::move(base_url), ctx);
    if (built.ok()) built->text.assign(toml_text);
    return built;
  } catch (const toml::parse_error& e) {
    return ParseError(ctx.Where(e.source()) +
                      ": TOML syntax error: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return InternalError(ctx.source_name() + ": unexpected error parsing manifest: " + e.what());
  }
}

// Finds `init_state` in a manifest text whose template expressions are not yet filled in: the
// text is parsed with every expression masked by a same-sized `0`, so TOML positions stay those
// of the source. When the template itself is malformed, the raw text is parsed instead; the
// template error is reported only if substitution turns out to be needed.
Result<TemplateProbe> ProbeTemplate(std::string_view toml_text, const std::string& source_name) {
  THEATER_RETURN_IF_ERROR(CheckManifestText(toml_text, source_name));
  TemplateProbe probe;
  probe.parsed = ParseTemplate(toml_text, source_name);
  std::string probe_text = probe.parsed.ok() ? MaskTemplate(*probe.parsed) : std::string(toml_text);
  ManifestSource ctx(source_name);
  try {
    toml::table table = toml::parse(probe_text, source_name);
    if (const toml::node* node = table.get("init_state")) {
      if (!node->is_string()) return ctx.WrongType(*node, "init_state", "a string");
      if (!node->as_string()->get().empty()) probe.init_ref = node->as_string()->get();
      // A second mask with another mark shows whether init_state contains an expression.
      if (probe.init_ref) {
        bool templated = probe.init_ref->find("{{") != std::string::npos;
        if (probe.parsed.ok()) {
          toml::table second = toml::parse(MaskTemplate(*probe.parsed, '1'), source_name);
          templated = second["init_state"].value_or(std::string()) != *probe.init_ref;
        }
        if (templated) {
          return ctx.Invalid(node->source(), "init_state",
                             "must not use template expressions (it is read before the initial "
                             "state is known)");
        }
      }
    }
  } catch (const toml::parse_error& e) {
    return ParseError(ctx.Where(e.source()) +
                      ": TOML syntax error: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return InternalError(source_name + ": unexpected error parsing manifest: " + e.what());
  }
  return probe;
}

}  // namespace

Result<std::optional<std::string>> ManifestPlacement(std::string_view toml_text) {
  const std::string source_name = "<manifest>";
  THEATER_RETURN_IF_ERROR(CheckManifestText(toml_text, source_name));
  Result<ParsedTemplate> parsed = ParseTemplate(toml_text, source_name);
  const std::string text = parsed.ok() ? MaskTemplate(*parsed) : std::string(toml_text);
  ManifestSource ctx(source_name);
  try {
    toml::table root = toml::parse(text, source_name);
    THEATER_ASSIGN_OR_RETURN(std::optional<std::string> placement,
                             OptionalString(root, "placement", "placement", ctx));
    if (placement) {
      if (Status valid = CheckPlacement(*placement); !valid.ok()) {
        return ctx.Invalid(root.get("placement")->source(), "placement", valid.message());
      }
    }
    return placement;
  } catch (const toml::parse_error& e) {
    return ParseError(ctx.Where(e.source()) +
                      ": TOML syntax error: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return InternalError("unexpected error parsing a manifest: " + std::string(e.what()));
  }
}

namespace {

// ProbeTemplate, remembered. A text over the size limit is refused before it is copied into a key.
Result<std::shared_ptr<const TemplateProbe>> ProbeTemplateMemoized(std::string_view toml_text,
                                                                  const std::string& source_name) {
  static BoundedMemo<TemplateProbe> memo(kMemoEntries, kMemoBytes);
  if (toml_text.size() > limits::kMaxManifestBytes) {
    return CheckManifestText(toml_text, source_name);
  }
  return memo.FindOrCompute(MemoKey({toml_text, source_name}), ManifestWeight(toml_text),
                            [&] { return ProbeTemplate(toml_text, source_name); });
}

}  // namespace

Result<std::shared_ptr<const Manifest>> ParseManifestShared(std::string_view toml_text,
                                                            fs::path base_dir,
                                                            std::string source_name,
                                                            std::string base_url) {
  static BoundedMemo<Manifest> memo(kMemoEntries, kMemoBytes);
  if (toml_text.size() > limits::kMaxManifestBytes) {
    return CheckManifestText(toml_text, source_name);  // refused before it is copied into a key
  }
  std::string key = MemoKey({toml_text, base_dir.native(), source_name, base_url});
  return memo.FindOrCompute(std::move(key), ManifestWeight(toml_text), [&] {
    return ParseManifestText(toml_text, std::move(base_dir), std::move(source_name),
                             std::move(base_url));
  });
}

Result<Manifest> ParseManifest(std::string_view toml_text, fs::path base_dir,
                               std::string source_name, std::string base_url) {
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> manifest,
                           ParseManifestShared(toml_text, std::move(base_dir),
                                               std::move(source_name), std::move(base_url)));
  return *manifest;
}

Result<Manifest> LoadManifest(const fs::path& path) {
  THEATER_ASSIGN_OR_RETURN(std::string text,
                           ReadFileText(path, "manifest", limits::kMaxManifestBytes));
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) return IOError("resolving manifest path " + path.string() + ": " + ec.message());
  return ParseManifest(text, absolute.parent_path(), path.string());
}

Result<std::optional<std::vector<uint8_t>>> LoadInitState(const Manifest& manifest,
                                                          const StoreReader& store,
                                                          const LocalFileReader& files,
                                                          const UrlReader& urls) {
  if (!manifest.init_state) return std::optional<std::vector<uint8_t>>();
  const std::string& ref = *manifest.init_state;
  Result<std::vector<uint8_t>> bytes =
      LoadReference(ref, manifest.init_state_kind, "init_state", store, files, urls);
  if (!bytes.ok()) return bytes.status().WithContext(manifest.source_name + ": init_state");
  const std::string text(bytes->begin(), bytes->end());
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(text, limits::kMaxJsonDepth, ref + ": init_state"));
  try {
    [[maybe_unused]] const json parsed = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 and points at the last byte read, where parsing went wrong.
    size_t pos = e.byte > 0 ? e.byte - 1 : 0;
    std::string detail = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line L, column C: " prefix;
    // the position is given in the editor-friendly form instead.
    if (size_t col = detail.find("column "); col != std::string::npos) {
      if (size_t colon = detail.find(": ", col); colon != std::string::npos) {
        detail = detail.substr(colon + 2);
      }
    }
    return ParseError(ref + ":" + LineColumn(text, pos) +
                      ": init_state is not valid JSON: " + detail);
  } catch (const json::exception& e) {
    // Not a syntax error but a value nlohmann refuses (406: a number out of range, 1e99999); an
    // escaped exception would end the process.
    return ParseError(ref + ": init_state is not valid JSON: " + e.what());
  }
  return std::optional<std::vector<uint8_t>>(std::move(*bytes));
}

std::optional<json> MergeInitState(const std::optional<json>& init,
                                   const std::optional<json>& override_state) {
  if (!override_state) return init;
  if (!init) return override_state;
  if (!init->is_object() || !override_state->is_object()) return override_state;
  json merged = *init;
  for (const auto& [key, value] : override_state->items()) merged[key] = value;
  return merged;
}

Result<ManifestWithState> ParseManifestWithState(std::string_view toml_text, fs::path base_dir,
                                                 std::string source_name,
                                                 std::optional<json> override_state,
                                                 std::string base_url, const StoreReader& store,
                                                 const LocalFileReader& files,
                                                 const UrlReader& urls) {
  // 1. Find `init_state` before the state is known (ProbeTemplate, which checks the text's size
  //    and nesting first).
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const TemplateProbe> probe,
                           ProbeTemplateMemoized(toml_text, source_name));
  const Result<ParsedTemplate>& parsed = probe->parsed;
  const std::optional<std::string>& init_ref = probe->init_ref;

  // 2. Load it and merge the override over it.
  std::optional<std::vector<uint8_t>> init_bytes;
  std::optional<json> init_json;
  if (init_ref) {
    Manifest probe_manifest;
    probe_manifest.source_name = source_name;
    Result<std::string> resolved =
        ResolveReference(*init_ref, &probe_manifest.init_state_kind, base_dir, base_url);
    if (!resolved.ok()) return resolved.status().WithContext(source_name + ": init_state");
    probe_manifest.init_state = std::move(*resolved);
    THEATER_ASSIGN_OR_RETURN(init_bytes, LoadInitState(probe_manifest, store, files, urls));
    // LoadInitState has checked that the bytes are JSON.
    init_json = json::parse(init_bytes->begin(), init_bytes->end(), nullptr, false);
  }
  std::optional<json> state = MergeInitState(init_json, override_state);

  // 3. Substitute when the state is an object, then parse.
  std::vector<std::string> template_warnings;
  std::string rendered;
  std::string_view text = toml_text;
  if (state && state->is_object()) {
    if (!parsed.ok()) return parsed.status();
    THEATER_ASSIGN_OR_RETURN(rendered,
                             RenderTemplate(*parsed, *state, source_name, &template_warnings));
    text = rendered;
  }
  THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> manifest,
                           ParseManifestShared(text, base_dir, source_name, base_url));
  if (!template_warnings.empty()) {
    auto warned = std::make_shared<Manifest>(*manifest);
    for (std::string& w : template_warnings) warned->warnings.push_back(std::move(w));
    manifest = std::move(warned);
  }

  ManifestWithState out;
  out.manifest = std::move(manifest);
  if (override_state) {
    std::string dumped = JsonText(*state);
    out.state = std::vector<uint8_t>(dumped.begin(), dumped.end());
  } else {
    out.state = std::move(init_bytes);
  }
  return out;
}

Result<ManifestWithState> LoadManifestWithState(const fs::path& path,
                                                std::optional<json> override_state,
                                                const StoreReader& store,
                                                const LocalFileReader& files,
                                                const UrlReader& urls) {
  std::string text;
  if (files) {
    THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                             files(path.string(), "manifest", limits::kMaxManifestBytes));
    text.assign(bytes.begin(), bytes.end());
  } else {
    THEATER_ASSIGN_OR_RETURN(text, ReadFileText(path, "manifest", limits::kMaxManifestBytes));
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) return IOError("resolving manifest path " + path.string() + ": " + ec.message());
  return ParseManifestWithState(text, absolute.parent_path(), path.string(),
                                std::move(override_state), {}, store, files, urls);
}

Result<ManifestWithState> LoadManifestWithStateFromUrl(const std::string& url,
                                                       std::optional<json> override_state,
                                                       const StoreReader& store,
                                                       const LocalFileReader& files,
                                                       const UrlReader& urls) {
  Result<std::vector<uint8_t>> bytes =
      LoadReference(url, ReferenceKind::kUrl, "manifest", {}, {}, urls);
  if (!bytes.ok()) return bytes.status();
  const std::string text(bytes->begin(), bytes->end());
  return ParseManifestWithState(text, {}, url, std::move(override_state), url, store, files, urls);
}

Result<ManifestWithState> LoadManifestWithStateFromStore(const std::string& reference,
                                                         std::optional<json> override_state,
                                                         const StoreReader& store,
                                                         const LocalFileReader& files,
                                                         const UrlReader& urls) {
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                           LoadReference(reference, ReferenceKind::kStore, "manifest", store));
  const std::string text(bytes.begin(), bytes.end());
  return ParseManifestWithState(text, {}, reference, std::move(override_state), reference, store,
                                files, urls);
}

Result<std::vector<uint8_t>> LoadReference(const std::string& reference, ReferenceKind kind,
                                           std::string_view what, const StoreReader& store,
                                           const LocalFileReader& files, const UrlReader& urls) {
  switch (kind) {
    case ReferenceKind::kFile: {
      if (files) return files(reference, what, MaxReferenceBytes(what));
      return ReadFileBytes(reference, std::string(what) + " file", MaxReferenceBytes(what));
    }
    case ReferenceKind::kUrl: {
      const uint64_t max_bytes = MaxReferenceBytes(what);
      Result<std::vector<uint8_t>> body = [&] {
        if (urls) return urls(reference, what, max_bytes);
        FetchOptions options;
        options.max_bytes = max_bytes;
        return FetchUrl(reference, options);
      }();
      if (!body.ok()) return body.status().WithContext(std::string(what));
      return body;
    }
    case ReferenceKind::kStore:
      break;
  }
  if (!store) {
    return Unavailable(std::string(what) + " " + QuoteInput(reference) +
                       ": store:// references need a runtime's content store");
  }
  Result<std::vector<uint8_t>> bytes = store(reference);
  if (!bytes.ok()) {
    return bytes.status().WithContext(std::string(what) + " " + QuoteInput(reference));
  }
  if (bytes->size() > MaxReferenceBytes(what)) {
    return ResourceExhausted(std::string(what) + " " + QuoteInput(reference) + " is " +
                             std::to_string(bytes->size()) + " bytes, over the limit of " +
                             std::to_string(MaxReferenceBytes(what)) + " bytes");
  }
  return bytes;
}

}  // namespace theater
