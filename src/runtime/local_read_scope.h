// Theater: a WebAssembly actor runtime.
//
// LocalReadScope: what a spawn may have the host read of the local filesystem on its requester's
// behalf (docs/security.md, "What a spawn may read"), enforced by the kernel. Every local file a
// spawn reads (its manifest, the init_state and component the manifest names) passes here
// whenever the spawn is bound: a child's spawn by an actor (bound to that actor's filesystem
// grant, the directory of its own manifest and its origin's roots), and any spawn a client
// beyond loopback started, with all its descendants, restarts and recoveries (bound to the
// server's manifest roots). Only the host's operator (an embedding program, `theater run`, a
// management client on loopback) spawns unbound.
//
// Each directory is held open (O_PATH). A path is resolved once to find the directory it lies
// under, then opened beneath that directory's descriptor with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS): a symbolic link swapped in after the check can make the open fail,
// never reach outside. A refusal names the path as given (shortened) and the rule, and nothing
// the host found out about the file.
//
// Thread-safety: immutable once built (Add* before it is shared); Open and Read may be called
// from any thread. Owns its descriptors.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/confined_dir.h"
#include "theater/local_read_roots.h"
#include "theater/status.h"

namespace theater::runtime {

// Whether `path` is `root` or lies below it, compared component by component (both absolute
// and resolved; no file is touched).
bool PathIsUnder(const std::filesystem::path& path, const std::filesystem::path& root);

class LocalReadScope {
 public:
  // A file opened for reading beneath one of the scope's directories.
  struct OpenedFile {
    handlers::UniqueFd fd;
    std::string path;  // as the kernel reached it (resolved), for messages and caches
    struct stat info {};
  };

  // An empty scope, which refuses every file; `rule` ends each refusal.
  explicit LocalReadScope(std::string rule);
  // The directories of `roots`, opened (see AddDirectory).
  static LocalReadScope FromRoots(const LocalReadRoots& roots);

  // Adds a directory by path, resolved now. One that cannot be opened is left out (nothing can
  // be read under it).
  void AddDirectory(const std::filesystem::path& directory);
  // Adds a directory already open (duplicated: the caller keeps its own descriptor).
  void AddDescriptor(int directory_fd);

  // Opens `path` (O_RDONLY | O_NONBLOCK: a FIFO cannot hold the caller) when it lies beneath one
  // of the directories and is a regular file. Errors: kPermissionDenied (outside, or a link
  // leading out: "<what> '<path>' is outside what this spawn may read: <rule>"), kNotFound and
  // kInvalidArgument (under a directory: missing, not a regular file), kIOError.
  Result<OpenedFile> Open(const std::string& path, std::string_view what) const;
  // Open, then the whole file, at most `max_bytes` (kResourceExhausted past it).
  Result<std::vector<uint8_t>> Read(const std::string& path, std::string_view what,
                                    uint64_t max_bytes) const;

  const std::string& rule() const { return rule_; }
  size_t size() const { return directories_.size(); }

 private:
  struct Directory {
    handlers::UniqueFd fd;
    std::filesystem::path path;  // resolved
  };
  Status Refusal(const std::string& path, std::string_view what) const;

  std::vector<Directory> directories_;
  std::string rule_;
};

}  // namespace theater::runtime
