/* Deleting a removed container's directory once its creator has its answer (main.c, 'r'):
 * the directory holds what the container wrote (its upper layer), so nothing in it is ever
 * followed: every entry is reached through its parent's descriptor, and a directory is
 * only opened with O_NOFOLLOW. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "shim.h"

/* A descriptor per level: deeper trees are left to the runtime's collection, which walks
 * them by path. */
#define MOST_LEVELS 128
/* Entries removed while a directory is read could make readdir() miss others: read it again. */
#define MOST_PASSES 3

static int remove_at(int parent, const char *name, int level);

/* Removes what the directory `fd` (closed here) holds: 0, or -1 when something stays. */
static int remove_entries(int fd, int level) {
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return -1;
  }
  int result = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    /* DT_UNKNOWN (some file systems): unlink tells, with EISDIR. */
    if (entry->d_type != DT_DIR && (unlinkat(fd, name, 0) == 0 || errno == ENOENT)) continue;
    if ((entry->d_type != DT_DIR && errno != EISDIR) || remove_at(fd, name, level + 1) < 0)
      result = -1;
  }
  closedir(dir);
  return result;
}

/* The directory `name` in `parent` and everything in it. */
static int remove_at(int parent, const char *name, int level) {
  if (level > MOST_LEVELS) return -1;
  for (int pass = 0; pass < MOST_PASSES; pass++) {
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    if (remove_entries(fd, level) < 0) return -1;
    if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
    if (errno != ENOTEMPTY) return -1;
  }
  return -1;
}

int remove_directory(int parent, const char *name) {
  int lock = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (lock < 0) return errno == ENOENT ? 0 : -1;
  /* The runtime's lock on a container (flock on its directory): its creator may still hold
   * it when it tells us, and a collection that finds the directory leaves it to us. */
  int result = flock(lock, LOCK_EX) == 0 ? remove_at(parent, name, 0) : -1;
  close(lock);
  return result;
}
