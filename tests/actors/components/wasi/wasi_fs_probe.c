/* wasi_fs_probe: an actor that works on files (and sleeps) with plain POSIX calls of wasi-libc,
 * made into a component with the WASI preview-1 adapter, so that every file operation reaches the
 * host as wasi:filesystem (src/component/wasi_filesystem.cc). Written against the C bindings
 * `theater bindgen` generates for the world `message-server-actor`.
 *
 * handle-request takes one command and answers "ok", "ok <data>" or "error <strerror(errno)>":
 *   write <path> <text>     create or truncate, then write
 *   append <path> <text>    append (creating the file)
 *   read <path>             the whole file
 *   size <path>             stat's size
 *   ls <path>               the entries, comma-separated, in the order readdir gives them
 *   mkdir <path>, rm <path>, rmdir <path>, mv <from> <to>
 *   sleep <ms>              usleep (a WASI poll on a monotonic-clock subscription); answers
 *                           "ok <ms it took by the monotonic clock>"
 * The other exports do nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "message_server_actor.h"

typedef message_server_actor_option_list_u8_t state_t;

static void keep_state(state_t* state, state_t* out) {
  *out = *state; /* taken whole */
  state->is_some = false;
  state->val.ptr = NULL;
  state->val.len = 0;
}

/* Sets `reply` to the bytes of `text` (copied). */
static void set_reply(message_server_actor_option_list_u8_t* reply, const char* text) {
  size_t len = strlen(text);
  reply->is_some = true;
  reply->val.ptr = (uint8_t*)malloc(len ? len : 1);
  reply->val.len = len;
  memcpy(reply->val.ptr, text, len);
}

static char* fail(char* out, size_t size) {
  snprintf(out, size, "error %s", strerror(errno));
  return out;
}

static char* run(char* command, char* out, size_t size) {
  char* verb = strtok(command, " ");
  char* path = strtok(NULL, " ");
  char* rest = strtok(NULL, "");
  if (verb == NULL || path == NULL) return strcpy(out, "error usage");
  if (strcmp(verb, "sleep") == 0) {
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    if (usleep((useconds_t)atoi(path) * 1000) != 0) return fail(out, size);
    clock_gettime(CLOCK_MONOTONIC, &after);
    long long ms =
        (after.tv_sec - before.tv_sec) * 1000LL + (after.tv_nsec - before.tv_nsec) / 1000000;
    snprintf(out, size, "ok %lld", ms);
    return out;
  }
  if (strcmp(verb, "write") == 0 || strcmp(verb, "append") == 0) {
    const int append = verb[0] == 'a';
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) return fail(out, size);
    size_t len = rest ? strlen(rest) : 0;
    ssize_t n = write(fd, rest ? rest : "", len);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n != (ssize_t)len) return fail(out, size);
    return strcpy(out, "ok");
  }
  if (strcmp(verb, "read") == 0) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(out, size);
    size_t used = (size_t)snprintf(out, size, "ok ");
    ssize_t n;
    while (used + 1 < size && (n = read(fd, out + used, size - used - 1)) > 0) used += (size_t)n;
    out[used] = '\0';
    close(fd);
    return out;
  }
  if (strcmp(verb, "size") == 0) {
    struct stat st;
    if (stat(path, &st) != 0) return fail(out, size);
    snprintf(out, size, "ok %lld", (long long)st.st_size);
    return out;
  }
  if (strcmp(verb, "ls") == 0) {
    DIR* dir = opendir(path);
    if (dir == NULL) return fail(out, size);
    size_t used = (size_t)snprintf(out, size, "ok ");
    struct dirent* entry;
    int first = 1;
    while ((entry = readdir(dir)) != NULL) {
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      used += (size_t)snprintf(out + used, size - used, "%s%s", first ? "" : ",", entry->d_name);
      first = 0;
      if (used >= size) break;
    }
    closedir(dir);
    return out;
  }
  int rc;
  if (strcmp(verb, "mkdir") == 0) rc = mkdir(path, 0755);
  else if (strcmp(verb, "rm") == 0) rc = unlink(path);
  else if (strcmp(verb, "rmdir") == 0) rc = rmdir(path);
  else if (strcmp(verb, "mv") == 0 && rest != NULL) rc = rename(path, rest);
  else return strcpy(out, "error usage");
  return rc == 0 ? strcpy(out, "ok") : fail(out, size);
}

void message_server_actor_exports_message_server_client_handle_request(
    state_t* state, message_server_actor_tuple2_string_list_u8_t* params,
    message_server_actor_result_tuple2_option_list_u8_tuple1_option_list_u8_string_t* ret) {
  char command[512];
  size_t len = params->f1.len < sizeof command - 1 ? params->f1.len : sizeof command - 1;
  memcpy(command, params->f1.ptr, len);
  command[len] = '\0';
  static char out[4096];
  run(command, out, sizeof out);
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
  set_reply(&ret->val.ok.f1.f0, out);
}

void message_server_actor_exports_actor_init(state_t* state,
                                             message_server_actor_tuple1_string_t* params,
                                             message_server_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
}

void message_server_actor_exports_message_server_client_handle_send(
    state_t* state, message_server_actor_tuple1_list_u8_t* params,
    message_server_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
}

void message_server_actor_exports_message_server_client_handle_channel_open(
    state_t* state, message_server_actor_tuple2_string_list_u8_t* params,
    message_server_actor_result_tuple2_option_list_u8_tuple1_types_channel_accept_string_t* ret) {
  (void)params;
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
  ret->val.ok.f1.f0.accepted = false;
  ret->val.ok.f1.f0.message.is_some = false;
}

void message_server_actor_exports_message_server_client_handle_channel_message(
    state_t* state, message_server_actor_tuple2_types_channel_id_list_u8_t* params,
    message_server_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
}

void message_server_actor_exports_message_server_client_handle_channel_close(
    state_t* state, message_server_actor_tuple1_types_channel_id_t* params,
    message_server_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  keep_state(state, &ret->val.ok.f0);
}
