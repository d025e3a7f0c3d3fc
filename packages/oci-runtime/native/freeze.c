/* `pause ID` and `resume ID`: the freezer of the container's cgroup (v1 freezer.state,
 * v2 cgroup.freeze). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "runtime.h"

static int set_frozen(const char *command, int argc, char **argv, int frozen) {
  argc = parse_options(command, argc, argv, NULL);
  if (argc != 1) usage_fail(command, "requires exactly 1 argument(s)");
  struct container container;
  container_load_or_fail(argv[0], &container);
  enum status status = container_status(&container);
  if (frozen && status != STATUS_RUNNING) fail("container not running");
  if (!frozen && status != STATUS_PAUSED) fail("container not paused");
  if (container.freezer_version == 0) fail("the container has no freezer cgroup");
  if (freezer_set(&container, frozen) < 0) {
    int error = errno;
    /* A half-frozen container is thawed again rather than left stuck. */
    if (frozen) freezer_set(&container, 0);
    fail("%s: %s", frozen ? "freeze" : "thaw", strerror(error));
  }
  return 0;
}

int command_pause(int argc, char **argv) { return set_frozen("pause", argc, argv, 1); }
int command_resume(int argc, char **argv) { return set_frozen("resume", argc, argv, 0); }
