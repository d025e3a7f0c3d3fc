/*
 * The attacker inside a container, for the containment tests: each command tries one
 * way out and prints what happened, one line, "ok" or the errno's name, so that a test
 * can tell a refusal from a success. Built static by the tests (gcc -static) and put in
 * a test image; never part of tocker itself.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int report(long result) {
  if (result >= 0) {
    puts("ok");
    return 0;
  }
  puts(strerrorname_np(errno) ? strerrorname_np(errno) : "unknown");
  return 1;
}

static int try_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
}

/* Host-wide: every task on CPU 0, which only the host's root may watch. */
static int try_perf(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  return report(syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0));
}

static int try_keyctl(void) {
  return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

/* The session keyring's serial: a container's must not be the host's. */
static int session_keyring(void) {
  long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (id < 0) return report(id);
  printf("%ld\n", id);
  return 0;
}

static int try_syslog(void) {
  char buffer[256];
  return report(klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buffer, sizeof buffer));
}

static int try_unshare(const char *which) {
  int flags = strcmp(which, "user") == 0    ? CLONE_NEWUSER
              : strcmp(which, "mount") == 0 ? CLONE_NEWNS
              : strcmp(which, "net") == 0   ? CLONE_NEWNET
              : strcmp(which, "time") == 0  ? CLONE_NEWTIME
                                            : -1;
  if (flags < 0) return puts("unknown namespace"), 2;
  return report(unshare(flags));
}

/* "Shocker": the handle of inode 2 (an ext4 root) opened through any descriptor. */
static int try_open_by_handle(void) {
  struct {
    struct file_handle handle;
    unsigned char bytes[8];
  } root = {.handle = {.handle_bytes = 8, .handle_type = 1}};
  unsigned int inode = 2, generation = 0;
  memcpy(root.bytes, &inode, 4);
  memcpy(root.bytes + 4, &generation, 4);
  for (int fd = 0; fd < 3; fd++) {
    int opened = open_by_handle_at(fd, &root.handle, O_RDONLY);
    if (opened >= 0) return puts("ok"), 0;
  }
  return report(-1);
}

static int try_write(const char *path) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) close(fd);
  return report(fd);
}

static int try_read(const char *path) {
  char buffer[4096];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return report(fd);
  ssize_t length = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (length < 0) return report(length);
  buffer[length] = '\0';
  printf("read %zd bytes\n", length);
  fputs(buffer, stdout);
  return 0;
}

static int try_mount(const char *source, const char *target, const char *type, const char *data) {
  mkdir(target, 0755);
  return report(mount(source, target, type, 0, data));
}

static int try_remount_rw(const char *target) {
  return report(mount(NULL, target, NULL, MS_REMOUNT | MS_BIND, NULL));
}

static int try_umount(const char *target) { return report(umount2(target, MNT_DETACH)); }

static int try_mknod_open(const char *type, const char *numbers) {
  unsigned int major, minor;
  if (sscanf(numbers, "%u:%u", &major, &minor) != 2) return puts("bad device"), 2;
  mode_t mode = (type[0] == 'b' ? S_IFBLK : S_IFCHR) | 0600;
  unlink("/tmp/probe-node");
  if (mknod("/tmp/probe-node", mode, makedev(major, minor)) < 0) {
    printf("mknod ");
    return report(-1);
  }
  printf("mknod ok, open ");
  return try_write("/tmp/probe-node");
}

/* Types `text` into whatever terminal each of stdin, stdout and stderr is. */
static int try_tiocsti(const char *text) {
  int injected = 0;
  for (int fd = 0; fd < 3; fd++) {
    for (const char *c = text; *c; c++) {
      if (ioctl(fd, TIOCSTI, c) < 0) break;
      if (c[1] == '\0') injected = 1;
    }
  }
  if (injected) return puts("ok"), 0;
  return report(-1);
}

/* Anything of the host's, in what a process shows to others in its container: its Node
 * (the agent, the CLI), their flags and environment, and the test's secret. */
static const char *host_traces[] = {"node", "--token", "TOCKER_", NULL};

static int leaks_host(const char *text, size_t length, const char *secret) {
  for (size_t i = 0; i < length; i++) {
    for (const char **trace = host_traces; *trace; trace++)
      if (strncmp(text + i, *trace, strlen(*trace)) == 0) return 1;
    if (secret && strncmp(text + i, secret, strlen(secret)) == 0) return 1;
  }
  return 0;
}

static ssize_t read_file(const char *path, char *buffer, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t length = read(fd, buffer, size);
  close(fd);
  return length;
}

/*
 * Watches the container for new processes (exec'd ones, an init) for `seconds`, or until
 * /tmp/stop-watching appears, and goes after each one: ptrace, its memory, environment,
 * command line, executable and descriptors, and the namespaces behind them. Prints "saw
 * PID COMM" for each new process (so a test knows it watched), and "GAINED ..." for
 * anything that worked.
 */
static int watch(int seconds, const char *secret) {
  static char seen[1 << 22];
  time_t until = time(NULL) + seconds;
  pid_t self = getpid();
  int gained = 0, watched = 0;
  while (time(NULL) < until && access("/tmp/stop-watching", F_OK) != 0) {
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc)) != NULL) {
      pid_t pid = atoi(entry->d_name);
      if (pid <= 1 || pid == self || pid >= (pid_t)sizeof seen || seen[pid]) continue;
      seen[pid] = 1;
      watched++;
      char path[64], buffer[65536], comm[64] = "?";
      snprintf(path, sizeof path, "/proc/%d/comm", pid);
      ssize_t length = read_file(path, comm, sizeof comm - 1);
      if (length > 0) comm[length - 1] = '\0';
      printf("saw %d %s\n", pid, comm);
      if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        /* Tracing a program of the container's own is its business; tracing the shim's
         * child before its execve (a host process) would be a way out. What it is gets
         * judged while it is stopped: a stopped task can neither exec nor exit under us, so
         * its name and executable agree with each other. One that exits first had nothing
         * to give. */
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        int status;
        if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)) {
          snprintf(path, sizeof path, "/proc/%d/comm", pid);
          length = read_file(path, comm, sizeof comm - 1);
          if (length > 0) comm[length - 1] = '\0';
          snprintf(path, sizeof path, "/proc/%d/exe", pid);
          length = readlink(path, buffer, sizeof buffer - 1);
          buffer[length > 0 ? length : 0] = '\0';
          bool shim = length > 0 ? strstr(buffer, "tocker") != NULL : strcmp(comm, "tocker-shim") == 0;
          if (shim) {
            printf("GAINED ptrace %d %s (%s)\n", pid, comm, buffer);
            gained++;
          } else {
            printf("traced %d %s, the container's own %s\n", pid, comm, buffer);
          }
          ptrace(PTRACE_DETACH, pid, 0, 0);
        } else {
          printf("traced %d %s until it ended\n", pid, comm);
        }
      }
      const char *files[] = {"environ", "cmdline", "mem", NULL};
      for (const char **file = files; *file; file++) {
        snprintf(path, sizeof path, "/proc/%d/%s", pid, *file);
        length = read_file(path, buffer, sizeof buffer);
        if (length > 0 && leaks_host(buffer, (size_t)length, secret)) {
          printf("GAINED %s of %d %s\n", *file, pid, comm);
          gained++;
        }
      }
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      length = readlink(path, buffer, sizeof buffer - 1);
      if (length > 0) {
        buffer[length] = '\0';
        if (leaks_host(buffer, (size_t)length, secret) || strstr(buffer, "tocker") != NULL) {
          printf("GAINED exe %s of %d\n", buffer, pid);
          gained++;
        }
      }
      for (int fd = 0; fd < 64; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
        int opened = open(path, O_RDONLY | O_NONBLOCK);
        if (opened < 0) continue;
        length = readlink(path, buffer, sizeof buffer - 1);
        buffer[length > 0 ? length : 0] = '\0';
        /* Its own stdio is the container's; anything else is a descriptor that leaked. */
        if (fd > 2) {
          printf("GAINED fd %d (%s) of %d %s\n", fd, buffer, pid, comm);
          gained++;
        }
        close(opened);
      }
      snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
      int ns = open(path, O_RDONLY);
      if (ns >= 0) {
        struct stat theirs, ours;
        fstat(ns, &theirs);
        stat("/proc/self/ns/mnt", &ours);
        if (theirs.st_ino != ours.st_ino && setns(ns, 0) == 0) {
          printf("GAINED setns into the mount namespace of %d %s\n", pid, comm);
          gained++;
        }
        close(ns);
      }
    }
    if (proc) closedir(proc);
    fflush(stdout);
  }
  printf("watched %d, gained %d\n", watched, gained);
  return gained > 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  const char *a = argc > 2 ? argv[2] : "";
  const char *b = argc > 3 ? argv[3] : "";
  if (!strcmp(what, "bpf")) return try_bpf();
  if (!strcmp(what, "perf")) return try_perf();
  if (!strcmp(what, "keyctl")) return try_keyctl();
  if (!strcmp(what, "session-keyring")) return session_keyring();
  if (!strcmp(what, "syslog")) return try_syslog();
  if (!strcmp(what, "unshare")) return try_unshare(a);
  if (!strcmp(what, "open-by-handle")) return try_open_by_handle();
  if (!strcmp(what, "write")) return try_write(a);
  if (!strcmp(what, "read")) return try_read(a);
  if (!strcmp(what, "mount")) return try_mount(a, b, argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
  if (!strcmp(what, "remount-rw")) return try_remount_rw(a);
  if (!strcmp(what, "umount")) return try_umount(a);
  if (!strcmp(what, "mknod-open")) return try_mknod_open(a, b);
  if (!strcmp(what, "tiocsti")) return try_tiocsti(a);
  if (!strcmp(what, "watch")) return watch(atoi(a), argc > 3 ? b : NULL);
  fprintf(stderr, "usage: attack bpf|perf|keyctl|session-keyring|syslog|unshare NS|...\n");
  return 2;
}
