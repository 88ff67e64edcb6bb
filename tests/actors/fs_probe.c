/* fs_probe: a test actor for the filesystem handler (theater:simple/filesystem), driven by text
 * commands sent as requests. Fields are separated by ':'; the last field of each command takes
 * the rest of the message (so a path may contain anything but ':' — NUL bytes included — and
 * written text anything at all). Each command replies with its result, or "error:<why>":
 *   read:<path>                    read-file → the content
 *   write:<path>:<text>            write-file → "ok"
 *   ls:<path>                      list-files → names, comma-separated
 *   rm:<path>                      delete-file → "ok"
 *   mkdir:<path>                   create-dir → "ok"
 *   rmdir:<path>                   delete-dir → "ok"
 *   exists:<path>                  path-exists → "true" / "false"
 *   exec:<dir>:<cmd>[:<arg>...]    execute-command → "exit=<code>;stdout=<...>;stderr=<...>",
 *                                  or "cmd-error:<message>" for command-result.error
 *   nix:<dir>:<command>            execute-nix-command → the same
 * The SDK has no filesystem header yet, so the imports are declared here.
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

#define FS_IFACE "theater:simple/filesystem"

/* result<command-result, string>; command-result is
 * variant { success(record { stdout: string, stderr: string, exit-code: s32 }),
 *           error(record { message: string }) }. */
typedef struct {
  bool is_err;
  union {
    struct {
      uint8_t tag; /* 0 = success, 1 = error */
      union {
        struct {
          theater_string_t out;
          theater_string_t err;
          int32_t exit_code;
        } success;
        theater_string_t message;
      } u;
    } ok;
    theater_string_t err;
  };
} fs_result_command_t;
_Static_assert(sizeof(fs_result_command_t) == 28, "result<command-result, string> is 28 bytes");
_Static_assert(offsetof(fs_result_command_t, ok.u.success.exit_code) == 24, "exit-code offset");

THEATER_IMPORT(FS_IFACE, "read-file")
void fs_read_file(const char* path, size_t path_len, theater_result_bytes_t* ret);
THEATER_IMPORT(FS_IFACE, "write-file")
void fs_write_file(const char* path, size_t path_len, const char* content, size_t content_len,
                   theater_result_t* ret);
THEATER_IMPORT(FS_IFACE, "list-files")
void fs_list_files(const char* path, size_t path_len, theater_result_strings_t* ret);
THEATER_IMPORT(FS_IFACE, "delete-file")
void fs_delete_file(const char* path, size_t path_len, theater_result_t* ret);
THEATER_IMPORT(FS_IFACE, "create-dir")
void fs_create_dir(const char* path, size_t path_len, theater_result_t* ret);
THEATER_IMPORT(FS_IFACE, "delete-dir")
void fs_delete_dir(const char* path, size_t path_len, theater_result_t* ret);
THEATER_IMPORT(FS_IFACE, "path-exists")
void fs_path_exists(const char* path, size_t path_len, theater_result_bool_t* ret);
THEATER_IMPORT(FS_IFACE, "execute-command")
void fs_execute_command(const char* dir, size_t dir_len, const char* command, size_t command_len,
                        const theater_string_t* args, size_t args_len, fs_result_command_t* ret);
THEATER_IMPORT(FS_IFACE, "execute-nix-command")
void fs_execute_nix_command(const char* dir, size_t dir_len, const char* command,
                            size_t command_len, fs_result_command_t* ret);

static void reply_command(theater_option_bytes_t* response, fs_result_command_t* r) {
  if (r->is_err) {
    reply(response, "error:%.*s", (int)r->err.len, r->err.ptr);
    theater_string_free(&r->err);
  } else if (r->ok.tag == 1) {
    reply(response, "cmd-error:%.*s", (int)r->ok.u.message.len, r->ok.u.message.ptr);
    theater_string_free(&r->ok.u.message);
  } else {
    reply(response, "exit=%d;stdout=%.*s;stderr=%.*s", (int)r->ok.u.success.exit_code,
          (int)r->ok.u.success.out.len, r->ok.u.success.out.ptr, (int)r->ok.u.success.err.len,
          r->ok.u.success.err.ptr);
    theater_string_free(&r->ok.u.success.out);
    theater_string_free(&r->ok.u.success.err);
  }
}

PROBE_INIT("fs_probe")

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  const char* text = (const char*)msg.ptr;
  field_t f[3];
  size_t n = fields(text, msg.len, f, 2);
  theater_result_t ru;
  if (n == 2 && is(f[0], "read")) {
    theater_result_bytes_t rb;
    fs_read_file(f[1].ptr, f[1].len, &rb);
    if (rb.is_err) {
      reply(response, "error:%.*s", (int)rb.err.len, rb.err.ptr);
    } else {
      theater_state_set(response, rb.ok.ptr, rb.ok.len);
    }
    theater_result_bytes_free(&rb);
  } else if (n == 2 && is(f[0], "write")) {
    n = fields(text, msg.len, f, 3);
    if (n != 3) return theater_err("write needs a path and text");
    fs_write_file(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && is(f[0], "ls")) {
    theater_result_strings_t rl;
    fs_list_files(f[1].ptr, f[1].len, &rl);
    if (rl.is_err) {
      reply(response, "error:%.*s", (int)rl.err.len, rl.err.ptr);
    } else {
      size_t total = 1;
      for (size_t i = 0; i < rl.ok.len; i++) total += rl.ok.ptr[i].len + 1;
      char* buf = (char*)theater_xmalloc(total);
      size_t at = 0;
      for (size_t i = 0; i < rl.ok.len; i++) {
        if (i) buf[at++] = ',';
        memcpy(buf + at, rl.ok.ptr[i].ptr, rl.ok.ptr[i].len);
        at += rl.ok.ptr[i].len;
      }
      theater_state_adopt(response, (uint8_t*)buf, at);
    }
    theater_result_strings_free(&rl);
  } else if (n == 2 && is(f[0], "rm")) {
    fs_delete_file(f[1].ptr, f[1].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && is(f[0], "mkdir")) {
    fs_create_dir(f[1].ptr, f[1].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && is(f[0], "rmdir")) {
    fs_delete_dir(f[1].ptr, f[1].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && is(f[0], "exists")) {
    theater_result_bool_t rb;
    fs_path_exists(f[1].ptr, f[1].len, &rb);
    if (rb.is_err) {
      reply(response, "error:%.*s", (int)rb.err.len, rb.err.ptr);
      theater_string_free(&rb.err);
    } else {
      reply(response, rb.ok ? "true" : "false");
    }
  } else if (n == 2 && is(f[0], "nix")) {
    n = fields(text, msg.len, f, 3);
    if (n != 3) return theater_err("nix needs a dir and a command");
    fs_result_command_t rc;
    fs_execute_nix_command(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &rc);
    reply_command(response, &rc);
  } else if (n == 2 && is(f[0], "exec")) {
    /* exec:<dir>:<cmd>:<arg>:<arg>... — every ':' separates. */
    field_t all[34];
    size_t count = fields(text, msg.len, all, 34);
    if (count < 3) return theater_err("exec needs a dir and a command");
    theater_string_t args[31];
    for (size_t i = 3; i < count; i++) {
      args[i - 3].ptr = (char*)all[i].ptr;
      args[i - 3].len = all[i].len;
    }
    fs_result_command_t rc;
    fs_execute_command(all[1].ptr, all[1].len, all[2].ptr, all[2].len, args, count - 3, &rc);
    reply_command(response, &rc);
  } else {
    return theater_err("unknown command '%.*s'", (int)msg.len, text);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
