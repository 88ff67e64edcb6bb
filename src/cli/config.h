// Theater: a WebAssembly actor runtime.
//
// The `theater` command line's configuration: the optional config file
// ($XDG_CONFIG_HOME/theater/config.toml, else ~/.config/theater/config.toml) and how its values
// combine with flags and environment variables. docs/cli.md lists every key.
//
//   [server]
//   address = "127.0.0.1:9000"
//   token_file = "~/.theater/token"
//   timeout_ms = 60000
//   [output]
//   color = "auto"      # auto | always | never
//   format = "table"    # table | json
//
// Precedence, for each setting: a command-line flag, then the environment, then the config file,
// then the built-in default.
//
// Thread-safety: plain values and pure functions (the environment is passed in, not read).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::cli {

inline constexpr std::string_view kDefaultAddress = "127.0.0.1:9000";

enum class ColorMode { kAuto, kAlways, kNever };
enum class OutputFormat { kTable, kJson };

// What the config file says; every field is optional so that "not set" falls through to the
// next source of the setting.
struct CliConfig {
  std::optional<std::string> address;
  std::optional<std::filesystem::path> token_file;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<ColorMode> color;
  std::optional<OutputFormat> format;
  // [handlers] plugins: handler plug-ins to load (absolute, or the config file's directory's).
  std::vector<std::filesystem::path> handler_plugins;
  // The file these came from (empty when there was none).
  std::filesystem::path source;
};

// Reads an environment variable; nullopt when unset. Injected so tests control the environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment.
EnvLookup ProcessEnv();

// Where the config file lives: $XDG_CONFIG_HOME/theater/config.toml when XDG_CONFIG_HOME is set
// and non-empty, else $HOME/.config/theater/config.toml; nullopt when neither is known.
std::optional<std::filesystem::path> DefaultConfigPath(const EnvLookup& env);

// Parses config TOML. `source` names the file in errors ("config.toml:3:9: ..."). Unknown keys
// are errors too, so a typo does not silently do nothing. A relative token_file is resolved
// against the file's directory; a leading "~/" against $HOME.
Result<CliConfig> ParseConfig(std::string_view text, const std::filesystem::path& source,
                              const EnvLookup& env);
// Loads `path`; a missing file is an empty config (only when `must_exist` is false).
Result<CliConfig> LoadConfig(const std::filesystem::path& path, bool must_exist,
                             const EnvLookup& env);

// The server address: `flag`, then $THEATER_SERVER_ADDRESS, then the config file, then
// 127.0.0.1:9000.
std::string ResolveAddress(const std::optional<std::string>& flag, const EnvLookup& env,
                           const CliConfig& config);

// The client token: `flag`, then $THEATER_SERVER_TOKEN, then the config file's token_file (read,
// trailing whitespace trimmed). nullopt when none is set. Errors: the token file is unreadable
// or empty.
Result<std::optional<std::string>> ResolveToken(const std::optional<std::string>& flag,
                                                const EnvLookup& env, const CliConfig& config);

// Reads a token file: its contents without trailing whitespace. Errors: unreadable or empty.
Result<std::string> ReadTokenFile(const std::filesystem::path& path);

// Whether to colour output written to a stream: `mode` (flag, else config, else auto); NO_COLOR
// (set and non-empty) always wins; auto means "when the stream is a terminal".
bool ShouldColor(ColorMode mode, bool is_terminal, const EnvLookup& env);

Result<ColorMode> ParseColorMode(std::string_view text);

}  // namespace theater::cli
