// Theater: a WebAssembly actor runtime.
//
// For tests of what happens on a kernel without Landlock, on one that has it: a seccomp filter
// on the calling thread (and whatever it starts) makes landlock_create_ruleset fail with ENOSYS,
// exactly as a kernel built without Landlock answers. The thread also gets no_new_privs (seccomp
// needs it). Test-only, header-only; call it on a thread of its own.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <iterator>

namespace theater::testing_util {

// Returns false when the filter could not be installed.
inline bool HideLandlockFromThisThread() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

}  // namespace theater::testing_util
