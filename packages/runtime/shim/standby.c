/*
 * A shim started before its container is known. A runtime that starts containers one
 * after another (the agent) keeps one waiting, so that a start hands it a plan instead of
 * spawning a process: the spawn (and, on a busy machine, the wait for a core to run it)
 * is then off the start's path.
 *
 * The plan and every descriptor it names arrive in one message on the channel (SCM_RIGHTS),
 * with the container's name as the message's bytes. They are put where a shim spawned with
 * them finds them: the plan at 3, the channel at CHANNEL_FD, the rest from FIRST_PASSED_FD
 * on. The name replaces the placeholder in argv[1], so that ps shows whose shim it is.
 * While it waits, it also makes the network namespace its container will most likely want.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* Where received descriptors wait while the others move into place. */
#define PARKED_FDS 1024
/* Above every descriptor a plan may name. */
#define SPARE_FD 2048

/* Until the plan arrives the runtime reads nothing else from the channel: say why it ends. */
static void fail(const char *what) {
  dprintf(STANDBY_CHANNEL_FD, "error 125 tocker-shim: %s: %s\n", what, strerror(errno));
  _exit(125);
}

int standby_network_namespace = -1;

/* A network namespace is the costliest to create (~0.35 ms): one is made while waiting, and
 * the shim returns to the host's, where it attaches interfaces. */
static void make_network_namespace(void) {
  int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host < 0) return;
  if (unshare(CLONE_NEWNET) == 0) {
    int made = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (setns(host, CLONE_NEWNET) < 0) fail("returning to the host's network namespace");
    if (made >= 0) {
      standby_network_namespace = fcntl(made, F_DUPFD_CLOEXEC, SPARE_FD);
      close(made);
    }
  }
  close(host);
}

static void move_to(int fd, int target) {
  if (dup2(fd, target) < 0) fail("placing a descriptor");
  close(fd);
}

void standby_receive(char *title) {
  make_network_namespace();
  char name[STANDBY_NAME_BYTES];
  int fds[MAX_PASSED_FDS];
  size_t count;
  ssize_t got = receive_descriptors(STANDBY_CHANNEL_FD, name, sizeof name, fds, MAX_PASSED_FDS,
                                    &count);
  if (got == 0) _exit(0); /* let go unused: the runtime closed or went */
  if (got < 0) fail("receiving the plan");
  if (count == 0) {
    errno = EPROTO;
    fail("the plan came without its descriptors");
  }
  /* The rest of the name, if the stream split it (the descriptors came with its first byte). */
  for (size_t have = (size_t)got; have < sizeof name;) {
    ssize_t more = read(STANDBY_CHANNEL_FD, name + have, sizeof name - have);
    if (more < 0 && errno == EINTR) continue;
    if (more <= 0) fail("receiving the plan");
    have += (size_t)more;
  }
  int parked[MAX_PASSED_FDS];
  for (size_t i = 0; i < count; i++) {
    parked[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, PARKED_FDS + (int)i);
    if (parked[i] < 0) fail("parking a descriptor");
    close(fds[i]);
  }
  /* dup2 leaves the copies without close-on-exec, as spawning does; the plan replaces the
   * channel's old place. */
  if (dup2(STANDBY_CHANNEL_FD, CHANNEL_FD) < 0) fail("placing the channel");
  move_to(parked[0], PLAN_FD);
  for (size_t i = 1; i < count; i++) move_to(parked[i], FIRST_PASSED_FD + (int)i - 1);

  size_t room = strlen(title);
  memset(title, 0, room);
  memcpy(title, name, strnlen(name, sizeof name) < room ? strnlen(name, sizeof name) : room);
}
