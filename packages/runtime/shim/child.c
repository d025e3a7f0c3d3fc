/*
 * The child: the container's first process (or an exec'd one) from fork() to execve().
 * It performs the plan's operations in order; the first failure is reported to the shim
 * as "e<exit code> <message>" and ends it. Everything it touches after pivot_root resolves
 * inside the container's root.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

#define COPY_DEPTH 256
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct child_context *context;
/* What becomes 0, 1 and 2 (OP_STDIO): the context's, or the slave of OP_CONSOLE's pty. */
static int stdio[3];
static int trees[TREE_SLOTS];

static void fail(int code, const char *format, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void fail(int code, const char *format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  int length = snprintf(message, sizeof message, "e%d ", code);
  vsnprintf(message + length, sizeof message - (size_t)length, format, args);
  va_end(args);
  size_t size = strlen(message);
  if (size < sizeof message - 1) message[size++] = '\n';
  /* An engine's shim is gone once the container is ready: what fails after that (after
   * `start`) is said on the container's stderr, where the engine's logs take it. */
  if (write(context->sync_write, message, size) < 0) {
    size_t prefix = (size_t)snprintf(NULL, 0, "e%d ", code);
    static const char name[] = "tocker-runtime: ";
    ssize_t ignored = write(2, name, sizeof name - 1);
    ignored = write(2, message + prefix, size - prefix);
    (void)ignored;
  }
  _exit(code);
}

/* The usual failure: "<what> <subject>: <reason>", tocker's own fault (125). */
static void failed(const char *what, const char *subject) {
  fail(125, "%s%s%s: %s", what, subject ? " " : "", subject ? subject : "", strerror(errno));
}

static void check(int result, const char *what, const char *subject) {
  if (result < 0) failed(what, subject);
}

/*
 * overlayfs through the new mount API: one fsconfig per lower layer ("lowerdir+", Linux
 * 6.8), so the number of layers is not limited by the one page of mount(2)'s option
 * string. Returns false on a kernel that does not know "lowerdir+".
 */
static bool mount_overlay_by_layer(const struct op *op) {
  const char *target = arg_string(op, 0);
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  check(fs, "fsopen", "overlay");
  for (unsigned i = 3; i < op->argc; i++) {
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", arg_string(op, i), 0) == 0)
      continue;
    if (errno == EINVAL && i == 3) {
      close(fs);
      return false;
    }
    failed("overlay layer", arg_string(op, i));
  }
  check((int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", arg_string(op, 1), 0),
        "overlay upperdir", arg_string(op, 1));
  check((int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", arg_string(op, 2), 0),
        "overlay workdir", arg_string(op, 2));
  check((int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0), "overlay", target);
  int mounted = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  check(mounted, "fsmount overlay", target);
  check((int)syscall(SYS_move_mount, mounted, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH),
        "move_mount", target);
  close(mounted);
  close(fs);
  return true;
}

/*
 * The container's root: one mount(2) when its option string fits in a page (a few layers:
 * the usual case, and the cheapest on every start); the new mount API beyond that (about
 * 40 layer paths); a clear error on a kernel that has neither.
 */
static void mount_overlay(const struct op *op) {
  char data[4096];
  size_t used = (size_t)snprintf(data, sizeof data, "lowerdir=");
  for (unsigned i = 3; i < op->argc && used < sizeof data; i++)
    used += (size_t)snprintf(data + used, sizeof data - used, "%s%s", i == 3 ? "" : ":",
                             arg_string(op, i));
  if (used < sizeof data)
    used += (size_t)snprintf(data + used, sizeof data - used, ",upperdir=%s,workdir=%s",
                             arg_string(op, 1), arg_string(op, 2));
  if (used < sizeof data) {
    check(mount("overlay", arg_string(op, 0), "overlay", 0, data), "mount overlay",
          arg_string(op, 0));
  } else if (!mount_overlay_by_layer(op)) {
    fail(125, "the image has too many layers (%u) for this kernel's overlay options (Linux 6.8 "
              "takes any number)", op->argc - 3);
  }
}

/* Creates `path` and its parents as directories; every existing component must be a real
 * directory, never a symlink (which could lead a mount somewhere else). */
static void make_directories(const char *path, mode_t mode) {
  char partial[4096];
  size_t length = strlen(path);
  /* "./x": below the working directory (a user namespace's root, entered before pivot_root). */
  if (length == 0 || length >= sizeof partial || (path[0] != '/' && strncmp(path, "./", 2) != 0)) {
    errno = EINVAL;
    failed("mount point", path);
  }
  for (size_t end = 1; end <= length; end++) {
    if (path[end] != '/' && path[end] != '\0') continue;
    memcpy(partial, path, end);
    partial[end] = '\0';
    if (mkdir(partial, mode) < 0 && errno != EEXIST) failed("mkdir", partial);
    struct stat status;
    check(lstat(partial, &status), "lstat", partial);
    if (!S_ISDIR(status.st_mode))
      fail(125, "%s: %s in the image, not a directory", partial,
           S_ISLNK(status.st_mode) ? "a symlink" : "a file");
  }
}

/* `replace_link`: a symlink there (an image's /etc/resolv.conf into /run...) is replaced by a
 * file in the container's own layer; the image is not touched. Otherwise it is refused. */
static void file_target(const char *path, mode_t mode, bool replace_link) {
  char parent[4096];
  size_t length = strlen(path);
  const char *slash = strrchr(path, '/');
  if (slash == NULL || length >= sizeof parent) {
    errno = EINVAL;
    failed("mount point", path);
  }
  if (slash != path) {
    memcpy(parent, path, (size_t)(slash - path));
    parent[slash - path] = '\0';
    make_directories(parent, 0755);
  }
  /* An existing file stays as it is: opening it for writing would make overlayfs copy it
   * up (its data, then an fsync: most of a millisecond) only for a mount to cover it. */
  struct stat status;
  int exists = lstat(path, &status) == 0;
  if (!exists && errno != ENOENT) failed("lstat", path);
  if (exists && replace_link && S_ISLNK(status.st_mode)) {
    check(unlink(path), "unlink", path);
    exists = 0;
  }
  if (!exists) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) failed("create", path);
    close(fd);
    check(lstat(path, &status), "lstat", path);
  }
  if (S_ISLNK(status.st_mode) || S_ISDIR(status.st_mode))
    fail(125, "%s: a %s in the image, cannot mount a file on it", path,
         S_ISLNK(status.st_mode) ? "symlink" : "directory");
}

static void pivot_into(const char *root) {
  check(chdir(root), "chdir", root);
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves nothing. */
  check((int)syscall(SYS_pivot_root, ".", "."), "pivot_root", root);
  check(umount2(".", MNT_DETACH), "umount", "the old root");
  check(chdir("/"), "chdir", "/");
}

static void loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(fd, "socket", "for lo");
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, "lo");
  check(ioctl(fd, SIOCGIFFLAGS, &request), "ioctl", "lo");
  request.ifr_flags |= IFF_UP;
  check(ioctl(fd, SIOCSIFFLAGS, &request), "ioctl", "lo up");
  close(fd);
}

static void set_address(int fd, struct ifreq *request, unsigned long command, in_addr_t address,
                        const char *what) {
  struct sockaddr_in *in = (struct sockaddr_in *)&request->ifr_addr;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = address;
  check(ioctl(fd, command, request), "ioctl", what);
}

/*
 * The interface the runtime moved into this network namespace (a veth's end): renamed,
 * addressed, up, and the default route through the gateway. Done here, by the container's
 * own process before it runs anything, with the ioctls of net-tools: no netlink, no
 * process of the host entering the container.
 */
/* Named, addressed and up, with the default route through `gateway` unless it is empty. */
static void configure_interface(const struct op *op) {
  const char *from = arg_string(op, 0), *to = arg_string(op, 1), *address = arg_string(op, 2);
  int64_t prefix = arg_number(op, 3);
  const char *gateway = arg_string(op, 4);
  struct in_addr host, via;
  int routed = gateway[0] != '\0'; /* only its first network's interface has the default route */
  if (prefix < 1 || prefix > 32 || inet_pton(AF_INET, address, &host) != 1 ||
      (routed && inet_pton(AF_INET, gateway, &via) != 1) || strlen(from) >= IFNAMSIZ ||
      strlen(to) >= IFNAMSIZ)
    fail(125, "plan: bad interface settings");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(fd, "socket", to);
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, from);
  strcpy(request.ifr_newname, to);
  check(ioctl(fd, SIOCSIFNAME, &request), "ioctl", "rename the interface");
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, to);
  set_address(fd, &request, SIOCSIFADDR, host.s_addr, "the interface's address");
  set_address(fd, &request, SIOCSIFNETMASK, htonl(~0U << (32 - prefix)), "the netmask");
  check(ioctl(fd, SIOCGIFFLAGS, &request), "ioctl", to);
  request.ifr_flags |= IFF_UP;
  check(ioctl(fd, SIOCSIFFLAGS, &request), "ioctl", "the interface up");
  if (!routed) {
    close(fd);
    return;
  }
  struct rtentry route;
  memset(&route, 0, sizeof route);
  ((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
  ((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
  struct sockaddr_in *through = (struct sockaddr_in *)&route.rt_gateway;
  through->sin_family = AF_INET;
  through->sin_addr = via;
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  route.rt_dev = (char *)to;
  check(ioctl(fd, SIOCADDRT, &route), "ioctl", "the default route");
  close(fd);
}

static void change_directory(const char *path) {
  if (chdir(path) < 0) fail(125, "%s: no such directory in the container (%s)", path, strerror(errno));
  /* A working directory outside the root (a leaked descriptor's) cannot be named. */
  char here[4096];
  if (getcwd(here, sizeof here) == NULL || here[0] != '/')
    fail(125, "%s: the working directory is outside the container", path);
}

static void open_tree_into(const struct op *op) {
  int64_t slot = arg_number(op, 0);
  const char *source = arg_string(op, 1);
  int from_fd = (int)arg_number(op, 2);
  uint64_t attributes = (uint64_t)arg_number(op, 3);
  int recursive = op->argc > 4 && arg_number(op, 4) != 0;
  if (slot < 0 || slot >= TREE_SLOTS) fail(125, "plan: bad tree slot %lld", (long long)slot);
  int fd = tree_clone(source, from_fd, attributes, recursive);
  check(fd, "open_tree", source ? source : "the terminal");
  trees[slot] = fd;
}

/*
 * Copies the tree under `from` into `to` (both directories this process opened), as it
 * is: owners, modes, times, links as links, device nodes. Every name is opened relative
 * to its directory and never followed, so what the image has there cannot lead the copy
 * anywhere else.
 */
static void copy_tree(int from, int to, int depth) {
  if (depth > COPY_DEPTH) fail(125, "copying into a volume: deeper than %d directories", COPY_DEPTH);
  int listing = dup(from);
  check(listing, "dup", NULL);
  DIR *dir = fdopendir(listing);
  if (dir == NULL) failed("fdopendir", NULL);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    struct stat status;
    check(fstatat(from, name, &status, AT_SYMLINK_NOFOLLOW), "fstatat", name);
    if (S_ISDIR(status.st_mode)) {
      if (mkdirat(to, name, 0700) < 0 && errno != EEXIST) failed("mkdirat", name);
      int inner_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int inner_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      check(inner_from, "openat", name);
      check(inner_to, "openat", name);
      copy_tree(inner_from, inner_to, depth + 1);
      close(inner_from);
      close(inner_to);
    } else if (S_ISREG(status.st_mode)) {
      int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      check(in, "openat", name);
      int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      check(out, "openat", name);
      char buffer[65536];
      ssize_t count;
      while ((count = read(in, buffer, sizeof buffer)) > 0) {
        for (ssize_t done = 0; done < count;) {
          ssize_t written = write(out, buffer + done, (size_t)(count - done));
          check((int)written, "write", name);
          done += written;
        }
      }
      check((int)count, "read", name);
      close(in);
      close(out);
    } else if (S_ISLNK(status.st_mode)) {
      char target[4096];
      ssize_t length = readlinkat(from, name, target, sizeof target - 1);
      check((int)length, "readlinkat", name);
      target[length] = '\0';
      check(symlinkat(target, to, name), "symlinkat", name);
    } else if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode) || S_ISFIFO(status.st_mode)) {
      check(mknodat(to, name, status.st_mode, status.st_rdev), "mknodat", name);
    } else {
      continue; /* sockets mean nothing in a copy */
    }
    check(fchownat(to, name, status.st_uid, status.st_gid, AT_SYMLINK_NOFOLLOW), "fchownat", name);
    if (!S_ISLNK(status.st_mode))
      check(fchmodat(to, name, status.st_mode & 07777, 0), "fchmodat", name);
    struct timespec times[2] = {status.st_atim, status.st_mtim};
    check(utimensat(to, name, times, AT_SYMLINK_NOFOLLOW), "utimensat", name);
  }
  closedir(dir);
}

/* A new volume starts as a copy of what the image has where it is mounted (as docker's). */
static void copy_into_tree(const struct op *op) {
  int64_t slot = arg_number(op, 0);
  const char *target = arg_string(op, 1);
  if (slot < 0 || slot >= TREE_SLOTS || trees[slot] < 0) fail(125, "plan: empty tree slot");
  make_directories(target, 0755);
  int from = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  check(from, "open", target);
  copy_tree(from, trees[slot], 0);
  close(from);
}

static void move_tree(const struct op *op) {
  int64_t slot = arg_number(op, 0);
  const char *target = arg_string(op, 1);
  if (slot < 0 || slot >= TREE_SLOTS || trees[slot] < 0) fail(125, "plan: empty tree slot");
  check((int)syscall(SYS_move_mount, trees[slot], "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH),
        "move_mount", target);
  close(trees[slot]);
  trees[slot] = -1;
}

static void set_capabilities(const struct op *op) {
  uint64_t bounding = (uint64_t)arg_number(op, 0);
  uint64_t effective = (uint64_t)arg_number(op, 1);
  uint64_t permitted = (uint64_t)arg_number(op, 2);
  uint64_t inheritable = (uint64_t)arg_number(op, 3);
  uint64_t ambient = (uint64_t)arg_number(op, 4);
  /* A privileged container gets "all": all that the host can give (its own bounding set
   * may lack some, e.g. CAP_SYS_RESOURCE in a container-run VM). */
  struct __user_cap_header_struct own_header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct own[2];
  check((int)syscall(SYS_capget, &own_header, own), "capget", NULL);
  uint64_t available = own[0].permitted | ((uint64_t)own[1].permitted << 32);
  effective &= available;
  permitted &= available;
  inheritable &= available;
  /* The kernel keeps an ambient capability only while it is permitted and inheritable;
   * one that is not (runc's own `spec` asks for such) is left out, as runc does. */
  ambient &= available & permitted & inheritable;
  for (int cap = 0; cap < 64; cap++) {
    if (bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the last capability this kernel knows */
      failed("prctl", "PR_CAPBSET_DROP");
    }
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
      {(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
  };
  check((int)syscall(SYS_capset, &header, data), "capset", NULL);
  check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl", "PR_CAP_AMBIENT");
  for (int cap = 0; cap < 64; cap++) {
    if (ambient & (1ULL << cap))
      check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "prctl", "ambient");
  }
}

static void install_seccomp(const struct op *op) {
  const struct arg *program = arg_at(op, 0);
  if (!program->is_bytes || program->length == 0 || program->length % sizeof(struct sock_filter))
    fail(125, "plan: the seccomp program is malformed");
  struct sock_filter *filter = malloc(program->length); /* aligned, unlike the plan bytes */
  if (filter == NULL) failed("malloc", NULL);
  memcpy(filter, program->bytes, program->length);
  struct sock_fprog fprog = {(unsigned short)(program->length / sizeof *filter), filter};
  unsigned int flags = (unsigned int)arg_number(op, 1);
  check((int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog), "seccomp", NULL);
}

/*
 * The container's user, before its capabilities are set: with PR_SET_KEEPCAPS the
 * permitted set survives the switch away from uid 0, and the effective one (which the
 * switch clears) is raised again, so set_capabilities can still shape the bounding set.
 * For another user than root, execve then leaves only what the bounding set and file
 * capabilities allow, as with docker.
 */
static void set_user(const struct op *op) {
  uid_t uid = (uid_t)arg_number(op, 0);
  gid_t gid = (gid_t)arg_number(op, 1);
  int64_t count = arg_number(op, 2);
  gid_t groups[256];
  if (count < 0 || count > 256) fail(125, "plan: too many groups");
  for (int64_t i = 0; i < count; i++) groups[i] = (gid_t)arg_number(op, 3 + (unsigned)i);
  check(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl", "PR_SET_KEEPCAPS");
  check(setgroups((size_t)count, groups), "setgroups", NULL);
  check(setresgid(gid, gid, gid), "setgid", NULL);
  check(setresuid(uid, uid, uid), "setuid", NULL);
  check(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl", "PR_SET_KEEPCAPS");
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  check((int)syscall(SYS_capget, &header, data), "capget", NULL);
  for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted;
  check((int)syscall(SYS_capset, &header, data), "capset", NULL);
}

/* Finds `command` as execvp would, in the container; a miss ends the child like a shell. */
static const char *resolve(const char *command, const char *search_path, char *found, size_t size) {
  if (strchr(command, '/') != NULL) {
    struct stat status;
    if (stat(command, &status) < 0) fail(127, "%s: no such file or directory in the container", command);
    if (!S_ISREG(status.st_mode) || access(command, X_OK) < 0)
      fail(126, "%s: permission denied (not an executable file)", command);
    return command;
  }
  const char *path = search_path ? search_path : DEFAULT_PATH;
  const char *denied = NULL;
  static char denied_copy[4096];
  for (const char *start = path;; start++) {
    const char *end = strchrnul(start, ':');
    if (end > start) {
      snprintf(found, size, "%.*s/%s", (int)(end - start), start, command);
      struct stat status;
      if (stat(found, &status) == 0) {
        if (S_ISREG(status.st_mode) && access(found, X_OK) == 0) return found;
        if (denied == NULL) {
          snprintf(denied_copy, sizeof denied_copy, "%s", found);
          denied = denied_copy;
        }
      }
    }
    if (*end == '\0') break;
    start = end;
  }
  if (denied != NULL)
    fail(126, "%s: permission denied (%s is not executable)", command, denied);
  fail(127, "%s: executable file not found in the container's $PATH", command);
}

static const char *path_of(char *const *env) {
  for (; *env != NULL; env++)
    if (strncmp(*env, "PATH=", 5) == 0) return *env + 5;
  return NULL;
}

static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int signal_number = 1; signal_number < NSIG; signal_number++)
    signal(signal_number, SIG_DFL); /* SIGKILL, SIGSTOP and the libc's own simply refuse */
}

static void exec_command(const struct op *op) {
  int64_t argc = arg_number(op, 0);
  if (argc < 1 || (int64_t)op->argc < 1 + argc) fail(125, "plan: exec without a command");
  size_t envc = (size_t)(op->argc - 1 - argc);
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  char **env = calloc(envc + 1, sizeof *env);
  if (argv == NULL || env == NULL) failed("calloc", NULL);
  for (int64_t i = 0; i < argc; i++) argv[i] = (char *)arg_string(op, 1 + (unsigned)i);
  for (size_t i = 0; i < envc; i++) env[i] = (char *)arg_string(op, 1 + (unsigned)argc + (unsigned)i);
  char found[4096];
  const char *program = resolve(argv[0], path_of(env), found, sizeof found);
  reset_signals();
  execve(program, argv, env);
  if (errno == ENOENT) fail(127, "%s: no such file or directory in the container", program);
  fail(126, "%s: cannot run it: %s", program, strerror(errno));
}

/* Tells the shim `what` ("r" ready, "n" namespaces made); with `wait`, goes on only once
 * the shim answers on the go pipe. */
static void tell_shim(const char *what, bool wait) {
  char line[4];
  int length = snprintf(line, sizeof line, "%s\n", what);
  if (write(context->sync_write, line, (size_t)length) != length) _exit(125); /* the shim is gone */
  if (!wait) return;
  char go;
  ssize_t got;
  do got = read(context->go_read, &go, 1);
  while (got < 0 && errno == EINTR);
  if (got != 1) _exit(125); /* the runtime gave up on this container */
}

/* An optional number argument: absent means `otherwise`. */
static int64_t number_or(const struct op *op, unsigned index, int64_t otherwise) {
  return op->argc > index ? arg_number(op, index) : otherwise;
}

/*
 * The engine's `start`: the fifo is opened for writing through this process's descriptor
 * (its path is on the host, outside this root); the open blocks until `start` opens it
 * for reading, and the byte tells it the container goes on.
 */
static void await_start(int fifo) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fifo);
  int fd;
  do fd = open(path, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  check(fd, "open", "the start fifo");
  if (write(fd, "0", 1) != 1) failed("write", "the start fifo");
  /* Kept open (close-on-exec): `start` waits for its end, which is the execve of the
   * user's program, to run the poststart hooks after it as the spec says. */
  close(fifo);
}

/* An engine's hook where the child is: its state names this process by its own pid. */
static void run_hook(const struct op *op) {
  struct hook hook;
  hook_from_op(op, 3, &hook);
  char state[16384], why[600];
  int length = snprintf(state, sizeof state, "%s%d%s", arg_string(op, 1), (int)getpid(),
                        arg_string(op, 2));
  if (length < 0 || (size_t)length >= sizeof state) fail(125, "plan: a hook's state is too long");
  if (hook_run(&hook, state, (size_t)length, why, sizeof why) < 0)
    fail(125, "error running %s: %s", arg_string(op, 0), why);
}

static void open_console(const struct op *op) {
  const char *what;
  unsigned number;
  int slave = console_create((int)arg_number(op, 0), (unsigned)arg_number(op, 1),
                             (unsigned)arg_number(op, 2), &number, &what);
  if (slave < 0) failed(what, NULL);
  /* The container's first process: its pty is /dev/console too (an exec's is not). */
  if (arg_number(op, 3) != 0) {
    char pts[32];
    snprintf(pts, sizeof pts, "/dev/pts/%u", number);
    file_target("/dev/console", 0600, false);
    check(mount(pts, "/dev/console", NULL, MS_BIND, NULL), "mount", "/dev/console");
  }
  stdio[0] = stdio[1] = stdio[2] = slave;
}

static void run(const struct op *op) {
  switch (op->code) {
    case OP_UNSHARE: {
      int flags = (int)arg_number(op, 0);
      if ((flags & CLONE_NEWNET) && context->spare_network >= 0) {
        check(setns(context->spare_network, CLONE_NEWNET), "setns", "a new network namespace");
        flags &= ~CLONE_NEWNET;
      }
      check(unshare(flags), "unshare", NULL);
      break;
    }
    case OP_SETNS:
      check(setns((int)arg_number(op, 0), (int)arg_number(op, 1)), "setns", NULL);
      break;
    case OP_MOUNT: {
      const char *target = arg_string(op, 1);
      check(mount(arg_string(op, 0), target, arg_string(op, 2), (unsigned long)arg_number(op, 3),
                  arg_string(op, 4)),
            "mount", target);
      break;
    }
    case OP_COPY_INTO:
      copy_into_tree(op);
      break;
    case OP_MOUNT_OVERLAY:
      mount_overlay(op);
      break;
    case OP_UMOUNT:
      check(umount2(arg_string(op, 0), (int)arg_number(op, 1)), "umount", arg_string(op, 0));
      break;
    case OP_PIVOT_ROOT:
      pivot_into(arg_string(op, 0));
      break;
    case OP_MKDIR_TARGET:
      make_directories(arg_string(op, 0), (mode_t)arg_number(op, 1));
      break;
    case OP_FILE_TARGET:
      file_target(arg_string(op, 0), (mode_t)arg_number(op, 1), arg_number(op, 2) != 0);
      break;
    case OP_MKNOD: {
      const char *path = arg_string(op, 0);
      mode_t mode = (mode_t)arg_number(op, 1);
      check(mknod(path, mode, makedev(arg_number(op, 2), arg_number(op, 3))), "mknod", path);
      check(chmod(path, mode & 07777), "chmod", path); /* mknod obeys the umask */
      break;
    }
    case OP_CHMOD:
      check(chmod(arg_string(op, 0), (mode_t)arg_number(op, 1)), "chmod", arg_string(op, 0));
      break;
    case OP_SYMLINK:
      check(symlink(arg_string(op, 0), arg_string(op, 1)), "symlink", arg_string(op, 1));
      break;
    case OP_OPEN_TREE:
      open_tree_into(op);
      break;
    case OP_MOVE_MOUNT:
      move_tree(op);
      break;
    case OP_SETHOSTNAME: {
      const char *name = arg_string(op, 0);
      check(sethostname(name, strlen(name)), "sethostname", name);
      break;
    }
    case OP_LOOPBACK_UP:
      loopback_up();
      break;
    case OP_CHDIR:
      change_directory(arg_string(op, 0));
      break;
    case OP_NET_INTERFACE:
      configure_interface(op);
      break;
    case OP_STDIO:
      for (int fd = 0; fd < 3; fd++) {
        if (stdio[fd] == fd) {
          check(fcntl(fd, F_SETFD, 0), "fcntl", "stdio");
        } else {
          check(dup2(stdio[fd], fd), "dup2", "stdio");
        }
      }
      break;
    case OP_SETSID:
      check(setsid(), "setsid", NULL);
      break;
    case OP_CONTROLLING_TTY:
      check(ioctl(0, TIOCSCTTY, 0), "ioctl", "TIOCSCTTY");
      break;
    case OP_PRCTL:
      check(prctl((int)arg_number(op, 0), (unsigned long)arg_number(op, 1), 0, 0, 0), "prctl", NULL);
      break;
    case OP_WRITE_CLOSE: {
      int fd = (int)arg_number(op, 0);
      const struct arg *bytes = arg_at(op, 1);
      if (write(fd, bytes->bytes, bytes->length) != (ssize_t)bytes->length)
        failed("write", arg_string(op, 2));
      close(fd);
      break;
    }
    case OP_NEW_KEYRING:
      /* KEYCTL_JOIN_SESSION_KEYRING with no name: a fresh anonymous session keyring. */
      if (syscall(SYS_keyctl, 1, NULL) < 0 && errno != ENOSYS) failed("keyctl", "session keyring");
      break;
    case OP_SETRLIMIT: {
      int64_t soft = arg_number(op, 1), hard = arg_number(op, 2);
      struct rlimit limit = {soft < 0 ? RLIM_INFINITY : (rlim_t)soft,
                             hard < 0 ? RLIM_INFINITY : (rlim_t)hard};
      int resource = (int)arg_number(op, 0);
      const char *subject = arg_string(op, 3);
      if (setrlimit(resource, &limit) < 0) {
        struct rlimit now;
        if (errno == EPERM && getrlimit(resource, &now) == 0 && limit.rlim_max > now.rlim_max) {
          if (now.rlim_max == RLIM_INFINITY) failed("setrlimit", subject);
          fail(125, "%s: above the hard limit tocker itself has (%llu): raising it needs CAP_SYS_RESOURCE",
               subject, (unsigned long long)now.rlim_max);
        }
        failed("setrlimit", subject);
      }
      break;
    }
    case OP_CAPABILITIES:
      set_capabilities(op);
      break;
    case OP_SECCOMP:
      install_seccomp(op);
      break;
    case OP_READY:
      tell_shim("r", number_or(op, 0, 1) != 0);
      break;
    case OP_AWAIT_START:
      await_start((int)arg_number(op, 0));
      break;
    case OP_SETDOMAINNAME: {
      const char *name = arg_string(op, 0);
      check(setdomainname(name, strlen(name)), "setdomainname", name);
      break;
    }
    case OP_CONSOLE:
      open_console(op);
      break;
    case OP_HOOK:
      run_hook(op);
      break;
    case OP_WRITE_PATH: {
      const char *text = arg_string(op, 1); /* without its NUL: the kernel parses to the end */
      int fd = open(arg_string(op, 0), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      check(fd, "open", arg_string(op, 2));
      if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) failed("write", arg_string(op, 2));
      close(fd);
      break;
    }
    case OP_RECEIVE_ROOT: {
      int64_t slot = arg_number(op, 0);
      if (slot < 0 || slot >= TREE_SLOTS) fail(125, "plan: bad tree slot %lld", (long long)slot);
      trees[slot] = userns_receive_root(context->root_socket);
      if (trees[slot] < 0) _exit(125); /* the shim could not make it, and says why */
      close(context->root_socket);
      break;
    }
    case OP_ENTER_TREE: {
      int64_t slot = arg_number(op, 0);
      if (slot < 0 || slot >= TREE_SLOTS || trees[slot] < 0) fail(125, "plan: empty tree slot");
      check((int)syscall(SYS_move_mount, trees[slot], "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH),
            "move_mount", "the root");
      check(fchdir(trees[slot]), "fchdir", "the root");
      close(trees[slot]);
      trees[slot] = -1;
      break;
    }
    case OP_NAMESPACES_MADE:
      /* "N": the shim answers once it has done its part (an engine's hooks). */
      tell_shim(number_or(op, 0, 0) != 0 ? "N" : "n", number_or(op, 0, 0) != 0);
      break;
    case OP_CLOSE_FROM:
      check((int)syscall(SYS_close_range, (unsigned)arg_number(op, 0), ~0U, CLOSE_RANGE_CLOEXEC),
            "close_range", NULL);
      break;
    case OP_CHECK_EXECUTABLE: {
      char found[4096];
      resolve(arg_string(op, 0), arg_string(op, 1), found, sizeof found);
      break;
    }
    case OP_EXEC:
      exec_command(op);
      break;
    case OP_SETUSER:
      set_user(op);
      break;
    default:
      fail(125, "plan: unknown operation %u", op->code);
  }
}

void child_run(const struct plan *plan, const struct child_context *child) {
  context = child;
  for (int fd = 0; fd < 3; fd++) stdio[fd] = child->stdio[fd];
  /* An engine's shim leaves once its container is ready: a failure reported after that
   * must end this process with its own code, not with SIGPIPE (reset before the exec). */
  signal(SIGPIPE, SIG_IGN);
  for (int slot = 0; slot < TREE_SLOTS; slot++) trees[slot] = child->trees[slot];
  for (size_t i = 0; i < plan->count; i++) {
    if (plan->ops[i].code >= OP_UNSHARE) run(&plan->ops[i]);
  }
  fail(125, "plan: no command to run");
}
