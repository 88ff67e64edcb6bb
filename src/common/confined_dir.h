// Theater: a WebAssembly actor runtime.
//
// File operations confined by the kernel to a directory tree, for the filesystem handler.
//
// Every path an actor gives is resolved relative to an open directory descriptor (the "root")
// with openat2(2) and RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: the kernel refuses any resolution
// that would leave the root — through "..", an absolute symbolic link, a relative one climbing
// out, or a /proc magic link — at the moment of the lookup, so a symbolic link swapped in by a
// concurrent process cannot win a check-then-use race. Operations on a name inside a directory
// (unlink, mkdir, rmdir) open the parent that way and then use the *at() call on the final
// component. Recursive deletion walks with descriptors and O_NOFOLLOW and never follows a link.
// When the kernel lacks openat2 (ENOSYS) every operation fails: there is no fallback to an
// unchecked path.
//
// Before the kernel sees it, a guest path is checked by ParseGuestPath (no NUL byte, not
// absolute, no ".." component, not too long) so that the permission check (allowed_paths,
// lexical) and the kernel's resolution agree on what the path names.
//
// Errors name the path as the actor wrote it and carry a status code the handler passes on:
// kNotFound, kAlreadyExists, kPermissionDenied (an escape, or the OS refused), kInvalidArgument
// (a malformed path, wrong file type), kResourceExhausted (a limit), kUnavailable (no openat2),
// kIOError (anything else).
//
// Thread-safety: the functions are reentrant; a UniqueFd is owned by one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::handlers {

// An owned file descriptor, closed when destroyed. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Longest guest path accepted (bytes), the kernel's PATH_MAX.
inline constexpr size_t kMaxGuestPathBytes = 4096;
// Deepest directory nesting delete-dir descends into (each level holds a descriptor).
inline constexpr int kMaxRemoveDepth = 128;

// A guest path split into its components ("." and empty components dropped; "" or "." is the
// root itself, with no components).
struct GuestPath {
  std::string text;                // as the actor wrote it, for messages
  std::vector<std::string> parts;  // never empty strings, ".", ".." or containing '/'
  std::string Joined() const;      // parts joined by '/', or "." for the root
};

// Checks and splits `path`. Errors (kInvalidArgument, naming the path): a NUL byte, an absolute
// path, a ".." component, more than kMaxGuestPathBytes.
Result<GuestPath> ParseGuestPath(std::string_view path);

// Opens `dir` (a host path) as a root: O_PATH | O_DIRECTORY | O_CLOEXEC. Also checks that the
// kernel supports openat2 (kUnavailable otherwise), so a handler fails at setup, not per call.
Result<UniqueFd> OpenRoot(const std::string& dir);

// openat2(root, rel, flags | O_CLOEXEC, mode) beneath `root`. `rel` is relative ("." for the
// root). `shown` is the path named in errors.
Result<UniqueFd> OpenBeneath(int root, const std::string& rel, int flags, mode_t mode,
                             std::string_view shown);

// The host path an open descriptor refers to, as the kernel resolved it (links followed), read
// from /proc/self/fd: what a check on it sees is what the descriptor reaches. `shown` is the path
// named in errors.
Result<std::string> DescriptorPath(int fd, std::string_view shown);

// The same, for callers that need the reason itself (the WASI host maps it to an error-code):
// a descriptor, or -errno (EXDEV for an escape, ENOSYS without openat2).
int OpenBeneathRaw(int root, const std::string& rel, int flags, mode_t mode);

// The operations, each relative to `root`. `parts` are a GuestPath's components relative to it.
Result<std::vector<uint8_t>> ReadFileBeneath(int root, const std::vector<std::string>& parts,
                                             uint64_t max_bytes, std::string_view shown);
Status WriteFileBeneath(int root, const std::vector<std::string>& parts, std::string_view content,
                        uint64_t max_bytes, std::string_view shown);
// Entry names, sorted bytewise (so a replay sees the same order); no "." or "..". Names that are
// not valid UTF-8 cannot be WIT strings and are left out.
Result<std::vector<std::string>> ListBeneath(int root, const std::vector<std::string>& parts,
                                             std::string_view shown);
Status DeleteFileBeneath(int root, const std::vector<std::string>& parts, std::string_view shown);
Status CreateDirBeneath(int root, const std::vector<std::string>& parts, std::string_view shown);
// Removes the directory and everything in it without following symbolic links.
Status DeleteDirBeneath(int root, const std::vector<std::string>& parts, std::string_view shown);
// false when the path (or a component of it) does not exist; an escape is an error.
Result<bool> ExistsBeneath(int root, const std::vector<std::string>& parts, std::string_view shown);

// Removes `name` (a directory) inside the directory `parent_fd`, recursively, never following a
// symbolic link. Also used to remove a handler's own fresh directory when the actor stops.
Status RemoveTreeAt(int parent_fd, const std::string& name, std::string_view shown);

}  // namespace theater::handlers
