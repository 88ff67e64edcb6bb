// Theater: a WebAssembly actor runtime.
#include "handlers/http-framework/http_config.h"

#include "handlers/support/http-server/server_limits_config.h"
#include "theater/handler.h"

namespace theater::handlers::http {
Result<ServerLimits> ParseHttpFrameworkConfig(const nlohmann::json& config) {
  ServerLimits out;
  if (config.is_null()) return out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    THEATER_ASSIGN_OR_RETURN(bool known, ReadServerLimit(key, value, out));
    if (!known) {
      return InvalidArgument("unknown key '" + key + "' (expected " +
                             std::string(kServerLimitKeys) + ")");
    }
  }
  return out;
}

}  // namespace theater::handlers::http
