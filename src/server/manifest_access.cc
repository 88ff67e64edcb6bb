// Theater: a WebAssembly actor runtime.
#include "server/manifest_access.h"

#include <algorithm>
#include <optional>
#include <system_error>

namespace theater::server {
namespace {

namespace fs = std::filesystem;

bool IsKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// What `^\s*[A-Za-z0-9_-]+\s*=` matched in the runtime's check, for text without a newline
// (which is inline already): \s is then a space, tab, carriage return, vertical tab or form feed.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool StartsWithKeyLine(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && IsSpace(text[i])) ++i;
  const size_t key = i;
  while (i < text.size() && IsKeyChar(text[i])) ++i;
  if (i == key) return false;
  while (i < text.size() && IsSpace(text[i])) ++i;
  return i < text.size() && text[i] == '=';
}

// Whether `path` is `root` or lies below it (both resolved), compared component by component.
bool IsUnder(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

// The client's text as the error quotes it: its own words, shortened.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 200;
  std::string out(text.substr(0, kMax));
  if (text.size() > kMax) out += "…";
  return "'" + out + "'";
}

}  // namespace

ManifestForm ClassifyManifest(std::string_view manifest) {
  if (manifest.find('\n') != std::string_view::npos) return ManifestForm::kInline;
  const size_t start = manifest.find_first_not_of(" \t");
  if (start != std::string_view::npos) {
    if (manifest[start] == '[') return ManifestForm::kInline;
    if (StartsWithKeyLine(manifest)) return ManifestForm::kInline;
  }
  if (manifest.starts_with("store://")) return ManifestForm::kStore;
  if (manifest.starts_with("http://") || manifest.starts_with("https://")) {
    return ManifestForm::kUrl;
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
  const bool under = std::any_of(roots_.begin(), roots_.end(),
                                 [&](const fs::path& root) { return IsUnder(resolved, root); });
  if (!under) return std::nullopt;
  return resolved;
}

Result<std::string> ManifestRoots::Admit(std::string_view path) const {
  const std::string refused =
      roots_.empty()
          ? "StartActor: this server has no manifest root, so a client beyond loopback may not "
            "name a manifest file (" +
                Quote(path) +
                "); send the manifest's content or a store:// reference instead (or start the "
                "server with --manifest-root DIR)"
          : "StartActor: a client beyond loopback may name only manifest files under the "
            "server's manifest roots (--manifest-root), and " +
                Quote(path) +
                " is not one; send the manifest's content or a store:// reference instead";
  std::optional<fs::path> resolved = ResolveUnderRoot(path);
  // The resolved path must still read as a path (a target whose name looks like TOML would not).
  if (!resolved || ClassifyManifest(resolved->string()) != ManifestForm::kFile) {
    return PermissionDenied(refused);
  }
  return resolved->string();
}

Result<std::string> ManifestRoots::AdmitReferenced(std::string_view path,
                                                   std::string_view what) const {
  std::optional<fs::path> resolved = ResolveUnderRoot(path);
  if (resolved) return resolved->string();
  return PermissionDenied(
      "the " + std::string(what) + " " + Quote(path) +
      " is a file on the server's machine, and a client beyond loopback may have the server read "
      "only files under its manifest roots (--manifest-root" +
      (roots_.empty() ? std::string(": this server has none") : std::string()) +
      "); use a store:// or http(s):// reference instead");
}

}  // namespace theater::server
