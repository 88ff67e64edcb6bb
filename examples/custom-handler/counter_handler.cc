// custom-handler example: the counter handler (see counter_handler.h).
#include "counter_handler.h"

#include <string>

namespace counter_example {
namespace {

using theater::abi::Value;

class CounterHandler final : public theater::Handler {
 public:
  CounterHandler() = default;
  CounterHandler(uint64_t start, uint64_t step) : next_(start), step_(step) {}

  // The `[[handler]]` type, the interface it serves (an actor importing it activates the
  // handler even without a `[[handler]]` table) and the WIT declaring that interface.
  std::string_view name() const override { return "counter"; }
  std::optional<std::string> imports() const override { return "example:counter/counter"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  std::string_view wit() const override { return kCounterWit; }

  // One instance per actor, configured by its table; errors name the key.
  theater::Result<std::unique_ptr<theater::Handler>> CreateInstance(
      const theater::HandlerConfig& config) const override {
    uint64_t start = 1;
    uint64_t step = 1;
    for (const auto& [key, value] : config.config.items()) {
      if (key != "start" && key != "step") {
        return theater::InvalidArgument("unknown key '" + key + "'");
      }
      THEATER_ASSIGN_OR_RETURN(uint64_t n, theater::ConfigUnsigned(value, key));
      (key == "start" ? start : step) = n;
    }
    return std::unique_ptr<theater::Handler>(new CounterHandler(start, step));
  }

  // The host function: the runtime lifts the arguments, checks the handler is permitted,
  // lowers the result and records the call in the actor's chain.
  theater::Status SetupHostFunctions(theater::ActorContext&,
                                     theater::HostFunctions& functions) override {
    return functions.Add("example:counter/counter", "next",
                         [this](theater::ActorContext&, theater::HostArgs) -> theater::HostResults {
                           uint64_t value = next_;
                           next_ += step_;
                           return std::vector<Value>{Value::U64(value)};
                         });
  }

 private:
  uint64_t next_ = 1;
  uint64_t step_ = 1;
};

}  // namespace

std::unique_ptr<theater::Handler> NewCounterHandler() {
  return std::make_unique<CounterHandler>();
}

}  // namespace counter_example
