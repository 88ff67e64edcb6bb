// Theater: a WebAssembly actor runtime.
#include "theater/abi/type.h"

#include <utility>

namespace theater::abi {
namespace {

std::shared_ptr<Type> Make(TypeKind kind) {
  auto type = std::make_shared<Type>();
  type->kind = kind;
  return type;
}

// Spells a possibly-absent type; `_` is WIT's placeholder for an absent result side.
std::string ToWitOrUnderscore(const TypePtr& type) {
  return type ? type->ToWit() : "_";
}

bool Equal(const TypePtr& a, const TypePtr& b) {
  if (a == nullptr || b == nullptr) return a == b;
  return StructurallyEqual(*a, *b);
}

}  // namespace

const char* TypeKindName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kS8:
      return "s8";
    case TypeKind::kU8:
      return "u8";
    case TypeKind::kS16:
      return "s16";
    case TypeKind::kU16:
      return "u16";
    case TypeKind::kS32:
      return "s32";
    case TypeKind::kU32:
      return "u32";
    case TypeKind::kS64:
      return "s64";
    case TypeKind::kU64:
      return "u64";
    case TypeKind::kF32:
      return "f32";
    case TypeKind::kF64:
      return "f64";
    case TypeKind::kChar:
      return "char";
    case TypeKind::kString:
      return "string";
    case TypeKind::kList:
      return "list";
    case TypeKind::kRecord:
      return "record";
    case TypeKind::kTuple:
      return "tuple";
    case TypeKind::kVariant:
      return "variant";
    case TypeKind::kEnum:
      return "enum";
    case TypeKind::kFlags:
      return "flags";
    case TypeKind::kOption:
      return "option";
    case TypeKind::kResult:
      return "result";
    case TypeKind::kOwn:
      return "own";
    case TypeKind::kBorrow:
      return "borrow";
  }
  return "invalid";
}

TypePtr Type::Primitive(TypeKind kind) {
  return Make(kind);
}

TypePtr Type::List(TypePtr element) {
  auto type = Make(TypeKind::kList);
  type->element = std::move(element);
  return type;
}

TypePtr Type::Option(TypePtr element) {
  auto type = Make(TypeKind::kOption);
  type->element = std::move(element);
  return type;
}

TypePtr Type::Result(TypePtr ok, TypePtr err) {
  auto type = Make(TypeKind::kResult);
  type->ok = std::move(ok);
  type->err = std::move(err);
  return type;
}

TypePtr Type::Tuple(std::vector<TypePtr> elements) {
  auto type = Make(TypeKind::kTuple);
  type->elements = std::move(elements);
  return type;
}

TypePtr Type::Record(std::string name, std::vector<Field> fields) {
  auto type = Make(TypeKind::kRecord);
  type->name = std::move(name);
  type->fields = std::move(fields);
  return type;
}

TypePtr Type::Variant(std::string name, std::vector<Case> cases) {
  auto type = Make(TypeKind::kVariant);
  type->name = std::move(name);
  type->cases = std::move(cases);
  return type;
}

TypePtr Type::Enum(std::string name, std::vector<std::string> labels) {
  auto type = Make(TypeKind::kEnum);
  type->name = std::move(name);
  type->labels = std::move(labels);
  return type;
}

TypePtr Type::Flags(std::string name, std::vector<std::string> labels) {
  auto type = Make(TypeKind::kFlags);
  type->name = std::move(name);
  type->labels = std::move(labels);
  return type;
}

TypePtr Type::Own(std::string resource) {
  auto type = Make(TypeKind::kOwn);
  type->resource_name = std::move(resource);
  return type;
}

TypePtr Type::Borrow(std::string resource) {
  auto type = Make(TypeKind::kBorrow);
  type->resource_name = std::move(resource);
  return type;
}

TypePtr Type::Named(std::string name, const TypePtr& type) {
  auto copy = std::make_shared<Type>(*type);
  copy->name = std::move(name);
  return copy;
}

std::string Type::ToWit() const {
  if (!name.empty()) return name;
  if (kind <= TypeKind::kString) return TypeKindName(kind);
  std::string out;
  switch (kind) {
    case TypeKind::kList:
      return "list<" + element->ToWit() + ">";
    case TypeKind::kOption:
      return "option<" + element->ToWit() + ">";
    case TypeKind::kResult:
      if (ok == nullptr && err == nullptr) return "result";
      if (err == nullptr) return "result<" + ok->ToWit() + ">";
      return "result<" + ToWitOrUnderscore(ok) + ", " + err->ToWit() + ">";
    case TypeKind::kTuple:
      out = "tuple<";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += elements[i]->ToWit();
      }
      return out + ">";
    case TypeKind::kOwn:
      return "own<" + resource_name + ">";
    case TypeKind::kBorrow:
      return "borrow<" + resource_name + ">";
    // WIT has no anonymous spelling for these shapes (they must be declared with a name), so
    // an unnamed one is shown in its declaration form to keep messages informative.
    case TypeKind::kRecord:
      out = "record { ";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += fields[i].name + ": " + fields[i].type->ToWit();
      }
      return out + " }";
    case TypeKind::kVariant:
      out = "variant { ";
      for (size_t i = 0; i < cases.size(); ++i) {
        if (i > 0) out += ", ";
        out += cases[i].name;
        if (cases[i].type) out += "(" + cases[i].type->ToWit() + ")";
      }
      return out + " }";
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      out = kind == TypeKind::kEnum ? "enum { " : "flags { ";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out += ", ";
        out += labels[i];
      }
      return out + " }";
    default:
      return "<invalid type>";
  }
}

bool Contains(const Type& type, const std::function<bool(const Type&)>& match) {
  if (match(type)) return true;
  auto nested = [&match](const TypePtr& t) { return t != nullptr && Contains(*t, match); };
  if (nested(type.element) || nested(type.ok) || nested(type.err)) return true;
  for (const Field& f : type.fields) {
    if (nested(f.type)) return true;
  }
  for (const TypePtr& e : type.elements) {
    if (nested(e)) return true;
  }
  for (const Case& c : type.cases) {
    if (nested(c.type)) return true;
  }
  return false;
}

bool StructurallyEqual(const Type& a, const Type& b) {
  if (&a == &b) return true;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case TypeKind::kList:
    case TypeKind::kOption:
      return Equal(a.element, b.element);
    case TypeKind::kResult:
      return Equal(a.ok, b.ok) && Equal(a.err, b.err);
    case TypeKind::kTuple:
      if (a.elements.size() != b.elements.size()) return false;
      for (size_t i = 0; i < a.elements.size(); ++i) {
        if (!Equal(a.elements[i], b.elements[i])) return false;
      }
      return true;
    case TypeKind::kRecord:
      if (a.fields.size() != b.fields.size()) return false;
      for (size_t i = 0; i < a.fields.size(); ++i) {
        if (a.fields[i].name != b.fields[i].name || !Equal(a.fields[i].type, b.fields[i].type)) {
          return false;
        }
      }
      return true;
    case TypeKind::kVariant:
      if (a.cases.size() != b.cases.size()) return false;
      for (size_t i = 0; i < a.cases.size(); ++i) {
        if (a.cases[i].name != b.cases[i].name || !Equal(a.cases[i].type, b.cases[i].type)) {
          return false;
        }
      }
      return true;
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      return a.labels == b.labels;
    // A handle's resource is its identity, not a cosmetic name: handles to different resources
    // are different types.
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return a.resource_name == b.resource_name;
    default:
      return true;  // primitives: equal kinds suffice
  }
}

std::vector<TypePtr> FunctionType::ResultTypes() const {
  if (result) return {result};
  std::vector<TypePtr> out;
  out.reserve(named_results.size());
  for (const Field& field : named_results) out.push_back(field.type);
  return out;
}

}  // namespace theater::abi
