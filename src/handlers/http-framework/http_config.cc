// Theater: a WebAssembly actor runtime.
#include "handlers/http-framework/http_config.h"

#include "theater/handler.h"

namespace theater::handlers::http {
Result<ServerLimits> ParseHttpFrameworkConfig(const nlohmann::json& config) {
  ServerLimits out;
  if (config.is_null()) return out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  using ms = std::chrono::milliseconds;
  for (const auto& [key, value] : config.items()) {
    if (key == "request_timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 3'600'000));
      out.request_timeout = ms(n);
    } else if (key == "max_body_bytes") {
      THEATER_ASSIGN_OR_RETURN(out.max_body_bytes,
                               ConfigLimit(value, key, 1, 256ull << 20));
    } else if (key == "max_header_bytes") {
      THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 1 << 20));
      out.max_header_bytes = static_cast<uint32_t>(n);
    } else if (key == "idle_timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 3'600'000));
      out.idle_timeout = ms(n);
    } else if (key == "shutdown_timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 600'000));
      out.shutdown_timeout = ms(n);
    } else if (key == "max_connections") {
      THEATER_ASSIGN_OR_RETURN(out.max_connections, ConfigLimit(value, key, 1, 100'000));
    } else {
      return InvalidArgument("unknown key '" + key +
                             "' (expected request_timeout_ms, max_body_bytes, max_header_bytes, "
                             "idle_timeout_ms, shutdown_timeout_ms or max_connections)");
    }
  }
  return out;
}

}  // namespace theater::handlers::http
