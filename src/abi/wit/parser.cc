// Theater: a WebAssembly actor runtime.
#include "abi/wit/parser.h"
#include "common/ascii.h"

#include <cctype>
#include <optional>
#include <unordered_map>
#include <utility>

namespace theater::wit::internal {
namespace {

std::optional<abi::TypeKind> PrimitiveKind(TokenKind kind) {
  switch (kind) {
    case TokenKind::kBool:
      return abi::TypeKind::kBool;
    case TokenKind::kS8:
      return abi::TypeKind::kS8;
    case TokenKind::kU8:
      return abi::TypeKind::kU8;
    case TokenKind::kS16:
      return abi::TypeKind::kS16;
    case TokenKind::kU16:
      return abi::TypeKind::kU16;
    case TokenKind::kS32:
      return abi::TypeKind::kS32;
    case TokenKind::kU32:
      return abi::TypeKind::kU32;
    case TokenKind::kS64:
      return abi::TypeKind::kS64;
    case TokenKind::kU64:
      return abi::TypeKind::kU64;
    case TokenKind::kF32:
    case TokenKind::kFloat32:
      return abi::TypeKind::kF32;
    case TokenKind::kF64:
    case TokenKind::kFloat64:
      return abi::TypeKind::kF64;
    case TokenKind::kChar:
      return abi::TypeKind::kChar;
    case TokenKind::kString:
      return abi::TypeKind::kString;
    default:
      return std::nullopt;
  }
}

void AppendDocs(std::string more, std::string* docs) {
  if (more.empty()) return;
  if (!docs->empty()) docs->push_back('\n');
  docs->append(more);
}

class Parser {
 public:
  Parser(std::string_view text, std::string file_name, int file_index)
      : lexer_(text, std::move(file_name)), file_index_(file_index) {}

  Result<AstFile> Run();

 private:
  // The next token, lexed on demand. After a lexing error it is an end-of-file token and the
  // error is kept in lex_error_, which every error path reports in preference to its own
  // message, so the user sees the first real problem.
  const Token& Peek();
  Token Take();
  bool At(TokenKind kind) { return Peek().kind == kind; }
  bool TakeIf(TokenKind kind);
  // The docs attached to the next token, moved out.
  std::string TakeDocs();

  Status Unexpected(std::string_view expected);
  Status Expect(TokenKind kind);
  Status ErrorAt(Location location, std::string_view message,
                 StatusCode code = StatusCode::kParseError);
  Result<std::string> ExpectIdentifier(Location* location = nullptr);
  Result<std::string> ExpectVersion();

  Status ParsePackageDecl(std::string docs, AstFile* file);
  Status ParseGates();
  Result<std::string> ParseItemPrelude();
  Result<UsePath> ParseUsePath();
  Status ParseTopLevelUse(AstFile* file);
  Status ParseInterface(std::string docs, AstFile* file);
  Status ParseWorld(std::string docs, AstFile* file);
  // Parses one item of an interface body (or, without functions, of a world body) that starts
  // with the current token; returns false in *matched when the token starts no such item.
  Status ParseBodyItem(std::string docs, bool allow_functions, InterfaceDecl* body, bool* matched);
  Status ParseInterfaceBody(InterfaceDecl* body);
  Status ParseUse(InterfaceDecl* body);
  Status ParseTypeDecl(std::string docs, InterfaceDecl* body);
  Status ParseResourceBody(TypeDecl* resource);
  Status ParseFuncType(FuncDecl* function);
  Status ParseNamedTypes(std::vector<NamedTypeExpr>* out, std::string_view what);
  Status ParseWorldExtern(std::string docs, WorldDecl* world);
  Status ParseInclude(WorldDecl* world);
  Result<TypeExprPtr> ParseType(int depth);
  Status CheckUnique(const std::vector<NamedTypeExpr>& items, std::string_view what,
                     std::string_view owner);

  Lexer lexer_;
  int file_index_;
  std::optional<Token> peeked_;
  Status lex_error_;
};

const Token& Parser::Peek() {
  if (!peeked_) {
    Result<Token> token = lex_error_.ok() ? lexer_.Next() : Result<Token>(lex_error_);
    if (token.ok()) {
      peeked_ = std::move(token).value();
    } else {
      lex_error_ = token.status();
      peeked_ = Token{};
    }
  }
  return *peeked_;
}

Token Parser::Take() {
  Peek();
  Token token = std::move(*peeked_);
  peeked_.reset();
  return token;
}

bool Parser::TakeIf(TokenKind kind) {
  if (!At(kind)) return false;
  Take();
  return true;
}

std::string Parser::TakeDocs() {
  Peek();
  return std::move(peeked_->docs);
}

Status Parser::ErrorAt(Location location, std::string_view message, StatusCode code) {
  if (!lex_error_.ok()) return lex_error_;
  return internal::ErrorAt(code, lexer_.file_name(), location, message);
}

Status Parser::Unexpected(std::string_view expected) {
  const Token& token = Peek();
  if (!lex_error_.ok()) return lex_error_;
  std::string message = "expected " + std::string(expected) + ", found " + Describe(token);
  if (token.kind >= TokenKind::kAs && (expected.find("identifier") != std::string_view::npos ||
                                       expected.find("name") != std::string_view::npos)) {
    message += " (write %" + std::string(token.text) + " to use a keyword as a name)";
  }
  return ErrorAt(token.location, message);
}

Status Parser::Expect(TokenKind kind) {
  if (TakeIf(kind)) return Status::Ok();
  return Unexpected(Spelling(kind));
}

Result<std::string> Parser::ExpectIdentifier(Location* location) {
  if (!At(TokenKind::kIdentifier)) return Unexpected("an identifier");
  Token token = Take();
  if (location) *location = token.location;
  return std::string(token.text);
}

Result<std::string> Parser::ExpectVersion() {
  if (!At(TokenKind::kVersion)) return Unexpected("a version (like 1.0.0) after '@'");
  Token token = Take();
  std::string problem = VersionProblem(token.text);
  if (!problem.empty()) {
    return ErrorAt(token.location, "invalid version '" + std::string(token.text) + "': " + problem);
  }
  return std::string(token.text);
}

Status Parser::CheckUnique(const std::vector<NamedTypeExpr>& items, std::string_view what,
                           std::string_view owner) {
  std::unordered_map<std::string, const NamedTypeExpr*> seen;
  for (const NamedTypeExpr& item : items) {
    auto [it, inserted] = seen.emplace(AsciiLower(item.name), &item);
    if (!inserted) {
      return ErrorAt(item.location,
                     "duplicate " + std::string(what) + " '" + item.name + "' in " +
                         std::string(owner) + " (first declared at line " +
                         std::to_string(it->second->location.line) + ")",
                     StatusCode::kValidationError);
    }
  }
  return Status::Ok();
}

Result<AstFile> Parser::Run() {
  AstFile file;
  file.name = lexer_.file_name();
  std::string docs = TakeDocs();
  if (At(TokenKind::kPackage)) {
    THEATER_RETURN_IF_ERROR(ParsePackageDecl(std::move(docs), &file));
    docs.clear();
  }
  while (true) {
    AppendDocs(TakeDocs(), &docs);
    THEATER_ASSIGN_OR_RETURN(std::string gated_docs, ParseItemPrelude());
    AppendDocs(std::move(gated_docs), &docs);
    switch (Peek().kind) {
      case TokenKind::kEnd:
        if (!lex_error_.ok()) return lex_error_;
        return file;
      case TokenKind::kUse:
        THEATER_RETURN_IF_ERROR(ParseTopLevelUse(&file));
        break;
      case TokenKind::kInterface:
        THEATER_RETURN_IF_ERROR(ParseInterface(std::move(docs), &file));
        break;
      case TokenKind::kWorld:
        THEATER_RETURN_IF_ERROR(ParseWorld(std::move(docs), &file));
        break;
      case TokenKind::kPackage:
        return ErrorAt(Peek().location,
                       file.package ? "a file declares its package only once; nested package "
                                      "blocks ('package a:b { ... }') are not supported"
                                    : "the package declaration must come before any other item");
      default:
        return Unexpected("'interface', 'world' or 'use'");
    }
    docs.clear();
  }
}

Status Parser::ParsePackageDecl(std::string docs, AstFile* file) {
  PackageDecl decl;
  decl.location = Take().location;
  decl.docs = std::move(docs);
  THEATER_ASSIGN_OR_RETURN(decl.namespace_name, ExpectIdentifier());
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kColon));
  THEATER_ASSIGN_OR_RETURN(decl.name, ExpectIdentifier());
  if (At(TokenKind::kColon)) {
    return ErrorAt(Peek().location, "nested namespaces ('a:b:c') are not supported");
  }
  if (TakeIf(TokenKind::kAt)) {
    THEATER_ASSIGN_OR_RETURN(decl.version, ExpectVersion());
  }
  if (At(TokenKind::kLeftBrace)) {
    return ErrorAt(Peek().location,
                   "nested package blocks ('package a:b { ... }') are not supported; declare "
                   "the package with 'package a:b;' and keep other packages in their own files");
  }
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
  file->package = std::move(decl);
  return Status::Ok();
}

// Feature gates (`@since(version = 1.2.0)`, `@unstable(feature = x)`, `@deprecated(...)`) are
// checked for syntax and dropped: Theater serves one version of each interface, so there is
// nothing to select by them.
Status Parser::ParseGates() {
  while (At(TokenKind::kAt)) {
    Take();
    Location location;
    THEATER_ASSIGN_OR_RETURN(std::string gate, ExpectIdentifier(&location));
    std::string_view field;
    if (gate == "since" || gate == "deprecated") {
      field = "version";
    } else if (gate == "unstable") {
      field = "feature";
    } else {
      return ErrorAt(location, "unknown feature gate '@" + gate +
                                   "' (expected @since, @unstable or @deprecated)");
    }
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftParen));
    Location field_location;
    THEATER_ASSIGN_OR_RETURN(std::string name, ExpectIdentifier(&field_location));
    if (name != field) {
      return ErrorAt(field_location, "expected '" + std::string(field) + "' in @" + gate +
                                         ", found '" + name + "'");
    }
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kEquals));
    if (field == "version") {
      THEATER_ASSIGN_OR_RETURN(std::string version, ExpectVersion());
    } else {
      THEATER_ASSIGN_OR_RETURN(std::string feature, ExpectIdentifier());
    }
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightParen));
  }
  return Status::Ok();
}

// Gates before an item, and the docs written between them and the item.
Result<std::string> Parser::ParseItemPrelude() {
  if (!At(TokenKind::kAt)) return std::string();
  THEATER_RETURN_IF_ERROR(ParseGates());
  return TakeDocs();
}

Result<UsePath> Parser::ParseUsePath() {
  UsePath path;
  path.location = Peek().location;
  THEATER_ASSIGN_OR_RETURN(std::string first, ExpectIdentifier());
  if (!TakeIf(TokenKind::kColon)) {
    path.name = std::move(first);
    return path;
  }
  path.namespace_name = std::move(first);
  THEATER_ASSIGN_OR_RETURN(path.package, ExpectIdentifier());
  if (At(TokenKind::kColon)) {
    return ErrorAt(Peek().location, "nested namespaces ('a:b:c') are not supported");
  }
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSlash));
  THEATER_ASSIGN_OR_RETURN(path.name, ExpectIdentifier());
  if (TakeIf(TokenKind::kAt)) {
    THEATER_ASSIGN_OR_RETURN(path.version, ExpectVersion());
  }
  return path;
}

Status Parser::ParseTopLevelUse(AstFile* file) {
  TopLevelUse use;
  use.location = Take().location;
  THEATER_ASSIGN_OR_RETURN(use.path, ParseUsePath());
  if (use.path.is_bare()) {
    return ErrorAt(use.path.location,
                   "a top-level 'use' names an interface of another package "
                   "('use ns:package/interface;'); inside an interface or world write "
                   "'use " +
                       use.path.name + ".{...};'");
  }
  use.alias = use.path.name;
  if (TakeIf(TokenKind::kAs)) {
    THEATER_ASSIGN_OR_RETURN(use.alias, ExpectIdentifier());
  }
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
  file->uses.push_back(std::move(use));
  return Status::Ok();
}

Status Parser::ParseInterface(std::string docs, AstFile* file) {
  InterfaceDecl decl;
  Take();
  decl.docs = std::move(docs);
  decl.file = file_index_;
  THEATER_ASSIGN_OR_RETURN(decl.name, ExpectIdentifier(&decl.location));
  THEATER_RETURN_IF_ERROR(ParseInterfaceBody(&decl));
  file->interfaces.push_back(std::move(decl));
  return Status::Ok();
}

Status Parser::ParseInterfaceBody(InterfaceDecl* body) {
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
  while (!TakeIf(TokenKind::kRightBrace)) {
    std::string docs = TakeDocs();
    THEATER_ASSIGN_OR_RETURN(std::string gated_docs, ParseItemPrelude());
    AppendDocs(std::move(gated_docs), &docs);
    bool matched = false;
    THEATER_RETURN_IF_ERROR(ParseBodyItem(std::move(docs), true, body, &matched));
    if (!matched) return Unexpected("a type definition, 'use', a function or '}'");
  }
  return Status::Ok();
}

Status Parser::ParseBodyItem(std::string docs, bool allow_functions, InterfaceDecl* body,
                             bool* matched) {
  *matched = true;
  switch (Peek().kind) {
    case TokenKind::kUse:
      return ParseUse(body);
    case TokenKind::kType:
    case TokenKind::kRecord:
    case TokenKind::kVariant:
    case TokenKind::kEnum:
    case TokenKind::kFlags:
    case TokenKind::kResource:
      return ParseTypeDecl(std::move(docs), body);
    case TokenKind::kIdentifier: {
      if (!allow_functions) break;
      FuncDecl function;
      function.docs = std::move(docs);
      THEATER_ASSIGN_OR_RETURN(function.name, ExpectIdentifier(&function.location));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kColon));
      THEATER_RETURN_IF_ERROR(ParseFuncType(&function));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
      body->functions.push_back(std::move(function));
      return Status::Ok();
    }
    default:
      break;
  }
  *matched = false;
  return Status::Ok();
}

Status Parser::ParseUse(InterfaceDecl* body) {
  UseDecl use;
  use.location = Take().location;
  THEATER_ASSIGN_OR_RETURN(use.path, ParseUsePath());
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kDot));
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
  do {
    if (!use.names.empty() && At(TokenKind::kRightBrace)) break;  // trailing comma
    UseName name;
    THEATER_ASSIGN_OR_RETURN(name.name, ExpectIdentifier(&name.location));
    if (TakeIf(TokenKind::kAs)) {
      THEATER_ASSIGN_OR_RETURN(name.alias, ExpectIdentifier());
    }
    use.names.push_back(std::move(name));
  } while (TakeIf(TokenKind::kComma));
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightBrace));
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
  body->uses.push_back(std::move(use));
  return Status::Ok();
}

Status Parser::ParseNamedTypes(std::vector<NamedTypeExpr>* out, std::string_view what) {
  // `( a: t, b: u, )` or `{ a: t, b: u, }`: the caller has taken the opening bracket and checks
  // the closing one.
  while (At(TokenKind::kIdentifier)) {
    NamedTypeExpr item;
    THEATER_ASSIGN_OR_RETURN(item.name, ExpectIdentifier(&item.location));
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kColon));
    THEATER_ASSIGN_OR_RETURN(item.type, ParseType(0));
    out->push_back(std::move(item));
    if (!TakeIf(TokenKind::kComma)) return Status::Ok();
  }
  if (At(TokenKind::kRightParen) || At(TokenKind::kRightBrace)) return Status::Ok();
  return Unexpected("a " + std::string(what) + " name");
}

Status Parser::ParseTypeDecl(std::string docs, InterfaceDecl* body) {
  TypeDecl decl;
  decl.docs = std::move(docs);
  const TokenKind keyword = Take().kind;
  THEATER_ASSIGN_OR_RETURN(decl.name, ExpectIdentifier(&decl.location));
  switch (keyword) {
    case TokenKind::kType: {
      decl.kind = TypeDecl::Kind::kAlias;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kEquals));
      THEATER_ASSIGN_OR_RETURN(decl.alias, ParseType(0));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
      break;
    }
    case TokenKind::kRecord: {
      decl.kind = TypeDecl::Kind::kRecord;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
      THEATER_RETURN_IF_ERROR(ParseNamedTypes(&decl.members, "field"));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightBrace));
      THEATER_RETURN_IF_ERROR(CheckUnique(decl.members, "field", "record '" + decl.name + "'"));
      break;
    }
    case TokenKind::kVariant:
    case TokenKind::kEnum:
    case TokenKind::kFlags: {
      decl.kind = keyword == TokenKind::kVariant ? TypeDecl::Kind::kVariant
                  : keyword == TokenKind::kEnum  ? TypeDecl::Kind::kEnum
                                                 : TypeDecl::Kind::kFlags;
      const std::string what = keyword == TokenKind::kVariant ? "case" : "label";
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
      while (At(TokenKind::kIdentifier)) {
        NamedTypeExpr member;
        THEATER_ASSIGN_OR_RETURN(member.name, ExpectIdentifier(&member.location));
        if (keyword == TokenKind::kVariant && TakeIf(TokenKind::kLeftParen)) {
          THEATER_ASSIGN_OR_RETURN(member.type, ParseType(0));
          THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightParen));
        }
        decl.members.push_back(std::move(member));
        if (!TakeIf(TokenKind::kComma)) break;
      }
      if (!At(TokenKind::kRightBrace)) {
        return Unexpected(decl.members.empty() ? "a " + what + " name" : "',' or '}'");
      }
      Take();
      THEATER_RETURN_IF_ERROR(
          CheckUnique(decl.members, what, std::string(Spelling(keyword)) + " '" + decl.name + "'"));
      break;
    }
    case TokenKind::kResource: {
      decl.kind = TypeDecl::Kind::kResource;
      if (!TakeIf(TokenKind::kSemicolon)) THEATER_RETURN_IF_ERROR(ParseResourceBody(&decl));
      break;
    }
    default:
      return InternalError("ParseTypeDecl called on a token that starts no type");
  }
  if (decl.members.empty() && decl.kind != TypeDecl::Kind::kAlias &&
      decl.kind != TypeDecl::Kind::kResource) {
    return ErrorAt(decl.location,
                   std::string(Spelling(keyword)) + " '" + decl.name + "' must have at least one " +
                       (decl.kind == TypeDecl::Kind::kRecord    ? "field"
                        : decl.kind == TypeDecl::Kind::kVariant ? "case"
                                                                : "label"),
                   StatusCode::kValidationError);
  }
  // The canonical ABI stores flags in at most one 32-bit word.
  if (decl.kind == TypeDecl::Kind::kFlags && decl.members.size() > 32) {
    return ErrorAt(decl.location,
                   "flags '" + decl.name + "' has " + std::to_string(decl.members.size()) +
                       " labels; at most 32 are allowed",
                   StatusCode::kValidationError);
  }
  body->types.push_back(std::move(decl));
  return Status::Ok();
}

Status Parser::ParseResourceBody(TypeDecl* resource) {
  if (!At(TokenKind::kLeftBrace)) return Unexpected("';' or '{' after the resource name");
  Take();
  std::unordered_map<std::string, Location> seen;
  while (!TakeIf(TokenKind::kRightBrace)) {
    FuncDecl function;
    function.docs = TakeDocs();
    THEATER_ASSIGN_OR_RETURN(std::string gated_docs, ParseItemPrelude());
    AppendDocs(std::move(gated_docs), &function.docs);
    if (At(TokenKind::kConstructor)) {
      function.location = Take().location;
      function.name = "constructor";
      function.kind = FunctionKind::kConstructor;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftParen));
      THEATER_RETURN_IF_ERROR(ParseNamedTypes(&function.params, "parameter"));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightParen));
      THEATER_RETURN_IF_ERROR(
          CheckUnique(function.params, "parameter", "the constructor of '" + resource->name + "'"));
    } else if (At(TokenKind::kIdentifier)) {
      THEATER_ASSIGN_OR_RETURN(function.name, ExpectIdentifier(&function.location));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kColon));
      function.kind = TakeIf(TokenKind::kStatic) ? FunctionKind::kStatic : FunctionKind::kMethod;
      THEATER_RETURN_IF_ERROR(ParseFuncType(&function));
    } else {
      return Unexpected("'constructor', a method name or '}'");
    }
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
    auto [it, inserted] = seen.emplace(AsciiLower(function.name), function.location);
    if (!inserted) {
      return ErrorAt(function.location,
                     function.kind == FunctionKind::kConstructor
                         ? "resource '" + resource->name + "' has more than one constructor"
                         : "duplicate function '" + function.name + "' in resource '" +
                               resource->name + "' (first declared at line " +
                               std::to_string(it->second.line) + ")",
                     StatusCode::kValidationError);
    }
    resource->resource_functions.push_back(std::move(function));
  }
  return Status::Ok();
}

Status Parser::ParseFuncType(FuncDecl* function) {
  if (At(TokenKind::kAsync)) {
    return ErrorAt(Peek().location, "async functions are not supported by Theater",
                   StatusCode::kValidationError);
  }
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kFunc));
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftParen));
  THEATER_RETURN_IF_ERROR(ParseNamedTypes(&function->params, "parameter"));
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightParen));
  const std::string owner = "function '" + function->name + "'";
  THEATER_RETURN_IF_ERROR(CheckUnique(function->params, "parameter", owner));
  if (!TakeIf(TokenKind::kArrow)) return Status::Ok();
  if (TakeIf(TokenKind::kLeftParen)) {
    THEATER_RETURN_IF_ERROR(ParseNamedTypes(&function->named_results, "result"));
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightParen));
    return CheckUnique(function->named_results, "result", owner);
  }
  THEATER_ASSIGN_OR_RETURN(function->result, ParseType(0));
  return Status::Ok();
}

Status Parser::ParseWorld(std::string docs, AstFile* file) {
  WorldDecl world;
  Take();
  world.docs = std::move(docs);
  world.file = file_index_;
  world.body.file = file_index_;
  THEATER_ASSIGN_OR_RETURN(world.name, ExpectIdentifier(&world.location));
  world.body.name = world.name;
  world.body.location = world.location;
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
  while (!TakeIf(TokenKind::kRightBrace)) {
    std::string item_docs = TakeDocs();
    THEATER_ASSIGN_OR_RETURN(std::string gated_docs, ParseItemPrelude());
    AppendDocs(std::move(gated_docs), &item_docs);
    if (At(TokenKind::kImport) || At(TokenKind::kExport)) {
      THEATER_RETURN_IF_ERROR(ParseWorldExtern(std::move(item_docs), &world));
    } else if (At(TokenKind::kInclude)) {
      THEATER_RETURN_IF_ERROR(ParseInclude(&world));
    } else {
      bool matched = false;
      THEATER_RETURN_IF_ERROR(ParseBodyItem(std::move(item_docs), false, &world.body, &matched));
      if (!matched) {
        return Unexpected("'import', 'export', 'include', 'use', a type definition or '}'");
      }
    }
  }
  file->worlds.push_back(std::move(world));
  return Status::Ok();
}

Status Parser::ParseWorldExtern(std::string docs, WorldDecl* world) {
  WorldItemDecl item;
  item.is_import = Take().kind == TokenKind::kImport;
  item.docs = std::move(docs);
  item.location = Peek().location;
  Location name_location;
  THEATER_ASSIGN_OR_RETURN(std::string name, ExpectIdentifier(&name_location));
  if (!TakeIf(TokenKind::kColon)) {
    item.target = WorldItemDecl::Target::kPath;
    item.path.name = std::move(name);
    item.path.location = name_location;
  } else if (At(TokenKind::kFunc) || At(TokenKind::kAsync)) {
    item.target = WorldItemDecl::Target::kFunction;
    item.function.name = std::move(name);
    item.function.location = name_location;
    item.function.docs = item.docs;
    THEATER_RETURN_IF_ERROR(ParseFuncType(&item.function));
  } else if (At(TokenKind::kInterface)) {
    Take();
    item.target = WorldItemDecl::Target::kInlineInterface;
    item.inline_body = std::make_unique<InterfaceDecl>();
    item.inline_body->name = std::move(name);
    item.inline_body->location = name_location;
    item.inline_body->docs = item.docs;
    item.inline_body->file = file_index_;
    THEATER_RETURN_IF_ERROR(ParseInterfaceBody(item.inline_body.get()));
    world->items.push_back(std::move(item));
    return Status::Ok();
  } else {
    // `import ns:package/interface[@version];`
    item.target = WorldItemDecl::Target::kPath;
    item.path.namespace_name = std::move(name);
    item.path.location = name_location;
    if (!At(TokenKind::kIdentifier)) {
      return Unexpected("'func', 'interface' or a package name after ':'");
    }
    THEATER_ASSIGN_OR_RETURN(item.path.package, ExpectIdentifier());
    if (At(TokenKind::kColon)) {
      return ErrorAt(Peek().location, "nested namespaces ('a:b:c') are not supported");
    }
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSlash));
    THEATER_ASSIGN_OR_RETURN(item.path.name, ExpectIdentifier());
    if (TakeIf(TokenKind::kAt)) {
      THEATER_ASSIGN_OR_RETURN(item.path.version, ExpectVersion());
    }
  }
  THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
  world->items.push_back(std::move(item));
  return Status::Ok();
}

Status Parser::ParseInclude(WorldDecl* world) {
  IncludeDecl include;
  include.location = Take().location;
  THEATER_ASSIGN_OR_RETURN(include.path, ParseUsePath());
  if (TakeIf(TokenKind::kWith)) {
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLeftBrace));
    do {
      if (!include.renames.empty() && At(TokenKind::kRightBrace)) break;  // trailing comma
      UseName rename;
      THEATER_ASSIGN_OR_RETURN(rename.name, ExpectIdentifier(&rename.location));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kAs));
      THEATER_ASSIGN_OR_RETURN(rename.alias, ExpectIdentifier());
      include.renames.push_back(std::move(rename));
    } while (TakeIf(TokenKind::kComma));
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kRightBrace));
    // The grammar ends `with { ... }` at the brace; a `;` after it is common and harmless.
    TakeIf(TokenKind::kSemicolon);
  } else {
    THEATER_RETURN_IF_ERROR(Expect(TokenKind::kSemicolon));
  }
  world->includes.push_back(std::move(include));
  return Status::Ok();
}

Result<TypeExprPtr> Parser::ParseType(int depth) {
  const Token& next = Peek();
  auto type = std::make_unique<TypeExpr>();
  type->location = next.location;
  if (depth >= kMaxNestingDepth) {
    return ErrorAt(next.location, "type is nested too deeply (the limit is " +
                                      std::to_string(kMaxNestingDepth) + " levels)");
  }
  if (std::optional<abi::TypeKind> primitive = PrimitiveKind(next.kind)) {
    Take();
    type->kind = TypeExpr::Kind::kPrimitive;
    type->primitive = *primitive;
    return type;
  }
  const TokenKind keyword = next.kind;
  switch (keyword) {
    case TokenKind::kIdentifier:
      type->kind = TypeExpr::Kind::kName;
      type->name = std::string(Take().text);
      return type;
    case TokenKind::kList:
    case TokenKind::kOption: {
      Take();
      type->kind = keyword == TokenKind::kList ? TypeExpr::Kind::kList : TypeExpr::Kind::kOption;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLess));
      THEATER_ASSIGN_OR_RETURN(TypeExprPtr element, ParseType(depth + 1));
      type->args.push_back(std::move(element));
      if (keyword == TokenKind::kList && At(TokenKind::kComma)) {
        return ErrorAt(Peek().location, "fixed-size lists (list<T, N>) are not supported",
                       StatusCode::kValidationError);
      }
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kGreater));
      return type;
    }
    case TokenKind::kResult: {
      Take();
      type->kind = TypeExpr::Kind::kResult;
      type->args.resize(2);
      if (!TakeIf(TokenKind::kLess)) return type;
      if (TakeIf(TokenKind::kUnderscore)) {
        THEATER_RETURN_IF_ERROR(Expect(TokenKind::kComma));
        THEATER_ASSIGN_OR_RETURN(type->args[1], ParseType(depth + 1));
      } else {
        THEATER_ASSIGN_OR_RETURN(type->args[0], ParseType(depth + 1));
        if (TakeIf(TokenKind::kComma)) {
          THEATER_ASSIGN_OR_RETURN(type->args[1], ParseType(depth + 1));
        }
      }
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kGreater));
      return type;
    }
    case TokenKind::kTuple: {
      Take();
      type->kind = TypeExpr::Kind::kTuple;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLess));
      if (At(TokenKind::kGreater)) {
        return ErrorAt(Peek().location, "a tuple must have at least one element",
                       StatusCode::kValidationError);
      }
      do {
        if (!type->args.empty() && At(TokenKind::kGreater)) break;  // trailing comma
        THEATER_ASSIGN_OR_RETURN(TypeExprPtr element, ParseType(depth + 1));
        type->args.push_back(std::move(element));
      } while (TakeIf(TokenKind::kComma));
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kGreater));
      return type;
    }
    case TokenKind::kOwn:
    case TokenKind::kBorrow: {
      Take();
      type->kind = keyword == TokenKind::kOwn ? TypeExpr::Kind::kOwn : TypeExpr::Kind::kBorrow;
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kLess));
      THEATER_ASSIGN_OR_RETURN(type->name, ExpectIdentifier());
      THEATER_RETURN_IF_ERROR(Expect(TokenKind::kGreater));
      return type;
    }
    case TokenKind::kFuture:
    case TokenKind::kStream:
    case TokenKind::kErrorContext:
      return ErrorAt(next.location,
                     "'" + std::string(next.text) + "' types are not supported by Theater",
                     StatusCode::kValidationError);
    default:
      return Unexpected("a type");
  }
}

}  // namespace

std::string UsePath::ToString() const {
  if (is_bare()) return name;
  std::string out = namespace_name + ":" + package + "/" + name;
  if (version) out += "@" + *version;
  return out;
}

Result<AstFile> ParseFile(std::string_view text, std::string file_name, int file_index) {
  return Parser(text, std::move(file_name), file_index).Run();
}

}  // namespace theater::wit::internal
