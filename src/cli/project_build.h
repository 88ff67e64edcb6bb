// Theater: a WebAssembly actor runtime.
//
// Building an actor project (what `theater create` writes: manifest.toml, src/, bindings/) into
// its manifest's component with clang-14 for wasm32-wasi; a project in JavaScript or TypeScript
// (a package.json) with Node.js tools instead (js_build.h), one in Rust (a Cargo.toml) with cargo
// (rust_build.h). `theater build` uses it, and so does
// `theater run`, which builds a project whose component does not exist yet.
//
// A plan is made first (sources, include directories, language, the command line): it needs
// only the file system. Running it starts the compiler under the spawn shim, so the compiler
// dies with the command however the command ends (engine/compile/subprocess.h).
//
// Thread-safety: the functions are reentrant. Ownership: plain values.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/templates.h"
#include "engine/compile/subprocess.h"
#include "theater/status.h"

namespace theater::cli {

class CommandContext;
struct ProjectFrontEnd;

struct ProjectBuildOptions {
  std::filesystem::path dir = ".";  // holds manifest.toml
  std::filesystem::path output;     // empty: the manifest's component
  std::string compiler;             // empty: $THEATER_WASM_CC, else clang-14
  BuildProfile profile = BuildProfile::kRelease;
};

struct ProjectBuildPlan {
  std::filesystem::path dir;
  std::filesystem::path output;
  std::vector<std::filesystem::path> sources;  // the project's, then the generated bindings
  Lang lang = Lang::kC;
  BuildProfile profile = BuildProfile::kRelease;
  std::vector<std::string> command;  // the compiler's argv (JavaScript: the driver's, js_build.h)
  std::string world;                 // JavaScript: the WIT world the actor implements
  std::filesystem::path artifact;    // Rust: what cargo writes under target/<target>/, copied
                                     // to `output`
  const ProjectFrontEnd* front_end = nullptr;  // set by its plan; null: C or C++, with clang
  bool quiet = false;  // the build's own progress lines (a front-end's long stages) not shown
  // $THEATER_HOME (empty: neither it nor $HOME is set): where state shared by projects lives
  // (the JavaScript packages, js_build.h).
  std::filesystem::path home;
  // JavaScript: what does not depend on the actor's code kept between builds in
  // $THEATER_HOME/js-splice-cache (off with THEATER_JS_BUILD_CACHE=off).
  bool keep_js_build_cache = true;
};

struct BuiltProject {
  std::filesystem::path output;
  uint64_t bytes = 0;
  std::chrono::steady_clock::duration took{};
  std::string diagnostics;  // what the compiler printed (warnings), possibly empty
};

// A language whose projects its own tools build, not clang: JavaScript and TypeScript
// (js_build.h), Rust (rust_build.h). A project directory holding the file `marker` is in it.
// PlanProjectBuild and BuildProject find a project's front-end in one table of them; a new
// language is one more entry there.
struct ProjectFrontEnd {
  std::string_view marker;  // "package.json", "Cargo.toml"
  // Fills front_end (this entry), lang, sources and command, and what else the language needs,
  // of a plan whose dir, output and profile are set. Needs only the file system.
  Status (*plan)(ProjectBuildPlan& plan);
  Result<BuiltProject> (*build)(const ProjectBuildPlan& plan);
  // What BuildingLine says after "building <output> from ": "src/lib.rs (cargo, release)".
  std::string (*describe)(const ProjectBuildPlan& plan);
};

// The error of a build tool that ended badly: "<what> failed (<how it ended>):\n<its output>",
// without trailing blank lines (kFailedPrecondition).
Status BuildToolFailed(std::string_view what, const engine::SubprocessResult& run);

// What a build that wrote plan.output reports: its size and the time since `start`. Errors: the
// build wrote no output.
Result<BuiltProject> BuiltOutput(const ProjectBuildPlan& plan,
                                 std::chrono::steady_clock::time_point start,
                                 std::string diagnostics);

// Errors: no manifest.toml, a manifest without a local `component` (unless options.output is
// given), no sources; a project without bindings/ gets the SDK headers written under
// $THEATER_HOME (for projects made before bindings were generated).
Result<ProjectBuildPlan> PlanProjectBuild(const CommandContext& ctx,
                                          const ProjectBuildOptions& options);

// Runs the plan. Errors: the compiler missing (kUnavailable, naming the packages) or failing
// (kFailedPrecondition with its diagnostics, file:line first).
Result<BuiltProject> BuildProject(const ProjectBuildPlan& plan);

// BuildProject, saying so on stderr as `theater build`, `run` and `dev` do: BuildingLine before,
// the compiler's warnings and BuiltLine after (each line in one write, so a reader of stderr
// never sees half of one); with `quiet`, only the warnings. Errors: BuildProject's.
Result<BuiltProject> BuildProjectSaying(const ProjectBuildPlan& plan, bool quiet = false);

// "building hello.wasm from src/actor.c + bindings/minimal.c (clang-14, release)".
std::string BuildingLine(const ProjectBuildPlan& plan);
// "built ./hello.wasm (27.8 KiB) in 0.9 s".
std::string BuiltLine(const BuiltProject& built);

// The component a manifest file names, when it is a local path (resolved against the
// manifest's directory); nullopt for a URL, a store reference or a manifest without one.
// Errors: the manifest cannot be read or parsed.
Result<std::optional<std::filesystem::path>> LocalComponentOf(
    const std::filesystem::path& manifest);

// Theater's home directory: $THEATER_HOME, else ~/.theater. Errors: neither variable is set.
Result<std::filesystem::path> TheaterHome(const CommandContext& ctx);

// Writes `contents` to `path`, creating its directories.
Status WriteProjectFile(const std::filesystem::path& path, std::string_view contents);

// The newest of the plan's sources, when it is newer than the output (make's rule); nullopt when
// the output is up to date.
std::optional<std::filesystem::path> NewerSource(const ProjectBuildPlan& plan);

}  // namespace theater::cli
