// Theater: a WebAssembly actor runtime.
#include "abi/canonical/canonical_test_util.h"

#include "common/utf8.h"

#include <cmath>
#include <cstring>

namespace theater::abi::testing {
namespace {

std::vector<std::string> Labels(size_t n) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < n; ++i) labels.push_back("l" + std::to_string(i));
  return labels;
}

uint64_t Pick(std::mt19937_64& rng, uint64_t n) {
  return rng() % n;
}

char32_t RandomScalar(std::mt19937_64& rng) {
  switch (Pick(rng, 4)) {
    case 0:
      return static_cast<char32_t>(Pick(rng, 0x80));
    case 1:
      return static_cast<char32_t>(0x80 + Pick(rng, 0x800 - 0x80));
    case 2: {
      auto c = static_cast<char32_t>(0x800 + Pick(rng, 0x10000 - 0x800));
      return c >= 0xD800 && c <= 0xDFFF ? char32_t{0xFFFD} : c;
    }
    default:
      return static_cast<char32_t>(0x10000 + Pick(rng, 0x110000 - 0x10000));
  }
}

}  // namespace

TypePtr T(TypeKind kind) {
  return Type::Primitive(kind);
}
TypePtr ListOf(TypePtr element) {
  return Type::List(std::move(element));
}
TypePtr OptionOf(TypePtr element) {
  return Type::Option(std::move(element));
}
TypePtr ResultOf(TypePtr ok, TypePtr err) {
  return Type::Result(std::move(ok), std::move(err));
}
TypePtr TupleOf(std::vector<TypePtr> elements) {
  return Type::Tuple(std::move(elements));
}

TypePtr RecordOf(std::vector<TypePtr> field_types) {
  std::vector<Field> fields;
  for (size_t i = 0; i < field_types.size(); ++i) {
    fields.push_back({"f" + std::to_string(i), std::move(field_types[i])});
  }
  return Type::Record("", std::move(fields));
}

TypePtr VariantOf(std::vector<TypePtr> payloads) {
  std::vector<Case> cases;
  for (size_t i = 0; i < payloads.size(); ++i) {
    cases.push_back({"c" + std::to_string(i), std::move(payloads[i])});
  }
  return Type::Variant("", std::move(cases));
}

TypePtr EnumOf(size_t labels) {
  return Type::Enum("", Labels(labels));
}
TypePtr FlagsOf(size_t labels) {
  return Type::Flags("", Labels(labels));
}

FunctionType Function(std::vector<TypePtr> params, TypePtr result) {
  FunctionType f;
  for (size_t i = 0; i < params.size(); ++i) {
    f.params.push_back({"p" + std::to_string(i), std::move(params[i])});
  }
  f.result = std::move(result);
  return f;
}

TypePtr RandomType(std::mt19937_64& rng, int depth) {
  const bool leaf = depth <= 1 || Pick(rng, 3) == 0;
  if (leaf) {
    static constexpr TypeKind kLeaves[] = {
        TypeKind::kBool, TypeKind::kS8,   TypeKind::kU8,     TypeKind::kS16, TypeKind::kU16,
        TypeKind::kS32,  TypeKind::kU32,  TypeKind::kS64,    TypeKind::kU64, TypeKind::kF32,
        TypeKind::kF64,  TypeKind::kChar, TypeKind::kString, TypeKind::kOwn, TypeKind::kBorrow};
    const TypeKind kind = kLeaves[Pick(rng, std::size(kLeaves))];
    if (kind == TypeKind::kOwn) return Type::Own("res");
    if (kind == TypeKind::kBorrow) return Type::Borrow("res");
    if (Pick(rng, 8) == 0) return EnumOf(1 + Pick(rng, 300));
    if (Pick(rng, 8) == 0) return FlagsOf(Pick(rng, 70));
    return T(kind);
  }
  auto child = [&] { return RandomType(rng, depth - 1); };
  auto children = [&](size_t min) {
    std::vector<TypePtr> out(min + Pick(rng, 4));
    for (auto& t : out) t = child();
    return out;
  };
  switch (Pick(rng, 6)) {
    case 0:
      return Pick(rng, 3) == 0 ? ListOf(T(TypeKind::kU8)) : ListOf(child());
    case 1:
      return RecordOf(children(1));
    case 2:
      return TupleOf(children(0));
    case 3: {
      std::vector<TypePtr> payloads = children(1);
      for (auto& p : payloads) {
        if (Pick(rng, 3) == 0) p = nullptr;
      }
      return VariantOf(std::move(payloads));
    }
    case 4:
      return OptionOf(child());
    default:
      return ResultOf(Pick(rng, 4) == 0 ? nullptr : child(), Pick(rng, 4) == 0 ? nullptr : child());
  }
}

std::string RandomUtf8(std::mt19937_64& rng, size_t max_chars) {
  std::string out;
  const size_t n = Pick(rng, max_chars + 1);
  for (size_t i = 0; i < n; ++i) theater::AppendUtf8(RandomScalar(rng), &out);
  return out;
}

Value RandomValue(const Type& type, std::mt19937_64& rng) {
  switch (type.kind) {
    case TypeKind::kBool:
      return Value::Bool(Pick(rng, 2) == 1);
    case TypeKind::kS8:
      return Value::S8(static_cast<int8_t>(rng()));
    case TypeKind::kU8:
      return Value::U8(static_cast<uint8_t>(rng()));
    case TypeKind::kS16:
      return Value::S16(static_cast<int16_t>(rng()));
    case TypeKind::kU16:
      return Value::U16(static_cast<uint16_t>(rng()));
    case TypeKind::kS32:
      return Value::S32(static_cast<int32_t>(rng()));
    case TypeKind::kU32:
      return Value::U32(static_cast<uint32_t>(rng()));
    case TypeKind::kS64:
      return Value::S64(static_cast<int64_t>(rng()));
    case TypeKind::kU64:
      return Value::U64(rng());
    case TypeKind::kF32: {
      const auto bits = static_cast<uint32_t>(rng());
      float f;
      std::memcpy(&f, &bits, sizeof(f));
      return Value::F32(std::isnan(f) ? std::nanf("") : f);
    }
    case TypeKind::kF64: {
      const uint64_t bits = rng();
      double f;
      std::memcpy(&f, &bits, sizeof(f));
      return Value::F64(std::isnan(f) ? std::nan("") : f);
    }
    case TypeKind::kChar:
      return Value::Char(RandomScalar(rng));
    case TypeKind::kString:
      return Value::String(RandomUtf8(rng, 12));
    case TypeKind::kList: {
      const size_t n = Pick(rng, 6);
      if (type.element->kind == TypeKind::kU8 && Pick(rng, 2) == 0) {
        std::vector<uint8_t> bytes(n * 7);
        for (auto& b : bytes) b = static_cast<uint8_t>(rng());
        return Value::Bytes(std::move(bytes));
      }
      std::vector<Value> items;
      for (size_t i = 0; i < n; ++i) items.push_back(RandomValue(*type.element, rng));
      return Value::List(std::move(items));
    }
    case TypeKind::kRecord: {
      std::vector<Value> fields;
      for (const Field& f : type.fields) fields.push_back(RandomValue(*f.type, rng));
      return Value::Record(std::move(fields));
    }
    case TypeKind::kTuple: {
      std::vector<Value> elements;
      for (const TypePtr& e : type.elements) elements.push_back(RandomValue(*e, rng));
      return Value::Tuple(std::move(elements));
    }
    case TypeKind::kVariant: {
      const auto index = static_cast<uint32_t>(Pick(rng, type.cases.size()));
      const TypePtr& payload = type.cases[index].type;
      if (!payload) return Value::Variant(index);
      return Value::Variant(index, RandomValue(*payload, rng));
    }
    case TypeKind::kEnum:
      return Value::Enum(static_cast<uint32_t>(Pick(rng, type.labels.size())));
    case TypeKind::kFlags: {
      std::vector<bool> set(type.labels.size());
      for (size_t i = 0; i < set.size(); ++i) set[i] = Pick(rng, 2) == 1;
      return Value::Flags(std::move(set));
    }
    case TypeKind::kOption:
      if (Pick(rng, 3) == 0) return Value::None();
      return Value::Some(RandomValue(*type.element, rng));
    case TypeKind::kResult:
      if (Pick(rng, 2) == 0) {
        return type.ok ? Value::Ok(RandomValue(*type.ok, rng)) : Value::Ok();
      }
      return type.err ? Value::Err(RandomValue(*type.err, rng)) : Value::Err();
    case TypeKind::kOwn:
      return Value::Own(static_cast<uint32_t>(rng()));
    case TypeKind::kBorrow:
      return Value::Borrow(static_cast<uint32_t>(rng()));
  }
  return Value();
}

}  // namespace theater::abi::testing
