/* `delete [--force] ID`: the init and everything in its cgroups gone, the cgroups removed,
 * poststop hooks run, the state directory removed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

/* The init may be another process's child (conmon's, the containerd shim's): we cannot reap
 * it, and its zombie counts as gone. */
static void kill_and_wait(const struct container *container, enum status status) {
  int pidfd = container_init_alive(container) ? pidfd_of(container->pid) : -1;
  if (container->own_pid_namespace && pidfd >= 0)
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  else
    cgroup_signal_all(container, SIGKILL);
  if (status == STATUS_PAUSED && freezer_set(container, 0) < 0)
    log_warning("thaw: %s", strerror(errno));
  if (pidfd >= 0) {
    if (pidfd_wait(pidfd, 10000) < 0) fail("the init (pid %d) did not end", (int)container->pid);
    close(pidfd);
  }
}

static void remove_state_directory(const struct container *container) {
  DIR *entries = opendir(container->dir);
  if (entries != NULL) {
    for (struct dirent *entry; (entry = readdir(entries)) != NULL;) {
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      char path[4400];
      snprintf(path, sizeof path, "%s/%s", container->dir, entry->d_name);
      if (unlink(path) < 0 && errno != ENOENT)
        fail("remove %s: %s", path, strerror(errno));
    }
    closedir(entries);
  }
  if (rmdir(container->dir) < 0 && errno != ENOENT)
    fail("remove %s: %s", container->dir, strerror(errno));
}

void delete_container(const char *id, int force) {
  valid_id_or_fail(id);
  struct container container;
  if (container_load(id, &container) < 0) {
    /* podman deletes with --force after every end, whether or not the container is left. */
    if (force) return;
    if (errno == ENOENT) fail("container does not exist");
    fail("%s/%s: %s", runtime_root, id, strerror(errno));
  }
  enum status status = container_status(&container);
  if ((status == STATUS_RUNNING || status == STATUS_PAUSED) && !force)
    fail("cannot delete container %s that is not stopped: %s", id, status_name(status));
  if (status != STATUS_STOPPED) kill_and_wait(&container, status);
  /* The record stays while a cgroup does: the next delete tries again. */
  char why[4400];
  if (cgroup_remove_all(&container, why, sizeof why) < 0) fail("%s", why);
  container_run_hooks(&container, HOOK_POSTSTOP, STATUS_STOPPED);
  remove_state_directory(&container);
}

int command_delete(int argc, char **argv) {
  const char *force = NULL;
  struct option_spec options[] = {{"--force", "-f", 0, &force}, {NULL, NULL, 0, NULL}};
  argc = parse_options("delete", argc, argv, options);
  if (argc != 1) usage_fail("delete", "requires exactly 1 argument(s)");
  delete_container(argv[0], force != NULL);
  return 0;
}
