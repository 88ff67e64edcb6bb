// Theater: a WebAssembly actor runtime.
#include "cli/templates.h"

#include <cctype>

#include "theater/version.h"

namespace theater::cli {
namespace {

struct TemplateEntry {
  std::string_view name;
  std::span<const EmbeddedFile> (*files)();
};

constexpr TemplateEntry kTemplates[] = {
    {"basic", EmbeddedTemplateBasic},
    {"message-server", EmbeddedTemplateMessageServer},
    {"supervisor", EmbeddedTemplateSupervisor},
    {"http-server", EmbeddedTemplateHttpServer},
};

const EmbeddedFile* Find(std::span<const EmbeddedFile> files, std::string_view name) {
  for (const EmbeddedFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
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
  return InvalidArgument("language must be c or cpp, not '" + std::string(text) + "'");
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const TemplateEntry& entry : kTemplates) names.emplace_back(entry.name);
  return names;
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
  if (lang == Lang::kC) return {"-lc-printscan-long-double"};
  return {"-std=c++17", "-fno-exceptions", "-lc-printscan-long-double", "-lc++", "-lc++abi"};
}

std::vector<std::string> WasmCompileCommand(const std::string& compiler, Lang lang,
                                            const std::filesystem::path& sdk_include,
                                            const std::vector<std::filesystem::path>& sources,
                                            const std::filesystem::path& output) {
  std::vector<std::string> command = {
      compiler,  "--target=wasm32-wasi",     "-O2", "-mexec-model=reactor", "-Wall",
      "-Wextra", "-I" + sdk_include.string()};
  for (std::string& flag : LanguageFlags(lang)) command.push_back(std::move(flag));
  command.push_back("-o");
  command.push_back(output.string());
  for (const auto& source : sources) command.push_back(source.string());
  return command;
}

Result<std::vector<ProjectFile>> RenderProject(std::string_view template_name, Lang lang,
                                               std::string_view project_name) {
  THEATER_RETURN_IF_ERROR(ValidateProjectName(project_name));
  const TemplateEntry* entry = nullptr;
  for (const TemplateEntry& candidate : kTemplates) {
    if (candidate.name == template_name) entry = &candidate;
  }
  if (entry == nullptr) {
    std::string known;
    for (const std::string& name : TemplateNames()) known += (known.empty() ? "" : ", ") + name;
    return NotFound("no template named '" + std::string(template_name) + "' (available: " + known +
                    ")");
  }
  const std::string source = lang == Lang::kC ? "actor.c" : "actor.cc";
  const std::map<std::string, std::string> vars = {
      {"project_name", std::string(project_name)}, {"project_name_snake", SnakeCase(project_name)},
      {"theater_version", std::string(kVersion)},  {"source", "src/" + source},
      {"lang_flags", Join(LanguageFlags(lang))},   {"lang", lang == Lang::kC ? "c" : "cpp"},
  };
  std::span<const EmbeddedFile> files = entry->files();
  std::span<const EmbeddedFile> common = EmbeddedTemplateCommon();
  std::vector<ProjectFile> project;
  auto add = [&](std::span<const EmbeddedFile> from, std::string_view name,
                 std::string path) -> Status {
    const EmbeddedFile* file = Find(from, name);
    if (file == nullptr) {
      return InternalError("template '" + std::string(template_name) + "' lacks " +
                           std::string(name));
    }
    project.push_back({std::move(path), RenderText(file->contents, vars)});
    return Status();
  };
  THEATER_RETURN_IF_ERROR(add(files, "manifest.toml", "manifest.toml"));
  THEATER_RETURN_IF_ERROR(add(files, source, "src/" + source));
  if (Find(files, "init.json") != nullptr) {
    THEATER_RETURN_IF_ERROR(add(files, "init.json", "init.json"));
  }
  THEATER_RETURN_IF_ERROR(add(common, "Makefile", "Makefile"));
  THEATER_RETURN_IF_ERROR(add(common, "gitignore", ".gitignore"));
  // The SDK verbatim: its headers are C, where "{{" never means a placeholder.
  for (const EmbeddedFile& header : EmbeddedSdkHeaders()) {
    project.push_back({"sdk/theater/" + std::string(header.name), std::string(header.contents)});
  }
  return project;
}

}  // namespace theater::cli
