// Theater: a WebAssembly actor runtime.
//
// TestDir: a fresh, empty directory for the running gtest test, named after the test, the process
// and a sequence number (so that parallel test processes, and two TestDirs in one test, never
// share one) under the system's temporary directory, and removed with everything in it when the
// object goes away. Test-only.
//
// Thread-safety: construct on the test's thread (it reads gtest's current test); path() may be
// read from any thread. Ownership: owns the directory tree.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace theater::testing_util {

class TestDir {
 public:
  // `prefix` says which suite's files these are, e.g. "theater-pack".
  explicit TestDir(std::string_view prefix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterised tests
    }
    path_ = std::filesystem::temp_directory_path() /
            (std::string(prefix) + "-" + std::to_string(getpid()) + "-" +
             std::to_string(next_.fetch_add(1)) + "-" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  static inline std::atomic<uint64_t> next_{0};
  std::filesystem::path path_;
};

}  // namespace theater::testing_util
