// Theater: a WebAssembly actor runtime.
//
// Actor project templates for `theater create` and the compiler invocation `theater build`
// shares with the generated Makefiles. The template files (the repository's templates/ folder),
// Theater's WIT (wit/, through the runtime's embedded copy) and the guest SDK headers
// (sdk/c/theater/, for projects made before bindings were generated) are embedded in the binary
// at build time, so a project can be created anywhere. A new project carries Theater's WIT
// (wit/) and the bindings `theater bindgen` generates from it for the template's world
// (bindings/), which keeps it buildable without a Theater source tree.
//
// Thread-safety: pure functions over static data.
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/rust_toolchain.h"
#include "common/embedded_file.h"
#include "theater/status.h"

namespace theater::cli {

// Each project template's files and the C SDK's headers (written by cmake/EmbedFiles.cmake).
std::span<const EmbeddedFile> EmbeddedTemplateBasic();
std::span<const EmbeddedFile> EmbeddedTemplateMessageServer();
std::span<const EmbeddedFile> EmbeddedTemplateSupervisor();
std::span<const EmbeddedFile> EmbeddedTemplateHttpServer();
std::span<const EmbeddedFile> EmbeddedTemplateCommon();
std::span<const EmbeddedFile> EmbeddedTemplateJs();
std::span<const EmbeddedFile> EmbeddedTemplateRust();
std::span<const EmbeddedFile> EmbeddedSdkHeaders();

// The language of a project: C and C++ build with clang-14 (project_build.h); JavaScript and
// TypeScript with Node.js, esbuild and componentize-js (js_build.h); Rust with cargo
// (rust_build.h).
enum class Lang { kC, kCpp, kJs, kTs, kRust };
inline bool IsJsLang(Lang lang) {
  return lang == Lang::kJs || lang == Lang::kTs;
}
Result<Lang> ParseLang(std::string_view text);
// "C", "C++", "JavaScript", "TypeScript", "Rust".
std::string_view LangName(Lang lang);

// "basic", "message-server", "supervisor", "http-server".
std::vector<std::string> TemplateNames();
// The WIT world (of package theater:simple) a template's actor implements: "minimal",
// "message-server-actor", "supervisor-actor", "http-actor". Errors: unknown template.
Result<std::string> TemplateWorld(std::string_view template_name);
// One line per template, "  name  what it is\n", for `theater create --help`.
std::string TemplateSummaries();
// The commands to try a new project of the template after building it, one per line (with a
// comment). Errors: unknown template.
Result<std::string> TemplateNextSteps(std::string_view template_name);

// A file of a project to write: a path relative to the project directory.
struct ProjectFile {
  std::string path;
  std::string contents;
};

// A project name must start with a letter and hold only letters, digits, '-' and '_' (it names
// the .wasm file and the actor). Errors: kInvalidArgument saying why.
Status ValidateProjectName(std::string_view name);
// "my-actor" -> "my_actor".
std::string SnakeCase(std::string_view name);
// Replaces every {{key}} whose key is in `vars`; other text (including unknown {{...}}) stays.
std::string RenderText(std::string_view text, const std::map<std::string, std::string>& vars);

// Where a project keeps its WIT and its generated bindings (declarations for JavaScript),
// relative to the project directory.
inline constexpr std::string_view kProjectWitDir = "wit";
inline constexpr std::string_view kProjectBindingsDir = "bindings";
inline constexpr std::string_view kProjectTypesDir = "types";

// Every file of a new project: manifest.toml, init.json (when the template has one), .gitignore,
// wit/*.wit (Theater's WIT), and
//   C, C++: src/actor.c|cc, Makefile, bindings/<w>.h + <w>.c (C) or bindings/<w>.hpp + <w>.cpp
//           (C++), generated for the template's world;
//   JavaScript, TypeScript: src/actor.js|ts, package.json + package-lock.json (pinned),
//           jsconfig.json or tsconfig.json, README.md, types/<w>.d.ts generated for the world;
//   Rust: src/lib.rs, Cargo.toml, .cargo/config.toml (a plain `cargo build` targets
//           `rust_target`: the one the machine's toolchain has, rust_toolchain.h), README.md,
//           bindings/<w>.rs generated for the world.
// Errors: unknown template, invalid name, and (kInternal) a generator failure.
Result<std::vector<ProjectFile>> RenderProject(
    std::string_view template_name, Lang lang, std::string_view project_name,
    std::string_view rust_target = kDefaultRustWasmTarget);

// The clang flags for building an actor in `lang` (after the target and include flags).
std::vector<std::string> LanguageFlags(Lang lang);
// kRelease: optimised, without the DWARF sections (most of a small actor's bytes: wasi-libc and
// libc++ carry theirs); the name section stays, so traps still name functions. kDebug:
// unoptimised, with debug information.
enum class BuildProfile { kRelease, kDebug };

// The full clang command line to build `sources` into `output`, with `include_dirs` (a
// project's bindings/, or the directory holding the SDK's theater/) as -I flags.
std::vector<std::string> WasmCompileCommand(const std::string& compiler, Lang lang,
                                            const std::vector<std::filesystem::path>& include_dirs,
                                            const std::vector<std::filesystem::path>& sources,
                                            const std::filesystem::path& output,
                                            BuildProfile profile = BuildProfile::kRelease);

}  // namespace theater::cli
