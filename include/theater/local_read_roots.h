// Theater: a WebAssembly actor runtime.
//
// LocalReadRoots: the directories under which a spawn may have the host read local files on its
// requester's behalf (docs/security.md, "What a spawn may read"). A plain value: the management
// server gives one for a client beyond loopback (its manifest roots), and the runtime keeps it
// with the actor, passes it to every descendant and records it for recovery, so that a
// restart, a recovery or a child's spawn is bound as the first spawn was.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace theater {

struct LocalReadRoots {
  // Files under these directories may be read (their symbolic links resolved once, when a spawn
  // opens them; a file is then reached beneath one of them, never through a link that leaves
  // it). Empty: no file at all.
  std::vector<std::filesystem::path> directories;
  // Why the rest is refused, as a refusal ends ("a client beyond loopback may have the server
  // read only files under its manifest roots (--manifest-root)").
  std::string rule;

  friend bool operator==(const LocalReadRoots&, const LocalReadRoots&) = default;
};

}  // namespace theater
