/*
 * tocker-shim: the small supervisor of one container (or of one exec'd process).
 *
 * The runtime (TypeScript) decides everything and writes it as a plan: what this process
 * supervises, and the list of operations its child performs between fork() and execve()
 * (namespaces, mounts, devices, capabilities, seccomp...). The shim only carries the plan
 * out: no policy lives here. It is a fresh, small process, so nothing of the agent or the
 * CLI (memory, descriptors, argv, environment) ever comes near a container.
 *
 * Plan encoding (little endian), read from descriptor 3 until end of file:
 *   "TKS1" u32:count, then count operations: u16:code u16:argc, then argc arguments,
 *   each u8:kind (1: i64, 2: bytes) then an i64, or u32:length and that many bytes.
 *   A bytes argument of length 0 is NULL; strings include their terminating NUL.
 */
#ifndef TOCKER_SHIM_H
#define TOCKER_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

/* Settings: how the shim itself works. */
enum {
  SET_MODE = 1,         /* i64: MODE_CREATE or MODE_EXEC */
  SET_REPORT = 2,       /* i64 fd: lines to the runtime (pid, ready, started, error, exit) */
  SET_CONTROL = 3,      /* i64 fd: bytes from the runtime ('g' start, 'c' concluded, 'r' concluded
                         * and removed), EOF: gone */
  SET_STDIN = 4,        /* i64 fd: relayed into the container's stdin pipe (-1: none) */
  SET_STDOUT = 5,       /* i64 fd: where the container's stdout pipe is relayed */
  SET_STDERR = 6,       /* i64 fd: where the container's stderr pipe is relayed */
  SET_OUTPUT_IS_LOG = 7,/* output goes to a log: a full disk drops it, and the log says so */
  SET_TERMINAL = 8,     /* i64 fd: a pty slave that is the child's stdio (no pipes then) */
  SET_KEEP = 9,         /* i64 fd: held open, untouched, while the shim lives (a pty master) */
  SET_EXIT_FILE = 10,   /* i64 fd: the wait status is written here when the child ends */
  SET_FOREGROUND = 11,  /* the runtime going away (control EOF) kills the child */
  SET_CONCLUDER = 12,   /* argv...: exec'd after the child ended if the runtime is gone */
  SET_CONCLUDER_ENV = 13, /* env strings for the concluder */
  SET_PID_NAMESPACE = 14, /* i64 fd: the child is born in this PID namespace (exec: always) */
  SET_CGROUP = 15,      /* i64 fd: a cgroup.procs the shim moves its child into, before 'g' */
  SET_VETH = 16,        /* host name, peer name, MAC, bridge: a pair the shim makes (veth.c) */
  SET_SHARE_PID = 17,   /* the child stays in the shim's PID namespace (the host's) */
  SET_ENGINE = 18,      /* i64 leave: an OCI engine's container or exec: the shim's own 0, 1, 2
                         * are the child's stdio (no relay, no exit file, no concluder); with
                         * leave, the shim exits once the child is ready (or exec'd), leaving
                         * it to the engine's subreaper; without, it waits for its end */
  SET_HOOK = 19,        /* name, state before the pid, state after it, hook (hooks.c): run by
                         * the shim in the runtime's namespaces once the child's exist
                         * (OCI's prestart and createRuntime), with the child's host pid */
  SET_USER_NAMESPACE = 20, /* uid_map text, gid_map text: the child is cloned into a user
                            * namespace of its own (userns.c) */
  SET_IDMAPPED_ROOT = 21,  /* upper, work, lower layers... (top first): the overlay the shim
                            * makes over idmapped layers (no upper: the one directory as it is),
                            * handed to the child (userns.c) */
  SET_TREE = 22,           /* i64 slot, path, i64 fd, i64 attributes, i64 recursive: OP_OPEN_TREE's
                            * clone, made by the shim on the host before the child exists (a
                            * child in a user namespace may not clone the host's mounts) */
  SET_REMOVAL = 23,        /* i64 fd, name: the directory that holds the container's, and the
                            * name the container's has once it is removed: on 'r' the shim
                            * deletes that (remove.c) before it exits */
};

/* Operations of the child, in order. */
enum {
  OP_UNSHARE = 32,        /* i64 flags */
  OP_SETNS = 33,          /* i64 fd, i64 flags */
  OP_MOUNT = 34,          /* source, target, fstype, i64 flags, data */
  OP_UMOUNT = 35,         /* target, i64 flags */
  OP_PIVOT_ROOT = 36,     /* new root: it becomes "/", the old root is detached */
  OP_MKDIR_TARGET = 37,   /* path, i64 mode: a directory to mount on; never a symlink */
  OP_FILE_TARGET = 38,    /* path, i64 mode, i64 replace_link: a regular file to mount on; a symlink refused (or replaced) */
  OP_MKNOD = 39,          /* path, i64 mode (with type bits), i64 major, i64 minor */
  OP_SYMLINK = 40,        /* target, path */
  OP_OPEN_TREE = 41,      /* i64 slot, path, i64 fd (or -1: by path), i64 attributes, i64 recursive: a detached bind mount, made before pivot */
  OP_MOVE_MOUNT = 42,     /* i64 slot, target */
  OP_SETHOSTNAME = 43,    /* name */
  OP_LOOPBACK_UP = 44,
  OP_CHDIR = 45,          /* path: also checked to be inside the root */
  OP_STDIO = 46,          /* the prepared stdin/stdout/stderr become 0, 1, 2 */
  OP_SETSID = 47,
  OP_CONTROLLING_TTY = 48,/* ioctl(0, TIOCSCTTY) */
  OP_PRCTL = 49,          /* i64 option, i64 arg */
  OP_WRITE_CLOSE = 50,    /* i64 fd, bytes, subject: write all, then close the fd */
  OP_NEW_KEYRING = 51,
  OP_SETRLIMIT = 52,      /* i64 resource, i64 soft, i64 hard (-1: unlimited), subject */
  OP_CAPABILITIES = 53,   /* i64 bounding, effective, permitted, inheritable, ambient (masks) */
  OP_SECCOMP = 54,        /* bytes: struct sock_filter[], i64 flags of seccomp(2) */
  OP_READY = 55,          /* [i64 wait]: tell the shim set-up is done; unless wait is 0, wait for the start */
  OP_CLOSE_FROM = 56,     /* i64 first: every descriptor from there is closed at exec */
  OP_CHECK_EXECUTABLE = 57, /* command, PATH: found and executable in the container, or 127/126 */
  OP_EXEC = 58,           /* i64 argc, argv..., env...: argv[0] searched in env's PATH */
  OP_CHMOD = 59,          /* path, i64 mode */
  OP_SETUSER = 60,        /* i64 uid, i64 gid, i64 count, groups... */
  OP_MOUNT_OVERLAY = 61,  /* target, upper, work, lower layers... (top first) */
  OP_COPY_INTO = 62,      /* i64 slot, path: what the container has at path, copied into the tree */
  OP_NET_INTERFACE = 63,  /* from name, to name, address, i64 prefix, gateway: the container's own interface */
  OP_NAMESPACES_MADE = 64, /* [i64 wait]: tell the shim its namespaces exist (its veth pairs are
                            * made now); with wait, go on only once the shim says so */
  OP_WRITE_PATH = 65,     /* path, text, subject: a kernel file written (a sysctl, the OOM score) */
  OP_AWAIT_START = 66,    /* i64 fd (O_PATH of a fifo): blocks opening it for writing until the
                           * engine's `start` opens it, then writes one byte and keeps it open
                           * until its execve (close-on-exec): that end is what `start` awaits */
  OP_SETDOMAINNAME = 67,  /* name */
  OP_HOOK = 69,           /* name, state before the pid, state after it, hook (hooks.c): run by
                           * the child where it is (OCI's createContainer, startContainer) */
  OP_CONSOLE = 68,        /* i64 socket, i64 rows, i64 columns, i64 is_console: a pty of the
                           * container's devpts, its master sent over the socket, its slave the
                           * stdio (and, with is_console, /dev/console) */
  OP_RECEIVE_ROOT = 70,   /* i64 slot: waits for the shim's idmapped root (its maps are written then) */
  OP_ENTER_TREE = 71,     /* i64 slot: that tree mounted on the working directory, and entered */
};

enum { MODE_CREATE = 1, MODE_EXEC = 2 };

struct arg {
  int is_bytes;
  int64_t number;
  const char *bytes; /* NULL when the bytes argument is empty */
  uint32_t length;
};

struct op {
  uint16_t code;
  uint16_t argc;
  struct arg *args;
};

struct plan {
  struct op *ops;
  size_t count;
};

/* plan.c */
int plan_read(int fd, struct plan *plan);
int64_t arg_number(const struct op *op, unsigned index);
const char *arg_string(const struct op *op, unsigned index);
const struct arg *arg_at(const struct op *op, unsigned index);

#define TREE_SLOTS 128 /* the console, the init, binds, /etc files, devices, cgroup directories */

/* The child's half of the set-up: its stdio and the pipes to the shim. */
struct child_context {
  int stdio[3];   /* become 0, 1, 2 */
  int trees[TREE_SLOTS]; /* detached mounts the shim made for it (SET_TREE), or -1 */
  int root_socket; /* shim -> child: the idmapped root (SCM_RIGHTS), or -1 */
  int sync_write; /* child -> shim: "r" when ready, "e<code> <message>" on failure (cloexec) */
  int go_read;    /* shim -> child: one byte to go on */
  int spare_network; /* a network namespace to join instead of unsharing one, or -1 */
};

/* child.c: never returns */
void child_run(const struct plan *plan, const struct child_context *context)
    __attribute__((noreturn));

/* relay.c: one direction of copying, see relay.c */
struct relay {
  int from;
  int to;
  int is_log;
  int close_to_at_end; /* the destination is ours (a pipe into the container): close it at the end */
  int from_open;
  uint64_t dropped;
  size_t start, end;
  char buffer[65536];
};
void relay_init(struct relay *relay, int from, int to, int is_log, int close_to_at_end);
short relay_source_events(const struct relay *relay);
short relay_destination_events(const struct relay *relay);
void relay_read(struct relay *relay);
void relay_write(struct relay *relay);
int relay_done(const struct relay *relay);

/* veth.c: a container's veth pair, its host end on `bridge`, its other end in `pid`'s network
 * namespace. 0, or -1 with the reason in `why`. */
struct veth {
  const char *host, *peer, *mac, *bridge;
};
int veth_attach(const struct veth *veth, pid_t pid, char *why, size_t why_size);

/* console.c: the pty of an engine's container (OP_CONSOLE); its slave (and its number in
 * /dev/pts), or -1 with errno set and `what` naming the step that failed */
int console_create(int socket, unsigned rows, unsigned columns, unsigned *number,
                   const char **what);

/* hooks.c: one OCI hook (runtime-spec config.md "POSIX-platform Hooks"), run with the
 * container's state on its stdin. In a plan, a hook's arguments are: path, i64 timeout in
 * seconds (0: none), i64 argc, argc strings (argv, argv[0] included), then the environment's
 * strings to the end of the operation (the environment replaces ours). */
struct hook {
  const char *path;
  char *const *args;
  char *const *env;
  int timeout_seconds; /* 0: none */
};
/* The hook whose arguments start at `index` of `op` (its arrays are allocated). */
void hook_from_op(const struct op *op, unsigned index, struct hook *hook);
/* Runs it to its end: 0, or -1 with why it failed ("exit status 1, stdout: ..., stderr: ..."). */
int hook_run(const struct hook *hook, const char *state, size_t length, char *why, size_t why_size);

/* tree.c: a detached clone of `source` (by `from_fd` unless it is -1; with what is mounted
 * below it when `recursive`) with mount attributes set; the descriptor, or -1 with errno. */
int tree_clone(const char *source, int from_fd, uint64_t attributes, int recursive);

/* userns.c: the host's half of a container in a user namespace of its own. */
struct user_namespace {
  const char *uid_map, *gid_map;
  const struct op *root; /* SET_IDMAPPED_ROOT */
};
pid_t userns_clone(void);
int userns_prepare(const struct user_namespace *userns, pid_t child, int root_socket, char *why,
                   size_t why_size);
int userns_receive_root(int root_socket);

/* Descriptors as the runtime hands them over: the plan, the channel, then the plan's own. */
#define PLAN_FD 3
#define CHANNEL_FD 4
#define FIRST_PASSED_FD 5
/* SCM_MAX_FD: the most one message may carry. */
#define MAX_PASSED_FDS 253

/* descriptors.c: SCM_RIGHTS. send_descriptor: one descriptor with one byte, 0 or -1.
 * receive_descriptors: up to `size` bytes into `payload` and up to `most` descriptors
 * (close-on-exec) into `fds`, `count` of them; the bytes received, 0 at end of file, -1
 * with errno (EMSGSIZE: more descriptors came than `most`, none kept). */
int send_descriptor(int socket, int fd);
ssize_t receive_descriptors(int socket, void *payload, size_t size, int *fds, size_t most,
                            size_t *count);

/* standby.c: a shim started ahead waits for its plan (argv[1] is STANDBY_TITLE, the channel
 * at STANDBY_CHANNEL_FD); on return everything is where a spawned shim finds it, and `title`
 * (argv[1]) holds the container's name. */
#define STANDBY_TITLE "standby                         "
#define STANDBY_NAME_BYTES 32
#define STANDBY_CHANNEL_FD 3
void standby_receive(char *title);
/* A new network namespace made while the standby shim waited (close-on-exec), or -1: a
 * child that is not in a user namespace of its own joins it instead of unsharing one. */
extern int standby_network_namespace;

/* remove.c: deletes the directory `name` in `parent` and everything in it, never following a
 * symlink, under the runtime's lock on it (flock); 0, or -1 when something is left. */
int remove_directory(int parent, const char *name);

/* main.c */
void die(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
