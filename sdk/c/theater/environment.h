/* Theater guest SDK: `theater:simple/environment` (host IMPORT), the host's environment
 * variables as the actor's configuration allows it to see them.
 *
 *   get-var: func(name: string) -> option<string>          (i32, i32, i32 retptr) -> ()
 *   list-vars: func() -> list<tuple<string, string>>       (i32 retptr) -> ()
 *   exists: func(name: string) -> bool                     (i32, i32) -> i32
 * Free what the host wrote into a result area with theater_option_string_free /
 * theater_string_pairs_free.
 */
#ifndef THEATER_SDK_ENVIRONMENT_H_
#define THEATER_SDK_ENVIRONMENT_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_ENVIRONMENT_IFACE "theater:simple/environment"

THEATER_IMPORT(THEATER_ENVIRONMENT_IFACE, "get-var")
void theater_env_get_var(const char* name, size_t name_len, theater_option_string_t* ret);
THEATER_IMPORT(THEATER_ENVIRONMENT_IFACE, "list-vars")
void theater_env_list_vars(theater_string_pairs_t* ret);
THEATER_IMPORT(THEATER_ENVIRONMENT_IFACE, "exists")
bool theater_env_exists(const char* name, size_t name_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_ENVIRONMENT_H_ */
