// Theater: a WebAssembly actor runtime.
#include "cli/usage_errors.h"

#include <algorithm>
#include <iostream>

#include "cli/context.h"

namespace theater::cli {

std::optional<std::string> UnknownCommandError(const CLI::App& app,
                                               std::span<const char* const> args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i] == nullptr ? "" : args[i];
    if (arg == "--") return std::nullopt;
    if (arg == "-V" || arg == "-v") {
      return "unknown option " + std::string(arg) + " (the version is `theater --version`)";
    }
    if (arg.starts_with("-")) {
      // The app's own global options, as cli_app.cc declared them: no second list to drift.
      const std::string name(arg.substr(0, arg.find('=')));
      const CLI::Option* option = app.get_option_no_throw(name);
      if (option == nullptr) return std::nullopt;  // an unknown option: CLI11 says so
      // A flag takes no value; another option's value is the next word unless given with '='.
      if (option->get_items_expected_min() > 0 && name.size() == arg.size()) ++i;
      continue;
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
    }
    if (std::find(names.begin(), names.end(), arg) != names.end()) return std::nullopt;
    std::string message = "unrecognized command '" + std::string(arg) + "'";
    if (arg == "version") {
      message += " (the version is `theater --version`)";
    } else if (std::optional<std::string> near = NearestName(arg, names)) {
      message += " (did you mean '" + *near + "'?)";
    }
    return message;
  }
  return std::nullopt;
}

namespace {

// The option names `app` and the commands above it accept: "--json", "-f".
std::vector<std::string> OptionNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* at = &app; at != nullptr; at = at->get_parent()) {
    for (const CLI::Option* option : at->get_options()) {
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
      for (const std::string& name : option->get_snames()) names.push_back("-" + name);
    }
  }
  return names;
}

// The command a failed parse got to.
const CLI::App* ChosenCommand(const CLI::App& app) {
  const CLI::App* at = &app;
  for (std::vector<CLI::App*> chosen = at->get_subcommands(); !chosen.empty();
       chosen = at->get_subcommands()) {
    at = chosen.front();
  }
  return at;
}

}  // namespace

std::string ParseErrorMessage(const CLI::ParseError& error, const CLI::App& app) {
  std::string message = error.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&error) == nullptr) return message;
  // "The following argument was not expected: --jsn" (or "arguments were", several).
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return message;
  std::vector<std::string> hints;
  const std::vector<std::string> known = OptionNames(*ChosenCommand(app));
  std::string_view rest = std::string_view(message).substr(colon + 2);
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    const std::string word(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (word == "-V" || word == "-v") {
      hints.push_back("the version is `theater --version`");
      continue;
    }
    if (!word.starts_with("-")) continue;
    const std::string name = word.substr(0, word.find('='));
    if (std::optional<std::string> near = NearestName(name, known)) {
      hints.push_back("did you mean '" + *near + "'?");
    }
  }
  for (size_t i = 0; i < hints.size(); ++i) message += (i == 0 ? " (" : "; ") + hints[i];
  if (!hints.empty()) message += ")";
  return message;
}

std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* at = &app;;) {
    const std::vector<CLI::App*> chosen = at->get_subcommands();
    if (chosen.empty()) return path;
    at = chosen.front();
    path += " " + at->get_name();
  }
}

int ReportUsageError(std::string_view message, std::string_view command) {
  std::string text(message);
  // CLI11 capitalises its messages; the command's own errors are lower case.
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() < 2 || !(text[1] >= 'A' && text[1] <= 'Z'))) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  std::cerr << "theater: error: " << text << " (see `" << command << " --help`)\n";
  return kExitUsage;
}

}  // namespace theater::cli
