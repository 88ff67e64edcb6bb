// Theater: a WebAssembly actor runtime.
//
// wasi:filesystem for components: the directories the manifest grants (WasiPreview2::Grant),
// reached through descriptors that the kernel confines beneath them.
//
// Every path a guest gives is checked by handlers::ParseGuestPath (relative, no "..", no NUL) and
// then resolved with openat2(RESOLVE_BENEATH) from the descriptor it is relative to, so neither
// a ".." nor a symbolic link (absolute, or climbing out) can reach outside a granted directory:
// the kernel refuses at lookup time, with no window between a check and the use. Operations on a
// name (create-directory-at, unlink-file-at, remove-directory-at, rename-at) open its parent that
// way and use the *at() call on the final component, which is never "..". stat-at opens the path
// itself (O_PATH) rather than calling fstatat, so a link is followed only beneath the root.
//
// What a grant permits is checked before the kernel is asked: reading (read, read-via-stream,
// read-directory, stat-at), writing (write, streams, set-size, create, truncate, unlink,
// rename, remove-directory-at) and creating directories. A refusal is error-code `access`; a
// path that would leave the grant is `not-permitted`; other failures carry the errno's code.
// Links (link-at, symlink-at, readlink-at) and timestamps (set-times, set-times-at) are
// `unsupported`.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "common/utf8.h"
#include "handlers/wasi-preview2/wasi_internal.h"
#include "handlers/wasi-preview2/wasi_preview2.h"

namespace theater::handlers {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;
using handlers::GuestPath;
using handlers::UniqueFd;
using Values = std::vector<Value>;
using wasi_internal::kMaxTransfer;
using wasi_internal::ResultType;

// Open descriptors and directory streams one actor may hold at once.
constexpr size_t kMaxOpenObjects = 4096;
// Entries one read-directory lists at most.
constexpr size_t kMaxDirectoryEntries = 100'000;

std::optional<uint32_t> LabelIndex(const Type& type, std::string_view label) {
  for (uint32_t i = 0; i < type.labels.size(); ++i) {
    if (type.labels[i] == label) return i;
  }
  return std::nullopt;
}

// The field of a record type named `name`.
const Type* FieldType(const Type& record, std::string_view name) {
  for (const abi::Field& field : record.fields) {
    if (field.name == name) return field.type.get();
  }
  return nullptr;
}

bool FlagSet(const Value& value, const Type& type, std::string_view label) {
  const std::optional<uint32_t> index = LabelIndex(type, label);
  return index && *index < value.flags().size() && value.flags()[*index];
}

// The error-code label for an errno. EXDEV is what openat2 answers for a path that would leave
// the directory it is resolved beneath.
std::string_view ErrorLabel(int err) {
  switch (err) {
    case EACCES:
      return "access";
    case EAGAIN:
      return "would-block";
    case EALREADY:
      return "already";
    case EBADF:
      return "bad-descriptor";
    case EBUSY:
      return "busy";
    case EDQUOT:
      return "quota";
    case EEXIST:
      return "exist";
    case EFBIG:
      return "file-too-large";
    case EILSEQ:
      return "illegal-byte-sequence";
    case EINTR:
      return "interrupted";
    case EINVAL:
      return "invalid";
    case EISDIR:
      return "is-directory";
    case ELOOP:
      return "loop";
    case EMLINK:
      return "too-many-links";
    case ENAMETOOLONG:
      return "name-too-long";
    case ENOENT:
      return "no-entry";
    case ENOMEM:
      return "insufficient-memory";
    case EMFILE:
    case ENFILE:
      return "insufficient-memory";
    case ENOSPC:
      return "insufficient-space";
    case ENOTDIR:
      return "not-directory";
    case ENOTEMPTY:
      return "not-empty";
    case EOPNOTSUPP:
      return "unsupported";
    case EPERM:
    case EXDEV:
      return "not-permitted";
    case EROFS:
      return "read-only";
    case ESPIPE:
      return "invalid-seek";
    case ETXTBSY:
      return "text-file-busy";
    case EOVERFLOW:
      return "overflow";
    default:
      return "io";
  }
}

// err(<label>) of a result<_, error-code>.
Result<Values> Fail(const ComponentImport& import, std::string_view label) {
  THEATER_ASSIGN_OR_RETURN(const Type* result, ResultType(import));
  if (result->kind != TypeKind::kResult || !result->err || result->err->kind != TypeKind::kEnum) {
    return InvalidArgument(import.function + ": expected a result whose error is an error-code");
  }
  const std::optional<uint32_t> index = LabelIndex(*result->err, label);
  if (!index) return InvalidArgument("error-code has no case '" + std::string(label) + "'");
  return Values{Value::Err(Value::Enum(*index))};
}

Result<Values> FailErrno(const ComponentImport& import, int err) {
  return Fail(import, ErrorLabel(err));
}

// The ok type of the function's result<T, error-code>.
Result<const Type*> OkType(const ComponentImport& import) {
  THEATER_ASSIGN_OR_RETURN(const Type* result, ResultType(import));
  if (result->kind != TypeKind::kResult || !result->ok) {
    return InvalidArgument(import.function + ": expected a result with an ok type");
  }
  return result->ok.get();
}

// A descriptor-type value of `type` for a file mode.
Result<Value> DescriptorType(const Type& type, mode_t mode) {
  std::string_view label = "unknown";
  if (S_ISREG(mode))
    label = "regular-file";
  else if (S_ISDIR(mode))
    label = "directory";
  else if (S_ISLNK(mode))
    label = "symbolic-link";
  else if (S_ISCHR(mode))
    label = "character-device";
  else if (S_ISBLK(mode))
    label = "block-device";
  else if (S_ISFIFO(mode))
    label = "fifo";
  else if (S_ISSOCK(mode))
    label = "socket";
  const std::optional<uint32_t> index = LabelIndex(type, label);
  if (!index || type.kind != TypeKind::kEnum) {
    return InvalidArgument("descriptor-type has no case '" + std::string(label) + "'");
  }
  return Value::Enum(*index);
}

Value Datetime(const timespec& t) {
  return Value::Record(
      {Value::U64(static_cast<uint64_t>(t.tv_sec)), Value::U32(static_cast<uint32_t>(t.tv_nsec))});
}

// A descriptor-stat record of `type` (fields matched by name).
Result<Value> StatValue(const Type& type, const struct stat& st) {
  Values fields;
  for (const abi::Field& field : type.fields) {
    if (field.name == "type") {
      THEATER_ASSIGN_OR_RETURN(Value kind, DescriptorType(*field.type, st.st_mode));
      fields.push_back(std::move(kind));
    } else if (field.name == "link-count") {
      fields.push_back(Value::U64(st.st_nlink));
    } else if (field.name == "size") {
      fields.push_back(Value::U64(static_cast<uint64_t>(st.st_size)));
    } else if (field.name == "data-access-timestamp") {
      fields.push_back(Value::Some(Datetime(st.st_atim)));
    } else if (field.name == "data-modification-timestamp") {
      fields.push_back(Value::Some(Datetime(st.st_mtim)));
    } else if (field.name == "status-change-timestamp") {
      fields.push_back(Value::Some(Datetime(st.st_ctim)));
    } else {
      return InvalidArgument("descriptor-stat has an unknown field '" + field.name + "'");
    }
  }
  return Value::Record(std::move(fields));
}

Value MetadataHash(const struct stat& st) {
  return Value::Record({Value::U64(st.st_ino), Value::U64(st.st_dev)});
}

// Writes all of `bytes` at `offset`; 0 or an errno.
int WriteAllAt(int fd, std::span<const uint8_t> bytes, uint64_t offset) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

// A guest path, or EPERM for one that is absolute, climbs with "..", or holds a NUL.
int ParsePath(const Value& value, GuestPath* out) {
  Result<GuestPath> parsed = handlers::ParseGuestPath(value.as_string());
  if (!parsed.ok()) return EPERM;
  *out = std::move(parsed).value();
  return 0;
}

// The parent of `path` beneath `dir` (O_PATH) and its final name; 0 or an errno.
int OpenParent(int dir, const Value& path, UniqueFd* parent, std::string* name) {
  GuestPath guest;
  if (int err = ParsePath(path, &guest)) return err;
  if (guest.parts.empty()) return EINVAL;  // the directory itself has no name in a parent
  *name = guest.parts.back();
  guest.parts.pop_back();
  const int fd = handlers::OpenBeneathRaw(dir, guest.Joined(), O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return -fd;
  *parent = UniqueFd(fd);
  return 0;
}

// stat of `path` beneath `dir`, following a final symbolic link only when `follow`.
int StatBeneath(int dir, const Value& path, bool follow, struct stat* st) {
  GuestPath guest;
  if (int err = ParsePath(path, &guest)) return err;
  const int fd =
      handlers::OpenBeneathRaw(dir, guest.Joined(), O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return -fd;
  UniqueFd owned(fd);
  return ::fstat(fd, st) == 0 ? 0 : errno;
}

}  // namespace

int WasiPreview2::DescriptorFd(const Object& descriptor) {
  // A preopen has no file of its own: it is its grant's directory.
  return descriptor.file ? descriptor.file->get() : descriptor.grant->fd.get();
}

Status WasiPreview2::Grant(const WasiPreopen& preopen) {
  auto grant = std::make_shared<GrantedDirectory>();
  grant->fd = UniqueFd(::fcntl(preopen.directory_fd, F_DUPFD_CLOEXEC, 0));
  if (!grant->fd.valid()) {
    return ErrnoError("granting '" + preopen.guest_path + "' to WASI", errno);
  }
  grant->guest_path = preopen.guest_path;
  grant->read = preopen.read;
  grant->write = preopen.write;
  grant->create_dir = preopen.create_dir;
  grants_.push_back(std::move(grant));
  return Status::Ok();
}

Result<Values> WasiPreview2::StreamFailed(const ComponentImport& import) {
  // last-operation-failed(error): the guest may ask the error for its text.
  THEATER_ASSIGN_OR_RETURN(const Type* result, ResultType(import));
  for (uint32_t i = 0; result->err && i < result->err->cases.size(); ++i) {
    if (result->err->cases[i].name == "last-operation-failed") {
      return Values{Value::Err(Value::Variant(i, Value::Own(New(Kind::kError))))};
    }
  }
  return InvalidArgument("expected a stream-error with a last-operation-failed case");
}

Result<Values> WasiPreview2::ReadFileStream(const ComponentImport& import, Object& stream,
                                            uint64_t len, bool skip) {
  len = std::min<uint64_t>(len, kMaxTransfer);
  std::vector<uint8_t> bytes(len);
  ssize_t n;
  do {
    n = ::pread(stream.file->get(), bytes.data(), len, static_cast<off_t>(stream.offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0 || (n == 0 && len > 0)) {
    if (n == 0) {
      THEATER_ASSIGN_OR_RETURN(Value closed, wasi_internal::StreamClosed(import));
      return Values{std::move(closed)};
    }
    return StreamFailed(import);
  }
  stream.offset += static_cast<uint64_t>(n);
  if (skip) return Values{Value::Ok(Value::U64(static_cast<uint64_t>(n)))};
  bytes.resize(static_cast<size_t>(n));
  return Values{Value::Ok(Value::Bytes(std::move(bytes)))};
}

Result<Values> WasiPreview2::WriteFileStream(const ComponentImport& import, Object& stream,
                                             std::span<const uint8_t> bytes) {
  const int fd = stream.file->get();
  if (stream.append) {
    struct stat st;
    if (::fstat(fd, &st) == 0) stream.offset = static_cast<uint64_t>(st.st_size);
  }
  if (WriteAllAt(fd, bytes, stream.offset) != 0) return StreamFailed(import);
  stream.offset += bytes.size();
  return Values{Value::Ok()};
}

Result<WasiPreview2::Impl> WasiPreview2::FindFilesystem(std::string_view interface_name,
                                                        std::string_view function) {
  const std::string name = std::string(interface_name) + "#" + std::string(function);
  if (interface_name == "wasi:filesystem/preopens" && function == "get-directories") {
    return Impl([this](const ComponentImport&, Values&) -> Result<Values> {
      Values list;
      for (const auto& grant : grants_) {
        const uint32_t rep = New(Kind::kDescriptor);
        Object& dir = objects_[rep];
        dir.grant = grant;
        dir.directory = true;
        dir.readable = grant->read;
        dir.writable = grant->write;
        list.push_back(Value::Tuple({Value::Own(rep), Value::String(grant->guest_path)}));
      }
      return Values{Value::List(std::move(list))};
    });
  }
  if (interface_name != "wasi:filesystem/types") {
    return NotFound(name + " is not provided to actors");
  }
  if (function == "filesystem-error-code") {
    // Stream errors here never come from a filesystem call the guest could inspect further.
    return Impl(
        [](const ComponentImport&, Values&) -> Result<Values> { return Values{Value::None()}; });
  }
  if (function == "[method]directory-entry-stream.read-directory-entry") {
    return Impl([this](const ComponentImport& import, Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * stream, Get(params[0], Kind::kDirectoryStream));
      if (stream->next_entry >= stream->entries.size()) return Values{Value::Ok(Value::None())};
      THEATER_ASSIGN_OR_RETURN(const Type* ok, OkType(import));
      const Type* entry_type = ok->kind == TypeKind::kOption ? ok->element.get() : nullptr;
      const Type* kind_type = entry_type ? FieldType(*entry_type, "type") : nullptr;
      if (!kind_type) return InvalidArgument(import.function + ": unexpected result type");
      DirectoryEntry& entry = stream->entries[stream->next_entry++];
      THEATER_ASSIGN_OR_RETURN(Value kind, DescriptorType(*kind_type, entry.mode));
      return Values{Value::Ok(
          Value::Some(Value::Record({std::move(kind), Value::String(std::move(entry.name))})))};
    });
  }

  const std::string_view prefix = "[method]descriptor.";
  if (!function.starts_with(prefix)) return NotFound(name + " is not provided to actors");
  const std::string_view method = function.substr(prefix.size());
  // Each method below runs on the descriptor its first parameter names; `fd` is its open file.
  using Method = std::function<Result<Values>(const ComponentImport&, Values&, Object&, int fd)>;
  auto on_descriptor = [this](Method method) -> Impl {
    return [this, method = std::move(method)](const ComponentImport& import,
                                              Values& params) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * self, Get(params[0], Kind::kDescriptor));
      const int fd = DescriptorFd(*self);
      return method(import, params, *self, fd);
    };
  };

  if (method == "open-at") {
    return on_descriptor([this](const ComponentImport& import, Values& params, Object& dir,
                                int dir_fd) -> Result<Values> {
      if (!dir.directory) return Fail(import, "not-directory");
      const std::vector<abi::Field>& types = import.type.params;
      const bool follow = FlagSet(params[1], *types[1].type, "symlink-follow");
      const bool create = FlagSet(params[3], *types[3].type, "create");
      const bool directory = FlagSet(params[3], *types[3].type, "directory");
      const bool exclusive = FlagSet(params[3], *types[3].type, "exclusive");
      const bool truncate = FlagSet(params[3], *types[3].type, "truncate");
      const bool read = FlagSet(params[4], *types[4].type, "read");
      const bool write = FlagSet(params[4], *types[4].type, "write");
      if ((read && !dir.grant->read) || ((write || create || truncate) && !dir.grant->write)) {
        return Fail(import, "access");
      }
      if (objects_.size() >= kMaxOpenObjects) return Fail(import, "insufficient-memory");
      GuestPath guest;
      if (int err = ParsePath(params[2], &guest)) return FailErrno(import, err);
      int flags = (directory ? O_DIRECTORY : 0) | (create ? O_CREAT : 0) |
                  (exclusive ? O_EXCL : 0) | (truncate ? O_TRUNC : 0) | (follow ? 0 : O_NOFOLLOW);
      if (read && write)
        flags |= O_RDWR;
      else if (write)
        flags |= O_WRONLY;
      else if (read || create || truncate)
        flags |= O_RDONLY;
      else
        flags = O_PATH | (flags & (O_DIRECTORY | O_NOFOLLOW));  // for stat and as a directory
      const int fd = handlers::OpenBeneathRaw(dir_fd, guest.Joined(), flags, 0644);
      if (fd < 0) return FailErrno(import, -fd);
      auto file = std::make_shared<UniqueFd>(fd);
      struct stat st;
      if (::fstat(fd, &st) != 0) return FailErrno(import, errno);
      const uint32_t rep = New(Kind::kDescriptor);
      Object& opened = objects_[rep];
      opened.file = std::move(file);
      opened.grant = dir.grant;
      opened.directory = S_ISDIR(st.st_mode);
      opened.readable = read || opened.directory;
      opened.writable = write;
      return Values{Value::Ok(Value::Own(rep))};
    });
  }
  if (method == "read-via-stream" || method == "write-via-stream" ||
      method == "append-via-stream") {
    const bool input = method == "read-via-stream";
    const bool append = method == "append-via-stream";
    return on_descriptor([this, input, append](const ComponentImport& import, Values& params,
                                               Object& self, int) -> Result<Values> {
      if (self.directory || !self.file) return Fail(import, "is-directory");
      if (input ? !(self.readable && self.grant->read) : !(self.writable && self.grant->write)) {
        return Fail(import, "bad-descriptor");
      }
      const uint32_t rep = New(input ? Kind::kInputStream : Kind::kOutputStream);
      Object& stream = objects_[rep];
      stream.file = self.file;
      stream.grant = self.grant;
      stream.offset = append ? 0 : params[1].as_u64();
      stream.append = append;
      return Values{Value::Ok(Value::Own(rep))};
    });
  }
  if (method == "read") {
    return on_descriptor([](const ComponentImport& import, Values& params, Object& self,
                            int fd) -> Result<Values> {
      if (self.directory) return Fail(import, "is-directory");
      if (!self.readable || !self.grant->read) return Fail(import, "bad-descriptor");
      const uint64_t len = std::min<uint64_t>(params[1].as_u64(), kMaxTransfer);
      std::vector<uint8_t> bytes(len);
      ssize_t n;
      do {
        n = ::pread(fd, bytes.data(), len, static_cast<off_t>(params[2].as_u64()));
      } while (n < 0 && errno == EINTR);
      if (n < 0) return FailErrno(import, errno);
      bytes.resize(static_cast<size_t>(n));
      const bool end = static_cast<uint64_t>(n) < len || len == 0;
      return Values{Value::Ok(Value::Tuple({Value::Bytes(std::move(bytes)), Value::Bool(end)}))};
    });
  }
  if (method == "write") {
    return on_descriptor(
        [](const ComponentImport& import, Values& params, Object& self, int fd) -> Result<Values> {
          if (self.directory) return Fail(import, "is-directory");
          if (!self.writable || !self.grant->write) return Fail(import, "bad-descriptor");
          const std::vector<uint8_t>& bytes = params[1].as_bytes();
          if (bytes.size() > kMaxTransfer) return Fail(import, "file-too-large");
          if (int err = WriteAllAt(fd, bytes, params[2].as_u64())) return FailErrno(import, err);
          return Values{Value::Ok(Value::U64(bytes.size()))};
        });
  }
  if (method == "get-type" || method == "stat") {
    const bool whole = method == "stat";
    return on_descriptor(
        [whole](const ComponentImport& import, Values&, Object&, int fd) -> Result<Values> {
          struct stat st;
          if (::fstat(fd, &st) != 0) return FailErrno(import, errno);
          THEATER_ASSIGN_OR_RETURN(const Type* ok, OkType(import));
          Result<Value> value = whole ? StatValue(*ok, st) : DescriptorType(*ok, st.st_mode);
          THEATER_RETURN_IF_ERROR(value.status());
          return Values{Value::Ok(std::move(value).value())};
        });
  }
  if (method == "stat-at" || method == "metadata-hash-at") {
    const bool whole = method == "stat-at";
    return on_descriptor([whole](const ComponentImport& import, Values& params, Object& self,
                                 int fd) -> Result<Values> {
      if (!self.grant->read) return Fail(import, "access");
      const bool follow = FlagSet(params[1], *import.type.params[1].type, "symlink-follow");
      struct stat st;
      if (int err = StatBeneath(fd, params[2], follow, &st)) return FailErrno(import, err);
      if (!whole) return Values{Value::Ok(MetadataHash(st))};
      THEATER_ASSIGN_OR_RETURN(const Type* ok, OkType(import));
      THEATER_ASSIGN_OR_RETURN(Value stat, StatValue(*ok, st));
      return Values{Value::Ok(std::move(stat))};
    });
  }
  if (method == "metadata-hash") {
    return on_descriptor(
        [](const ComponentImport& import, Values&, Object&, int fd) -> Result<Values> {
          struct stat st;
          if (::fstat(fd, &st) != 0) return FailErrno(import, errno);
          return Values{Value::Ok(MetadataHash(st))};
        });
  }
  if (method == "is-same-object") {
    return on_descriptor(
        [this](const ComponentImport&, Values& params, Object&, int fd) -> Result<Values> {
          THEATER_ASSIGN_OR_RETURN(Object * other, Get(params[1], Kind::kDescriptor));
          const int other_fd = DescriptorFd(*other);
          struct stat a, b;
          const bool same = ::fstat(fd, &a) == 0 && ::fstat(other_fd, &b) == 0 &&
                            a.st_dev == b.st_dev && a.st_ino == b.st_ino;
          return Values{Value::Bool(same)};
        });
  }
  if (method == "get-flags") {
    return on_descriptor(
        [](const ComponentImport& import, Values&, Object& self, int) -> Result<Values> {
          THEATER_ASSIGN_OR_RETURN(const Type* ok, OkType(import));
          std::vector<bool> set(ok->labels.size(), false);
          auto mark = [&](std::string_view label, bool on) {
            if (auto index = LabelIndex(*ok, label)) set[*index] = on;
          };
          mark("read", self.readable && self.grant->read);
          mark("write", self.writable && self.grant->write);
          mark("mutate-directory", self.directory && self.grant->write);
          return Values{Value::Ok(Value::Flags(std::move(set)))};
        });
  }
  if (method == "set-size") {
    return on_descriptor(
        [](const ComponentImport& import, Values& params, Object& self, int fd) -> Result<Values> {
          if (self.directory) return Fail(import, "is-directory");
          if (!self.writable || !self.grant->write) return Fail(import, "bad-descriptor");
          if (::ftruncate(fd, static_cast<off_t>(params[1].as_u64())) != 0) {
            return FailErrno(import, errno);
          }
          return Values{Value::Ok()};
        });
  }
  if (method == "sync" || method == "sync-data" || method == "advise") {
    const bool data_only = method == "sync-data";
    const bool sync = method != "advise";
    return on_descriptor([data_only, sync](const ComponentImport& import, Values&, Object& self,
                                           int fd) -> Result<Values> {
      // Only a file written through this descriptor has anything to sync.
      if (sync && self.writable && !self.directory &&
          (data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) {
        return FailErrno(import, errno);
      }
      return Values{Value::Ok()};
    });
  }
  if (method == "read-directory") {
    return on_descriptor([this](const ComponentImport& import, Values&, Object& self,
                                int fd) -> Result<Values> {
      if (!self.directory) return Fail(import, "not-directory");
      if (!self.grant->read) return Fail(import, "access");
      if (objects_.size() >= kMaxOpenObjects) return Fail(import, "insufficient-memory");
      const int listing = handlers::OpenBeneathRaw(fd, ".", O_RDONLY | O_DIRECTORY, 0);
      if (listing < 0) return FailErrno(import, -listing);
      DIR* dir = ::fdopendir(listing);
      if (dir == nullptr) {
        const int err = errno;
        ::close(listing);
        return FailErrno(import, err);
      }
      std::vector<DirectoryEntry> entries;
      bool too_many = false;
      while (dirent* entry = ::readdir(dir)) {
        const std::string_view entry_name = entry->d_name;
        if (entry_name == "." || entry_name == "..") continue;
        // A name that is not UTF-8 cannot be a WIT string: it is left out.
        if (theater::FindInvalidUtf8(entry_name)) continue;
        if (entries.size() >= kMaxDirectoryEntries) {
          too_many = true;
          break;
        }
        // The type the directory itself reports; a stat only for filesystems that report none.
        mode_t mode = DTTOIF(entry->d_type);
        struct stat st;
        if (entry->d_type == DT_UNKNOWN) {
          mode = ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode
                                                                                       : 0;
        }
        entries.push_back({std::string(entry_name), mode});
      }
      ::closedir(dir);
      if (too_many) return Fail(import, "insufficient-memory");
      // Sorted, so that a replay sees the same order.
      std::sort(entries.begin(), entries.end(),
                [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });
      const uint32_t rep = New(Kind::kDirectoryStream);
      objects_[rep].entries = std::move(entries);
      return Values{Value::Ok(Value::Own(rep))};
    });
  }
  if (method == "create-directory-at" || method == "unlink-file-at" ||
      method == "remove-directory-at") {
    const std::string op(method);
    return on_descriptor([op](const ComponentImport& import, Values& params, Object& self,
                              int fd) -> Result<Values> {
      const bool allowed = op == "create-directory-at" ? self.grant->create_dir : self.grant->write;
      if (!allowed) return Fail(import, "access");
      UniqueFd parent;
      std::string leaf;
      if (int err = OpenParent(fd, params[1], &parent, &leaf)) return FailErrno(import, err);
      int rc;
      if (op == "create-directory-at")
        rc = ::mkdirat(parent.get(), leaf.c_str(), 0755);
      else
        rc = ::unlinkat(parent.get(), leaf.c_str(), op == "unlink-file-at" ? 0 : AT_REMOVEDIR);
      if (rc != 0) return FailErrno(import, errno);
      return Values{Value::Ok()};
    });
  }
  if (method == "rename-at") {
    return on_descriptor([this](const ComponentImport& import, Values& params, Object& self,
                                int fd) -> Result<Values> {
      THEATER_ASSIGN_OR_RETURN(Object * target, Get(params[2], Kind::kDescriptor));
      if (!self.grant->write || !target->grant->write) return Fail(import, "access");
      const int target_fd = DescriptorFd(*target);
      UniqueFd from_parent, to_parent;
      std::string from, to;
      if (int err = OpenParent(fd, params[1], &from_parent, &from)) return FailErrno(import, err);
      if (int err = OpenParent(target_fd, params[3], &to_parent, &to)) {
        return FailErrno(import, err);
      }
      if (::renameat(from_parent.get(), from.c_str(), to_parent.get(), to.c_str()) != 0) {
        return FailErrno(import, errno);
      }
      return Values{Value::Ok()};
    });
  }
  // link-at, symlink-at, readlink-at, set-times, set-times-at.
  return Impl([](const ComponentImport& import, Values&) -> Result<Values> {
    return Fail(import, "unsupported");
  });
}

}  // namespace theater::handlers
