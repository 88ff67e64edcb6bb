// Theater: a WebAssembly actor runtime.
//
// Building an actor project written in JavaScript or TypeScript (what `theater create --lang
// js|ts` writes): a package.json whose "theater" object names the entry and the WIT world. The
// build runs Node.js tools, each under the spawn shim (engine/compile/subprocess.h), so they die
// with the command:
//   1. the packages, unless node_modules was installed from this package-lock.json: a project
//      with no node_modules links it to the packages every project with the same lock file
//      shares ($THEATER_HOME/js-packages/<digest of the lock>/node_modules, installed by the
//      first such build), one with a node_modules directory of its own gets `npm ci` there (both
//      from npm's cache when it holds every package: --prefer-offline);
//   2. the build driver (templates/js/build.mjs, embedded, written to .theater/build.mjs):
//      TypeScript type check, esbuild bundle, componentize-js with no optional WASI capability.
// Each stage shows its progress (build_progress.h): npm ci the packages it has fetched of those
// the lock lists, the driver's stages their time and, from the project's last build, about how
// long they have left. Errors from either are shown as the tools print them (file:line:column
// first).
//
// Thread-safety: reentrant. Ownership: plain values.
#pragma once

#include "cli/project_build.h"

namespace theater::cli {

// The front-end for a directory holding a package.json (then it is a JavaScript project, or a
// broken one). Planning errors: a package.json that is not JSON or lacks
// "theater": {"entry", "world"}, a missing entry, a world the project's wit/ does not have.
// Building runs npm ci when needed (saying so on stderr), then the driver; errors: node or npm
// missing (kUnavailable, naming the packages), npm ci failing (kUnavailable: the registry or the
// cache), the build failing (kFailedPrecondition with the tools' output).
extern const ProjectFrontEnd kJsFrontEnd;

}  // namespace theater::cli
