// Theater: a WebAssembly actor runtime.
//
// Which manifests, and which files they name, a management client may have the server read
// (docs/protocol.md, "StartActor from beyond loopback"). StartActor's `manifest` is manifest
// text, a store:// or http(s):// reference, or a path on the server's machine; ClassifyManifest
// tells them apart by the runtime's own rule (LooksLikeInlineManifest and ClassifyReference,
// theater/manifest.h). A client beyond loopback may name a file only under one of the server's manifest roots
// (`theater server --manifest-root DIR`): otherwise it could make the server read any file its
// user can, and learn from the error whether it exists and what it holds.
//
// Thread-safety: ManifestRoots is immutable after Create; safe from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/local_read_roots.h"
#include "theater/status.h"

namespace theater::server {

enum class ManifestForm { kInline, kStore, kUrl, kFile };

// Inline text (LooksLikeInlineManifest), else a reference: store://…, http://… or https://…, and
// anything else a file path. Linear, no regex.
ManifestForm ClassifyManifest(std::string_view manifest);

class ManifestRoots {
 public:
  ManifestRoots() = default;
  // The directories, resolved (symlinks included). Errors: one does not exist or is not a
  // directory (kInvalidArgument naming it).
  static Result<ManifestRoots> Create(const std::vector<std::filesystem::path>& roots);

  // For a manifest path a client beyond loopback names: the path resolved (relative to the
  // server's working directory, symlinks included) when it is a regular file under a root, to be
  // read instead of the client's text (so the file checked is the file read). Otherwise
  // kPermissionDenied, whose message names the client's own text and the rule, and nothing the
  // server found out about the file (not even whether it exists).
  Result<std::string> Admit(std::string_view path) const;

  // The same rule for a local file that an update or a replay reads on such a client's behalf
  // (the component of UpdateActorComponent, a replay's module). `what` names it in the error
  // ("component"), which again tells nothing about the file.
  Result<std::string> AdmitReferenced(std::string_view path, std::string_view what) const;

  // The rule as a spawn carries it (SpawnRequest::read_roots): the runtime applies it to every
  // file the spawn, its restarts, recoveries and descendants read.
  LocalReadRoots ReadRoots() const;

  bool empty() const { return roots_.empty(); }
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

 private:
  // Why a file is refused, as a refusal ends.
  std::string Rule() const;
  // `path` resolved (symlinks included) when it is a regular file under a root.
  std::optional<std::filesystem::path> ResolveUnderRoot(std::string_view path) const;

  std::vector<std::filesystem::path> roots_;
};

}  // namespace theater::server
