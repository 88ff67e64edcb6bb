// Theater: a WebAssembly actor runtime.
//
// The actor manifest: the TOML file that names an actor, points at its component, and configures
// its handlers, permissions, initial state and resource limits (docs/manifest.md).
//
// ParseManifest() turns TOML text into a validated Manifest: references are resolved against the
// manifest's directory, limits get their defaults and are range-checked, and keys the format does
// not know become warnings rather than errors. Errors name the file, line, column and field.
// Handler configs and the permission policy are kept as JSON for the areas that interpret them.
//
// Thread-safety: Manifest is a plain value; the functions are pure apart from reading files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/status.h"

namespace theater {

// What a reference string (`component`, `init_state`) points at.
enum class ReferenceKind {
  kFile,   // a filesystem path, resolved against the manifest's directory
  kStore,  // store://<store-id>/<label> or store://<store-id>/hash/<hash>, kept as written
  kUrl,    // http:// or https://, kept as written
};

// Classifies a reference by its scheme; anything without store://, http:// or https:// is a path.
ReferenceKind ClassifyReference(std::string_view reference);

// Whether a spawn's `manifest` is the TOML text itself rather than a reference: it holds a
// newline, or starts (after spaces and tabs) with '[' or with a bare key and '='. Linear.
bool LooksLikeInlineManifest(std::string_view text);

// Reads what a store:// reference names (the runtime provides one backed by its content store;
// docs/store.md, "References"). Empty: store:// references fail with kUnavailable.
using StoreReader = std::function<Result<std::vector<uint8_t>>(const std::string& reference)>;

// Reads a local file that loading a manifest needs on someone's behalf (the manifest itself, its
// init_state): its bytes, at most `max_bytes`, or the error loading fails with. `what` names the
// reference ("init_state"). Empty: every path is read as given. The runtime gives one for every
// spawn that is bound (an actor's, or any a client beyond loopback started), and reads the
// component through the same rule (docs/security.md, "What a spawn may read").
using LocalFileReader = std::function<Result<std::vector<uint8_t>>(
    const std::string& path, std::string_view what, uint64_t max_bytes)>;

// Reads an http(s) reference that loading a manifest needs (the manifest itself, its init_state,
// its component): its body, at most `max_bytes`, or the error loading fails with. `what` names
// the reference ("component"). Empty: the URL is fetched with FetchUrl, blocking the calling
// thread for up to its timeout. The runtime gives one that answers from what the spawn has
// fetched already and otherwise notes the URL and fails, so that the spawn is run again once an
// asynchronous fetch has it (docs/runtime.md, "Spawning from URLs"): no thread waits on a network.
using UrlReader = std::function<Result<std::vector<uint8_t>>(
    const std::string& url, std::string_view what, uint64_t max_bytes)>;

// What an actor's full mailbox does with one more operation (`[limits] mailbox_overflow`;
// docs/runtime.md, "Mailbox overflow"). A drop is recorded in the actor's chain.
enum class MailboxOverflow {
  kRefuse,      // the sender's call fails (the default)
  kDropOldest,  // the oldest queued call is dropped (its waiter told) and the new one queued
  kDropNewest,  // the new call is dropped (its waiter told); a one-way send still succeeds
  kBlock,       // a sender that can wait (an actor, an external client) waits for room
};
// The manifest's spelling: "refuse", "drop-oldest", "drop-newest", "block".
std::string_view MailboxOverflowName(MailboxOverflow policy);

// Per-actor resource limits. Defaults match docs/manifest.md.
struct ManifestLimits {
  static constexpr uint64_t kDefaultInitDeadlineMs = 60'000;
  static constexpr uint64_t kDefaultCallDeadlineMs = 300'000;
  static constexpr uint64_t kDefaultMemoryLimitMb = 256;
  static constexpr uint64_t kDefaultStackSizeKb = 256;
  static constexpr uint64_t kDefaultMailboxCapacity = 1024;

  uint64_t init_deadline_ms = kDefaultInitDeadlineMs;   // deadline of the `init` export call
  uint64_t call_deadline_ms = kDefaultCallDeadlineMs;   // deadline of every other export call
  uint64_t memory_limit_mb = kDefaultMemoryLimitMb;     // cap on the guest's linear memory
  uint64_t stack_size_kb = kDefaultStackSizeKb;         // stack of the fiber a guest call runs on
  uint64_t mailbox_capacity = kDefaultMailboxCapacity;  // operations queued before overflow
  MailboxOverflow mailbox_overflow = MailboxOverflow::kRefuse;  // what overflow does
  // Retention of a saved chain (0: keep everything). Past either limit since the last state
  // snapshot, the runtime records a new snapshot and deletes the events before the previous one.
  uint64_t chain_retention_events = 0;
  uint64_t chain_retention_bytes = 0;

  friend bool operator==(const ManifestLimits&, const ManifestLimits&) = default;
};

// One `[[handler]]` table: its `type` and every other key as a JSON object.
struct HandlerConfig {
  std::string type;
  nlohmann::json config = nlohmann::json::object();
  std::string location;  // "file:line:col" of the table, for messages about this handler
};

struct Manifest {
  std::string name;
  std::string version;
  // A path (resolved against base_dir unless absolute, lexically normalised) or a store/URL
  // reference kept as written; component_kind says which.
  std::string component;
  ReferenceKind component_kind = ReferenceKind::kFile;
  std::optional<std::string> description;
  std::optional<std::string> long_description;
  // Whether the actor's chain is kept in the runtime's database; unset: the runtime's default
  // (RuntimeOptions::save_chains_by_default, true).
  std::optional<bool> save_chain;
  // Whether the runtime adds, undeclared, every handler whose interface the module imports or
  // exports (a convenience for development); unset: the runtime's default
  // (RuntimeOptions::auto_handlers, false). Off, such a handler must have a `[[handler]]` table.
  std::optional<bool> auto_handlers;
  // Same resolution as `component`. Its bytes (a JSON document) become the initial state.
  std::optional<std::string> init_state;
  ReferenceKind init_state_kind = ReferenceKind::kFile;
  // The raw `[permission_policy]` table as JSON; an empty object when absent.
  nlohmann::json permission_policy = nlohmann::json::object();
  std::vector<HandlerConfig> handlers;
  // How the manifest spells its handler tables: "handler", or "handlers" as the design documents
  // do. Advice to add a table (a handler the module needs) uses the same spelling.
  std::string handler_table_key = "handler";
  ManifestLimits limits;
  // Which host of a lattice runs it (docs/distribution.md, "Placement"): a host's name, or
  // "least-loaded"; unset: where it is spawned (a child: its parent's host).
  std::optional<std::string> placement;
  // `durability = "replicated"` (docs/distribution.md, "Replicated actors"): its chain is copied
  // into the lattice as it is written, and another host takes it over when its host is lost.
  // `"local"` (the default): its chain stays on its host.
  bool replicated = false;

  // "file:line:col: unknown key 'x' (ignored)" for every key the format does not define.
  std::vector<std::string> warnings;
  // Where the manifest came from: the name used in messages and the directory references are
  // resolved against; or, for a manifest fetched from a URL, that URL (base_dir is then empty and
  // relative references become URLs beside it).
  std::string source_name;
  std::filesystem::path base_dir;
  std::string base_url;
  // The TOML text it was parsed from (what a recovery parses again: docs/persistence.md).
  std::string text;
};

// Parses manifest TOML. `source_name` prefixes every message; `base_dir` resolves relative paths
// (an empty base_dir leaves them relative to the working directory).
// Errors: kParseError for TOML syntax, kInvalidArgument for missing, mistyped or out-of-range
// fields; the message carries `source_name:line:col` and the field name.
// With `base_url`, relative references resolve against that URL instead (and absolute paths are
// refused: a manifest from a server must not name files on this machine).
// The `placement` of a manifest's text, read without the rest of it (what a management server
// needs to know where to start it); nullopt when it has none. Errors: the text is not TOML, or
// its placement is not a host name or "least-loaded" (kInvalidArgument).
Result<std::optional<std::string>> ManifestPlacement(std::string_view toml);

Result<Manifest> ParseManifest(std::string_view toml, std::filesystem::path base_dir,
                               std::string source_name, std::string base_url = {});
// ParseManifest(), without the copy: the parse the runtime remembers for this text (and base),
// shared by everyone who parses it (every spawn of one manifest).
Result<std::shared_ptr<const Manifest>> ParseManifestShared(std::string_view toml,
                                                            std::filesystem::path base_dir,
                                                            std::string source_name,
                                                            std::string base_url = {});

// Reads and parses a manifest file; references resolve against the file's own directory (made
// absolute), and messages name the path as given.
Result<Manifest> LoadManifest(const std::filesystem::path& path);

// The bytes of the manifest's init_state (a file, a URL read by `urls`, or a store reference read
// by `store`),
// checked to be JSON (the error says where it is not); nullopt when the manifest has no
// init_state.
Result<std::optional<std::vector<uint8_t>>> LoadInitState(const Manifest& manifest,
                                                          const StoreReader& store = {},
                                                          const LocalFileReader& files = {},
                                                          const UrlReader& urls = {});

// Combines the manifest's initial state with one supplied at spawn time: when both are objects,
// the override's top-level keys replace the initial state's (a shallow merge); otherwise the
// override wins whole. Either may be absent.
std::optional<nlohmann::json> MergeInitState(const std::optional<nlohmann::json>& init,
                                             const std::optional<nlohmann::json>& override_state);

// A manifest together with the initial state it was rendered against.
struct ManifestWithState {
  // Shared: every load of the same text (and base) gets the one parse (ParseManifestShared);
  // copy it to change it.
  std::shared_ptr<const Manifest> manifest;
  // The actor's initial state: the init_state file's bytes unchanged when there is no override,
  // otherwise MergeInitState(init_state, override) serialised as compact JSON; nullopt when
  // there is neither.
  std::optional<std::vector<uint8_t>> state;
};

// Loads a manifest the way an actor is spawned (docs/manifest.md, "Templates"): finds and loads
// `init_state`, merges `override_state` over it (MergeInitState), and, when the result is a JSON
// object, substitutes the `{{...}}` template expressions in the manifest text with values from it
// before parsing. Variables that are missing insert nothing and add a warning to
// Manifest::warnings. Errors: those of ParseManifest and LoadInitState, plus kParseError
// "source:line:col: ..." for a malformed template, and kInvalidArgument when `init_state` itself
// uses a template expression.
Result<ManifestWithState> ParseManifestWithState(
    std::string_view toml, std::filesystem::path base_dir, std::string source_name,
    std::optional<nlohmann::json> override_state, std::string base_url = {},
    const StoreReader& store = {}, const LocalFileReader& files = {}, const UrlReader& urls = {});

// ParseManifestWithState() on a file; paths resolve as in LoadManifest().
Result<ManifestWithState> LoadManifestWithState(const std::filesystem::path& path,
                                                std::optional<nlohmann::json> override_state,
                                                const StoreReader& store = {},
                                                const LocalFileReader& files = {},
                                                const UrlReader& urls = {});
// The same for a manifest fetched from an http(s) URL (FetchUrl's limits and errors); its
// relative references resolve against the URL.
Result<ManifestWithState> LoadManifestWithStateFromUrl(const std::string& url,
                                                       std::optional<nlohmann::json> override_state,
                                                       const StoreReader& store = {},
                                                       const LocalFileReader& files = {},
                                                       const UrlReader& urls = {});
// The same for a manifest in a content store (`reference` is a store:// reference read by
// `store`). Its relative references name labels of the same store: `component = "app.wasm"` in a
// manifest at store://<id>/... is store://<id>/app.wasm. Absolute local paths are refused.
Result<ManifestWithState> LoadManifestWithStateFromStore(
    const std::string& reference, std::optional<nlohmann::json> override_state,
    const StoreReader& store, const LocalFileReader& files = {}, const UrlReader& urls = {});

// The bytes a resolved reference names: a file's contents (read by `files`, when given),
// a URL's body (read by `urls`, else FetchUrl), or what `store` reads for a store:// reference.
// `what` names it in errors ("component").
Result<std::vector<uint8_t>> LoadReference(const std::string& reference, ReferenceKind kind,
                                           std::string_view what, const StoreReader& store = {},
                                           const LocalFileReader& files = {},
                                           const UrlReader& urls = {});

}  // namespace theater
