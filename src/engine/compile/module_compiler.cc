// Theater: a WebAssembly actor runtime.
#include "engine/compile/module_compiler.h"

#include "common/bytes.h"
#include "common/file_lock.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "engine/compile/data_split.h"
#include "engine/compile/elf_check.h"
#include "engine/compile/embedded_headers.h"
#include "engine/compile/function_names.h"
#include "engine/compile/preempt_pass.h"
#include "engine/compile/progress_line.h"
#include "engine/compile/shim_generator.h"
#include "engine/compile/subprocess.h"
#include "engine/compile/unit_splitter.h"
#include "engine/compile/wasm_inspect.h"
#include "engine/wasm2c/shim_abi.h"

namespace theater::engine {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Names inside the private build directory. The tools run in that directory with relative
// paths, so the command lines that go into the cache key are the ones actually run.
constexpr char kWasmFile[] = "module.wasm";
constexpr char kModulePrefix[] = "mod";
constexpr char kModuleC[] = "mod.c";
constexpr char kModuleH[] = "mod.h";
constexpr char kShimC[] = "shim.c";
constexpr char kShimObject[] = "shim.o";
constexpr char kOutputSo[] = "mod.so";
constexpr char kIncludeDir[] = "include";
constexpr char kTempDirName[] = "tmp";
constexpr char kUnitsDirName[] = "units";  // function units' objects, by their text's key

// Build directories older than this are debris of killed processes (a live compile is bounded
// by tool_timeout) and are removed when a ModuleCompiler is created.
constexpr auto kStaleTempAge = std::chrono::hours(24);

// Separates this hash from every other SHA-256 the project computes; bump to invalidate caches.
constexpr char kKeyDomain[] = "theater.compile-cache.v1";

// Bump when unit_splitter.cc (or function_names.cc) changes the units it writes for the same
// input.
constexpr int kSplitterRevision = 2;

// `<tool> --version` answers at once; a tool that hangs is as good as missing.
constexpr std::chrono::milliseconds kVersionTimeout{60000};

constexpr char kWasm2cHint[] = "install it with `apt-get install wabt`";
constexpr char kCompilerHint[] =
    "install a C compiler with `apt-get install gcc`, or point $THEATER_CC at one";
constexpr char kFastCompilerHint[] =
    "install it with `apt-get install tcc`, or point $THEATER_FAST_CC at it";

// Incremental SHA-256 with length-prefixed fields, so that no two field lists hash alike.
class KeyHasher {
 public:
  KeyHasher() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
  }
  KeyHasher(const KeyHasher&) = delete;
  KeyHasher& operator=(const KeyHasher&) = delete;
  ~KeyHasher() { EVP_MD_CTX_free(ctx_); }

  void Field(std::string_view data) {
    const uint64_t n = data.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    Update(len, sizeof(len));
    Update(data.data(), data.size());
  }

  // 64 hex digits; empty if OpenSSL failed (only on allocation failure).
  std::string HexFinal() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, digest, &n) != 1) return "";
    return HexEncode({digest, n});
  }

 private:
  void Update(const void* data, size_t n) {
    if (ok_ && n > 0) ok_ = EVP_DigestUpdate(ctx_, data, n) == 1;
  }
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

struct Tool {
  fs::path path;         // as found on PATH; what is executed
  std::string identity;  // real path and first line of `--version`
};

// Tool identities are computed once per process: they cost a process spawn each.
Result<Tool> ResolveTool(std::string_view name, std::string_view role, std::string_view hint,
                         std::chrono::milliseconds timeout) {
  static std::mutex mutex;
  static std::map<fs::path, std::string> identities;

  auto found = FindExecutable(name);
  if (!found.ok()) {
    return Status(StatusCode::kUnavailable, std::string(role) + " '" + std::string(name) +
                                                "' not found: " + found.status().message() + "; " +
                                                std::string(hint));
  }
  // The tools run inside the build directory, so a relative path would resolve elsewhere.
  std::error_code abs_ec;
  Tool tool{fs::absolute(*found, abs_ec), ""};
  if (abs_ec) return IOError("resolving " + found->string() + ": " + abs_ec.message());
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = identities.find(tool.path); it != identities.end()) {
    tool.identity = it->second;
    return tool;
  }
  std::error_code ec;
  const fs::path real = fs::canonical(tool.path, ec);
  auto run =
      RunSubprocess({tool.path.string(), "--version"}, {}, std::min(timeout, kVersionTimeout));
  if (!run.ok() || !run->ok()) {
    const std::string why = run.ok() ? TailLines(run->output, 3) : run.status().ToString();
    return Status(StatusCode::kUnavailable, "cannot run '" + tool.path.string() +
                                                " --version': " + why + "; " + std::string(hint));
  }
  const std::string version = TailLines(run->output.substr(0, run->output.find('\n')), 1);
  tool.identity = (ec ? tool.path.string() : real.string()) + "\n" + version;
  identities.emplace(tool.path, tool.identity);
  return tool;
}

Status MakePrivateDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::Ok();
  return ErrnoError("creating directory " + dir.string(), errno);
}

// Creates `dir` and any missing parents with mode 0700.
Status MakePrivateDirs(const fs::path& dir) {
  fs::path partial;
  for (const fs::path& part : dir) {
    partial /= part;
    if (partial == partial.root_path()) continue;
    THEATER_RETURN_IF_ERROR(MakePrivateDir(partial));
  }
  return Status::Ok();
}

// Anyone who can write the cache can run code in every Theater process that reads it.
Status CheckCacheDirOwnership(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoError("checking " + dir.string(), errno);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(dir.string() + " is not a directory");
  if (st.st_uid != ::geteuid()) {
    return FailedPrecondition("compile cache " + dir.string() +
                              " belongs to another user; compiled modules are trusted native code");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return FailedPrecondition("compile cache " + dir.string() +
                              " is writable by other users; compiled modules are trusted native "
                              "code (fix with `chmod go-w " +
                              dir.string() + "`)");
  }
  return Status::Ok();
}

Status WriteNewFile(const fs::path& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("creating " + path.string(), errno);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError("writing " + path.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return ErrnoError("writing " + path.string(), errno);
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening " + path.string(), errno);
  std::string out;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError("reading " + path.string(), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status SyncPath(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening " + path.string(), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("syncing " + path.string(), err);
  return Status::Ok();
}

// A private build directory inside the cache, removed with everything in it on destruction.
class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create(const fs::path& parent, std::string_view stem) {
    std::string templ = (parent / (std::string(stem) + "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return ErrnoError("creating a build directory in " + parent.string(), errno);
    }
    return std::unique_ptr<TempDir>(new TempDir(templ));
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

void SweepStaleTempDirs(const fs::path& temp_root, std::chrono::seconds tool_timeout) {
  const auto max_age = std::max<fs::file_time_type::duration>(kStaleTempAge, 2 * tool_timeout);
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  for (fs::directory_iterator it(temp_root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    const auto mtime = fs::last_write_time(it->path(), entry_ec);
    if (!entry_ec && now - mtime > max_age) fs::remove_all(it->path(), entry_ec);
  }
}

std::string Tail(const SubprocessResult& r) {
  std::string tail = TailLines(r.output, 20);
  if (r.term_signal != 0) {
    tail += (tail.empty() ? "" : "\n") + std::string("(terminated by signal ") +
            std::to_string(r.term_signal) + ")";
  }
  return tail.empty() ? "(no output; exit status " + std::to_string(r.exit_code) + ")" : tail;
}

// wasm2c's messages for undecodable input carry only an offset ("000000a: error: ..."); the
// validator prefixes the file name ("module.wasm:0000021: error: ..."). The prefix is dropped:
// the caller names the module. Anything else (a crash, an I/O failure) is not the input's fault.
Status Wasm2cFailure(const SubprocessResult& r, const std::string& name) {
  const std::string prefix = std::string(kWasmFile) + ":";
  std::string first_error;
  for (size_t at = 0; at < r.output.size();) {
    const size_t nl = std::min(r.output.find('\n', at), r.output.size());
    const std::string_view line(r.output.data() + at, nl - at);
    if (line.find("error:") != std::string_view::npos) {
      first_error = line;
      break;
    }
    at = nl + 1;
  }
  const bool validation = first_error.starts_with(prefix);
  const bool parse =
      !first_error.empty() && std::isxdigit(static_cast<unsigned char>(first_error[0]));
  if (r.term_signal != 0 || (!validation && !parse)) {
    return InternalError("wasm2c failed on '" + name + "':\n" + Tail(r));
  }
  std::string message = TailLines(r.output, 10);
  for (size_t at = 0; (at = message.find(prefix, at)) != std::string::npos;) {
    message.erase(at, prefix.size());
  }
  const std::string context = "invalid wasm module '" + name + "'";
  return (validation ? ValidationError(message) : ParseError(message)).WithContext(context);
}

// The shim's view of the module (from wasm2c's header) must agree with the pre-check's (from the
// binary): a disagreement means one of the two parsers misread something.
Status CrossCheck(const GeneratedShim& shim, const WasmModuleInfo& info) {
  std::set<std::pair<std::string, std::string>> imports;
  for (const WasmImport& imp : info.imports) imports.emplace(imp.module, imp.name);
  std::set<std::string> exports;
  for (const WasmExport& exp : info.exports) {
    if (exp.kind == WasmExternKind::kFunction) exports.insert(exp.name);
  }
  std::set<std::pair<std::string, std::string>> shim_imports;
  for (const ShimImport& imp : shim.imports) shim_imports.emplace(imp.module, imp.name);
  std::set<std::string> shim_exports;
  for (const ShimExport& exp : shim.exports) shim_exports.insert(exp.name);
  if (shim_imports != imports || shim_exports != exports ||
      shim_imports.size() != shim.imports.size() || shim_exports.size() != shim.exports.size()) {
    return InternalError("the generated shim disagrees with the module's import/export sections");
  }
  return Status::Ok();
}

}  // namespace

struct ModuleCompiler::State {
  CompileOptions options;
  Tool wasm2c;
  Tool compiler;
  std::string compiler_name;  // for progress lines, e.g. "gcc"
  std::vector<std::string> wasm2c_args;
  std::vector<std::string> compiler_args;  // mod.c and shim.c to mod.so in one run
  std::vector<std::string> unit_flags;     // for `-c` of one unit, without the file names
  std::string config_digest;  // hash of everything in the key except the wasm bytes
  fs::path temp_root;
};

Result<fs::path> DefaultCacheDir() {
  const char* theater_home = std::getenv("THEATER_HOME");
  if (theater_home != nullptr && *theater_home != '\0') {
    std::error_code ec;
    fs::path home = fs::absolute(theater_home, ec);
    if (ec) {
      return IOError("resolving $THEATER_HOME (" + std::string(theater_home) +
                     "): " + ec.message());
    }
    return home / "cache";
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return fs::path(home) / ".theater" / "cache";
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr && *found->pw_dir != '\0') {
    return fs::path(found->pw_dir) / ".theater" / "cache";
  }
  return FailedPrecondition(
      "cannot determine the compile cache directory: set $THEATER_HOME or $HOME");
}

Result<CompileOptions> DefaultCompileOptions() {
  CompileOptions options;
  THEATER_ASSIGN_OR_RETURN(options.cache_dir, DefaultCacheDir());
  const char* cc = std::getenv("THEATER_CC");
  if (cc != nullptr && *cc != '\0') options.c_compiler = cc;
  const char* fast_cc = std::getenv("THEATER_FAST_CC");
  if (fast_cc != nullptr && *fast_cc != '\0') options.fast_compiler = fast_cc;
  // One digit, 0..3: anything else is refused rather than silently ignored.
  const char* opt = std::getenv("THEATER_OPT_LEVEL");
  if (opt != nullptr && *opt != '\0') {
    if (opt[0] < '0' || opt[0] > '3' || opt[1] != '\0') {
      return InvalidArgument("$THEATER_OPT_LEVEL must be 0, 1, 2 or 3, not '" + std::string(opt) +
                             "'");
    }
    options.opt_level = opt[0] - '0';
  }
  return options;
}

Result<std::unique_ptr<ModuleCompiler>> ModuleCompiler::Create(CompileOptions options) {
  if (options.opt_level < 0 || options.opt_level > 3) {
    return InvalidArgument("opt_level must be 0..3, not " + std::to_string(options.opt_level));
  }
  if (options.cache_dir.empty()) return InvalidArgument("no compile cache directory given");
  if (options.tool_timeout.count() <= 0) return InvalidArgument("tool_timeout must be positive");
  std::error_code ec;
  options.cache_dir = fs::absolute(options.cache_dir, ec);
  if (ec) return IOError("resolving " + options.cache_dir.string() + ": " + ec.message());

  auto state = std::make_unique<State>();
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.tool_timeout);
  THEATER_ASSIGN_OR_RETURN(state->wasm2c,
                           ResolveTool(options.wasm2c, "wasm2c", kWasm2cHint, timeout));
  const bool fast = options.tier == CompileTier::kFast;
  const std::string& compiler = fast ? options.fast_compiler : options.c_compiler;
  THEATER_ASSIGN_OR_RETURN(
      state->compiler,
      fast ? ResolveTool(compiler, "the fast tier's C compiler", kFastCompilerHint, timeout)
           : ResolveTool(compiler, "C compiler", kCompilerHint, timeout));
  state->compiler_name = fs::path(compiler).filename().string();
  if (state->compiler_name == "cc" && state->compiler.identity.find("gcc") != std::string::npos) {
    state->compiler_name = "gcc";
  }

  state->wasm2c_args = {
      state->wasm2c.path.string(), kWasmFile, "-n", kModulePrefix, "-o", kModuleC};
  if (fast) {
    // tcc optimises nothing, has no thread-local storage (wasm-rt.h reaches the runtime's
    // through calls instead) and exports every global symbol; each module is dlopen()ed
    // RTLD_LOCAL, so modules still never see each other's names.
    state->unit_flags = {"-w"};
  } else {
    state->unit_flags = {"-O" + std::to_string(options.opt_level), "-fPIC",
                         // Many modules share a process; each defines the same Z_mod_* names.
                         "-fvisibility=hidden",
                         // No TLS address may be cached across a fiber switch.
                         "-ftls-model=initial-exec", "-fno-strict-aliasing", "-w"};
  }
  if (!options.signal_memcheck) {
    state->unit_flags.push_back("-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0");
  }
  state->unit_flags.push_back("-I" + std::string(kIncludeDir));
  state->compiler_args = {state->compiler.path.string(), "-shared"};
  state->compiler_args.insert(state->compiler_args.end(), state->unit_flags.begin(),
                              state->unit_flags.end());
  // libm: the translated code calls floor(), nearbyint() and friends.
  state->compiler_args.insert(state->compiler_args.end(),
                              {kModuleC, kShimC, "-o", kOutputSo, "-lm"});

  KeyHasher config;
  config.Field(kKeyDomain);
  config.Field(state->wasm2c.identity);
  config.Field(state->compiler.identity);
  // Tool paths are identities, not flags: argv[0] is left out so that a $PATH change that
  // resolves to the same real program keeps the cache.
  for (size_t i = 1; i < state->wasm2c_args.size(); ++i) config.Field(state->wasm2c_args[i]);
  config.Field("--");
  for (size_t i = 1; i < state->compiler_args.size(); ++i) config.Field(state->compiler_args[i]);
  config.Field("--");
  // How a module is cut into units decides the object as much as the flags do.
  config.Field("units:" + std::to_string(options.unit_bytes) + ":" +
               std::to_string(kSplitterRevision));
  config.Field(std::to_string(THEATER_SHIM_ABI_VERSION));
  config.Field(std::to_string(kShimGeneratorRevision));
  config.Field(options.preempt_checks ? "preempt-checks" : "no-preempt-checks");
  for (const EmbeddedFile& file : EmbeddedRuntimeHeaders()) {
    config.Field(file.name);
    config.Field(file.contents);
  }
  state->config_digest = config.HexFinal();
  if (state->config_digest.empty()) return InternalError("SHA-256 unavailable from OpenSSL");

  THEATER_RETURN_IF_ERROR(MakePrivateDirs(options.cache_dir));
  THEATER_RETURN_IF_ERROR(CheckCacheDirOwnership(options.cache_dir));
  state->temp_root = options.cache_dir / kTempDirName;
  THEATER_RETURN_IF_ERROR(MakePrivateDir(state->temp_root));
  SweepStaleTempDirs(state->temp_root, options.tool_timeout);

  state->options = std::move(options);
  return std::unique_ptr<ModuleCompiler>(new ModuleCompiler(std::move(state)));
}

ModuleCompiler::ModuleCompiler(std::unique_ptr<State> state) : state_(std::move(state)) {}
ModuleCompiler::~ModuleCompiler() = default;

const CompileOptions& ModuleCompiler::options() const {
  return state_->options;
}

std::string ModuleCompiler::CacheKey(std::span<const uint8_t> wasm) const {
  Result<WasmModuleInfo> info = InspectWasmModule(wasm);
  if (!info.ok()) return "";
  std::optional<DataSplit> split =
      SplitModuleData(wasm, *info, state_->options.data_split_min_code_bytes, nullptr);
  return KeyOf(split ? std::span<const uint8_t>(split->code) : wasm);
}

bool ModuleCompiler::IsCached(std::span<const uint8_t> wasm) const {
  const std::string key = CacheKey(wasm);
  return !key.empty() && CheckElfFile(CachePath(key)).ok();
}

std::string ModuleCompiler::KeyOf(std::span<const uint8_t> wasm) const {
  KeyHasher key;
  key.Field(state_->config_digest);
  key.Field(std::string_view(reinterpret_cast<const char*>(wasm.data()), wasm.size()));
  return key.HexFinal();
}

fs::path ModuleCompiler::CachePath(std::string_view key) const {
  return state_->options.cache_dir / std::string(key.substr(0, 2)) / (std::string(key) + ".so");
}

namespace {
// The lock a unit object's maker holds: beside it, "<key>.lock".
fs::path LockPathOf(const fs::path& unit_object) {
  fs::path lock = unit_object;
  lock.replace_extension(".lock");
  return lock;
}
}  // namespace

fs::path ModuleCompiler::UnitObjectPath(std::string_view unit_text) const {
  KeyHasher key;
  key.Field(state_->config_digest);
  key.Field("unit");
  key.Field(unit_text);
  const std::string hex = key.HexFinal();
  return state_->options.cache_dir / kUnitsDirName / hex.substr(0, 2) / (hex + ".o");
}

Result<size_t> ModuleCompiler::CompileUnits(const SplitTranslation& split, const fs::path& dir,
                                            const std::string& name,
                                            std::chrono::milliseconds timeout,
                                            ProgressLine& progress,
                                            const std::atomic<bool>* cancel) const {
  struct Unit {
    size_t index = 0;     // into split.units
    fs::path object;      // what the link takes
    fs::path published;   // where a freshly compiled function unit's object goes; empty: none
    std::unique_ptr<FileLock> lock;  // held while this compile makes the published object
  };
  const auto stem = [](size_t i) { return std::string(kModulePrefix) + "_" + std::to_string(i); };
  const auto cached = [](const fs::path& object) {
    return CheckElfFile(object, ElfFileKind::kRelocatable).ok();
  };
  std::vector<fs::path> objects(split.units.size());  // in unit order, for the link
  std::vector<Unit> now;                               // compiled in the first round
  // Units another compile is making, with their objects' paths: looked at again after.
  std::vector<std::pair<size_t, fs::path>> deferred;
  size_t reused = 0;
  for (size_t i = 0; i < split.units.size(); ++i) {
    Unit unit{i, dir / (stem(i) + ".o"), {}, nullptr};
    if (i > 0) {  // unit 0 is the module's own: nothing to share
      unit.published = UnitObjectPath(split.units[i]);
      if (cached(unit.published)) {
        objects[i] = unit.published;
        ++reused;
        continue;
      }
      THEATER_RETURN_IF_ERROR(MakePrivateDirs(unit.published.parent_path()));
      THEATER_ASSIGN_OR_RETURN(unit.lock, FileLock::TryAcquire(LockPathOf(unit.published)));
      if (!unit.lock) {
        // Another compile (of a module sharing it) makes it now.
        deferred.emplace_back(i, std::move(unit.published));
        continue;
      }
      if (cached(unit.published)) {  // made while this looked
        objects[i] = unit.published;
        ++reused;
        continue;
      }
    }
    THEATER_RETURN_IF_ERROR(WriteNewFile(dir / (stem(i) + ".c"), split.units[i]));
    objects[i] = unit.object;
    now.push_back(std::move(unit));
  }

  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const size_t parallel = state_->options.compile_jobs > 0 ? state_->options.compile_jobs : cpus;
  size_t units_to_compile = now.size();
  size_t units_done = 0;
  // Runs the units' compiles (and the shim's, when asked) at once, keeping each function unit's
  // object in the cache and letting its lock go as it is made.
  const auto compile = [&](std::vector<Unit>& units, bool with_shim) -> Status {
    std::vector<SubprocessJob> jobs;
    const auto add_job = [&](const std::string& source, const std::string& object) {
      SubprocessJob job{{state_->compiler.path.string()}, dir};
      job.argv.insert(job.argv.end(), state_->unit_flags.begin(), state_->unit_flags.end());
      job.argv.insert(job.argv.end(), {"-c", source, "-o", object});
      jobs.push_back(std::move(job));
    };
    size_t total_bytes = 0;
    for (const Unit& unit : units) {
      add_job(stem(unit.index) + ".c", stem(unit.index) + ".o");
      total_bytes += split.units[unit.index].size();
    }
    if (with_shim) add_job(kShimC, kShimObject);  // last: small, and the units are the long pole
    size_t bytes_done = 0;
    // A function unit's object is kept for the next module that shares it as soon as it is
    // made, complete before it is visible (synced, then renamed; two compiles of the same unit
    // write the same bytes), so that a compile stopped half way (a background compile cancelled
    // when its process ends) loses only the units it had not finished. The link takes the
    // published object. A failure here costs the next module a compile, not this one its object.
    const auto finished = [&](size_t job) {
      if (job >= units.size()) return;  // the shim
      Unit& unit = units[job];
      ++units_done;
      bytes_done += split.units[unit.index].size();
      progress.StageProgress(units_done, units_to_compile,
                             static_cast<double>(bytes_done) / static_cast<double>(total_bytes));
      if (unit.published.empty()) return;
      if (SyncPath(unit.object, O_RDONLY).ok() &&
          ::rename(unit.object.c_str(), unit.published.c_str()) == 0) {
        SyncPath(unit.published.parent_path(), O_RDONLY | O_DIRECTORY).IgnoreError();
        objects[unit.index] = unit.published;
      }
      unit.lock.reset();
    };
    THEATER_ASSIGN_OR_RETURN(std::vector<SubprocessResult> results,
                             RunSubprocesses(jobs, parallel, timeout, finished, cancel));
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok() || results[i].cancelled) continue;
      const std::string what = i < units.size()
                                   ? "unit " + std::to_string(units[i].index + 1) + " of " +
                                         std::to_string(split.units.size()) +
                                         " of the C translation"
                                   : "the shim";
      return InternalError(state_->compiler_name + " failed on " + what + " of '" + name +
                           "':\n" + Tail(results[i]));
    }
    for (Unit& unit : units) unit.lock.reset();
    return Status::Ok();
  };

  progress.Stage(state_->compiler_name + " \u00d7" + std::to_string(now.size()) +
                 (reused == 0 ? "" : " (" + std::to_string(reused) + " units compiled before)"));
  THEATER_RETURN_IF_ERROR(compile(now, /*with_shim=*/true));

  // Units another compile was making: waited for one at a time (holding no other lock, so two
  // compiles waiting for each other's units cannot deadlock), and compiled here only if that
  // compile did not make them (it failed, or was stopped).
  std::vector<Unit> missing;
  for (const auto& [i, published] : deferred) {
    THEATER_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                             FileLock::Acquire(LockPathOf(published), [&] {
                               progress.Stage("waiting for another compile");
                             }));
    if (cached(published)) {
      objects[i] = published;
      ++reused;
      continue;
    }
    THEATER_RETURN_IF_ERROR(WriteNewFile(dir / (stem(i) + ".c"), split.units[i]));
    objects[i] = dir / (stem(i) + ".o");
    missing.push_back(Unit{i, objects[i], published, nullptr});
  }
  if (!missing.empty()) {
    units_to_compile += missing.size();
    progress.Stage(state_->compiler_name + " \u00d7" + std::to_string(missing.size()));
    THEATER_RETURN_IF_ERROR(compile(missing, /*with_shim=*/false));
  }

  std::vector<std::string> link = {state_->compiler.path.string(), "-shared"};
  for (const fs::path& object : objects) link.push_back(object.string());
  link.push_back(kShimObject);
  link.insert(link.end(), {"-o", kOutputSo, "-lm"});
  THEATER_ASSIGN_OR_RETURN(SubprocessResult linked, RunSubprocess(link, dir, timeout, cancel));
  if (!linked.ok()) {
    return InternalError(state_->compiler_name + " failed to link the units of '" + name + "':\n" +
                         Tail(linked));
  }
  return reused;
}

Result<CompiledModuleFile> ModuleCompiler::Compile(std::span<const uint8_t> wasm,
                                                   std::string_view display_name,
                                                   const CompileControl& control) const {
  const Clock::time_point start = Clock::now();
  // Cheap checks first: bad input never takes a lock or touches the cache.
  auto info = InspectWasmModule(wasm);
  if (!info.ok()) {
    return info.status().WithContext("invalid wasm module '" + PrintableName(display_name) + "'");
  }
  std::optional<DataSplit> split =
      SplitModuleData(wasm, *info, state_->options.data_split_min_code_bytes, nullptr);
  if (split) {
    Result<WasmModuleInfo> code_info = InspectWasmModule(split->code);
    if (!code_info.ok()) return code_info.status().WithContext("splitting off the data");
    Result<CompiledModuleFile> compiled = CompileModule(split->code, *code_info, display_name, control);
    if (compiled.ok()) {
      compiled->data = std::move(split->data);
      compiled->compile_time = Clock::now() - start;
      return compiled;
    }
    // wasm2c refuses a code module whose code uses its segments (memory.init, data.drop): such
    // a module is compiled whole, which also reports what else may be wrong with it.
    const StatusCode code = compiled.status().code();
    if (code != StatusCode::kValidationError && code != StatusCode::kParseError) {
      return compiled.status();
    }
  }
  Result<CompiledModuleFile> compiled = CompileModule(wasm, *info, display_name, control);
  if (compiled.ok()) compiled->compile_time = Clock::now() - start;
  return compiled;
}

Result<CompiledModuleFile> ModuleCompiler::CompileModule(std::span<const uint8_t> wasm,
                                                         const WasmModuleInfo& module_info,
                                                         std::string_view display_name,
                                                         const CompileControl& control) const {
  const Clock::time_point start = Clock::now();
  const CompileOptions& options = state_->options;
  const std::string name = PrintableName(display_name);
  CompiledModuleFile out;
  out.key = KeyOf(wasm);
  if (out.key.empty()) return InternalError("SHA-256 unavailable from OpenSSL");
  out.so_path = CachePath(out.key);
  const auto finish = [&](bool hit) {
    out.cache_hit = hit;
    out.compile_time = Clock::now() - start;
    return out;
  };

  if (CheckElfFile(out.so_path).ok()) return finish(true);

  const WasmModuleInfo* info = &module_info;
  THEATER_RETURN_IF_ERROR(
      CheckCompilable(*info).WithContext("cannot compile wasm module '" + name + "'"));

  // kOn: a live line on a terminal, plain lines elsewhere, from the start. kAuto (an embedder's
  // default): only a terminal, and only for a compile longer than the delay.
  std::FILE* stream = nullptr;
  const bool terminal =
      options.progress_stream != nullptr && ::isatty(::fileno(options.progress_stream));
  if (!control.quiet && (options.progress == ProgressMode::kOn ||
                         (options.progress == ProgressMode::kAuto && terminal))) {
    stream = options.progress_stream;
  }
  ProgressLine progress(
      stream, display_name, wasm.size(),
      options.progress == ProgressMode::kOn ? std::chrono::milliseconds(0) : options.progress_delay,
      terminal ? ProgressStyle::kLive : ProgressStyle::kPlain,
      control.quiet ? nullptr : options.watchers);

  const fs::path shard = out.so_path.parent_path();
  THEATER_RETURN_IF_ERROR(MakePrivateDir(shard));
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                           FileLock::Acquire(shard / (out.key + ".lock"), [&] {
                             progress.Stage("waiting for another compile");
                           }));

  // Another process may have finished it while we waited for the lock.
  const Status existing = CheckElfFile(out.so_path);
  if (existing.ok()) {
    progress.Finish(true);
    return finish(true);
  }
  if (existing.code() != StatusCode::kNotFound) {
    // A corrupt entry (truncated by a crash or a full disk): replace it.
    if (::unlink(out.so_path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("removing corrupt cache entry " + out.so_path.string(), errno);
    }
  }

  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> build,
                           TempDir::Create(state_->temp_root, out.key.substr(0, 16)));
  const fs::path& dir = build->path();
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.tool_timeout);

  THEATER_RETURN_IF_ERROR(MakePrivateDir(dir / kIncludeDir));
  for (const EmbeddedFile& file : EmbeddedRuntimeHeaders()) {
    THEATER_RETURN_IF_ERROR(
        WriteNewFile(dir / kIncludeDir / std::string(file.name), file.contents));
  }
  // wasm2c reads the module with its functions named by position (function_names.h).
  const std::vector<uint8_t> named = WithPositionalFunctionNames(wasm, *info);
  THEATER_RETURN_IF_ERROR(WriteNewFile(
      dir / kWasmFile, std::string_view(reinterpret_cast<const char*>(named.data()), named.size())));

  progress.Stage("wasm2c");
  THEATER_ASSIGN_OR_RETURN(SubprocessResult translated,
                           RunSubprocess(state_->wasm2c_args, dir, timeout, control.cancel));
  if (!translated.ok()) return Wasm2cFailure(translated, name);

  // The C, held while it is instrumented and split; released before the compiler runs. It is
  // written back as mod.c only when it is compiled whole and the pass changed it.
  std::string translated_c;
  if (options.preempt_checks || options.unit_bytes > 0) {
    THEATER_ASSIGN_OR_RETURN(translated_c, ReadWholeFile(dir / kModuleC));
  }
  if (options.preempt_checks) {
    auto instrumented = InsertPreemptChecks(translated_c, info->defined_functions);
    if (!instrumented.ok()) {
      return instrumented.status().WithContext("cannot compile wasm module '" + name + "'");
    }
    translated_c = std::move(instrumented->source);
  }
  THEATER_ASSIGN_OR_RETURN(std::string header, ReadWholeFile(dir / kModuleH));
  SplitTranslation split;
  if (options.unit_bytes > 0) {
    UnitSplitOptions split_options;
    split_options.unit_bytes = options.unit_bytes;
    split_options.module_prefix = kModulePrefix;
    split_options.header_name = kModuleH;
    split = SplitTranslatedModule(translated_c, header, info->defined_functions, split_options);
  }
  if (!split.units.empty()) {
    // The units agree with the shim on the instance's layout: its own fields first.
    header = std::move(split.module_header);
    if (::unlink((dir / kModuleH).c_str()) != 0) {
      return ErrnoError("replacing " + (dir / kModuleH).string(), errno);
    }
    THEATER_RETURN_IF_ERROR(WriteNewFile(dir / kModuleH, header));
  }
  if (options.preempt_checks && split.units.empty()) {
    if (::unlink((dir / kModuleC).c_str()) != 0) {
      return ErrnoError("replacing " + (dir / kModuleC).string(), errno);
    }
    THEATER_RETURN_IF_ERROR(WriteNewFile(dir / kModuleC, translated_c));
  }
  translated_c = std::string();

  auto shim = GenerateShim(header, kModuleH, kModulePrefix);
  const Status shim_status = shim.ok() ? CrossCheck(*shim, *info) : shim.status();
  if (!shim_status.ok()) {
    return shim_status.WithContext("cannot compile wasm module '" + name + "'");
  }
  THEATER_RETURN_IF_ERROR(WriteNewFile(dir / kShimC, shim->source));

  out.translation_units = std::max<size_t>(1, split.units.size());
  if (split.units.empty()) {
    progress.Stage(state_->compiler_name);
    THEATER_ASSIGN_OR_RETURN(SubprocessResult compiled,
                             RunSubprocess(state_->compiler_args, dir, timeout, control.cancel));
    if (!compiled.ok()) {
      return InternalError(state_->compiler_name + " failed on the C translation of '" + name +
                           "':\n" + Tail(compiled));
    }
  } else {
    THEATER_ASSIGN_OR_RETURN(out.units_reused,
                             CompileUnits(split, dir, name, timeout, progress, control.cancel));
  }

  const fs::path built = dir / kOutputSo;
  THEATER_RETURN_IF_ERROR(VerifyCompiledModuleFile(built).WithContext("compiling '" + name + "'"));
  // Durable before visible: after a crash the cache holds either the whole object or nothing.
  THEATER_RETURN_IF_ERROR(SyncPath(built, O_RDONLY));
  if (::rename(built.c_str(), out.so_path.c_str()) != 0) {
    return ErrnoError("moving the compiled module to " + out.so_path.string(), errno);
  }
  SyncPath(shard, O_RDONLY | O_DIRECTORY).IgnoreError();  // the entry is complete either way
  progress.Finish(true);
  return finish(false);
}

}  // namespace theater::engine
