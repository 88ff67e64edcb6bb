// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/export_defaults.h"

#include <string_view>

#include "abi/bindgen/names.h"

namespace theater::bindgen {
namespace {

using abi::Type;
using abi::TypeKind;

enum class Behaviour {
  kKeepState,  // ok: the state passed in, every other result element empty (false, none, [])
  kProceed,    // handle-middleware: ok: the state, and {proceed: true, request: the request}
};

struct Known {
  std::string_view interface;  // unversioned, as InterfaceInfo::module
  std::string_view function;
  Behaviour behaviour;
  std::string_view summary;
};

// The handler callbacks an actor may leave out. Not here: init and the handle-request
// functions, which must answer; a default that answers nothing would hide a missing function.
constexpr Known kKnown[] = {
    {"theater:simple/http-handlers", "handle-middleware", Behaviour::kProceed,
     "lets every request through unchanged"},
    {"theater:simple/http-handlers", "handle-websocket-connect", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/http-handlers", "handle-websocket-message", Behaviour::kKeepState,
     "keeps the state and sends nothing back"},
    {"theater:simple/http-handlers", "handle-websocket-disconnect", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/message-server-client", "handle-send", Behaviour::kKeepState,
     "keeps the state"},
    // The empty channel-accept has accepted = false.
    {"theater:simple/message-server-client", "handle-channel-open", Behaviour::kKeepState,
     "refuses the channel and keeps the state"},
    {"theater:simple/message-server-client", "handle-channel-message", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/message-server-client", "handle-channel-close", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/supervisor-handlers", "handle-child-error", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/supervisor-handlers", "handle-child-exit", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/supervisor-handlers", "handle-child-external-stop", Behaviour::kKeepState,
     "keeps the state"},
    {"theater:simple/process-handlers", "handle-stdout", Behaviour::kKeepState,
     "keeps the state (the output is dropped)"},
    {"theater:simple/process-handlers", "handle-stderr", Behaviour::kKeepState,
     "keeps the state (the output is dropped)"},
    {"theater:simple/process-handlers", "handle-exit", Behaviour::kKeepState, "keeps the state"},
};

bool IsState(const Type& t) {  // option<list<u8>>
  return t.kind == TypeKind::kOption && t.element->kind == TypeKind::kList &&
         t.element->element->kind == TypeKind::kU8;
}

// The record field named `name`, or nullptr.
const Type* FieldOf(const Type& record, std::string_view name) {
  for (const abi::Field& f : record.fields) {
    if (f.name == name) return f.type.get();
  }
  return nullptr;
}

}  // namespace

std::optional<ExportDefault> DefaultFor(const FunctionInfo& fn,
                                        const std::function<std::string(const Type&)>& spell) {
  if (!fn.exported || fn.owner->interface == nullptr ||
      fn.function->kind != wit::FunctionKind::kFreestanding) {
    return std::nullopt;
  }
  const Known* known = nullptr;
  for (const Known& k : kKnown) {
    if (k.interface == fn.owner->module && k.function == fn.function->name) known = &k;
  }
  if (known == nullptr) return std::nullopt;
  // The handler shape: (state: option<list<u8>>, params: tuple<...>) ->
  // result<tuple<option<list<u8>>, ...>, string>.
  const auto& params = fn.function->type.params;
  if (params.size() != 2 || params[0].name != "state" || !IsState(*params[0].type) ||
      params[1].name != "params" || params[1].type->kind != TypeKind::kTuple) {
    return std::nullopt;
  }
  const Type* result = fn.result.get();
  if (result == nullptr || result->kind != TypeKind::kResult || !result->ok || !result->err ||
      result->err->kind != TypeKind::kString || result->ok->kind != TypeKind::kTuple ||
      result->ok->elements.empty() || !IsState(*result->ok->elements[0])) {
    return std::nullopt;
  }
  const std::string r = spell(*result);
  ExportDefault out;
  out.summary = std::string(known->summary);
  out.body = "  auto r_ = " + r + "::Ok({});\n  std::get<0>(r_.value()) = std::move(state);\n";
  if (known->behaviour == Behaviour::kProceed) {
    // result<tuple<state, tuple<middleware-result>>, string>, where the record is
    // {proceed: bool, request: <params.1>}.
    const auto& ok = result->ok->elements;
    const auto& in = params[1].type->elements;
    if (ok.size() != 2 || ok[1]->kind != TypeKind::kTuple || ok[1]->elements.size() != 1 ||
        ok[1]->elements[0]->kind != TypeKind::kRecord || in.size() != 2) {
      return std::nullopt;
    }
    const Type& decision = *ok[1]->elements[0];
    const Type* proceed = FieldOf(decision, "proceed");
    const Type* request = FieldOf(decision, "request");
    if (proceed == nullptr || proceed->kind != TypeKind::kBool || request == nullptr ||
        spell(*request) != spell(*in[1])) {
      return std::nullopt;
    }
    out.body +=
        "  auto& decision = std::get<0>(std::get<1>(r_.value()));\n"
        "  decision." +
        SnakeName("proceed") + " = true;\n  decision." + SnakeName("request") +
        " = std::move(std::get<1>(params));\n";
    out.uses_params = true;
  }
  out.body += "  return r_;\n";
  return out;
}

}  // namespace theater::bindgen
