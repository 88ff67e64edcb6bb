// Theater: a WebAssembly actor runtime.
//
// The project's locks: std::mutex and std::shared_mutex wrapped as capabilities for clang's
// thread safety analysis (theater/thread_annotations.h), so that a field marked
// THEATER_GUARDED_BY(mu_) is checked at compile time to be touched only with mu_ held. Mutex is
// taken with a MutexLock, which can also wait on a std::condition_variable (it holds a
// std::unique_lock<std::mutex> for that); SharedMutex with a WriterLock or a ReaderLock. Public
// because the public classes that hold a lock (EventChain, ChainStore, ContentStore) hold these.
//
// Thread-safety: the locks are what the std types are; the scoped locks belong to the thread
// that made them and are not shared. Ownership: a lock owns nothing but itself; a scoped lock
// refers to its lock, which must outlive it. Neither is copyable or movable. Behaviour is
// exactly that of the std types they wrap: the annotations cost nothing at run time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "theater/thread_annotations.h"

namespace theater {

// An exclusive lock (a std::mutex).
class THEATER_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() THEATER_ACQUIRE() { mu_.lock(); }
  void Unlock() THEATER_RELEASE() { mu_.unlock(); }
  bool TryLock() THEATER_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex from construction to destruction. Wait*() release it while they wait on a
// condition variable and hold it again when they return, like std::condition_variable's own
// waits (they are those, on the std::unique_lock this holds). Unlock() and Lock() release it
// early and take it again within the scope.
class THEATER_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) THEATER_ACQUIRE(mu) : lock_(mu.mu_) {}
  // Takes over `mu`, which the caller has locked (e.g. with a successful TryLock()).
  MutexLock(Mutex& mu, std::adopt_lock_t) THEATER_REQUIRES(mu) : lock_(mu.mu_, std::adopt_lock) {}
  ~MutexLock() THEATER_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() THEATER_RELEASE() { lock_.unlock(); }
  void Lock() THEATER_ACQUIRE() { lock_.lock(); }

  // Waits for a notification of `cv` (or a spurious wake-up).
  void Wait(std::condition_variable& cv) { cv.wait(lock_); }
  // Waits until `done()` is true; `done` runs with the lock held. A lambda that reads guarded
  // fields says so: [&]() THEATER_REQUIRES(mu_) { return ...; }.
  template <typename Predicate>
  void Wait(std::condition_variable& cv, Predicate done) {
    cv.wait(lock_, std::move(done));
  }
  // As Wait(), for at most `timeout`: std::cv_status::timeout when it ran out.
  template <typename Rep, typename Period>
  std::cv_status WaitFor(std::condition_variable& cv,
                         const std::chrono::duration<Rep, Period>& timeout) {
    return cv.wait_for(lock_, timeout);
  }
  // As Wait(cv, done), for at most `timeout`: what `done()` returned last.
  template <typename Rep, typename Period, typename Predicate>
  bool WaitFor(std::condition_variable& cv, const std::chrono::duration<Rep, Period>& timeout,
               Predicate done) {
    return cv.wait_for(lock_, timeout, std::move(done));
  }
  // As Wait(), until `deadline`: std::cv_status::timeout when it passed.
  template <typename Clock, typename Duration>
  std::cv_status WaitUntil(std::condition_variable& cv,
                           const std::chrono::time_point<Clock, Duration>& deadline) {
    return cv.wait_until(lock_, deadline);
  }
  // As Wait(cv, done), until `deadline`: what `done()` returned last.
  template <typename Clock, typename Duration, typename Predicate>
  bool WaitUntil(std::condition_variable& cv,
                 const std::chrono::time_point<Clock, Duration>& deadline, Predicate done) {
    return cv.wait_until(lock_, deadline, std::move(done));
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A reader/writer lock (a std::shared_mutex): many readers or one writer.
class THEATER_CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() THEATER_ACQUIRE() { mu_.lock(); }
  void Unlock() THEATER_RELEASE() { mu_.unlock(); }
  bool TryLock() THEATER_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  void LockShared() THEATER_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() THEATER_RELEASE_SHARED() { mu_.unlock_shared(); }
  bool TryLockShared() THEATER_TRY_ACQUIRE_SHARED(true) { return mu_.try_lock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex exclusively from construction to destruction (or to Unlock()).
class THEATER_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) THEATER_ACQUIRE(mu) : mu_(&mu) { mu.Lock(); }
  ~WriterLock() THEATER_RELEASE() {
    if (held_) mu_->Unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  void Unlock() THEATER_RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  void Lock() THEATER_ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  SharedMutex* mu_;
  bool held_ = true;
};

// Holds a SharedMutex shared from construction to destruction (or to Unlock()).
class THEATER_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) THEATER_ACQUIRE_SHARED(mu) : mu_(&mu) { mu.LockShared(); }
  ~ReaderLock() THEATER_RELEASE() {
    if (held_) mu_->UnlockShared();
  }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

  void Unlock() THEATER_RELEASE() {
    mu_->UnlockShared();
    held_ = false;
  }
  void Lock() THEATER_ACQUIRE_SHARED() {
    mu_->LockShared();
    held_ = true;
  }

 private:
  SharedMutex* mu_;
  bool held_ = true;
};

}  // namespace theater
