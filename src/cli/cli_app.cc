// Theater: a WebAssembly actor runtime.
#include "cli/cli_app.h"

#include "theater/version.h"

namespace theater::cli {

std::unique_ptr<CLI::App> BuildApp(GlobalOptions& global, CommandSet& commands) {
  auto app = std::make_unique<CLI::App>(
      "Theater: a WebAssembly actor runtime. Run `theater <command> --help` for a command's "
      "options; docs/cli.md has the whole reference.",
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

  AddActorCommands(*app, commands);
  AddEventCommands(*app, commands);
  AddReplayCommand(*app, commands);
  AddMessageCommands(*app, commands);
  AddLocalCommands(*app, commands);
  AddProjectCommands(*app, commands);
  AddBindgenCommand(*app, commands);
  AddStoreCommands(*app, commands);
  AddTreeCommand(*app, commands);
  AddValidateCommand(*app, commands);
  AddServerCommand(*app, commands);
  AddLatticeCommands(*app, commands);
  AddCompletionCommand(*app, commands);
  app->require_subcommand(1);
  return app;
}

}  // namespace theater::cli
