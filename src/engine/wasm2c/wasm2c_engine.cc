// Theater: a WebAssembly actor runtime.
//
// The wasm2c backend of the Engine interface: modules are compiled to shared objects by the
// ModuleCompiler (cached by content hash), loaded with dlopen, described by the descriptor their
// generated shim exports (shim_abi.h), and run through Theater's own runtime (runtime.h).
#include <dlfcn.h>
#include <openssl/sha.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "common/bytes.h"
#include "engine/compile/compile_watchers.h"
#include "engine/compile/data_split.h"
#include "engine/compile/module_compiler.h"
#include "engine/compile/subprocess.h"
#include "engine/compile/wasm_inspect.h"
#include "engine/wasm2c/background_compiles.h"
#include "engine/wasm2c/memory_image.h"
#include "engine/wasm2c/runtime.h"
#include "engine/wasm2c/shim_abi.h"
#include "engine/watchdog.h"
#include "theater/engine.h"

namespace theater::engine {
namespace {

constexpr uint64_t kWasmPageSize = 65536;
// A generated instance struct is a few hundred bytes; anything huge means a corrupt .so.
constexpr size_t kMaxInstanceSize = 64ull << 20;

bool ValidSignature(const char* sig) {
  if (!sig) return false;
  for (const char* p = sig; *p; ++p) {
    if (!std::strchr("iIfF", *p)) return false;
  }
  return true;
}

class Wasm2cModule;

// One allocation holds the instance, its import bindings and the module's instance struct
// (Create): a spawn of a small actor then allocates once here instead of three times.
class Wasm2cInstance final : public Instance {
 public:
  static std::unique_ptr<Wasm2cInstance> Create(std::shared_ptr<const Wasm2cModule> module,
                                                const InstanceOptions& options);
  ~Wasm2cInstance() override;
  // The block Create allocated (the class's own, so that deleting an Instance frees it).
  static void operator delete(void* block);

  Status Instantiate(ImportResolver& resolver, std::chrono::nanoseconds start_timeout);

  const Module& module() const override;
  CodeTier code_tier() const override;
  Status Call(uint32_t export_index, std::span<const uint64_t> args, std::span<uint64_t> results,
              const CallOptions& options) override;
  std::span<uint8_t> memory() override;
  void* ExternExport(uint32_t index) override;
  Result<uint64_t> Hibernate() override;

  const HostBinding& binding(uint32_t index) const { return bindings_[index]; }
  static Wasm2cInstance* FromHostContext(void* host_ctx) {
    return static_cast<HostContext*>(host_ctx)->instance;
  }

 protected:
  int RunExport(uint32_t index, const uint64_t* args, uint64_t* results) override;

 private:
  rt::MemoryConfig MemoryConfigForModule() const;
  // Gives the memory the module's initial size and data (a module compiled without them).
  [[nodiscard]] Status WriteModuleData(const ModuleData& data);

  // What the shim's stubs receive (see shim_abi.h): a word holding its own address, then the
  // instance.
  struct HostContext {
    HostContext* self;
    Wasm2cInstance* instance;
  };

  // Where the parts live in the block (Create); `storage` is 64-byte aligned.
  struct Layout {
    size_t bindings = 0;
    size_t storage = 0;
    size_t total = 0;
  };
  static constexpr std::align_val_t kBlockAlignment{64};
  static Layout LayoutFor(const theater_module_desc& desc);
  // `desc` is the module's code at Create(): the instance runs it for its whole life.
  Wasm2cInstance(std::shared_ptr<const Wasm2cModule> module, const theater_module_desc* desc,
                 const InstanceOptions& options, const Layout& layout);

  std::shared_ptr<const Wasm2cModule> module_;
  const theater_module_desc* desc_;
  HostContext host_context_{&host_context_, this};
  void* storage_ = nullptr;  // in the block: the module's instance struct
  bool instantiated_ = false;
  // Puts a hibernated memory back; every way into the instance calls it first.
  void WakeIfHibernated() {
    if (image_) [[unlikely]]
      Wake();
  }
  void Wake();

  uint32_t max_pages_;
  // The module's first instance publishes the pages it has written as each of this many export
  // calls returns (Wasm2cModule::PublishDirtyRuns); others start at 0.
  static constexpr uint8_t kLearningCalls = 4;
  uint8_t learning_calls_ = 0;
  HostBinding* bindings_ = nullptr;         // in the block: one per import, in the module's order
  std::unique_ptr<rt::MemoryImage> image_;  // while hibernated: what the memory held
};

class Wasm2cModule final : public Module, public std::enable_shared_from_this<Wasm2cModule> {
 public:
  // `desc` points into a loaded library that is never closed (see the destructor); `tier` is
  // the compile it came from.
  Wasm2cModule(std::string name, std::string sha256, const theater_module_desc* desc,
               CodeTier tier, MemoryMode mode, std::shared_ptr<const ModuleData> data)
      : name_(std::move(name)),
        sha256_(std::move(sha256)),
        desc_(desc),
        fast_desc_(tier == CodeTier::kFast ? desc : nullptr),
        mode_(mode),
        data_(std::move(data)) {
    for (uint32_t i = 0; i < desc->n_imports; ++i) {
      const auto& d = desc->imports[i];
      imports_.push_back(
          {d.module, d.name, {d.params, d.results}, static_cast<ExternKind>(d.kind)});
      if (imports_.back().kind == ExternKind::kMemory) imports_memory_ = true;
    }
    for (uint32_t i = 0; i < desc->n_exports; ++i) {
      const auto& d = desc->exports[i];
      exports_.push_back({d.name, {d.params, d.results}});
      export_index_.emplace(d.name, i);
    }
    for (uint32_t i = 0; i < desc->n_extern_exports; ++i) {
      const auto& d = desc->extern_exports[i];
      extern_exports_.push_back({d.name, static_cast<ExternKind>(d.kind), d.type[0]});
    }
  }
  // The .so stays loaded for the life of the process: a module is unloaded only when no
  // instance exists, and the engine's module table keeps modules for reuse anyway.
  ~Wasm2cModule() override = default;

  const std::string& name() const override { return name_; }
  const std::string& wasm_sha256() const override { return sha256_; }
  const std::vector<ImportInfo>& imports() const override { return imports_; }
  const std::vector<ExportInfo>& exports() const override { return exports_; }
  std::optional<uint32_t> FindExport(std::string_view name) const override {
    auto it = export_index_.find(name);
    if (it == export_index_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<ExternExportInfo>& extern_exports() const override { return extern_exports_; }
  MemoryMode memory_mode() const override { return mode_; }
  bool exports_memory() const override { return desc()->memory != nullptr; }
  CodeTier code_tier() const override {
    return desc() == fast_desc_ ? CodeTier::kFast : CodeTier::kOptimized;
  }

  Result<std::unique_ptr<Instance>> Instantiate(ImportResolver& resolver,
                                                const InstanceOptions& options) const override {
    std::unique_ptr<Wasm2cInstance> instance = Wasm2cInstance::Create(shared_from_this(), options);
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(instance->Instantiate(resolver, options.start_timeout),
                                         "instantiating module '" + name_ + "'");
    return std::unique_ptr<Instance>(std::move(instance));
  }

  // The code the next instance runs: the fast tier's until AdoptOptimized().
  const theater_module_desc* desc() const { return desc_.load(std::memory_order_acquire); }
  // The fast tier's code, or null when the module was compiled optimized at once.
  const theater_module_desc* fast_desc() const { return fast_desc_; }

  // Instances made from now on run `optimized`, the object compiled from the same bytes in the
  // background. Refused (kInternal, nothing changes) when it does not describe the same module:
  // its imports, exports, instance size or memory mode differ.
  [[nodiscard]] Status AdoptOptimized(const theater_module_desc* optimized) {
    const theater_module_desc* fast = desc();
    const auto same_signatures = [](const char* a, const char* b) {
      return std::strcmp(a, b) == 0;
    };
    bool same = optimized->n_imports == fast->n_imports &&
                optimized->n_exports == fast->n_exports &&
                optimized->n_extern_exports == fast->n_extern_exports &&
                optimized->instance_size == fast->instance_size &&
                optimized->memcheck_signal_handler == fast->memcheck_signal_handler &&
                (optimized->memory == nullptr) == (fast->memory == nullptr);
    for (uint32_t i = 0; same && i < fast->n_imports; ++i) {
      const auto& a = fast->imports[i];
      const auto& b = optimized->imports[i];
      same = a.kind == b.kind && std::strcmp(a.module, b.module) == 0 &&
             std::strcmp(a.name, b.name) == 0 && same_signatures(a.params, b.params) &&
             same_signatures(a.results, b.results);
    }
    for (uint32_t i = 0; same && i < fast->n_exports; ++i) {
      const auto& a = fast->exports[i];
      const auto& b = optimized->exports[i];
      same = std::strcmp(a.name, b.name) == 0 && same_signatures(a.params, b.params) &&
             same_signatures(a.results, b.results);
    }
    for (uint32_t i = 0; same && i < fast->n_extern_exports; ++i) {
      const auto& a = fast->extern_exports[i];
      const auto& b = optimized->extern_exports[i];
      same = a.kind == b.kind && std::strcmp(a.name, b.name) == 0 &&
             same_signatures(a.type, b.type);
    }
    if (!same) {
      return InternalError("the optimized object of module '" + name_ +
                           "' does not describe the same module as its fast tier's");
    }
    desc_.store(optimized, std::memory_order_release);
    return Status::Ok();
  }
  // The module's data when its object was compiled from its code alone (data_split.h): written
  // into each instance's memory as it is instantiated. Null otherwise.
  const ModuleData* data() const { return data_.get(); }

  // Whether the module imports its memory (then another instance owns it).
  bool imports_memory() const { return imports_memory_; }
  // What hibernated images of this module's instances are taken against (memory_image.h): the
  // memory of its first instance right after instantiation. Null until then.
  std::shared_ptr<const rt::MemoryBaseline> baseline() const {
    std::lock_guard<std::mutex> lock(baseline_mu_);
    return baseline_;
  }
  // Called after every instantiation; the first one's memory becomes the baseline (true for
  // that one).
  bool OfferBaseline(const uint8_t* memory, uint64_t bytes) const {
    if (baseline_offered_.load(std::memory_order_relaxed) ||
        baseline_offered_.exchange(true, std::memory_order_relaxed)) {
      return false;
    }
    auto baseline =
        std::make_shared<const rt::MemoryBaseline>(rt::MemoryBaseline::Copy(memory, bytes));
    std::lock_guard<std::mutex> lock(baseline_mu_);
    baseline_ = std::move(baseline);
    return true;
  }
  // The pages the module's first instance had written after its last learning call (memory_pool.h,
  // "fresh range"), which later instances of the module have populated in a fresh memory; null
  // until its first call returns.
  const std::vector<rt::PageRun>* dirty_runs() const {
    return dirty_runs_.load(std::memory_order_acquire);
  }
  // Called by the first instance as each of its first kLearningCalls export calls returns (an
  // actor's first are cabi_realloc, then init): the pages it has written by then.
  void PublishDirtyRuns(const uint8_t* memory, uint64_t bytes) const {
    auto runs =
        std::make_unique<const std::vector<rt::PageRun>>(rt::MemoryPool::DirtyRuns(memory, bytes));
    std::lock_guard<std::mutex> lock(baseline_mu_);
    // Earlier sets stay alive: an instantiation may be reading one.
    dirty_runs_.store(runs.get(), std::memory_order_release);
    dirty_runs_sets_.push_back(std::move(runs));
  }

 private:
  std::string name_;
  std::string sha256_;
  std::atomic<const theater_module_desc*> desc_;
  const theater_module_desc* const fast_desc_;
  MemoryMode mode_;
  std::shared_ptr<const ModuleData> data_;
  std::vector<ImportInfo> imports_;
  std::vector<ExportInfo> exports_;
  std::vector<ExternExportInfo> extern_exports_;
  std::map<std::string, uint32_t, std::less<>> export_index_;
  bool imports_memory_ = false;
  mutable std::atomic<bool> baseline_offered_{false};
  mutable std::mutex baseline_mu_;
  mutable std::shared_ptr<const rt::MemoryBaseline> baseline_;
  mutable std::vector<std::unique_ptr<const std::vector<rt::PageRun>>> dirty_runs_sets_;
  mutable std::atomic<const std::vector<rt::PageRun>*> dirty_runs_{nullptr};
};

// ---------------------------------------------------------------------------------------------

Wasm2cInstance::Layout Wasm2cInstance::LayoutFor(const theater_module_desc& desc) {
  auto round_up = [](size_t n, size_t to) { return (n + to - 1) / to * to; };
  Layout layout;
  layout.bindings = round_up(sizeof(Wasm2cInstance), alignof(HostBinding));
  layout.storage = round_up(layout.bindings + desc.n_imports * sizeof(HostBinding),
                            static_cast<size_t>(kBlockAlignment));
  layout.total =
      layout.storage + round_up(desc.instance_size, static_cast<size_t>(kBlockAlignment));
  return layout;
}

std::unique_ptr<Wasm2cInstance> Wasm2cInstance::Create(std::shared_ptr<const Wasm2cModule> module,
                                                       const InstanceOptions& options) {
  const theater_module_desc* desc = module->desc();
  const Layout layout = LayoutFor(*desc);
  void* block = ::operator new(layout.total, kBlockAlignment);
  try {
    return std::unique_ptr<Wasm2cInstance>(
        new (block) Wasm2cInstance(std::move(module), desc, options, layout));
  } catch (...) {
    ::operator delete(block, kBlockAlignment);
    throw;
  }
}

void Wasm2cInstance::operator delete(void* block) {
  ::operator delete(block, kBlockAlignment);
}

Wasm2cInstance::Wasm2cInstance(std::shared_ptr<const Wasm2cModule> module,
                               const theater_module_desc* desc, const InstanceOptions& options,
                               const Layout& layout)
    : module_(std::move(module)), desc_(desc) {
  char* block = reinterpret_cast<char*>(this);
  bindings_ = reinterpret_cast<HostBinding*>(block + layout.bindings);
  for (uint32_t i = 0; i < desc_->n_imports; ++i) new (&bindings_[i]) HostBinding();
  storage_ = block + layout.storage;
  user_data_ = options.user_data;
  shared_host_error_ = options.host_error_slot;
  uint64_t pages = options.max_memory_bytes / kWasmPageSize;
  max_pages_ = pages > 65536 ? 65536 : static_cast<uint32_t>(pages);
}

rt::MemoryConfig Wasm2cInstance::MemoryConfigForModule() const {
  return rt::MemoryConfig{desc_->memcheck_signal_handler != 0, max_pages_,
                          module_->dirty_runs()};
}

namespace {
struct InstantiateArgs {
  const theater_module_desc* desc;
  void* host_ctx;
};
void InstantiateThunk(void* storage, const uint64_t* args, uint64_t*) {
  const auto* a = reinterpret_cast<const InstantiateArgs*>(args);
  a->desc->instantiate(storage, a->host_ctx);
}
}  // namespace

Status Wasm2cInstance::Instantiate(ImportResolver& resolver,
                                   std::chrono::nanoseconds start_timeout) {
  const auto& imports = module_->imports();
  for (size_t i = 0; i < imports.size(); ++i) {
    const ImportInfo& import = imports[i];
    Result<HostBinding> binding = resolver.Resolve(import);
    if (!binding.ok()) {
      return binding.status().WithContext("import '" + import.module + "." + import.name + "'");
    }
    if (import.kind == ExternKind::kFunction ? !binding->fn : !binding->external) {
      return InternalError("resolver returned nothing to bind to " + import.name);
    }
    bindings_[i] = *binding;
  }
  std::memset(storage_, 0, desc_->instance_size);

  rt::SetMemoryConfig(MemoryConfigForModule());
  rt::CallState state;
  state.id = rt::NextCallId();
  state.deadline_ns = rt::DeadlineAfter(start_timeout);
  rt::SetThreadStackBounds(&state);
  rt::CallState* previous = rt::EnterCallState(&state);
  if (state.deadline_ns) Watchdog::Get().Arm(state.deadline_ns);
  InstantiateArgs args{desc_, &host_context_};
  int code =
      rt::RunGuest(InstantiateThunk, storage_, reinterpret_cast<const uint64_t*>(&args), nullptr);
  rt::LeaveCallState(previous);
  instantiated_ = true;  // partially initialised state is still freed by the destructor
  if (code != WASM_RT_TRAP_NONE) {
    poisoned_ = true;
    if (code == WASM_RT_TRAP_INTERRUPTED) {
      return DeadlineExceeded("the start function ran past its deadline");
    }
    if (code == WASM_RT_TRAP_HOST && !host_error().ok()) {
      Status cause = std::move(host_error());
      host_error() = Status();
      return cause.WithContext("start function");
    }
    if (code == WASM_RT_TRAP_EXHAUSTION) {
      return ResourceExhausted(
          "initial linear memory exceeds the instance's memory limit, or the address space is "
          "exhausted");
    }
    return TrapError(std::string("trap during initialisation: ") +
                     wasm_rt_strerror(static_cast<wasm_rt_trap_t>(code)));
  }
  if (const ModuleData* data = module_->data()) {
    THEATER_RETURN_IF_ERROR(WriteModuleData(*data));
  }
  if (desc_->memory && !module_->imports_memory()) {
    const wasm_rt_memory_t* mem = desc_->memory(storage_);
    if (module_->OfferBaseline(mem->data, mem->size)) learning_calls_ = kLearningCalls;
  }
  return Status();
}

Status Wasm2cInstance::WriteModuleData(const ModuleData& data) {
  wasm_rt_memory_t* mem = desc_->memory(storage_);
  if (mem->pages < data.initial_pages()) {
    // The code module's memory starts empty; grown as the module's own would have been made.
    const auto delta = static_cast<uint32_t>(data.initial_pages() - mem->pages);
    if (wasm_rt_grow_memory(mem, delta) == UINT32_MAX) {
      poisoned_ = true;
      return ResourceExhausted(
          "initial linear memory exceeds the instance's memory limit, or the address space is "
          "exhausted");
    }
  }
  data.WriteTo(mem->data);
  return Status();
}

Wasm2cInstance::~Wasm2cInstance() {
  if (instantiated_) {
    rt::SetMemoryConfig(MemoryConfigForModule());
    desc_->free_instance(storage_);
  }
}

Result<uint64_t> Wasm2cInstance::Hibernate() {
  // A memory imported from another instance is that instance's to give back.
  if (image_ || !instantiated_ || poisoned_ || !desc_->memory || module_->imports_memory()) {
    return uint64_t{0};
  }
  wasm_rt_memory_t* mem = desc_->memory(storage_);
  if (mem->data == nullptr || mem->size == 0) return uint64_t{0};
  image_ = std::make_unique<rt::MemoryImage>(
      rt::MemoryImage::Capture(mem->data, mem->size, module_->baseline()));
  return image_->size_bytes();
}

void Wasm2cInstance::Wake() {
  wasm_rt_memory_t* mem = desc_->memory(storage_);
  image_->Restore(mem->data);
  image_.reset();
}

const Module& Wasm2cInstance::module() const {
  return *module_;
}

CodeTier Wasm2cInstance::code_tier() const {
  return desc_ == module_->fast_desc() ? CodeTier::kFast : CodeTier::kOptimized;
}

std::span<uint8_t> Wasm2cInstance::memory() {
  WakeIfHibernated();
  if (!desc_->memory) return {};
  wasm_rt_memory_t* mem = desc_->memory(storage_);
  return {mem->data, mem->size};
}

void* Wasm2cInstance::ExternExport(uint32_t index) {
  WakeIfHibernated();  // the object may be a memory someone is about to read
  if (index >= desc_->n_extern_exports) return nullptr;
  return desc_->extern_exports[index].get(storage_);
}

int Wasm2cInstance::RunExport(uint32_t index, const uint64_t* args, uint64_t* results) {
  WakeIfHibernated();
  const int code = rt::RunGuest(desc_->exports[index].fn, storage_, args, results);
  if (learning_calls_ != 0 && code == WASM_RT_TRAP_NONE) {
    --learning_calls_;
    const wasm_rt_memory_t* mem = desc_->memory(storage_);
    module_->PublishDirtyRuns(mem->data, mem->size);
  }
  return code;
}

Status Wasm2cInstance::Call(uint32_t index, std::span<const uint64_t> args,
                            std::span<uint64_t> results, const CallOptions& options) {
  if (index >= desc_->n_exports) return InvalidArgument("export index out of range");
  WakeIfHibernated();
  const theater_export_desc& e = desc_->exports[index];
  if (args.size() != std::strlen(e.params) || results.size() < std::strlen(e.results)) {
    return InvalidArgument(std::string("wrong number of arguments or results for export '") +
                           e.name + "' (" + e.params + ") -> (" + e.results + ")");
  }
  if (poisoned_) return FailedPrecondition("instance is poisoned by an earlier trap");
  int code;
  if (rt::CurrentCallState() != nullptr) {
    // Nested inside a host import (e.g. cabi_realloc while lowering results): part of the
    // running call, under its deadline and trap target.
    code = RunExport(index, args.data(), results.data());
  } else {
    rt::CallState state;
    state.id = rt::NextCallId();
    state.deadline_ns = rt::DeadlineAfter(options.timeout);
    rt::SetThreadStackBounds(&state);
    rt::CallState* previous = rt::EnterCallState(&state);
    if (state.deadline_ns) Watchdog::Get().Arm(state.deadline_ns);
    code = RunExport(index, args.data(), results.data());
    rt::LeaveCallState(previous);
  }
  return TrapStatus(code, e.name);
}

// ---------------------------------------------------------------------------------------------

// MemoryMode::kAuto's choice for one module. Code compiled for guard pages does not check
// bounds, so it may only ever see a guard-page memory, which is its own: guard pages go to a
// module that defines its memory, imports none, and starts it larger than kSmallMemoryBytes (an
// engine such as a JavaScript runtime, whose compute the checks would slow). Everything else is
// checked, which is safe with a memory of either kind (a component's adapters import the main
// module's memory). A module the inspection cannot read is compiled checked, and the compile
// reports what is wrong with it.
MemoryMode AutoMemoryMode(std::span<const uint8_t> wasm) {
  Result<WasmModuleInfo> info = InspectWasmModule(wasm);
  if (!info.ok() || info->memories.size() != 1) return MemoryMode::kBoundsChecks;
  for (const WasmImport& import : info->imports) {
    if (import.kind == WasmExternKind::kMemory) return MemoryMode::kBoundsChecks;
  }
  const WasmLimits& memory = info->memories[0];
  return !memory.is64 && memory.min * kWasmPageSize > kSmallMemoryBytes ? MemoryMode::kGuardPages
                                                                        : MemoryMode::kBoundsChecks;
}

// The compilers of one memory mode: `optimized` always; `fast` under TierPolicy::kTiered and
// kFast when tcc is installed.
struct ModeCompilers {
  std::unique_ptr<ModuleCompiler> optimized;
  std::unique_ptr<ModuleCompiler> fast;
};

class Wasm2cEngine final : public Engine {
 public:
  // `guard` and `bounds` compile for each memory mode; only the one the options' mode needs is
  // given, except under kAuto.
  Wasm2cEngine(EngineOptions options, TierPolicy tier, ModeCompilers guard, ModeCompilers bounds,
               std::shared_ptr<CompileWatchers> watchers)
      : options_(std::move(options)),
        tier_(tier),
        guard_(std::move(guard)),
        bounds_(std::move(bounds)),
        watchers_(std::move(watchers)) {}

  ~Wasm2cEngine() override {
    // Before the compilers the jobs use go: stops the running compile and drops the rest.
    background_.reset();
  }

  const EngineOptions& options() const override { return options_; }

  CompileWatch WatchCompiles(CompileObserver observer) override {
    return watchers_->Add(std::move(observer));
  }

  bool WaitForBackgroundCompiles(std::chrono::milliseconds timeout) override {
    return background_->WaitIdle(timeout);
  }

  Result<std::shared_ptr<const Module>> LoadModule(std::span<const uint8_t> wasm,
                                                   std::string_view name) override {
    std::string sha = Sha256Hex(wasm);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = modules_.find(sha);
      if (it != modules_.end()) return std::shared_ptr<const Module>(it->second);
    }
    const ModeCompilers& compilers =
        !bounds_.optimized  ? guard_
        : !guard_.optimized ? bounds_
                            : (AutoMemoryMode(wasm) == MemoryMode::kGuardPages ? guard_ : bounds_);
    if (compilers.fast && StartsFromFastTier(wasm, *compilers.optimized)) {
      Result<std::shared_ptr<Wasm2cModule>> fast = LoadFastTier(wasm, name, sha, compilers);
      if (fast.ok()) return Keep(sha, std::move(fast).value());
      // A module tcc cannot take (a construct it lacks) still runs: optimized, as before tiers.
      if (fast.status().code() == StatusCode::kCancelled) return fast.status();
      Tell("the fast tier could not compile " + std::string(name) + "; compiling it optimized: " +
               fast.status().ToString(),
           Importance::kWarning);
    }
    Result<CompiledModuleFile> compiled = compilers.optimized->Compile(wasm, name);
    if (!compiled.ok())
      return compiled.status().WithContext("loading module '" + std::string(name) + "'");
    if (!compiled->cache_hit) {
      Tell("compiled " + std::string(name) + " optimized in " + Seconds(compiled->compile_time),
           Importance::kLogOnly);
    }
    THEATER_ASSIGN_OR_RETURN(auto module,
                             Open(compiled->so_path, std::string(name), sha, CodeTier::kOptimized,
                                  std::move(compiled->data)));
    return Keep(sha, std::move(module));
  }

 private:
  // Whether `wasm` runs from the fast tier first (TierPolicy).
  bool StartsFromFastTier(std::span<const uint8_t> wasm, const ModuleCompiler& optimized) const {
    if (tier_ == TierPolicy::kFast) return true;
    if (tier_ != TierPolicy::kTiered) return false;
    Result<WasmModuleInfo> info = InspectWasmModule(wasm);
    // A module the inspection cannot read goes the optimized way, which words what is wrong.
    if (!info.ok() || CodeSectionBytes(*info) < options_.fast_tier_min_code_bytes) return false;
    return !optimized.IsCached(wasm);
  }

  // Compiles and opens `wasm`'s fast tier and, under kTiered, queues its optimized compile.
  Result<std::shared_ptr<Wasm2cModule>> LoadFastTier(std::span<const uint8_t> wasm,
                                                     std::string_view name, const std::string& sha,
                                                     const ModeCompilers& compilers) {
    THEATER_ASSIGN_OR_RETURN(CompiledModuleFile compiled, compilers.fast->Compile(wasm, name));
    THEATER_ASSIGN_OR_RETURN(auto module, Open(compiled.so_path, std::string(name), sha,
                                               CodeTier::kFast, std::move(compiled.data)));
    if (!compiled.cache_hit) {
      Tell("compiled " + std::string(name) + " by the fast tier in " +
               Seconds(compiled.compile_time),
           Importance::kLogOnly);
    }
    if (tier_ != TierPolicy::kTiered) return module;
    const ModuleCompiler* optimized = compilers.optimized.get();
    Tell(std::string(name) +
             " runs from the fast tier; its optimized compile goes on in the background "
             "(`theater compile` makes it ahead of time)",
         Importance::kInfo);
    std::weak_ptr<Wasm2cModule> weak = module;
    background_->Add([this, optimized, weak, name = std::string(name),
                      bytes = std::vector<uint8_t>(wasm.begin(), wasm.end())](
                         const std::atomic<bool>& cancel) {
      OptimizeInBackground(*optimized, bytes, name, weak, cancel);
    });
    return module;
  }

  // The background job of one module: its optimized compile, then its adoption for the
  // instances made after it. A module no one holds any more is compiled all the same: its
  // object is for the next process, or the next load.
  void OptimizeInBackground(const ModuleCompiler& optimized, const std::vector<uint8_t>& wasm,
                            const std::string& name, const std::weak_ptr<Wasm2cModule>& weak,
                            const std::atomic<bool>& cancel) {
    CompileControl control;
    control.cancel = &cancel;
    control.quiet = true;
    Result<CompiledModuleFile> compiled = optimized.Compile(wasm, name, control);
    if (!compiled.ok()) {
      if (compiled.status().code() == StatusCode::kCancelled) {
        Tell("the optimized compile of " + name +
                 " stopped with this process; the units it finished are kept for the next one",
             Importance::kInfo);
        return;
      }
      Tell("the optimized compile of " + name +
               " failed; it keeps running from the fast tier: " + compiled.status().ToString(),
           Importance::kWarning);
      return;
    }
    std::shared_ptr<Wasm2cModule> module = weak.lock();
    if (!module) return;
    // Both tiers split the module's data off alike (the same bytes, the same rule); an object
    // that did otherwise would start instances without their data, or with it twice.
    Result<std::shared_ptr<Wasm2cModule>> opened =
        (compiled->data != nullptr) != (module->data() != nullptr)
            ? Result<std::shared_ptr<Wasm2cModule>>(InternalError(
                  "its optimized object and its fast tier's disagree on its data"))
            : Open(compiled->so_path, name, module->wasm_sha256(), CodeTier::kOptimized, nullptr);
    Status adopted = opened.ok() ? module->AdoptOptimized((*opened)->desc()) : opened.status();
    if (!adopted.ok()) {
      Tell(name + " keeps running from the fast tier: " + adopted.ToString(),
           Importance::kWarning);
      return;
    }
    Tell(name + ": its optimized object is ready (compiled in the background in " +
             Seconds(compiled->compile_time) + "); new instances run it",
         Importance::kInfo);
  }

  // Who hears what the engine says about its compiles: EngineOptions::compile_log always; the
  // progress stream of a `theater` command (Progress::kOn) the information, and any embedder's
  // stream (unless Progress::kOff) the warnings.
  enum class Importance { kLogOnly, kInfo, kWarning };
  void Tell(const std::string& line, Importance importance) const {
    if (options_.compile_log) options_.compile_log(line, importance == Importance::kWarning);
    const bool shown = importance == Importance::kWarning
                           ? options_.progress != EngineOptions::Progress::kOff
                           : importance == Importance::kInfo &&
                                 options_.progress == EngineOptions::Progress::kOn;
    if (shown) std::fprintf(stderr, "%s\n", line.c_str());
  }

  static std::string Seconds(std::chrono::nanoseconds elapsed) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f s", std::chrono::duration<double>(elapsed).count());
    return text;
  }

  std::shared_ptr<const Module> Keep(const std::string& sha, std::shared_ptr<Wasm2cModule> module) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, inserted] = modules_.emplace(sha, std::move(module));
    return std::shared_ptr<const Module>(it->second);
  }

  Result<std::shared_ptr<Wasm2cModule>> Open(const std::filesystem::path& so, std::string name,
                                             std::string sha, CodeTier tier,
                                             std::shared_ptr<const ModuleData> data) {
    rt::InitProcess();
    void* handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* err = dlerror();
      return InternalError("cannot load compiled module " + so.string() + ": " +
                           (err ? err : "unknown dlopen error"));
    }
    auto entry = reinterpret_cast<theater_module_fn>(dlsym(handle, THEATER_MODULE_SYMBOL));
    const theater_module_desc* desc = entry ? entry() : nullptr;
    Status valid = ValidateDescriptor(desc);
    if (!valid.ok()) {
      dlclose(handle);
      return valid.WithContext("compiled module " + so.string() + " is not usable");
    }
    desc->init_module();
    MemoryMode mode =
        desc->memcheck_signal_handler ? MemoryMode::kGuardPages : MemoryMode::kBoundsChecks;
    if (data && !desc->memory) {
      return InternalError("compiled module " + so.string() +
                           " exports no memory to write its data into");
    }
    return std::make_shared<Wasm2cModule>(std::move(name), std::move(sha), desc, tier, mode,
                                          std::move(data));
  }

  Status ValidateDescriptor(const theater_module_desc* desc) const {
    if (!desc) return InternalError("missing symbol " THEATER_MODULE_SYMBOL);
    if (desc->abi_version != THEATER_SHIM_ABI_VERSION) {
      return InternalError("shim ABI version " + std::to_string(desc->abi_version) + ", expected " +
                           std::to_string(THEATER_SHIM_ABI_VERSION));
    }
    if (desc->instance_size == 0 || desc->instance_size > kMaxInstanceSize || !desc->init_module ||
        !desc->instantiate || !desc->free_instance) {
      return InternalError("malformed module descriptor");
    }
    for (uint32_t i = 0; i < desc->n_imports; ++i) {
      const auto& d = desc->imports[i];
      if (!d.module || !d.name || !ValidSignature(d.params) || !ValidSignature(d.results) ||
          d.kind > THEATER_EXTERN_GLOBAL) {
        return InternalError("malformed import descriptor");
      }
    }
    for (uint32_t i = 0; i < desc->n_extern_exports; ++i) {
      const auto& d = desc->extern_exports[i];
      if (!d.name || !d.get || !ValidSignature(d.type) || d.kind == THEATER_EXTERN_FUNC ||
          d.kind > THEATER_EXTERN_GLOBAL) {
        return InternalError("malformed extern export descriptor");
      }
    }
    for (uint32_t i = 0; i < desc->n_exports; ++i) {
      const auto& d = desc->exports[i];
      if (!d.name || !d.fn || !ValidSignature(d.params) || !ValidSignature(d.results)) {
        return InternalError("malformed export descriptor");
      }
    }
    return Status();
  }

  EngineOptions options_;
  TierPolicy tier_;
  ModeCompilers guard_;
  ModeCompilers bounds_;
  std::shared_ptr<CompileWatchers> watchers_;  // the compilers' options hold it too
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Wasm2cModule>> modules_;
  // Declared last: destroyed (reset) first, while everything its jobs use still exists.
  std::unique_ptr<BackgroundCompiles> background_ = std::make_unique<BackgroundCompiles>();
};

// $THEATER_TIER, or kTiered.
Result<TierPolicy> TierFromEnvironment() {
  const char* value = std::getenv("THEATER_TIER");
  if (value == nullptr || *value == '\0') return TierPolicy::kTiered;
  const std::string_view tier(value);
  if (tier == "tiered") return TierPolicy::kTiered;
  if (tier == "optimized") return TierPolicy::kOptimized;
  if (tier == "fast") return TierPolicy::kFast;
  return InvalidArgument("$THEATER_TIER must be tiered, optimized or fast, not '" +
                         std::string(tier) + "'");
}

}  // namespace

std::span<uint8_t> MemoryBytes(void* memory) {
  if (memory == nullptr) return {};
  auto* m = static_cast<wasm_rt_memory_t*>(memory);
  return {m->data, m->size};
}

void Engine::CancelCompiles() {
  CancelAllSubprocesses();
}

Result<std::unique_ptr<Engine>> Engine::Create(EngineOptions options) {
  rt::InitProcess();
  THEATER_ASSIGN_OR_RETURN(CompileOptions compile, DefaultCompileOptions());
  if (!options.cache_dir.empty()) compile.cache_dir = options.cache_dir;
  if (options.opt_level >= 0) compile.opt_level = options.opt_level;
  compile.data_split_min_code_bytes = options.data_split_min_code_bytes;
  compile.unit_bytes = options.compile_unit_bytes;
  if (options.preempt_slice.count() < 0) {
    return InvalidArgument("preempt_slice must not be negative (zero disables time slices)");
  }
  compile.preempt_checks = options.preempt_slice.count() > 0;
  auto watchers = std::make_shared<CompileWatchers>();
  compile.watchers = watchers;
  switch (options.progress) {
    case EngineOptions::Progress::kAuto:
      compile.progress = ProgressMode::kAuto;
      break;
    case EngineOptions::Progress::kOn:
      compile.progress = ProgressMode::kOn;
      break;
    case EngineOptions::Progress::kOff:
      compile.progress = ProgressMode::kOff;
      break;
  }
  TierPolicy tier = TierPolicy::kTiered;
  if (options.tier) {
    tier = *options.tier;
  } else {
    THEATER_ASSIGN_OR_RETURN(tier, TierFromEnvironment());
  }
  // The fast tier's compilers. Without tcc, kTiered compiles everything optimized; kFast, which
  // was asked for by name, says what is missing.
  const auto make = [&](bool signal_memcheck) -> Result<ModeCompilers> {
    ModeCompilers made;
    compile.signal_memcheck = signal_memcheck;
    compile.tier = CompileTier::kOptimized;
    THEATER_ASSIGN_OR_RETURN(made.optimized, ModuleCompiler::Create(compile));
    if (tier == TierPolicy::kOptimized) return made;
    compile.tier = CompileTier::kFast;
    Result<std::unique_ptr<ModuleCompiler>> fast = ModuleCompiler::Create(compile);
    if (fast.ok()) {
      made.fast = std::move(fast).value();
    } else if (tier == TierPolicy::kFast || fast.status().code() != StatusCode::kUnavailable) {
      return fast.status();
    }
    return made;
  };
  ModeCompilers guard, bounds;
  if (options.memory_mode != MemoryMode::kBoundsChecks) {
    THEATER_ASSIGN_OR_RETURN(guard, make(true));
  }
  if (options.memory_mode != MemoryMode::kGuardPages) {
    THEATER_ASSIGN_OR_RETURN(bounds, make(false));
  }
  return std::unique_ptr<Engine>(new Wasm2cEngine(std::move(options), tier, std::move(guard),
                                                  std::move(bounds), std::move(watchers)));
}

}  // namespace theater::engine

extern "C" int theater_host_dispatch(void* host_ctx, uint32_t import_index, const uint64_t* args,
                                     uint64_t* results) {
  auto* instance = theater::engine::Wasm2cInstance::FromHostContext(host_ctx);
  const theater::engine::HostBinding& binding = instance->binding(import_index);
  return binding.fn(*instance, binding.data, args, results);
}

extern "C" void* theater_host_extern(void* host_ctx, uint32_t import_index) {
  auto* instance = theater::engine::Wasm2cInstance::FromHostContext(host_ctx);
  return instance->binding(import_index).external;
}
