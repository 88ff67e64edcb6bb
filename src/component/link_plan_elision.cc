// Theater: a WebAssembly actor runtime.
//
// ElideGlueInstances (link_plan.h): a recorded plan rewritten so that replays skip the glue core
// instances the component tools add. A trampoline table T and its filler F become slots: every
// import bound to a function of T is bound to the slot that function calls, and F's step fills
// those slots with the host imports F put in the table. A start forwarder S becomes a call of the
// function it starts. The replay then makes the same calls in the same order as the instances
// would have; it only saves making and destroying them at every spawn, and a hop through T's
// table at every host call.
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "component/link_plan.h"
#include "component/trampolines.h"

namespace theater::component {
namespace {

using Binding = LinkPlan::Binding;
using CoreRef = LinkPlan::CoreRef;
using Step = LinkPlan::Step;

// Calls `fn` with every core instance position the plan holds, and the binding it is part of
// (null when it is not part of a binding: a memory, an export, a destructor, ...).
void ForEachInstanceRef(LinkPlan& plan, const std::function<void(uint32_t&, Binding*)>& fn) {
  auto memory = [&](LinkPlan::Memory& m) {
    if (m.memory) fn(m.memory->instance, nullptr);
    if (m.realloc) fn(m.realloc->instance, nullptr);
  };
  for (Step& step : plan.steps) {
    switch (step.kind) {
      case Step::Kind::kCoreInstance:
        for (Binding& binding : step.bindings) {
          if (binding.kind == Binding::Kind::kForward || binding.kind == Binding::Kind::kExtern) {
            fn(binding.target.instance, &binding);
          }
        }
        break;
      case Step::Kind::kLower:
        memory(step.lowered.memory);
        break;
      case Step::Kind::kLowerLifted:
        memory(step.lowered.memory);
        fn(step.callee.instance, nullptr);
        memory(step.callee.memory);
        break;
      case Step::Kind::kRunStart:
        fn(step.start.instance, nullptr);
        break;
      case Step::Kind::kFillSlots:
        for (LinkPlan::SlotFill& fill : step.fills) {
          if (fill.content.kind == Binding::Kind::kForward) {
            fn(fill.content.target.instance, &fill.content);
          }
        }
        break;
      case Step::Kind::kBuiltin:
        break;
    }
  }
  for (LinkPlan::Resource& r : plan.resources) {
    if (r.dtor) fn(r.dtor->instance, nullptr);
  }
  for (LinkPlan::Lifted& e : plan.exports) {
    fn(e.instance, nullptr);
    memory(e.memory);
  }
}

// The index of `name` among the module's extern exports of `kind`.
std::optional<uint32_t> ExternExport(const engine::Module& module, std::string_view name,
                                     engine::ExternKind kind) {
  const auto& externs = module.extern_exports();
  for (uint32_t i = 0; i < externs.size(); ++i) {
    if (externs[i].name == name && externs[i].kind == kind) return i;
  }
  return std::nullopt;
}
std::optional<size_t> ImportPosition(const engine::Module& module, std::string_view module_name,
                                     std::string_view name) {
  const auto& imports = module.imports();
  for (size_t i = 0; i < imports.size(); ++i) {
    if (imports[i].module == module_name && imports[i].name == name) return i;
  }
  return std::nullopt;
}

class GlueElision {
 public:
  explicit GlueElision(LinkPlan& plan) : plan_(plan) {
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      if (plan_.steps[i].kind == Step::Kind::kCoreInstance) step_of_.push_back(i);
    }
  }

  void Run() {
    if (step_of_.size() != plan_.core_instances) return;  // not a plan the walk recorded
    for (uint32_t t = 0; t < step_of_.size(); ++t) ElideTrampolineTable(t);
    for (uint32_t s = 0; s < step_of_.size(); ++s) ElideStartForwarder(s);
    if (removed_.empty()) return;
    Renumber();
  }

 private:
  Step& StepOf(uint32_t instance) { return plan_.steps[step_of_[instance]]; }

  // Whether every use of core instance `instance` in the plan is one `allowed` accepts (given
  // the position's address and the binding it is part of, if any).
  bool UsedOnlyAs(uint32_t instance, const std::function<bool(uint32_t*, Binding*)>& allowed) {
    bool only = true;
    ForEachInstanceRef(plan_, [&](uint32_t& ref, Binding* binding) {
      if (ref == instance && !allowed(&ref, binding)) only = false;
    });
    return only;
  }

  void ElideTrampolineTable(uint32_t t) {
    Step& table_step = StepOf(t);
    if (removed_.contains(t)) return;
    std::optional<TrampolineTable> table = RecognizeTrampolineTable(table_step.wasm);
    if (!table) return;
    const engine::Module& table_module = *table_step.module;
    std::optional<uint32_t> table_index =
        ExternExport(table_module, table->table_export, engine::ExternKind::kTable);
    if (!table_index) return;

    // Its filler: the one instance its table is bound to.
    std::optional<uint32_t> filler;
    for (uint32_t f = 0; f < step_of_.size(); ++f) {
      for (const Binding& b : StepOf(f).bindings) {
        if (b.kind == Binding::Kind::kExtern && b.target.instance == t) {
          if (filler && *filler != f) return;  // the table is shared with another instance
          filler = f;
        }
      }
    }
    if (!filler || removed_.contains(*filler)) return;
    Step& filler_step = StepOf(*filler);
    std::optional<TableFiller> fills = RecognizeTableFiller(filler_step.wasm);
    if (!fills) return;
    const engine::Module& filler_module = *filler_step.module;
    if (filler_step.bindings.size() != filler_module.imports().size()) return;
    std::optional<size_t> table_import =
        ImportPosition(filler_module, fills->table_module, fills->table_name);
    if (!table_import) return;
    const Binding& table_binding = filler_step.bindings[*table_import];
    if (table_binding.kind != Binding::Kind::kExtern || table_binding.target.instance != t ||
        table_binding.target.index != *table_index) {
      return;
    }

    // What each slot holds once the filler has run: a host import or another instance's
    // function, and its core signature (segments are applied in order: a later entry wins).
    std::map<uint64_t, std::pair<Binding, engine::FuncSig>> slots;
    for (const TableFiller::Entry& entry : fills->entries) {
      if (entry.slot >= table->table_size) return;  // the filler would trap
      std::optional<size_t> import = ImportPosition(filler_module, entry.module, entry.name);
      if (!import) return;
      const Binding& binding = filler_step.bindings[*import];
      if (binding.kind != Binding::Kind::kHost && binding.kind != Binding::Kind::kForward) return;
      if (binding.kind == Binding::Kind::kForward && binding.target.instance == t) return;
      slots[entry.slot] = {binding, filler_module.imports()[*import].sig};
    }

    // The table's functions by export index, and the slot each calls, whose content must have
    // the function's own signature (else call_indirect would trap).
    std::map<uint32_t, uint64_t> slot_of_export;
    for (const TrampolineTable::Function& f : table->functions) {
      std::optional<uint32_t> index = table_module.FindExport(f.export_name);
      if (!index) return;
      auto filled = slots.find(f.slot);
      if (filled == slots.end() || !(filled->second.second == table_module.exports()[*index].sig)) {
        return;
      }
      slot_of_export[*index] = f.slot;
    }

    // A resource destructor that is one of T's functions becomes what its slot holds, which
    // must then be another instance's function (a destructor is called as a core export).
    std::map<uint32_t*, CoreRef> dtors;
    for (LinkPlan::Resource& r : plan_.resources) {
      if (!r.dtor || r.dtor->instance != t) continue;
      auto slot = slot_of_export.find(r.dtor->index);
      if (slot == slot_of_export.end()) return;
      const Binding& content = slots.at(slot->second).first;
      if (content.kind != Binding::Kind::kForward) return;
      dtors[&r.dtor->instance] = content.target;
    }

    // Nothing else may reach either instance: T only through forwards to its functions, the
    // filler's table binding and those destructors, the filler not at all.
    // (A forward in another filler's slot is not one of the bindings rewritten below.)
    const Binding* table_binding_ptr = &table_binding;
    std::set<const Binding*> fill_contents;
    for (const Step& step : plan_.steps) {
      for (const LinkPlan::SlotFill& fill : step.fills) fill_contents.insert(&fill.content);
    }
    if (!UsedOnlyAs(t, [&](uint32_t* ref, Binding* b) {
          if (b == nullptr) return dtors.contains(ref);
          if (fill_contents.contains(b)) return false;
          return b == table_binding_ptr ||
                 (b->kind == Binding::Kind::kForward && slot_of_export.contains(b->target.index));
        })) {
      return;
    }
    if (!UsedOnlyAs(*filler, [](uint32_t*, Binding*) { return false; })) return;

    // Rewrite: forwards become slots, the filler's step fills them, T's step goes.
    for (LinkPlan::Resource& r : plan_.resources) {
      if (r.dtor && dtors.contains(&r.dtor->instance)) r.dtor = dtors.at(&r.dtor->instance);
    }
    std::map<uint64_t, uint32_t> slot_ids;
    auto slot_id = [&](uint64_t slot) {
      auto [it, added] = slot_ids.emplace(slot, 0);
      if (added) it->second = static_cast<uint32_t>(plan_.slots++);
      return it->second;
    };
    for (Step& step : plan_.steps) {
      if (step.kind != Step::Kind::kCoreInstance) continue;
      for (Binding& b : step.bindings) {
        if (b.kind == Binding::Kind::kForward && b.target.instance == t) {
          b.kind = Binding::Kind::kSlot;
          b.slot = slot_id(slot_of_export.at(b.target.index));
        }
      }
    }
    std::vector<LinkPlan::SlotFill> fill_list;
    for (const auto& [slot, id] : slot_ids) {
      const auto& [content, sig] = slots.at(slot);
      fill_list.push_back({id, content, sig});
    }
    filler_step.kind = Step::Kind::kFillSlots;
    filler_step.fills = std::move(fill_list);
    filler_step.bindings.clear();
    filler_step.module.reset();
    dropped_steps_.insert(step_of_[t]);
    removed_.insert(t);
    removed_.insert(*filler);
  }

  void ElideStartForwarder(uint32_t s) {
    if (removed_.contains(s)) return;
    Step& step = StepOf(s);
    if (!RecognizeStartForwarder(step.wasm)) return;
    if (step.bindings.size() != 1 || step.bindings[0].kind != Binding::Kind::kForward) return;
    const Binding binding = step.bindings[0];
    if (binding.params != 0 || binding.results != 0 || removed_.contains(binding.target.instance)) {
      return;
    }
    if (!UsedOnlyAs(s, [](uint32_t*, Binding*) { return false; })) return;
    step.kind = Step::Kind::kRunStart;
    step.start = binding.target;
    step.bindings.clear();
    step.module.reset();
    removed_.insert(s);
  }

  // Drops the removed instances' steps (a filler's and a forwarder's stay, changed) and numbers
  // the core instances that remain from 0 again.
  void Renumber() {
    std::vector<uint32_t> position(step_of_.size());
    uint32_t next = 0;
    for (uint32_t i = 0; i < step_of_.size(); ++i) {
      position[i] = removed_.contains(i) ? UINT32_MAX : next++;
    }
    ForEachInstanceRef(plan_, [&](uint32_t& ref, Binding*) { ref = position[ref]; });
    std::vector<Step> kept;
    kept.reserve(plan_.steps.size());
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      if (!dropped_steps_.contains(i)) kept.push_back(std::move(plan_.steps[i]));
    }
    plan_.steps = std::move(kept);
    plan_.core_instances = next;
  }

  LinkPlan& plan_;
  std::vector<size_t> step_of_;     // core instance position -> its step
  std::set<uint32_t> removed_;      // core instances replays no longer make
  std::set<size_t> dropped_steps_;  // the steps of removed trampoline tables
};

}  // namespace

void ElideGlueInstances(LinkPlan& plan) {
  GlueElision(plan).Run();
  for (Step& step : plan.steps) step.wasm = {};
}

}  // namespace theater::component
