/* The container's cgroups: the freezer, the pids in them, and their removal. The directories
 * come from the record (absolute, one per hierarchy, as create made them). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static int read_small(const char *dir, const char *file, char *into, size_t size) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t length = read(fd, into, size - 1);
  close(fd);
  if (length < 0) return -1;
  into[length] = '\0';
  return 0;
}

static int write_small(const char *dir, const char *file, const char *text) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int result = write_all(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}

static void sleep_ms(long ms) {
  struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  nanosleep(&pause, NULL);
}

int freezer_frozen(const struct container *container) {
  char value[64];
  if (container->freezer_version == 1)
    return read_small(container->freezer, "freezer.state", value, sizeof value) == 0 &&
           strncmp(value, "FROZEN", 6) == 0;
  if (container->freezer_version == 2)
    return read_small(container->freezer, "cgroup.freeze", value, sizeof value) == 0 &&
           value[0] == '1';
  return 0;
}

/* Until the kernel says it is done: v1 stays FREEZING while a task resists, so the request
 * is repeated (as runc does); v2 reports it in cgroup.events. */
int freezer_set(const struct container *container, int frozen) {
  if (container->freezer_version == 0) {
    errno = ENOTSUP;
    return -1;
  }
  int v1 = container->freezer_version == 1;
  const char *file = v1 ? "freezer.state" : "cgroup.freeze";
  const char *request = v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0");
  for (int attempt = 0; attempt < 2000; attempt++) {
    if ((attempt % 10 == 0) && write_small(container->freezer, file, request) < 0) return -1;
    char value[256];
    if (v1) {
      if (read_small(container->freezer, "freezer.state", value, sizeof value) < 0) return -1;
      if (strncmp(value, request, strlen(request)) == 0) return 0;
    } else {
      if (read_small(container->freezer, "cgroup.events", value, sizeof value) < 0) return -1;
      char *line = strstr(value, "frozen ");
      if (line != NULL && (line[7] == '1') == frozen) return 0;
    }
    sleep_ms(1);
  }
  errno = ETIMEDOUT;
  return -1;
}

static void collect(const char *dir, pid_t *pids, size_t capacity, size_t *count) {
  char path[4200];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  FILE *procs = fopen(path, "re");
  if (procs != NULL) {
    long pid;
    while (fscanf(procs, "%ld", &pid) == 1) {
      size_t i = 0;
      while (i < *count && pids[i] != pid) i++;
      if (i == *count && *count < capacity) pids[(*count)++] = (pid_t)pid;
    }
    fclose(procs);
  }
  DIR *entries = opendir(dir);
  if (entries == NULL) return;
  for (struct dirent *entry; (entry = readdir(entries)) != NULL;) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    collect(path, pids, capacity, count);
  }
  closedir(entries);
}

/* Every pid in the container's cgroups and theirs below, each once. */
size_t cgroup_pids(const struct container *container, pid_t *pids, size_t capacity) {
  size_t count = 0;
  for (size_t i = 0; i < container->cgroup_count; i++)
    collect(container->cgroups[i], pids, capacity, &count);
  return count;
}

void cgroup_signal_all(const struct container *container, int signal) {
  static pid_t pids[65536];
  size_t count = cgroup_pids(container, pids, sizeof pids / sizeof *pids);
  for (size_t i = 0; i < count; i++) kill(pids[i], signal);
}

static void kill_tree(const char *dir) {
  static pid_t pids[65536];
  size_t count = 0;
  collect(dir, pids, sizeof pids / sizeof *pids, &count);
  for (size_t i = 0; i < count; i++) kill(pids[i], SIGKILL);
}

/* Leaves first; a cgroup still busy has its stragglers killed, and is tried again. */
static int remove_tree(const char *dir) {
  for (int attempt = 0; attempt < 200; attempt++) {
    DIR *entries = opendir(dir);
    if (entries == NULL) return errno == ENOENT ? 0 : -1;
    for (struct dirent *entry; (entry = readdir(entries)) != NULL;) {
      if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
      char child[4200];
      snprintf(child, sizeof child, "%s/%s", dir, entry->d_name);
      remove_tree(child);
    }
    closedir(entries);
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) return -1;
    kill_tree(dir);
    sleep_ms(attempt < 10 ? 1 : 10);
  }
  return -1;
}

int cgroup_remove_all(const struct container *container, char *why, size_t why_size) {
  int result = 0;
  for (size_t i = 0; i < container->cgroup_count; i++)
    if (remove_tree(container->cgroups[i]) < 0 && result == 0) {
      snprintf(why, why_size, "remove cgroup %s: %s", container->cgroups[i], strerror(errno));
      result = -1;
    }
  return result;
}
