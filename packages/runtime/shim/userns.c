/*
 * A container in a user namespace of its own (--userns=auto): its root is an unprivileged
 * range of host ids, and the image's files owned by root still look owned by root inside.
 *
 * Why it is done this way:
 * - The child is cloned with CLONE_NEWUSER|CLONE_NEWPID in one call: the kernel makes the
 *   user namespace first and it owns the new PID namespace. Mounting /proc needs
 *   CAP_SYS_ADMIN in the user namespace owning the PID namespace, which a PID namespace
 *   unshared by the shim (owned by the host's) would never give the container.
 * - The maps are written here, by the shim, which is privileged in the parent user
 *   namespace (a process may not map ids it does not own, and the child owns none on the
 *   host). setgroups is left allowed: a privileged writer needs no "deny", and the
 *   container's root may then set its own groups within the range.
 * - The root filesystem is made here too: each image layer is cloned (open_tree) and
 *   idmapped with the child's user namespace (mount_setattr(MOUNT_ATTR_IDMAP)), which needs
 *   CAP_SYS_ADMIN in the user namespace owning the layers' mounts: the host's, which only
 *   the shim has. The overlay over them is made here as well (fsopen, lowerdir+ by
 *   descriptor, Linux 6.13+), by the host's root: overlayfs then keeps its trusted.*
 *   xattrs (the image layers' opaque directories) working, which an overlay mounted inside
 *   the user namespace could not read. Files the container creates land in the upper layer
 *   with its own (range) ids. The detached overlay goes to the child over a socket
 *   (SCM_RIGHTS), which moves it into its own mount namespace and pivots into it.
 * - The child waits for that root before anything else, so nothing it does needs ids
 *   before they are mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

pid_t userns_clone(void) {
  /* Without a new stack: the child goes on from here, as after fork(). */
  return (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL,
                        NULL);
}

static int write_map(pid_t child, const char *file, const char *map) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", child, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t length = strlen(map);
  ssize_t written = write(fd, map, length);
  close(fd);
  if (written == (ssize_t)length) return 0;
  if (written >= 0) errno = EIO;
  return -1;
}

/* The overlay of SET_IDMAPPED_ROOT over idmapped clones of its layers, detached. */
static int idmapped_root(const struct op *root, int userns, char *why, size_t why_size) {
  /* No upper layer: an OCI bundle's root, which its engine made for the ids it maps, is
   * the container's root as it is. */
  const char *upper = arg_string(root, 0);
  if (upper == NULL || upper[0] == '\0') {
    int tree = tree_clone(arg_string(root, 2), -1, 0, 1);
    if (tree < 0) snprintf(why, why_size, "the root %s: %s", arg_string(root, 2), strerror(errno));
    return tree;
  }
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) {
    snprintf(why, why_size, "fsopen overlay: %s", strerror(errno));
    return -1;
  }
  int mounted = -1;
  /* Each clone stays open until the overlay exists: closing the last descriptor of a
   * detached mount unmounts it, and overlayfs could no longer take it as a layer. */
  unsigned layers = root->argc - 2, cloned = 0;
  int *clones = calloc(layers, sizeof *clones);
  if (clones == NULL) {
    snprintf(why, why_size, "out of memory");
    close(fs);
    return -1;
  }
  for (unsigned i = 2; i < root->argc; i++) {
    const char *layer = arg_string(root, i);
    int clone = tree_clone(layer, -1, 0, 0);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
    if (clone < 0 ||
        syscall(SYS_mount_setattr, clone, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, clone) < 0) {
      snprintf(why, why_size, "idmapped layer %s: %s", layer, strerror(errno));
      if (clone >= 0) close(clone);
      goto out;
    }
    clones[cloned++] = clone;
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", arg_string(root, 0), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", arg_string(root, 1), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    snprintf(why, why_size, "overlay over idmapped layers: %s", strerror(errno));
    goto out;
  }
  mounted = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mounted < 0) snprintf(why, why_size, "fsmount overlay: %s", strerror(errno));
out:
  for (unsigned i = 0; i < cloned; i++) close(clones[i]);
  free(clones);
  close(fs);
  return mounted;
}

int userns_prepare(const struct user_namespace *userns, pid_t child, int root_socket, char *why,
                   size_t why_size) {
  if (write_map(child, "uid_map", userns->uid_map) < 0 ||
      write_map(child, "gid_map", userns->gid_map) < 0) {
    snprintf(why, why_size, "the user namespace's id maps: %s", strerror(errno));
    return -1;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", child);
  int namespace = open(path, O_RDONLY | O_CLOEXEC);
  if (namespace < 0) {
    snprintf(why, why_size, "open %s: %s", path, strerror(errno));
    return -1;
  }
  int root = idmapped_root(userns->root, namespace, why, why_size);
  close(namespace);
  if (root < 0) return -1;
  int sent = send_descriptor(root_socket, root);
  if (sent < 0) snprintf(why, why_size, "handing the root to the container: %s", strerror(errno));
  close(root);
  return sent;
}

int userns_receive_root(int root_socket) {
  char byte;
  int fd = -1;
  size_t count;
  if (receive_descriptors(root_socket, &byte, 1, &fd, 1, &count) != 1 || count != 1) return -1;
  return fd;
}
