/* Theater guest SDK: `theater:simple/timing` (host IMPORT).
 *
 *   now: func() -> u64                                   () -> i64   (ms since the Unix epoch)
 *   sleep: func(duration: u64) -> result<_, string>      (i64 ms, i32 retptr) -> ()
 *   deadline: func(timestamp: u64) -> result<_, string>  (i64 ms since epoch, i32 retptr) -> ()
 * sleep and deadline suspend the actor (not the host thread) until the time has come.
 */
#ifndef THEATER_SDK_TIMING_H_
#define THEATER_SDK_TIMING_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_TIMING_IFACE "theater:simple/timing"

THEATER_IMPORT(THEATER_TIMING_IFACE, "now") uint64_t theater_timing_now(void);
THEATER_IMPORT(THEATER_TIMING_IFACE, "sleep")
void theater_timing_sleep(uint64_t duration_ms, theater_result_t* ret);
THEATER_IMPORT(THEATER_TIMING_IFACE, "deadline")
void theater_timing_deadline(uint64_t timestamp_ms, theater_result_t* ret);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_TIMING_H_ */
