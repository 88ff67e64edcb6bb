// Theater: a WebAssembly actor runtime.
#include "runtime/local_read_scope.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/bytes.h"
#include "common/utf8.h"

namespace theater::runtime {

namespace fs = std::filesystem;

bool PathIsUnder(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (const fs::path& r : root) {
    // A trailing separator: `path` need not have one. The path's iterator moves only with a
    // component compared, so it never steps past its end (undefined behaviour: a root with a
    // trailing separator and a path without one stepped there; fuzz/reference_fuzz.cc).
    if (r.empty()) continue;
    if (p == path.end() || *p != r) return false;
    ++p;
  }
  return true;
}

LocalReadScope::LocalReadScope(std::string rule) : rule_(std::move(rule)) {}

LocalReadScope LocalReadScope::FromRoots(const LocalReadRoots& roots) {
  LocalReadScope scope(roots.rule);
  for (const fs::path& directory : roots.directories) scope.AddDirectory(directory);
  return scope;
}

void LocalReadScope::AddDirectory(const fs::path& directory) {
  std::error_code ec;
  fs::path resolved = fs::canonical(directory, ec);
  if (ec) return;
  Result<handlers::UniqueFd> fd = handlers::OpenRoot(resolved.string());
  if (!fd.ok()) return;
  directories_.push_back({std::move(fd).value(), std::move(resolved)});
}

void LocalReadScope::AddDescriptor(int directory_fd) {
  handlers::UniqueFd own(::fcntl(directory_fd, F_DUPFD_CLOEXEC, 0));
  if (!own.valid()) return;
  Result<std::string> path = handlers::DescriptorPath(own.get(), "a granted directory");
  if (!path.ok() || path->empty() || path->front() != '/') return;
  directories_.push_back({std::move(own), fs::path(*path)});
}

Status LocalReadScope::Refusal(const std::string& path, std::string_view what) const {
  return PermissionDenied("the " + std::string(what) + " " + QuoteInput(path) +
                          " is outside what this spawn may read: " + rule_);
}

Result<LocalReadScope::OpenedFile> LocalReadScope::Open(const std::string& path,
                                                        std::string_view what) const {
  if (path.empty() || path.find('\0') != std::string::npos || directories_.empty()) {
    return Refusal(path, what);
  }
  // Resolved once to find the directory it lies under; the open below is the kernel's check.
  std::error_code ec;
  const fs::path absolute = fs::absolute(fs::path(path), ec);
  if (ec) return Refusal(path, what);
  const fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) return Refusal(path, what);
  for (const Directory& directory : directories_) {
    if (!PathIsUnder(resolved, directory.path)) continue;
    const std::string relative = resolved.lexically_relative(directory.path).string();
    const int fd =
        handlers::OpenBeneathRaw(directory.fd.get(), relative, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd == -ENOENT || fd == -ENOTDIR) {
      return NotFound(std::string(what) + " not found: " + QuoteInput(path));
    }
    if (fd == -EXDEV || fd == -ELOOP) return Refusal(path, what);
    if (fd < 0) return ErrnoError("opening " + std::string(what) + " " + QuoteInput(path), -fd);
    OpenedFile opened;
    opened.fd = handlers::UniqueFd(fd);
    opened.path = resolved.string();
    if (::fstat(fd, &opened.info) != 0) {
      return ErrnoError("reading " + std::string(what) + " " + QuoteInput(path), errno);
    }
    if (S_ISDIR(opened.info.st_mode)) {
      return InvalidArgument(std::string(what) + " is a directory: " + QuoteInput(path));
    }
    if (!S_ISREG(opened.info.st_mode)) {
      return InvalidArgument(std::string(what) + " is not a regular file: " + QuoteInput(path));
    }
    return opened;
  }
  return Refusal(path, what);
}

Result<std::vector<uint8_t>> LocalReadScope::Read(const std::string& path, std::string_view what,
                                                  uint64_t max_bytes) const {
  THEATER_ASSIGN_OR_RETURN(OpenedFile opened, Open(path, what));
  return ReadOpenFile(opened.fd.get(), what, QuoteInput(path), max_bytes);
}

}  // namespace theater::runtime
