// Theater: a WebAssembly actor runtime.
#include "common/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace theater::landlock {
namespace {

// The kernel's UAPI (include/uapi/linux/landlock.h), spelled out: Debian 12's headers know only
// ABI v1-v2, and these values are fixed by the kernel's ABI.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI >= 4
  uint64_t scoped;              // ABI >= 6
};
struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;

constexpr uint64_t kFsExecute = 1ull << 0;
constexpr uint64_t kFsWriteFile = 1ull << 1;
constexpr uint64_t kFsReadFile = 1ull << 2;
constexpr uint64_t kFsReadDir = 1ull << 3;
constexpr uint64_t kFsRemoveDir = 1ull << 4;
constexpr uint64_t kFsRemoveFile = 1ull << 5;
constexpr uint64_t kFsMakeChar = 1ull << 6;
constexpr uint64_t kFsMakeDir = 1ull << 7;
constexpr uint64_t kFsMakeReg = 1ull << 8;
constexpr uint64_t kFsMakeSock = 1ull << 9;
constexpr uint64_t kFsMakeFifo = 1ull << 10;
constexpr uint64_t kFsMakeBlock = 1ull << 11;
constexpr uint64_t kFsMakeSym = 1ull << 12;
constexpr uint64_t kFsRefer = 1ull << 13;     // ABI 2
constexpr uint64_t kFsTruncate = 1ull << 14;  // ABI 3
constexpr uint64_t kFsIoctlDev = 1ull << 15;  // ABI 5
constexpr uint64_t kNetBindTcp = 1ull << 0;   // ABI 4
constexpr uint64_t kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnixSocket = 1ull << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ull << 1;

// The rights that may be granted on a file (not a directory).
constexpr uint64_t kFileRights =
    kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;

uint64_t HandledFs(int abi) {
  uint64_t fs = kFsExecute | kFsWriteFile | kFsReadFile | kFsReadDir | kFsRemoveDir |
                kFsRemoveFile | kFsMakeChar | kFsMakeDir | kFsMakeReg | kFsMakeSock | kFsMakeFifo |
                kFsMakeBlock | kFsMakeSym;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  return fs;
}

uint64_t Rights(unsigned access, int abi) {
  uint64_t r = 0;
  if (access & kRead) r |= kFsReadFile | kFsReadDir;
  if (access & kWrite) {
    r |= kFsWriteFile | kFsRemoveDir | kFsRemoveFile | kFsMakeReg | kFsMakeSock | kFsMakeFifo |
         kFsMakeSym;
    if (abi >= 2) r |= kFsRefer;
    if (abi >= 3) r |= kFsTruncate;
  }
  if (access & kMakeDir) r |= kFsMakeDir;
  if (access & kExecute) r |= kFsExecute;
  return r;
}

// Read-only and executable: where programs, their libraries and their data live.
constexpr const char* kSystemDirs[] = {"/usr",   "/bin",   "/sbin",   "/lib",
                                       "/lib32", "/lib64", "/libx32", "/nix/store"};
// Read-only files the dynamic loader and the C library read at start-up.
constexpr const char* kSystemFiles[] = {"/etc/ld.so.cache", "/etc/localtime"};
// Devices that give nothing away: read-only, except /dev/null, which is also writable.
constexpr const char* kReadDevices[] = {"/dev/zero", "/dev/random", "/dev/urandom"};

}  // namespace

Result<int> Abi() {
  long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  if (v >= 1) return static_cast<int>(v);
  int err = v < 0 ? errno : ENOSYS;
  const char* why = err == EOPNOTSUPP ? "it is disabled (boot with lsm=...,landlock)"
                    : err == ENOSYS   ? "the kernel does not provide it (Linux >= 5.13 with "
                                        "CONFIG_SECURITY_LANDLOCK) or a seccomp filter hides it"
                                      : std::strerror(err);
  return FailedPrecondition(std::string("Landlock is not available: ") + why);
}

Result<Ruleset> Ruleset::Create(int abi, bool allow_network) {
  RulesetAttr attr{};
  attr.handled_access_fs = HandledFs(abi);
  size_t size = sizeof(attr.handled_access_fs);
  if (abi >= 4) {
    attr.handled_access_net = allow_network ? 0 : (kNetBindTcp | kNetConnectTcp);
    size = offsetof(RulesetAttr, scoped);
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    size = sizeof(attr);
  }
  long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) return ErrnoError("landlock_create_ruleset", errno);
  ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return Ruleset(handlers::UniqueFd(static_cast<int>(fd)), abi);
}

Status Ruleset::AllowFd(int fd, unsigned access, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("landlock: " + shown, errno);
  uint64_t rights = Rights(access, abi_) & HandledFs(abi_);
  if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
  if (rights == 0) return Status::Ok();
  PathBeneathAttr rule{};
  rule.allowed_access = rights;
  rule.parent_fd = fd;
  if (::syscall(SYS_landlock_add_rule, fd_.get(), kRulePathBeneath, &rule, 0) != 0) {
    return ErrnoError("landlock_add_rule for " + shown, errno);
  }
  return Status::Ok();
}

Status Ruleset::AllowPath(const std::string& path, unsigned access) {
  handlers::UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return ErrnoError("landlock: opening " + path, errno);
  }
  return AllowFd(fd.get(), access, path);
}

Status Ruleset::AllowSystemPaths() {
  for (const char* dir : kSystemDirs) THEATER_RETURN_IF_ERROR(AllowPath(dir, kRead | kExecute));
  for (const char* file : kSystemFiles) THEATER_RETURN_IF_ERROR(AllowPath(file, kRead));
  for (const char* dev : kReadDevices) THEATER_RETURN_IF_ERROR(AllowPath(dev, kRead));
  return AllowPath("/dev/null", kRead | kWrite);
}

}  // namespace theater::landlock
