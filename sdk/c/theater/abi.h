/* Theater guest SDK: the canonical-ABI foundation every other header builds on.
 *
 * An actor is a wasm32-wasi *reactor* core module (compile with
 *   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -I<theater>/sdk/c
 * ; the host calls `_initialize` once after instantiating). It talks to the host only through
 * functions whose names and core signatures follow the component model's conventions for core
 * modules, so the host can lift and lower WIT values without any glue in the guest:
 *
 *   imports  module = WIT interface without version, name = function name
 *              e.g. (import "theater:simple/runtime" "log" (func (param i32 i32)))
 *   exports  "<interface>#<function>", e.g. "theater:simple/actor#init",
 *            "cabi_post_<interface>#<function>" (post-return, optional per function),
 *            "cabi_realloc" (the host allocates guest memory through it), and "memory".
 *
 * THE CANONICAL ABI IN ONE PAGE (wasm32, little-endian; spec: component-model CanonicalABI.md)
 *
 * Flattening: every WIT value becomes a sequence of core values.
 *   bool, s8..u32, char, enum        -> i32      s64, u64 -> i64      f32 -> f32   f64 -> f64
 *   string, list<T>                  -> i32 ptr, i32 len (len counts elements; bytes for UTF-8)
 *   record, tuple                    -> the fields' flattenings, concatenated
 *   variant, option, result          -> i32 discriminant, then the cases' flattenings joined
 *                                       position by position (equal types stay; i32+f32 -> i32;
 *                                       anything else -> i64); unused positions are zero
 *   flags                            -> one i32 (the component model allows at most 32 labels)
 * A function's parameters travel flat when they flatten to at most 16 core values
 * (MAX_FLAT_PARAMS); otherwise the caller stores them as a tuple in memory and passes one i32
 * pointer. Results travel flat when they flatten to at most 1 core value (MAX_FLAT_RESULTS);
 * otherwise:
 *   - an EXPORT returns an i32 pointer to a result area in its own memory, which the host reads
 *     and then calls `cabi_post_<export>(that pointer)` so the guest can free what it allocated;
 *   - an IMPORT takes one extra trailing i32 "retptr": the guest passes the address of a result
 *     area it owns and the host writes the results there.
 *
 * Memory layout (size / alignment):
 *   bool, s8, u8 1/1   s16, u16 2/2   s32, u32, f32, char 4/4   s64, u64, f64 8/8
 *   string, list<T>   8/4: { u32 ptr; u32 len; }
 *   record, tuple     C struct rules: each field at the next multiple of its alignment, size
 *                     rounded up to the largest field alignment
 *   variant           discriminant (u8 for < 256 cases), then the payload at the largest case
 *                     alignment; option<T> = variant { none, some(T) }; result<T, E> =
 *                     variant { ok(T), error(E) } (0 = ok, 1 = error); enum = variant without
 *                     payloads
 *   flags             1, 2 or 4 bytes for <= 8, <= 16, <= 32 labels
 * e.g. option<list<u8>> = { u8 is_some @0; u32 ptr @4; u32 len @8 }, size 12, align 4, and on
 * wasm32 that is exactly the C struct `{ bool; uint8_t*; size_t; }` below. Every struct in
 * these headers that mirrors a WIT type has the canonical layout and is checked by
 * THEATER_ABI_CHECK at compile time, so result areas can be passed to the host as-is.
 *
 * Ownership. Strings and lists the host hands to the guest (export parameters, import results)
 * are allocated by the host through the guest's `cabi_realloc` (i.e. malloc) and belong to the
 * guest from then on: the guest frees them. Everything an export allocates for its result stays
 * alive until the host has read it and called the matching `cabi_post_*`, which frees it.
 * Strings are UTF-8 and NOT NUL-terminated: use "%.*s" with (int)s.len, s.ptr to print them.
 *
 * Zero-length buffers. For an empty string or list the host still calls cabi_realloc(.., 0);
 * the SDK's allocator then returns a non-NULL dummy pointer equal to the requested alignment
 * (never a heap block). The SDK therefore never frees a buffer whose length is 0, and neither
 * should an actor: keep `ptr = NULL, len = 0` for empty values you build yourself.
 *
 * cabi_realloc. This header defines it as a *weak* function exported as "cabi_realloc", so it
 * is present exactly once however many translation units include the SDK. An actor that wants
 * its own allocator defines a strong `cabi_realloc` (same signature, same export name) and must
 * keep the zero-length rule above.
 */
#ifndef THEATER_SDK_ABI_H_
#define THEATER_SDK_ABI_H_

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__wasm32__)
#error "the Theater guest SDK targets wasm32 (clang --target=wasm32-wasi)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Declares a host function: `THEATER_IMPORT("theater:simple/runtime", "log") void f(...);` */
#define THEATER_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
/* Exports a function under a component-model name: `THEATER_EXPORT("iface#fn") T f(...) {..}` */
#define THEATER_EXPORT(name) __attribute__((export_name(name)))

#ifdef __cplusplus
#define THEATER_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define THEATER_ALIGNOF(type) alignof(type)
#else
#define THEATER_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define THEATER_ALIGNOF(type) _Alignof(type)
#endif
/* Checks that a C type has the canonical-ABI size and alignment of the WIT type it mirrors. */
#define THEATER_ABI_CHECK(type, size, align)                                        \
  THEATER_STATIC_ASSERT(sizeof(type) == (size) && THEATER_ALIGNOF(type) == (align), \
                        #type " must have the canonical ABI layout (" #size "/" #align ")")
#define THEATER_ABI_CHECK_OFFSET(type, field, offset) \
  THEATER_STATIC_ASSERT(offsetof(type, field) == (offset), #type "." #field " misplaced")

/* ---- value types ------------------------------------------------------------------------- */

/* WIT `string`: UTF-8 bytes, not NUL-terminated. */
typedef struct {
  char* ptr;
  size_t len;
} theater_string_t;
THEATER_ABI_CHECK(theater_string_t, 8, 4);

/* WIT `list<u8>`. */
typedef struct {
  uint8_t* ptr;
  size_t len;
} theater_bytes_t;
THEATER_ABI_CHECK(theater_bytes_t, 8, 4);

/* WIT `option<list<u8>>`: an actor's state, a request's response, a child's exit data. */
typedef struct {
  bool is_some;
  theater_bytes_t val; /* meaningful only when is_some */
} theater_option_bytes_t;
THEATER_ABI_CHECK(theater_option_bytes_t, 12, 4);
THEATER_ABI_CHECK_OFFSET(theater_option_bytes_t, val, 4);

/* The state the host threads through every export call. */
typedef theater_option_bytes_t theater_state_t;

/* WIT `option<string>`. */
typedef struct {
  bool is_some;
  theater_string_t val;
} theater_option_string_t;
THEATER_ABI_CHECK(theater_option_string_t, 12, 4);

/* WIT `list<string>` (also `list<content-ref>`: a record of one string has the same layout). */
typedef struct {
  theater_string_t* ptr;
  size_t len;
} theater_strings_t;
THEATER_ABI_CHECK(theater_strings_t, 8, 4);

/* WIT `tuple<string, string>` and `list<tuple<string, string>>`. */
typedef struct {
  theater_string_t first;
  theater_string_t second;
} theater_string_pair_t;
THEATER_ABI_CHECK(theater_string_pair_t, 16, 4);
typedef struct {
  theater_string_pair_t* ptr;
  size_t len;
} theater_string_pairs_t;
THEATER_ABI_CHECK(theater_string_pairs_t, 8, 4);

/* WIT `result<_, string>`. Also what every export handler returns (see actor.h): ok, or an
 * error message the SDK (or, for an import result, the caller) owns and frees. */
typedef struct {
  bool is_err;
  theater_string_t err; /* meaningful only when is_err */
} theater_result_t;
THEATER_ABI_CHECK(theater_result_t, 12, 4);

/* The other result<T, string> shapes host imports return through a retptr. The ok payload and
 * the error share the union, placed at the larger of their alignments. */
#define THEATER_DEFINE_RESULT(name, ok_type) \
  typedef struct {                           \
    bool is_err;                             \
    union {                                  \
      ok_type ok;                            \
      theater_string_t err;                  \
    };                                       \
  } name
THEATER_DEFINE_RESULT(theater_result_string_t, theater_string_t); /* result<string, string> */
THEATER_DEFINE_RESULT(theater_result_bytes_t, theater_bytes_t);   /* result<list<u8>, string> */
THEATER_DEFINE_RESULT(theater_result_strings_t,
                      theater_strings_t);              /* result<list<string>, string> */
THEATER_DEFINE_RESULT(theater_result_bool_t, bool);    /* result<bool, string> */
THEATER_DEFINE_RESULT(theater_result_u32_t, uint32_t); /* result<u32, string> */
THEATER_DEFINE_RESULT(theater_result_u64_t, uint64_t); /* result<u64, string> */
THEATER_DEFINE_RESULT(theater_result_f64_t, double);   /* result<f64, string> */
THEATER_DEFINE_RESULT(theater_result_option_string_t, theater_option_string_t);
THEATER_DEFINE_RESULT(theater_result_option_bytes_t, theater_option_bytes_t);
THEATER_ABI_CHECK(theater_result_string_t, 12, 4);
THEATER_ABI_CHECK(theater_result_bytes_t, 12, 4);
THEATER_ABI_CHECK(theater_result_strings_t, 12, 4);
THEATER_ABI_CHECK(theater_result_bool_t, 12, 4);
THEATER_ABI_CHECK(theater_result_u32_t, 12, 4);
THEATER_ABI_CHECK(theater_result_u64_t, 16, 8);
THEATER_ABI_CHECK(theater_result_f64_t, 16, 8);
THEATER_ABI_CHECK(theater_result_option_string_t, 16, 4);
THEATER_ABI_CHECK(theater_result_option_bytes_t, 16, 4);
THEATER_ABI_CHECK_OFFSET(theater_result_u64_t, ok, 8);
THEATER_ABI_CHECK_OFFSET(theater_result_bool_t, err, 4);

/* ---- memory ------------------------------------------------------------------------------ */

/* The allocator the host uses to place parameters and import results in guest memory.
 * realloc semantics with an alignment; a request of 0 bytes yields the dummy pointer `align`
 * (see "Zero-length buffers" above). Out of memory traps: the host cannot recover a half-lowered
 * value anyway, and a trap is reported with its cause. */
__attribute__((weak, export_name("cabi_realloc"))) void* cabi_realloc(void* old_ptr,
                                                                      size_t old_size, size_t align,
                                                                      size_t new_size);
__attribute__((weak, export_name("cabi_realloc"))) void* cabi_realloc(void* old_ptr,
                                                                      size_t old_size, size_t align,
                                                                      size_t new_size) {
  /* malloc's blocks are 16-aligned on wasm32 wasi-libc; canonical ABI alignments are <= 8. */
  if (align == 0 || align > 16 || (align & (align - 1)) != 0) __builtin_trap();
  if (old_size == 0) old_ptr = NULL; /* a zero-size block is the dummy pointer, not a heap block */
  if (new_size == 0) {
    free(old_ptr);
    return (void*)align;
  }
  void* p = realloc(old_ptr, new_size);
  if (p == NULL) __builtin_trap();
  return p;
}

/* Frees a buffer the SDK or the host allocated; zero-length buffers are never heap blocks. */
static inline void theater_free_buf(void* ptr, size_t len) {
  if (len != 0) free(ptr);
}

/* malloc that traps instead of returning NULL (out of memory is not recoverable here). */
static inline void* theater_xmalloc(size_t n) {
  void* p = malloc(n != 0 ? n : 1);
  if (p == NULL) __builtin_trap();
  return p;
}

/* A borrowed view of a C string (not copied, must not be freed). */
static inline theater_string_t theater_str(const char* s) {
  theater_string_t r;
  r.ptr = (char*)s;
  r.len = strlen(s);
  return r;
}

/* A heap copy of `len` bytes at `data` (NULL when len is 0), to be freed with
 * theater_string_free / theater_bytes_free. */
static inline theater_string_t theater_string_dup(const char* data, size_t len) {
  theater_string_t r;
  r.ptr = NULL;
  r.len = len;
  if (len != 0) {
    r.ptr = (char*)theater_xmalloc(len);
    memcpy(r.ptr, data, len);
  }
  return r;
}
static inline theater_bytes_t theater_bytes_dup(const void* data, size_t len) {
  theater_bytes_t r;
  r.ptr = NULL;
  r.len = len;
  if (len != 0) {
    r.ptr = (uint8_t*)theater_xmalloc(len);
    memcpy(r.ptr, data, len);
  }
  return r;
}

/* A heap copy as a NUL-terminated C string (free with free()). */
static inline char* theater_string_to_cstr(theater_string_t s) {
  char* c = (char*)theater_xmalloc(s.len + 1);
  if (s.len != 0) memcpy(c, s.ptr, s.len);
  c[s.len] = '\0';
  return c;
}

static inline bool theater_string_eq(theater_string_t s, const char* cstr) {
  size_t n = strlen(cstr);
  return s.len == n && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}

/* printf into a new heap string (the vsnprintf runs twice only for messages over 256 bytes). */
__attribute__((format(printf, 1, 0))) static inline theater_string_t theater_vformat(
    const char* fmt, va_list ap) {
  char small[256];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  if (n < 0) n = 0; /* an encoding error formats as the empty string */
  theater_string_t r;
  r.len = (size_t)n;
  r.ptr = (char*)theater_xmalloc(r.len + 1);
  if ((size_t)n < sizeof small) {
    memcpy(r.ptr, small, r.len);
  } else {
    vsnprintf(r.ptr, r.len + 1, fmt, again);
  }
  va_end(again);
  if (r.len == 0) { /* keep the "empty means NULL" rule */
    free(r.ptr);
    r.ptr = NULL;
  }
  return r;
}
__attribute__((format(printf, 1, 2))) static inline theater_string_t theater_format(const char* fmt,
                                                                                    ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_string_t r = theater_vformat(fmt, ap);
  va_end(ap);
  return r;
}

/* Each *_free releases what the value owns and leaves it empty, so freeing twice is harmless. */
static inline void theater_string_free(theater_string_t* s) {
  theater_free_buf(s->ptr, s->len);
  s->ptr = NULL;
  s->len = 0;
}
static inline void theater_bytes_free(theater_bytes_t* b) {
  theater_free_buf(b->ptr, b->len);
  b->ptr = NULL;
  b->len = 0;
}
static inline void theater_option_bytes_free(theater_option_bytes_t* o) {
  if (o->is_some) theater_bytes_free(&o->val);
  o->is_some = false;
  o->val.ptr = NULL;
  o->val.len = 0;
}
static inline void theater_option_string_free(theater_option_string_t* o) {
  if (o->is_some) theater_string_free(&o->val);
  o->is_some = false;
}
static inline void theater_strings_free(theater_strings_t* l) {
  for (size_t i = 0; i < l->len; i++) theater_string_free(&l->ptr[i]);
  theater_free_buf(l->ptr, l->len);
  l->ptr = NULL;
  l->len = 0;
}
static inline void theater_string_pairs_free(theater_string_pairs_t* l) {
  for (size_t i = 0; i < l->len; i++) {
    theater_string_free(&l->ptr[i].first);
    theater_string_free(&l->ptr[i].second);
  }
  theater_free_buf(l->ptr, l->len);
  l->ptr = NULL;
  l->len = 0;
}
static inline void theater_result_free(theater_result_t* r) {
  if (r->is_err) theater_string_free(&r->err);
  r->is_err = false;
}
/* For the result_<T>_t shapes: frees the error, or the ok payload when it owns memory. */
static inline void theater_result_string_free(theater_result_string_t* r) {
  theater_string_free(r->is_err ? &r->err : &r->ok);
}
static inline void theater_result_bytes_free(theater_result_bytes_t* r) {
  if (r->is_err) {
    theater_string_free(&r->err);
  } else {
    theater_bytes_free(&r->ok);
  }
}
static inline void theater_result_strings_free(theater_result_strings_t* r) {
  if (r->is_err) {
    theater_string_free(&r->err);
  } else {
    theater_strings_free(&r->ok);
  }
}
static inline void theater_result_option_string_free(theater_result_option_string_t* r) {
  if (r->is_err) {
    theater_string_free(&r->err);
  } else {
    theater_option_string_free(&r->ok);
  }
}
static inline void theater_result_option_bytes_free(theater_result_option_bytes_t* r) {
  if (r->is_err) {
    theater_string_free(&r->err);
  } else {
    theater_option_bytes_free(&r->ok);
  }
}
/* result<bool|u32|u64|f64, string>: only an error owns memory. */
#define theater_result_scalar_free(r)                \
  do {                                               \
    if ((r)->is_err) theater_string_free(&(r)->err); \
  } while (0)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_ABI_H_ */
