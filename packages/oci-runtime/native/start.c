/* `start ID`: the init of a created container is blocked opening exec.fifo for writing;
 * opening it for reading lets it go, its byte says it went, and the fifo's end says it
 * exec'd the user's program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

#define START_FAILS(...) \
  do { \
    log_error(__VA_ARGS__); \
    return -1; \
  } while (0)

int start_container(const char *id) {
  struct container container;
  container_load_or_fail(id, &container);
  switch (container_status(&container)) {
  case STATUS_CREATED: break;
  case STATUS_STOPPED: START_FAILS("cannot start a container that has stopped");
  case STATUS_RUNNING: START_FAILS("cannot start an already running container");
  case STATUS_PAUSED: START_FAILS("cannot start a container in the paused state");
  }
  char fifo_path[4200];
  snprintf(fifo_path, sizeof fifo_path, "%s/" FIFO_FILE, container.dir);
  /* The pidfd first: should the init die before it writes, the fifo would never tell (a
   * reader opened before any writer sees no hang-up on Linux). */
  int pidfd = pidfd_of(container.pid);
  if (pidfd < 0) START_FAILS("cannot start a container that has stopped");
  int fifo = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0) {
    close(pidfd);
    if (errno == ENOENT) START_FAILS("cannot start an already running container");
    START_FAILS("open %s: %s", fifo_path, strerror(errno));
  }
  const char *failure = NULL;
  while (failure == NULL) {
    struct pollfd fds[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      failure = "poll failed";
      break;
    }
    char byte;
    ssize_t got = read(fifo, &byte, 1);
    if (got == 1) break;
    if (got < 0 && errno != EAGAIN && errno != EINTR) failure = "reading exec.fifo failed";
    /* No byte: the init is gone (EOF after its open, or its pidfd says so). */
    else if (got == 0 || fds[1].revents) failure = "cannot start a container that has stopped";
  }
  /* The init keeps its end open (close-on-exec) through its startContainer hooks: the end
   * of the fifo is its execve of the user's program (or its end), and poststart must come
   * after that. */
  while (failure == NULL) {
    struct pollfd end = {.fd = fifo, .events = POLLIN};
    if (poll(&end, 1, -1) < 0 && errno != EINTR) break;
    char rest[16];
    ssize_t got = read(fifo, rest, sizeof rest);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) break;
  }
  close(fifo);
  close(pidfd);
  if (failure != NULL) START_FAILS("%s", failure);
  if (unlink(fifo_path) < 0 && errno != ENOENT)
    log_warning("remove %s: %s", fifo_path, strerror(errno));
  container_run_hooks(&container, HOOK_POSTSTART, STATUS_RUNNING);
  return 0;
}

int command_start(int argc, char **argv) {
  argc = parse_options("start", argc, argv, NULL);
  if (argc != 1) usage_fail("start", "requires exactly 1 argument(s)");
  return start_container(argv[0]) < 0 ? 1 : 0;
}
