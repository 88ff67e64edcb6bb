/* no_realloc: exports theater:simple/actor#init with its correct core signature but no
 * cabi_realloc, so the host cannot pass it the actor id (a string) or a state.
 * Expected outcome: the host refuses the module when it binds it (before calling init), with an
 * error that names the missing `cabi_realloc` export; nothing is called.
 *
 * Deliberately does not include the SDK, which would define cabi_realloc.
 */
#include <stdint.h>

/* result<tuple<option<list<u8>>>, string> in memory: case u8 @0, option<list<u8>> @4
 * (case u8 @4, ptr @8, len @12); size 16. All zero = ok(none). */
static uint32_t ret_area[4];

/* (i32 state_tag, i32 state_ptr, i32 state_len, i32 id_ptr, i32 id_len) -> i32 */
__attribute__((export_name("theater:simple/actor#init"))) uint32_t* init(
    int32_t state_tag, uint32_t state_ptr, uint32_t state_len, uint32_t id_ptr, uint32_t id_len) {
  (void)state_tag, (void)state_ptr, (void)state_len, (void)id_ptr, (void)id_len;
  return ret_area;
}

__attribute__((export_name("cabi_post_theater:simple/actor#init"))) void init_post(uint32_t* area) {
  (void)area;
}
