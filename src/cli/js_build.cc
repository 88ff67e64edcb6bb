// Theater: a WebAssembly actor runtime.
#include "cli/js_build.h"

#include <nlohmann/json.hpp>

#include <iostream>

#include "abi/bindgen/bindgen.h"
#include "abi/bindgen/names.h"
#include "abi/bindgen/ts_generator.h"
#include "cli/templates.h"
#include "common/bytes.h"
#include "common/nesting_guard.h"
#include "engine/compile/subprocess.h"
#include "theater/limits.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

// A package.json is a few hundred bytes; anything far larger is not one of ours.
constexpr size_t kMaxPackageJsonBytes = 1 << 20;
// npm ci downloads about 100 MB the first time; the driver's componentize step takes 10-30 s.
constexpr std::chrono::minutes kInstallTimeout{20};
constexpr std::chrono::minutes kDriverTimeout{10};
constexpr std::string_view kDriverPath = ".theater/build.mjs";

// What the build needs to know about the world: whether it imports theater:simple/runtime (then
// console.* can go to the actor's log), and the names its exports have in JavaScript.
struct WorldFacts {
  bool imports_runtime = false;
  std::string export_names;  // comma-separated: "actor,messageServerClient"
};

Result<WorldFacts> ReadWorld(const fs::path& wit_dir, const std::string& world_name) {
  THEATER_ASSIGN_OR_RETURN(wit::Package package, bindgen::LoadWit(wit_dir));
  const wit::World* world = package.FindWorld(world_name);
  if (world == nullptr) {
    return NotFound(wit_dir.string() + " has no world '" + world_name +
                    "' (package.json's \"theater\".\"world\")");
  }
  WorldFacts facts;
  for (const wit::WorldItem& item : world->imports) {
    if (bindgen::StripVersion(item.name) == "theater:simple/runtime") facts.imports_runtime = true;
  }
  for (const wit::WorldItem& item : world->exports) {
    const std::string name = item.kind == wit::WorldItemKind::kFunction
                                 ? item.function.name
                                 : (item.interface ? item.interface->name : item.name);
    facts.export_names += (facts.export_names.empty() ? "" : ",") + bindgen::TsMemberName(name);
  }
  return facts;
}

// npm ci is needed unless node_modules was installed from this very lock file: each install
// leaves a copy of it in node_modules (kInstalledLock). The lock files of projects of one
// language are identical, so projects may share one node_modules through a link.
constexpr std::string_view kInstalledLock = "node_modules/.theater-lock";
constexpr size_t kMaxLockBytes = 16 << 20;

bool NeedsInstall(const fs::path& dir) {
  Result<std::string> lock =
      ReadFileText(dir / "package-lock.json", "package-lock.json", kMaxLockBytes);
  Result<std::string> installed =
      ReadFileText(dir / kInstalledLock, "installed lock", kMaxLockBytes);
  return !lock.ok() || !installed.ok() || *lock != *installed;
}

Result<fs::path> FindTool(const std::string& name) {
  Result<fs::path> path = engine::FindExecutable(name);
  if (!path.ok()) {
    return Unavailable(name +
                       " not found: a JavaScript actor is built with Node.js 20 or newer and npm "
                       "(Debian: apt install nodejs npm)");
  }
  return path;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Status PlanJsBuild(ProjectBuildPlan& plan) {
  const fs::path package_path = plan.dir / "package.json";
  THEATER_ASSIGN_OR_RETURN(std::string text,
                           ReadFileText(package_path, "package.json", kMaxPackageJsonBytes));
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(text, limits::kMaxJsonDepth, package_path.string()));
  nlohmann::json package = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (package.is_discarded() || !package.is_object()) {
    return ParseError(package_path.string() + " is not a JSON object");
  }
  const auto theater = package.find("theater");
  if (theater == package.end() || !theater->is_object() || !(*theater)["entry"].is_string() ||
      !(*theater)["world"].is_string()) {
    return InvalidArgument(package_path.string() +
                           " has no \"theater\": {\"entry\": \"src/actor.js\", \"world\": "
                           "\"<world>\"} (what `theater create --lang js` writes)");
  }
  const std::string entry = (*theater)["entry"].get<std::string>();
  plan.world = (*theater)["world"].get<std::string>();
  const fs::path entry_path = plan.dir / entry;
  std::error_code ec;
  if (!fs::is_regular_file(entry_path, ec)) {
    return NotFound(package_path.string() + " names the entry " + entry + ", which does not exist");
  }
  plan.front_end = &kJsFrontEnd;
  plan.lang = entry_path.extension() == ".ts" ? Lang::kTs : Lang::kJs;
  plan.sources = {entry_path};
  // Everything else under src/ counts for `theater run --build` (is the component stale?).
  for (auto it = fs::recursive_directory_iterator(plan.dir / "src", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path() != entry_path) plan.sources.push_back(it->path());
  }
  THEATER_ASSIGN_OR_RETURN(WorldFacts world, ReadWorld(plan.dir / "wit", plan.world));
  plan.command = {"node",      std::string(kDriverPath),
                  "--entry",   entry,
                  "--wit",     "wit",
                  "--world",   plan.world,
                  "--exports", world.export_names,
                  "--out",     fs::absolute(plan.output).string()};
  if (world.imports_runtime) plan.command.push_back("--console-log");
  return Status();
}

Result<BuiltProject> BuildJsProject(const ProjectBuildPlan& plan) {
  const auto start = std::chrono::steady_clock::now();
  THEATER_ASSIGN_OR_RETURN(fs::path node, FindTool("node"));
  if (NeedsInstall(plan.dir)) {
    THEATER_ASSIGN_OR_RETURN(fs::path npm, FindTool("npm"));
    std::cerr << "installing the project's npm packages (npm ci; about 100 MB the first time)\n";
    THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult installed,
                             engine::RunSubprocess({npm.string(), "ci", "--prefer-offline",
                                                    "--no-audit", "--no-fund", "--loglevel=error"},
                                                   plan.dir, kInstallTimeout));
    if (!installed.ok()) {
      return Unavailable("npm ci failed (" + installed.Ending() +
                         "); it needs the npm registry, or npm's cache holding every package of "
                         "package-lock.json:\n" +
                         Trimmed(engine::TailLines(installed.output, 30)));
    }
    THEATER_ASSIGN_OR_RETURN(std::string lock, ReadFileText(plan.dir / "package-lock.json",
                                                            "package-lock.json", kMaxLockBytes));
    THEATER_RETURN_IF_ERROR(WriteProjectFile(plan.dir / kInstalledLock, lock));
  }
  const EmbeddedFile* driver = FindEmbeddedFile(EmbeddedTemplateJs(), "build.mjs");
  if (driver == nullptr) return InternalError("the JavaScript build driver is not embedded");
  THEATER_RETURN_IF_ERROR(WriteProjectFile(plan.dir / kDriverPath, driver->contents));

  std::vector<std::string> argv = plan.command;
  argv.front() = node.string();
  THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult run,
                           engine::RunSubprocess(argv, plan.dir, kDriverTimeout));
  if (!run.ok()) return BuildToolFailed("building " + plan.output.filename().string(), run);
  return BuiltOutput(plan, start, std::move(run.output));
}

std::string DescribeJsBuild(const ProjectBuildPlan& plan) {
  return plan.sources.front().lexically_relative(plan.dir).string() +
         " (esbuild, componentize-js, world " + plan.world + ")";
}

}  // namespace

const ProjectFrontEnd kJsFrontEnd = {"package.json", PlanJsBuild, BuildJsProject, DescribeJsBuild};

}  // namespace theater::cli
