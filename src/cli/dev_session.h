// Theater: a WebAssembly actor runtime.
//
// `theater dev`'s loop (docs/cli.md, "theater dev"): it watches an actor project's files, and on
// each save rebuilds the project and puts the new component into the running actor — in place,
// its state kept, as `theater update` does, or by a restart with fresh state when the state
// cannot carry over (the manifest changed, the update was refused, the actor is not running),
// saying which. A build that fails prints the compiler's errors and leaves the last good
// version running. Where the actor runs is a DevTarget: an embedded runtime in this process,
// or a management server.
//
// Thread-safety: the loop and its target are used from the command's thread. Ownership: the
// loop borrows the target and the context.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "cli/project_build.h"
#include "theater/status.h"

namespace theater::cli {

class CommandContext;

// Where `theater dev` runs the actor. Every call may print what the actor logged meanwhile.
class DevTarget {
 public:
  virtual ~DevTarget() = default;
  // "the embedded runtime", "server 127.0.0.1:9000": for the lines the loop prints.
  virtual std::string Where() const = 0;
  // Starts the actor from `manifest` (an absolute path); its log lines are printed from now on.
  [[nodiscard]] virtual Status Start(const std::filesystem::path& manifest) = 0;
  // Whether the actor still runs (it may have failed or stopped itself); the target prints why
  // it ended the first time it sees that it has.
  virtual bool Running() = 0;
  // Replaces the running actor's component with `component` (an absolute path), keeping its
  // state. Errors: the runtime refused the new component; the old one keeps running.
  [[nodiscard]] virtual Status Update(const std::filesystem::path& component) = 0;
  // Starts the actor again from its manifest, with fresh state (the chain goes on).
  [[nodiscard]] virtual Status Restart() = 0;
  // Prints what the actor logged, waiting up to `wait` for something to come.
  virtual void Pump(std::chrono::milliseconds wait) = 0;
  // Stops the actor (the end of the session).
  virtual void Stop() = 0;
};

struct DevOptions {
  std::filesystem::path dir;  // the project (holds manifest.toml)
  // How long the files must stay quiet after a change before the build starts: an editor's save
  // is often several writes, and a `git checkout` many.
  std::chrono::milliseconds quiet{150};
};

// Builds the project when its component is missing or older than a source, starts the actor
// on `target`, and rebuilds and updates it on each change until Ctrl-C. Returns the exit code:
// 130 after Ctrl-C (as every command that runs until interrupted), 1 when the first build or
// start failed or the files cannot be watched.
int RunDevLoop(const CommandContext& ctx, const DevOptions& options, DevTarget& target);

}  // namespace theater::cli
