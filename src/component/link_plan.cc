// Theater: a WebAssembly actor runtime.
#include "component/link_plan.h"

#include <utility>

#include "component/core_bindings.h"
#include "component/value_host.h"

namespace theater::component {

LinkCache::LinkCache() = default;
LinkCache::~LinkCache() = default;

std::shared_ptr<const LinkPlan> LinkCache::plan() const {
  std::lock_guard<std::mutex> lock(mu_);
  return plan_;
}

void LinkCache::set_plan(std::shared_ptr<const LinkPlan> plan) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!plan_) plan_ = std::move(plan);
}

namespace {

// `lifted` as a function of `instance`, whose core instances and resource types it names by
// position (checked by LinkReplayer::CheckLifted when the plan was replayed).
LiftedExport LiftedFrom(const ComponentInstance& instance, const LinkPlan::Lifted& lifted) {
  const auto& cores = instance.core_instances();
  LiftedExport e = lifted.function;
  e.instance = cores[lifted.instance].get();
  void* memory =
      lifted.memory.memory
          ? cores[lifted.memory.memory->instance]->ExternExport(lifted.memory.memory->index)
          : nullptr;
  const auto& realloc = lifted.memory.realloc;
  e.memory = LinkedMemory(memory, realloc ? cores[realloc->instance].get() : nullptr,
                          realloc ? realloc->index : 0);
  for (const LinkPlan::ResourceName& r : lifted.resources) {
    e.resources.emplace(r.name, instance.resource_types()[r.resource].get());
  }
  return e;
}

}  // namespace

const std::vector<LiftedExport>& ComponentInstance::exports() const {
  if (exports_pending_) {
    exports_pending_ = false;
    exports_.reserve(plan_->exports.size());
    for (const LinkPlan::Lifted& e : plan_->exports) exports_.push_back(LiftedFrom(*this, e));
  }
  return exports_;
}

engine::Instance* ComponentInstance::FirstExportInstance() const {
  if (exports_pending_) return core_instances_[plan_->exports.front().instance].get();
  return exports_.empty() ? nullptr : exports_.front().instance;
}

// Does the work of ReplayLinkPlan(); lives only while it runs.
class LinkReplayer {
 public:
  // `steps`: how many steps the plan has (at most that many host imports are made).
  LinkReplayer(ComponentHost& host, const engine::InstanceOptions& options, size_t steps)
      : host_(host), options_(options), result_(new ComponentInstance()), host_imports_(steps) {
    if (!options_.host_error_slot) options_.host_error_slot = std::make_shared<Status>();
  }

  Result<std::unique_ptr<ComponentInstance>> Replay(std::shared_ptr<const LinkPlan> shared_plan) {
    const LinkPlan& plan = *shared_plan;
    plan_slots_ = plan.slots;
    ComponentInstance& out = *result_;
    out.core_instances_.reserve(plan.core_instances);
    out.modules_.reserve(plan.core_instances);
    if (plan.slots != 0) out.slots_ = std::make_unique<engine::HostBinding[]>(plan.slots);
    out.resource_types_.reserve(plan.resources.size());
    for (const LinkPlan::Resource& r : plan.resources) {
      auto type = std::make_unique<ResourceType>();
      type->host = r.host;
      type->interface_name = r.interface_name;
      type->name = r.name;
      if (r.host) host_.BindResource(*type);
      out.resource_types_.push_back(std::move(type));
    }
    for (const LinkPlan::Step& step : plan.steps) {
      switch (step.kind) {
        case LinkPlan::Step::Kind::kCoreInstance:
          THEATER_RETURN_IF_ERROR(ReplayCoreInstance(step));
          break;
        case LinkPlan::Step::Kind::kLower: {
          THEATER_ASSIGN_OR_RETURN(LoweredImport import, Rebuild(step.lowered));
          Result<HostImport> lowered = host_.LowerImport(import);
          if (!lowered.ok()) return lowered.status().WithContext(step.lowered.where);
          host_imports_.push_back(std::move(lowered).value());
          break;
        }
        case LinkPlan::Step::Kind::kLowerLifted: {
          THEATER_ASSIGN_OR_RETURN(LoweredImport import, Rebuild(step.lowered));
          THEATER_ASSIGN_OR_RETURN(LiftedExport callee, Rebuild(step.callee));
          THEATER_ASSIGN_OR_RETURN(HostImport bound, CoreBindings::BindLifted(out, import, callee));
          host_imports_.push_back(std::move(bound));
          break;
        }
        case LinkPlan::Step::Kind::kBuiltin:
          host_imports_.push_back(CoreBindings::BindResourceBuiltin(
              out, step.builtin, out.resource_types_[step.resource].get()));
          break;
        case LinkPlan::Step::Kind::kFillSlots:
          THEATER_RETURN_IF_ERROR(FillSlots(step));
          break;
        case LinkPlan::Step::Kind::kRunStart:
          THEATER_RETURN_IF_ERROR(RunStart(step));
          break;
      }
    }
    for (size_t i = 0; i < plan.resources.size(); ++i) {
      if (const auto& dtor = plan.resources[i].dtor) {
        out.resource_types_[i]->dtor_instance = out.core_instances_[dtor->instance].get();
        out.resource_types_[i]->dtor_index = dtor->index;
      }
    }
    // The exports are built on first use (ComponentInstance::exports), from what is checked here.
    for (const LinkPlan::Lifted& e : plan.exports) THEATER_RETURN_IF_ERROR(CheckLifted(e));
    out.plan_ = std::move(shared_plan);
    out.exports_pending_ = !out.plan_->exports.empty();
    return std::move(result_);
  }

 private:
  // The n-th core instance of this replay; the plan names only instances made before.
  Result<engine::Instance*> CoreInstanceByPosition(uint32_t position) const {
    if (position >= result_->core_instances_.size()) {
      return InternalError("link plan: core instance " + std::to_string(position) +
                           " is used before it is made");
    }
    return result_->core_instances_[position].get();
  }

  Result<LinkedMemory> MemoryFrom(const LinkPlan::Memory& m) const {
    void* memory = nullptr;
    if (m.memory) {
      THEATER_ASSIGN_OR_RETURN(engine::Instance * owner,
                               CoreInstanceByPosition(m.memory->instance));
      memory = owner->ExternExport(m.memory->index);
    }
    engine::Instance* realloc_instance = nullptr;
    if (m.realloc) {
      THEATER_ASSIGN_OR_RETURN(realloc_instance, CoreInstanceByPosition(m.realloc->instance));
    }
    return LinkedMemory(memory, realloc_instance, m.realloc ? m.realloc->index : 0);
  }

  Status ResourcesFrom(const std::vector<LinkPlan::ResourceName>& names, ResourceNames* out) const {
    for (const LinkPlan::ResourceName& r : names) {
      if (r.resource >= result_->resource_types_.size()) {
        return InternalError("link plan: an unknown resource type");
      }
      out->emplace(r.name, result_->resource_types_[r.resource].get());
    }
    return Status::Ok();
  }

  Result<LoweredImport> Rebuild(const LinkPlan::Lowered& lowered) const {
    LoweredImport import = lowered.import;
    THEATER_ASSIGN_OR_RETURN(import.memory, MemoryFrom(lowered.memory));
    THEATER_RETURN_IF_ERROR(ResourcesFrom(lowered.resources, &import.resources));
    import.table = &result_->table_;
    return import;
  }

  // Whether everything `lifted` names by position exists in this replay.
  Status CheckLifted(const LinkPlan::Lifted& lifted) const {
    THEATER_RETURN_IF_ERROR(CoreInstanceByPosition(lifted.instance).status());
    THEATER_RETURN_IF_ERROR(MemoryFrom(lifted.memory).status());
    for (const LinkPlan::ResourceName& r : lifted.resources) {
      if (r.resource >= result_->resource_types_.size()) {
        return InternalError("link plan: an unknown resource type");
      }
    }
    return Status::Ok();
  }

  Result<LiftedExport> Rebuild(const LinkPlan::Lifted& lifted) const {
    THEATER_RETURN_IF_ERROR(CheckLifted(lifted));
    return LiftedFrom(*result_, lifted);
  }

  // Makes the core instance `step` names, its imports bound in the order it asks for them.
  Status ReplayCoreInstance(const LinkPlan::Step& step) {
    struct Resolver final : engine::ImportResolver {
      LinkReplayer* linker = nullptr;
      const LinkPlan::Step* step = nullptr;
      size_t next = 0;
      Result<engine::HostBinding> Resolve(const engine::ImportInfo& import) override {
        if (next >= step->bindings.size()) {
          return InternalError("link plan: more imports than when the plan was made");
        }
        return linker->ReplayBinding(step->bindings[next++], import);
      }
    } resolver;
    resolver.linker = this;
    resolver.step = &step;
    auto instance = step.module->Instantiate(resolver, options_);
    if (!instance.ok()) return instance.status().WithContext(step.where);
    if (resolver.next != step.bindings.size()) {
      return InternalError(step.where + ": fewer imports than when the link plan was made");
    }
    result_->modules_.push_back(step.module);
    result_->core_instances_.push_back(std::move(instance).value());
    return Status::Ok();
  }

  // What a trampoline table's filler did (link_plan_elision.cc): its slots get host imports.
  Status FillSlots(const LinkPlan::Step& step) {
    for (const LinkPlan::SlotFill& fill : step.fills) {
      if (fill.slot >= plan_slots_) return InternalError("link plan: an unknown slot");
      const LinkPlan::Binding& content = fill.content;
      if (content.kind == LinkPlan::Binding::Kind::kForward) {
        THEATER_ASSIGN_OR_RETURN(engine::Instance * target,
                                 CoreInstanceByPosition(content.target.instance));
        result_->slots_[fill.slot] = CoreBindings::BindForward(
            *result_, target, content.target.index, content.params, content.results);
        continue;
      }
      if (content.kind != LinkPlan::Binding::Kind::kHost || content.host >= host_imports_.size()) {
        return InternalError("link plan: a slot filled with a host import not made yet");
      }
      const HostImport& host = host_imports_[content.host];
      if (Status checked = CheckSignature(host, fill.sig); !checked.ok()) {
        return checked.WithContext(step.where);
      }
      result_->slots_[fill.slot] = host.binding;
    }
    return Status::Ok();
  }

  // What a start forwarder did: call the function it starts, under the start timeout.
  Status RunStart(const LinkPlan::Step& step) {
    THEATER_ASSIGN_OR_RETURN(engine::Instance * target,
                             CoreInstanceByPosition(step.start.instance));
    engine::CallOptions call;
    call.timeout = options_.start_timeout;
    Status status = target->Call(step.start.index, {}, {}, call);
    if (!status.ok()) return status.WithContext("start function").WithContext(step.where);
    return Status::Ok();
  }

  // The host gives its signatures anew at every instantiation: each is checked as Run does.
  static Status CheckSignature(const HostImport& host, const engine::FuncSig& expected) {
    if (host.signature == expected) return Status::Ok();
    return ValidationError("the lowered function has core type (" + host.signature.params + ")->(" +
                           host.signature.results + "), the import expects (" + expected.params +
                           ")->(" + expected.results + ")");
  }

  Result<engine::HostBinding> ReplayBinding(const LinkPlan::Binding& binding,
                                            const engine::ImportInfo& import) {
    switch (binding.kind) {
      case LinkPlan::Binding::Kind::kExtern: {
        THEATER_ASSIGN_OR_RETURN(engine::Instance * owner,
                                 CoreInstanceByPosition(binding.target.instance));
        engine::HostBinding out;
        out.external = owner->ExternExport(binding.target.index);
        return out;
      }
      case LinkPlan::Binding::Kind::kHost: {
        if (binding.host >= host_imports_.size()) {
          return InternalError("link plan: a host import used before it is made");
        }
        const HostImport& host = host_imports_[binding.host];
        THEATER_RETURN_IF_ERROR(CheckSignature(host, import.sig));
        return host.binding;
      }
      case LinkPlan::Binding::Kind::kSlot: {
        if (binding.slot >= plan_slots_) return InternalError("link plan: an unknown slot");
        return CoreBindings::BindSlot(result_->slots_[binding.slot]);
      }
      case LinkPlan::Binding::Kind::kForward: {
        THEATER_ASSIGN_OR_RETURN(engine::Instance * target,
                                 CoreInstanceByPosition(binding.target.instance));
        return CoreBindings::BindForward(*result_, target, binding.target.index, binding.params,
                                         binding.results);
      }
    }
    return InternalError("link plan: an unknown binding");
  }

  ComponentHost& host_;
  engine::InstanceOptions options_;
  std::unique_ptr<ComponentInstance> result_;
  // Pinned: core imports bound to a host import point at it, so it must not move.
  PinnedList<HostImport> host_imports_;
  size_t plan_slots_ = 0;
};

Result<std::unique_ptr<ComponentInstance>> ReplayLinkPlan(std::shared_ptr<const LinkPlan> plan,
                                                          ComponentHost& host,
                                                          const engine::InstanceOptions& options) {
  LinkReplayer replayer(host, options, plan->steps.size());
  return replayer.Replay(std::move(plan));
}

}  // namespace theater::component
