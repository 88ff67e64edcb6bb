// Theater: a WebAssembly actor runtime.
//
// Subcommands for actor projects: `create` (a new project from a template, with Theater's WIT and
// the bindings generated for the template's world) and `build` (compile a project to its
// manifest's component: C and C++ with clang-14 for wasm32-wasi, JavaScript and TypeScript with
// componentize-js, Rust with cargo).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "cli/project_build.h"
#include "cli/rust_toolchain.h"
#include "cli/templates.h"
#include "theater/version.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

struct CreateArgs {
  std::string name;
  std::string template_name = "basic";
  std::string lang = "c";
  std::string output_dir = ".";
  bool force = false;
};

int Create(CommandContext& ctx, const CreateArgs& args) {
  const Output& out = ctx.out();
  Result<Lang> lang = ParseLang(args.lang);
  if (!lang.ok()) return UsageError(ctx, lang.status().ToString());
  // A Rust project's .cargo/config.toml names the wasm target this machine's toolchain has
  // (rustc 1.84 on knows only wasm32-wasip1; Debian's 1.63 only wasm32-wasi).
  std::string rust_target(kDefaultRustWasmTarget);
  if (*lang == Lang::kRust) {
    std::error_code ec;
    const fs::path probe_dir = fs::is_directory(args.output_dir, ec) ? args.output_dir : ".";
    if (Result<RustToolchain> toolchain = FindRustToolchain(probe_dir); toolchain.ok()) {
      rust_target = toolchain->target;
    }
  }
  Result<std::vector<ProjectFile>> files =
      RenderProject(args.template_name, *lang, args.name, rust_target);
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
    if (Status written = WriteProjectFile(dir / file.path, file.contents); !written.ok()) {
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
  std::cout << "created " << dir.string() << " (" << args.template_name << ", " << LangName(*lang)
            << ", world " << *TemplateWorld(args.template_name) << ")\n\n"
            << "next:\n"
            << "  cd " << dir.string() << "\n";
  if (IsJsLang(*lang)) {
    std::cout << "  theater build                          # npm ci the first time, then "
                 "componentize-js\n";
  } else if (*lang == Lang::kRust) {
    std::cout << "  theater build                          # cargo build --offline --release; "
                 "`theater run` also builds\n";
  } else {
    std::cout << "  theater build                          # or: make; `theater run` also builds\n";
  }
  std::istringstream steps(*TemplateNextSteps(args.template_name));
  for (std::string line; std::getline(steps, line);) std::cout << "  " << line << "\n";
  if (*lang == Lang::kRust) {
    std::cout << "  theater bindgen wit --world " << *TemplateWorld(args.template_name)
              << " --lang rust --out bindings   # after editing wit/\n";
  } else if (!IsJsLang(*lang)) {
    std::cout << "  make bindings                          # after editing wit/: theater bindgen\n";
  }
  if (IsJsLang(*lang)) {
    // What the first run costs, said before it happens (docs/compile-cache.md, "Tiers").
    std::cout << "\nthe first run of the world's first actor compiles the JavaScript engine: about "
                 "10 s on 2 cores,\nthen its optimized code (about 4 min) compiles in the "
                 "background; to make that ahead:\n  theater compile --engine js --world "
              << *TemplateWorld(args.template_name) << "\n";
  }
  return kExitOk;
}

// --- build -----------------------------------------------------------------------------------

struct BuildArgs {
  std::string dir = ".";
  std::string output;
  std::string compiler;
  bool debug = false;
};

int Build(CommandContext& ctx, const BuildArgs& args) {
  const Output& out = ctx.out();
  ProjectBuildOptions options;
  options.dir = args.dir;
  options.output = args.output;
  options.compiler = args.compiler;
  options.profile = args.debug ? BuildProfile::kDebug : BuildProfile::kRelease;
  THEATER_ASSIGN_OR_RETURN_EXIT(ProjectBuildPlan plan, PlanProjectBuild(ctx, options), out);
  // What is compiled goes to stderr; stdout keeps only the output path, for scripts.
  THEATER_ASSIGN_OR_RETURN_EXIT(BuiltProject built, BuildProjectSaying(plan, out.json()), out);
  if (out.json()) {
    json list = json::array();
    for (const fs::path& source : plan.sources) list.push_back(source.string());
    out.PrintJson({{"output", built.output.string()},
                   {"bytes", built.bytes},
                   {"profile", args.debug ? "debug" : "release"},
                   {"sources", list}});
  } else {
    std::cout << built.output.string() << "\n";
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
      "Create an actor project (manifest, source, Theater's WIT and the bindings generated for "
      "the template's world; a Makefile for C and C++, a pinned package.json for JavaScript and "
      "TypeScript, a Cargo.toml for Rust) from a template");
  create_cmd->add_option("name", create->name, "Project name (letters, digits, '-', '_')")
      ->required();
  create_cmd->add_option("-t,--template", create->template_name, "Template: " + names)
      ->check(CLI::IsMember(TemplateNames()))
      ->capture_default_str();
  create_cmd
      ->add_option("-l,--lang", create->lang,
                   "Language: c, cpp, rust, js (JavaScript) or ts (TypeScript)")
      ->check(CLI::IsMember({"c", "cpp", "rust", "js", "ts"}))
      ->capture_default_str();
  create_cmd
      ->add_option("-o,--output-dir", create->output_dir,
                   "Directory to create the project in (it becomes <dir>/<name>)")
      ->capture_default_str();
  create_cmd->add_flag("--force", create->force, "Write into an existing, non-empty directory");
  create_cmd->footer("Templates:\n" + TemplateSummaries());
  commands.Add(create_cmd, [create](CommandContext& ctx) { return Create(ctx, *create); });

  auto build = std::make_shared<BuildArgs>();
  CLI::App* build_cmd = app.add_subcommand(
      "build",
      "Compile an actor project to its component: C and C++ with clang-14, JavaScript and "
      "TypeScript with esbuild and componentize-js, Rust with cargo (what it runs goes to "
      "stderr); print the output path");
  build_cmd->add_option("dir", build->dir, "Project directory (holding manifest.toml)")
      ->capture_default_str();
  build_cmd->add_option("-o,--output", build->output,
                        "Output .wasm (default: the manifest's component)");
  build_cmd->add_option("--cc", build->compiler,
                        "Compiler (default $THEATER_WASM_CC, else clang-14)");
  build_cmd->add_flag("--debug", build->debug,
                      "Unoptimised, with debug information (a release build is -O2 and drops "
                      "the DWARF sections; Rust: cargo's dev profile)");
  commands.Add(build_cmd, [build](CommandContext& ctx) { return Build(ctx, *build); });
}

}  // namespace theater::cli
