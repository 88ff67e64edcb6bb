// Theater: a WebAssembly actor runtime.
#include "cli/project_build.h"

#include <iostream>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/context.h"
#include "cli/js_build.h"
#include "cli/rust_build.h"
#include "engine/compile/progress_line.h"
#include "engine/compile/subprocess.h"
#include "theater/manifest.h"
#include "theater/version.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

// Every language `theater build` hands to tools of its own; a project in none of them is C or C++.
constexpr const ProjectFrontEnd* kFrontEnds[] = {&kJsFrontEnd, &kRustFrontEnd};

// Generous: a large C++ actor at -O2 takes tens of seconds; this bounds a hung compiler only.
constexpr std::chrono::minutes kCompilerTimeout{30};

bool IsCppSource(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".cc" || ext == ".cpp" || ext == ".cxx";
}

bool IsSource(const fs::directory_entry& entry) {
  const fs::path& path = entry.path();
  return entry.is_regular_file() && (path.extension() == ".c" || IsCppSource(path));
}

// The project's sources: src/*.{c,cc,cpp,cxx}, else the same in the project directory.
std::vector<fs::path> FindSources(const fs::path& dir) {
  std::vector<fs::path> sources;
  for (const fs::path& where : {dir / "src", dir}) {
    std::error_code ec;
    if (!fs::is_directory(where, ec)) continue;
    for (const auto& entry : fs::directory_iterator(where, ec)) {
      if (IsSource(entry)) sources.push_back(entry.path());
    }
    if (!sources.empty()) break;
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

// The generated sources in the project's bindings/ (what `create` or `theater bindgen` wrote).
std::vector<fs::path> BindingSources(const fs::path& dir) {
  std::vector<fs::path> sources;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / kProjectBindingsDir, ec)) {
    if (IsSource(entry)) sources.push_back(entry.path());
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

// Where the SDK headers are for a project without generated bindings (made before `create`
// generated them): its own sdk/, else a copy of the SDK embedded in this binary, written once to
// $THEATER_HOME/sdk/<version>/.
Result<fs::path> SdkInclude(const CommandContext& ctx, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "sdk" / "theater" / "theater.h", ec)) return dir / "sdk";
  THEATER_ASSIGN_OR_RETURN(fs::path home, TheaterHome(ctx));
  const fs::path root = home / "sdk" / std::string(kVersion);
  for (const EmbeddedFile& header : EmbeddedSdkHeaders()) {
    const fs::path path = root / "theater" / std::string(header.name);
    // Rewritten when different, so an SDK from another build of the same version is replaced.
    std::ifstream in(path, std::ios::binary);
    std::stringstream old;
    if (in) old << in.rdbuf();
    if (in && old.str() == header.contents) continue;
    THEATER_RETURN_IF_ERROR(WriteProjectFile(path, header.contents));
  }
  return root;
}

}  // namespace

Result<fs::path> TheaterHome(const CommandContext& ctx) {
  if (std::optional<std::string> th = ctx.env()("THEATER_HOME"); th && !th->empty())
    return fs::path(*th);
  if (std::optional<std::string> h = ctx.env()("HOME"); h && !h->empty()) {
    return fs::path(*h) / ".theater";
  }
  return FailedPrecondition("neither $THEATER_HOME nor $HOME is set");
}

Status WriteProjectFile(const fs::path& path, std::string_view contents) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return IOError("creating " + path.parent_path().string() + ": " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return IOError("writing " + path.string());
  return Status();
}

Result<std::optional<fs::path>> LocalComponentOf(const fs::path& manifest) {
  // Read as a spawn reads it: `component` or the design's `component_path`, and template
  // expressions filled from the manifest's init_state (a missing value inserts nothing), so that
  // the manifest of a child that takes its settings at spawn still names its component.
  THEATER_ASSIGN_OR_RETURN(ManifestWithState loaded,
                           LoadManifestWithState(manifest, nlohmann::json::object()));
  const Manifest& read = *loaded.manifest;
  if (read.component.empty() || read.component_kind != ReferenceKind::kFile) {
    return std::optional<fs::path>();
  }
  // Named as the manifest was ("./hello.wasm" for "./manifest.toml"): what `build` prints.
  const fs::path component(read.component);
  const fs::path beside = component.lexically_relative(read.base_dir);
  if (beside.empty() || *beside.begin() == "..") return std::optional<fs::path>(component);
  return std::optional<fs::path>(manifest.parent_path() / beside);
}

Result<ProjectBuildPlan> PlanProjectBuild(const CommandContext& ctx,
                                          const ProjectBuildOptions& options) {
  ProjectBuildPlan plan;
  plan.dir = options.dir;
  plan.profile = options.profile;
  const fs::path manifest = plan.dir / "manifest.toml";
  if (!options.output.empty()) {
    plan.output = options.output;
  } else {
    std::error_code ec;
    if (!fs::exists(manifest, ec)) return NotFound("no manifest.toml in " + plan.dir.string());
    THEATER_ASSIGN_OR_RETURN(std::optional<fs::path> component, LocalComponentOf(manifest));
    if (!component) {
      return InvalidArgument(manifest.string() +
                             ": 'component' is missing or not a local path; give -o to say "
                             "where to build");
    }
    plan.output = *component;
  }
  if (Result<fs::path> home = TheaterHome(ctx); home.ok()) plan.home = *home;
  if (std::optional<std::string> cache = ctx.env()("THEATER_JS_BUILD_CACHE"); cache) {
    plan.keep_js_build_cache = *cache != "off";
  }
  for (const ProjectFrontEnd* front_end : kFrontEnds) {
    std::error_code ec;
    if (!fs::is_regular_file(plan.dir / front_end->marker, ec)) continue;
    THEATER_RETURN_IF_ERROR(front_end->plan(plan));
    return plan;
  }
  plan.sources = FindSources(plan.dir);
  if (plan.sources.empty()) {
    return NotFound("no .c or .cc sources in " + (plan.dir / "src").string() + " or " +
                    plan.dir.string());
  }
  // A project with generated bindings compiles them with its sources and includes nothing
  // else; an older project gets the SDK headers instead.
  std::vector<fs::path> include_dirs;
  std::error_code ec;
  if (fs::is_directory(plan.dir / kProjectBindingsDir, ec)) {
    std::vector<fs::path> generated = BindingSources(plan.dir);
    if (generated.empty()) {
      return NotFound(
          "no generated .c or .cpp in " + (plan.dir / kProjectBindingsDir).string() +
          " (make them with: theater bindgen wit --world <world> --lang c|cpp --out bindings)");
    }
    plan.sources.insert(plan.sources.end(), generated.begin(), generated.end());
    include_dirs.push_back(plan.dir / kProjectBindingsDir);
  } else {
    THEATER_ASSIGN_OR_RETURN(fs::path sdk, SdkInclude(ctx, plan.dir));
    include_dirs.push_back(sdk);
  }
  plan.lang =
      std::any_of(plan.sources.begin(), plan.sources.end(), IsCppSource) ? Lang::kCpp : Lang::kC;
  std::string compiler = options.compiler;
  if (compiler.empty()) {
    std::optional<std::string> env = ctx.env()("THEATER_WASM_CC");
    compiler = env && !env->empty() ? *env : "clang-14";
  }
  plan.command = WasmCompileCommand(compiler, plan.lang, include_dirs, plan.sources, plan.output,
                                    plan.profile);
  return plan;
}

Result<BuiltProject> BuildProject(const ProjectBuildPlan& plan) {
  if (plan.front_end != nullptr) return plan.front_end->build(plan);
  const auto start = std::chrono::steady_clock::now();
  const std::string& compiler = plan.command.front();
  Result<fs::path> executable = engine::FindExecutable(compiler);
  if (!executable.ok()) {
    return Unavailable(compiler +
                       " not found (Debian: apt install clang-14 lld-14 wasi-libc"
                       " libclang-rt-14-dev-wasm32, and libc++-14-dev-wasm32"
                       " libc++abi-14-dev-wasm32 for C++; or set $THEATER_WASM_CC / --cc)");
  }
  std::error_code ec;
  if (!plan.output.parent_path().empty()) fs::create_directories(plan.output.parent_path(), ec);
  std::vector<std::string> argv = plan.command;
  argv.front() = executable->string();
  THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult run,
                           engine::RunSubprocess(argv, {}, kCompilerTimeout));
  if (!run.ok()) return BuildToolFailed(compiler, run);
  return BuiltOutput(plan, start, std::move(run.output));
}

Status BuildToolFailed(std::string_view what, const engine::SubprocessResult& run) {
  std::string message = std::string(what) + " failed (" + run.Ending() + ")";
  if (!run.output.empty()) message += ":\n" + run.output;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return FailedPrecondition(message);
}

Result<BuiltProject> BuiltOutput(const ProjectBuildPlan& plan,
                                 std::chrono::steady_clock::time_point start,
                                 std::string diagnostics) {
  BuiltProject built;
  built.diagnostics = std::move(diagnostics);
  built.output = plan.output;
  std::error_code ec;
  built.bytes = fs::file_size(plan.output, ec);
  if (ec) return IOError("the build wrote no " + plan.output.string());
  built.took = std::chrono::steady_clock::now() - start;
  return built;
}

Result<BuiltProject> BuildProjectSaying(const ProjectBuildPlan& plan, bool quiet) {
  if (!quiet) std::cerr << BuildingLine(plan) + "\n";
  Result<BuiltProject> result = [&] {
    if (!quiet || plan.quiet) return BuildProject(plan);
    ProjectBuildPlan silent = plan;
    silent.quiet = true;
    return BuildProject(silent);
  }();
  THEATER_ASSIGN_OR_RETURN(BuiltProject built, std::move(result));
  if (!built.diagnostics.empty()) std::cerr << built.diagnostics;
  if (!quiet) std::cerr << BuiltLine(built) + "\n";
  return built;
}

std::string BuildingLine(const ProjectBuildPlan& plan) {
  std::string line = "building " + plan.output.filename().string() + " from ";
  if (plan.front_end != nullptr) return line + plan.front_end->describe(plan);
  for (size_t i = 0; i < plan.sources.size(); ++i) {
    if (i > 0) line += " + ";
    line += plan.sources[i].lexically_relative(plan.dir).string();
  }
  return line + " (" + fs::path(plan.command.front()).filename().string() + ", " +
         (plan.profile == BuildProfile::kRelease ? "release" : "debug") + ")";
}

std::string BuiltLine(const BuiltProject& built) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f s",
                std::chrono::duration<double>(built.took).count());
  return "built " + built.output.string() + " (" + engine::FormatSize(built.bytes) + ") in " +
         seconds;
}

std::optional<fs::path> NewerSource(const ProjectBuildPlan& plan) {
  std::error_code ec;
  const fs::file_time_type built = fs::last_write_time(plan.output, ec);
  if (ec) return std::nullopt;
  std::optional<fs::path> newest;
  fs::file_time_type newest_time = built;
  for (const fs::path& source : plan.sources) {
    const fs::file_time_type t = fs::last_write_time(source, ec);
    if (!ec && t > newest_time) {
      newest_time = t;
      newest = source;
    }
  }
  return newest;
}

}  // namespace theater::cli
