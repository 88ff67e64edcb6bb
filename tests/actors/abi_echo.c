/* abi_echo: a guest that does the canonical ABI by hand, as the independent check of the
 * host's lift/lower code. Types and the meaning of every export are in abi_echo.wit.
 *
 * Nothing here uses the SDK's typed helpers on purpose: each export spells out its flat core
 * signature and each memory access its byte offset, derived from the spec (CanonicalABI.md):
 *   flatten: bool..u32/char/enum -> i32, s64/u64 -> i64, f32, f64, string/list -> (ptr, len),
 *            record/tuple -> fields in order, variant -> i32 case + payload slots joined
 *            position-wise (i32+f32 -> i32, else mismatch -> i64), flags -> i32 per 32 labels.
 *   more than 16 flat params -> one i32 pointer to the params tuple in memory (callee frees);
 *   more than 1 flat result  -> the export returns a pointer to a result area; the host then
 *            calls cabi_post_<export>(pointer), which frees what the result references.
 * Only cabi_realloc (allocation for the host) and the runtime log import come from the SDK.
 * Inputs the host allocated (strings, lists) are owned by this guest and freed here.
 */
#include <theater/abi.h>
#include <theater/runtime.h>

#define ECHO(fn) THEATER_EXPORT("theater:test/echo#" fn)
#define POST(fn) THEATER_EXPORT("cabi_post_theater:test/echo#" fn)

/* ---- byte-level memory access (wasm is little-endian; memcpy avoids alignment UB) ---------- */

static uint8_t* at(uint32_t addr) {
  return (uint8_t*)(uintptr_t)addr;
}
static uint32_t addr_of(const void* p) {
  return (uint32_t)(uintptr_t)p;
}
static uint8_t ld8(const uint8_t* p) {
  return *p;
}
static uint32_t ld32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t ld64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static void st8(uint8_t* p, uint8_t v) {
  *p = v;
}
static void st32(uint8_t* p, uint32_t v) {
  memcpy(p, &v, 4);
}
static void st64(uint8_t* p, uint64_t v) {
  memcpy(p, &v, 8);
}
static uint32_t f32_bits(float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  return v;
}

/* Frees a host-allocated buffer: zero-length ones are the allocator's dummy pointer. */
static void free_buf(uint32_t ptr, uint32_t len) {
  if (len != 0) free(at(ptr));
}

/* One result area for every export: calls are not re-entered and the host calls the post-return
 * before the next call. 48 bytes, 8-aligned, covers the largest result (point3: 32). */
static _Alignas(8) uint8_t RET[48];

/* ---- scalars: one flat value in, one out -------------------------------------------------- */

/* bool: any non-zero i32 lifts to true; return the canonical 0/1. */
ECHO("echo-bool") int32_t echo_bool(int32_t v) {
  return v != 0;
}
/* Narrow integers travel in an i32; the lifting side keeps only the low bits, so return them
 * sign- or zero-extended as the lowering side would have produced them. */
ECHO("echo-s8") int32_t echo_s8(int32_t v) {
  return (int8_t)v;
}
ECHO("echo-u8") int32_t echo_u8(int32_t v) {
  return v & 0xff;
}
ECHO("echo-s16") int32_t echo_s16(int32_t v) {
  return (int16_t)v;
}
ECHO("echo-u16") int32_t echo_u16(int32_t v) {
  return v & 0xffff;
}
ECHO("echo-s32") int32_t echo_s32(int32_t v) {
  return v;
}
ECHO("echo-u32") uint32_t echo_u32(uint32_t v) {
  return v;
}
ECHO("echo-s64") int64_t echo_s64(int64_t v) {
  return v;
}
ECHO("echo-u64") uint64_t echo_u64(uint64_t v) {
  return v;
}
ECHO("echo-f32") float echo_f32(float v) {
  return v;
}
ECHO("echo-f64") double echo_f64(double v) {
  return v;
}
ECHO("echo-char") uint32_t echo_char(uint32_t v) {
  return v;
} /* a Unicode scalar value */
ECHO("echo-color") uint32_t echo_color(uint32_t v) {
  return v;
} /* enum: 4 cases */
ECHO("echo-perms") uint32_t echo_perms(uint32_t v) {
  return v & 0x1f;
} /* flags: 5 labels */

/* ---- strings and lists: (ptr, len) in, result area {ptr @0, len @4} out ------------------- */

/* The host's buffer is handed back as-is and freed once the host has copied it. */
static uint8_t* ret_list(uint32_t ptr, uint32_t len) {
  st32(RET + 0, ptr);
  st32(RET + 4, len);
  return RET;
}
static void post_list(uint8_t* area) {
  free_buf(ld32(area + 0), ld32(area + 4));
}

ECHO("echo-string") uint8_t* echo_string(uint32_t ptr, uint32_t len) {
  return ret_list(ptr, len);
}
POST("echo-string") void post_echo_string(uint8_t* area) {
  post_list(area);
}
ECHO("echo-bytes") uint8_t* echo_bytes(uint32_t ptr, uint32_t len) {
  return ret_list(ptr, len);
}
POST("echo-bytes") void post_echo_bytes(uint8_t* area) {
  post_list(area);
}
/* list<u32>: elements are 4 bytes, 4-aligned; `len` counts elements. */
ECHO("echo-u32s") uint8_t* echo_u32s(uint32_t ptr, uint32_t len) {
  return ret_list(ptr, len);
}
POST("echo-u32s") void post_echo_u32s(uint8_t* area) {
  post_list(area);
}

/* list<string>: an array of {ptr @0, len @4} (8 bytes, 4-aligned). Re-encoded into a new array;
 * the strings themselves are moved over. */
ECHO("echo-strings") uint8_t* echo_strings(uint32_t ptr, uint32_t len) {
  uint8_t* out = len != 0 ? theater_xmalloc((size_t)len * 8) : NULL;
  for (uint32_t i = 0; i < len; i++) {
    st32(out + 8 * i + 0, ld32(at(ptr) + 8 * i + 0));
    st32(out + 8 * i + 4, ld32(at(ptr) + 8 * i + 4));
  }
  free_buf(ptr, len);
  return ret_list(addr_of(out), len);
}
POST("echo-strings") void post_echo_strings(uint8_t* area) {
  uint32_t ptr = ld32(area + 0), len = ld32(area + 4);
  for (uint32_t i = 0; i < len; i++) free_buf(ld32(at(ptr) + 8 * i), ld32(at(ptr) + 8 * i + 4));
  free_buf(ptr, len);
}

/* ---- records and tuples ------------------------------------------------------------------- */

/* record point3 { tag: u8, x: s64, name: string, weight: f32 }
 * flat: (i32 tag, i64 x, i32 name_ptr, i32 name_len, f32 weight)
 * memory: tag u8 @0, x @8 (s64 aligns to 8), name {ptr @16, len @20}, weight @24;
 *         size 28 rounded up to the alignment 8 = 32. */
enum { POINT3_SIZE = 32 };
static void store_point3(uint8_t* p, uint32_t tag, uint64_t x, uint32_t name_ptr, uint32_t name_len,
                         uint32_t weight_bits) {
  memset(p, 0, POINT3_SIZE);
  st8(p + 0, (uint8_t)tag);
  st64(p + 8, x);
  st32(p + 16, name_ptr);
  st32(p + 20, name_len);
  st32(p + 24, weight_bits);
}

ECHO("echo-point")
uint8_t* echo_point(int32_t tag, int64_t x, uint32_t name_ptr, uint32_t name_len, float weight) {
  store_point3(RET, (uint32_t)tag & 0xff, (uint64_t)x, name_ptr, name_len, f32_bits(weight));
  return RET;
}
POST("echo-point") void post_echo_point(uint8_t* area) {
  free_buf(ld32(area + 16), ld32(area + 20));
}

/* tuple<u8, string, u64> = record { 0: u8, 1: string, 2: u64 }
 * flat: (i32, i32 ptr, i32 len, i64)   memory: u8 @0, string {@4, @8}, u64 @16; size 24. */
ECHO("echo-tuple")
uint8_t* echo_tuple(int32_t a, uint32_t s_ptr, uint32_t s_len, uint64_t b) {
  memset(RET, 0, 24);
  st8(RET + 0, (uint8_t)a);
  st32(RET + 4, s_ptr);
  st32(RET + 8, s_len);
  st64(RET + 16, b);
  return RET;
}
POST("echo-tuple") void post_echo_tuple(uint8_t* area) {
  free_buf(ld32(area + 4), ld32(area + 8));
}

/* ---- variants, options, results ----------------------------------------------------------- */

/* variant shape { none, circle(f32), rect(tuple<u32, u32>), label(string), big(u64) }
 * 5 cases -> u8 discriminant. Payload flat shapes: circle [f32], rect [i32, i32],
 * label [i32, i32], big [i64]; joined: slot 0 = f32|i32|i32|i64 -> i64, slot 1 = i32.
 * flat: (i32 case, i64 slot0, i32 slot1)
 * memory: case u8 @0, payload @8 (largest case alignment: u64); payload size 8 -> size 16. */
enum { SHAPE_NONE, SHAPE_CIRCLE, SHAPE_RECT, SHAPE_LABEL, SHAPE_BIG };
static void store_shape(uint8_t* p, int32_t which, uint64_t slot0, uint32_t slot1) {
  memset(p, 0, 16);
  st8(p + 0, (uint8_t)which);
  switch (which) {
    case SHAPE_NONE:
      break;
    case SHAPE_CIRCLE: /* the f32's bits are the low 32 bits of the i64 slot */
      st32(p + 8, (uint32_t)slot0);
      break;
    case SHAPE_RECT:  /* tuple<u32, u32>: first in slot 0 (wrapped to i32), second in slot 1 */
    case SHAPE_LABEL: /* string: ptr in slot 0 (wrapped to i32), len in slot 1 */
      st32(p + 8, (uint32_t)slot0);
      st32(p + 12, slot1);
      break;
    case SHAPE_BIG:
      st64(p + 8, slot0);
      break;
    default: /* the host lowered a case that does not exist */
      __builtin_trap();
  }
}
ECHO("echo-shape") uint8_t* echo_shape(int32_t which, uint64_t slot0, uint32_t slot1) {
  store_shape(RET, which, slot0, slot1);
  return RET;
}
POST("echo-shape") void post_echo_shape(uint8_t* area) {
  if (ld8(area) == SHAPE_LABEL) free_buf(ld32(area + 8), ld32(area + 12));
}

/* flags many (32 labels): one i32 holding every bit, the sign bit included. */
ECHO("echo-many") uint32_t echo_many(uint32_t v) {
  return v;
}

/* tuple<perms, wide, many>: flags are 1, 2 or 4 bytes in memory for <= 8, <= 16, <= 32 labels.
 * flat params (i32, i32, i32); memory perms u8 @0, wide u16 @2, many u32 @4; size 8, align 4.
 * Bits beyond the last label are not part of a value. */
ECHO("echo-flags") uint8_t* echo_flags(uint32_t perms, uint32_t wide, uint32_t many) {
  uint16_t wide16 = (uint16_t)(wide & 0xfff);
  memset(RET, 0, 8);
  st8(RET + 0, (uint8_t)(perms & 0x1f));
  memcpy(RET + 2, &wide16, 2);
  st32(RET + 4, many);
  return RET;
}
POST("echo-flags") void post_echo_flags(uint8_t* area) {
  (void)area; /* nothing allocated */
}

/* option<string>: flat (i32 case, i32 ptr, i32 len); memory case u8 @0, string {@4, @8}. */
ECHO("echo-option-string")
uint8_t* echo_option_string(int32_t is_some, uint32_t ptr, uint32_t len) {
  memset(RET, 0, 12);
  if (is_some) {
    st8(RET, 1);
    st32(RET + 4, ptr);
    st32(RET + 8, len);
  }
  return RET;
}
POST("echo-option-string") void post_echo_option_string(uint8_t* area) {
  if (ld8(area) == 1) free_buf(ld32(area + 4), ld32(area + 8));
}

/* result<u32, string>: ok [i32] and error [i32, i32] join to (i32 case, i32, i32);
 * memory case u8 @0, payload @4: ok u32 @4, or error string {@4, @8}; size 12. */
ECHO("echo-result-u32") uint8_t* echo_result_u32(int32_t is_err, uint32_t a, uint32_t b) {
  memset(RET, 0, 12);
  st8(RET, is_err ? 1 : 0);
  st32(RET + 4, a);
  if (is_err) st32(RET + 8, b);
  return RET;
}
POST("echo-result-u32") void post_echo_result_u32(uint8_t* area) {
  if (ld8(area) == 1) free_buf(ld32(area + 4), ld32(area + 8));
}

/* result<_, string>: flat (i32 case, i32 ptr, i32 len); memory case @0, error {@4, @8}. */
ECHO("echo-result-unit") uint8_t* echo_result_unit(int32_t is_err, uint32_t ptr, uint32_t len) {
  memset(RET, 0, 12);
  if (is_err) {
    st8(RET, 1);
    st32(RET + 4, ptr);
    st32(RET + 8, len);
  }
  return RET;
}
POST("echo-result-unit") void post_echo_result_unit(uint8_t* area) {
  if (ld8(area) == 1) free_buf(ld32(area + 4), ld32(area + 8));
}

/* ---- nested: list<option<point3>> ---------------------------------------------------------
 * element option<point3>: case u8 @0, point3 @8 (alignment 8), size 8 + 32 = 40, align 8. */
enum { OPT_POINT3_SIZE = 40 };

static void free_points(uint32_t ptr, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    const uint8_t* e = at(ptr) + OPT_POINT3_SIZE * i;
    if (ld8(e) == 1) free_buf(ld32(e + 8 + 16), ld32(e + 8 + 20));
  }
  free_buf(ptr, len);
}

/* Re-encodes element by element into a new array; the names are moved over. */
ECHO("echo-points") uint8_t* echo_points(uint32_t ptr, uint32_t len) {
  uint8_t* out = len != 0 ? theater_xmalloc((size_t)len * OPT_POINT3_SIZE) : NULL;
  for (uint32_t i = 0; i < len; i++) {
    const uint8_t* in = at(ptr) + OPT_POINT3_SIZE * i;
    uint8_t* o = out + OPT_POINT3_SIZE * i;
    memset(o, 0, OPT_POINT3_SIZE);
    uint8_t is_some = ld8(in);
    if (is_some > 1) __builtin_trap();
    if (is_some) {
      const uint8_t* p = in + 8;
      st8(o, 1);
      store_point3(o + 8, ld8(p + 0), ld64(p + 8), ld32(p + 16), ld32(p + 20), ld32(p + 24));
    }
  }
  free_buf(ptr, len); /* the array only: the names now belong to the result */
  return ret_list(addr_of(out), len);
}
POST("echo-points") void post_echo_points(uint8_t* area) {
  free_points(ld32(area), ld32(area + 4));
}

/* ---- describe-*: render what the guest read, for comparison with what the host passed ---- */

typedef struct {
  char* p;
  uint32_t len, cap;
} text_t;

static void put(text_t* t, const char* s, uint32_t n) {
  if (t->len + n > t->cap) {
    t->cap = (t->len + n) * 2 + 16;
    t->p = realloc(t->p, t->cap);
    if (t->p == NULL) __builtin_trap();
  }
  memcpy(t->p + t->len, s, n);
  t->len += n;
}
static void put_s(text_t* t, const char* s) {
  put(t, s, (uint32_t)strlen(s));
}
static void put_u64(text_t* t, uint64_t v) {
  char buf[20];
  int n = 0;
  do {
    buf[sizeof buf - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(t, buf + sizeof buf - n, (uint32_t)n);
}
static void put_s64(text_t* t, int64_t v) {
  if (v < 0) {
    put_s(t, "-");
    put_u64(t, (uint64_t)0 - (uint64_t)v);
  } else {
    put_u64(t, (uint64_t)v);
  }
}
static void put_hex32(text_t* t, uint32_t v) {
  static const char kDigits[] = "0123456789abcdef";
  char buf[10] = {'0', 'x'};
  for (int i = 0; i < 8; i++) buf[2 + i] = kDigits[(v >> (28 - 4 * i)) & 0xf];
  put(t, buf, 10);
}
static void put_point3(text_t* t, uint32_t tag, int64_t x, uint32_t name_ptr, uint32_t name_len,
                       uint32_t weight_bits) {
  put_s(t, "{tag: ");
  put_u64(t, tag & 0xff);
  put_s(t, ", x: ");
  put_s64(t, x);
  put_s(t, ", name: \"");
  put(t, (const char*)at(name_ptr), name_len);
  put_s(t, "\", weight: ");
  put_hex32(t, weight_bits);
  put_s(t, "}");
}
/* Returns the text as a string result {ptr @0, len @4}, freed by post_list. */
static uint8_t* ret_text(text_t* t) {
  if (t->len == 0) {
    free(t->p);
    t->p = NULL;
  }
  return ret_list(addr_of(t->p), t->len);
}

ECHO("describe-point")
uint8_t* describe_point(int32_t tag, int64_t x, uint32_t name_ptr, uint32_t name_len,
                        float weight) {
  text_t t = {0};
  put_point3(&t, (uint32_t)tag, x, name_ptr, name_len, f32_bits(weight));
  free_buf(name_ptr, name_len);
  return ret_text(&t);
}
POST("describe-point") void post_describe_point(uint8_t* area) {
  post_list(area);
}

ECHO("describe-shape") uint8_t* describe_shape(int32_t which, uint64_t slot0, uint32_t slot1) {
  text_t t = {0};
  switch (which) {
    case SHAPE_NONE:
      put_s(&t, "none");
      break;
    case SHAPE_CIRCLE:
      put_s(&t, "circle(");
      put_hex32(&t, (uint32_t)slot0);
      put_s(&t, ")");
      break;
    case SHAPE_RECT:
      put_s(&t, "rect(");
      put_u64(&t, (uint32_t)slot0);
      put_s(&t, ", ");
      put_u64(&t, slot1);
      put_s(&t, ")");
      break;
    case SHAPE_LABEL:
      put_s(&t, "label(\"");
      put(&t, (const char*)at((uint32_t)slot0), slot1);
      put_s(&t, "\")");
      free_buf((uint32_t)slot0, slot1);
      break;
    case SHAPE_BIG:
      put_s(&t, "big(");
      put_u64(&t, slot0);
      put_s(&t, ")");
      break;
    default:
      __builtin_trap();
  }
  return ret_text(&t);
}
POST("describe-shape") void post_describe_shape(uint8_t* area) {
  post_list(area);
}

ECHO("describe-points") uint8_t* describe_points(uint32_t ptr, uint32_t len) {
  text_t t = {0};
  put_s(&t, "[");
  for (uint32_t i = 0; i < len; i++) {
    const uint8_t* e = at(ptr) + OPT_POINT3_SIZE * i;
    if (i != 0) put_s(&t, ", ");
    if (ld8(e) > 1) __builtin_trap();
    if (ld8(e) == 0) {
      put_s(&t, "none");
    } else {
      const uint8_t* p = e + 8;
      put_point3(&t, ld8(p), (int64_t)ld64(p + 8), ld32(p + 16), ld32(p + 20), ld32(p + 24));
    }
  }
  put_s(&t, "]");
  free_points(ptr, len);
  return ret_text(&t);
}
POST("describe-points") void post_describe_points(uint8_t* area) {
  post_list(area);
}

ECHO("describe-many") uint8_t* describe_many(uint32_t bits) {
  text_t t = {0};
  for (uint32_t i = 0; i < 32; i++) {
    if (((bits >> i) & 1) == 0) continue;
    if (t.len != 0) put_s(&t, ",");
    put_u64(&t, i);
  }
  return ret_text(&t);
}
POST("describe-many") void post_describe_many(uint8_t* area) {
  post_list(area);
}

ECHO("make-points") uint8_t* make_points(uint32_t n) {
  uint8_t* out = n != 0 ? theater_xmalloc((size_t)n * OPT_POINT3_SIZE) : NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t* o = out + OPT_POINT3_SIZE * i;
    memset(o, 0, OPT_POINT3_SIZE);
    if (i % 3 == 1) continue; /* none */
    text_t name = {0};
    put_s(&name, "p");
    put_u64(&name, i);
    st8(o, 1);
    store_point3(o + 8, i % 256, (uint64_t) - ((int64_t)i * 1000000007), addr_of(name.p), name.len,
                 f32_bits((float)i + 0.5f));
  }
  return ret_list(addr_of(out), n);
}
POST("make-points") void post_make_points(uint8_t* area) {
  free_points(ld32(area), ld32(area + 4));
}

/* ---- parameters and results through memory ------------------------------------------------ */

/* 20 params > MAX_FLAT_PARAMS (16): one pointer to the params tuple, which the host allocated
 * with cabi_realloc(0, 0, 8, 160) and this guest now owns. a_2k: u32 @16k, a_2k+1: u64 @16k+8.
 * Result tuple<u64, u64, u32>: @0, @8, @16; size 24. */
ECHO("sum20") uint8_t* sum20(uint32_t params) {
  const uint8_t* p = at(params);
  uint64_t sum = 0, weighted = 0;
  for (uint32_t i = 0; i < 20; i++) {
    uint64_t a = (i % 2 == 0) ? ld32(p + 16 * (i / 2)) : ld64(p + 16 * (i / 2) + 8);
    sum += a;
    weighted += (uint64_t)(i + 1) * a;
  }
  free(at(params));
  memset(RET, 0, 24);
  st64(RET + 0, sum);
  st64(RET + 8, weighted);
  st32(RET + 16, 20);
  return RET;
}
POST("sum20") void post_sum20(uint8_t* area) {
  (void)area; /* nothing allocated */
}

/* Named results (count: u32, sum: u64, max: u32) are laid out as a tuple: @0, @8, @16. */
ECHO("stats") uint8_t* stats(uint32_t ptr, uint32_t len) {
  uint64_t sum = 0;
  uint32_t max = 0;
  for (uint32_t i = 0; i < len; i++) {
    uint32_t v = ld32(at(ptr) + 4 * i);
    sum += v;
    if (v > max) max = v;
  }
  free_buf(ptr, len);
  memset(RET, 0, 24);
  st32(RET + 0, len);
  st64(RET + 8, sum);
  st32(RET + 16, max);
  return RET;
}
POST("stats") void post_stats(uint8_t* area) {
  (void)area; /* nothing allocated */
}

/* ---- an import call from inside an export -------------------------------------------------- */

ECHO("log-twice") void log_twice(uint32_t ptr, uint32_t len) {
  theater_runtime_log((const char*)at(ptr), len);
  theater_runtime_log((const char*)at(ptr), len);
  free_buf(ptr, len);
}
