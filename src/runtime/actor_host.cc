// Theater: a WebAssembly actor runtime.
#include "runtime/actor_host.h"

#include <algorithm>
#include <array>
#include <ctime>

#include "common/clock.h"
#include "common/composed_name.h"
#include "component/component_module.h"
#include "runtime/host_call_replay.h"
#include "runtime/plan_cache.h"
#include "runtime/wit_embedded.h"

namespace theater::runtime {

using abi::Value;

namespace {

constexpr std::string_view kPackagePrefix = "theater:simple/";
constexpr std::string_view kInitExport = "theater:simple/actor#init";
// An error value a host function returns to the guest (the err of a result<_, string>) is cut
// to this many bytes: errors may quote what the guest sent (ids, paths, manifests), and that
// may be megabytes, past what the ABI lowers.
constexpr size_t kMaxGuestErrorBytes = 1024;

// Cuts the string of every top-level err(string) in `results` to kMaxGuestErrorBytes, at a
// UTF-8 character boundary, saying how long it was.
void BoundErrorValues(std::vector<Value>& results) {
  for (Value& v : results) {
    if (!v.is_err() || !v.payload() || v.payload()->kind() != abi::TypeKind::kString) continue;
    const std::string& text = v.payload()->as_string();
    if (text.size() <= kMaxGuestErrorBytes) continue;
    size_t cut = kMaxGuestErrorBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    std::string bounded = text.substr(0, cut) + "... (an error of " + std::to_string(text.size()) +
                          " bytes, cut at the limit of " + std::to_string(kMaxGuestErrorBytes) +
                          " bytes for errors returned to actors)";
    *v.mutable_payload() = Value::String(std::move(bounded));
  }
}

Value StateValue(const StateBytes& state) {
  // Shared, not copied: the state is immutable once set, and the call only reads it.
  return state ? Value::Some(Value::SharedBytes(state)) : Value::None();
}

constexpr std::string_view kExportEventType = "wasm";

// The short interface name inside theater:simple ("runtime" for "theater:simple/runtime").
std::optional<std::string_view> ShortInterfaceName(std::string_view qualified) {
  if (qualified.substr(0, kPackagePrefix.size()) != kPackagePrefix) return std::nullopt;
  return qualified.substr(kPackagePrefix.size());
}

}  // namespace

Result<const wit::Package*> TheaterPackage() {
  static const Result<wit::Package> package = [] {
    std::vector<wit::SourceFile> sources;
    for (const EmbeddedFile& f : EmbeddedTheaterWit()) {
      sources.push_back({std::string(f.name), std::string(f.contents)});
    }
    Result<wit::Package> parsed = wit::ParseWitSources(sources);
    // The forms the handlers' documentation gives: runtime.log with a level
    // (wit/runtime.wit) and handle-request without a request id (wit/message-server.wit).
    if (parsed.ok()) {
      parsed->alternate_forms.emplace_back("runtime", "runtime-leveled");
      parsed->alternate_forms.emplace_back("message-server-client", "message-server-client-simple");
    }
    return parsed;
  }();
  if (!package.ok()) return package.status().WithContext("the embedded theater:simple WIT");
  return &package.value();
}

Result<uint32_t> InstanceMemory::Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                         uint32_t new_size) {
  uint64_t args[4] = {old_ptr, old_size, align, new_size};
  uint64_t result[1] = {0};
  THEATER_RETURN_IF_ERROR(instance_.Call(realloc_index_, args, result).WithContext("cabi_realloc"));
  return static_cast<uint32_t>(result[0]);
}

// An import's "<module>/<name>", the chain's event type for its calls, with the module and the
// name as views of it: one string per binding instead of three.
class CallName {
 public:
  CallName(std::string_view module, std::string_view name)
      : text_(ComposedName({module, "/", name}).str()), split_(module.size()) {}
  std::string_view event_type() const { return text_; }
  std::string_view module() const { return std::string_view(text_).substr(0, split_); }
  std::string_view name() const { return std::string_view(text_).substr(split_ + 1); }
  // "<module>.<name>", for messages.
  std::string qualified() const { return ComposedName({module(), ".", name()}).str(); }

 private:
  std::string text_;
  size_t split_;
};

struct ActorHost::ImportBinding {
  ActorHost* host;
  CallName call;  // the WIT interface and function
  abi::FunctionPlan plan;
  // A handler's function (given the actor; it lives in the host's functions_), or else one of
  // the host's own.
  const HostFunction* impl = nullptr;
  HostFunctionImpl own;
  // The actor's permissions are fixed at spawn, so whether this import's handler is permitted is
  // decided once, at binding; every call then checks this. OK when permitted.
  Status denial;
  // Fail closed: a function whose WIT result is result<_, string> gets the denial as its error
  // value, so a well-behaved actor can handle it; any other function traps.
  bool denial_is_err_value = false;
};

struct ActorHost::CoreBinding {
  ActorHost* host;
  CallName call;                           // the import's module and name
  const CoreHostFunction* impl = nullptr;  // in the host's functions_; null while replaying
  size_t params = 0;   // core argument and result counts (the import's signature)
  size_t results = 0;
  // As ImportBinding::denial; a denied core call always traps.
  Status denial;
};

ActorHost::ActorHost(std::shared_ptr<const engine::Module> module, ActorHostOptions options,
                     std::shared_ptr<chain::EventChain> chain)
    : module_(std::move(module)),
      options_(std::move(options)),
      chain_(std::move(chain)),
      state_(options_.initial_state),
      log_rate_(options_.log_bytes_per_second),
      event_rate_(options_.custom_event_bytes_per_second) {
  UpdateStateDigest();
}

ActorHost::~ActorHost() = default;

void ActorHost::Log(std::string_view line) {
  const int64_t now = SteadyNowNs();
  const bool admitted = log_rate_.Admit(line.size(), now);
  NoticeDrops(log_rate_, "log lines", now);
  if (admitted && options_.log_sink) options_.log_sink(line);
}

bool ActorHost::RecordCustomEvent(std::string_view type, std::span<const uint8_t> data) {
  const int64_t now = SteadyNowNs();
  const bool admitted = event_rate_.Admit(type.size() + data.size(), now);
  NoticeDrops(event_rate_, "custom events", now);
  if (admitted) {
    chain_->Append("custom/" + std::string(type), std::vector<uint8_t>(data.begin(), data.end()));
  }
  return admitted;
}

void ActorHost::NoticeAllDrops() {
  const int64_t now = SteadyNowNs();
  NoticeDrops(log_rate_, "log lines", now, true);
  NoticeDrops(event_rate_, "custom events", now, true);
}

void ActorHost::NoticeDrops(ByteRateLimiter& limiter, std::string_view what, int64_t now_ns,
                            bool all) {
  std::optional<ByteRateLimiter::Dropped> dropped =
      all ? limiter.TakeAll() : limiter.TakeNotice(now_ns);
  if (!dropped) return;
  const std::string notice = std::to_string(dropped->items) + " " + std::string(what) + " (" +
                             std::to_string(dropped->bytes) +
                             " bytes) dropped: over the actor's limit of " +
                             std::to_string(limiter.bytes_per_second()) + " bytes/s";
  if (options_.log_sink) options_.log_sink("[theater] " + notice);
  chain_->Append(chain::Lifecycle{"rate-limited", notice});
}

void ActorHost::RecordHostCall(std::string_view event_type, std::string_view interface_name,
                               std::string_view function, std::span<const Value> input,
                               const chain::CallOutcomeView& output) {
  if (!options_.record_chain) return;
  chain_->AppendWith(event_type, [&](std::vector<uint8_t>& payload) {
    chain::EncodeHostCallTo(interface_name, function, input, output, payload,
                            options_.byte_spill.get());
  });
}

void ActorHost::SetState(StateBytes state) {
  state_ = std::move(state);
  UpdateStateDigest();
}

void ActorHost::UpdateStateDigest() {
  if (options_.record_chain && state_ && chain::StateRecordedByDigest(state_->size())) {
    state_digest_ = chain::Sha256(*state_);
  }
}

chain::StateRecordView ActorHost::ChainStateRecord() const {
  return state_ ? chain::StateRecordView::OfBytes(*state_, state_digest_)
                : chain::StateRecordView();
}

Result<std::unique_ptr<ActorHost>> ActorHost::Create(std::shared_ptr<const engine::Module> module,
                                                     ActorHostOptions options,
                                                     std::shared_ptr<chain::EventChain> chain,
                                                     HostFunctionTable extra) {
  std::unique_ptr<ActorHost> host(
      new ActorHost(std::move(module), std::move(options), std::move(chain)));
  Status bound = host->Bind(std::move(extra));
  if (!bound.ok()) return bound.WithContext("actor '" + host->options_.name + "'");
  return host;
}

void ActorHost::BindStandaloneRuntime(std::map<std::string, HostFunctionImpl>* impls) {
  (*impls)["log"] = [](ActorHost& host, std::span<const Value> args) -> Result<std::vector<Value>> {
    host.Log(args[0].as_string());
    return std::vector<Value>{};
  };
  (*impls)["get-state"] = [](ActorHost& host,
                             std::span<const Value>) -> Result<std::vector<Value>> {
    return std::vector<Value>{StateValue(host.state_)};
  };
  // A standalone host has no lifecycle to end (it runs the calls it is given).
  (*impls)["shutdown"] = [](ActorHost&, std::span<const Value>) -> Result<std::vector<Value>> {
    return std::vector<Value>{Value::Ok()};
  };
  (*impls)["get-chain"] = [](ActorHost& host,
                             std::span<const Value>) -> Result<std::vector<Value>> {
    // chain { events: list<meta-event> }, meta-event { hash: u64, event: event },
    // event { event-type: string, parent: option<u64>, data: list<u8> }. The u64 "hash" is the
    // first 8 bytes (big-endian) of the event's SHA-256; the full hash stays in the chain.
    auto short_hash = [](const chain::Hash& h) {
      uint64_t v = 0;
      for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
      return v;
    };
    std::vector<Value> metas;
    for (const chain::Event& e : host.chain_->events()) {
      Value parent = e.parent ? Value::Some(Value::U64(short_hash(*e.parent))) : Value::None();
      Value event = Value::Record({Value::String(e.type), parent, Value::Bytes(e.payload)});
      metas.push_back(Value::Record({Value::U64(short_hash(e.hash)), event}));
    }
    return std::vector<Value>{Value::Record({Value::List(std::move(metas))})};
  };
}

namespace {

// Resolves an actor's imports: at the core level through `lookup`, and, for a component, the
// interfaces handlers serve with values (HostFunctions::ServeComponentInterfaces) through their
// ComponentInterfaces, by the longest matching prefix.
class HostResolver final : public engine::ImportResolver, public component::ValueImportResolver {
 public:
  using Lookup = std::function<Result<engine::HostBinding>(const engine::ImportInfo&)>;
  HostResolver(Lookup lookup, const std::vector<ComponentInterfacesEntry>& families,
               const EffectivePermissions* permissions, ActorHost& host)
      : lookup_(std::move(lookup)), families_(families), permissions_(permissions), host_(host) {}

  Result<engine::HostBinding> Resolve(const engine::ImportInfo& import) override {
    return lookup_(import);
  }

  bool ServesWithValues(std::string_view interface_name) override {
    if (host_.replay() != nullptr) return host_.replay()->ServesWithValues(interface_name);
    return Family(interface_name) != nullptr;
  }

  Result<component::ValueHost::Function> ResolveValueImport(
      const component::LoweredImport& import) override {
    if (host_.replay() != nullptr) return Replayed(import);
    const ComponentInterfacesEntry* family = Family(import.interface_name);
    if (family == nullptr) {
      return NotFound("no handler provides '" + import.interface_name + "." + import.function +
                      "'");
    }
    ComponentImport own{import.interface_name, import.function, *import.type};
    THEATER_ASSIGN_OR_RETURN(ComponentHostFunction fn, family->interfaces->Resolve(own));
    // Decided once, like a typed binding's: permissions are fixed at spawn.
    Status denial =
        permissions_ != nullptr ? CheckHandlerPermitted(*permissions_, family->handler) : Status();
    std::string event_type = own.interface_name + "/" + own.function;
    return component::ValueHost::Function(
        [fn = std::move(fn), own = std::move(own), denial = std::move(denial), host = &host_,
         event_type = std::move(event_type)](
            const component::LoweredImport&,
            std::vector<Value>& params) -> Result<std::vector<Value>> {
          // The handler records the calls it serves; a refused or failed one (it traps the
          // guest) is recorded here, so that a replay fails it again.
          Result<std::vector<Value>> results =
              denial.ok() ? fn(own, params) : Result<std::vector<Value>>(denial);
          if (!results.ok()) {
            const std::string error = results.status().ToString();
            host->RecordHostCall(event_type, own.interface_name, own.function, params,
                                 {{}, &error});
          }
          return results;
        });
  }

  std::function<void(uint32_t rep)> ResourceDropper(std::string_view interface_name) override {
    // A replay holds no resources: the representations it hands out are the recorded ones.
    if (host_.replay() != nullptr) return [](uint32_t) {};
    const ComponentInterfacesEntry* family = Family(interface_name);
    if (family == nullptr) return nullptr;
    return [interfaces = family->interfaces](uint32_t rep) { interfaces->DropResource(rep); };
  }

 private:
  const ComponentInterfacesEntry* Family(std::string_view interface_name) const {
    const ComponentInterfacesEntry* best = nullptr;
    for (const ComponentInterfacesEntry& family : families_) {
      if (interface_name.starts_with(family.prefix) &&
          (best == nullptr || family.prefix.size() > best->prefix.size())) {
        best = &family;
      }
    }
    return best;
  }

  // A value import while replaying: the recorded results, recorded again as the handler would.
  Result<component::ValueHost::Function> Replayed(const component::LoweredImport& import) {
    ActorHost* host = &host_;
    std::string event_type = import.interface_name + "/" + import.function;
    return component::ValueHost::Function(
        [host, event_type = std::move(event_type)](
            const component::LoweredImport& call,
            std::vector<Value>& params) -> Result<std::vector<Value>> {
          Result<chain::CallOutcome> served =
              host->replay()->Serve(call.interface_name, call.function, params);
          if (!served.ok()) return served.status();
          host->RecordHostCall(event_type, call.interface_name, call.function, params,
                               served->view());
          if (!served->ok()) return FailedPrecondition(*served->error);
          return std::move(served->values);
        });
  }

  Lookup lookup_;
  const std::vector<ComponentInterfacesEntry>& families_;
  const EffectivePermissions* permissions_;
  ActorHost& host_;  // whose replay(), when set, answers every value import
};

}  // namespace

Status ActorHost::Bind(HostFunctionTable offered) {
  THEATER_ASSIGN_OR_RETURN(const wit::Package* package, TheaterPackage());
  THEATER_RETURN_IF_ERROR(component::CheckModuleAgainstWit(*module_, *package));

  auto realloc = module_->FindExport("cabi_realloc");
  if (!realloc) {
    return InvalidArgument(
        "module does not export 'cabi_realloc' (the canonical ABI needs it to pass strings and "
        "lists to the actor; build with the Theater SDK or export one)");
  }
  if (module_->exports()[*realloc].sig != engine::FuncSig{"iiii", "i"}) {
    return InvalidArgument("export 'cabi_realloc' must have core type (i32 i32 i32 i32) -> i32");
  }
  realloc_index_ = *realloc;
  if (!module_->exports_memory()) return InvalidArgument("module does not export its 'memory'");

  std::map<std::string, HostFunctionImpl> runtime_impls;
  const wit::Interface* runtime = package->FindInterface("runtime");
  if (!runtime) return InternalError("theater:simple has no runtime interface");
  const bool replaying = options_.replay != nullptr;
  if (options_.context == nullptr && !replaying) BindStandaloneRuntime(&runtime_impls);

  functions_ = std::move(offered);
  auto lookup = [&](const engine::ImportInfo& import) -> Result<engine::HostBinding> {
    if (import.kind != engine::ExternKind::kFunction) {
      return InvalidArgument(
          "an actor module may import only functions; memories, tables and globals are shared "
          "only between the core modules of a component");
    }
    // Names are composed on the stack for the lookups: this runs for every import at every spawn.
    const ComposedName qualified({import.module, ".", import.name});
    if (replaying && !functions_.typed.contains(qualified.view()) &&
        !ShortInterfaceName(import.module).has_value()) {
      // Not a typed function: a core-ABI one, which its handler replays (Handler::ReplayCore).
      auto binding = std::make_unique<CoreBinding>(
          CoreBinding{this, CallName(import.module, import.name), nullptr, import.sig.params.size(),
                      import.sig.results.size(), Status()});
      core_bindings_.push_back(std::move(binding));
      return engine::HostBinding{&ActorHost::DispatchCore, core_bindings_.back().get()};
    }
    if (auto core = functions_.core.find(qualified.view()); core != functions_.core.end()) {
      if (options_.context == nullptr) {
        return InternalError("host function '" + qualified.str() + "' has no actor to serve");
      }
      if (core->second.sig != import.sig) {
        return InvalidArgument("import '" + qualified.str() + "' has core signature (" +
                               import.sig.params + ") -> (" + import.sig.results +
                               "), but its handler serves (" + core->second.sig.params +
                               ") -> (" + core->second.sig.results + ")");
      }
      auto binding = std::make_unique<CoreBinding>(
          CoreBinding{this, CallName(import.module, import.name), &core->second.impl,
                      import.sig.params.size(), import.sig.results.size(), Status()});
      if (options_.permissions) {
        binding->denial = CheckHandlerPermitted(*options_.permissions, core->second.handler);
      }
      core_bindings_.push_back(std::move(binding));
      return engine::HostBinding{&ActorHost::DispatchCore, core_bindings_.back().get()};
    }
    // The import may take any form the package accepts (wit::Package::alternate_forms): the
    // first whose core signature matches the imported one is bound. Its own form is tried first;
    // the others are looked up only when that does not bind.
    std::string mismatches;
    // Binds `form` when it can: a binding, an error, or nothing (try the next form).
    auto bind_form = [&](std::string_view form) -> std::optional<Result<engine::HostBinding>> {
      const abi::FunctionType* type = nullptr;
      const HostFunction* impl = nullptr;
      HostFunctionImpl own;
      std::string_view handler;
      if (auto it = functions_.typed.find(ComposedName({form, ".", import.name}).view());
          it != functions_.typed.end()) {
        if (options_.context == nullptr && !replaying) {
          return InternalError("host function '" + qualified.str() + "' has no actor to serve");
        }
        type = it->second.type;
        impl = &it->second.impl;
        handler = it->second.handler;
      } else if (ShortInterfaceName(form) == "runtime") {
        type = runtime->FindFunction(import.name);
        auto found = runtime_impls.find(import.name);
        if (found != runtime_impls.end()) own = found->second;
        handler = "runtime";
      }
      if (!type || ((impl == nullptr || !*impl) && !own)) return std::nullopt;
      Result<abi::FunctionPlan> plan = PlanFor(*type, abi::Context::kLower);
      if (!plan.ok()) return plan.status();
      if (!plan->signature().Matches(import.sig.params, import.sig.results)) {
        mismatches += (mismatches.empty() ? "" : ", nor the form of " + std::string(form) +
                                                     ", which lowers to ") +
                      std::string("(") + plan->signature().ParamLetters() + ") -> (" +
                      plan->signature().ResultLetters() + ")";
        return std::nullopt;
      }
      auto binding = std::make_unique<ImportBinding>(
          ImportBinding{this, CallName(import.module, import.name), std::move(*plan), impl,
                        std::move(own), Status(), false});
      if (options_.permissions && !handler.empty()) {
        binding->denial = CheckHandlerPermitted(*options_.permissions, handler);
        const abi::TypePtr& result = type->result;
        binding->denial_is_err_value = result && result->kind == abi::TypeKind::kResult &&
                                       result->err && result->err->kind == abi::TypeKind::kString;
      }
      bindings_.push_back(std::move(binding));
      return engine::HostBinding{&ActorHost::DispatchImport, bindings_.back().get()};
    };
    if (auto bound = bind_form(import.module)) return std::move(*bound);
    if (std::optional<std::string_view> short_name = ShortInterfaceName(import.module)) {
      for (const wit::Interface* form : package->FormsOf(*short_name, import.name)) {
        const ComposedName module({kPackagePrefix, form->name});
        if (module.view() == import.module) continue;
        if (auto bound = bind_form(module.view())) return std::move(*bound);
      }
    }
    if (mismatches.empty()) return NotFound("no handler provides '" + qualified.str() + "'");
    return InvalidArgument("core signature (" + import.sig.params + ") -> (" + import.sig.results +
                           ") does not match the WIT function, which lowers to " + mismatches);
  };
  HostResolver resolver(lookup, functions_.component, options_.permissions.get(), *this);
  engine::InstanceOptions instance_options = options_.instance;
  instance_options.user_data = this;
  // A start function (a component runs `_initialize` from one) is part of initialisation.
  instance_options.start_timeout = options_.init_deadline;
  if (options_.instantiating) options_.instantiating(this);
  Result<std::unique_ptr<engine::Instance>> instance =
      module_->Instantiate(resolver, instance_options);
  if (options_.instantiating) options_.instantiating(nullptr);
  THEATER_ASSIGN_OR_RETURN(instance_, std::move(instance));
  return Status();
}

int ActorHost::DispatchImport(engine::Instance& instance, void* data, const uint64_t* args,
                              uint64_t* results) {
  auto* b = static_cast<ImportBinding*>(data);
  ActorHost& host = *b->host;
  InstanceMemory memory(instance, host.realloc_index_);
  std::span<const uint64_t> flat_args(args, b->plan.signature().params.size());
  auto where = [b] { return b->call.qualified(); };
  Result<std::vector<Value>> params = b->plan.LiftImportParams(memory, flat_args);
  if (!params.ok()) return instance.Fail(params.status().WithContext("arguments of " + where()));
  // A call whose results could never be delivered is refused before it has any effect (a spawned
  // child, a sleep, a message sent).
  Status area = b->plan.CheckImportReturnArea(memory, flat_args);
  if (!area.ok()) return instance.Fail(area.WithContext("results of " + where()));
  Result<std::vector<Value>> output = std::vector<Value>{};
  if (host.options_.replay != nullptr) {
    // Replaying: the recording answers (a failed call fails again, with its recorded error).
    Result<chain::CallOutcome> served =
        host.options_.replay->Serve(b->call.module(), b->call.name(), *params);
    if (!served.ok()) return instance.Fail(served.status().WithContext(where()));
    output = served->ok() ? Result<std::vector<Value>>(std::move(served->values))
                          : Result<std::vector<Value>>(FailedPrecondition(*served->error));
  } else {
    output = b->denial.ok() ? (b->impl != nullptr ? (*b->impl)(*host.options_.context, *params)
                                                  : b->own(host, *params))
             : b->denial_is_err_value
                 ? std::vector<Value>{Value::Err(Value::String(b->denial.message()))}
                 : Result<std::vector<Value>>(b->denial);
  }
  if (!output.ok()) {
    const std::string error = output.status().ToString();
    host.RecordHostCall(b->call.event_type(), b->call.module(), b->call.name(), *params,
                        {{}, &error});
    return instance.Fail(output.status().WithContext(where()));
  }
  // (A replayed result is what the guest got then: bounded already.)
  if (host.options_.replay == nullptr) BoundErrorValues(*output);
  FlatLease lease(host.import_results_);
  std::vector<uint64_t>& flat_results = lease.values();
  Status lowered = b->plan.LowerImportResults(memory, *output, flat_args, &flat_results);
  host.RecordHostCall(b->call.event_type(), b->call.module(), b->call.name(), *params,
                      {*output, nullptr});
  if (!lowered.ok()) return instance.Fail(lowered.WithContext("results of " + where()));
  for (size_t i = 0; i < flat_results.size(); ++i) results[i] = flat_results[i];
  return 0;
}

int ActorHost::DispatchCore(engine::Instance& instance, void* data, const uint64_t* args,
                             uint64_t* results) {
  auto* b = static_cast<CoreBinding*>(data);
  if (!b->denial.ok()) {
    // Recorded with no input (the handler never read the guest's arguments): a replay refuses
    // it again without the handler.
    const std::string error = b->denial.ToString();
    b->host->RecordHostCall(b->call.event_type(), b->call.module(), b->call.name(), {},
                            {{}, &error});
    return instance.Fail(b->denial.WithContext(b->call.qualified()));
  }
  CoreCall call{instance.memory(), std::span<const uint64_t>(args, b->params),
                std::span<uint64_t>(results, b->results)};
  if (HostCallReplay* replay = b->host->options_.replay) {
    // Replaying: the handler applies the recorded outcome; the call is recorded as it did.
    Result<chain::HostCall> served = replay->ServeCore(b->call.module(), b->call.name(), call);
    if (!served.ok()) return instance.Fail(served.status().WithContext(b->call.qualified()));
    b->host->RecordHostCall(b->call.event_type(), b->call.module(), b->call.name(), served->input,
                            served->output.view());
    if (!served->output.ok()) {
      return instance.Fail(
          FailedPrecondition(*served->output.error).WithContext(b->call.qualified()));
    }
    return 0;
  }
  Status done = (*b->impl)(*b->host->options_.context, call);
  if (!done.ok()) return instance.Fail(done.WithContext(b->call.qualified()));
  return 0;
}

Result<ImportNames> ImportNamesOf(const engine::Module& module) {
  THEATER_ASSIGN_OR_RETURN(const wit::Package* package, TheaterPackage());
  ImportNames names;
  for (const engine::ImportInfo& import : module.imports()) {
    names.insert(import.module + "." + import.name);
    if (std::optional<std::string_view> short_name = ShortInterfaceName(import.module)) {
      for (const wit::Interface* form : package->FormsOf(*short_name, import.name)) {
        names.insert(std::string(kPackagePrefix) + form->name + "." + import.name);
      }
    }
  }
  return names;
}

Result<ExportForm> FindExportForm(const engine::Module& module, std::string_view interface_name,
                                  std::string_view function, PlanCache* plans) {
  const std::string export_name = std::string(interface_name) + "#" + std::string(function);
  THEATER_ASSIGN_OR_RETURN(const wit::Package* package, TheaterPackage());
  std::optional<std::string_view> short_name = ShortInterfaceName(interface_name);
  std::vector<const wit::Interface*> forms;
  if (short_name) forms = package->FormsOf(*short_name, function);
  if (forms.empty()) return NotFound("no WIT function '" + export_name + "' in theater:simple");
  std::optional<uint32_t> index = module.FindExport(export_name);
  if (!index) return NotFound("actor does not export '" + export_name + "'");
  const engine::FuncSig& sig = module.exports()[*index].sig;
  std::string lowered;
  for (const wit::Interface* form : forms) {
    const abi::FunctionType* type = form->FindFunction(function);
    THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan,
                             plans != nullptr
                                 ? plans->Get(*type, abi::Context::kLift)
                                 : abi::FunctionPlan::Build(*type, abi::Context::kLift));
    if (plan.signature().Matches(sig.params, sig.results)) {
      return ExportForm{type, std::string(kPackagePrefix) + form->name};
    }
    lowered += std::string(lowered.empty() ? "" : ", or (the form of " + form->name + ") ") + "(" +
               plan.signature().ParamLetters() + ") -> (" + plan.signature().ResultLetters() + ")";
  }
  return InvalidArgument("export '" + export_name + "' has core signature (" + sig.params +
                         ") -> (" + sig.results + "), but its WIT type lowers to " + lowered);
}

Result<abi::FunctionPlan> ActorHost::PlanFor(const abi::FunctionType& type,
                                              abi::Context context) const {
  if (options_.plans != nullptr) return options_.plans->Get(type, context);
  return abi::FunctionPlan::Build(type, context);
}

Result<ActorHost::ExportEntry*> ActorHost::ResolveExport(const std::string& export_name,
                                                         const abi::FunctionType& type) {
  if (auto it = exports_.find(export_name); it != exports_.end()) return &it->second;
  auto index = module_->FindExport(export_name);
  if (!index) return NotFound("actor does not export '" + export_name + "'");
  THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan, PlanFor(type, abi::Context::kLift));
  const engine::FuncSig& sig = module_->exports()[*index].sig;
  if (!plan.signature().Matches(sig.params, sig.results)) {
    return InvalidArgument("export '" + export_name + "' has core signature (" + sig.params +
                           ") -> (" + sig.results + "), but its WIT type lowers to (" +
                           plan.signature().ParamLetters() + ") -> (" +
                           plan.signature().ResultLetters() + ")");
  }
  ExportEntry entry{*index, module_->FindExport("cabi_post_" + export_name), std::move(plan),
                    &type};
  return &exports_.emplace(export_name, std::move(entry)).first->second;
}

Result<ActorHost::ExportEntry*> ActorHost::ResolveComponentExport(const std::string& export_name,
                                                                  std::string_view interface_name,
                                                                  std::string_view function) {
  const component::LiftedExport* lifted =
      component::FindComponentExport(*instance_, interface_name, function);
  std::optional<uint32_t> index = module_->FindExport(export_name);
  if (lifted == nullptr || !index) return NotFound("actor does not export '" + export_name + "'");
  for (const abi::TypePtr& result : lifted->type->ResultTypes()) {
    if (abi::Contains(*result, [](const abi::Type& t) {
          return t.kind == abi::TypeKind::kOwn || t.kind == abi::TypeKind::kBorrow;
        })) {
      return InvalidArgument("export '" + export_name +
                             "' returns a resource handle, which the runtime does not take back "
                             "from a call it makes");
    }
  }
  // The component's own type, not a package's the plan cache outlives: its plan is built here
  // (or the one the component made for it).
  THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan,
                           lifted->plan
                               ? Result<abi::FunctionPlan>(*lifted->plan)
                               : abi::FunctionPlan::Build(*lifted->type, abi::Context::kLift));
  const engine::FuncSig& sig = module_->exports()[*index].sig;
  if (!plan.signature().Matches(sig.params, sig.results)) {
    return InvalidArgument("export '" + export_name + "' has core signature (" + sig.params +
                           ") -> (" + sig.results + "), but its type lowers to (" +
                           plan.signature().ParamLetters() + ") -> (" +
                           plan.signature().ResultLetters() + ")");
  }
  ExportEntry entry{*index, module_->FindExport("cabi_post_" + export_name), std::move(plan),
                    lifted->type.get(), lifted};
  return &exports_.emplace(export_name, std::move(entry)).first->second;
}

Result<std::vector<Value>> ActorHost::CallStatelessExport(const std::string& export_name,
                                                          const ExportEntry& entry,
                                                          std::vector<Value> params) {
  // The chain records the host's representations (a replay gives the same ones back); the
  // guest gets handles.
  std::vector<Value> recorded = params;
  Status given = component::GiveArgumentsToGuest(*instance_, *entry.lifted, params);
  Result<std::vector<Value>> values =
      given.ok() ? RunExport(export_name, entry, params, DeadlineFor(export_name))
                 : Result<std::vector<Value>>(given.WithContext("arguments of " + export_name));
  if (options_.record_chain) {
    if (options_.replay != nullptr) options_.replay->BeforeExportRecorded();
    std::string error;
    chain::CallOutcomeView outcome{{}, nullptr};
    if (values.ok()) {
      outcome = chain::CallOutcomeView{*values, nullptr};
    } else {
      error = values.status().ToString();
      if (options_.replay != nullptr) {
        if (std::optional<std::string> failure =
                options_.replay->RecordedFailure(values.status())) {
          error = std::move(*failure);
        }
      }
      outcome = chain::CallOutcomeView{{}, &error};
    }
    chain_->AppendWith(kExportEventType, [&](std::vector<uint8_t>& payload) {
      chain::EncodeExportCallTo(export_name, recorded, outcome, ChainStateRecord(), payload,
                                options_.byte_spill.get());
    });
  }
  return values;
}

Result<std::vector<Value>> ActorHost::CallFunction(const std::string& export_name,
                                                   const abi::FunctionType& type,
                                                   std::span<const Value> args,
                                                   std::chrono::milliseconds deadline) {
  THEATER_ASSIGN_OR_RETURN(ExportEntry * entry, ResolveExport(export_name, type));
  return RunExport(export_name, *entry, args, deadline);
}

Result<std::vector<Value>> ActorHost::RunExport(const std::string& export_name,
                                                const ExportEntry& entry,
                                                std::span<const Value> args,
                                                std::chrono::milliseconds deadline) {
  const abi::FunctionPlan& plan = entry.plan;
  InstanceMemory memory(*instance_, realloc_index_);
  FlatLease args_lease(export_args_), results_lease(export_results_);
  std::vector<uint64_t>& flat_args = args_lease.values();
  THEATER_RETURN_IF_ERROR_WITH_CONTEXT(plan.LowerExportParams(memory, args, &flat_args),
                                       "passing arguments to '" + export_name + "'");
  std::vector<uint64_t>& flat_results = results_lease.values();
  flat_results.assign(plan.signature().results.size(), 0);
  engine::CallOptions call_options;
  call_options.timeout = deadline;
  call_options.stack_size = options_.stack_size;
  if (instance_->active_call() != nullptr) {
    // Already on this instance's task fiber: run the export as part of it.
    THEATER_RETURN_IF_ERROR(instance_->Call(entry.index, flat_args, flat_results, call_options));
  } else {
    // The export runs on its own fiber, so a host function may suspend it; nested calls made
    // while serving its imports (cabi_realloc) and the post-return below are plain calls.
    THEATER_RETURN_IF_ERROR(
        engine::CallOnFiber(*instance_, entry.index, flat_args, flat_results, call_options));
  }
  Result<std::vector<Value>> values = plan.LiftExportResults(memory, flat_results);
  if (!values.ok()) return values.status().WithContext("results of '" + export_name + "'");
  if (entry.post_return) {
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(
        instance_->Call(*entry.post_return, flat_results, {}, call_options),
        "post-return of '" + export_name + "'");
  }
  return values;
}

std::chrono::milliseconds ActorHost::DeadlineFor(std::string_view export_name) const {
  return export_name == kInitExport ? options_.init_deadline : options_.call_deadline;
}

Result<std::vector<Value>> ActorHost::CallExport(std::string_view interface_name,
                                                 std::string_view function,
                                                 std::vector<Value> params) {
  // After the first call of an export, one map lookup finds its type, index and plan; the name
  // is assembled on the stack for it (the map's key then serves as the name).
  const ComposedName composed({interface_name, "#", function});
  const std::string_view key = composed.view();
  auto cached = exports_.find(key);
  if (cached == exports_.end()) {
    std::string name(key);
    // The form the export takes decides its type (message-server handlers build the params for
    // the same form, ActorContext::ExportForm).
    Result<ExportForm> form = FindExportForm(*module_, interface_name, function, options_.plans);
    if (form.ok()) {
      THEATER_RETURN_IF_ERROR(ResolveExport(name, *form->type).status());
    } else if (form.status().code() == StatusCode::kNotFound &&
               !ShortInterfaceName(interface_name).has_value() && instance_ != nullptr &&
               component::IsComponentModule(*module_)) {
      THEATER_RETURN_IF_ERROR(ResolveComponentExport(name, interface_name, function).status());
    } else {
      return form.status();
    }
    cached = exports_.find(key);
  }
  const std::string& export_name = cached->first;
  ExportEntry* entry = &cached->second;
  if (entry->lifted != nullptr) return CallStatelessExport(export_name, *entry, std::move(params));

  // On the stack: (a braced list into a vector would copy both, params and all).
  std::array<Value, 2> args{StateValue(state_), Value::Tuple(std::move(params))};
  Result<std::vector<Value>> values =
      RunExport(export_name, *entry, args, DeadlineFor(export_name));
  // A flood that ended within the call is reported now if a notice is due, not only at the next
  // line (which may never come). The clock is read only when something was dropped: every call
  // passes here.
  if (log_rate_.has_dropped() || event_rate_.has_dropped()) {
    const int64_t now = SteadyNowNs();
    NoticeDrops(log_rate_, "log lines", now);
    NoticeDrops(event_rate_, "custom events", now);
  }
  // One event per export call, written when it is over: the params (still in `args`), what it
  // returned or why it failed, and the state it left.
  auto record = [&](const chain::CallOutcomeView& outcome) {
    if (!options_.record_chain) return;
    if (options_.replay != nullptr) options_.replay->BeforeExportRecorded();
    chain_->AppendWith(kExportEventType, [&](std::vector<uint8_t>& payload) {
      chain::EncodeExportCallTo(export_name, args[1].items(), outcome, ChainStateRecord(), payload,
                                options_.byte_spill.get());
    });
  };
  auto fail = [&](Status status) {
    if (std::string note = MemoryLimitNote(); !note.empty()) {
      status = Status(status.code(), std::string(status.message()) + note);
    }
    std::string error = status.ToString();
    if (options_.replay != nullptr) {
      if (std::optional<std::string> recorded = options_.replay->RecordedFailure(status)) {
        error = std::move(*recorded);
      }
    }
    record({{}, &error});
    return status;
  };
  if (!values.ok()) return fail(values.status());
  if (values->size() != 1 || values->front().kind() != abi::TypeKind::kResult) {
    return fail(InternalError("export '" + export_name + "' does not return a result"));
  }
  Value& result = values->front();
  if (result.is_err()) {
    std::string message = result.payload() ? result.payload()->as_string() : "";
    return fail(
        FailedPrecondition("actor returned an error from '" + export_name + "': " + message));
  }
  Value* ok = result.mutable_payload();
  if (!ok || ok->kind() != abi::TypeKind::kTuple || ok->items().empty()) {
    return fail(InternalError("export '" + export_name + "' returned a malformed result"));
  }
  // The lifted values are this call's own: the state and the results move out of them.
  std::vector<Value>& items = ok->mutable_items();
  Value& new_state = items[0];
  SetState(new_state.is_some() ? std::make_shared<const std::vector<uint8_t>>(
                                     std::move(new_state.mutable_payload()->mutable_bytes()))
                               : nullptr);
  std::span<const Value> rest(items.begin() + 1, items.end());
  record({rest, nullptr});
  return std::vector<Value>(std::make_move_iterator(items.begin() + 1),
                            std::make_move_iterator(items.end()));
}

std::string ActorHost::MemoryLimitNote() const {
  const uint64_t limit = options_.instance.max_memory_bytes;
  if (limit == 0 || instance_ == nullptr) return "";
  const uint64_t used = instance_->memory_size();
  // Near the limit: within a tenth of it, or within 2 MiB (what one refused allocation of a
  // megabyte or two leaves).
  const uint64_t headroom = used >= limit ? 0 : limit - used;
  if (headroom * 10 > limit && headroom > (2u << 20)) return "";
  char text[160];
  std::snprintf(text, sizeof text,
                " (linear memory: %.1f of its %.0f MiB limit, [limits] memory_limit_mb)",
                static_cast<double>(used) / (1 << 20), static_cast<double>(limit) / (1 << 20));
  return text;
}

Status ActorHost::InitializeModule() {
  if (auto init = module_->FindExport("_initialize")) {
    engine::CallOptions options;
    options.timeout = options_.init_deadline;
    THEATER_RETURN_IF_ERROR(instance_->Call(*init, {}, {}, options).WithContext("_initialize"));
  }
  return Status();
}

Status ActorHost::Init() {
  THEATER_RETURN_IF_ERROR(InitializeModule());
  // A standard component (a wasi:http proxy) has no init: it starts with no state, and nothing
  // is called until its exports are.
  if (component::IsComponentModule(*module_) && !module_->FindExport(std::string(kInitExport))) {
    return Status::Ok();
  }
  Result<std::vector<Value>> r =
      CallExport("theater:simple/actor", "init", {Value::String(options_.actor_id)});
  return r.status();
}

}  // namespace theater::runtime
