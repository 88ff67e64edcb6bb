// Theater: a WebAssembly actor runtime.
#include "cli/js_build.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <map>

#include "abi/bindgen/bindgen.h"
#include "abi/bindgen/names.h"
#include "abi/bindgen/ts_generator.h"
#include "cli/build_progress.h"
#include "cli/templates.h"
#include "common/bytes.h"
#include "common/file_lock.h"
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
  // One garbage collector thread: componentize-js's splicer, wasm run by Node.js, grows its
  // memory thousands of times on its first call, each growth a collection, and on 2 busy cores
  // parallel collector threads made that three times slower (docs/benchmarks.md, "A JavaScript
  // rebuild").
  plan.command = {"node",      "--single-threaded-gc", std::string(kDriverPath),
                  "--entry",   entry,
                  "--wit",     "wit",
                  "--world",   plan.world,
                  "--exports", world.export_names,
                  "--out",     fs::absolute(plan.output).string()};
  if (world.imports_runtime) plan.command.push_back("--console-log");
  // The engine spliced for a world is the same for every actor of it: kept once for all projects.
  if (!plan.home.empty() && plan.keep_js_build_cache) {
    plan.command.push_back("--splice-cache");
    plan.command.push_back((plan.home / "js-splice-cache").string());
  }
  return Status();
}

// The packages npm ci installs from the lock file: its "packages" entries but the project itself
// and the optional ones (esbuild's binaries for other platforms), which npm mostly skips. An
// estimate, for the progress line; 0 when the lock cannot be read.
uint64_t LockedPackages(const std::string& lock) {
  if (!CheckJsonNesting(lock, limits::kMaxJsonDepth, "package-lock.json").ok()) return 0;
  const nlohmann::json parsed = nlohmann::json::parse(lock, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return 0;
  const auto packages = parsed.find("packages");
  if (packages == parsed.end() || !packages->is_object()) return 0;
  uint64_t count = 0;
  for (const auto& [path, entry] : packages->items()) {
    if (path.empty() || !entry.is_object()) continue;
    const auto optional = entry.find("optional");
    if (optional != entry.end() && optional->is_boolean() && optional->get<bool>()) continue;
    ++count;
  }
  return count;
}

// A tool's output cut into whole lines as it arrives.
class LineSplitter {
 public:
  // Calls `line` with each whole line of `output` (without its '\n').
  template <typename OnLine>
  void Feed(std::string_view output, OnLine&& line) {
    for (char c : output) {
      if (c != '\n') {
        if (partial_.size() < kMaxLine) partial_.push_back(c);
        continue;
      }
      line(std::string_view(partial_));
      partial_.clear();
    }
  }

 private:
  static constexpr size_t kMaxLine = 4096;  // a longer line is cut: only its start is looked at
  std::string partial_;
};

// What the driver (templates/js/build.mjs) prints on stderr as each of its stages begins, and
// when the running stage turns out to be a kind of it with a time of its own (componentize-js
// with the spliced engine a build before kept).
constexpr std::string_view kStageMarker = "theater-build-stage: ";
constexpr std::string_view kStageIsMarker = "theater-build-stage-is: ";

// How long each stage of the driver took at the last build, for the estimate of the next one
// ("<stage>\t<ms>" a line): in $THEATER_HOME/js-stage-times, shared by all projects (the engine
// componentize-js builds is most of the time, and the same for all), else in the project's
// .theater/stage-times.
fs::path StageTimesPath(const ProjectBuildPlan& plan) {
  return plan.home.empty() ? plan.dir / ".theater" / "stage-times" : plan.home / "js-stage-times";
}

std::map<std::string, std::chrono::milliseconds> ReadStageTimes(const fs::path& path) {
  std::map<std::string, std::chrono::milliseconds> times;
  Result<std::string> text = ReadFileText(path, "stage times", 64 * 1024);
  if (!text.ok()) return times;
  LineSplitter lines;
  lines.Feed(*text, [&](std::string_view line) {
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return;
    const std::string ms(line.substr(tab + 1));
    char* end = nullptr;
    const long long value = std::strtoll(ms.c_str(), &end, 10);
    if (end != ms.c_str() && value > 0) {
      times[std::string(line.substr(0, tab))] = std::chrono::milliseconds(value);
    }
  });
  return times;
}

// Everything but the driver's stage markers and npm's request log: what a build's diagnostics
// and errors show.
std::string WithoutProgressLines(const std::string& output) {
  std::string kept;
  LineSplitter lines;
  lines.Feed(output + "\n", [&](std::string_view line) {
    if (line.starts_with(kStageMarker) || line.starts_with(kStageIsMarker) ||
        line.starts_with("npm http ")) {
      return;
    }
    kept.append(line).push_back('\n');
  });
  while (!kept.empty() && kept.back() == '\n') kept.pop_back();
  return kept;
}

// npm ci in `dir` (which holds package.json and package-lock.json), shown as a stage; leaves
// the lock it installed from in node_modules (kInstalledLock).
Status InstallPackages(const fs::path& dir, BuildProgress& progress) {
  THEATER_ASSIGN_OR_RETURN(fs::path npm, FindTool("npm"));
  THEATER_ASSIGN_OR_RETURN(std::string lock, ReadFileText(dir / "package-lock.json",
                                                          "package-lock.json", kMaxLockBytes));
  const uint64_t expected = LockedPackages(lock);
  progress.Stage("npm ci (the packages come from npm's cache, or the registry the first time)");
  progress.Count(0, expected, "packages");
  // npm's request log names each package's tarball as it is fetched (from the cache too).
  uint64_t fetched = 0;
  LineSplitter lines;
  const engine::OutputWatch watch = [&](std::string_view output) {
    lines.Feed(output, [&](std::string_view line) {
      if (line.starts_with("npm http fetch ") && line.find("/-/") != std::string_view::npos) {
        ++fetched;
      }
    });
    progress.Count(fetched, std::max(expected, fetched), "packages");
    progress.Tick();
  };
  THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult installed,
                           engine::RunSubprocess({npm.string(), "ci", "--prefer-offline",
                                                  "--no-audit", "--no-fund", "--loglevel=http"},
                                                 dir, kInstallTimeout, nullptr, watch));
  if (!installed.ok()) {
    return Unavailable("npm ci failed (" + installed.Ending() +
                       "); it needs the npm registry, or npm's cache holding every package of "
                       "package-lock.json:\n" +
                       Trimmed(engine::TailLines(WithoutProgressLines(installed.output), 30)));
  }
  progress.Finish();
  return WriteProjectFile(dir / kInstalledLock, lock);
}

// The package.json npm ci needs beside a lock file in a directory of shared packages: the lock's
// own root entry (its name and dependencies), so that it matches the lock exactly.
Result<std::string> PackageJsonOfLock(const std::string& lock) {
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(lock, limits::kMaxJsonDepth, "package-lock.json"));
  const nlohmann::json parsed = nlohmann::json::parse(lock, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* root = nullptr;
  if (parsed.is_object()) {
    const auto packages = parsed.find("packages");
    if (packages != parsed.end() && packages->is_object()) {
      const auto entry = packages->find("");
      if (entry != packages->end() && entry->is_object()) root = &*entry;
    }
  }
  if (root == nullptr) return ParseError("package-lock.json has no root package entry");
  nlohmann::json package{{"private", true}};
  for (const char* key : {"name", "version", "dependencies", "devDependencies",
                          "optionalDependencies", "peerDependencies"}) {
    if (const auto it = root->find(key); it != root->end()) package[key] = *it;
  }
  return package.dump(2) + "\n";
}

// A project without node_modules of its own shares the packages of every project with the same
// lock file (projects made by `theater create` for one language have the same one): installed
// once in $THEATER_HOME/js-packages/<the lock's digest>/, linked from the project's node_modules.
// A project already linked there whose lock has changed is linked to the set of its new lock. A
// project that has a node_modules directory (or a link elsewhere) keeps it.
bool SharesPackages(const ProjectBuildPlan& plan) {
  if (plan.home.empty()) return false;
  const fs::path link = plan.dir / "node_modules";
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(link, ec);
  if (!fs::exists(status)) return true;
  if (!fs::is_symlink(status)) return false;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec) return false;
  const fs::path within = target.lexically_relative(plan.home / "js-packages");
  return !within.empty() && *within.begin() != "..";
}

Status LinkSharedPackages(const ProjectBuildPlan& plan, BuildProgress& progress) {
  THEATER_ASSIGN_OR_RETURN(std::string lock, ReadFileText(plan.dir / "package-lock.json",
                                                          "package-lock.json", kMaxLockBytes));
  const std::string digest = Sha256Hex(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(lock.data()), lock.size()));
  const fs::path shared = plan.home / "js-packages" / digest.substr(0, 16);
  std::error_code ec;
  fs::create_directories(shared, ec);
  if (ec) return IOError("creating " + shared.string() + ": " + ec.message());
  {
    // One build installs them; another one at the same time waits, then finds them there.
    THEATER_ASSIGN_OR_RETURN(
        std::unique_ptr<FileLock> held, FileLock::Acquire(shared / ".lock", [&] {
          progress.Stage("waiting for another build installing " + shared.string());
        }));
    progress.Finish();
    if (NeedsInstall(shared)) {
      THEATER_ASSIGN_OR_RETURN(std::string package, PackageJsonOfLock(lock));
      THEATER_RETURN_IF_ERROR(WriteProjectFile(shared / "package.json", package));
      THEATER_RETURN_IF_ERROR(WriteProjectFile(shared / "package-lock.json", lock));
      THEATER_RETURN_IF_ERROR(InstallPackages(shared, progress));
    }
  }
  fs::remove(plan.dir / "node_modules", ec);  // a link to another lock's set, if any
  fs::create_directory_symlink(shared / "node_modules", plan.dir / "node_modules", ec);
  if (ec) {
    return IOError("linking " + (plan.dir / "node_modules").string() + " to " +
                   (shared / "node_modules").string() + ": " + ec.message());
  }
  if (!plan.quiet) {
    std::cerr << "  node_modules: the packages shared by projects with this lock file, in "
              << (shared / "node_modules").string() << "\n";
  }
  return Status();
}

Result<BuiltProject> BuildJsProject(const ProjectBuildPlan& plan) {
  const auto start = std::chrono::steady_clock::now();
  THEATER_ASSIGN_OR_RETURN(fs::path node, FindTool("node"));
  BuildProgress progress(plan.quiet);
  if (NeedsInstall(plan.dir)) {
    if (SharesPackages(plan)) {
      THEATER_RETURN_IF_ERROR(LinkSharedPackages(plan, progress));
    } else {
      THEATER_RETURN_IF_ERROR(InstallPackages(plan.dir, progress));
    }
  }
  const EmbeddedFile* driver = FindEmbeddedFile(EmbeddedTemplateJs(), "build.mjs");
  if (driver == nullptr) return InternalError("the JavaScript build driver is not embedded");
  THEATER_RETURN_IF_ERROR(WriteProjectFile(plan.dir / kDriverPath, driver->contents));

  std::vector<std::string> argv = plan.command;
  argv.front() = node.string();
  // The driver names each stage as it begins; each one's time is kept for the next build's
  // estimate.
  const std::map<std::string, std::chrono::milliseconds> last_times =
      ReadStageTimes(StageTimesPath(plan));
  std::map<std::string, std::chrono::milliseconds> times;
  std::string stage;
  const auto end_stage = [&] {
    const std::chrono::milliseconds took = progress.Finish();
    if (!stage.empty()) times[stage] = took;
  };
  const auto last_time = [&](const std::string& name) {
    const auto last = last_times.find(name);
    return last != last_times.end() ? std::optional<std::chrono::milliseconds>(last->second)
                                    : std::nullopt;
  };
  LineSplitter lines;
  const engine::OutputWatch watch = [&](std::string_view output) {
    lines.Feed(output, [&](std::string_view line) {
      if (line.starts_with(kStageMarker)) {
        end_stage();
        stage = std::string(line.substr(kStageMarker.size()));
        progress.Stage(stage, last_time(stage));
      } else if (line.starts_with(kStageIsMarker) && !stage.empty()) {
        // Its time is kept under the new name: the other kind keeps its own for its estimate.
        stage = std::string(line.substr(kStageIsMarker.size()));
        progress.Rename(stage, last_time(stage));
      }
    });
    progress.Tick();
  };
  THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult run,
                           engine::RunSubprocess(argv, plan.dir, kDriverTimeout, nullptr, watch));
  run.output = WithoutProgressLines(run.output);
  if (!run.ok()) return BuildToolFailed("building " + plan.output.filename().string(), run);
  end_stage();
  // The stages this build did not run (a type check, in a JavaScript project) keep their times.
  std::map<std::string, std::chrono::milliseconds> kept = last_times;
  for (const auto& [name, took] : times) kept[name] = took;
  std::string recorded;
  for (const auto& [name, took] : kept) {
    recorded += name + "\t" + std::to_string(took.count()) + "\n";
  }
  // Only an estimate is lost when this cannot be written.
  WriteProjectFile(StageTimesPath(plan), recorded).IgnoreError();
  return BuiltOutput(plan, start, std::move(run.output));
}

std::string DescribeJsBuild(const ProjectBuildPlan& plan) {
  // --debug has nothing to change here: the bundle is never minified (a thrown Error's stack
  // names the actor's own functions either way) and the engine has one build; said, not hidden.
  return plan.sources.front().lexically_relative(plan.dir).string() +
         " (esbuild, componentize-js, world " + plan.world +
         (plan.profile == BuildProfile::kDebug
              ? "; --debug builds the same: the bundle is never minified, the engine has one build)"
              : ")");
}

}  // namespace

const ProjectFrontEnd kJsFrontEnd = {"package.json", PlanJsBuild, BuildJsProject, DescribeJsBuild};

}  // namespace theater::cli
