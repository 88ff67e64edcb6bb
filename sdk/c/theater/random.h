/* Theater guest SDK: `theater:simple/random` (host IMPORT).
 *
 *   random-bytes: func(length: u32) -> result<list<u8>, string>   (i32, i32 retptr) -> ()
 *   random-range: func(min: u64, max: u64) -> result<u64, string> (i64, i64, i32 retptr) -> ()
 *   random-float: func() -> result<f64, string>                   (i32 retptr) -> ()
 *   generate-uuid: func() -> result<string, string>               (i32 retptr) -> ()
 * Free what the host wrote into a result area with the matching theater_result_*_free.
 */
#ifndef THEATER_SDK_RANDOM_H_
#define THEATER_SDK_RANDOM_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_RANDOM_IFACE "theater:simple/random"

THEATER_IMPORT(THEATER_RANDOM_IFACE, "random-bytes")
void theater_random_bytes(uint32_t length, theater_result_bytes_t* ret);
THEATER_IMPORT(THEATER_RANDOM_IFACE, "random-range")
void theater_random_range(uint64_t min, uint64_t max, theater_result_u64_t* ret);
THEATER_IMPORT(THEATER_RANDOM_IFACE, "random-float")
void theater_random_float(theater_result_f64_t* ret);
THEATER_IMPORT(THEATER_RANDOM_IFACE, "generate-uuid")
void theater_random_generate_uuid(theater_result_string_t* ret);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_RANDOM_H_ */
