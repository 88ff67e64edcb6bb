// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/model.h"

#include "abi/bindgen/names.h"

namespace theater::bindgen {
namespace {

using abi::Type;
using abi::TypeKind;

// Deeper than the WIT parser ever produces; keeps the walk bounded on any input.
constexpr int kMaxModelDepth = 256;

// "theater:simple" for "theater:simple/runtime@0.1.0"; empty for an inline interface.
std::string PackageOf(const std::string& qualified) {
  size_t slash = qualified.find('/');
  return slash == std::string::npos ? "" : StripVersion(qualified.substr(0, slash));
}

}  // namespace

bool IsHandle(const Type& type) {
  return type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow;
}

bool IsDeclaredShape(const Type& type) {
  return type.kind == TypeKind::kRecord || type.kind == TypeKind::kVariant ||
         type.kind == TypeKind::kEnum || type.kind == TypeKind::kFlags;
}

bool IsScalar(const Type& type) {
  switch (type.kind) {
    case TypeKind::kString:
    case TypeKind::kList:
    case TypeKind::kRecord:
    case TypeKind::kTuple:
    case TypeKind::kVariant:
    case TypeKind::kOption:
    case TypeKind::kResult:
      return false;
    default:
      return true;
  }
}

bool NeedsFree(const Type& type) {
  return abi::Contains(
      type, [](const Type& t) { return t.kind == TypeKind::kString || t.kind == TypeKind::kList; });
}

Result<std::unique_ptr<WorldModel>> WorldModel::Build(const wit::Package& package,
                                                      const wit::World& world) {
  std::unique_ptr<WorldModel> model(new WorldModel());
  model->package_ = &package;
  model->world_ = &world;
  model->prefix_ = SnakeWords(world.name);
  for (const wit::WorldItem& item : world.imports) {
    if (item.kind == wit::WorldItemKind::kInterface) {
      THEATER_RETURN_IF_ERROR(model->AddInterface(item, false));
    }
  }
  for (const wit::WorldItem& item : world.exports) {
    if (item.kind == wit::WorldItemKind::kInterface) {
      THEATER_RETURN_IF_ERROR(model->AddInterface(item, true));
    }
  }
  THEATER_RETURN_IF_ERROR(model->AddWorldScope());
  InterfaceInfo* world_scope = model->interfaces_.back().get();

  // Declared names first, so that `use` (pass two) always finds what it refers to.
  for (auto& info : model->interfaces_) {
    const bool is_world = info->interface == nullptr;
    const auto& types = is_world ? world.types : info->interface->types;
    const auto& resources = is_world ? world.resources : info->interface->resources;
    THEATER_RETURN_IF_ERROR(model->RegisterTypes(*info, types, resources));
  }
  for (auto& info : model->interfaces_) {
    const bool is_world = info->interface == nullptr;
    const auto& types = is_world ? world.types : info->interface->types;
    for (const wit::TypeDef& def : types) {
      if (def.used_from.empty() || def.type == nullptr) continue;
      const InterfaceInfo* origin = model->FindInterfaceByName(def.used_from);
      if (origin == nullptr) {
        return NotFound("type '" + def.name + "' comes from interface '" + def.used_from +
                        "', which the world neither imports nor exports");
      }
      if (def.is_resource) {
        auto it = model->scope_resources_.find({origin, def.used_name});
        if (it != model->scope_resources_.end()) {
          model->scope_resources_.emplace(std::make_pair(info.get(), def.used_name), it->second);
        }
        continue;
      }
      if (model->named_.count(def.type.get()) != 0) continue;
      // `use x.{a as b}`: the resolver made a renamed copy, which is declared here.
      NamedTypeInfo named;
      named.owner = info.get();
      named.wit_name = def.name;
      named.c_base =
          model->prefix_ + (is_world ? "" : "_" + info->c_name) + "_" + SnakeWords(def.name);
      named.cpp_name = "::" + model->prefix_ + (is_world ? "" : "::" + info->cpp_namespace) +
                       "::" + CamelName(def.name);
      model->named_.emplace(def.type.get(), std::move(named));
      model->named_order_.push_back(def.type);
    }
  }

  for (auto& info : model->interfaces_) {
    if (info->interface == nullptr) continue;
    for (const wit::Resource& resource : info->interface->resources) {
      for (const wit::Function& fn : resource.functions) {
        THEATER_RETURN_IF_ERROR(model->AddFunction(*info, fn, info->exported));
      }
    }
    for (const wit::Function& fn : info->interface->functions) {
      THEATER_RETURN_IF_ERROR(model->AddFunction(*info, fn, info->exported));
    }
  }
  for (const wit::Resource& resource : world.resources) {
    for (const wit::Function& fn : resource.functions) {
      THEATER_RETURN_IF_ERROR(model->AddFunction(*world_scope, fn, false));
    }
  }
  for (const wit::WorldItem& item : world.imports) {
    if (item.kind == wit::WorldItemKind::kFunction) {
      THEATER_RETURN_IF_ERROR(model->AddFunction(*world_scope, item.function, false));
    }
  }
  for (const wit::WorldItem& item : world.exports) {
    if (item.kind == wit::WorldItemKind::kFunction) {
      THEATER_RETURN_IF_ERROR(model->AddFunction(*world_scope, item.function, true));
    }
  }
  for (const abi::TypePtr& type : model->named_order_) {
    THEATER_RETURN_IF_ERROR(model->ResolveHandles(*model->named_.at(type.get()).owner, *type, 0));
  }
  return model;
}

Status WorldModel::AddInterface(const wit::WorldItem& item, bool exported) {
  if (item.interface == nullptr) {
    return NotFound("interface '" + item.name + "' of world '" + world_->name +
                    "' belongs to a package that was not loaded; pass a directory holding it");
  }
  for (const auto& existing : interfaces_) {
    if (existing->interface == item.interface.get()) {
      return InvalidArgument("interface '" + item.name +
                             "' is both imported and exported, which bindgen does not support");
    }
  }
  auto info = std::make_unique<InterfaceInfo>();
  info->interface = item.interface.get();
  info->exported = exported;
  info->module = StripVersion(item.name);
  const std::string package = PackageOf(item.interface->qualified_name);
  const std::string own_package = StripVersion(package_->namespace_name + ":" + package_->name);
  if (package.empty() || package == own_package) {
    info->c_name = SnakeWords(item.interface->name);
  } else {
    info->c_name = SnakeWords(package + "-" + item.interface->name);
  }
  info->cpp_namespace = info->c_name;
  for (const auto& existing : interfaces_) {
    if (existing->c_name == info->c_name) {
      return InvalidArgument("interfaces '" + existing->module + "' and '" + info->module +
                             "' would both be named '" + info->c_name + "' in the bindings");
    }
  }
  interfaces_.push_back(std::move(info));
  return Status::Ok();
}

Status WorldModel::AddWorldScope() {
  auto info = std::make_unique<InterfaceInfo>();
  info->module = "$root";
  interfaces_.push_back(std::move(info));
  return Status::Ok();
}

Status WorldModel::RegisterTypes(InterfaceInfo& owner, const std::vector<wit::TypeDef>& types,
                                 const std::vector<wit::Resource>& resources) {
  const bool is_world = owner.interface == nullptr;
  const std::string c_scope = prefix_ + (is_world ? "" : "_" + owner.c_name);
  const std::string cpp_scope = "::" + prefix_ + (is_world ? "" : "::" + owner.cpp_namespace);
  for (const wit::Resource& resource : resources) {
    auto info = std::make_unique<ResourceInfo>();
    info->owner = &owner;
    info->wit_name = resource.name;
    info->resource = &resource;
    info->c_base = c_scope + "_" + SnakeWords(resource.name);
    info->cpp_name = cpp_scope + "::" + CamelName(resource.name);
    scope_resources_[{&owner, resource.name}] = info.get();
    resources_.push_back(std::move(info));
  }
  for (const wit::TypeDef& def : types) {
    if (!def.used_from.empty() || def.is_resource || def.type == nullptr) continue;
    if (named_.count(def.type.get()) != 0) continue;
    NamedTypeInfo named;
    named.owner = &owner;
    named.wit_name = def.name;
    named.c_base = c_scope + "_" + SnakeWords(def.name);
    named.cpp_name = cpp_scope + "::" + CamelName(def.name);
    named_.emplace(def.type.get(), std::move(named));
    named_order_.push_back(def.type);
  }
  return Status::Ok();
}

Status WorldModel::ResolveHandles(const InterfaceInfo& scope, const Type& type, int depth) {
  if (depth > kMaxModelDepth) return InvalidArgument("type nesting is too deep for bindgen");
  const InterfaceInfo* here = &scope;
  if (const NamedTypeInfo* named = FindNamed(type)) here = named->owner;
  switch (type.kind) {
    case TypeKind::kOwn:
    case TypeKind::kBorrow: {
      auto it = scope_resources_.find({here, type.resource_name});
      if (it == scope_resources_.end()) {
        return NotFound("resource '" + type.resource_name + "' is not visible in '" +
                        (here->module == "$root" ? world_->name : here->module) + "'");
      }
      handles_[&type] = it->second;
      return Status::Ok();
    }
    case TypeKind::kList:
    case TypeKind::kOption:
      return ResolveHandles(*here, *type.element, depth + 1);
    case TypeKind::kRecord:
      for (const abi::Field& f : type.fields) {
        THEATER_RETURN_IF_ERROR(ResolveHandles(*here, *f.type, depth + 1));
      }
      return Status::Ok();
    case TypeKind::kTuple:
      if (type.elements.empty()) {
        return InvalidArgument("the empty tuple has no C representation; bindgen rejects it");
      }
      for (const abi::TypePtr& e : type.elements) {
        THEATER_RETURN_IF_ERROR(ResolveHandles(*here, *e, depth + 1));
      }
      return Status::Ok();
    case TypeKind::kVariant:
      for (const abi::Case& c : type.cases) {
        if (c.type) THEATER_RETURN_IF_ERROR(ResolveHandles(*here, *c.type, depth + 1));
      }
      return Status::Ok();
    case TypeKind::kResult:
      if (type.ok) THEATER_RETURN_IF_ERROR(ResolveHandles(*here, *type.ok, depth + 1));
      if (type.err) THEATER_RETURN_IF_ERROR(ResolveHandles(*here, *type.err, depth + 1));
      return Status::Ok();
    case TypeKind::kFlags:
      if (type.labels.size() > 32) {
        return InvalidArgument("flags '" + type.name + "' has " +
                               std::to_string(type.labels.size()) +
                               " labels; the component model allows at most 32");
      }
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

Status WorldModel::AddFunction(InterfaceInfo& owner, const wit::Function& function, bool exported) {
  FunctionInfo info;
  info.owner = &owner;
  info.function = &function;
  info.exported = exported;
  const bool is_world = owner.interface == nullptr;
  const std::string component_name = function.ComponentName();
  if (exported) {
    info.core_name = is_world ? component_name : owner.module + "#" + component_name;
  } else {
    info.core_module = owner.module;
    info.core_name = component_name;
  }
  std::string local;
  switch (function.kind) {
    case wit::FunctionKind::kFreestanding:
      local = SnakeWords(function.name);
      info.cpp_name = CamelName(function.name);
      break;
    case wit::FunctionKind::kMethod:
      local = "method_" + SnakeWords(function.resource) + "_" + SnakeWords(function.name);
      info.cpp_name = CamelName(function.name);
      break;
    case wit::FunctionKind::kStatic:
      local = "static_" + SnakeWords(function.resource) + "_" + SnakeWords(function.name);
      info.cpp_name = CamelName(function.name);
      break;
    case wit::FunctionKind::kConstructor:
      local = "constructor_" + SnakeWords(function.resource);
      info.cpp_name = "Create";
      break;
  }
  info.c_name =
      prefix_ + (exported ? "_exports" : "") + (is_world ? "" : "_" + owner.c_name) + "_" + local;
  const abi::FunctionType& type = function.type;
  if (type.result) {
    info.result = type.result;
  } else if (type.named_results.size() == 1) {
    info.result = type.named_results[0].type;
  } else if (!type.named_results.empty()) {
    std::vector<abi::TypePtr> elements;
    for (const abi::Field& f : type.named_results) elements.push_back(f.type);
    info.result = Type::Tuple(std::move(elements));
    keep_alive_.push_back(info.result);
  }
  for (const abi::Field& param : type.params) {
    THEATER_RETURN_IF_ERROR(ResolveHandles(owner, *param.type, 0));
  }
  if (info.result) THEATER_RETURN_IF_ERROR(ResolveHandles(owner, *info.result, 0));
  for (const FunctionInfo& other : functions_) {
    if (other.c_name == info.c_name) {
      return InvalidArgument("functions '" + other.core_name + "' and '" + info.core_name +
                             "' would both be named '" + info.c_name + "' in the bindings");
    }
  }
  functions_.push_back(std::move(info));
  return Status::Ok();
}

const InterfaceInfo* WorldModel::FindInterfaceByName(const std::string& qualified) const {
  const std::string wanted = StripVersion(qualified);
  for (const auto& info : interfaces_) {
    if (info->interface != nullptr && info->module == wanted) return info.get();
  }
  return nullptr;
}

const NamedTypeInfo* WorldModel::FindNamed(const Type& type) const {
  auto it = named_.find(&type);
  return it == named_.end() ? nullptr : &it->second;
}

const ResourceInfo* WorldModel::FindResource(const Type& handle) const {
  auto it = handles_.find(&handle);
  return it == handles_.end() ? nullptr : it->second;
}

}  // namespace theater::bindgen
