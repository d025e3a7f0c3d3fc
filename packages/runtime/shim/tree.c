/* Detached bind mounts (open_tree), shared by the child (OP_OPEN_TREE) and the shim (SET_TREE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

int tree_clone(const char *source, int from_fd, uint64_t attributes, int recursive) {
  /* A descriptor (opened by the runtime, never through a symlink) wins; the path then only
   * names it in errors. */
  int by_path = from_fd < 0;
  int fd = (int)syscall(SYS_open_tree, by_path ? AT_FDCWD : from_fd, by_path ? source : "",
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
                            (by_path ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH));
  if (fd < 0 || attributes == 0) return fd;
  struct mount_attr attr = {.attr_set = attributes};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
              sizeof attr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}
