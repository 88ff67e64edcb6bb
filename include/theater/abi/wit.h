// Theater: a WebAssembly actor runtime.
//
// WIT (the WebAssembly Interface Type language) parsed and resolved: the host reads the
// `theater:simple` package and actors' worlds with it, and the canonical ABI lifts and lowers
// values by the abi::Type trees it produces.
//
// A Package is the resolved form of one WIT package (one file, or every *.wit file of a
// directory): its interfaces, with named types already resolved to abi::TypePtr trees (`use`
// followed, aliases expanded, resources turned into own/borrow handles), its functions as
// abi::FunctionType, its resources with their constructors, methods and static functions, its
// worlds with their imports, exports and `include`s flattened, and the doc comments of all of it.
// Interfaces of packages that were not loaded (`use wasi:io/streams@0.2.0.{...}`,
// `import wasi:clocks/wall-clock;`) are recorded by name only; resolution fails only when one of
// their types is actually needed.
//
// Every error is a Status with code kParseError (the text is not WIT) or kValidationError (it is
// WIT but breaks a rule: unknown or duplicate names, recursion, ...), whose message starts with
// `file:line:column: `. Input is treated as hostile: nesting is capped, nothing recurses without
// bound, nothing throws.
//
// Thread-safety: the parse functions are reentrant. A Package is an immutable value once
// returned; interfaces are shared (std::shared_ptr<const Interface>) between the package and the
// worlds that import or export them, so copies are cheap and any thread may read them.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/type.h"
#include "theater/status.h"

namespace theater::wit {

// The deepest nesting the parser accepts in one type expression (`list<list<...>>`), and the
// deepest chain of worlds including each other. (Type definitions that refer to other
// definitions are followed up to 256 levels, nesting included.)
inline constexpr int kMaxNestingDepth = 100;

enum class FunctionKind {
  kFreestanding,  // `name: func(...)`
  kMethod,        // `name: func(...)` inside a resource; takes `self: borrow<resource>` first
  kStatic,        // `name: static func(...)` inside a resource
  kConstructor,   // `constructor(...)` inside a resource; returns `own<resource>`
};

struct Function {
  std::string name;  // as declared ("log", "read"); "constructor" for constructors
  FunctionKind kind = FunctionKind::kFreestanding;
  std::string resource;  // the resource a method, static function or constructor belongs to
  // The signature as the canonical ABI sees it: methods carry their implicit `self` parameter
  // and constructors their `own<resource>` result.
  abi::FunctionType type;
  std::string docs;

  // The name the component model gives the function: "log", "[method]blob.read",
  // "[static]blob.merge" or "[constructor]blob".
  std::string ComponentName() const;
};

// A named type visible in an interface or world: declared there, or brought in with `use`.
struct TypeDef {
  std::string name;
  // The resolved type; for a resource, its owning handle `own<name>`. Null only for a name
  // `use`d from an interface of a package that was not loaded.
  abi::TypePtr type;
  bool is_resource = false;
  std::string docs;
  // For names brought in with `use`: the fully-qualified interface they come from
  // ("theater:simple/types", "wasi:io/streams@0.2.0") and their name there (differs from `name`
  // after `as`). Empty for names declared in place.
  std::string used_from;
  std::string used_name;
};

struct Resource {
  std::string name;
  std::string docs;
  std::vector<Function> functions;  // constructor, methods and static functions, in order
};

struct Interface {
  std::string name;  // "runtime"; for an interface declared inline in a world, its plain name
  // The component-model name: "theater:simple/runtime" (with "@version" when the package has
  // one); for an inline interface, its plain name.
  std::string qualified_name;
  std::string docs;
  std::vector<TypeDef> types;       // in declaration order, `use`d names included
  std::vector<Resource> resources;  // in declaration order
  std::vector<Function> functions;  // freestanding functions, in declaration order

  // The signature of a freestanding function, or of a resource function by its component name
  // ("[method]blob.read"); nullptr when there is none.
  const abi::FunctionType* FindFunction(std::string_view name) const;
  // Like FindFunction, but the whole declaration (docs, kind, resource).
  const Function* FindFunctionDef(std::string_view name) const;
  // The resolved type of a name visible in the interface; nullptr when unknown or unresolved.
  abi::TypePtr FindType(std::string_view name) const;
  const TypeDef* FindTypeDef(std::string_view name) const;
  const Resource* FindResource(std::string_view name) const;
};

enum class WorldItemKind {
  kInterface,  // `import runtime;`, `import wasi:io/streams@0.2.0;`, `import host: interface {..}`
  kFunction,   // `export run: func();`
};

struct WorldItem {
  WorldItemKind kind = WorldItemKind::kInterface;
  // The component import/export name: the qualified name of a named interface
  // ("theater:simple/runtime", "wasi:io/streams@0.2.0") or the plain name of an inline interface
  // or a function ("host", "run").
  std::string name;
  // kInterface: the interface; nullptr when it belongs to a package that was not loaded.
  std::shared_ptr<const Interface> interface;
  Function function;  // kFunction
  std::string docs;
  // True for an interface the world imports only because the types of one of its items (or of
  // the world itself) are `use`d from it, as the component model requires; such an import was
  // not written in the world.
  bool implicit = false;
};

struct World {
  std::string name;
  std::string qualified_name;  // "theater:simple/minimal" (with "@version" when there is one)
  std::string docs;
  std::vector<TypeDef> types;  // declared in the world or brought in with `use`
  std::vector<Resource> resources;
  // Imports and exports as written, then those of included worlds (interfaces deduplicated,
  // plain names renamed by `with`), then the implicit imports.
  std::vector<WorldItem> imports;
  std::vector<WorldItem> exports;

  // Looks an item up by its component name (WorldItem::name) or, for an interface of the
  // world's own package, by its short name ("runtime"). nullptr when absent.
  const WorldItem* FindImport(std::string_view name) const;
  const WorldItem* FindExport(std::string_view name) const;
};

struct Package {
  std::string namespace_name;          // "theater"
  std::string name;                    // "simple"
  std::optional<std::string> version;  // semver, e.g. "0.1.0"; absent when not declared
  std::string docs;
  std::vector<std::shared_ptr<const Interface>> interfaces;  // in declaration order
  std::vector<World> worlds;
  // Interfaces whose functions are accepted as other forms of another interface's functions of
  // the same name: {"runtime", {"runtime-leveled"}} lets a guest import
  // `theater:simple/runtime.log` with the type `runtime-leveled.log` declares. WIT cannot say
  // this (an interface has one function per name); the host that loads the package sets it, and
  // whoever binds an import tells the forms apart by the imported type (docs/wit.md).
  std::vector<std::pair<std::string, std::string>> alternate_forms;  // {interface, alternate}

  // The interfaces whose `function` an import of `interface_name`.`function` may be: the
  // interface itself first, then its alternates that declare the function.
  std::vector<const Interface*> FormsOf(std::string_view interface_name,
                                        std::string_view function) const;

  // "theater:simple", or "theater:simple@0.1.0" when the package has a version.
  std::string Id() const;
  // The component-model name of an interface of this package, following the core-module naming
  // convention: "theater:simple/runtime", or "theater:simple/runtime@0.1.0" with a version.
  std::string QualifiedInterfaceName(std::string_view interface_name) const;

  const Interface* FindInterface(std::string_view name) const;
  const World* FindWorld(std::string_view name) const;
};

// Parses and resolves one WIT file's text. `file_name` is used in error messages only. The text
// must declare its package (`package ns:name;` or `package ns:name@1.2.3;`).
Result<Package> ParseWitText(std::string_view text, std::string file_name);

// Parses every `*.wit` file directly inside `directory` (not subdirectories) as one package and
// resolves them together, so `use` and imports work across files. At least one file must declare
// the package; all files that declare it must agree. Files are read in name order, which is the
// order of interfaces and worlds in the result.
Result<Package> ParseWitDirectory(const std::filesystem::path& directory);

// One WIT file held in memory: `name` is used in error messages.
struct SourceFile {
  std::string name;
  std::string text;
};

// Like ParseWitDirectory, over files already in memory (e.g. WIT embedded in a binary), in the
// order given.
Result<Package> ParseWitSources(std::span<const SourceFile> sources);

}  // namespace theater::wit
