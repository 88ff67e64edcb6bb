/* Theater guest SDK: `theater:simple/runtime-ext` (host IMPORT), the runtime services beyond
 * `runtime`: identity, time, levelled logging, metrics, custom chain events and host facts.
 *
 *   actor-id: func() -> string                               (i32 retptr) -> ()
 *   actor-name: func() -> string                             (i32 retptr) -> ()
 *   now: func() -> u64                                       () -> i64
 *   get-env: func(name: string) -> option<string>            (i32, i32, i32 retptr) -> ()
 *   log-at: func(level: log-level, msg: string)              (i32, i32, i32) -> ()
 *   record-metric: func(name: string, value: f64)            (i32, i32, f64) -> ()
 *   record-event: func(event-type: string, data: list<u8>) -> result<_, string>
 *                                                            (i32, i32, i32, i32, i32 retptr) -> ()
 *   theater-version: func() -> string                        (i32 retptr) -> ()
 *   system-info: func() -> host-info                         (i32 retptr) -> ()
 * Strings the host writes are the caller's to free (theater_string_free and friends).
 */
#ifndef THEATER_SDK_RUNTIME_EXT_H_
#define THEATER_SDK_RUNTIME_EXT_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_RUNTIME_EXT_IFACE "theater:simple/runtime-ext"

/* enum log-level, in declaration order. */
typedef enum {
  THEATER_LOG_TRACE = 0,
  THEATER_LOG_DEBUG = 1,
  THEATER_LOG_INFO = 2,
  THEATER_LOG_WARN = 3,
  THEATER_LOG_ERROR = 4,
} theater_log_level_t;

/* record host-info { hostname: string, os: string, cpus: u32, memory-total: u64,
 *                    memory-available: u64, uptime-secs: u64 } */
typedef struct {
  theater_string_t hostname;
  theater_string_t os;
  uint32_t cpus;
  uint64_t memory_total;
  uint64_t memory_available;
  uint64_t uptime_secs;
} theater_host_info_t;
THEATER_ABI_CHECK(theater_host_info_t, 48, 8);
THEATER_ABI_CHECK_OFFSET(theater_host_info_t, memory_total, 24);

THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "actor-id")
void theater_runtime_actor_id(theater_string_t* ret);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "actor-name")
void theater_runtime_actor_name(theater_string_t* ret);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "now") uint64_t theater_runtime_now(void);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "get-env")
void theater_runtime_get_env(const char* name, size_t name_len, theater_option_string_t* ret);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "log-at")
void theater_runtime_log_at(theater_log_level_t level, const char* msg, size_t len);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "record-metric")
void theater_runtime_record_metric(const char* name, size_t name_len, double value);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "record-event")
void theater_runtime_record_event(const char* type, size_t type_len, const uint8_t* data,
                                  size_t data_len, theater_result_t* ret);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "theater-version")
void theater_runtime_version(theater_string_t* ret);
THEATER_IMPORT(THEATER_RUNTIME_EXT_IFACE, "system-info")
void theater_runtime_system_info(theater_host_info_t* ret);

static inline void theater_host_info_free(theater_host_info_t* info) {
  theater_string_free(&info->hostname);
  theater_string_free(&info->os);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_RUNTIME_EXT_H_ */
