/* Theater guest SDK: `theater:simple/store`, the content-addressed store (host IMPORT).
 *
 * Raw declarations: flat parameters, then a retptr to a result area the caller owns; free what
 * the host wrote there with the matching theater_result_*_free. A content-ref is
 * `record content-ref { hash: string }`: it flattens to (hash ptr, hash len) as a parameter and
 * has the layout of a string in results, so results hand it back as a theater_string_t.
 */
#ifndef THEATER_SDK_STORE_H_
#define THEATER_SDK_STORE_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_STORE_IFACE "theater:simple/store"

/* new: func() -> result<string, string>   (ok = a new store id) */
THEATER_IMPORT(THEATER_STORE_IFACE, "new") void theater_store_new(theater_result_string_t* ret);

/* store: func(store-id: string, content: list<u8>) -> result<content-ref, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "store")
void theater_store_store(const char* store_id, size_t store_id_len, const uint8_t* content,
                         size_t content_len, theater_result_string_t* ret);

/* get: func(store-id: string, content-ref: content-ref) -> result<list<u8>, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "get")
void theater_store_get(const char* store_id, size_t store_id_len, const char* hash, size_t hash_len,
                       theater_result_bytes_t* ret);

/* exists: func(store-id: string, content-ref: content-ref) -> result<bool, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "exists")
void theater_store_exists(const char* store_id, size_t store_id_len, const char* hash,
                          size_t hash_len, theater_result_bool_t* ret);

/* label: func(store-id: string, label: string, content-ref: content-ref) -> result<_, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "label")
void theater_store_label(const char* store_id, size_t store_id_len, const char* label,
                         size_t label_len, const char* hash, size_t hash_len,
                         theater_result_t* ret);

/* get-by-label: func(store-id: string, label: string) -> result<option<content-ref>, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "get-by-label")
void theater_store_get_by_label(const char* store_id, size_t store_id_len, const char* label,
                                size_t label_len, theater_result_option_string_t* ret);

/* remove-label: func(store-id: string, label: string) -> result<_, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "remove-label")
void theater_store_remove_label(const char* store_id, size_t store_id_len, const char* label,
                                size_t label_len, theater_result_t* ret);

/* remove-from-label: func(store-id: string, label: string, content-ref: content-ref)
 *   -> result<_, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "remove-from-label")
void theater_store_remove_from_label(const char* store_id, size_t store_id_len, const char* label,
                                     size_t label_len, const char* hash, size_t hash_len,
                                     theater_result_t* ret);

/* store-at-label: func(store-id: string, label: string, content: list<u8>)
 *   -> result<content-ref, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "store-at-label")
void theater_store_store_at_label(const char* store_id, size_t store_id_len, const char* label,
                                  size_t label_len, const uint8_t* content, size_t content_len,
                                  theater_result_string_t* ret);

/* replace-content-at-label: func(store-id: string, label: string, content: list<u8>)
 *   -> result<content-ref, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "replace-content-at-label")
void theater_store_replace_content_at_label(const char* store_id, size_t store_id_len,
                                            const char* label, size_t label_len,
                                            const uint8_t* content, size_t content_len,
                                            theater_result_string_t* ret);

/* replace-at-label: func(store-id: string, label: string, content-ref: content-ref)
 *   -> result<_, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "replace-at-label")
void theater_store_replace_at_label(const char* store_id, size_t store_id_len, const char* label,
                                    size_t label_len, const char* hash, size_t hash_len,
                                    theater_result_t* ret);

/* list-labels: func(store-id: string) -> result<list<string>, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "list-labels")
void theater_store_list_labels(const char* store_id, size_t store_id_len,
                               theater_result_strings_t* ret);

/* list-all-content: func(store-id: string) -> result<list<content-ref>, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "list-all-content")
void theater_store_list_all_content(const char* store_id, size_t store_id_len,
                                    theater_result_strings_t* ret);

/* calculate-total-size: func(store-id: string) -> result<u64, string> */
THEATER_IMPORT(THEATER_STORE_IFACE, "calculate-total-size")
void theater_store_calculate_total_size(const char* store_id, size_t store_id_len,
                                        theater_result_u64_t* ret);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_STORE_H_ */
