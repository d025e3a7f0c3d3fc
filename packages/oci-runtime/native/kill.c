/* `kill [--all] ID [SIGNAL]` */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

int command_kill(int argc, char **argv) {
  const char *all = NULL;
  struct option_spec options[] = {{"--all", "-a", 0, &all}, {NULL, NULL, 0, NULL}};
  argc = parse_options("kill", argc, argv, options);
  if (argc < 1) usage_fail("kill", "requires a minimum of 1 argument(s)");
  if (argc > 2) usage_fail("kill", "requires a maximum of 2 argument(s)");
  int signal = argc == 2 ? signal_parse(argv[1]) : SIGTERM;
  if (signal < 0) fail("unknown signal \"%s\"", argv[1]);
  struct container container;
  container_load_or_fail(argv[0], &container);
  enum status status = container_status(&container);
  /* --all still reaches what outlived a stopped init (runc 1.1 alike). */
  if (status == STATUS_STOPPED && all == NULL) fail("container not running");
  /* Without a PID namespace of its own, the init's end does not end the rest: SIGKILL goes
   * to every process of the cgroup (as runc). */
  if (all != NULL || (signal == SIGKILL && !container.own_pid_namespace)) {
    cgroup_signal_all(&container, signal);
  } else {
    /* The pidfd pins the process: no signal reaches a successor that reused the pid. */
    int pidfd = pidfd_of(container.pid);
    if (pidfd < 0) fail("container not running");
    if (syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0) < 0) {
      if (errno == ESRCH) fail("container not running");
      fail("kill: %s", strerror(errno));
    }
    close(pidfd);
  }
  /* Frozen processes die only once thawed (v1 freezer). */
  if (status == STATUS_PAUSED && signal == SIGKILL && freezer_set(&container, 0) < 0)
    log_warning("thaw: %s", strerror(errno));
  return 0;
}
