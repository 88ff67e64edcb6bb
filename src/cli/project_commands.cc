// Theater: a WebAssembly actor runtime.
//
// Subcommands for actor projects: `create` (a new project from a template, with Theater's WIT and
// the bindings generated for the template's world) and `build` (compile a project's sources and
// its generated bindings to its manifest's component with clang-14 for wasm32-wasi).
#include <spawn.h>
#include <sys/wait.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "cli/templates.h"
#include "common/spawn_setup.h"
#include "theater/version.h"

extern char** environ;

namespace theater::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct CreateArgs {
  std::string name;
  std::string template_name = "basic";
  std::string lang = "c";
  std::string output_dir = ".";
  bool force = false;
};

Status WriteFile(const fs::path& path, std::string_view contents) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return IOError("creating " + path.parent_path().string() + ": " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return IOError("writing " + path.string());
  return Status();
}

int Create(Context& ctx, const CreateArgs& args) {
  const Output& out = ctx.out();
  Result<Lang> lang = ParseLang(args.lang);
  if (!lang.ok()) return UsageError(ctx, lang.status().ToString());
  Result<std::vector<ProjectFile>> files = RenderProject(args.template_name, *lang, args.name);
  if (!files.ok()) {
    return files.status().code() == StatusCode::kInternal
               ? out.Error(files.status())
               : UsageError(ctx, files.status().ToString());
  }
  const fs::path dir = fs::path(args.output_dir) / args.name;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !args.force) {
    return out.Error(
        AlreadyExists(dir.string() + " exists and is not empty (--force writes into it)"));
  }
  for (const ProjectFile& file : *files) {
    if (Status written = WriteFile(dir / file.path, file.contents); !written.ok()) {
      return out.Error(written);
    }
  }
  if (out.json()) {
    json list = json::array();
    for (const ProjectFile& file : *files) list.push_back(file.path);
    out.PrintJson({{"path", dir.string()},
                   {"template", args.template_name},
                   {"lang", args.lang},
                   {"files", list}});
    return kExitOk;
  }
  std::cout << "created " << dir.string() << " (" << args.template_name << ", "
            << (*lang == Lang::kC ? "C" : "C++") << ")\n\n"
            << "next:\n"
            << "  cd " << dir.string() << "\n"
            << "  theater build              # or: make (src/ + bindings/ of world "
            << *TemplateWorld(args.template_name) << ")\n"
            << "  theater run manifest.toml  # in-process\n"
            << "  theater start manifest.toml  # on a running `theater server`\n"
            << "  make bindings              # after editing wit/: runs theater bindgen\n";
  return kExitOk;
}

// --- build -----------------------------------------------------------------------------------

struct BuildArgs {
  std::string dir = ".";
  std::string output;
  std::string compiler;
};

bool IsCppSource(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".cc" || ext == ".cpp" || ext == ".cxx";
}

// The project's sources: src/*.{c,cc,cpp,cxx}, else the same in the project directory.
std::vector<fs::path> FindSources(const fs::path& dir) {
  std::vector<fs::path> sources;
  for (const fs::path& where : {dir / "src", dir}) {
    std::error_code ec;
    if (!fs::is_directory(where, ec)) continue;
    for (const auto& entry : fs::directory_iterator(where, ec)) {
      const fs::path& path = entry.path();
      if (entry.is_regular_file() && (path.extension() == ".c" || IsCppSource(path))) {
        sources.push_back(path);
      }
    }
    if (!sources.empty()) break;
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

// The manifest's `component`, resolved against the project directory. Errors: no manifest, no
// component, a component that is not a file path.
Result<fs::path> ComponentPath(const fs::path& dir) {
  const fs::path manifest = dir / "manifest.toml";
  std::ifstream in(manifest, std::ios::binary);
  if (!in) return NotFound("no manifest.toml in " + dir.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    toml::table root = toml::parse(text.str(), manifest.string());
    std::optional<std::string> component = root["component"].value<std::string>();
    if (!component || component->empty()) {
      return InvalidArgument(manifest.string() + ": missing 'component' (the .wasm to build)");
    }
    if (component->find("://") != std::string::npos) {
      return InvalidArgument(manifest.string() + ": component '" + *component +
                             "' is not a local path; give -o to say where to build");
    }
    fs::path path(*component);
    return path.is_absolute() ? path : dir / path;
  } catch (const toml::parse_error& e) {
    return ParseError(manifest.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  } catch (const std::exception& e) {
    return InternalError(manifest.string() + ": " + e.what());
  }
}

// Where the SDK headers are for a project without generated bindings (made before `create`
// generated them): its own sdk/, else a copy of the SDK embedded in this binary, written once to
// $THEATER_HOME/sdk/<version>/.
Result<fs::path> SdkInclude(const Context& ctx, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "sdk" / "theater" / "theater.h", ec)) return dir / "sdk";
  fs::path home;
  if (std::optional<std::string> th = ctx.env()("THEATER_HOME"); th && !th->empty()) {
    home = *th;
  } else if (std::optional<std::string> h = ctx.env()("HOME"); h && !h->empty()) {
    home = fs::path(*h) / ".theater";
  } else {
    return FailedPrecondition("no sdk/ in the project and neither $THEATER_HOME nor $HOME is set");
  }
  const fs::path root = home / "sdk" / std::string(kVersion);
  for (const EmbeddedFile& header : EmbeddedSdkHeaders()) {
    const fs::path path = root / "theater" / std::string(header.name);
    // Rewritten when different, so an SDK from another build of the same version is replaced.
    std::ifstream in(path, std::ios::binary);
    std::stringstream old;
    if (in) old << in.rdbuf();
    if (in && old.str() == header.contents) continue;
    THEATER_RETURN_IF_ERROR(WriteFile(path, header.contents));
  }
  return root;
}

// The generated sources in the project's bindings/ (what `create` or `theater bindgen` wrote).
std::vector<fs::path> BindingSources(const fs::path& dir) {
  std::vector<fs::path> sources;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / kProjectBindingsDir, ec)) {
    const fs::path& path = entry.path();
    if (entry.is_regular_file() && (path.extension() == ".c" || IsCppSource(path))) {
      sources.push_back(path);
    }
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

// Runs `command` with the terminal's stdout and stderr; returns its exit status.
Result<int> RunProcess(const std::vector<std::string>& command) {
  std::vector<char*> argv = NullTerminated(command);
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ); rc != 0) {
    if (rc == ENOENT) {
      return Unavailable(command[0] +
                         " not found (Debian: apt install clang-14 lld-14 wasi-libc; "
                         "or set $THEATER_WASM_CC / --cc)");
    }
    return ErrnoError("starting " + command[0], rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waiting for " + command[0], errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int Build(Context& ctx, const BuildArgs& args) {
  const Output& out = ctx.out();
  const fs::path dir = args.dir;
  fs::path output;
  if (!args.output.empty()) {
    output = args.output;
  } else {
    THEATER_ASSIGN_OR_RETURN_EXIT(output, ComponentPath(dir), out);
  }
  std::vector<fs::path> sources = FindSources(dir);
  if (sources.empty()) {
    return out.Error(
        NotFound("no .c or .cc sources in " + (dir / "src").string() + " or " + dir.string()));
  }
  // A project with generated bindings compiles them with its sources and includes nothing
  // else; an older project gets the SDK headers instead.
  std::vector<fs::path> include_dirs;
  std::error_code ec;
  if (fs::is_directory(dir / kProjectBindingsDir, ec)) {
    std::vector<fs::path> generated = BindingSources(dir);
    if (generated.empty()) {
      return out.Error(NotFound(
          "no generated .c or .cpp in " + (dir / kProjectBindingsDir).string() +
          " (make them with: theater bindgen wit --world <world> --lang c|cpp --out bindings)"));
    }
    sources.insert(sources.end(), generated.begin(), generated.end());
    include_dirs.push_back(dir / kProjectBindingsDir);
  } else {
    THEATER_ASSIGN_OR_RETURN_EXIT(fs::path sdk, SdkInclude(ctx, dir), out);
    include_dirs.push_back(sdk);
  }
  const Lang lang =
      std::any_of(sources.begin(), sources.end(), IsCppSource) ? Lang::kCpp : Lang::kC;
  std::string compiler = args.compiler;
  if (compiler.empty()) {
    std::optional<std::string> env = ctx.env()("THEATER_WASM_CC");
    compiler = env && !env->empty() ? *env : "clang-14";
  }
  if (!output.parent_path().empty()) fs::create_directories(output.parent_path(), ec);
  std::vector<std::string> command =
      WasmCompileCommand(compiler, lang, include_dirs, sources, output);
  THEATER_ASSIGN_OR_RETURN_EXIT(int status, RunProcess(command), out);
  if (status != 0) {
    return out.Error(compiler + " failed (exit status " + std::to_string(status) + ")");
  }
  const uint64_t size = fs::file_size(output, ec);
  if (out.json()) {
    json list = json::array();
    for (const fs::path& source : sources) list.push_back(source.string());
    out.PrintJson({{"output", output.string()}, {"bytes", size}, {"sources", list}});
  } else {
    std::cout << output.string() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddProjectCommands(CLI::App& app, CommandSet& commands) {
  auto create = std::make_shared<CreateArgs>();
  std::string names;
  for (const std::string& name : TemplateNames()) names += (names.empty() ? "" : ", ") + name;
  CLI::App* create_cmd = app.add_subcommand(
      "create",
      "Create an actor project (manifest, source, Makefile, Theater's WIT and the bindings "
      "generated for the template's world) from a template");
  create_cmd->add_option("name", create->name, "Project name (letters, digits, '-', '_')")
      ->required();
  create_cmd->add_option("-t,--template", create->template_name, "Template: " + names)
      ->check(CLI::IsMember(TemplateNames()))
      ->capture_default_str();
  create_cmd->add_option("-l,--lang", create->lang, "Language: c or cpp")
      ->check(CLI::IsMember({"c", "cpp"}))
      ->capture_default_str();
  create_cmd
      ->add_option("-o,--output-dir", create->output_dir,
                   "Directory to create the project in (it becomes <dir>/<name>)")
      ->capture_default_str();
  create_cmd->add_flag("--force", create->force, "Write into an existing, non-empty directory");
  commands.Add(create_cmd, [create](Context& ctx) { return Create(ctx, *create); });

  auto build = std::make_shared<BuildArgs>();
  CLI::App* build_cmd = app.add_subcommand(
      "build", "Compile an actor project to wasm with clang-14; print the output path");
  build_cmd->add_option("dir", build->dir, "Project directory (holding manifest.toml)")
      ->capture_default_str();
  build_cmd->add_option("-o,--output", build->output,
                        "Output .wasm (default: the manifest's component)");
  build_cmd->add_option("--cc", build->compiler,
                        "Compiler (default $THEATER_WASM_CC, else clang-14)");
  commands.Add(build_cmd, [build](Context& ctx) { return Build(ctx, *build); });
}

}  // namespace theater::cli
