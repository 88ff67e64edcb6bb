// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the spawn path's reference resolution: what a spawner (or the manifest a
// server fetched for it) names and how the host turns it into a file, a URL or a store label.
// ClassifyReference and LooksLikeInlineManifest (theater/manifest.h), a manifest's `component`
// and `init_state` resolved against its base by ParseManifest (ResolveReference, manifest.cc),
// ResolveUrl (common/fetch.h), PathIsUnder and LocalReadScope::Open (runtime/local_read_scope.h).
//
// Input: the first byte's low two bits pick the base the reference resolves against: a manifest
// directory (/fuzzbase/pkg/sub), an https URL, a store:// label, or the input's own base (the
// text before a line "%%"; a base that starts with store:// or http(s):// is a URL, anything
// else a directory). The rest is the reference.
//
// Nothing leaves the process: ParseManifest reads no file and fetches nothing, FetchUrl is the
// offline one (support/offline_fetch.h) and the files LocalReadScope opens are a tree the target
// builds in its temp dir (support/temp_dir.h), reached only through relative references whose
// ".." components cannot climb out of that tree, whatever symbolic links they cross.
//
// Invariants checked besides "no crash, no leak, no hang":
//   - ClassifyReference follows the scheme; a store:// or http(s):// reference on one line is
//     never taken for inline manifest text; LooksLikeInlineManifest ignores leading blanks and
//     stays true whatever follows;
//   - a reference over limits::kMaxReferenceBytes is refused;
//   - a resolved reference is at most a bounded multiple of its inputs; an error's message is
//     bounded and quotes what it refuses without control characters or invalid UTF-8;
//   - a store:// or http(s):// reference is kept as written; a file reference under a directory
//     base is lexically normal, lies under the base when it has no "..", and when PathIsUnder
//     says it lies under the base it has no ".." left relative to it;
//   - under a URL base the result is an absolute URL that ResolveUrl maps to itself (against
//     itself and against the base), and a reference without a scheme keeps the base's origin;
//     under a store:// base it is a label of the base's own store;
//   - PathIsUnder agrees with a component-by-component comparison of normal paths;
//   - LocalReadScope::Open opens only files under its directory, never one a symbolic link
//     leads out to.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/fetch.h"
#include "common/utf8.h"
#include "runtime/local_read_scope.h"
#include "support/offline_fetch.h"
#include "support/temp_dir.h"
#include "theater/limits.h"
#include "theater/manifest.h"

namespace {

using namespace theater;
namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "\n%%\n";
constexpr std::string_view kFileBase = "/fuzzbase/pkg/sub";
constexpr std::string_view kUrlBase = "https://example.com/pkgs/app/manifest.toml";
constexpr std::string_view kStoreBase = "store://0123abcd/app-manifest";
// Above the scope's directory, so many levels that the ".." a reference may hold (kMaxDotDots)
// never climb out of the target's temp dir, symbolic links or not.
constexpr int kPadding = 8;
constexpr int kMaxDotDots = kPadding;

[[noreturn]] void Fail(const std::string& what) {
  fprintf(stderr, "reference_fuzz: %s\n", what.c_str());
  __builtin_trap();
}

// Whether an error's message may be shown as one line of text: valid UTF-8 without control
// characters (a hostile reference quoted raw could forge lines or drive a terminal) and at most
// `max_bytes`.
void CheckMessage(const Status& status, size_t max_bytes, std::string_view where) {
  const std::string& message = status.message();
  bool control = false;
  for (char c : message) control |= static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  if (control || !IsValidUtf8(message)) {
    Fail(std::string(where) +
         ": an error quotes control characters or invalid UTF-8: " + QuoteInput(message, 300));
  }
  if (message.size() > max_bytes) {
    Fail(std::string(where) + ": an error of " + std::to_string(message.size()) + " bytes");
  }
}

// `text` as a TOML basic string.
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      snprintf(escaped, sizeof escaped, "\\u%04x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The components of a path, without the empty one a trailing separator leaves.
std::vector<std::string> Components(const fs::path& path) {
  std::vector<std::string> out;
  for (const fs::path& part : path) {
    if (!part.empty()) out.push_back(part.string());
  }
  return out;
}

bool HasDotDot(const fs::path& path) {
  for (const fs::path& part : path) {
    if (part == "..") return true;
  }
  return false;
}

// `text` as a resolved absolute path looks: "/" and its names joined by single separators ("."
// and ".." applied, as the kernel would), with a trailing separator when asked.
fs::path ResolvedForm(std::string_view text, bool trailing) {
  std::vector<std::string_view> names;
  while (!text.empty()) {
    const size_t slash = text.find('/');
    const std::string_view name = text.substr(0, slash);
    text.remove_prefix(slash == std::string_view::npos ? text.size() : slash + 1);
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      if (!names.empty()) names.pop_back();
      continue;
    }
    names.push_back(name);
  }
  std::string out = "/";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '/';
    out += names[i];
  }
  if (trailing && !names.empty()) out += '/';
  return fs::path(out);
}

// PathIsUnder's contract on resolved paths: the root's components begin the path's.
void CheckPathIsUnder(const fs::path& path, const fs::path& root) {
  const std::vector<std::string> p = Components(path);
  const std::vector<std::string> r = Components(root);
  const bool expected = r.size() <= p.size() && std::equal(r.begin(), r.end(), p.begin());
  if (runtime::PathIsUnder(path, root) != expected) {
    Fail("PathIsUnder('" + path.string() + "', '" + root.string() + "') is " +
         (expected ? "false" : "true"));
  }
}

// A URL's scheme and authority ("https://example.com"), or empty.
std::string_view Origin(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const size_t path = url.find_first_of("/?#", scheme + 3);
  return url.substr(0, path);
}

// Whether `text` starts with a URL scheme (RFC 3986: a letter, then letters, digits, + - .,
// then ':').
bool HasScheme(std::string_view text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return false;
  for (size_t i = 1; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ':') return true;
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

void CheckClassification(std::string_view reference) {
  const ReferenceKind kind = ClassifyReference(reference);
  const ReferenceKind expected =
      reference.starts_with("store://") ? ReferenceKind::kStore
      : reference.starts_with("http://") || reference.starts_with("https://")
          ? ReferenceKind::kUrl
          : ReferenceKind::kFile;
  if (kind != expected) Fail("ClassifyReference misreads the scheme");
  const bool inline_text = LooksLikeInlineManifest(reference);
  const bool one_line = reference.find('\n') == std::string_view::npos;
  if (!one_line && !inline_text) Fail("text with a newline is not taken for a manifest");
  if (one_line && kind != ReferenceKind::kFile && inline_text) {
    Fail("a store:// or http(s):// reference is taken for inline manifest text");
  }
  if (LooksLikeInlineManifest(" \t" + std::string(reference)) != inline_text) {
    Fail("LooksLikeInlineManifest depends on leading blanks");
  }
  if (inline_text && !LooksLikeInlineManifest(std::string(reference) + "x = 1")) {
    Fail("LooksLikeInlineManifest changes its mind on what follows");
  }
}

// The scope's tree, built once: <pad...>/root/{inside.txt, sub/deep.txt, link-in -> sub,
// link-out -> ../outside, file-out -> ../outside/secret.txt} and <pad...>/outside/secret.txt.
struct ScopeTree {
  fs::path root;
  runtime::LocalReadScope scope{"the fuzzer's rule"};
  ScopeTree() {
    fs::path top = fuzz::FreshSubdir("reference_scope");
    for (int i = 0; i < kPadding; ++i) top /= "p" + std::to_string(i);
    root = top / "root";
    fs::create_directories(root / "sub");
    fs::create_directories(top / "outside");
    std::ofstream(root / "inside.txt") << "inside";
    std::ofstream(root / "sub" / "deep.txt") << "inside";
    std::ofstream(top / "outside" / "secret.txt") << "secret";
    fs::create_directory_symlink("sub", root / "link-in");
    fs::create_directory_symlink("../outside", root / "link-out");
    fs::create_symlink("../outside/secret.txt", root / "file-out");
    root = fs::canonical(root);
    scope.AddDirectory(root);
    if (scope.size() != 1) Fail("cannot open the scope's directory");
  }
};

ScopeTree& Tree() {
  static ScopeTree* tree = new ScopeTree();  // for the whole process
  return *tree;
}

// LocalReadScope::Open on `reference` below the tree's root, when it is a relative path whose
// ".." stay within the tree's padding.
void CheckScope(std::string_view reference) {
  if (reference.empty() || reference.front() == '/' ||
      reference.find('\0') != std::string_view::npos) {
    return;
  }
  int dot_dots = 0;
  for (const fs::path& part : fs::path(reference)) dot_dots += part == "..";
  if (dot_dots > kMaxDotDots) return;
  ScopeTree& tree = Tree();
  const std::string path = (tree.root / fs::path(reference)).string();
  Result<runtime::LocalReadScope::OpenedFile> opened = tree.scope.Open(path, "reference");
  if (!opened.ok()) return;
  if (!runtime::PathIsUnder(fs::path(opened->path), tree.root)) {
    Fail("LocalReadScope opened '" + opened->path + "', outside its directory");
  }
  char head[6] = {};
  if (::pread(opened->fd.get(), head, sizeof head, 0) == 6 &&
      std::string_view(head, 6) == "secret") {
    Fail("LocalReadScope opened a file outside its directory through '" + std::string(reference) +
         "'");
  }
}

void CheckResolved(const std::string& reference, const std::string& base, bool url_base,
                   bool store_base, ReferenceKind kind, const std::string& resolved) {
  const size_t bound = 3 * (reference.size() + base.size()) + 64;
  if (resolved.size() > bound) Fail("a resolved reference of " + std::to_string(resolved.size()));
  const ReferenceKind classified = ClassifyReference(reference);
  if (classified != ReferenceKind::kFile) {
    if (kind != classified || resolved != reference) Fail("a store/URL reference was rewritten");
    return;
  }
  if (store_base) {
    std::string_view rest = std::string_view(base).substr(8);
    const std::string expected =
        "store://" + std::string(rest.substr(0, rest.find('/'))) + "/" + reference;
    if (kind != ReferenceKind::kStore || resolved != expected) {
      Fail("a label under " + base + " resolved to " + resolved);
    }
    return;
  }
  if (url_base) {
    if (kind != ReferenceKind::kUrl) Fail("a reference under a URL is not a URL");
    Result<std::string> again = ResolveUrl(resolved, resolved);
    if (!again.ok() || *again != resolved) {
      Fail("ResolveUrl('" + resolved +
           "') is not itself: " + (again.ok() ? *again : again.status().ToString()));
    }
    Result<std::string> from_base = ResolveUrl(base, resolved);
    if (!from_base.ok() || *from_base != resolved) {
      Fail("'" + resolved + "' against its base is not itself");
    }
    Result<std::string> base_itself = ResolveUrl(base, base);
    if (!HasScheme(reference) && base_itself.ok() && Origin(resolved) != Origin(*base_itself)) {
      Fail("'" + reference + "' under " + base + " left the base's origin: " + resolved);
    }
    return;
  }
  if (kind != ReferenceKind::kFile) Fail("a path became something else");
  const fs::path path(resolved);
  if (path.lexically_normal() != path) Fail("'" + resolved + "' is not lexically normal");
  // PathIsUnder is given resolved paths: a base that is not one ("//", whose one component
  // libstdc++ calls "//") is the runtime's to resolve first.
  const fs::path base_dir = fs::path(base).lexically_normal();
  const std::string& base_text = base_dir.string();
  if (base_dir.empty() || fs::path(reference).is_absolute() ||
      base_text != ResolvedForm(base_text, base_text.ends_with('/')).string()) {
    return;
  }
  CheckPathIsUnder(path, base_dir);
  const bool under = runtime::PathIsUnder(path, base_dir);
  if (under && HasDotDot(path.lexically_relative(base_dir))) {
    Fail("'" + resolved + "' is said to be under " + base + " but climbs out of it");
  }
  if (!HasDotDot(fs::path(reference)) && !under) {
    Fail("'" + reference + "' without '..' resolved outside its base: " + resolved);
  }
}

void CheckManifest(const std::string& reference, const std::string& base) {
  const bool store_base = base.starts_with("store://");
  const bool url_base =
      !store_base && (base.starts_with("http://") || base.starts_with("https://"));
  const std::string text = "name = \"fuzz\"\ncomponent = " + TomlString(reference) +
                           "\ninit_state = " + TomlString(reference) + "\n";
  Result<Manifest> m = ParseManifest(text, url_base || store_base ? fs::path() : fs::path(base),
                                     "fuzz.toml", url_base || store_base ? base : std::string());
  if (!m.ok()) {
    // A reference TOML could carry (valid UTF-8) is refused with a message that quotes it safely.
    if (IsValidUtf8(reference) && IsValidUtf8(base))
      CheckMessage(m.status(), 2048, "ParseManifest");
    return;
  }
  if (reference.size() > limits::kMaxReferenceBytes) {
    Fail("a reference of " + std::to_string(reference.size()) + " bytes was accepted");
  }
  CheckResolved(reference, base, url_base, store_base, m->component_kind, m->component);
  if (!m->init_state || m->init_state_kind != m->component_kind || *m->init_state != m->component) {
    Fail("init_state and component, the same reference, resolved differently");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Nothing may fetch; were a reference fetched after all, it would fail here, not go out.
  static const bool offline = [] {
    fuzz::SetOfflineResponder({});
    return true;
  }();
  (void)offline;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string base;
  switch (data[0] & 3) {
    case 0:
      base = kFileBase;
      break;
    case 1:
      base = kUrlBase;
      break;
    case 2:
      base = kStoreBase;
      break;
    default:
      if (const size_t at = rest.find(kSeparator); at != std::string_view::npos) {
        base = rest.substr(0, at);
        rest.remove_prefix(at + kSeparator.size());
      }
      break;
  }
  const std::string reference(rest);

  CheckClassification(reference);
  if (!reference.empty()) CheckManifest(reference, base);
  if (base.size() <= limits::kMaxReferenceBytes && reference.size() <= limits::kMaxReferenceBytes) {
    // ResolveUrl on any base: what it returns is an absolute URL that maps to itself.
    Result<std::string> url = ResolveUrl(base, reference);
    if (!url.ok()) CheckMessage(url.status(), 1024, "ResolveUrl");
    if (url.ok()) {
      if (url->size() > 3 * (base.size() + reference.size()) + 64) Fail("ResolveUrl grew");
      Result<std::string> again = ResolveUrl(*url, *url);
      if (!again.ok() || *again != *url) Fail("ResolveUrl('" + *url + "') is not itself");
    }
  }
  // PathIsUnder on the two halves of the input, as the resolved paths it is given (a root with
  // or without a trailing separator).
  if (reference.find('\0') == std::string::npos) {
    const size_t half = reference.size() / 2;
    const bool trailing = reference.size() % 2 == 1;
    CheckPathIsUnder(ResolvedForm(reference.substr(0, half), false),
                     ResolvedForm(reference.substr(half), trailing));
    CheckPathIsUnder(ResolvedForm(reference, false),
                     ResolvedForm(reference.substr(0, half), trailing));
  }
  if (reference.size() <= limits::kMaxReferenceBytes) CheckScope(reference);
  return 0;
}
