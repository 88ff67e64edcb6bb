// Theater: a WebAssembly actor runtime.
#include "common/confined_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "common/utf8.h"

namespace theater::handlers {
namespace {

std::string Quoted(std::string_view shown) {
  return "'" + std::string(shown) + "'";
}

// A failed system call on `shown`, as a Status whose code tells the kind of failure.
Status PathError(std::string_view shown, int err) {
  const std::string path = "path " + Quoted(shown);
  switch (err) {
    case EXDEV:
      return PermissionDenied(path + " escapes the base directory (refused by the kernel)");
    case ELOOP:
      return InvalidArgument(path +
                             ": too many levels of symbolic links (a loop?), or a symbolic link "
                             "where a directory or file is needed");
    case ENOSYS:
      return Unavailable(
          "the kernel does not support openat2(2); the filesystem handler refuses "
          "to resolve " +
          path + " without it");
    case ENOENT:
      return NotFound(path + ": no such file or directory");
    case EEXIST:
      return AlreadyExists(path + ": already exists");
    case ENOTDIR:
      return InvalidArgument(path + ": a component is not a directory");
    case EISDIR:
      return InvalidArgument(path + ": is a directory");
    case ENOTEMPTY:
      return FailedPrecondition(path + ": directory not empty");
    case ENAMETOOLONG:
      return InvalidArgument(path + ": name too long");
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDenied(path + ": " + std::strerror(err) + " (operating system)");
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return ResourceExhausted(path + ": " + std::strerror(err));
    default:
      return IOError(path + ": " + std::strerror(err));
  }
}

int Openat2(int dirfd, const char* path, open_how* how) {
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(*how)));
}

}  // namespace

int OpenBeneathRaw(int root, const std::string& rel, int flags, mode_t mode) {
  open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* path = rel.empty() ? "." : rel.c_str();
  // With RESOLVE_BENEATH the kernel answers EAGAIN when a concurrent rename might have let ".."
  // escape; retrying is what it asks for.
  for (int attempt = 0;; ++attempt) {
    int fd = Openat2(root, path, &how);
    if (fd >= 0) return fd;
    if (errno == EINTR || (errno == EAGAIN && attempt < 16)) continue;
    return -errno;
  }
}

namespace {

std::string JoinParts(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

// The parent directory of `parts` (opened O_PATH beneath root) and the final name.
Result<UniqueFd> OpenParent(int root, const std::vector<std::string>& parts,
                            std::string_view shown) {
  return OpenBeneath(root, JoinParts(parts, parts.size() - 1), O_PATH | O_DIRECTORY, 0, shown);
}

Status RequireName(const std::vector<std::string>& parts, std::string_view what,
                   std::string_view shown) {
  if (parts.empty()) {
    return InvalidArgument(std::string(what) + " " + Quoted(shown) +
                           ": refers to the base directory itself");
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, std::string_view shown) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(shown, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Removes everything inside the directory `dir_fd` (which this function does not close).
Status RemoveContents(int dir_fd, int depth, std::string_view shown) {
  if (depth > kMaxRemoveDepth) {
    return ResourceExhausted("path " + Quoted(shown) + ": nested deeper than " +
                             std::to_string(kMaxRemoveDepth) + " directories");
  }
  int listing_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing_fd < 0) return PathError(shown, errno);
  DIR* dir = ::fdopendir(listing_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(listing_fd);
    return PathError(shown, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      names.emplace_back(entry->d_name);
    }
  }
  int read_err = errno;
  ::closedir(dir);
  if (read_err != 0) return PathError(shown, read_err);
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed concurrently
      return PathError(shown, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      // O_NOFOLLOW: if the entry was swapped for a symbolic link since fstatat, this fails
      // instead of descending into wherever the link points.
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return PathError(shown, errno);
      THEATER_RETURN_IF_ERROR(RemoveContents(sub.get(), depth + 1, shown));
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        return PathError(shown, errno);
      }
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return PathError(shown, errno);
    }
  }
  return Status::Ok();
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string GuestPath::Joined() const {
  return JoinParts(parts, parts.size());
}

Result<GuestPath> ParseGuestPath(std::string_view path) {
  GuestPath out;
  out.text = std::string(path);
  if (path.find('\0') != std::string_view::npos) {
    // The shown text stops at the NUL, which is where a C library would have stopped reading.
    return InvalidArgument("path '" + std::string(path.substr(0, path.find('\0'))) +
                           "\\0...' contains a NUL byte");
  }
  if (path.size() > kMaxGuestPathBytes) {
    return InvalidArgument("path '" + std::string(path.substr(0, 64)) + "...' is " +
                           std::to_string(path.size()) + " bytes long, more than the limit of " +
                           std::to_string(kMaxGuestPathBytes));
  }
  if (!path.empty() && path.front() == '/') {
    return InvalidArgument("path " + Quoted(path) +
                           " is absolute; paths are relative to the base directory");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      return InvalidArgument("path " + Quoted(path) + " contains a '..' component");
    }
    if (!part.empty() && part != ".") out.parts.emplace_back(part);
    start = slash + 1;
  }
  return out;
}

Result<UniqueFd> OpenRoot(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIOError,
                  "cannot open the base directory '" + dir + "': " + std::strerror(err));
  }
  // Probe openat2 once, so that a kernel without it fails the actor's start, not its first call.
  THEATER_ASSIGN_OR_RETURN(UniqueFd probe, OpenBeneath(fd.get(), ".", O_PATH, 0, dir));
  return fd;
}

Result<std::string> DescriptorPath(int fd, std::string_view shown) {
  char buf[PATH_MAX + 1];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(proc.c_str(), buf, PATH_MAX);
  if (n <= 0) return ErrnoError("resolving '" + std::string(shown) + "'", errno);
  return std::string(buf, static_cast<size_t>(n));
}

Result<UniqueFd> OpenBeneath(int root, const std::string& rel, int flags, mode_t mode,
                             std::string_view shown) {
  int fd = OpenBeneathRaw(root, rel, flags, mode);
  if (fd < 0) return PathError(shown, -fd);
  return UniqueFd(fd);
}

Result<std::vector<uint8_t>> ReadFileBeneath(int root, const std::vector<std::string>& parts,
                                             uint64_t max_bytes, std::string_view shown) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused as not regular.
  THEATER_ASSIGN_OR_RETURN(UniqueFd fd, OpenBeneath(root, JoinParts(parts, parts.size()),
                                                    O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, shown));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PathError(shown, errno);
  if (S_ISDIR(st.st_mode)) return InvalidArgument("path " + Quoted(shown) + ": is a directory");
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("path " + Quoted(shown) + ": not a regular file");
  }
  auto too_big = [&](uint64_t size) {
    return ResourceExhausted("file " + Quoted(shown) + " is " + std::to_string(size) +
                             " bytes, more than max_file_bytes = " + std::to_string(max_bytes));
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big(st.st_size);
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(shown, errno);
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max_bytes) return too_big(out.size());  // it grew while being read
  }
  return out;
}

Status WriteFileBeneath(int root, const std::vector<std::string>& parts, std::string_view content,
                        uint64_t max_bytes, std::string_view shown) {
  THEATER_RETURN_IF_ERROR(RequireName(parts, "write-file", shown));
  if (content.size() > max_bytes) {
    return ResourceExhausted("content for " + Quoted(shown) + " is " +
                             std::to_string(content.size()) +
                             " bytes, more than max_file_bytes = " + std::to_string(max_bytes));
  }
  // Not O_TRUNC at open: the file type is checked first, so nothing but a regular file is ever
  // truncated or written.
  THEATER_ASSIGN_OR_RETURN(UniqueFd fd,
                           OpenBeneath(root, JoinParts(parts, parts.size()),
                                       O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0644, shown));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PathError(shown, errno);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("path " + Quoted(shown) + ": not a regular file");
  }
  if (::ftruncate(fd.get(), 0) != 0) return PathError(shown, errno);
  THEATER_RETURN_IF_ERROR(WriteAll(fd.get(), content, shown));
  if (::close(fd.release()) != 0) return PathError(shown, errno);
  return Status::Ok();
}

Result<std::vector<std::string>> ListBeneath(int root, const std::vector<std::string>& parts,
                                             std::string_view shown) {
  THEATER_ASSIGN_OR_RETURN(UniqueFd fd, OpenBeneath(root, JoinParts(parts, parts.size()),
                                                    O_RDONLY | O_DIRECTORY, 0, shown));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return PathError(shown, errno);
  fd.release();  // the DIR owns it now
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (theater::FindInvalidUtf8(name).has_value()) continue;
    names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return PathError(shown, err);
  std::sort(names.begin(), names.end());
  return names;
}

Status DeleteFileBeneath(int root, const std::vector<std::string>& parts, std::string_view shown) {
  THEATER_RETURN_IF_ERROR(RequireName(parts, "delete-file", shown));
  THEATER_ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(root, parts, shown));
  // unlinkat on a symbolic link removes the link, never its target.
  if (::unlinkat(parent.get(), parts.back().c_str(), 0) != 0) {
    if (errno == EISDIR) {
      return InvalidArgument("path " + Quoted(shown) + ": is a directory (use delete-dir)");
    }
    return PathError(shown, errno);
  }
  return Status::Ok();
}

Status CreateDirBeneath(int root, const std::vector<std::string>& parts, std::string_view shown) {
  THEATER_RETURN_IF_ERROR(RequireName(parts, "create-dir", shown));
  THEATER_ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(root, parts, shown));
  if (::mkdirat(parent.get(), parts.back().c_str(), 0755) != 0) return PathError(shown, errno);
  return Status::Ok();
}

Status DeleteDirBeneath(int root, const std::vector<std::string>& parts, std::string_view shown) {
  THEATER_RETURN_IF_ERROR(RequireName(parts, "delete-dir", shown));
  THEATER_ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(root, parts, shown));
  return RemoveTreeAt(parent.get(), parts.back(), shown);
}

Status RemoveTreeAt(int parent_fd, const std::string& name, std::string_view shown) {
  struct stat st;
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(shown, errno);
  }
  if (S_ISLNK(st.st_mode)) {
    return InvalidArgument("path " + Quoted(shown) +
                           ": is a symbolic link, not a directory (delete-file removes the link)");
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument("path " + Quoted(shown) + ": not a directory (use delete-file)");
  }
  UniqueFd dir(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return PathError(shown, errno);
  THEATER_RETURN_IF_ERROR(RemoveContents(dir.get(), 1, shown));
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0) return PathError(shown, errno);
  return Status::Ok();
}

Result<bool> ExistsBeneath(int root, const std::vector<std::string>& parts,
                           std::string_view shown) {
  UniqueFd fd(OpenBeneathRaw(root, JoinParts(parts, parts.size()), O_PATH, 0));
  if (fd.valid()) return true;
  const int err = -fd.release();
  // Missing, or a component that is a file: the path does not exist. A refused escape or a
  // loop is still an error, so an actor cannot probe outside its tree.
  if (err == ENOENT || err == ENOTDIR) return false;
  return PathError(shown, err);
}

}  // namespace theater::handlers
