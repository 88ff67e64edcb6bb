// Theater: a WebAssembly actor runtime.
#include "server/manifest_access.h"

#include <algorithm>
#include <optional>
#include <system_error>

#include "common/utf8.h"
#include "runtime/local_read_scope.h"
#include "theater/manifest.h"

namespace theater::server {

namespace fs = std::filesystem;

ManifestForm ClassifyManifest(std::string_view manifest) {
  if (LooksLikeInlineManifest(manifest)) return ManifestForm::kInline;
  switch (ClassifyReference(manifest)) {
    case ReferenceKind::kStore:
      return ManifestForm::kStore;
    case ReferenceKind::kUrl:
      return ManifestForm::kUrl;
    case ReferenceKind::kFile:
      break;
  }
  return ManifestForm::kFile;
}

Result<ManifestRoots> ManifestRoots::Create(const std::vector<fs::path>& roots) {
  ManifestRoots out;
  for (const fs::path& root : roots) {
    std::error_code ec;
    fs::path resolved = fs::canonical(root, ec);
    if (ec || !fs::is_directory(resolved, ec)) {
      return InvalidArgument("manifest root '" + root.string() + "' is not a directory");
    }
    out.roots_.push_back(std::move(resolved));
  }
  return out;
}

std::optional<fs::path> ManifestRoots::ResolveUnderRoot(std::string_view path) const {
  if (roots_.empty() || path.empty() || path.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::error_code ec;
  fs::path resolved = fs::canonical(fs::path(path), ec);
  if (ec) return std::nullopt;
  if (!fs::is_regular_file(resolved, ec) || ec) return std::nullopt;
  const bool under = std::any_of(roots_.begin(), roots_.end(), [&](const fs::path& root) {
    return runtime::PathIsUnder(resolved, root);
  });
  if (!under) return std::nullopt;
  return resolved;
}

Result<std::string> ManifestRoots::Admit(std::string_view path) const {
  const std::string refused =
      roots_.empty()
          ? "StartActor: this server has no manifest root, so a client beyond loopback may not "
            "name a manifest file (" +
                QuoteInput(path) +
                "); send the manifest's content or a store:// reference instead (or start the "
                "server with --manifest-root DIR)"
          : "StartActor: a client beyond loopback may name only manifest files under the "
            "server's manifest roots (--manifest-root), and " +
                QuoteInput(path) +
                " is not one; send the manifest's content or a store:// reference instead";
  std::optional<fs::path> resolved = ResolveUnderRoot(path);
  // The resolved path must still read as a path (a target whose name looks like TOML would not).
  if (!resolved || ClassifyManifest(resolved->string()) != ManifestForm::kFile) {
    return PermissionDenied(refused);
  }
  return resolved->string();
}

std::string ManifestRoots::Rule() const {
  return std::string(
             "a client beyond loopback may have the server read only files under its "
             "manifest roots (--manifest-root") +
         (roots_.empty() ? ": this server has none" : "") +
         "); use a store:// or http(s):// reference instead";
}

LocalReadRoots ManifestRoots::ReadRoots() const {
  return LocalReadRoots{roots_, Rule()};
}

Result<std::string> ManifestRoots::AdmitReferenced(std::string_view path,
                                                   std::string_view what) const {
  std::optional<fs::path> resolved = ResolveUnderRoot(path);
  if (resolved) return resolved->string();
  return PermissionDenied("the " + std::string(what) + " " + QuoteInput(path) +
                          " is a file on the server's machine, and " + Rule());
}

}  // namespace theater::server
