// Theater: a WebAssembly actor runtime.
#include "cli/templates.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "abi/bindgen/bindgen.h"
#include "runtime/wit_embedded.h"
#include "theater/abi/wit.h"
#include "theater/version.h"

namespace theater::cli {
namespace {

struct TemplateEntry {
  std::string_view name;
  std::span<const EmbeddedFile> (*files)();
  // The world the actor implements: one of theater:simple (wit/worlds.wit), or one the template
  // declares in its world.wit (written to the project as wit/<world>.wit).
  std::string_view world;
  std::string_view summary;  // one line for `theater create --help`
  // What to do after `theater build`, one command per line (shown by `create`).
  std::string_view next_steps;
};

constexpr TemplateEntry kTemplates[] = {
    {"basic", EmbeddedTemplateBasic, "minimal",
     "logs a greeting and counts its starts in a JSON state",
     "theater run manifest.toml              # run it in-process, print its log and chain\n"},
    {"message-server", EmbeddedTemplateMessageServer, "message-server-actor",
     "answers messages, requests and channels (from actors or `theater message`)",
     "theater server &                       # a management server, if none is running\n"
     "id=$(theater start manifest.toml)\n"
     "theater message --request $id ping     # answers pong\n"
     "theater channel open $id               # each line comes back as echo: <line>\n"},
    {"supervisor", EmbeddedTemplateSupervisor, "supervisor-messages",
     "starts, lists and stops child actors on request; restarts a child that fails",
     "theater server &                       # a management server, if none is running\n"
     "id=$(theater start manifest.toml)\n"
     "theater message --request $id \"spawn:children/<child>/manifest.toml\"\n"
     "    # a child under this directory, or under the server's --spawn-root\n"
     "theater tree                           # the supervision tree\n"},
    {"http-server", EmbeddedTemplateHttpServer, "http-actor",
     "serves GET /, /hello and /count over HTTP on a free port (the log says which)",
     "theater run --wait manifest.toml       # serve until Ctrl-C; the log prints the URL\n"
     "curl http://127.0.0.1:<port>/hello     # from another terminal\n"},
};

const TemplateEntry* FindTemplate(std::string_view name) {
  for (const TemplateEntry& entry : kTemplates) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Status UnknownTemplate(std::string_view name) {
  std::string known;
  for (const std::string& n : TemplateNames()) known += (known.empty() ? "" : ", ") + n;
  return NotFound("no template named '" + std::string(name) + "' (available: " + known + ")");
}

// A project's WIT: Theater's as embedded in the binary, plus `extra` (a template's own world),
// in file-name order: the order `theater bindgen wit/` reads a directory in, so regenerating
// from a project's wit/ gives the same bindings.
std::vector<wit::SourceFile> ProjectWit(std::optional<wit::SourceFile> extra) {
  std::vector<wit::SourceFile> sources;
  for (const EmbeddedFile& file : runtime::EmbeddedTheaterWit()) {
    sources.push_back({std::string(file.name), std::string(file.contents)});
  }
  if (extra) sources.push_back(std::move(*extra));
  std::sort(sources.begin(), sources.end(),
            [](const wit::SourceFile& a, const wit::SourceFile& b) { return a.name < b.name; });
  return sources;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : " ") + part;
  return out;
}

}  // namespace

Result<Lang> ParseLang(std::string_view text) {
  if (text == "c") return Lang::kC;
  if (text == "cpp" || text == "c++" || text == "cxx") return Lang::kCpp;
  if (text == "js" || text == "javascript") return Lang::kJs;
  if (text == "ts" || text == "typescript") return Lang::kTs;
  if (text == "rust" || text == "rs") return Lang::kRust;
  return InvalidArgument("language must be c, cpp, rust, js or ts, not '" + std::string(text) +
                         "'");
}

std::string_view LangName(Lang lang) {
  switch (lang) {
    case Lang::kC:
      return "C";
    case Lang::kCpp:
      return "C++";
    case Lang::kJs:
      return "JavaScript";
    case Lang::kTs:
      return "TypeScript";
    case Lang::kRust:
      return "Rust";
  }
  return "C";
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const TemplateEntry& entry : kTemplates) names.emplace_back(entry.name);
  return names;
}

std::string TemplateSummaries() {
  size_t width = 0;
  for (const TemplateEntry& entry : kTemplates) width = std::max(width, entry.name.size());
  std::string text;
  for (const TemplateEntry& entry : kTemplates) {
    text += "  " + std::string(entry.name) + std::string(width + 2 - entry.name.size(), ' ') +
            std::string(entry.summary) + "\n";
  }
  return text;
}

Result<std::string> TemplateNextSteps(std::string_view template_name) {
  const TemplateEntry* entry = FindTemplate(template_name);
  if (entry == nullptr) return UnknownTemplate(template_name);
  return std::string(entry->next_steps);
}

Result<std::string> TemplateWorld(std::string_view template_name) {
  const TemplateEntry* entry = FindTemplate(template_name);
  if (entry == nullptr) return UnknownTemplate(template_name);
  return std::string(entry->world);
}

Status ValidateProjectName(std::string_view name) {
  if (name.empty()) return InvalidArgument("the project name is empty");
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) {
    return InvalidArgument("project name '" + std::string(name) + "' must start with a letter");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return InvalidArgument("project name '" + std::string(name) +
                             "' may hold only letters, digits, '-' and '_'");
    }
  }
  return Status();
}

std::string SnakeCase(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

std::string RenderText(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find("{{", at);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(at, open - at));
    auto it = vars.find(std::string(text.substr(open + 2, close - open - 2)));
    if (it != vars.end()) {
      out += it->second;
    } else {
      out.append(text.substr(open, close + 2 - open));
    }
    at = close + 2;
  }
  out.append(text.substr(at));
  return out;
}

std::vector<std::string> LanguageFlags(Lang lang) {
  // -lc-printscan-long-double drops wasi-libc's stderr fallback in printf (docs/writing-actors.md);
  // clang-14 links the C++ runtime only when asked.
  // The generated C++ bindings need C++20 (std::span) and no exceptions.
  if (lang == Lang::kC) return {"-lc-printscan-long-double"};
  return {"-std=c++20", "-fno-exceptions", "-lc-printscan-long-double", "-lc++", "-lc++abi"};
}

std::vector<std::string> WasmCompileCommand(const std::string& compiler, Lang lang,
                                            const std::vector<std::filesystem::path>& include_dirs,
                                            const std::vector<std::filesystem::path>& sources,
                                            const std::filesystem::path& output,
                                            BuildProfile profile) {
  std::vector<std::string> command = {compiler, "--target=wasm32-wasi"};
  if (profile == BuildProfile::kRelease) {
    command.insert(command.end(), {"-O2", "-Wl,--strip-debug"});
  } else {
    command.insert(command.end(), {"-O0", "-g"});
  }
  command.insert(command.end(), {"-mexec-model=reactor", "-Wall", "-Wextra"});
  for (const auto& dir : include_dirs) command.push_back("-I" + dir.string());
  for (std::string& flag : LanguageFlags(lang)) command.push_back(std::move(flag));
  command.push_back("-o");
  command.push_back(output.string());
  for (const auto& source : sources) command.push_back(source.string());
  return command;
}

Result<std::vector<ProjectFile>> RenderProject(std::string_view template_name, Lang lang,
                                               std::string_view project_name,
                                               std::string_view rust_target) {
  THEATER_RETURN_IF_ERROR(ValidateProjectName(project_name));
  const TemplateEntry* entry = FindTemplate(template_name);
  if (entry == nullptr) return UnknownTemplate(template_name);

  std::span<const EmbeddedFile> files = entry->files();
  // The project's WIT: Theater's, plus the template's own world when it has one. Its bindings
  // are generated exactly as `theater bindgen wit --world <world> --lang <lang> --out bindings`
  // would (the same files in the same order).
  std::optional<wit::SourceFile> own_world;
  if (const EmbeddedFile* world_wit = FindEmbeddedFile(files, "world.wit"); world_wit != nullptr) {
    own_world = wit::SourceFile{
        std::string(entry->world) + ".wit",
        RenderText(world_wit->contents, {{"project_name", std::string(project_name)}})};
  }
  const std::vector<wit::SourceFile> wit_sources = ProjectWit(std::move(own_world));
  Result<wit::Package> package = wit::ParseWitSources(wit_sources);
  if (!package.ok()) return InternalError("the embedded WIT: " + package.status().ToString());
  const bool js = IsJsLang(lang);
  const bool rust = lang == Lang::kRust;
  const bindgen::Language bindings_language = js                 ? bindgen::Language::kTypeScript
                                              : rust             ? bindgen::Language::kRust
                                              : lang == Lang::kC ? bindgen::Language::kC
                                                                 : bindgen::Language::kCpp;
  Result<std::vector<bindgen::GeneratedFile>> bindings =
      bindgen::Generate(*package, std::string(entry->world), bindings_language);
  if (!bindings.ok()) {
    return InternalError("generating the bindings of world " + std::string(entry->world) + ": " +
                         bindings.status().ToString());
  }
  const std::string bindings_dir(js ? kProjectTypesDir : kProjectBindingsDir);

  const std::string source = lang == Lang::kC     ? "actor.c"
                             : lang == Lang::kCpp ? "actor.cc"
                             : lang == Lang::kJs  ? "actor.js"
                             : rust               ? "actor.rs"
                                                  : "actor.ts";
  // Where the actor goes in the project: a crate's root is src/lib.rs.
  const std::string source_path = rust ? "src/lib.rs" : "src/" + source;
  const std::string lang_name = lang == Lang::kC     ? "c"
                                : lang == Lang::kCpp ? "cpp"
                                : lang == Lang::kJs  ? "js"
                                : rust               ? "rust"
                                                     : "ts";
  Result<std::string> next_steps = TemplateNextSteps(template_name);
  if (!next_steps.ok()) return next_steps.status();
  const std::map<std::string, std::string> vars = {
      {"project_name", std::string(project_name)},
      {"project_name_snake", SnakeCase(project_name)},
      {"theater_version", std::string(kVersion)},
      {"source", js ? source : source_path},
      {"lang_flags", js || rust ? "" : Join(LanguageFlags(lang))},
      {"lang", lang_name},
      {"language", lang == Lang::kJs ? "JavaScript" : "TypeScript"},
      {"template", std::string(template_name)},
      {"summary", std::string(entry->summary)},
      {"next_steps", *next_steps},
      {"typescript_note", lang == Lang::kTs ? ", typescript" : ""},
      {"typecheck_note", lang == Lang::kTs ? " and for `theater build`, which type-checks" : ""},
      {"build_commands", js || rust ? "`theater build`" : "`make` or `theater build`"},
      {"world", std::string(entry->world)},
      {"world_snake", SnakeCase(entry->world)},
      {"wit_dir", std::string(kProjectWitDir)},
      {"bindings_dir", bindings_dir},
      {"bindings_ext", lang == Lang::kC ? "c" : "cpp"},
      {"rust_target", std::string(rust_target)},
  };
  std::span<const EmbeddedFile> common = js     ? EmbeddedTemplateJs()
                                         : rust ? EmbeddedTemplateRust()
                                                : EmbeddedTemplateCommon();
  std::vector<ProjectFile> project;
  auto add = [&](std::span<const EmbeddedFile> from, std::string_view name,
                 std::string path) -> Status {
    const EmbeddedFile* file = FindEmbeddedFile(from, name);
    if (file == nullptr) {
      return InternalError("template '" + std::string(template_name) + "' lacks " +
                           std::string(name));
    }
    project.push_back({std::move(path), RenderText(file->contents, vars)});
    return Status();
  };
  THEATER_RETURN_IF_ERROR(add(files, "manifest.toml", "manifest.toml"));
  THEATER_RETURN_IF_ERROR(add(files, source, source_path));
  if (FindEmbeddedFile(files, "init.json") != nullptr) {
    THEATER_RETURN_IF_ERROR(add(files, "init.json", "init.json"));
  }
  if (js) {
    const std::string suffix = lang == Lang::kJs ? "js" : "ts";
    THEATER_RETURN_IF_ERROR(add(common, "package-" + suffix + ".json", "package.json"));
    THEATER_RETURN_IF_ERROR(add(common, "package-lock-" + suffix + ".json", "package-lock.json"));
    THEATER_RETURN_IF_ERROR(add(common, lang == Lang::kJs ? "jsconfig.json" : "tsconfig.json",
                                lang == Lang::kJs ? "jsconfig.json" : "tsconfig.json"));
    THEATER_RETURN_IF_ERROR(add(common, "README.md", "README.md"));
  } else if (rust) {
    THEATER_RETURN_IF_ERROR(add(common, "Cargo.toml", "Cargo.toml"));
    THEATER_RETURN_IF_ERROR(add(common, "cargo-config.toml", ".cargo/config.toml"));
    THEATER_RETURN_IF_ERROR(add(common, "README.md", "README.md"));
  } else {
    THEATER_RETURN_IF_ERROR(add(common, "Makefile", "Makefile"));
  }
  THEATER_RETURN_IF_ERROR(add(common, "gitignore", ".gitignore"));
  // WIT and generated code verbatim: "{{" in them never means a placeholder.
  for (const wit::SourceFile& file : wit_sources) {
    project.push_back({std::string(kProjectWitDir) + "/" + file.name, file.text});
  }
  for (bindgen::GeneratedFile& file : *bindings) {
    project.push_back({bindings_dir + "/" + file.name, std::move(file.contents)});
  }
  return project;
}

}  // namespace theater::cli
