// Theater: a WebAssembly actor runtime.
#include "abi/wit/resolver.h"
#include "common/ascii.h"

#include <cctype>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace theater::wit::internal {
namespace {

struct Scope;

// A name visible in an interface or world body, and what it resolves to.
struct Entry {
  enum class Source { kLocal, kUse };
  enum class State { kPending, kResolving, kDone };

  Source source = Source::kLocal;
  std::string name;
  Location location;
  const TypeDecl* decl = nullptr;  // kLocal
  Scope* target = nullptr;         // kUse of an interface of this package
  std::string target_name;         // kUse: the name in the interface it comes from
  std::string from;                // kUse: qualified name of that interface
  // The qualified name of an interface of a package that is not loaded, when the name comes from
  // one (directly or through another `use`); the name then has no type.
  std::string unloaded;

  State state = State::kPending;
  abi::TypePtr type;
  std::string resource;  // the resource the name denotes, if it denotes one
};

struct Scope {
  std::string description;     // "interface 'runtime'", for messages
  std::string qualified_name;  // for TypeDef::used_from of names `use`d from here
  int file = 0;
  const InterfaceDecl* decl = nullptr;
  std::vector<Entry> entries;
  std::unordered_map<std::string, size_t> by_name;
  std::unordered_map<std::string, Location> lower_names;  // for case-insensitive uniqueness
  std::unordered_set<std::string> function_names;
  // Interfaces of this package whose types this one uses, for the cycle check.
  std::vector<std::pair<Scope*, Location>> dependencies;
};

// Where a path to an interface leads: an interface of this package, or only a name.
struct InterfaceTarget {
  Scope* local = nullptr;
  std::string qualified_name;
};

class Resolver {
 public:
  explicit Resolver(std::vector<AstFile> files) : files_(std::move(files)) {}

  Result<Package> Run();

 private:
  Status Error(int file, Location location, std::string_view message,
               StatusCode code = StatusCode::kValidationError) const {
    return ErrorAt(code, files_[file].name, location, message);
  }
  std::string Where(int file, Location location) const {
    return files_[file].name + ":" + std::to_string(location.line) + ":" +
           std::to_string(location.column);
  }

  Status ResolvePackageName();
  Status IndexPackageItems();
  Status IndexTopLevelUses();
  Result<InterfaceTarget> ResolveInterfacePath(const UsePath& path, int file);
  Status FillScope(Scope* scope);
  Status AddName(Scope* scope, const std::string& name, Location location);
  Status CheckUseCycles();
  Status ResolveAll(Scope& scope);
  Status ResolveEntry(Scope& scope, Entry& entry, int depth);
  Result<Entry*> Lookup(Scope& scope, const std::string& name, Location location, int depth);
  Result<abi::TypePtr> ResolveExpr(Scope& scope, const TypeExpr& expr, int depth);
  Result<Function> ResolveFunction(Scope& scope, const FuncDecl& decl, const std::string& resource);
  Status BuildTypes(Scope& scope, std::vector<TypeDef>* types, std::vector<Resource>* resources);
  Result<std::shared_ptr<const Interface>> BuildInterface(Scope& scope, std::string name);
  Status BuildWorld(size_t index, int depth);
  Result<WorldItem> BuildWorldItem(Scope& world_scope, const WorldItemDecl& item, int file);
  Status IncludeWorld(const IncludeDecl& include, int file, int depth, World* world);
  void AddImplicitImports(World* world);

  std::vector<AstFile> files_;
  Package package_;
  std::vector<std::unique_ptr<Scope>> scopes_;
  std::unordered_map<std::string, Scope*> interfaces_;
  std::unordered_map<Scope*, std::shared_ptr<const Interface>> built_;
  std::unordered_map<std::string, std::shared_ptr<const Interface>> built_by_name_;
  struct WorldSlot {
    const WorldDecl* decl;
    enum class State { kPending, kBuilding, kDone } state = State::kPending;
    World world;
  };
  std::vector<WorldSlot> worlds_;
  std::unordered_map<std::string, size_t> world_index_;
  // Lower-cased interface and world names (they share one namespace), with where they are.
  std::unordered_map<std::string, std::pair<int, Location>> item_names_;
  // Per file: top-level `use` aliases.
  std::vector<std::unordered_map<std::string, const TopLevelUse*>> file_aliases_;
};

Result<Package> Resolver::Run() {
  THEATER_RETURN_IF_ERROR(ResolvePackageName());
  THEATER_RETURN_IF_ERROR(IndexPackageItems());
  THEATER_RETURN_IF_ERROR(IndexTopLevelUses());
  // All interface scopes exist before any is filled, so `use` may point forward and across files.
  std::vector<Scope*> interface_scopes;
  for (AstFile& file : files_) {
    for (const InterfaceDecl& decl : file.interfaces) {
      auto scope = std::make_unique<Scope>();
      scope->description = "interface '" + decl.name + "'";
      scope->qualified_name = package_.QualifiedInterfaceName(decl.name);
      scope->file = decl.file;
      scope->decl = &decl;
      interfaces_.emplace(decl.name, scope.get());
      interface_scopes.push_back(scope.get());
      scopes_.push_back(std::move(scope));
    }
  }
  for (Scope* scope : interface_scopes) THEATER_RETURN_IF_ERROR(FillScope(scope));
  THEATER_RETURN_IF_ERROR(CheckUseCycles());
  for (Scope* scope : interface_scopes) THEATER_RETURN_IF_ERROR(ResolveAll(*scope));
  for (Scope* scope : interface_scopes) {
    THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const Interface> interface,
                             BuildInterface(*scope, scope->decl->name));
    built_.emplace(scope, interface);
    built_by_name_.emplace(interface->qualified_name, interface);
    package_.interfaces.push_back(std::move(interface));
  }
  for (size_t i = 0; i < worlds_.size(); ++i) THEATER_RETURN_IF_ERROR(BuildWorld(i, 0));
  for (WorldSlot& slot : worlds_) package_.worlds.push_back(std::move(slot.world));
  return std::move(package_);
}

Status Resolver::ResolvePackageName() {
  const PackageDecl* first = nullptr;
  int first_file = 0;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (!files_[i].package) continue;
    const PackageDecl& decl = *files_[i].package;
    if (first == nullptr) {
      first = &decl;
      first_file = static_cast<int>(i);
      package_.namespace_name = decl.namespace_name;
      package_.name = decl.name;
      package_.version = decl.version;
    } else if (decl.namespace_name != first->namespace_name || decl.name != first->name ||
               decl.version != first->version) {
      auto spell = [](const PackageDecl& d) {
        return d.namespace_name + ":" + d.name + (d.version ? "@" + *d.version : "");
      };
      return Error(static_cast<int>(i), decl.location,
                   "package '" + spell(decl) + "' does not match package '" + spell(*first) +
                       "' declared at " + Where(first_file, first->location));
    }
    if (!decl.docs.empty()) {
      if (!package_.docs.empty()) package_.docs += '\n';
      package_.docs += decl.docs;
    }
  }
  if (first == nullptr) {
    return Error(0, Location{},
                 files_.size() == 1
                     ? "missing package declaration (expected 'package namespace:name;' first)"
                     : "none of the files declares the package (expected 'package "
                       "namespace:name;' at the top of one of them)");
  }
  return Status::Ok();
}

Status Resolver::IndexPackageItems() {
  auto add = [&](const std::string& name, int file, Location location) -> Status {
    auto [it, inserted] = item_names_.emplace(AsciiLower(name), std::make_pair(file, location));
    if (!inserted) {
      return Error(file, location,
                   "duplicate name '" + name +
                       "': an interface or world with this name is "
                       "already declared at " +
                       Where(it->second.first, it->second.second));
    }
    return Status::Ok();
  };
  for (const AstFile& file : files_) {
    for (const InterfaceDecl& decl : file.interfaces) {
      THEATER_RETURN_IF_ERROR(add(decl.name, decl.file, decl.location));
    }
    for (const WorldDecl& decl : file.worlds) {
      THEATER_RETURN_IF_ERROR(add(decl.name, decl.file, decl.location));
      world_index_.emplace(decl.name, worlds_.size());
      worlds_.push_back(WorldSlot{&decl, WorldSlot::State::kPending, World{}});
    }
  }
  return Status::Ok();
}

Status Resolver::IndexTopLevelUses() {
  file_aliases_.resize(files_.size());
  for (size_t i = 0; i < files_.size(); ++i) {
    std::unordered_map<std::string, Location> seen;
    for (const TopLevelUse& use : files_[i].uses) {
      const int file = static_cast<int>(i);
      auto [it, inserted] = seen.emplace(AsciiLower(use.alias), use.location);
      if (!inserted) {
        return Error(file, use.location,
                     "duplicate top-level use of the name '" + use.alias + "' (first at line " +
                         std::to_string(it->second.line) + ")");
      }
      auto item = item_names_.find(AsciiLower(use.alias));
      if (item != item_names_.end()) {
        return Error(file, use.location,
                     "'" + use.alias +
                         "' is already the name of an interface or world of this "
                         "package (declared at " +
                         Where(item->second.first, item->second.second) +
                         "); rename the use with 'as'");
      }
      file_aliases_[i].emplace(use.alias, &use);
    }
  }
  return Status::Ok();
}

Result<InterfaceTarget> Resolver::ResolveInterfacePath(const UsePath& written, int file) {
  const UsePath* path = &written;
  if (path->is_bare()) {
    auto alias = file_aliases_[file].find(path->name);
    if (alias != file_aliases_[file].end()) {
      path = &alias->second->path;
    } else {
      auto it = interfaces_.find(path->name);
      if (it != interfaces_.end()) return InterfaceTarget{it->second, it->second->qualified_name};
      if (world_index_.count(path->name)) {
        return Error(file, path->location, "'" + path->name + "' is a world, not an interface");
      }
      return Error(file, path->location, "unknown interface '" + path->name + "'");
    }
  }
  const bool this_package = path->namespace_name == package_.namespace_name &&
                            path->package == package_.name &&
                            (!path->version || path->version == package_.version);
  if (!this_package) return InterfaceTarget{nullptr, path->ToString()};
  auto it = interfaces_.find(path->name);
  if (it == interfaces_.end()) {
    return Error(file, written.location,
                 "package '" + package_.Id() + "' has no interface '" + path->name + "'");
  }
  return InterfaceTarget{it->second, it->second->qualified_name};
}

Status Resolver::AddName(Scope* scope, const std::string& name, Location location) {
  auto [it, inserted] = scope->lower_names.emplace(AsciiLower(name), location);
  if (!inserted) {
    return Error(scope->file, location,
                 "duplicate name '" + name + "' in " + scope->description +
                     " (first declared at line " + std::to_string(it->second.line) + ")");
  }
  return Status::Ok();
}

Status Resolver::FillScope(Scope* scope) {
  const InterfaceDecl& decl = *scope->decl;
  for (const UseDecl& use : decl.uses) {
    THEATER_ASSIGN_OR_RETURN(InterfaceTarget target, ResolveInterfacePath(use.path, decl.file));
    if (target.local == scope) {
      return Error(decl.file, use.path.location,
                   scope->description + " cannot 'use' its own types");
    }
    if (target.local) scope->dependencies.emplace_back(target.local, use.path.location);
    for (const UseName& used : use.names) {
      Entry entry;
      entry.source = Entry::Source::kUse;
      entry.name = used.alias.empty() ? used.name : used.alias;
      entry.location = used.location;
      entry.target = target.local;
      entry.target_name = used.name;
      entry.from = target.qualified_name;
      if (!target.local) entry.unloaded = target.qualified_name;
      THEATER_RETURN_IF_ERROR(AddName(scope, entry.name, entry.location));
      scope->by_name.emplace(entry.name, scope->entries.size());
      scope->entries.push_back(std::move(entry));
    }
  }
  for (const TypeDecl& type : decl.types) {
    Entry entry;
    entry.name = type.name;
    entry.location = type.location;
    entry.decl = &type;
    THEATER_RETURN_IF_ERROR(AddName(scope, entry.name, entry.location));
    scope->by_name.emplace(entry.name, scope->entries.size());
    scope->entries.push_back(std::move(entry));
  }
  for (const FuncDecl& function : decl.functions) {
    THEATER_RETURN_IF_ERROR(AddName(scope, function.name, function.location));
    scope->function_names.insert(function.name);
  }
  return Status::Ok();
}

// An iterative depth-first search, so that a long chain of interfaces cannot exhaust the stack.
Status Resolver::CheckUseCycles() {
  enum class Color { kWhite, kGray, kBlack };
  std::unordered_map<Scope*, Color> color;
  for (const auto& root : scopes_) {
    if (color[root.get()] != Color::kWhite) continue;
    std::vector<std::pair<Scope*, size_t>> stack = {{root.get(), 0}};
    color[root.get()] = Color::kGray;
    while (!stack.empty()) {
      auto& [scope, next] = stack.back();
      if (next == scope->dependencies.size()) {
        color[scope] = Color::kBlack;
        stack.pop_back();
        continue;
      }
      auto [dependency, location] = scope->dependencies[next++];
      Color& state = color[dependency];
      if (state == Color::kGray) {
        return Error(scope->file, location,
                     scope->description + " uses types from " + dependency->description +
                         ", which (directly or indirectly) uses types from it; 'use' between "
                         "interfaces must not form a cycle");
      }
      if (state == Color::kWhite) {
        state = Color::kGray;
        stack.emplace_back(dependency, 0);
      }
    }
  }
  return Status::Ok();
}

Status Resolver::ResolveAll(Scope& scope) {
  for (Entry& entry : scope.entries) THEATER_RETURN_IF_ERROR(ResolveEntry(scope, entry, 0));
  return Status::Ok();
}

Result<Entry*> Resolver::Lookup(Scope& scope, const std::string& name, Location location,
                                int depth) {
  auto it = scope.by_name.find(name);
  if (it == scope.by_name.end()) {
    if (scope.function_names.count(name)) {
      return Error(scope.file, location, "'" + name + "' is a function, not a type");
    }
    return Error(scope.file, location, "unknown type '" + name + "' in " + scope.description);
  }
  Entry& entry = scope.entries[it->second];
  THEATER_RETURN_IF_ERROR(ResolveEntry(scope, entry, depth));
  if (!entry.unloaded.empty()) {
    return Error(scope.file, location,
                 "type '" + name + "' comes from interface '" + entry.unloaded +
                     "', whose package is not loaded");
  }
  return &entry;
}

Status Resolver::ResolveEntry(Scope& scope, Entry& entry, int depth) {
  if (entry.state == Entry::State::kDone) return Status::Ok();
  if (entry.state == Entry::State::kResolving) {
    return Error(scope.file, entry.location,
                 "type '" + entry.name +
                     "' is defined in terms of itself; recursive types are not allowed in WIT");
  }
  if (depth > kMaxResolutionDepth) {
    return Error(scope.file, entry.location,
                 "type definitions are nested too deeply (the limit is " +
                     std::to_string(kMaxResolutionDepth) + " levels)");
  }
  entry.state = Entry::State::kResolving;
  if (entry.source == Entry::Source::kUse) {
    if (entry.target != nullptr) {
      auto it = entry.target->by_name.find(entry.target_name);
      if (it == entry.target->by_name.end()) {
        return Error(scope.file, entry.location,
                     entry.target->description + " has no type named '" + entry.target_name + "'");
      }
      Entry& origin = entry.target->entries[it->second];
      THEATER_RETURN_IF_ERROR(ResolveEntry(*entry.target, origin, depth + 1));
      entry.unloaded = origin.unloaded;
      entry.resource = origin.resource;
      entry.type = origin.type;
      // A renamed type is spelled by its new name here; a handle keeps naming its resource.
      if (entry.type && entry.name != entry.target_name && entry.resource.empty()) {
        entry.type = abi::Type::Named(entry.name, entry.type);
      }
    }
    entry.state = Entry::State::kDone;
    return Status::Ok();
  }

  const TypeDecl& decl = *entry.decl;
  switch (decl.kind) {
    case TypeDecl::Kind::kAlias: {
      THEATER_ASSIGN_OR_RETURN(abi::TypePtr aliased, ResolveExpr(scope, *decl.alias, depth + 1));
      if (decl.alias->kind == TypeExpr::Kind::kName) {
        THEATER_ASSIGN_OR_RETURN(Entry * target,
                                 Lookup(scope, decl.alias->name, decl.alias->location, depth));
        entry.resource = target->resource;
      }
      entry.type = abi::Type::Named(decl.name, aliased);
      break;
    }
    case TypeDecl::Kind::kRecord: {
      std::vector<abi::Field> fields;
      for (const NamedTypeExpr& member : decl.members) {
        THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, ResolveExpr(scope, *member.type, depth + 1));
        fields.push_back(abi::Field{member.name, std::move(type)});
      }
      entry.type = abi::Type::Record(decl.name, std::move(fields));
      break;
    }
    case TypeDecl::Kind::kVariant: {
      std::vector<abi::Case> cases;
      for (const NamedTypeExpr& member : decl.members) {
        abi::TypePtr payload;
        if (member.type) {
          THEATER_ASSIGN_OR_RETURN(payload, ResolveExpr(scope, *member.type, depth + 1));
        }
        cases.push_back(abi::Case{member.name, std::move(payload)});
      }
      entry.type = abi::Type::Variant(decl.name, std::move(cases));
      break;
    }
    case TypeDecl::Kind::kEnum:
    case TypeDecl::Kind::kFlags: {
      std::vector<std::string> labels;
      for (const NamedTypeExpr& member : decl.members) labels.push_back(member.name);
      entry.type = decl.kind == TypeDecl::Kind::kEnum
                       ? abi::Type::Enum(decl.name, std::move(labels))
                       : abi::Type::Flags(decl.name, std::move(labels));
      break;
    }
    case TypeDecl::Kind::kResource:
      entry.resource = decl.name;
      entry.type = abi::Type::Own(decl.name);
      break;
  }
  entry.state = Entry::State::kDone;
  return Status::Ok();
}

Result<abi::TypePtr> Resolver::ResolveExpr(Scope& scope, const TypeExpr& expr, int depth) {
  if (depth > kMaxResolutionDepth) {
    return Error(scope.file, expr.location,
                 "type definitions are nested too deeply (the limit is " +
                     std::to_string(kMaxResolutionDepth) + " levels)");
  }
  switch (expr.kind) {
    case TypeExpr::Kind::kPrimitive:
      return abi::Type::Primitive(expr.primitive);
    case TypeExpr::Kind::kName: {
      THEATER_ASSIGN_OR_RETURN(Entry * entry, Lookup(scope, expr.name, expr.location, depth));
      return entry->type;
    }
    case TypeExpr::Kind::kOwn:
    case TypeExpr::Kind::kBorrow: {
      THEATER_ASSIGN_OR_RETURN(Entry * entry, Lookup(scope, expr.name, expr.location, depth));
      if (entry->resource.empty()) {
        return Error(scope.file, expr.location,
                     "'" + expr.name + "' is not a resource; " +
                         (expr.kind == TypeExpr::Kind::kOwn ? "own" : "borrow") +
                         "<...> takes a resource");
      }
      return expr.kind == TypeExpr::Kind::kOwn ? abi::Type::Own(entry->resource)
                                               : abi::Type::Borrow(entry->resource);
    }
    case TypeExpr::Kind::kList:
    case TypeExpr::Kind::kOption: {
      THEATER_ASSIGN_OR_RETURN(abi::TypePtr element, ResolveExpr(scope, *expr.args[0], depth + 1));
      return expr.kind == TypeExpr::Kind::kList ? abi::Type::List(std::move(element))
                                                : abi::Type::Option(std::move(element));
    }
    case TypeExpr::Kind::kResult: {
      abi::TypePtr ok;
      abi::TypePtr err;
      if (expr.args[0]) {
        THEATER_ASSIGN_OR_RETURN(ok, ResolveExpr(scope, *expr.args[0], depth + 1));
      }
      if (expr.args[1]) {
        THEATER_ASSIGN_OR_RETURN(err, ResolveExpr(scope, *expr.args[1], depth + 1));
      }
      return abi::Type::Result(std::move(ok), std::move(err));
    }
    case TypeExpr::Kind::kTuple: {
      std::vector<abi::TypePtr> elements;
      for (const TypeExprPtr& arg : expr.args) {
        THEATER_ASSIGN_OR_RETURN(abi::TypePtr element, ResolveExpr(scope, *arg, depth + 1));
        elements.push_back(std::move(element));
      }
      return abi::Type::Tuple(std::move(elements));
    }
  }
  return InternalError("unhandled type expression kind");
}

Result<Function> Resolver::ResolveFunction(Scope& scope, const FuncDecl& decl,
                                           const std::string& resource) {
  Function function;
  function.name = decl.name;
  function.kind = decl.kind;
  function.resource = resource;
  function.docs = decl.docs;
  if (decl.kind == FunctionKind::kMethod) {
    function.type.params.push_back(abi::Field{"self", abi::Type::Borrow(resource)});
  }
  for (const NamedTypeExpr& param : decl.params) {
    if (decl.kind == FunctionKind::kMethod && AsciiLower(param.name) == "self") {
      return Error(scope.file, param.location,
                   "method '" + decl.name +
                       "' cannot declare a parameter named 'self'; "
                       "methods receive 'self' implicitly");
    }
    THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, ResolveExpr(scope, *param.type, 0));
    function.type.params.push_back(abi::Field{param.name, std::move(type)});
  }
  if (decl.kind == FunctionKind::kConstructor) {
    function.type.result = abi::Type::Own(resource);
  } else if (decl.result) {
    THEATER_ASSIGN_OR_RETURN(function.type.result, ResolveExpr(scope, *decl.result, 0));
  }
  for (const NamedTypeExpr& result : decl.named_results) {
    THEATER_ASSIGN_OR_RETURN(abi::TypePtr type, ResolveExpr(scope, *result.type, 0));
    function.type.named_results.push_back(abi::Field{result.name, std::move(type)});
  }
  return function;
}

Status Resolver::BuildTypes(Scope& scope, std::vector<TypeDef>* types,
                            std::vector<Resource>* resources) {
  for (Entry& entry : scope.entries) {
    TypeDef def;
    def.name = entry.name;
    def.type = entry.type;
    def.is_resource = !entry.resource.empty();
    if (entry.source == Entry::Source::kUse) {
      def.used_from = entry.from;
      def.used_name = entry.target_name;
    } else {
      def.docs = entry.decl->docs;
    }
    types->push_back(std::move(def));
    if (entry.source != Entry::Source::kLocal || entry.decl->kind != TypeDecl::Kind::kResource) {
      continue;
    }
    Resource resource;
    resource.name = entry.name;
    resource.docs = entry.decl->docs;
    for (const FuncDecl& decl : entry.decl->resource_functions) {
      THEATER_ASSIGN_OR_RETURN(Function function, ResolveFunction(scope, decl, entry.name));
      resource.functions.push_back(std::move(function));
    }
    resources->push_back(std::move(resource));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const Interface>> Resolver::BuildInterface(Scope& scope, std::string name) {
  auto interface = std::make_shared<Interface>();
  interface->name = std::move(name);
  interface->qualified_name = scope.qualified_name;
  interface->docs = scope.decl->docs;
  THEATER_RETURN_IF_ERROR(BuildTypes(scope, &interface->types, &interface->resources));
  for (const FuncDecl& decl : scope.decl->functions) {
    THEATER_ASSIGN_OR_RETURN(Function function, ResolveFunction(scope, decl, ""));
    interface->functions.push_back(std::move(function));
  }
  return std::shared_ptr<const Interface>(std::move(interface));
}

Result<WorldItem> Resolver::BuildWorldItem(Scope& world_scope, const WorldItemDecl& decl,
                                           int file) {
  WorldItem item;
  item.docs = decl.docs;
  switch (decl.target) {
    case WorldItemDecl::Target::kPath: {
      THEATER_ASSIGN_OR_RETURN(InterfaceTarget target, ResolveInterfacePath(decl.path, file));
      item.kind = WorldItemKind::kInterface;
      item.name = target.qualified_name;
      if (target.local) item.interface = built_.at(target.local);
      break;
    }
    case WorldItemDecl::Target::kFunction: {
      item.kind = WorldItemKind::kFunction;
      THEATER_ASSIGN_OR_RETURN(item.function, ResolveFunction(world_scope, decl.function, ""));
      item.name = item.function.name;
      break;
    }
    case WorldItemDecl::Target::kInlineInterface: {
      auto scope = std::make_unique<Scope>();
      scope->description = "interface '" + decl.inline_body->name + "'";
      scope->qualified_name = decl.inline_body->name;
      scope->file = file;
      scope->decl = decl.inline_body.get();
      Scope& inline_scope = *scope;
      scopes_.push_back(std::move(scope));
      THEATER_RETURN_IF_ERROR(FillScope(&inline_scope));
      THEATER_RETURN_IF_ERROR(ResolveAll(inline_scope));
      item.kind = WorldItemKind::kInterface;
      item.name = decl.inline_body->name;
      THEATER_ASSIGN_OR_RETURN(item.interface,
                               BuildInterface(inline_scope, decl.inline_body->name));
      break;
    }
  }
  return item;
}

// Plain names (functions, inline interfaces) carry no ':'; interface names always do.
bool IsPlainName(const WorldItem& item) {
  return item.name.find(':') == std::string::npos;
}

Status Resolver::BuildWorld(size_t index, int depth) {
  WorldSlot& slot = worlds_[index];
  const WorldDecl& decl = *slot.decl;
  if (slot.state == WorldSlot::State::kDone) return Status::Ok();
  if (slot.state == WorldSlot::State::kBuilding) {
    return Error(decl.file, decl.location,
                 "world '" + decl.name + "' includes itself (directly or through other worlds)");
  }
  if (depth > kMaxNestingDepth) {
    return Error(decl.file, decl.location,
                 "worlds include each other too deeply (the limit is " +
                     std::to_string(kMaxNestingDepth) + " levels)");
  }
  slot.state = WorldSlot::State::kBuilding;
  World world;
  world.name = decl.name;
  world.qualified_name = package_.QualifiedInterfaceName(decl.name);
  world.docs = decl.docs;

  auto scope = std::make_unique<Scope>();
  scope->description = "world '" + decl.name + "'";
  scope->qualified_name = world.qualified_name;
  scope->file = decl.file;
  scope->decl = &decl.body;
  Scope& world_scope = *scope;
  scopes_.push_back(std::move(scope));
  THEATER_RETURN_IF_ERROR(FillScope(&world_scope));
  THEATER_RETURN_IF_ERROR(ResolveAll(world_scope));
  THEATER_RETURN_IF_ERROR(BuildTypes(world_scope, &world.types, &world.resources));

  std::unordered_map<std::string, Location> import_names;
  std::unordered_map<std::string, Location> export_names;
  for (const WorldItemDecl& item_decl : decl.items) {
    THEATER_ASSIGN_OR_RETURN(WorldItem item, BuildWorldItem(world_scope, item_decl, decl.file));
    auto& names = item_decl.is_import ? import_names : export_names;
    auto [it, inserted] = names.emplace(AsciiLower(item.name), item_decl.location);
    if (!inserted) {
      return Error(decl.file, item_decl.location,
                   std::string(item_decl.is_import ? "import" : "export") + " '" + item.name +
                       "' appears twice in world '" + decl.name + "' (first at line " +
                       std::to_string(it->second.line) + ")");
    }
    (item_decl.is_import ? world.imports : world.exports).push_back(std::move(item));
  }
  for (const IncludeDecl& include : decl.includes) {
    THEATER_RETURN_IF_ERROR(IncludeWorld(include, decl.file, depth, &world));
  }
  AddImplicitImports(&world);
  worlds_[index].world = std::move(world);
  worlds_[index].state = WorldSlot::State::kDone;
  return Status::Ok();
}

Status Resolver::IncludeWorld(const IncludeDecl& include, int file, int depth, World* world) {
  const UsePath& path = include.path;
  const bool this_package = path.is_bare() || (path.namespace_name == package_.namespace_name &&
                                               path.package == package_.name &&
                                               (!path.version || path.version == package_.version));
  if (!this_package) {
    return Error(file, path.location,
                 "cannot include world '" + path.ToString() + "': its package is not loaded");
  }
  auto found = world_index_.find(path.name);
  if (found == world_index_.end()) {
    return Error(file, path.location, "unknown world '" + path.name + "'");
  }
  THEATER_RETURN_IF_ERROR(BuildWorld(found->second, depth + 1));
  const World& included = worlds_[found->second].world;

  std::unordered_map<std::string, std::string> renames;
  std::unordered_set<std::string> renamed;
  for (const UseName& rename : include.renames) renames.emplace(rename.name, rename.alias);
  auto merge = [&](const std::vector<WorldItem>& from, std::vector<WorldItem>* into,
                   std::string_view direction) -> Status {
    std::unordered_set<std::string> present;
    for (const WorldItem& existing : *into) present.insert(AsciiLower(existing.name));
    for (WorldItem item : from) {
      if (IsPlainName(item)) {
        auto rename = renames.find(item.name);
        if (rename != renames.end()) {
          renamed.insert(item.name);
          item.name = rename->second;
          if (item.kind == WorldItemKind::kFunction) item.function.name = item.name;
        }
      }
      if (present.insert(AsciiLower(item.name)).second) {
        into->push_back(std::move(item));
      } else if (IsPlainName(item)) {
        return Error(file, include.location,
                     "including world '" + included.name + "' brings " + std::string(direction) +
                         " '" + item.name +
                         "', which the world already has; rename it with "
                         "'with { " +
                         item.name + " as ... }'");
      }
      // The same interface imported (or exported) twice is the same import: keep one.
    }
    return Status::Ok();
  };
  THEATER_RETURN_IF_ERROR(merge(included.imports, &world->imports, "import"));
  THEATER_RETURN_IF_ERROR(merge(included.exports, &world->exports, "export"));
  for (const UseName& rename : include.renames) {
    if (!renamed.count(rename.name)) {
      return Error(file, rename.location,
                   "world '" + included.name + "' has no import or export with the plain name '" +
                       rename.name + "' to rename (interface names cannot be renamed)");
    }
  }
  return Status::Ok();
}

// An interface whose types are used by an imported interface must be imported too; one used by
// an exported interface must be imported unless the world exports it.
void Resolver::AddImplicitImports(World* world) {
  std::unordered_set<std::string> imported;
  std::unordered_set<std::string> exported;
  std::vector<std::pair<const std::vector<TypeDef>*, bool>> work;  // (types, used by an export)
  for (const WorldItem& item : world->imports) {
    imported.insert(item.name);
    if (item.interface) work.emplace_back(&item.interface->types, false);
  }
  for (const WorldItem& item : world->exports) {
    exported.insert(item.name);
    if (item.interface) work.emplace_back(&item.interface->types, true);
  }
  work.emplace_back(&world->types, false);
  // Items are appended while `work` holds pointers to the types of their interfaces, which the
  // shared Interface objects own, so the pointers stay valid.
  while (!work.empty()) {
    auto [types, by_export] = work.back();
    work.pop_back();
    for (const TypeDef& type : *types) {
      const std::string& from = type.used_from;
      if (from.empty() || imported.count(from) || (by_export && exported.count(from))) continue;
      WorldItem item;
      item.kind = WorldItemKind::kInterface;
      item.name = from;
      item.implicit = true;
      auto it = built_by_name_.find(from);
      if (it != built_by_name_.end()) {
        item.interface = it->second;
        work.emplace_back(&item.interface->types, false);
      }
      imported.insert(from);
      world->imports.push_back(std::move(item));
    }
  }
}

}  // namespace

Result<Package> ResolvePackage(std::vector<AstFile> files) {
  return Resolver(std::move(files)).Run();
}

}  // namespace theater::wit::internal
