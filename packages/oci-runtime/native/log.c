/* Errors and warnings as runc writes them: `time="..." level=error msg="..."` lines on stderr,
 * or with --log FILE in that file (text or JSON lines), the bare message then also on stderr.
 * podman reads a JSON log as one object: in JSON mode only the error line (and debug lines
 * with --debug) are written. src/log.ts does the same for the Node half. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static const char *log_file;
static enum log_format log_format = LOG_TEXT;
static int log_debug_enabled;

void log_setup(const char *file, enum log_format format, int debug) {
  log_file = file;
  log_format = format;
  log_debug_enabled = debug;
}

void rfc3339_now(char *into, size_t size) {
  time_t now = time(NULL);
  struct tm utc;
  gmtime_r(&now, &utc);
  strftime(into, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

static void log_line(const char *level, const char *format, va_list args) {
  char message[4096], time_text[32];
  vsnprintf(message, sizeof message, format, args);
  rfc3339_now(time_text, sizeof time_text);
  struct text line = {0};
  if (log_format == LOG_JSON) {
    text_add(&line, "{\"level\":", 9);
    text_json_string(&line, level);
    text_add(&line, ",\"msg\":", 7);
    text_json_string(&line, message);
    text_printf(&line, ",\"time\":\"%s\"}\n", time_text);
  } else {
    /* logrus's text quoting is Go's %q: a JSON string is the same for what we print. */
    text_printf(&line, "time=\"%s\" level=%s msg=", time_text, level);
    text_json_string(&line, message);
    text_add(&line, "\n", 1);
  }
  int fd = 2;
  if (log_file != NULL) fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) write_all(fd, line.data, line.length);
  if (fd > 2) close(fd);
  text_free(&line);
  /* As runc: with a log file, the error itself still reaches stderr, bare. */
  if (log_file != NULL && strcmp(level, "error") == 0) dprintf(2, "%s\n", message);
}

void log_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  log_line("error", format, args);
  va_end(args);
}

void log_warning(const char *format, ...) {
  if (log_format == LOG_JSON && !log_debug_enabled) {
    /* The JSON log must hold one object on failure: warnings go to stderr only. */
    va_list args;
    va_start(args, format);
    char message[4096];
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    dprintf(2, "warning: %s\n", message);
    return;
  }
  va_list args;
  va_start(args, format);
  log_line("warning", format, args);
  va_end(args);
}

void log_debug(const char *format, ...) {
  if (!log_debug_enabled) return;
  va_list args;
  va_start(args, format);
  log_line("debug", format, args);
  va_end(args);
}

void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  log_line("error", format, args);
  va_end(args);
  exit(1);
}

/* plan.c's and hooks.c's way out. */
void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  log_line("error", format, args);
  va_end(args);
  exit(1);
}
