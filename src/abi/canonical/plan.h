// Theater: a WebAssembly actor runtime.
//
// Plan: one or more WIT types compiled for lifting and lowering. Each type node becomes a Node
// with its size, alignment, flat count, discriminant size and child offsets computed once, so the
// lift and lower loops never recompute a layout (naively, loading a list<record> would recompute
// the record's size for every element).
//
// Building a plan is also where a type is validated: a missing element type is kInvalidArgument;
// nesting deeper than AbiLimits::max_depth, more than kMaxPlanNodes nodes, or a size above 4 GiB
// is kResourceExhausted. The build recursion itself never goes deeper than max_depth, so a type
// nested a million levels deep is rejected without exhausting the stack.
//
// Thread-safety: immutable after Finish(); shared read-only between threads. Node::type points
// into the types the plan was built from: whoever keeps the plan keeps those types alive.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "abi/canonical/layout.h"
#include "theater/abi/canonical.h"
#include "theater/abi/type.h"
#include "theater/status.h"

namespace theater::abi::canonical_internal {

inline constexpr uint32_t kNoNode = UINT32_MAX;
// Bounds plan size (and so the time to build one) for types from untrusted components.
inline constexpr uint32_t kMaxPlanNodes = 1u << 16;

struct Node {
  TypeKind kind = TypeKind::kBool;
  uint8_t discriminant_size = 0;  // variant-shaped kinds
  uint32_t size = 0;
  uint32_t align = 1;
  uint32_t flat_count = 0;      // saturates at kFlatCountClamp
  uint32_t payload_offset = 0;  // variant-shaped kinds
  uint32_t case_count = 0;      // variant-shaped: cases; flags: labels
  uint32_t first_child = 0;     // into Plan::children
  uint32_t child_count = 0;
  uint32_t tree_size = 1;      // nodes in this subtree
  const Type* type = nullptr;  // nullptr for the synthetic parameter and result tuples
  const char* synthetic_name = nullptr;
};

// A record field, tuple element, list element or variant case.
struct Child {
  uint32_t node = kNoNode;  // kNoNode for a case without payload
  uint32_t offset = 0;      // record and tuple fields
};

class Plan {
 public:
  const Node& node(uint32_t index) const { return nodes_[index]; }
  std::span<const Child> children(const Node& node) const {
    return {children_.data() + node.first_child, node.child_count};
  }
  const AbiLimits& limits() const { return limits_; }

  // How a node's type is named in error messages: its WIT spelling when that is short, else its
  // name or kind (an anonymous type of thousands of nodes would make an unreadable message).
  std::string Describe(uint32_t index) const;

  // Roots in the order they were added (for function plans: parameters, then results).
  const std::vector<uint32_t>& roots() const { return roots_; }

 private:
  friend class PlanBuilder;

  AbiLimits limits_;
  std::vector<Node> nodes_;
  std::vector<Child> children_;
  std::vector<uint32_t> roots_;
};

class PlanBuilder {
 public:
  explicit PlanBuilder(const AbiLimits& limits) { plan_.limits_ = limits; }

  // Adds a type and returns its root node.
  Result<uint32_t> Add(const Type& type);
  Result<uint32_t> Add(const TypePtr& type);
  // Adds a tuple of already-added nodes (a function's parameters or results as they are laid out
  // in memory). It is not a root.
  Result<uint32_t> AddTuple(std::span<const uint32_t> elements, const char* name);

  Plan Finish() && { return std::move(plan_); }

 private:
  Result<uint32_t> AddNode(const Type& type, uint32_t depth);
  // Computes `node`'s layout from its type, adding its children (the recursive step).
  Status Fill(const Type& type, uint32_t depth, Node* node, std::vector<Child>* children);
  Status FillFields(const Type& type, uint32_t depth, Node* node, std::vector<Child>* children);
  Status FillCases(const Type& type, uint32_t depth, Node* node, std::vector<Child>* children);
  Result<uint32_t> AddChild(const TypePtr& child, const char* role, uint32_t depth, Node* parent);
  Result<uint32_t> NewNode(const Node& node);
  Status SetSize(Node* node, const Layout& layout);

  Plan plan_;
};

// Adds to `status` where in the composite value of `node` it happened: "field 'x' of point",
// "element 3 of list<u32>", "some of option<char>".
Status InChild(const Status& status, const Plan& plan, uint32_t node, size_t child);

// Checks that [ptr, ptr + node.size) lies in memory and that ptr is aligned for node; `what` says
// whose pointer it is ("result area"). kGuestError otherwise.
Status CheckRegion(const Plan& plan, uint32_t node, uint64_t ptr, size_t memory_size,
                   std::string_view what);

}  // namespace theater::abi::canonical_internal
