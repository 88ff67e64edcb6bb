// Theater: a WebAssembly actor runtime.
#include "component/wit_check.h"

#include <string>
#include <vector>

namespace theater::component {
namespace {

std::string TypeText(const abi::TypePtr& type) {
  return type ? type->ToWit() : "_";
}

std::string FunctionText(const abi::FunctionType& f) {
  std::string out = "func(";
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (i) out += ", ";
    out += f.params[i].name + ": " + TypeText(f.params[i].type);
  }
  out += ")";
  std::vector<abi::TypePtr> results = f.ResultTypes();
  if (results.size() == 1) out += " -> " + TypeText(results[0]);
  if (results.size() > 1) {
    out += " -> (";
    for (size_t i = 0; i < results.size(); ++i) out += (i ? ", " : "") + TypeText(results[i]);
    out += ")";
  }
  return out;
}

bool SameTypes(const std::vector<abi::TypePtr>& a, const std::vector<abi::TypePtr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i] || !b[i] || !abi::StructurallyEqual(*a[i], *b[i])) return false;
  }
  return true;
}

bool SameFunction(const abi::FunctionType& a, const abi::FunctionType& b) {
  std::vector<abi::TypePtr> pa, pb;
  for (const abi::Field& p : a.params) pa.push_back(p.type);
  for (const abi::Field& p : b.params) pb.push_back(p.type);
  return SameTypes(pa, pb) && SameTypes(a.ResultTypes(), b.ResultTypes());
}

// Checks the functions of one instance the component imports (`direction` "import") or exports.
Status CheckInstance(const std::string& direction, const std::string& instance_name,
                     const TypeDef* type, const wit::Package& package) {
  const std::string prefix = package.namespace_name + ":" + package.name + "/";
  if (!instance_name.starts_with(prefix) || type == nullptr) return Status::Ok();
  std::string interface_name = instance_name.substr(prefix.size());
  if (size_t at = interface_name.find('@'); at != std::string::npos) {
    interface_name.resize(at);
  }
  const wit::Interface* iface = package.FindInterface(interface_name);
  if (iface == nullptr) {
    return ValidationError(direction + " " + instance_name + ": the host's WIT has no interface '" +
                           interface_name + "'");
  }
  for (const ExternItem& item : type->exports) {
    if (item.sort != Sort::kFunc || !item.type) continue;
    const std::string where = direction + " " + instance_name + "." + item.name;
    // An import or export may take any form the package accepts (Package::alternate_forms).
    std::vector<const wit::Interface*> forms = package.FormsOf(interface_name, item.name);
    if (forms.empty()) {
      return ValidationError(where + ": the host's WIT declares no such function");
    }
    Result<abi::FunctionType> actual = ToAbiFunctionType(*item.type);
    if (!actual.ok()) return actual.status().WithContext(where);
    std::string declared;
    for (const wit::Interface* form : forms) {
      const abi::FunctionType& expected = *form->FindFunction(item.name);
      if (SameFunction(*actual, expected)) {
        declared.clear();
        break;
      }
      if (!declared.empty()) declared += ", or (interface " + form->name + ") ";
      declared += FunctionText(expected);
    }
    if (!declared.empty()) {
      return ValidationError(where + ": the component's type is " + FunctionText(*actual) +
                             ", the host's WIT declares " + declared);
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckAgainstWit(const Component& component, const wit::Package& package) {
  for (const Import& import : component.imports) {
    if (import.desc.sort == Sort::kInstance) {
      THEATER_RETURN_IF_ERROR(
          CheckInstance("import", import.name, import.desc.type.get(), package));
    }
  }
  for (const Export& e : component.exports) {
    if (e.desc.sort == Sort::kInstance) {
      THEATER_RETURN_IF_ERROR(CheckInstance("export", e.name, e.desc.type.get(), package));
    }
  }
  return Status::Ok();
}

}  // namespace theater::component
