/* kitchen_sink_impl: implements every export of tests/bindgen/wit/kitchen-sink.wit against the
 * generated C bindings and references every import wrapper, so that the linked module carries
 * the whole world's core imports and exports. bindgen_abi_test checks their names and core
 * signatures against the host's canonical ABI. The module is never run (no host implements
 * test:kitchen-sink), so the bodies only need to be plausible. */
#include <stdlib.h>
#include <string.h>

#include "kitchen_sink.h"

struct kitchen_sink_guest_counter_t {
  uint64_t value;
};

static kitchen_sink_string_t copy_str(const char* s) {
  kitchen_sink_string_t r = {NULL, strlen(s)};
  if (r.len != 0) {
    r.ptr = (char*)malloc(r.len);
    if (r.ptr == NULL) __builtin_trap();
    memcpy(r.ptr, s, r.len);
  }
  return r;
}

static kitchen_sink_guest_counter_own_t new_counter(uint64_t start) {
  kitchen_sink_guest_counter_t* rep =
      (kitchen_sink_guest_counter_t*)malloc(sizeof(kitchen_sink_guest_counter_t));
  if (rep == NULL) __builtin_trap();
  rep->value = start;
  return kitchen_sink_guest_counter_new(rep);
}

void kitchen_sink_guest_counter_destructor(kitchen_sink_guest_counter_t* rep) {
  free(rep);
}

kitchen_sink_guest_counter_own_t kitchen_sink_exports_guest_constructor_counter(uint64_t start) {
  return new_counter(start);
}

uint64_t kitchen_sink_exports_guest_method_counter_increment(
    kitchen_sink_guest_counter_borrow_t self, uint64_t by) {
  self->value += by;
  return self->value;
}

void kitchen_sink_exports_guest_method_counter_label(kitchen_sink_guest_counter_borrow_t self,
                                                     kitchen_sink_string_t* ret) {
  *ret = copy_str(self->value != 0 ? "counting" : "zero");
}

kitchen_sink_guest_counter_own_t kitchen_sink_exports_guest_static_counter_combine(
    kitchen_sink_guest_counter_borrow_t a, kitchen_sink_guest_counter_borrow_t b) {
  return new_counter(a->value + b->value);
}

void kitchen_sink_exports_guest_configure(kitchen_sink_guest_config_t* c,
                                          kitchen_sink_result_shared_id_string_t* ret) {
  ret->is_err = c->name.len == 0;
  if (ret->is_err) {
    ret->val.err = copy_str("empty name");
  } else {
    ret->val.ok = c->name; /* taken: zero it so the bindings do not free it */
    c->name.ptr = NULL;
    c->name.len = 0;
  }
}

void kitchen_sink_exports_guest_paint(kitchen_sink_shared_color_t c, kitchen_sink_shared_shape_t* s,
                                      kitchen_sink_list_shared_shape_t* ret) {
  (void)c;
  ret->len = 1;
  ret->ptr = (kitchen_sink_shared_shape_t*)malloc(sizeof(kitchen_sink_shared_shape_t));
  if (ret->ptr == NULL) __builtin_trap();
  ret->ptr[0] = *s; /* taken whole */
  s->tag = KITCHEN_SINK_SHARED_SHAPE_EMPTY;
}

void kitchen_sink_exports_guest_echo_primitives(kitchen_sink_shared_primitives_t* p,
                                                kitchen_sink_shared_primitives_t* ret) {
  *ret = *p;
  p->m.ptr = NULL;
  p->m.len = 0;
}

uint64_t kitchen_sink_exports_guest_consume(kitchen_sink_shared_blob_own_t b) {
  uint64_t size = kitchen_sink_shared_method_blob_size(kitchen_sink_shared_blob_borrow_own(b));
  kitchen_sink_shared_blob_drop_own(b);
  return size;
}

uint64_t kitchen_sink_exports_guest_count(kitchen_sink_guest_counter_borrow_t c) {
  return c->value;
}

kitchen_sink_guest_counter_own_t kitchen_sink_exports_guest_make_counter(uint64_t start) {
  return new_counter(start);
}

void kitchen_sink_exports_guest_floats(float a, double b, kitchen_sink_option_f32_t* c,
                                       kitchen_sink_result_f64_f32_t* d,
                                       kitchen_sink_tuple2_f32_f64_t* ret) {
  ret->f0 = a + (c->is_some ? c->val : 0.0f);
  ret->f1 = b + (d->is_err ? (double)d->val.err : d->val.ok);
}

void kitchen_sink_exports_guest_spill_export(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                             uint64_t e, uint64_t f, uint64_t g, uint64_t h,
                                             kitchen_sink_string_t* i, kitchen_sink_string_t* j,
                                             kitchen_sink_string_t* k, kitchen_sink_string_t* l,
                                             float m, kitchen_sink_option_string_t* ret) {
  (void)j;
  (void)k;
  (void)l;
  ret->is_some = a + b + c + d + e + f + g + h != 0 || m != 0.0f;
  if (ret->is_some) {
    ret->val = *i;
    i->len = 0;
  }
}

void kitchen_sink_exports_guest_nothing(void) {}

kitchen_sink_shared_permissions_t kitchen_sink_exports_guest_flags_out(void) {
  return KITCHEN_SINK_SHARED_PERMISSIONS_READ | KITCHEN_SINK_SHARED_PERMISSIONS_EXECUTE;
}

typedef void (*any_fn)(void);
/* Every import wrapper, so that the linker keeps every core import. */
static volatile any_fn imports[] = {
    (any_fn)kitchen_sink_host_log,
    (any_fn)kitchen_sink_host_add,
    (any_fn)kitchen_sink_host_negate,
    (any_fn)kitchen_sink_host_ch,
    (any_fn)kitchen_sink_host_flip,
    (any_fn)kitchen_sink_host_big,
    (any_fn)kitchen_sink_host_mix,
    (any_fn)kitchen_sink_host_get_bytes,
    (any_fn)kitchen_sink_host_maybe,
    (any_fn)kitchen_sink_host_fallible,
    (any_fn)kitchen_sink_host_unit_result,
    (any_fn)kitchen_sink_host_err_only,
    (any_fn)kitchen_sink_host_ok_only,
    (any_fn)kitchen_sink_host_take_nested,
    (any_fn)kitchen_sink_host_all_primitives,
    (any_fn)kitchen_sink_host_shapes,
    (any_fn)kitchen_sink_host_on_event,
    (any_fn)kitchen_sink_host_pair,
    (any_fn)kitchen_sink_host_new_blob,
    (any_fn)kitchen_sink_host_peek,
    (any_fn)kitchen_sink_host_f32_or_f64,
    (any_fn)kitchen_sink_host_spill,
    (any_fn)kitchen_sink_shared_constructor_blob,
    (any_fn)kitchen_sink_shared_method_blob_read,
    (any_fn)kitchen_sink_shared_method_blob_write,
    (any_fn)kitchen_sink_shared_method_blob_size,
    (any_fn)kitchen_sink_shared_static_blob_merge,
    (any_fn)kitchen_sink_shared_blob_drop_own,
    (any_fn)kitchen_sink_guest_counter_rep,
    (any_fn)kitchen_sink_guest_counter_drop_own,
    (any_fn)kitchen_sink_ping,
};

void kitchen_sink_exports_run(kitchen_sink_list_string_t* args,
                              kitchen_sink_result_void_string_t* ret) {
  ret->is_err = imports[args->len % (sizeof imports / sizeof imports[0])] == NULL;
  if (ret->is_err) ret->val.err = copy_str("unreachable");
}
