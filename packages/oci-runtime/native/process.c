/* Processes that are not our children: pidfds and /proc/<pid>/stat. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

int pidfd_of(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* A pidfd becomes readable when its process exits, reaped or not (a zombie is gone to us). */
int pidfd_wait(int pidfd, int timeout_ms) {
  struct pollfd poll_fd = {.fd = pidfd, .events = POLLIN};
  for (;;) {
    int ready = poll(&poll_fd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 ? 0 : -1;
  }
}

/* Field 22 (start time, in clock ticks since boot) and field 3 (state) of /proc/<pid>/stat. */
int process_start_time(pid_t pid, uint64_t *start_time, char *state) {
  char path[64], buffer[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t length = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (length <= 0) return -1;
  buffer[length] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: fields start after the last ')'. */
  char *after = strrchr(buffer, ')');
  if (after == NULL || after[1] != ' ') return -1;
  *state = after[2];
  char *field = after + 2;
  for (int index = 3; index < 22; index++) {
    field = strchr(field, ' ');
    if (field == NULL) return -1;
    field++;
  }
  *start_time = strtoull(field, NULL, 10);
  return 0;
}
