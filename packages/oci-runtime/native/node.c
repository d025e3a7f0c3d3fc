/* create and exec: config.json becomes a plan in TypeScript (src/main.ts), the one place
 * that validates it. The global flags go first, normalized; the rest as it came. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

void node_exec(const char *command, int argc, char **argv) {
  int code = warm_run(command, argc, argv);
  if (code >= 0) exit(code);
  const char **args = calloc((size_t)argc + 16, sizeof *args);
  if (args == NULL) fail("out of memory");
  size_t at = 0;
  args[at++] = TOCKER_NODE;
  args[at++] = TOCKER_COMPILE_SCRIPT;
  args[at++] = "--root";
  args[at++] = runtime_root;
  if (global_log != NULL) {
    args[at++] = "--log";
    args[at++] = global_log;
  }
  args[at++] = "--log-format";
  args[at++] = global_log_format;
  if (global_debug) args[at++] = "--debug";
  args[at++] = command;
  for (int i = 0; i < argc; i++) args[at++] = argv[i];
  args[at] = NULL;
  /* Every descriptor of ours is close-on-exec: Node (and the container after it) gets only
   * what our caller gave us. */
  execv(TOCKER_NODE, (char *const *)args);
  fail("exec %s: %s", TOCKER_NODE, strerror(errno));
}

int node_run(const char *command, int argc, char **argv, const sigset_t *child_mask) {
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, child_mask, NULL);
    node_exec(command, argc, argv);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail("waitpid: %s", strerror(errno));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
