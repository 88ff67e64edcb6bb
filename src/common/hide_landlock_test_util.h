// Theater: a WebAssembly actor runtime.
//
// For tests of what happens on a host lacking something, on one that has it: a seccomp filter on
// the calling thread (and whatever it starts) makes landlock_create_ruleset fail with ENOSYS,
// exactly as a kernel built without Landlock answers, or unshare fail with EPERM, as a host
// without CAP_SYS_ADMIN whose user namespaces are disabled answers; or CAP_SYS_ADMIN leaves the
// thread's bounding set, so that what it starts lacks it even as root, as on a host not running
// as root. The thread also gets no_new_privs (seccomp needs it). Test-only, header-only; call
// them on a thread of its own.
#pragma once

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <iterator>

namespace theater::testing_util {

// The system call `nr` fails with `err` on this thread and in everything it starts. Returns
// false when the filter could not be installed.
inline bool FailSyscallOnThisThread(unsigned nr, unsigned err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

inline bool HideLandlockFromThisThread() {
  return FailSyscallOnThisThread(SYS_landlock_create_ruleset, ENOSYS);
}

// No namespace of any kind can be made.
inline bool RefuseNamespacesOnThisThread() {
  return FailSyscallOnThisThread(SYS_unshare, EPERM);
}

// Needs CAP_SETPCAP (a root test run); false without it.
inline bool DropSysAdminFromThisThread() {
  return ::prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) == 0;
}

}  // namespace theater::testing_util
