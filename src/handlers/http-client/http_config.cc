// Theater: a WebAssembly actor runtime.
#include "handlers/http-client/http_config.h"

#include "theater/handler.h"

namespace theater::handlers {
Result<HttpClientConfig> ParseHttpClientConfig(const nlohmann::json& config) {
  HttpClientConfig out;
  if (config.is_null()) return out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    if (key == "max_redirects") {
      THEATER_ASSIGN_OR_RETURN(out.max_redirects,
                               ConfigLimit(value, key, 0, kMaxRedirectsCap));
    } else if (key == "connect_timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(out.connect_timeout_ms,
                               ConfigLimit(value, key, 1, kMaxHttpTimeoutMs));
    } else if (key == "timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(out.timeout_ms,
                               ConfigLimit(value, key, 1, kMaxHttpTimeoutMs));
    } else if (key == "max_response_bytes") {
      THEATER_ASSIGN_OR_RETURN(out.max_response_bytes,
                               ConfigLimit(value, key, 0, kMaxResponseBytesCap));
    } else if (key == "ca_file") {
      if (!value.is_string()) return InvalidArgument("ca_file: must be a string");
      std::string path = value.get<std::string>();
      if (path.empty() || path.find('\0') != std::string::npos) {
        return InvalidArgument("ca_file: must be a non-empty path");
      }
      out.ca_file = std::move(path);
    } else if (key == "tls_verify") {
      if (!value.is_boolean()) return InvalidArgument("tls_verify: must be a boolean");
      out.tls_verify = value.get<bool>();
    } else {
      return InvalidArgument("unknown key '" + key +
                             "' (expected max_redirects, connect_timeout_ms, timeout_ms, "
                             "max_response_bytes, ca_file, tls_verify)");
    }
  }
  if (out.ca_file && !out.tls_verify) {
    return InvalidArgument("ca_file: has no effect with tls_verify = false; give one of them");
  }
  return out;
}

}  // namespace theater::handlers
