// Theater: a WebAssembly actor runtime.
#include "cli/rust_build.h"

#include <toml++/toml.h>

#include <algorithm>

#include "cli/rust_toolchain.h"
#include "common/bytes.h"
#include "engine/compile/subprocess.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

// A Cargo.toml of a project of ours is a few hundred bytes.
constexpr size_t kMaxCargoTomlBytes = 1 << 20;
// A first build of a small actor takes seconds; this bounds a hung cargo only.
constexpr std::chrono::minutes kCargoTimeout{30};

// The crate's name as Cargo spells its artifacts: '-' becomes '_'.
Result<std::string> CrateName(const fs::path& cargo_toml) {
  THEATER_ASSIGN_OR_RETURN(std::string text,
                           ReadFileText(cargo_toml, "Cargo.toml", kMaxCargoTomlBytes));
  try {
    toml::table root = toml::parse(text, cargo_toml.string());
    std::optional<std::string> name = root["package"]["name"].value<std::string>();
    if (!name || name->empty()) {
      return InvalidArgument(cargo_toml.string() + ": [package] has no name");
    }
    std::string artifact = *name;
    std::replace(artifact.begin(), artifact.end(), '-', '_');
    return artifact;
  } catch (const toml::parse_error& e) {
    return ParseError(cargo_toml.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
}

void AddRustFiles(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".rs") out.push_back(it->path());
  }
}

Status PlanRustBuild(ProjectBuildPlan& plan) {
  const fs::path cargo_toml = plan.dir / "Cargo.toml";
  THEATER_ASSIGN_OR_RETURN(std::string crate, CrateName(cargo_toml));
  std::error_code ec;
  if (!fs::is_regular_file(plan.dir / "src" / "lib.rs", ec)) {
    return NotFound("no src/lib.rs in " + plan.dir.string() +
                    " (an actor is a library crate: [lib] crate-type = [\"cdylib\"])");
  }
  plan.front_end = &kRustFrontEnd;
  plan.lang = Lang::kRust;
  plan.sources.clear();
  AddRustFiles(plan.dir / "src", plan.sources);
  AddRustFiles(plan.dir / "bindings", plan.sources);
  std::sort(plan.sources.begin(), plan.sources.end());
  plan.sources.push_back(cargo_toml);
  const bool release = plan.profile == BuildProfile::kRelease;
  // The toolchain (which cargo, which target) is found when the build runs: finding it starts
  // processes, and a plan needs only the file system.
  plan.command = {"cargo",    "build", "--offline", "--message-format", "short",
                  "--manifest-path", cargo_toml.string()};
  if (release) plan.command.push_back("--release");
  // Under target/<target>/; the target is known once the toolchain is.
  plan.artifact = fs::path(release ? "release" : "debug") / (crate + ".wasm");
  return Status();
}

Result<BuiltProject> BuildRustProject(const ProjectBuildPlan& plan) {
  const auto start = std::chrono::steady_clock::now();
  THEATER_ASSIGN_OR_RETURN(RustToolchain toolchain, FindRustToolchain(plan.dir));
  std::vector<std::string> argv = plan.command;
  argv.front() = toolchain.cargo.string();
  // The rustc that was probed builds (not whichever rustc is first on PATH); the target given
  // here overrides the one in the project's .cargo/config.toml.
  const std::string rustc_config = "build.rustc=\"" + toolchain.rustc.string() + "\"";
  argv.insert(argv.begin() + 2, {"--target", toolchain.target, "--config", rustc_config});
  const fs::path artifact = plan.dir / "target" / toolchain.target / plan.artifact;
  THEATER_ASSIGN_OR_RETURN(engine::SubprocessResult run,
                           engine::RunSubprocess(argv, plan.dir, kCargoTimeout));
  if (!run.ok()) return BuildToolFailed("cargo", run);
  std::error_code ec;
  if (!fs::is_regular_file(artifact, ec)) {
    return NotFound("cargo succeeded but left no " + artifact.string() +
                    " (is the crate type cdylib?)");
  }
  if (!plan.output.parent_path().empty()) fs::create_directories(plan.output.parent_path(), ec);
  fs::copy_file(artifact, plan.output, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return IOError("copying " + artifact.string() + " to " + plan.output.string() + ": " +
                   ec.message());
  return BuiltOutput(plan, start, std::move(run.output));
}

std::string DescribeRustBuild(const ProjectBuildPlan& plan) {
  return std::string("src/lib.rs (cargo, ") +
         (plan.profile == BuildProfile::kRelease ? "release" : "debug") + ")";
}

}  // namespace

const ProjectFrontEnd kRustFrontEnd = {"Cargo.toml", PlanRustBuild, BuildRustProject,
                                       DescribeRustBuild};

}  // namespace theater::cli
