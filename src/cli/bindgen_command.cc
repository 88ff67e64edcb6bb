// Theater: a WebAssembly actor runtime.
//
// `theater bindgen <wit-path> [--world W] [--lang c|cpp|rust|ts] [--out DIR]`: writes C, C++ or
// Rust guest bindings, or TypeScript declarations, for a WIT world (src/abi/bindgen/,
// docs/bindgen.md).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "abi/bindgen/bindgen.h"
#include "cli/cli_app.h"
#include "cli/context.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

struct BindgenArgs {
  std::string wit_path;
  std::string world;
  std::string lang = "c";
  std::string out_dir = ".";
};

Status WriteFile(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return IOError("writing " + path.string());
  return Status();
}

int Bindgen(CommandContext& ctx, const BindgenArgs& args) {
  const Output& out = ctx.out();
  const bindgen::Language language = args.lang == "cpp"    ? bindgen::Language::kCpp
                                     : args.lang == "ts"   ? bindgen::Language::kTypeScript
                                     : args.lang == "rust" ? bindgen::Language::kRust
                                                           : bindgen::Language::kC;
  THEATER_ASSIGN_OR_RETURN_EXIT(wit::Package package, bindgen::LoadWit(args.wit_path), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::vector<bindgen::GeneratedFile> files,
                                bindgen::Generate(package, args.world, language), out);
  std::error_code ec;
  fs::create_directories(args.out_dir, ec);
  if (ec) return out.Error(IOError("creating " + args.out_dir + ": " + ec.message()));
  json written = json::array();
  for (const bindgen::GeneratedFile& file : files) {
    const fs::path path = fs::path(args.out_dir) / file.name;
    if (Status status = WriteFile(path, file.contents); !status.ok()) return out.Error(status);
    written.push_back(path.string());
    if (!out.json()) std::cout << path.string() << "\n";
  }
  if (out.json()) out.PrintJson({{"files", written}, {"lang", args.lang}});
  return kExitOk;
}

}  // namespace

void AddBindgenCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<BindgenArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bindgen",
      "Generate C, C++ or Rust guest bindings, or TypeScript declarations, for a WIT world "
      "(see docs/bindgen.md)");
  cmd->add_option("wit-path", args->wit_path, "A .wit file, or a directory of .wit files")
      ->required();
  cmd->add_option("-w,--world", args->world,
                  "The world to generate (optional when the package has exactly one)");
  cmd->add_option(
         "-l,--lang", args->lang,
         "Language: c (<w>.h, <w>.c), cpp (<w>.hpp, <w>.cpp), rust (<w>.rs) or ts (<w>.d.ts, "
         "for actors in JavaScript or TypeScript)")
      ->check(CLI::IsMember({"c", "cpp", "rust", "ts"}))
      ->capture_default_str();
  cmd->add_option("-o,--out", args->out_dir, "Output directory (created if missing)")
      ->capture_default_str();
  commands.Add(cmd, [args](CommandContext& ctx) { return Bindgen(ctx, *args); });
}

}  // namespace theater::cli
