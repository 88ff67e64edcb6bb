// Theater: a WebAssembly actor runtime.
//
// Macros for clang's thread safety analysis (-Wthread-safety): they mark a type as a lock (a
// "capability"), a field as guarded by a lock, and a function as needing, taking or releasing
// one, so that clang checks at compile time that guarded data is only touched with its lock held.
// theater::Mutex (theater/mutex.h) is the annotated lock the project's code uses.
//
// The sanitizer build (clang, scripts/sanitizer-build.sh) turns the check on and makes its
// warnings errors; other compilers ignore the attributes, so every macro expands to nothing there.
// The names carry a THEATER_ prefix so that an embedder's own macros of the same purpose do not
// clash. Thread-safety and ownership: compile-time only; nothing here exists at run time.
#pragma once

#if defined(__clang__)
#define THEATER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define THEATER_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are locks of kind `name` ("mutex", "shared mutex"), named in
// diagnostics.
#define THEATER_CAPABILITY(name) THEATER_THREAD_ANNOTATION(capability(name))
// On a class: an RAII object that holds the lock(s) its constructor acquires until it is
// destroyed (or until its own Unlock()).
#define THEATER_SCOPED_CAPABILITY THEATER_THREAD_ANNOTATION(scoped_lockable)

// On a field: read only with `lock` held (shared or exclusive), written only with it held
// exclusively.
#define THEATER_GUARDED_BY(lock) THEATER_THREAD_ANNOTATION(guarded_by(lock))
// On a pointer (or smart pointer) field: what it points to is guarded by `lock`; the pointer
// itself is not.
#define THEATER_PT_GUARDED_BY(lock) THEATER_THREAD_ANNOTATION(pt_guarded_by(lock))

// On a lock field: the locks that must be taken before it, or after it (lock order).
#define THEATER_ACQUIRED_BEFORE(...) THEATER_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define THEATER_ACQUIRED_AFTER(...) THEATER_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))

// On a function: the caller must hold the locks exclusively (REQUIRES) or at least shared
// (REQUIRES_SHARED) when calling it, and still holds them when it returns.
#define THEATER_REQUIRES(...) THEATER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define THEATER_REQUIRES_SHARED(...) \
  THEATER_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))

// On a function: it takes the locks (and returns holding them), or releases them (the caller
// held them). With no argument on a member function of a lock type, the lock is the object.
#define THEATER_ACQUIRE(...) THEATER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define THEATER_ACQUIRE_SHARED(...) \
  THEATER_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define THEATER_RELEASE(...) THEATER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define THEATER_RELEASE_SHARED(...) \
  THEATER_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
// Releases the locks whether they were held shared or exclusively (a scoped lock's destructor).
#define THEATER_RELEASE_GENERIC(...) \
  THEATER_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))

// On a function returning bool: it took the locks if and only if it returned `succeeded`
// (the first argument), e.g. THEATER_TRY_ACQUIRE(true).
#define THEATER_TRY_ACQUIRE(...) THEATER_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define THEATER_TRY_ACQUIRE_SHARED(...) \
  THEATER_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))

// On a function: the caller must not hold the locks (the function takes them itself, or calls
// out to code that may).
#define THEATER_EXCLUDES(...) THEATER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: it checks at run time that the calling thread holds the lock (and does not
// return otherwise); from the call on, the analysis takes the lock as held.
#define THEATER_ASSERT_CAPABILITY(lock) THEATER_THREAD_ANNOTATION(assert_capability(lock))
#define THEATER_ASSERT_SHARED_CAPABILITY(lock) \
  THEATER_THREAD_ANNOTATION(assert_shared_capability(lock))

// On a function: it returns a reference to `lock` (an accessor of a private lock).
#define THEATER_RETURN_CAPABILITY(lock) THEATER_THREAD_ANNOTATION(lock_returned(lock))

// On a function: the analysis skips its body. Only where a lock is taken in a way the analysis
// cannot follow (say why beside it); the function's own annotations still hold for its callers.
#define THEATER_NO_THREAD_SAFETY_ANALYSIS THEATER_THREAD_ANNOTATION(no_thread_safety_analysis)
