// Theater: a WebAssembly actor runtime.
//
// Actor permissions (docs/permissions.md): what each handler may do for an actor, how a child
// actor's permissions derive from its parent's through the manifest's `[permission_policy]`, and
// the checks handlers call before acting.
//
// A top-level actor gets RootPermissions() (everything allowed). A child gets
// ComputeEffectivePermissions(parent, policy): per handler, `inherit` keeps the parent's
// permission, `disallow` removes it, `restrict` narrows it with a config. Narrowing is an
// intersection, so a child can never gain what its parent lacks. In every struct below a
// default-constructed value allows everything, and a list that is nullopt means "unrestricted".
//
// Every Check*() function fails closed: an absent permission (the handler is not permitted)
// denies, and a denial is a kPermissionDenied Status whose message follows the original
// Theater's wording.
//
// Thread-safety: plain values and pure functions. Nothing here throws.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/status.h"

namespace theater {

inline constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

// nullopt: no restriction. A set list allows exactly its entries (an empty list allows nothing).
using AllowList = std::optional<std::vector<std::string>>;

struct MessageServerPermissions {
  friend bool operator==(const MessageServerPermissions&,
                         const MessageServerPermissions&) = default;
};
struct RuntimePermissions {
  friend bool operator==(const RuntimePermissions&, const RuntimePermissions&) = default;
};
// The original's store permission is a unit; these two fields are Theater additions.
struct StorePermissions {
  AllowList allowed_stores;  // store ids that may be touched at all (docs/store.md, "Access")
  bool create = true;        // may create stores (`new`)
  friend bool operator==(const StorePermissions&, const StorePermissions&) = default;
};

struct FileSystemPermissions {
  bool read = true;
  bool write = true;
  bool execute = true;
  bool new_dir = true;         // may create directories (also needs `write`)
  AllowList allowed_commands;  // commands `execute` may run
  AllowList allowed_paths;     // directory trees (component-wise prefixes) that may be touched
  friend bool operator==(const FileSystemPermissions&, const FileSystemPermissions&) = default;
};

struct HttpClientPermissions {
  AllowList allowed_methods;              // upper-cased when parsed; compared case-insensitively
  AllowList allowed_hosts;                // lower-cased when parsed; exact host match
  std::optional<uint64_t> max_redirects;  // nullopt: unlimited
  std::optional<uint64_t> timeout_ms;     // JSON key `timeout`; nullopt: unlimited
  friend bool operator==(const HttpClientPermissions&, const HttpClientPermissions&) = default;
};

struct HttpFrameworkPermissions {
  AllowList allowed_routes;                  // exact route paths
  AllowList allowed_methods;                 // upper-cased when parsed
  std::optional<uint64_t> max_request_size;  // bytes; nullopt: unlimited
  friend bool operator==(const HttpFrameworkPermissions&,
                         const HttpFrameworkPermissions&) = default;
};

// The original's supervisor permission is a unit; these two limits are Theater additions.
struct SupervisorPermissions {
  std::optional<uint64_t> max_children;  // nullopt: unlimited
  AllowList allowed_manifests;           // manifest references a child may be spawned from
  friend bool operator==(const SupervisorPermissions&, const SupervisorPermissions&) = default;
};

struct TimingPermissions {
  uint64_t max_sleep_duration = kUnlimited;  // ms
  uint64_t min_sleep_duration = 0;           // ms
  friend bool operator==(const TimingPermissions&, const TimingPermissions&) = default;
};

struct ProcessPermissions {
  uint64_t max_processes = kUnlimited;
  uint64_t max_output_buffer = kUnlimited;  // bytes
  AllowList allowed_programs;
  AllowList allowed_paths;  // working directories (component-wise prefixes)
  friend bool operator==(const ProcessPermissions&, const ProcessPermissions&) = default;
};

struct EnvironmentPermissions {
  AllowList allowed_vars;
  std::vector<std::string> denied_vars;  // always denied, whatever else says
  AllowList allowed_prefixes;
  bool allow_list_all = true;  // may list every variable
  friend bool operator==(const EnvironmentPermissions&, const EnvironmentPermissions&) = default;
};

struct RandomPermissions {
  uint64_t max_bytes = kUnlimited;  // per request
  uint64_t max_int = kUnlimited;    // largest upper bound of a random integer
  bool allow_crypto_secure = true;
  friend bool operator==(const RandomPermissions&, const RandomPermissions&) = default;
};

// What an actor may do: one optional permission per handler; nullopt means the handler is not
// permitted at all. A default-constructed value permits nothing.
struct EffectivePermissions {
  std::optional<MessageServerPermissions> message_server;
  std::optional<FileSystemPermissions> file_system;
  std::optional<HttpClientPermissions> http_client;
  std::optional<HttpFrameworkPermissions> http_framework;
  std::optional<RuntimePermissions> runtime;
  std::optional<SupervisorPermissions> supervisor;
  std::optional<StorePermissions> store;
  std::optional<TimingPermissions> timing;
  std::optional<ProcessPermissions> process;
  std::optional<EnvironmentPermissions> environment;
  std::optional<RandomPermissions> random;
  friend bool operator==(const EffectivePermissions&, const EffectivePermissions&) = default;
};

enum class InheritanceKind { kInherit, kDisallow, kRestrict };

// One handler's entry in `[permission_policy]`. `restriction` is used only for kRestrict; fields
// the config does not set keep their default (allow-everything) value, so they do not narrow.
template <typename T>
struct HandlerPolicy {
  InheritanceKind kind = InheritanceKind::kInherit;
  T restriction;
};

// The parsed `[permission_policy]`; every handler defaults to inherit.
struct PermissionPolicy {
  HandlerPolicy<MessageServerPermissions> message_server;
  HandlerPolicy<FileSystemPermissions> file_system;
  HandlerPolicy<HttpClientPermissions> http_client;
  HandlerPolicy<HttpFrameworkPermissions> http_framework;
  HandlerPolicy<RuntimePermissions> runtime;
  HandlerPolicy<SupervisorPermissions> supervisor;
  HandlerPolicy<StorePermissions> store;
  HandlerPolicy<TimingPermissions> timing;
  HandlerPolicy<ProcessPermissions> process;
  HandlerPolicy<EnvironmentPermissions> environment;
  HandlerPolicy<RandomPermissions> random;
};

// Parses Manifest::permission_policy. Errors: kInvalidArgument naming the field, e.g.
// "permission_policy.file_system.config.read: must be a boolean, not a string", for unknown
// handlers or config keys, a missing or unknown `type`, a `config` on inherit/disallow, and values
// of the wrong type or out of range.
Result<PermissionPolicy> ParsePermissionPolicy(const nlohmann::json& policy);

// Everything allowed: every handler present with its default-constructed permission.
EffectivePermissions RootPermissions();

// The child's permissions: per handler, inherit → the parent's; disallow → none; restrict →
// Narrow(parent's, restriction), or none when the parent has none.
EffectivePermissions ComputeEffectivePermissions(const EffectivePermissions& parent,
                                                 const PermissionPolicy& policy);

// The intersection of a parent's permission and a restriction (docs/permissions.md lists the rule
// for every field). The result never allows anything `parent` does not.
FileSystemPermissions Narrow(const FileSystemPermissions& parent, const FileSystemPermissions& r);
HttpClientPermissions Narrow(const HttpClientPermissions& parent, const HttpClientPermissions& r);
HttpFrameworkPermissions Narrow(const HttpFrameworkPermissions& parent,
                                const HttpFrameworkPermissions& r);
SupervisorPermissions Narrow(const SupervisorPermissions& parent, const SupervisorPermissions& r);
StorePermissions Narrow(const StorePermissions& parent, const StorePermissions& r);
TimingPermissions Narrow(const TimingPermissions& parent, const TimingPermissions& r);
ProcessPermissions Narrow(const ProcessPermissions& parent, const ProcessPermissions& r);
EnvironmentPermissions Narrow(const EnvironmentPermissions& parent,
                              const EnvironmentPermissions& r);
RandomPermissions Narrow(const RandomPermissions& parent, const RandomPermissions& r);

// --- Checks. OK when allowed; otherwise kPermissionDenied. ---

// Whether a handler (by its `[[handler]]` type: "filesystem", "message-server", "http-client",
// "http-framework", "runtime", "supervisor", "store", "timing", "process", "environment",
// "random") is permitted at all. Unknown types are denied.
Status CheckHandlerPermitted(const EffectivePermissions& perms, std::string_view handler_type);

// Filesystem: the operation's flag, and the path (lexically normalised) must lie within an
// allowed path. Creating a directory needs `write` and `new_dir`.
Status CheckFileRead(const EffectivePermissions& perms, std::string_view path);
Status CheckFileWrite(const EffectivePermissions& perms, std::string_view path);
Status CheckFileCreateDir(const EffectivePermissions& perms, std::string_view path);
// Running a command: `execute`, and the command must be in allowed_commands when that is set.
Status CheckFileCommand(const EffectivePermissions& perms, std::string_view command);

// Store: `store_id` must be in allowed_stores when that is set; creating a store needs `create`.
Status CheckStoreAccess(const EffectivePermissions& perms, std::string_view store_id);
Status CheckStoreCreate(const EffectivePermissions& perms);

// HTTP client request: method and host allowed.
Status CheckHttp(const EffectivePermissions& perms, std::string_view method, std::string_view host);
// HTTP framework route registration: route and method allowed.
Status CheckHttpRoute(const EffectivePermissions& perms, std::string_view method,
                      std::string_view route);

// Environment: not denied, in allowed_vars when set, and matching allowed_prefixes when set.
Status CheckEnvVar(const EffectivePermissions& perms, std::string_view var);
Status CheckEnvListAll(const EffectivePermissions& perms);

// Spawning a process while `running` processes are alive: count below max_processes, program in
// allowed_programs when set, and the working directory (when not empty) within allowed_paths.
Status CheckProgram(const EffectivePermissions& perms, std::string_view program, uint64_t running,
                    std::string_view cwd = {});
Status CheckProcessOutputBuffer(const EffectivePermissions& perms, uint64_t bytes);

// Random: request size, integer bound, and cryptographically secure randomness.
Status CheckRandomBytes(const EffectivePermissions& perms, uint64_t bytes);
Status CheckRandomInt(const EffectivePermissions& perms, uint64_t max_value);
Status CheckRandomCryptoSecure(const EffectivePermissions& perms);

// Timing: min_sleep_duration <= duration_ms <= max_sleep_duration.
Status CheckSleep(const EffectivePermissions& perms, uint64_t duration_ms);

// Supervisor: spawning a child from `manifest` while `children` children exist.
Status CheckSpawnChild(const EffectivePermissions& perms, std::string_view manifest,
                       uint64_t children);

}  // namespace theater
