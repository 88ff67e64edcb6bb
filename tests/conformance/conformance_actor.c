/* conformance_actor: the guest of the component-model conformance test
 * (tests/conformance/wit/conformance.wit), written only against the `theater bindgen --lang c`
 * bindings. Every roundtrip-* export passes its argument to the matching host echo and returns a
 * fixed transformation of what came back (integers xor a constant, strings reversed by code point,
 * lists reversed, ...), so that a value crossing the boundary in the wrong direction or shape
 * shows up in the trace. The resource exports make, lend, give and drop host blobs and implement
 * the guest's counter. The module imports nothing but the world: no WASI. */
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

/* ---- transformations: applied in place to values the guest owns ---------------------------- */

static int8_t xf_s8(int8_t x) { return (int8_t)((uint8_t)x ^ 0x5Au); }
static uint8_t xf_u8(uint8_t x) { return (uint8_t)(x ^ 0xA5u); }
static int16_t xf_s16(int16_t x) { return (int16_t)((uint16_t)x ^ 0x5A5Au); }
static uint16_t xf_u16(uint16_t x) { return (uint16_t)(x ^ 0xA5A5u); }
static int32_t xf_s32(int32_t x) { return (int32_t)((uint32_t)x ^ 0x5A5A5A5Au); }
static uint32_t xf_u32(uint32_t x) { return x ^ 0xA5A5A5A5u; }
static int64_t xf_s64(int64_t x) { return (int64_t)((uint64_t)x ^ 0x0123456789ABCDEFull); }
static uint64_t xf_u64(uint64_t x) { return x ^ 0xFEDCBA9876543210ull; }
static float xf_f32(float x) { return -x; }
static double xf_f64(double x) { return x * 2.0; }

/* The next Unicode scalar value, skipping the surrogates and wrapping after U+10FFFF. */
static uint32_t xf_char(uint32_t c) {
  if (c == 0xD7FFu) return 0xE000u;
  if (c >= 0x10FFFFu) return 0;
  return c + 1;
}

static conformance_types_color_t xf_color(conformance_types_color_t c) {
  return (conformance_types_color_t)((c + 1) % (CONFORMANCE_TYPES_COLOR_MAGENTA + 1));
}

static void reverse_bytes(uint8_t* p, size_t len) {
  for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
    uint8_t t = p[i];
    p[i] = p[j - 1];
    p[j - 1] = t;
  }
}

/* Reverses a (valid) UTF-8 string by code point: reverse all bytes, then put each code point's
 * bytes (now continuation bytes followed by their lead byte) back in order. */
static void xf_string(conformance_string_t* s) {
  if (s->len == 0) {
    s->ptr = NULL;
    return;
  }
  uint8_t* p = (uint8_t*)s->ptr;
  reverse_bytes(p, s->len);
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if ((p[i] & 0xC0u) != 0x80u) { /* a lead byte ends the reversed sequence */
      reverse_bytes(p + start, i + 1 - start);
      start = i + 1;
    }
  }
}

static void xf_bytes(conformance_list_u8_t* l) {
  if (l->len == 0) l->ptr = NULL;
  else reverse_bytes(l->ptr, l->len);
}

static void xf_point(conformance_types_point_t* p) {
  int32_t t = p->x;
  p->x = p->y;
  p->y = t;
}

/* Reverses the order of `len` elements of `size` bytes each. */
static void reverse_elements(void* base, size_t len, size_t size) {
  uint8_t tmp[64];
  uint8_t* p = (uint8_t*)base;
  if (size > sizeof tmp) __builtin_trap();
  for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
    memcpy(tmp, p + i * size, size);
    memcpy(p + i * size, p + (j - 1) * size, size);
    memcpy(p + (j - 1) * size, tmp, size);
  }
}

static void xf_strings(conformance_list_string_t* l) {
  if (l->len == 0) {
    l->ptr = NULL;
    return;
  }
  reverse_elements(l->ptr, l->len, sizeof l->ptr[0]);
  for (size_t i = 0; i < l->len; i++) xf_string(&l->ptr[i]);
}

static void xf_points(conformance_list_types_point_t* l) {
  if (l->len == 0) {
    l->ptr = NULL;
    return;
  }
  reverse_elements(l->ptr, l->len, sizeof l->ptr[0]);
  for (size_t i = 0; i < l->len; i++) xf_point(&l->ptr[i]);
}

static void xf_primitives(conformance_types_primitives_t* p) {
  p->a_bool = !p->a_bool;
  p->a_s8 = xf_s8(p->a_s8);
  p->a_u8 = xf_u8(p->a_u8);
  p->a_s16 = xf_s16(p->a_s16);
  p->a_u16 = xf_u16(p->a_u16);
  p->a_s32 = xf_s32(p->a_s32);
  p->a_u32 = xf_u32(p->a_u32);
  p->a_s64 = xf_s64(p->a_s64);
  p->a_u64 = xf_u64(p->a_u64);
  p->a_f32 = xf_f32(p->a_f32);
  p->a_f64 = xf_f64(p->a_f64);
  p->a_char = xf_char(p->a_char);
  xf_string(&p->a_string);
}

static void xf_shape(conformance_types_shape_t* s) {
  switch (s->tag) {
    case CONFORMANCE_TYPES_SHAPE_CIRCLE:
      s->val.circle = xf_f32(s->val.circle);
      break;
    case CONFORMANCE_TYPES_SHAPE_RECTANGLE: {
      double t = s->val.rectangle.f0;
      s->val.rectangle.f0 = s->val.rectangle.f1;
      s->val.rectangle.f1 = t;
      break;
    }
    case CONFORMANCE_TYPES_SHAPE_POLYGON:
      xf_points(&s->val.polygon);
      break;
    case CONFORMANCE_TYPES_SHAPE_NAMED:
      xf_string(&s->val.named);
      break;
    case CONFORMANCE_TYPES_SHAPE_EMPTY:
      break;
    case CONFORMANCE_TYPES_SHAPE_WIDE:
      s->val.wide = xf_u64(s->val.wide);
      break;
    default:
      __builtin_trap();
  }
}

static void xf_nested(conformance_types_nested_t* n) {
  xf_string(&n->name);
  xf_strings(&n->tags);
  if (n->where.is_some) xf_point(&n->where.val);
  if (n->outcome.is_err) xf_string(&n->outcome.val.err);
  else n->outcome.val.ok = xf_u64(n->outcome.val.ok);
  if (n->pairs.len == 0) {
    n->pairs.ptr = NULL;
  } else {
    reverse_elements(n->pairs.ptr, n->pairs.len, sizeof n->pairs.ptr[0]);
    for (size_t i = 0; i < n->pairs.len; i++) {
      xf_string(&n->pairs.ptr[i].f0);
      n->pairs.ptr[i].f1 = xf_u32(n->pairs.ptr[i].f1);
    }
  }
  if (n->colors.len == 0) n->colors.ptr = NULL;
  for (size_t i = 0; i < n->colors.len; i++) n->colors.ptr[i] = xf_color(n->colors.ptr[i]);
  if (n->maybe_shape.is_some) xf_shape(&n->maybe_shape.val);
  if (n->ratio.is_some) n->ratio.val = -n->ratio.val;
}

/* ---- roundtrips: host echo, then the transformation ----------------------------------------- */

bool conformance_exports_guest_roundtrip_bool(bool x) { return !conformance_host_echo_bool(x); }
int8_t conformance_exports_guest_roundtrip_s8(int8_t x) { return xf_s8(conformance_host_echo_s8(x)); }
uint8_t conformance_exports_guest_roundtrip_u8(uint8_t x) { return xf_u8(conformance_host_echo_u8(x)); }
int16_t conformance_exports_guest_roundtrip_s16(int16_t x) {
  return xf_s16(conformance_host_echo_s16(x));
}
uint16_t conformance_exports_guest_roundtrip_u16(uint16_t x) {
  return xf_u16(conformance_host_echo_u16(x));
}
int32_t conformance_exports_guest_roundtrip_s32(int32_t x) {
  return xf_s32(conformance_host_echo_s32(x));
}
uint32_t conformance_exports_guest_roundtrip_u32(uint32_t x) {
  return xf_u32(conformance_host_echo_u32(x));
}
int64_t conformance_exports_guest_roundtrip_s64(int64_t x) {
  return xf_s64(conformance_host_echo_s64(x));
}
uint64_t conformance_exports_guest_roundtrip_u64(uint64_t x) {
  return xf_u64(conformance_host_echo_u64(x));
}
float conformance_exports_guest_roundtrip_f32(float x) { return xf_f32(conformance_host_echo_f32(x)); }
double conformance_exports_guest_roundtrip_f64(double x) {
  return xf_f64(conformance_host_echo_f64(x));
}
uint32_t conformance_exports_guest_roundtrip_char(uint32_t x) {
  return xf_char(conformance_host_echo_char(x));
}

/* The echo's result belongs to the guest: it is transformed in place and returned in *ret (the
 * post-return frees it). The export's own parameter stays with the bindings. */
void conformance_exports_guest_roundtrip_string(conformance_string_t* x, conformance_string_t* ret) {
  conformance_host_echo_string(*x, ret);
  xf_string(ret);
}

void conformance_exports_guest_roundtrip_bytes(conformance_list_u8_t* x, conformance_list_u8_t* ret) {
  conformance_host_echo_bytes(*x, ret);
  xf_bytes(ret);
}

void conformance_exports_guest_roundtrip_strings(conformance_list_string_t* x,
                                                 conformance_list_string_t* ret) {
  conformance_host_echo_strings(*x, ret);
  xf_strings(ret);
}

void conformance_exports_guest_roundtrip_points(conformance_list_types_point_t* x,
                                                conformance_list_types_point_t* ret) {
  conformance_host_echo_points(*x, ret);
  xf_points(ret);
}

void conformance_exports_guest_roundtrip_tuple(conformance_tuple4_u8_string_f32_s64_t* x,
                                               conformance_tuple4_u8_string_f32_s64_t* ret) {
  conformance_host_echo_tuple(x, ret);
  ret->f0 = xf_u8(ret->f0);
  xf_string(&ret->f1);
  ret->f2 = xf_f32(ret->f2);
  ret->f3 = xf_s64(ret->f3);
}

void conformance_exports_guest_roundtrip_primitives(conformance_types_primitives_t* x,
                                                    conformance_types_primitives_t* ret) {
  conformance_host_echo_primitives(x, ret);
  xf_primitives(ret);
}

void conformance_exports_guest_roundtrip_point(conformance_types_point_t* x,
                                               conformance_types_point_t* ret) {
  conformance_host_echo_point(x, ret);
  xf_point(ret);
}

void conformance_exports_guest_roundtrip_shape(conformance_types_shape_t* x,
                                               conformance_types_shape_t* ret) {
  conformance_host_echo_shape(x, ret);
  xf_shape(ret);
}

conformance_types_color_t conformance_exports_guest_roundtrip_color(conformance_types_color_t x) {
  return xf_color(conformance_host_echo_color(x));
}

/* The complement within the declared labels: unused bits must stay clear. */
conformance_types_perms_t conformance_exports_guest_roundtrip_perms(conformance_types_perms_t x) {
  const conformance_types_perms_t all = CONFORMANCE_TYPES_PERMS_READ |
                                        CONFORMANCE_TYPES_PERMS_WRITE |
                                        CONFORMANCE_TYPES_PERMS_EXECUTE;
  return (conformance_types_perms_t)(~conformance_host_echo_perms(x) & all);
}

/* Rotated left by one label: f31 moves to f00. */
conformance_types_wide_t conformance_exports_guest_roundtrip_wide(conformance_types_wide_t x) {
  conformance_types_wide_t w = conformance_host_echo_wide(x);
  return (conformance_types_wide_t)((w << 1) | (w >> 31));
}

/* none -> some(none), some(none) -> none, some(some(v)) -> some(some(v xor K)). */
void conformance_exports_guest_roundtrip_option(conformance_option_option_u32_t* x,
                                                conformance_option_option_u32_t* ret) {
  conformance_option_option_u32_t echoed;
  conformance_host_echo_option(x, &echoed);
  if (!echoed.is_some) {
    ret->is_some = true;
    ret->val.is_some = false;
  } else if (!echoed.val.is_some) {
    ret->is_some = false;
  } else {
    ret->is_some = true;
    ret->val.is_some = true;
    ret->val.val = xf_u32(echoed.val.val);
  }
}

void conformance_exports_guest_roundtrip_result(conformance_result_string_types_color_t* x,
                                                conformance_result_string_types_color_t* ret) {
  conformance_host_echo_result(x, ret);
  if (ret->is_err) ret->val.err = xf_color(ret->val.err);
  else xf_string(&ret->val.ok);
}

/* ok and err swap. */
void conformance_exports_guest_roundtrip_unit_result(conformance_result_void_void_t* x,
                                                     conformance_result_void_void_t* ret) {
  conformance_result_void_void_t echoed;
  conformance_host_echo_unit_result(x, &echoed);
  ret->is_err = !echoed.is_err;
}

void conformance_exports_guest_roundtrip_nested(conformance_types_nested_t* x,
                                                conformance_types_nested_t* ret) {
  conformance_host_echo_nested(x, ret);
  xf_nested(ret);
}

void conformance_exports_guest_roundtrip_spill(uint8_t a, int16_t b, uint32_t c, int64_t d,
                                               float e, double f, uint32_t g, bool h,
                                               conformance_string_t* i, conformance_list_u8_t* j,
                                               conformance_types_point_t* k, uint64_t l,
                                               conformance_option_u8_t* m,
                                               conformance_types_spilled_t* ret) {
  conformance_host_spill(a, b, c, d, e, f, g, h, *i, *j, k, l, m, ret);
  ret->a = xf_u8(ret->a);
  ret->b = xf_s16(ret->b);
  ret->c = xf_u32(ret->c);
  ret->d = xf_s64(ret->d);
  ret->e = xf_f32(ret->e);
  ret->f = xf_f64(ret->f);
  ret->g = xf_char(ret->g);
  ret->h = !ret->h;
  xf_string(&ret->i);
  xf_bytes(&ret->j);
  xf_point(&ret->k);
  ret->l = xf_u64(ret->l);
  if (ret->m.is_some) ret->m.val = xf_u8(ret->m.val);
}

void conformance_exports_guest_roundtrip_pair(uint64_t a, conformance_string_t* b, double c,
                                              conformance_tuple3_u64_string_f64_t* ret) {
  conformance_host_echo_pair(a, *b, c, ret);
  ret->f0 = xf_u64(ret->f0);
  xf_string(&ret->f1);
  ret->f2 = xf_f64(ret->f2);
}

/* ---- the guest's resource: counter ---------------------------------------------------------- */

struct conformance_guest_counter_t {
  uint64_t value;
};

static conformance_guest_counter_own_t new_counter(uint64_t start) {
  conformance_guest_counter_t* rep =
      (conformance_guest_counter_t*)malloc(sizeof(conformance_guest_counter_t));
  if (rep == NULL) __builtin_trap();
  rep->value = start;
  return conformance_guest_counter_new(rep);
}

void conformance_guest_counter_destructor(conformance_guest_counter_t* rep) { free(rep); }

conformance_guest_counter_own_t conformance_exports_guest_constructor_counter(uint64_t start) {
  return new_counter(start);
}

uint64_t conformance_exports_guest_method_counter_increment(conformance_guest_counter_borrow_t self,
                                                            uint64_t by) {
  self->value += by; /* wraps */
  return self->value;
}

uint64_t conformance_exports_guest_method_counter_get(conformance_guest_counter_borrow_t self) {
  return self->value;
}

/* b is owned: read it, then drop the handle (which runs the destructor). */
conformance_guest_counter_own_t conformance_exports_guest_static_counter_merge(
    conformance_guest_counter_borrow_t a, conformance_guest_counter_own_t b) {
  uint64_t sum = a->value + conformance_guest_counter_rep(b)->value;
  conformance_guest_counter_drop_own(b);
  return new_counter(sum);
}

uint64_t conformance_exports_guest_count_of(conformance_guest_counter_borrow_t c) {
  return c->value;
}

/* ---- the host's resource: blob -------------------------------------------------------------- */

static uint64_t sum_bytes(const conformance_list_u8_t* l) {
  uint64_t sum = 0;
  for (size_t i = 0; i < l->len; i++) sum += l->ptr[i];
  return sum;
}

/* Makes a blob of init, appends extra, reads it through a borrow passed to blob-bytes and through
 * its own methods, drops it, and returns read() followed by the low byte of size(). The bytes
 * blob-bytes returned must be the same as read()'s; if not, the result is empty. */
void conformance_exports_guest_blob_roundtrip(conformance_list_u8_t* init, conformance_list_u8_t* extra,
                                              conformance_list_u8_t* ret) {
  conformance_types_blob_own_t blob = conformance_types_constructor_blob(*init);
  conformance_types_blob_borrow_t ref = conformance_types_blob_borrow_own(blob);
  conformance_types_method_blob_append(ref, *extra);
  conformance_list_u8_t via_host;
  conformance_host_blob_bytes(ref, &via_host);
  conformance_list_u8_t contents;
  conformance_types_method_blob_read(ref, &contents);
  uint64_t size = conformance_types_method_blob_size(ref);
  conformance_types_blob_drop_own(blob);

  bool same = via_host.len == contents.len &&
              (contents.len == 0 || memcmp(via_host.ptr, contents.ptr, contents.len) == 0);
  conformance_list_u8_free(&via_host);
  if (!same) {
    conformance_list_u8_free(&contents);
    return; /* *ret stays empty */
  }
  ret->len = contents.len + 1;
  ret->ptr = (uint8_t*)malloc(ret->len);
  if (ret->ptr == NULL) __builtin_trap();
  if (contents.len != 0) memcpy(ret->ptr, contents.ptr, contents.len);
  ret->ptr[contents.len] = (uint8_t)size;
  conformance_list_u8_free(&contents);
}

/* A lent blob: passes the borrow on to blob-bytes and calls size(); returns
 * size * 1000 + the sum of the bytes. The bindings drop the borrow after this returns, as the
 * canonical ABI requires. */
uint64_t conformance_exports_guest_use_blob(conformance_types_blob_borrow_t b) {
  conformance_list_u8_t contents;
  conformance_host_blob_bytes(b, &contents);
  uint64_t size = conformance_types_method_blob_size(b);
  uint64_t sum = sum_bytes(&contents);
  conformance_list_u8_free(&contents);
  return size * 1000 + sum;
}

/* A given blob: one of even size goes back to the host through take-blob (whose result is
 * returned); one of odd size is read, dropped by the guest, and the sum of its bytes returned. */
uint64_t conformance_exports_guest_give_blob(conformance_types_blob_own_t b) {
  uint64_t size = conformance_types_method_blob_size(conformance_types_blob_borrow_own(b));
  if (size % 2 == 0) return conformance_host_take_blob(b);
  conformance_list_u8_t contents;
  conformance_types_method_blob_read(conformance_types_blob_borrow_own(b), &contents);
  conformance_types_blob_drop_own(b);
  uint64_t sum = sum_bytes(&contents);
  conformance_list_u8_free(&contents);
  return sum;
}
