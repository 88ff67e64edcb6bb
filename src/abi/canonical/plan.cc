// Theater: a WebAssembly actor runtime.
#include "abi/canonical/plan.h"
#include "common/bytes.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace theater::abi::canonical_internal {
namespace {

// Types up to this many nodes are spelled out in messages.
constexpr uint32_t kMaxDescribedTreeSize = 32;
constexpr size_t kMaxDescriptionLength = 160;

uint32_t SaturatingAdd(uint32_t a, uint64_t b) {
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{a} + b, UINT32_MAX));
}

[[gnu::cold, gnu::noinline]] Status DepthError(uint32_t limit) {
  return ResourceExhausted("type nesting depth exceeds the limit of " + std::to_string(limit));
}

[[gnu::cold, gnu::noinline]] Status NodeCountError() {
  return ResourceExhausted("type has more than " + std::to_string(kMaxPlanNodes) + " nodes");
}

[[gnu::cold, gnu::noinline]] Status TooLargeError(const Node& node) {
  const std::string what = node.type ? node.type->ToWit().substr(0, 80) : node.synthetic_name;
  return ResourceExhausted(what + " does not fit in 32-bit guest memory");
}

[[gnu::cold, gnu::noinline]] Status MissingTypeError(const char* role, TypeKind parent) {
  return InvalidArgument(std::string("malformed type: ") + role + " of " + TypeKindName(parent) +
                         " has no type");
}

}  // namespace

std::string Plan::Describe(uint32_t index) const {
  const Node& n = nodes_[index];
  if (n.type == nullptr) return n.synthetic_name;
  if (n.tree_size <= kMaxDescribedTreeSize) {
    std::string wit = n.type->ToWit();
    if (wit.size() > kMaxDescriptionLength) {
      wit.resize(kMaxDescriptionLength);
      wit += "...";
    }
    return wit;
  }
  if (!n.type->name.empty()) return n.type->name;
  return std::string(TypeKindName(n.kind)) + "<...>";
}

Status InChild(const Status& status, const Plan& plan, uint32_t index, size_t child) {
  const Node& n = plan.node(index);
  std::string where;
  if (n.kind == TypeKind::kRecord && n.type != nullptr) {
    where = "field '" + n.type->fields[child].name + "'";
  } else if (n.kind == TypeKind::kVariant && n.type != nullptr) {
    where = "case '" + n.type->cases[child].name + "'";
  } else if (n.kind == TypeKind::kOption) {
    where = "some";
  } else if (n.kind == TypeKind::kResult) {
    where = child == 0 ? "ok" : "err";
  } else {
    where = "element " + std::to_string(child);
  }
  return status.WithContext(where + " of " + plan.Describe(index));
}

Status CheckRegion(const Plan& plan, uint32_t index, uint64_t ptr, size_t memory_size,
                   std::string_view what) {
  const Node& n = plan.node(index);
  if (ptr % n.align != 0) {
    return GuestError(std::string(what) + " at " + HexNumber(ptr) + " for " + plan.Describe(index) +
                      " is misaligned (alignment " + std::to_string(n.align) + ")");
  }
  if (ptr + n.size > memory_size) {
    return GuestError(std::string(what) + " at " + HexNumber(ptr) + " for " + plan.Describe(index) +
                      " (" + std::to_string(n.size) + " bytes) exceeds guest memory (" +
                      std::to_string(memory_size) + " bytes)");
  }
  return Status::Ok();
}

Result<uint32_t> PlanBuilder::Add(const Type& type) {
  THEATER_ASSIGN_OR_RETURN(uint32_t root, AddNode(type, 1));
  plan_.roots_.push_back(root);
  return root;
}

Result<uint32_t> PlanBuilder::Add(const TypePtr& type) {
  if (type == nullptr) return InvalidArgument("malformed type: missing type");
  return Add(*type);
}

Result<uint32_t> PlanBuilder::AddTuple(std::span<const uint32_t> elements, const char* name) {
  Node node;
  node.kind = TypeKind::kTuple;
  node.synthetic_name = name;
  RecordLayoutBuilder record;
  uint64_t flat = 0;
  node.first_child = static_cast<uint32_t>(plan_.children_.size());
  for (uint32_t element : elements) {
    const Node& e = plan_.nodes_[element];
    const uint64_t offset = record.Add({e.size, e.align});
    plan_.children_.push_back(
        {element, static_cast<uint32_t>(std::min<uint64_t>(offset, UINT32_MAX))});
    flat += e.flat_count;
    node.tree_size = SaturatingAdd(node.tree_size, e.tree_size);
  }
  node.child_count = static_cast<uint32_t>(elements.size());
  node.flat_count = ClampFlat(flat);
  THEATER_RETURN_IF_ERROR(SetSize(&node, record.Finish()));
  return NewNode(node);
}

Status PlanBuilder::SetSize(Node* node, const Layout& layout) {
  if (layout.size > UINT32_MAX) return TooLargeError(*node);
  node->size = static_cast<uint32_t>(layout.size);
  node->align = layout.align;
  return Status::Ok();
}

Result<uint32_t> PlanBuilder::NewNode(const Node& node) {
  if (plan_.nodes_.size() >= kMaxPlanNodes) return NodeCountError();
  plan_.nodes_.push_back(node);
  return static_cast<uint32_t>(plan_.nodes_.size() - 1);
}

// The recursion is AddNode -> Fill -> AddChild -> AddNode. AddNode keeps only the node being built
// in its frame and the work is out of line, so each nesting level costs little stack.
Result<uint32_t> PlanBuilder::AddNode(const Type& type, uint32_t depth) {
  if (depth > plan_.limits_.max_depth) return DepthError(plan_.limits_.max_depth);
  // Checked before recursing so that a huge type fails fast instead of after building the limit.
  if (plan_.nodes_.size() >= kMaxPlanNodes) return NodeCountError();
  Node node;
  node.kind = type.kind;
  node.type = &type;
  std::vector<Child> children;
  THEATER_RETURN_IF_ERROR(Fill(type, depth, &node, &children));
  node.first_child = static_cast<uint32_t>(plan_.children_.size());
  node.child_count = static_cast<uint32_t>(children.size());
  plan_.children_.insert(plan_.children_.end(), children.begin(), children.end());
  return NewNode(node);
}

[[gnu::noinline]] Result<uint32_t> PlanBuilder::AddChild(const TypePtr& child, const char* role,
                                                         uint32_t depth, Node* parent) {
  if (child == nullptr) return MissingTypeError(role, parent->kind);
  THEATER_ASSIGN_OR_RETURN(uint32_t index, AddNode(*child, depth + 1));
  parent->tree_size = SaturatingAdd(parent->tree_size, plan_.nodes_[index].tree_size);
  return index;
}

Status PlanBuilder::Fill(const Type& type, uint32_t depth, Node* node,
                         std::vector<Child>* children) {
  switch (type.kind) {
    case TypeKind::kList: {
      THEATER_ASSIGN_OR_RETURN(uint32_t element, AddChild(type.element, "element", depth, node));
      children->push_back({element, 0});
      node->flat_count = 2;
      return SetSize(node, LeafLayout(type.kind));
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      return FillFields(type, depth, node, children);
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult:
      return FillCases(type, depth, node, children);
    case TypeKind::kFlags:
      if (type.labels.size() > UINT32_MAX) return InvalidArgument("flags has too many labels");
      node->case_count = static_cast<uint32_t>(type.labels.size());
      node->tree_size = SaturatingAdd(1, type.labels.size());
      node->flat_count = FlagsFlatCount(type.labels.size());
      return SetSize(node, FlagsLayout(type.labels.size()));
    default:
      if (type.kind > TypeKind::kBorrow) return InvalidArgument("malformed type: unknown kind");
      node->flat_count = LeafFlatCount(type.kind);
      return SetSize(node, LeafLayout(type.kind));
  }
}

[[gnu::noinline]] Status PlanBuilder::FillFields(const Type& type, uint32_t depth, Node* node,
                                                 std::vector<Child>* children) {
  RecordLayoutBuilder record;
  uint64_t flat = 0;
  const bool is_record = type.kind == TypeKind::kRecord;
  const size_t count = is_record ? type.fields.size() : type.elements.size();
  for (size_t i = 0; i < count; ++i) {
    const TypePtr& field_type = is_record ? type.fields[i].type : type.elements[i];
    THEATER_ASSIGN_OR_RETURN(uint32_t field, AddChild(field_type, "field", depth, node));
    const Node& f = plan_.nodes_[field];
    const uint64_t offset = record.Add({f.size, f.align});
    children->push_back({field, static_cast<uint32_t>(std::min<uint64_t>(offset, UINT32_MAX))});
    flat += f.flat_count;
  }
  node->flat_count = ClampFlat(flat);
  return SetSize(node, record.Finish());
}

[[gnu::noinline]] Status PlanBuilder::FillCases(const Type& type, uint32_t depth, Node* node,
                                                std::vector<Child>* children) {
  const uint64_t cases = CaseCount(type);
  if (cases > UINT32_MAX) return InvalidArgument("variant has more than 2^32 - 1 cases");
  node->case_count = static_cast<uint32_t>(cases);
  // An option's element is not optional: a null one is a malformed type, not `none`.
  if (type.kind == TypeKind::kOption && type.element == nullptr) {
    return MissingTypeError("element", type.kind);
  }
  VariantLayoutBuilder variant(cases);
  uint64_t max_payload_flat = 0;
  if (type.kind == TypeKind::kEnum) {
    node->tree_size = SaturatingAdd(1, cases);  // enums have no payloads and no children
  } else {
    std::vector<TypePtr> payloads;
    ForEachCase(type, [&](const TypePtr& payload) { payloads.push_back(payload); });
    for (const TypePtr& payload : payloads) {
      if (payload == nullptr) {
        children->push_back({kNoNode, 0});
        continue;
      }
      THEATER_ASSIGN_OR_RETURN(uint32_t index, AddChild(payload, "case", depth, node));
      const Node& p = plan_.nodes_[index];
      variant.AddPayload({p.size, p.align});
      max_payload_flat = std::max<uint64_t>(max_payload_flat, p.flat_count);
      children->push_back({index, 0});
    }
  }
  node->discriminant_size = static_cast<uint8_t>(variant.discriminant_size());
  node->payload_offset = static_cast<uint32_t>(variant.payload_offset());
  node->flat_count = ClampFlat(1 + max_payload_flat);
  return SetSize(node, variant.Finish());
}

}  // namespace theater::abi::canonical_internal
