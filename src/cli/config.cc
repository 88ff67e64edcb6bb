// Theater: a WebAssembly actor runtime.
//
// Config file parsing with toml++, which throws: every call into it is inside a try block here.
#include "cli/config.h"

#include <toml++/toml.h>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace theater::cli {
namespace fs = std::filesystem;
namespace {

std::string Where(const fs::path& source, const toml::source_region& region) {
  if (region.begin.line == 0) return source.string();
  return source.string() + ":" + std::to_string(region.begin.line) + ":" +
         std::to_string(region.begin.column);
}

Status Invalid(const fs::path& source, const toml::node& node, const std::string& key,
               const std::string& what) {
  return InvalidArgument(Where(source, node.source()) + ": '" + key + "' " + what);
}

fs::path ExpandHome(const std::string& text, const fs::path& base, const EnvLookup& env) {
  if (text.rfind("~/", 0) == 0) {
    if (std::optional<std::string> home = env("HOME"); home && !home->empty()) {
      return fs::path(*home) / text.substr(2);
    }
  }
  fs::path path(text);
  if (path.is_relative()) return base / path;
  return path;
}

Status ParseServerTable(const toml::table& table, const fs::path& source, const EnvLookup& env,
                        CliConfig& config) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "address") {
      const auto* value = node.as_string();
      if (!value) return Invalid(source, node, "server.address", "must be a string");
      config.address = value->get();
    } else if (name == "token_file") {
      const auto* value = node.as_string();
      if (!value) return Invalid(source, node, "server.token_file", "must be a string");
      config.token_file = ExpandHome(value->get(), source.parent_path(), env);
    } else if (name == "timeout_ms") {
      const auto* value = node.as_integer();
      if (!value || value->get() <= 0) {
        return Invalid(source, node, "server.timeout_ms", "must be a positive integer");
      }
      config.timeout = std::chrono::milliseconds(value->get());
    } else {
      return InvalidArgument(Where(source, key.source()) + ": unknown key 'server." + name +
                             "' (known: address, token_file, timeout_ms)");
    }
  }
  return Status();
}

Status ParseOutputTable(const toml::table& table, const fs::path& source, CliConfig& config) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "color") {
      const auto* value = node.as_string();
      if (!value) return Invalid(source, node, "output.color", "must be auto, always or never");
      Result<ColorMode> mode = ParseColorMode(value->get());
      if (!mode.ok()) return Invalid(source, node, "output.color", "must be auto, always or never");
      config.color = *mode;
    } else if (name == "format") {
      const auto* value = node.as_string();
      if (!value || (value->get() != "table" && value->get() != "json")) {
        return Invalid(source, node, "output.format", "must be table or json");
      }
      config.format = value->get() == "json" ? OutputFormat::kJson : OutputFormat::kTable;
    } else {
      return InvalidArgument(Where(source, key.source()) + ": unknown key 'output." + name +
                             "' (known: color, format)");
    }
  }
  return Status();
}

// [handlers] plugins = ["path.so", ...]: handler plug-ins `theater server` and `theater validate`
// load (docs/handlers.md, "Plug-ins"); a relative path is the config file's directory's.
Status ParseHandlersTable(const toml::table& table, const fs::path& source, const EnvLookup& env,
                          CliConfig& config) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name != "plugins") {
      return InvalidArgument(Where(source, key.source()) + ": unknown key 'handlers." + name +
                             "' (known: plugins)");
    }
    const toml::array* paths = node.as_array();
    if (!paths) return Invalid(source, node, "handlers.plugins", "must be an array of paths");
    for (const toml::node& path : *paths) {
      const auto* text = path.as_string();
      if (!text || text->get().empty()) {
        return Invalid(source, path, "handlers.plugins", "must hold non-empty paths");
      }
      config.handler_plugins.push_back(ExpandHome(text->get(), source.parent_path(), env));
    }
  }
  return Status();
}

std::string TrimTrailing(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<fs::path> DefaultConfigPath(const EnvLookup& env) {
  if (std::optional<std::string> xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    return fs::path(*xdg) / "theater" / "config.toml";
  }
  if (std::optional<std::string> home = env("HOME"); home && !home->empty()) {
    return fs::path(*home) / ".config" / "theater" / "config.toml";
  }
  return std::nullopt;
}

Result<ColorMode> ParseColorMode(std::string_view text) {
  if (text == "auto") return ColorMode::kAuto;
  if (text == "always") return ColorMode::kAlways;
  if (text == "never") return ColorMode::kNever;
  return InvalidArgument("colour mode must be auto, always or never, not '" + std::string(text) +
                         "'");
}

Result<CliConfig> ParseConfig(std::string_view text, const fs::path& source, const EnvLookup& env) {
  CliConfig config;
  config.source = source;
  try {
    toml::table root = toml::parse(text, source.string());
    for (const auto& [key, node] : root) {
      const std::string name(key.str());
      const toml::table* table = node.as_table();
      if (name != "server" && name != "output" && name != "handlers") {
        return InvalidArgument(Where(source, key.source()) + ": unknown key '" + name +
                               "' (known tables: [server], [output], [handlers])");
      }
      if (!table) return Invalid(source, node, name, "must be a table");
      Status status = name == "server"   ? ParseServerTable(*table, source, env, config)
                      : name == "output" ? ParseOutputTable(*table, source, config)
                                         : ParseHandlersTable(*table, source, env, config);
      if (!status.ok()) return status;
    }
  } catch (const toml::parse_error& e) {
    return ParseError(Where(source, e.source()) + ": " + std::string(e.description()));
  } catch (const std::exception& e) {
    return InternalError(source.string() + ": unexpected error reading the config: " + e.what());
  }
  return config;
}

Result<CliConfig> LoadConfig(const fs::path& path, bool must_exist, const EnvLookup& env) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (must_exist) return NotFound("config file not found: " + path.string());
    return CliConfig{};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("cannot read config file " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, env);
}

std::string ResolveAddress(const std::optional<std::string>& flag, const EnvLookup& env,
                           const CliConfig& config) {
  if (flag && !flag->empty()) return *flag;
  if (std::optional<std::string> value = env("THEATER_SERVER_ADDRESS"); value && !value->empty()) {
    return *value;
  }
  if (config.address && !config.address->empty()) return *config.address;
  return std::string(kDefaultAddress);
}

Result<std::string> ReadTokenFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("cannot read token file " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  std::string token = TrimTrailing(text.str());
  if (token.empty()) return InvalidArgument("token file " + path.string() + " is empty");
  return token;
}

Result<std::optional<std::string>> ResolveToken(const std::optional<std::string>& flag,
                                                const EnvLookup& env, const CliConfig& config) {
  if (flag && !flag->empty()) return std::optional<std::string>(*flag);
  if (std::optional<std::string> value = env("THEATER_SERVER_TOKEN"); value && !value->empty()) {
    return std::optional<std::string>(*value);
  }
  if (config.token_file) {
    Result<std::string> token = ReadTokenFile(*config.token_file);
    if (!token.ok()) {
      return token.status().WithContext("server.token_file in " + config.source.string());
    }
    return std::optional<std::string>(std::move(*token));
  }
  return std::optional<std::string>();
}

bool ShouldColor(ColorMode mode, bool is_terminal, const EnvLookup& env) {
  // no-color.org: set and not empty.
  if (std::optional<std::string> no_color = env("NO_COLOR"); no_color && !no_color->empty()) {
    return false;
  }
  switch (mode) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      return is_terminal;
  }
  return false;
}

}  // namespace theater::cli
