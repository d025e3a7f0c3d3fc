/* `ps [--format table|json] ID`: the host pids of the container's cgroups. runc's table is
 * ps(1)'s output filtered to them; this one is the pid and the command name. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

int command_ps(int argc, char **argv) {
  const char *format = "table";
  struct option_spec options[] = {{"--format", "-f", 1, &format}, {NULL, NULL, 0, NULL}};
  argc = parse_options("ps", argc, argv, options);
  if (argc < 1) usage_fail("ps", "requires a minimum of 1 argument(s)");
  int json = strcmp(format, "json") == 0;
  if (!json && strcmp(format, "table") != 0) fail("invalid format option");
  struct container container;
  container_load_or_fail(argv[0], &container);
  static pid_t pids[65536];
  size_t count = cgroup_pids(&container, pids, sizeof pids / sizeof *pids);
  if (json) {
    printf("[");
    for (size_t i = 0; i < count; i++) printf(i ? ",%d" : "%d", (int)pids[i]);
    printf("]\n");
    return 0;
  }
  printf("%-8s %s\n", "PID", "CMD");
  for (size_t i = 0; i < count; i++) {
    char path[64], name[64] = "?";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t length = read(fd, name, sizeof name - 1);
      close(fd);
      name[length > 0 ? length - 1 : 0] = '\0';
    }
    printf("%-8d %s\n", (int)pids[i], name);
  }
  return 0;
}
