// Theater: a WebAssembly actor runtime.
#include "cli/cli_app.h"

#include <filesystem>
#include <string>

#include "theater/version.h"

namespace theater::cli {

namespace {

namespace fs = std::filesystem;

// The headings `theater --help` lists the commands under (each group in the order its first
// command was added); a command missing here is listed under "Other".
void GroupCommands(CLI::App& app) {
  static constexpr std::pair<std::string_view, std::string_view> kGroups[] = {
      {"create", "Project"},    {"build", "Project"},     {"validate", "Project"},
      {"bindgen", "Project"},   {"run", "Local run"},     {"dev", "Local run"},
      {"compile", "Local run"}, {"server", "Server"},     {"start", "Server"},
      {"stop", "Server"},       {"terminate", "Server"},  {"restart", "Server"},
      {"pause", "Server"},      {"resume", "Server"},     {"update", "Server"},
      {"message", "Server"},    {"channel", "Server"},    {"hosts", "Server"},
      {"move", "Server"},       {"list", "Inspect"},      {"list-stored", "Inspect"},
      {"tree", "Inspect"},      {"state", "Inspect"},     {"metrics", "Inspect"},
      {"inspect", "Inspect"},   {"info", "Inspect"},      {"events", "Inspect"},
      {"logs", "Inspect"},      {"subscribe", "Inspect"}, {"chain", "Inspect"},
      {"replay", "Inspect"},    {"store", "Inspect"},
  };
  for (CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::string_view group = "Other";
    for (const auto& [name, heading] : kGroups) {
      if (command->get_name() == name) group = heading;
    }
    command->group(std::string(group));
  }
}

// Where the whole reference is for this command: beside an installed one (PREFIX/bin/theater:
// PREFIX/share/doc/theater/docs/cli.md, what scripts/install.sh and the Debian package put
// there), else in the source tree it was built from.
std::string ReferenceLocation() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed =
        exe.parent_path().parent_path() / "share" / "doc" / "theater" / "docs" / "cli.md";
    if (fs::is_regular_file(installed, ec)) return installed.string();
  }
  return "docs/cli.md of the source tree";
}

}  // namespace

std::unique_ptr<CLI::App> BuildApp(GlobalOptions& global, CommandSet& commands) {
  auto app = std::make_unique<CLI::App>(
      "Theater: a WebAssembly actor runtime. Run `theater <command> --help` for a command's "
      "options; " +
          ReferenceLocation() + " has the whole reference (`man theater` when installed).",
      "theater");
  app->set_version_flag("--version", "theater " + std::string(kVersion) + " (commit " +
                                         std::string(BuildCommit()) + ")");
  // Global options may come after the subcommand too (`theater list --json`): subcommands pass
  // options they do not know to their parent. Set before adding subcommands, which inherit it.
  app->fallthrough();
  app->add_option("-a,--address", global.address,
                  "Server address host:port (else $THEATER_SERVER_ADDRESS, the config file, "
                  "127.0.0.1:9000)");
  app->add_option("--token", global.token,
                  "Token for a server that requires one (else $THEATER_SERVER_TOKEN, the config "
                  "file's token_file)");
  app->add_flag("--json", global.json, "Print results as JSON");
  app->add_option("--color", global.color, "Colour output: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app->add_option("--config", global.config_path,
                  "Config file (default $XDG_CONFIG_HOME/theater/config.toml, else "
                  "~/.config/theater/config.toml)");

  // Added in the order `--help` lists them: what a new user runs first, first.
  AddProjectCommands(*app, commands);
  AddLocalCommands(*app, commands);
  AddDevCommand(*app, commands);
  AddValidateCommand(*app, commands);
  AddBindgenCommand(*app, commands);
  AddServerCommand(*app, commands);
  AddActorCommands(*app, commands);
  AddMessageCommands(*app, commands);
  AddLatticeCommands(*app, commands);
  AddEventCommands(*app, commands);
  AddLogsCommand(*app, commands);
  AddReplayCommand(*app, commands);
  AddTreeCommand(*app, commands);
  AddStoreCommands(*app, commands);
  AddCompletionCommand(*app, commands);
  GroupCommands(*app);
  app->require_subcommand(1);
  return app;
}

}  // namespace theater::cli
