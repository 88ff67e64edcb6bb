// Theater: a WebAssembly actor runtime.
//
// The runtime's side of the handler API (include/theater/handler.h): HandlerHostFunctions, the
// HostFunctions an actor gives one handler instance during SetupHostFunctions, which types each
// function by the WIT (theater:simple's, or the handler's own) and files it in the actor's
// HostFunctionTable under the handler's name.
//
// Thread-safety: used by one thread during an actor's setup. Ownership: refers to the table and
// the WIT package, which outlive it.
#pragma once

#include <string>
#include <string_view>

#include "runtime/actor_host.h"
#include "theater/abi/wit.h"
#include "theater/handler.h"
#include "theater/handler_registry.h"

namespace theater::runtime {

class HandlerHostFunctions final : public HostFunctions {
 public:
  // `own_wit`: the handler's parsed wit() (null when it has none). `wanted`: the functions the
  // module can bind (ImportNamesOf); the others are skipped unexamined. Null: all are filed.
  HandlerHostFunctions(HostFunctionTable& table, std::string_view handler,
                       const wit::Package* own_wit, const ImportNames* wanted = nullptr)
      : table_(table), handler_(handler), own_wit_(own_wit), wanted_(wanted) {}
  Status Add(std::string_view interface_name, std::string_view function,
             HostFunction impl) override;
  Status AddCore(std::string_view module, std::string_view name, std::string_view params,
                 std::string_view results, CoreHostFunction impl) override;
  Status ServeComponentInterfaces(std::string_view prefix,
                                  std::shared_ptr<ComponentInterfaces> interfaces) override;

 private:
  // Whether "<package><interface>.<function>" is one the module can bind (always, without
  // `wanted_`).
  bool Wanted(std::string_view package, std::string_view interface_name,
              std::string_view function) const;

  HostFunctionTable& table_;
  std::string handler_;
  const wit::Package* own_wit_;
  const ImportNames* wanted_;
};

}  // namespace theater::runtime
