/* resources_guest: the component of src/component/resources_test.cc, written against the C
 * bindings `theater bindgen` generates for world.wit. Built without WASI imports. */
#include <stdlib.h>

#include "resources.h"

struct resources_api_counter_t {
  uint32_t value;
};

static uint32_t live_counters;
static resources_types_blob_own_t kept;
static int have_kept;

void resources_api_counter_destructor(resources_api_counter_t* rep) {
  --live_counters;
  free(rep);
}

resources_api_counter_own_t resources_exports_api_constructor_counter(uint32_t start) {
  resources_api_counter_t* rep = (resources_api_counter_t*)malloc(sizeof *rep);
  if (rep == NULL) __builtin_trap();
  rep->value = start;
  ++live_counters;
  return resources_api_counter_new(rep);
}

uint32_t resources_exports_api_method_counter_get(resources_api_counter_borrow_t self) {
  return self->value;
}

void resources_exports_api_method_counter_add(resources_api_counter_borrow_t self,
                                              resources_api_counter_borrow_t other) {
  self->value += other->value;
}

uint32_t resources_exports_api_live(void) { return live_counters; }

resources_api_counter_own_t resources_exports_api_make(resources_types_blob_borrow_t b,
                                                       uint32_t seed) {
  resources_types_blob_own_t made = resources_types_constructor_blob(seed);
  uint32_t sum = resources_types_method_blob_get(b) +
                 resources_types_method_blob_get(resources_types_blob_borrow_own(made));
  resources_types_blob_drop_own(made);
  return resources_exports_api_constructor_counter(sum);
}

uint32_t resources_exports_api_take(resources_api_counter_own_t c) {
  uint32_t value = resources_api_counter_rep(c)->value;
  resources_api_counter_drop_own(c);
  return value;
}

void resources_exports_api_keep(resources_types_blob_own_t b) {
  if (have_kept) resources_types_blob_drop_own(kept);
  kept = b;
  have_kept = 1;
}

uint32_t resources_exports_api_release(void) {
  if (!have_kept) return 0;
  uint32_t value = resources_types_method_blob_get(resources_types_blob_borrow_own(kept));
  resources_types_blob_drop_own(kept);
  have_kept = 0;
  return value;
}

uint32_t resources_exports_api_sum(resources_list_borrow_types_blob_t* blobs) {
  uint32_t sum = 0;
  for (size_t i = 0; i < blobs->len; i++) sum += resources_types_method_blob_get(blobs->ptr[i]);
  return sum;
}

uint32_t resources_exports_api_forge(uint32_t handle) {
  resources_types_blob_borrow_t forged = {(int32_t)handle};
  return resources_types_method_blob_get(forged);
}

uint32_t resources_exports_api_confuse(resources_types_blob_own_t b) {
  resources_api_counter_own_t as_counter = {b.handle};
  return resources_api_counter_rep(as_counter)->value;
}
