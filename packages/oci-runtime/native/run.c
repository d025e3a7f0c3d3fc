/* `run [--detach] ... ID`: create (the Node half), then start; in the foreground, we wait for
 * the init as its subreaper, pass signals on to it, delete the container, and exit with its
 * status (128+signal for a signal, as a shell would). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

/* Reaps what has ended (orphans of the container come to us too); the init's status, or -1. */
static int reap(pid_t init) {
  int result = -1, status;
  for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;)
    if (pid == init) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

int command_run(int argc, char **argv) {
  const char *bundle = NULL, *pid_file = NULL, *console = NULL, *detach = NULL,
             *no_pivot = NULL, *no_keyring = NULL, *preserve = NULL, *keep = NULL;
  struct option_spec options[] = {
      {"--bundle", "-b", 1, &bundle},
      {"--pid-file", NULL, 1, &pid_file},
      {"--console-socket", NULL, 1, &console},
      {"--detach", "-d", 0, &detach},
      {"--no-pivot", NULL, 0, &no_pivot},
      {"--no-new-keyring", NULL, 0, &no_keyring},
      {"--preserve-fds", NULL, 1, &preserve},
      {"--keep", NULL, 0, &keep},
      {NULL, NULL, 0, NULL},
  };
  argc = parse_options("run", argc, argv, options);
  if (argc != 1) usage_fail("run", "requires exactly 1 argument(s)");
  const char *id = argv[0];
  valid_id_or_fail(id);

  char *create[16];
  int count = 0;
#define PASS(option, value) \
  if (value != NULL) create[count++] = option, create[count++] = (char *)value
#define PASS_FLAG(option, value) \
  if (value != NULL) create[count++] = option
  PASS("--bundle", bundle);
  PASS("--pid-file", pid_file);
  PASS("--console-socket", console);
  PASS("--preserve-fds", preserve);
  PASS_FLAG("--no-pivot", no_pivot);
  PASS_FLAG("--no-new-keyring", no_keyring);
  create[count++] = (char *)id;
  create[count] = NULL;

  /* The init is reparented to us once create's shim leaves. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("prctl: %s", strerror(errno));
  sigset_t watched, previous;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaddset(&watched, forwarded[i]);
  sigprocmask(SIG_BLOCK, &watched, &previous);
  int signals = signalfd(-1, &watched, SFD_CLOEXEC);
  if (signals < 0) fail("signalfd: %s", strerror(errno));

  int created = node_run("create", count, create, &previous);
  if (created != 0) return created;
  struct container container;
  container_load_or_fail(id, &container);
  if (start_container(id) < 0) {
    delete_container(id, 1);
    return 1;
  }
  if (detach != NULL) return 0;

  int status = reap(container.pid);
  while (status < 0) {
    struct signalfd_siginfo info;
    ssize_t got = read(signals, &info, sizeof info);
    if (got < 0 && errno == EINTR) continue;
    if (got != sizeof info) fail("signalfd: %s", strerror(errno));
    if (info.ssi_signo == SIGCHLD) status = reap(container.pid);
    else kill(container.pid, (int)info.ssi_signo);
  }
  if (keep == NULL) delete_container(id, 1);
  return status;
}
