// Theater: a WebAssembly actor runtime.
//
// The syntax tree of one WIT file, as the parser (parser.h) produces it and before any name is
// resolved; the resolver (resolver.h) turns a set of these into a wit::Package. Names inside are
// as written; every node keeps its Location for error messages, and `file` indexes the file list
// the resolver was given.
//
// Thread-safety: plain values; owned by whoever parsed them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi/wit/lexer.h"
#include "theater/abi/type.h"
#include "theater/abi/wit.h"

namespace theater::wit::internal {

struct TypeExpr;
using TypeExprPtr = std::unique_ptr<TypeExpr>;

struct TypeExpr {
  enum class Kind { kPrimitive, kList, kOption, kResult, kTuple, kOwn, kBorrow, kName };
  Kind kind = Kind::kPrimitive;
  abi::TypeKind primitive = abi::TypeKind::kBool;  // kPrimitive
  std::string name;                                // kName, kOwn, kBorrow
  // kList/kOption: {element}; kResult: {ok, err}, either may be null; kTuple: the elements.
  std::vector<TypeExprPtr> args;
  Location location;
};

struct NamedTypeExpr {
  std::string name;
  Location location;
  TypeExprPtr type;  // null for enum/flags labels and payload-less variant cases
};

struct FuncDecl {
  std::string name;
  Location location;
  std::string docs;
  FunctionKind kind = FunctionKind::kFreestanding;
  std::vector<NamedTypeExpr> params;
  TypeExprPtr result;
  std::vector<NamedTypeExpr> named_results;
};

struct TypeDecl {
  enum class Kind { kAlias, kRecord, kVariant, kEnum, kFlags, kResource };
  Kind kind = Kind::kAlias;
  std::string name;
  Location location;
  std::string docs;
  TypeExprPtr alias;                         // kAlias
  std::vector<NamedTypeExpr> members;        // record fields, variant cases, enum/flags labels
  std::vector<FuncDecl> resource_functions;  // kResource
};

// `id`, or `ns:package/interface[@version]`.
struct UsePath {
  std::string namespace_name;  // empty for a bare `id`
  std::string package;
  std::string name;
  std::optional<std::string> version;
  Location location;

  bool is_bare() const { return namespace_name.empty(); }
  // "ns:package/name@version" or the bare name, as written.
  std::string ToString() const;
};

struct UseName {
  std::string name;
  std::string alias;  // empty when no `as`
  Location location;
};

struct UseDecl {
  UsePath path;
  std::vector<UseName> names;
  Location location;
};

// The body shared by interfaces and worlds: `use`s, type declarations and, for interfaces,
// functions.
struct InterfaceDecl {
  std::string name;
  Location location;
  std::string docs;
  int file = 0;
  std::vector<UseDecl> uses;
  std::vector<TypeDecl> types;
  std::vector<FuncDecl> functions;
};

struct WorldItemDecl {
  enum class Target { kPath, kFunction, kInlineInterface };
  bool is_import = true;
  Target target = Target::kPath;
  UsePath path;                                // kPath
  FuncDecl function;                           // kFunction (its name is the plain name)
  std::unique_ptr<InterfaceDecl> inline_body;  // kInlineInterface (its name is the plain name)
  Location location;
  std::string docs;
};

struct IncludeDecl {
  UsePath path;
  std::vector<UseName> renames;  // `with { a as b }`
  Location location;
};

struct WorldDecl {
  std::string name;
  Location location;
  std::string docs;
  int file = 0;
  InterfaceDecl body;  // uses and types declared in the world
  std::vector<WorldItemDecl> items;
  std::vector<IncludeDecl> includes;
};

// `use ns:package/interface[@version] [as alias];` at the top of a file.
struct TopLevelUse {
  UsePath path;
  std::string alias;  // the name it defines in the file: the alias, or the interface name
  Location location;
};

struct PackageDecl {
  std::string namespace_name;
  std::string name;
  std::optional<std::string> version;
  Location location;
  std::string docs;
};

struct AstFile {
  std::string name;
  std::optional<PackageDecl> package;
  std::vector<TopLevelUse> uses;
  std::vector<InterfaceDecl> interfaces;
  std::vector<WorldDecl> worlds;
};

}  // namespace theater::wit::internal
