/*
 * Copying a container's output to where it goes (a log, or the CLI's stdout) and the
 * CLI's input into the container, driven by poll(): a relay reads only when its buffer is
 * empty and writes only when its destination can take more, so a slow reader slows the
 * container down instead of growing the shim. Descriptors shared with the CLI are never
 * made non-blocking (that would change them for the user's shell too).
 *
 * A log on a full disk loses output, never the container: what cannot be written is
 * counted, and said once writing works again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* At most a pipe's atomic size per write: poll() promised at least that much room. */
#define WRITE_CHUNK 4096

void relay_init(struct relay *relay, int from, int to, int is_log, int close_to_at_end) {
  relay->from = from;
  relay->to = to;
  relay->is_log = is_log;
  relay->close_to_at_end = close_to_at_end;
  relay->dropped = 0;
  relay->start = relay->end = 0;
  relay->from_open = from >= 0;
}

short relay_source_events(const struct relay *relay) {
  return relay->from_open && relay->start == relay->end ? POLLIN : 0;
}

short relay_destination_events(const struct relay *relay) {
  return relay->to >= 0 && relay->start < relay->end ? POLLOUT : 0;
}

int relay_done(const struct relay *relay) {
  return !relay->from_open && (relay->start == relay->end || relay->to < 0);
}

static void finish_destination(struct relay *relay) {
  if (relay->close_to_at_end && relay->to >= 0) close(relay->to);
  if (relay->close_to_at_end) relay->to = -1;
}

void relay_read(struct relay *relay) {
  ssize_t got = read(relay->from, relay->buffer, sizeof relay->buffer);
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (got <= 0) {
    relay->from_open = 0;
    if (relay->start == relay->end) finish_destination(relay);
    return;
  }
  relay->start = 0;
  relay->end = (size_t)got;
  if (relay->to < 0) relay->end = 0; /* nobody to give it to: read and dropped */
}

static int out_of_space(int error) {
  return error == ENOSPC || error == EDQUOT || error == EFBIG;
}

static int write_notice(struct relay *relay) {
  char notice[160];
  int size = snprintf(notice, sizeof notice,
                      "\n[tocker: %llu bytes of output were not logged: TOCKER_ROOT was full]\n",
                      (unsigned long long)relay->dropped);
  if (write(relay->to, notice, (size_t)size) != size) return -1;
  relay->dropped = 0;
  return 0;
}

void relay_write(struct relay *relay) {
  if (relay->dropped > 0 && write_notice(relay) < 0) {
    relay->dropped += relay->end - relay->start;
    relay->start = relay->end;
  } else {
    size_t length = relay->end - relay->start;
    if (length > WRITE_CHUNK) length = WRITE_CHUNK;
    ssize_t written = write(relay->to, relay->buffer + relay->start, length);
    if (written > 0) {
      relay->start += (size_t)written;
    } else if (written < 0 && errno != EINTR && errno != EAGAIN) {
      if (relay->is_log && out_of_space(errno)) {
        relay->dropped += relay->end - relay->start;
        relay->start = relay->end;
      } else {
        relay->to = -1; /* the reader is gone (EPIPE): the rest is read and dropped */
      }
    }
  }
  if (!relay->from_open && relay->start == relay->end) finish_destination(relay);
}
