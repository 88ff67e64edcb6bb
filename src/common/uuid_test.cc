// Theater: a WebAssembly actor runtime.
#include "common/uuid.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace theater {
namespace {

bool IsVersion4(const std::string& id) {
  return IsUuid(id) && id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' ||
                                         id[19] == 'b');
}

TEST(UuidTest, RandomUuidsAreVersion4AndDiffer) {
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_TRUE(IsVersion4(a)) << a;
  EXPECT_TRUE(IsVersion4(b)) << b;
  EXPECT_NE(a, b);
}

// Makes `each` ids on each of `threads` threads at once and checks that all are version-4
// shaped and none repeats.
void ExpectDistinctAcrossThreads(std::string (*make)(), int threads, int each) {
  std::vector<std::vector<std::string>> made(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&made, make, each, t] {
      for (int i = 0; i < each; ++i) made[t].push_back(make());
    });
  }
  for (std::thread& t : running) t.join();
  std::set<std::string> seen;
  for (const auto& ids : made) {
    for (const std::string& id : ids) {
      ASSERT_TRUE(IsVersion4(id)) << id;
      ASSERT_TRUE(seen.insert(id).second) << "repeated: " << id;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(threads * each));
}

TEST(UuidTest, RandomUuidsDoNotRepeatAcrossBufferRefillsOrThreads) {
  ExpectDistinctAcrossThreads(&NewUuid, 3, 2'000);  // several 256-id refills per thread
}

TEST(UuidTest, AForkedChildDoesNotRepeatItsParentsBufferedUuids) {
  (void)NewUuid();  // this thread now has buffered bytes the child inherits
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string id = NewUuid();
    _exit(write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string child(36, '\0');
  ASSERT_EQ(read(fds[0], child.data(), child.size()), 36);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(IsVersion4(child)) << child;
  EXPECT_NE(child, NewUuid()) << "the child handed out the parent's next UUID";
}

TEST(UuidTest, ProcessUniqueUuidsNeverRepeatAcrossThreads) {
  ExpectDistinctAcrossThreads(&NewProcessUniqueUuid, 4, 20'000);
}

TEST(UuidTest, IsUuidChecksShapeAndDigits) {
  EXPECT_TRUE(IsUuid("0123abcd-4567-89ab-CDEF-0123456789ab"));
  EXPECT_FALSE(IsUuid("0123abcd-4567-89ab-cdef-0123456789a"));    // one digit short
  EXPECT_FALSE(IsUuid("0123abcd-4567-89ab-cdef-0123456789abc"));  // one too many
  EXPECT_FALSE(IsUuid("0123abcd_4567-89ab-cdef-0123456789ab"));   // wrong separator
  EXPECT_FALSE(IsUuid("0123abcg-4567-89ab-cdef-0123456789ab"));   // not hex
  EXPECT_FALSE(IsUuid("0123abc--4567-89ab-cdef-0123456789ab"));   // a dash where a digit goes
  EXPECT_FALSE(IsUuid(std::string_view("0123abcd-4567-89ab-cdef-0123456789a\0", 36)));  // NUL
  EXPECT_FALSE(IsUuid("0123abcd-4567-89ab-cdef-0123456789a\xff"));  // a byte past ASCII
  EXPECT_FALSE(IsUuid("012345678-4567-89ab-cdef-0123456789ab"));    // 36, dashes misplaced
}

}  // namespace
}  // namespace theater
