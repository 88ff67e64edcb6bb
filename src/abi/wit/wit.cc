// Theater: a WebAssembly actor runtime.
#include "theater/abi/wit.h"

#include "common/bytes.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "abi/wit/parser.h"
#include "abi/wit/resolver.h"

namespace theater::wit {

std::string Function::ComponentName() const {
  switch (kind) {
    case FunctionKind::kFreestanding:
      return name;
    case FunctionKind::kMethod:
      return "[method]" + resource + "." + name;
    case FunctionKind::kStatic:
      return "[static]" + resource + "." + name;
    case FunctionKind::kConstructor:
      return "[constructor]" + resource;
  }
  return name;
}

const Function* Interface::FindFunctionDef(std::string_view name) const {
  for (const Function& function : functions) {
    if (function.name == name) return &function;
  }
  // Resource functions are only reachable by their component names, which start with '['.
  if (name.empty() || name.front() != '[') return nullptr;
  for (const Resource& resource : resources) {
    for (const Function& function : resource.functions) {
      if (function.ComponentName() == name) return &function;
    }
  }
  return nullptr;
}

const abi::FunctionType* Interface::FindFunction(std::string_view name) const {
  const Function* function = FindFunctionDef(name);
  return function ? &function->type : nullptr;
}

const TypeDef* Interface::FindTypeDef(std::string_view name) const {
  for (const TypeDef& type : types) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

abi::TypePtr Interface::FindType(std::string_view name) const {
  const TypeDef* type = FindTypeDef(name);
  return type ? type->type : nullptr;
}

const Resource* Interface::FindResource(std::string_view name) const {
  for (const Resource& resource : resources) {
    if (resource.name == name) return &resource;
  }
  return nullptr;
}

namespace {

const WorldItem* FindItem(const std::vector<WorldItem>& items, std::string_view name) {
  for (const WorldItem& item : items) {
    if (item.name == name) return &item;
  }
  // A short name ("runtime") matches an interface of the world's own package, whose items are
  // named "ns:package/runtime[@version]".
  for (const WorldItem& item : items) {
    if (item.interface && item.name != item.interface->name && item.interface->name == name) {
      return &item;
    }
  }
  return nullptr;
}

}  // namespace

const WorldItem* World::FindImport(std::string_view name) const {
  return FindItem(imports, name);
}
const WorldItem* World::FindExport(std::string_view name) const {
  return FindItem(exports, name);
}

std::string Package::Id() const {
  std::string id = namespace_name + ":" + name;
  if (version) id += "@" + *version;
  return id;
}

std::string Package::QualifiedInterfaceName(std::string_view interface_name) const {
  std::string qualified = namespace_name + ":" + name + "/" + std::string(interface_name);
  if (version) qualified += "@" + *version;
  return qualified;
}

const Interface* Package::FindInterface(std::string_view interface_name) const {
  for (const auto& interface : interfaces) {
    if (interface->name == interface_name) return interface.get();
  }
  return nullptr;
}

std::vector<const Interface*> Package::FormsOf(std::string_view interface_name,
                                               std::string_view function) const {
  std::vector<const Interface*> forms;
  if (const Interface* own = FindInterface(interface_name); own && own->FindFunction(function)) {
    forms.push_back(own);
  }
  for (const auto& [of, alternate] : alternate_forms) {
    if (of != interface_name) continue;
    const Interface* other = FindInterface(alternate);
    if (other && other->FindFunction(function)) forms.push_back(other);
  }
  return forms;
}

const World* Package::FindWorld(std::string_view world_name) const {
  for (const World& world : worlds) {
    if (world.name == world_name) return &world;
  }
  return nullptr;
}

Result<Package> ParseWitText(std::string_view text, std::string file_name) {
  THEATER_ASSIGN_OR_RETURN(internal::AstFile file,
                           internal::ParseFile(text, std::move(file_name), 0));
  std::vector<internal::AstFile> files;
  files.push_back(std::move(file));
  return internal::ResolvePackage(std::move(files));
}

Result<Package> ParseWitDirectory(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::directory_iterator it(directory, error);
  if (error) {
    return IOError("reading WIT directory '" + directory.string() + "': " + error.message());
  }
  std::vector<std::filesystem::path> paths;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) break;
    const std::filesystem::path& path = it->path();
    if (path.extension() == ".wit" && it->is_regular_file(error)) paths.push_back(path);
  }
  if (error) {
    return IOError("reading WIT directory '" + directory.string() + "': " + error.message());
  }
  if (paths.empty()) return NotFound("no .wit files in '" + directory.string() + "'");
  std::sort(paths.begin(), paths.end());

  std::vector<SourceFile> sources;
  for (const std::filesystem::path& path : paths) {
    THEATER_ASSIGN_OR_RETURN(std::string text, ReadFileText(path, "WIT file"));
    sources.push_back({path.string(), std::move(text)});
  }
  return ParseWitSources(sources);
}

Result<Package> ParseWitSources(std::span<const SourceFile> sources) {
  if (sources.empty()) return InvalidArgument("no WIT sources");
  std::vector<internal::AstFile> files;
  for (const SourceFile& source : sources) {
    THEATER_ASSIGN_OR_RETURN(
        internal::AstFile file,
        internal::ParseFile(source.text, source.name, static_cast<int>(files.size())));
    files.push_back(std::move(file));
  }
  return internal::ResolvePackage(std::move(files));
}

}  // namespace theater::wit
