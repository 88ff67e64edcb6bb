// Theater: a WebAssembly actor runtime.
//
// ModuleCompiler turns a core wasm module into a shared object the wasm2c engine can dlopen(),
// and keeps the result in a content-addressed on-disk cache (docs/compile-cache.md).
//
// On a cache miss: pre-check the binary, `wasm2c module.wasm -n mod -o mod.c`, insert the
// time-slice checks (preempt_pass.h), generate the shim (shim_generator.h), compile both with the
// system C compiler against the runtime headers embedded in this library (a large module as
// several units in parallel, unit_splitter.h), verify the object
// (elf_check.h) and rename it into <cache_dir>/<key[0:2]>/<key>.so. The key is a SHA-256 over the
// wasm bytes, every flag, the identities of wasm2c and the C compiler, the shim ABI version and the
// embedded headers, so a cached object is reused only when it would be rebuilt identically. A hit
// costs one SHA-256 of the wasm bytes and a read of the 64-byte ELF header.
//
// Processes share the cache safely: a compile holds an exclusive flock on <key>.lock, builds in
// a private temporary directory inside the cache and renames the finished object into place, so
// readers never see a partial file and each module is compiled once. Empty or truncated entries
// are detected and rebuilt.
//
// Thread-safety: after Create(), a ModuleCompiler is immutable; Compile() may be called from any
// number of threads (and processes) at once. Cached objects are trusted native code: the cache
// directory must belong to the current user and not be writable by others (checked by Create).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::engine {

struct SplitTranslation;  // unit_splitter.h
class ModuleData;         // data_split.h
class ProgressLine;       // progress_line.h
class CompileWatchers;    // compile_watchers.h
struct WasmModuleInfo;    // wasm_inspect.h

enum class ProgressMode {
  kAuto,  // a live line when the progress stream is a terminal, once progress_delay has passed
  kOn,    // from the start: a live line on a terminal, plain lines elsewhere (progress_line.h)
  kOff,
};

// Which compiler makes a module's object (docs/compile-cache.md, "Tiers").
enum class CompileTier {
  // `c_compiler` at `opt_level`: the code actors run at full speed; seconds for a small actor,
  // minutes for the JavaScript engine.
  kOptimized,
  // `fast_compiler` (tcc): the JavaScript engine's 140 MB of C in about 2 s on two cores instead
  // of minutes, for code a few times slower. What a module runs from while its optimized object
  // is compiled in the background (EngineOptions::tier).
  kFast,
};

struct CompileOptions {
  CompileTier tier = CompileTier::kOptimized;
  // Where compiled modules live; usually DefaultCacheDir(). Created (mode 0700) if missing.
  std::filesystem::path cache_dir;
  // true: guard-page mode (out-of-bounds accesses fault). false: bounds-check mode, compiled
  // with -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0.
  bool signal_memcheck = true;
  // Insert a time-slice check at every function entry and loop head of the generated C
  // (preempt_pass.h), so a long-running guest can yield its worker. Part of the cache key.
  bool preempt_checks = true;
  // The C compiler's -O level, 0..3. gcc -O2 takes ~0.6 s on a small actor and over a minute on
  // a SQLite-sized one, -O1 about 40% less for slower code.
  int opt_level = 2;
  // Generated C with more function code than this is cut into translation units of about this
  // size, compiled in parallel and linked together (unit_splitter.h); 0 compiles every module
  // as one file. Part of the cache key; the unit count depends on the module, not the machine.
  size_t unit_bytes = 256 * 1024;
  // A module with at least this much code (bytes of its code section) whose data can be kept
  // apart is compiled without it (data_split.h), so that modules with the same code share one
  // compiled object; SIZE_MAX never splits. The code module is what the cache key covers.
  size_t data_split_min_code_bytes = 1 << 20;
  // C compiler processes run at once for one module; 0: one per CPU.
  unsigned compile_jobs = 0;
  // Program name (searched on PATH) or path; DefaultCompileOptions() takes $THEATER_CC.
  std::string c_compiler = "cc";
  // The fast tier's compiler (program name or path); DefaultCompileOptions() takes
  // $THEATER_FAST_CC. The runtime header has what it lacks (thread-locals, bit builtins) for tcc.
  std::string fast_compiler = "tcc";
  std::string wasm2c = "wasm2c";
  ProgressMode progress = ProgressMode::kAuto;
  std::FILE* progress_stream = stderr;  // not owned
  // Under kAuto, a compile shorter than this prints nothing.
  std::chrono::milliseconds progress_delay{1000};
  // Told the progress of every compile that is not quiet (CompileControl), whatever `progress`
  // says; null: nobody. Not part of the cache key.
  std::shared_ptr<CompileWatchers> watchers;
  // Per tool run; generous because gcc can need minutes for very large modules.
  std::chrono::seconds tool_timeout{1800};
};

// $THEATER_HOME/cache, with THEATER_HOME defaulting to ~/.theater ($HOME, else the password
// database). kFailedPrecondition when no home directory can be determined.
Result<std::filesystem::path> DefaultCacheDir();

// Defaults for this environment: cache_dir = DefaultCacheDir(), c_compiler = $THEATER_CC,
// fast_compiler = $THEATER_FAST_CC and opt_level = $THEATER_OPT_LEVEL when set
// (kInvalidArgument for a level that is not 0..3).
Result<CompileOptions> DefaultCompileOptions();

struct CompiledModuleFile {
  std::filesystem::path so_path;             // <cache_dir>/<key[0:2]>/<key>.so
  std::string key;                           // 64 lower-case hex digits
  bool cache_hit = false;                    // false when this call compiled the module
  std::chrono::nanoseconds compile_time{0};  // wall time of the Compile() call
  // On a miss, the translation units the C was compiled as (1: whole; unit_splitter.h).
  size_t translation_units = 0;
  // Of those, the function units whose objects were already in the cache ("unit objects" in
  // docs/compile-cache.md): compiled before for a module that shares those functions.
  size_t units_reused = 0;
  // When the object was compiled from the module's code alone (data_split.h): the data that each
  // instance's memory must be given right after instantiation. Null: the object is the module.
  std::shared_ptr<const ModuleData> data;
};

// What one Compile() call may ask beyond the compiler's options.
struct CompileControl {
  // Looked at while the tools run: once true, they are killed and Compile() fails with
  // kCancelled. The function units compiled by then are kept (docs/compile-cache.md, "Unit
  // objects"), so a compile started again goes on where this one stopped. Not owned.
  const std::atomic<bool>* cancel = nullptr;
  // No progress line, whatever the options say: a compile in the background.
  bool quiet = false;
};

class ModuleCompiler {
 public:
  // Resolves wasm2c and the C compiler, records their identities (once per process), prepares
  // the cache directory and precomputes the non-wasm part of the cache key. Errors:
  // kUnavailable when a tool is missing (with an install hint), kInvalidArgument for bad
  // options, kFailedPrecondition or kIOError for an unusable cache directory.
  static Result<std::unique_ptr<ModuleCompiler>> Create(CompileOptions options);

  ModuleCompiler(const ModuleCompiler&) = delete;
  ModuleCompiler& operator=(const ModuleCompiler&) = delete;
  ~ModuleCompiler();

  // Returns the cached shared object for `wasm`, compiling it first on a miss. `display_name`
  // (e.g. "hello.wasm") is used in messages only. Errors: kParseError / kValidationError for
  // inputs that are not valid, supported core modules (the message carries wasm2c's diagnostic),
  // kInternal when the C compiler fails (with the tail of its output), kDeadlineExceeded when a
  // tool times out, kIOError with the path for file system failures.
  Result<CompiledModuleFile> Compile(std::span<const uint8_t> wasm, std::string_view display_name,
                                     const CompileControl& control = {}) const;

  // Whether Compile() would find `wasm`'s object in the cache: a SHA-256 of the bytes and a look
  // at the object's ELF header. False for bytes that are not a module.
  bool IsCached(std::span<const uint8_t> wasm) const;

  // The cache key Compile() uses for `wasm` with these options (of its code module when its data
  // is split off; "" when `wasm` cannot be read).
  std::string CacheKey(std::span<const uint8_t> wasm) const;

  // Where the shared object for `key` lives.
  std::filesystem::path CachePath(std::string_view key) const;

  const CompileOptions& options() const;

 private:
  struct State;
  explicit ModuleCompiler(std::unique_ptr<State> state);

  // Compile() for a module that is compiled as it is (`wasm` is the module or its code module).
  Result<CompiledModuleFile> CompileModule(std::span<const uint8_t> wasm,
                                           const WasmModuleInfo& info,
                                           std::string_view display_name,
                                           const CompileControl& control) const;
  // The key of the object compiled from exactly `wasm`.
  std::string KeyOf(std::span<const uint8_t> wasm) const;

  // Compiles the units of a split module and the shim in `dir` in parallel, then links them
  // into the shared object; reports each unit done to `progress`. A function unit whose object
  // is in the cache's units/ is linked from there, and one compiled here is put there; returns
  // how many were found there.
  [[nodiscard]] Result<size_t> CompileUnits(const SplitTranslation& split,
                                            const std::filesystem::path& dir,
                                            const std::string& name,
                                            std::chrono::milliseconds timeout,
                                            ProgressLine& progress,
                                            const std::atomic<bool>* cancel) const;
  // Where the object of a function unit with this text lives.
  std::filesystem::path UnitObjectPath(std::string_view unit_text) const;

  std::unique_ptr<State> state_;
};

}  // namespace theater::engine
