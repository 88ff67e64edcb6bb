// Theater: a WebAssembly actor runtime.
//
// What the process handler's tests share: whether a process group still has a live member.
// Test-only, header-only.
#pragma once

#include <sys/types.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace theater::testing_util {

// Whether any live (not zombie) process is in process group `pgid`, from /proc. kill(2) would
// also find zombies, and an orphaned member killed with its group may stay a zombie until
// whoever adopted it reaps it (in a container, a PID 1 that never does).
inline bool GroupAlive(pid_t pgid) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 > stat.size()) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X') return true;
  }
  return false;
}

}  // namespace theater::testing_util
