// Theater: a WebAssembly actor runtime.
//
// What the tests of code that starts programs (the process handler, filesystem commands, the
// module compiler through the CLI) ask about other processes, from /proc: whether one is alive,
// whether a process group still has a live member, which processes work in a directory. Every
// process looked at may exit while it is looked at, so nothing here throws: a file of an exited
// process reads as "" (theater::ReadFileText), and the process counts as gone.
// Test-only, header-only.
#pragma once

#include <sys/types.h>

#include <cctype>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "common/bytes.h"

namespace theater::testing_util {

// The state letter and the process group of `pid`, from /proc/<pid>/stat; false when it cannot be
// read (the process is gone).
inline bool ReadProcessStat(const std::string& pid, char* state, long* pgrp) {
  const std::string stat =
      theater::ReadFileText(std::filesystem::path("/proc") / pid / "stat").value_or("");
  // The command name, in parentheses, may hold spaces and parentheses: the fields follow the last.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  std::istringstream rest(stat.substr(close + 2));
  long ppid = 0;
  return static_cast<bool>(rest >> *state >> ppid >> *pgrp);
}

// Whether `pid` is a live process: not gone, not a zombie.
inline bool ProcessAlive(pid_t pid) {
  char state = 0;
  long pgrp = 0;
  return ReadProcessStat(std::to_string(pid), &state, &pgrp) && state != 'Z' && state != 'X';
}

// Whether any live (not zombie) process is in process group `pgid`. kill(2) would also find
// zombies, and an orphaned member killed with its group may stay a zombie until whoever adopted
// it reaps it (in a container, a PID 1 that never does).
inline bool GroupAlive(pid_t pgid) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    char state = 0;
    long pgrp = 0;
    if (ReadProcessStat(name, &state, &pgrp) && pgrp == pgid && state != 'Z' && state != 'X') {
      return true;
    }
  }
  return false;
}

// The names ("sleep", "cc1", ...) of the live processes whose working directory is `dir` or lies
// under it; none when `dir` does not exist (yet, or any more).
inline std::vector<std::string> ProcessesWorkingUnder(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::canonical(dir, ec);
  if (ec) return found;
  // With the separator: a sibling directory whose name merely starts with dir's is not under it.
  const std::string prefix = canonical.string() + "/";
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string pid = it->path().filename().string();
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    std::error_code link_ec;
    const std::filesystem::path cwd = std::filesystem::read_symlink(it->path() / "cwd", link_ec);
    if (link_ec || !(cwd.string() + "/").starts_with(prefix)) continue;
    std::string name = theater::ReadFileText(it->path() / "comm").value_or("");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (!name.empty()) found.push_back(name);  // empty: it exited meanwhile
  }
  return found;
}

}  // namespace theater::testing_util
