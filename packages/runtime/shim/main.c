/*
 * The shim's own life: read the plan, fork the child into its PID namespace, then
 * supervise it. It tells the runtime what happens on the report pipe, one line each:
 *   pid <host pid>      the child exists
 *   ready               set-up is done, waiting for 'g' on the control pipe
 *   started             the command runs (the child exec'd)
 *   error <code> <msg>  set-up or exec failed (the child exits with <code>)
 *   exit <wait status>  the child ended (also written to the exit file)
 * The runtime answers on the control pipe: 'g' start, 'c' the exit is recorded, 'r' the
 * exit is recorded and the container removed: its directory is the shim's to delete, once
 * the runtime has let go of it (off the path of a `run --rm`, which can exit). Its end
 * of file means the runtime is gone: a creation not started yet is abandoned, a
 * foreground container is killed, and an ended container's exit is recorded by the
 * concluder (a tocker command) that the shim becomes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* How long the runtime may take to record an exit before the concluder does it. */
#define CONCLUDE_WAIT_MS 60000
/* How long output may keep coming after the child ended (its namespace is being killed). */
#define DRAIN_WAIT_MS 2000

static struct settings {
  int mode;
  int report, control;
  int stdin_source, stdout_destination, stderr_destination;
  int output_is_log;
  int terminal;
  int keep;
  int exit_file;
  int removal_parent; /* SET_REMOVAL */
  const char *removal_name;
  int foreground;
  int pid_namespace;
  int share_pid;
  int engine, engine_leaves;
  int cgroups[8];
  int cgroup_count;
  struct veth veths[8];
  int veth_count;
  const struct op *hooks[32];
  int hook_count;
  char **concluder;
  char **concluder_env;
  struct user_namespace userns; /* uid_map NULL: the host's */
  const struct op *trees[TREE_SLOTS]; /* SET_TREE, by slot */
} settings = {
    .report = -1,
    .control = -1,
    .stdin_source = -1,
    .stdout_destination = -1,
    .stderr_destination = -1,
    .terminal = -1,
    .keep = -1,
    .exit_file = -1,
    .removal_parent = -1,
    .pid_namespace = -1,
};

static void report(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *format, ...) {
  if (settings.report < 0) return;
  char line[1200];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length < 0) return;
  if ((size_t)length >= sizeof line) length = sizeof line - 1;
  ssize_t ignored = write(settings.report, line, (size_t)length); /* the runtime may be gone */
  (void)ignored;
}

void die(const char *format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  report("error 125 tocker-shim: %s\n", message);
  _exit(125);
}

static char **strings_from(const struct op *op, unsigned first) {
  char **strings = calloc((size_t)op->argc - first + 1, sizeof *strings);
  if (strings == NULL) die("out of memory");
  for (unsigned i = first; i < op->argc; i++) strings[i - first] = (char *)arg_string(op, i);
  return strings;
}

static void read_settings(const struct plan *plan) {
  for (size_t i = 0; i < plan->count; i++) {
    const struct op *op = &plan->ops[i];
    switch (op->code) {
      case SET_MODE: settings.mode = (int)arg_number(op, 0); break;
      case SET_REPORT: settings.report = (int)arg_number(op, 0); break;
      case SET_CONTROL: settings.control = (int)arg_number(op, 0); break;
      case SET_STDIN: settings.stdin_source = (int)arg_number(op, 0); break;
      case SET_STDOUT: settings.stdout_destination = (int)arg_number(op, 0); break;
      case SET_STDERR: settings.stderr_destination = (int)arg_number(op, 0); break;
      case SET_OUTPUT_IS_LOG: settings.output_is_log = 1; break;
      case SET_TERMINAL: settings.terminal = (int)arg_number(op, 0); break;
      case SET_KEEP: settings.keep = (int)arg_number(op, 0); break; /* held, never touched */
      case SET_EXIT_FILE: settings.exit_file = (int)arg_number(op, 0); break;
      case SET_REMOVAL:
        settings.removal_parent = (int)arg_number(op, 0);
        settings.removal_name = arg_string(op, 1);
        break;
      case SET_FOREGROUND: settings.foreground = 1; break;
      case SET_CONCLUDER: settings.concluder = strings_from(op, 0); break;
      case SET_CONCLUDER_ENV: settings.concluder_env = strings_from(op, 0); break;
      case SET_PID_NAMESPACE: settings.pid_namespace = (int)arg_number(op, 0); break;
      case SET_SHARE_PID: settings.share_pid = 1; break;
      case SET_HOOK:
        if (settings.hook_count == 32) die("plan: too many hooks");
        settings.hooks[settings.hook_count++] = op;
        break;
      case SET_ENGINE:
        settings.engine = 1;
        settings.engine_leaves = op->argc == 0 || arg_number(op, 0) != 0;
        break;
      case SET_VETH:
        if (settings.veth_count == 8) die("plan: too many interfaces");
        settings.veths[settings.veth_count++] = (struct veth){
            arg_string(op, 0), arg_string(op, 1), arg_string(op, 2), arg_string(op, 3)};
        break;
      case SET_USER_NAMESPACE:
        settings.userns.uid_map = arg_string(op, 0);
        settings.userns.gid_map = arg_string(op, 1);
        break;
      case SET_IDMAPPED_ROOT:
        if (op->argc < 3) die("plan: an idmapped root without layers");
        settings.userns.root = op;
        break;
      case SET_TREE: {
        int64_t slot = arg_number(op, 0);
        if (slot < 0 || slot >= TREE_SLOTS) die("plan: bad tree slot %lld", (long long)slot);
        settings.trees[slot] = op;
        break;
      }
      case SET_CGROUP:
        if (settings.cgroup_count == 8) die("plan: too many cgroups");
        settings.cgroups[settings.cgroup_count++] = (int)arg_number(op, 0);
        break;
      default:
        if (op->code < OP_UNSHARE) die("plan: unknown setting %u", op->code);
    }
  }
  if (settings.mode != MODE_CREATE && settings.mode != MODE_EXEC) die("plan: no mode");
  if (settings.userns.uid_map != NULL &&
      (settings.mode != MODE_CREATE || settings.pid_namespace >= 0 || settings.userns.root == NULL))
    die("plan: a user namespace is made only by a creation with its own PID namespace and root");
}

/* The trees the child cannot clone itself (SET_TREE), made on the host before it exists. */
static void clone_trees(struct child_context *context) {
  for (int slot = 0; slot < TREE_SLOTS; slot++) {
    context->trees[slot] = -1;
    const struct op *op = settings.trees[slot];
    if (op == NULL) continue;
    const char *source = arg_string(op, 1);
    context->trees[slot] = tree_clone(source, (int)arg_number(op, 2), (uint64_t)arg_number(op, 3),
                                      op->argc > 4 && arg_number(op, 4) != 0);
    if (context->trees[slot] < 0)
      die("open_tree %s: %s", source ? source : "the terminal", strerror(errno));
  }
}

static void make_pipe(int fds[2], int flags) {
  if (pipe2(fds, O_CLOEXEC | flags) < 0) die("pipe: %s", strerror(errno));
}

static void close_if_open(int fd) {
  if (fd >= 0) close(fd);
}

static int64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* What the supervision loop knows about the child and the runtime. */
static struct state {
  pid_t child;
  int sync;           /* child -> shim, until the child execs or fails */
  int go;             /* shim -> child, until it is told to start */
  int signals;        /* signalfd */
  int ready, go_requested, started, failed, aborted;
  char attach_failure[512]; /* why an interface could not go in ("": it did, or none) */
  int exited, status;
  int mount_namespace; /* the child's, held until its exit is reported (hold_mount_namespace) */
  int runtime_gone, concluded, removed;
  char sync_buffer[1100];
  size_t sync_length;
  struct relay relays[3]; /* stdout, stderr, stdin */
} state = {.mount_namespace = -1};

/*
 * The last reference to a mount namespace tears its mounts down, and that waits for an RCU
 * grace period (about half a millisecond here). The child's exit would drop it before the
 * shim hears of the exit; held here, it goes once the exit is reported, off the path of
 * whoever waits for it.
 */
static void hold_mount_namespace(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", state.child);
  state.mount_namespace = open(path, O_RDONLY | O_CLOEXEC);
}

static void kill_child(void) {
  if (!state.exited) kill(state.child, SIGKILL);
}

static void send_go(void) {
  if (state.ready && state.go_requested && state.go >= 0) {
    ssize_t ignored = write(state.go, "g", 1);
    (void)ignored;
    close(state.go);
    state.go = -1;
  }
}

/* The child's namespaces exist: its interfaces go in while it builds its root (it is only
 * let go once it is ready, so they are in before it starts). A failure is reported once the
 * child's side of the pipe ends: a child that failed its own set-up meanwhile (and so had
 * no namespace left to take an interface) has its own reason there first. */
static void attach_interfaces(void) {
  for (int i = 0; i < settings.veth_count; i++) {
    if (veth_attach(&settings.veths[i], state.child, state.attach_failure,
                    sizeof state.attach_failure) < 0) {
      kill_child();
      return;
    }
  }
}

/* The engine's prestart and createRuntime hooks, once the child's namespaces exist; the
 * first failure ends the creation with its reason. 0 when all ran. */
static int run_runtime_hooks(void) {
  for (int i = 0; i < settings.hook_count; i++) {
    const struct op *op = settings.hooks[i];
    struct hook hook;
    hook_from_op(op, 3, &hook);
    char state_text[16384], why[400];
    int length = snprintf(state_text, sizeof state_text, "%s%d%s", arg_string(op, 1), state.child,
                          arg_string(op, 2));
    if (length < 0 || (size_t)length >= sizeof state_text) die("plan: a hook's state is too long");
    if (hook_run(&hook, state_text, (size_t)length, why, sizeof why) < 0) {
      snprintf(state.attach_failure, sizeof state.attach_failure, "error running %.60s: %s",
               arg_string(op, 0), why);
      kill_child();
      return -1;
    }
  }
  return 0;
}

static void on_sync(void) {
  ssize_t got = read(state.sync, state.sync_buffer + state.sync_length,
                     sizeof state.sync_buffer - 1 - state.sync_length);
  if (got < 0 && errno == EINTR) return;
  if (got > 0) {
    state.sync_length += (size_t)got;
    state.sync_buffer[state.sync_length] = '\0';
    char *newline;
    while ((newline = strchr(state.sync_buffer, '\n')) != NULL) {
      *newline = '\0';
      if (strcmp(state.sync_buffer, "n") == 0 || strcmp(state.sync_buffer, "N") == 0) {
        attach_interfaces();
        if (state.attach_failure[0] == '\0' && run_runtime_hooks() == 0 &&
            state.sync_buffer[0] == 'N' && write(state.go, "n", 1) != 1)
          kill_child();
      } else if (strcmp(state.sync_buffer, "r") == 0 && state.attach_failure[0] == '\0') {
        state.ready = 1;
        if (settings.mode == MODE_CREATE && !settings.engine_leaves) hold_mount_namespace();
        report("ready\n");
        /* An engine's container is the engine's from here: it waits for `start` on its
         * fifo, and its end is reaped by the engine's subreaper, not by this process. */
        if (settings.engine_leaves) _exit(0);
        send_go();
      } else if (state.sync_buffer[0] == 'e') {
        state.failed = 1;
        report("error %s\n", state.sync_buffer + 1);
      }
      size_t rest = state.sync_length - (size_t)(newline + 1 - state.sync_buffer);
      memmove(state.sync_buffer, newline + 1, rest + 1);
      state.sync_length = rest;
    }
    return;
  }
  /* End of file: the child exec'd (the pipe is close-on-exec), or it died. Its wait status
   * cannot tell (a command may be quick to end), but the plan's order can: a creation
   * execs only after its "ready". */
  close(state.sync);
  state.sync = -1;
  /* An engine's child that failed its set-up is the engine's to reap, as one that runs. */
  if (state.failed && settings.engine_leaves) _exit(0);
  if (state.failed) return;
  if (settings.mode == MODE_CREATE && !state.ready) {
    state.failed = 1;
    if (state.attach_failure[0] != '\0')
      report("error 125 %s\n", state.attach_failure);
    else
      report("error 125 the container process died during set-up\n");
    if (settings.engine_leaves) _exit(0);
  } else {
    state.started = 1;
    report("started\n");
    if (settings.engine_leaves) _exit(0); /* an engine's detached exec: its subreaper's now */
  }
}

static void on_control(void) {
  char commands[64];
  ssize_t got = read(settings.control, commands, sizeof commands);
  if (got < 0 && errno == EINTR) return;
  if (got > 0) {
    for (ssize_t i = 0; i < got; i++) {
      if (commands[i] == 'g') {
        state.go_requested = 1;
        send_go();
      } else if (commands[i] == 'c') {
        state.concluded = 1;
      } else if (commands[i] == 'r') {
        state.concluded = 1;
        state.removed = 1;
      }
    }
    return;
  }
  close(settings.control);
  settings.control = -1;
  state.runtime_gone = 1;
  if (!state.go_requested && settings.mode == MODE_CREATE) {
    state.aborted = 1; /* the runtime gave up on this creation */
    kill_child();
  } else if (settings.foreground) {
    kill_child(); /* a foreground container does not outlive its CLI */
  }
}

static void on_signal(void) {
  struct signalfd_siginfo info;
  while (read(state.signals, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGCHLD) {
      /* Never reap an engine's child: its exit status is the engine's (conmon's or
       * containerd's shim's), which gets it once this shim is gone and it is reparented. */
      if (settings.engine_leaves) continue;
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == state.child) {
          state.exited = 1;
          state.status = status;
        }
      }
    } else if (!state.exited) {
      kill(state.child, (int)info.ssi_signo); /* the shim passes on what it is sent */
    }
  }
}

/* One round of poll() over everything that is open; `timeout_ms` -1: until something. */
static void poll_once(int timeout_ms) {
  struct pollfd fds[10];
  int kinds[10];
  nfds_t count = 0;
#define WATCH(fd_, events_, kind_)    \
  do {                                \
    if ((fd_) >= 0 && (events_)) {    \
      fds[count].fd = (fd_);          \
      fds[count].events = (events_);  \
      fds[count].revents = 0;         \
      kinds[count++] = (kind_);       \
    }                                 \
  } while (0)
  WATCH(state.signals, POLLIN, 0);
  WATCH(state.sync, POLLIN, 1);
  WATCH(settings.control, POLLIN, 2);
  for (int r = 0; r < 3; r++) {
    WATCH(state.relays[r].from, relay_source_events(&state.relays[r]), 10 + r);
    WATCH(state.relays[r].to, relay_destination_events(&state.relays[r]), 20 + r);
  }
#undef WATCH
  int ready = poll(fds, count, timeout_ms);
  if (ready < 0 && errno != EINTR) die("poll: %s", strerror(errno));
  for (nfds_t i = 0; ready > 0 && i < count; i++) {
    if (fds[i].revents == 0) continue;
    int kind = kinds[i];
    if (kind == 0) on_signal();
    else if (kind == 1) on_sync();
    else if (kind == 2) on_control();
    else if (kind >= 20) relay_write(&state.relays[kind - 20]);
    else relay_read(&state.relays[kind - 10]);
  }
}

static int output_drained(void) {
  return relay_done(&state.relays[0]) && relay_done(&state.relays[1]);
}

static void write_exit_file(void) {
  if (settings.exit_file < 0) return;
  char line[32];
  int length = snprintf(line, sizeof line, "status %d\n", state.status);
  /* The runtime made the file this size beforehand: overwriting it needs no free block. */
  ssize_t ignored = pwrite(settings.exit_file, line, (size_t)length, 0);
  (void)ignored;
}

/* The shim's own PID namespace: its children's was changed to the container's, and a
 * process in that state cannot start threads (a concluder is a Node process). */
static int own_pid_namespace = -1;

static void become_concluder(void) {
  if (settings.concluder == NULL || settings.concluder[0] == NULL) return;
  if (setns(own_pid_namespace, CLONE_NEWPID) < 0) return;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  closefrom(3);
  execve(settings.concluder[0], settings.concluder,
         settings.concluder_env ? settings.concluder_env : (char *[]){NULL});
  /* Not fatal: the next tocker command collects the container the same way. */
}

/*
 * Moves the child into the container's cgroups while it builds its root: on cgroup v1 a
 * migration can wait for an RCU grace period (milliseconds), which this way overlaps the
 * set-up instead of following it. It is done before the child may go on to run anything
 * of the user's ('g' waits for it), so nothing of theirs ever runs outside its limits.
 */
static void move_child_into_cgroups(pid_t child) {
  char pid[16];
  int length = snprintf(pid, sizeof pid, "%d", child);
  for (int i = 0; i < settings.cgroup_count; i++) {
    if (write(settings.cgroups[i], pid, (size_t)length) != length) {
      report("error 125 cannot move the container into its cgroup: %s\n", strerror(errno));
      kill(child, SIGKILL);
      state.failed = 1;
    }
    close(settings.cgroups[i]);
  }
}

static int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* nothing in a container may read or trace the shim */
  signal(SIGPIPE, SIG_IGN);
  setsid(); /* a terminal's ^C or hang-up reaches the runtime, not its containers' shims */

  if (argc == 2 && strcmp(argv[1], STANDBY_TITLE) == 0) standby_receive(argv[1]);
  struct plan plan;
  if (plan_read(PLAN_FD, &plan) < 0) _exit(125);
  close(PLAN_FD);
  read_settings(&plan);

  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGQUIT);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  state.signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (state.signals < 0) die("signalfd: %s", strerror(errno));

  int sync_pipe[2], go_pipe[2], in_pipe[2], out_pipe[2], err_pipe[2];
  make_pipe(sync_pipe, 0);
  make_pipe(go_pipe, 0);
  struct child_context context = {.sync_write = sync_pipe[1], .go_read = go_pipe[0],
                                  .root_socket = -1, .spare_network = -1};
  clone_trees(&context);
  int root_sockets[2] = {-1, -1};
  int own_user_namespace = settings.userns.uid_map != NULL;
  /* One the host's user namespace owns: a child in a user namespace of its own may not join it. */
  if (!own_user_namespace) context.spare_network = standby_network_namespace;
  if (own_user_namespace) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, root_sockets) < 0)
      die("socketpair: %s", strerror(errno));
    context.root_socket = root_sockets[1];
  }
  int has_pipes = settings.terminal < 0 && !settings.engine;
  if (has_pipes) {
    make_pipe(in_pipe, 0);
    make_pipe(out_pipe, O_NONBLOCK);
    make_pipe(err_pipe, O_NONBLOCK);
    context.stdio[0] = in_pipe[0];
    context.stdio[1] = out_pipe[1];
    context.stdio[2] = err_pipe[1];
  } else if (settings.engine) {
    for (int fd = 0; fd < 3; fd++) context.stdio[fd] = fd; /* the engine's, as create got them */
  } else {
    context.stdio[0] = context.stdio[1] = context.stdio[2] = settings.terminal;
  }

  own_pid_namespace = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own_pid_namespace < 0) die("open /proc/self/ns/pid: %s", strerror(errno));
  /* A creation gets a PID namespace of its own unless it is given one (another
   * container's, or an engine's by path) or shares the host's; an exec joins its
   * container's. */
  if (settings.pid_namespace >= 0) {
    if (setns(settings.pid_namespace, CLONE_NEWPID) < 0)
      die("setns(the container's PID namespace): %s", strerror(errno));
  } else if (settings.mode == MODE_EXEC) {
    die("plan: an exec without its container's PID namespace");
  } else if (own_user_namespace) {
    /* cloned below, into a PID namespace its user namespace owns (userns.c) */
  } else if (!settings.share_pid) {
    if (unshare(CLONE_NEWPID) < 0) die("unshare(CLONE_NEWPID): %s", strerror(errno));
  }

  pid_t child = own_user_namespace ? userns_clone() : fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    /* Nothing of the shim's side may reach the container. */
    close_if_open(settings.report);
    close_if_open(settings.control);
    close_if_open(settings.stdin_source);
    close_if_open(settings.stdout_destination);
    close_if_open(settings.stderr_destination);
    close_if_open(settings.exit_file);
    close_if_open(settings.removal_parent);
    close_if_open(settings.keep);
    for (int i = 0; i < settings.cgroup_count; i++) close(settings.cgroups[i]);
    close(state.signals);
    close(own_pid_namespace);
    close(sync_pipe[0]);
    close(go_pipe[1]);
    close_if_open(root_sockets[0]);
    if (has_pipes) {
      close(in_pipe[1]);
      close(out_pipe[0]);
      close(err_pipe[0]);
    }
    child_run(&plan, &context);
  }

  state.child = child;
  close_if_open(standby_network_namespace);
  for (int slot = 0; slot < TREE_SLOTS; slot++) close_if_open(context.trees[slot]);
  close_if_open(root_sockets[1]);
  if (own_user_namespace) {
    char why[512];
    if (userns_prepare(&settings.userns, child, root_sockets[0], why, sizeof why) < 0) {
      report("error 125 %s\n", why);
      state.failed = 1;
      kill(child, SIGKILL);
    }
    close(root_sockets[0]); /* a child still waiting for its root then gives up */
  }
  state.sync = sync_pipe[0];
  state.go = go_pipe[1];
  close(sync_pipe[1]);
  close(go_pipe[0]);
  if (has_pipes) {
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    relay_init(&state.relays[0], out_pipe[0], settings.stdout_destination, settings.output_is_log, 0);
    relay_init(&state.relays[1], err_pipe[0], settings.stderr_destination, settings.output_is_log, 0);
    if (settings.stdin_source >= 0) {
      relay_init(&state.relays[2], settings.stdin_source, in_pipe[1], 0, 1);
    } else {
      close(in_pipe[1]); /* stdin at its end from the start, like /dev/null */
      relay_init(&state.relays[2], -1, -1, 0, 0);
    }
  } else {
    close_if_open(settings.terminal); /* the runtime holds the master; the child has the slave */
    for (int r = 0; r < 3; r++) relay_init(&state.relays[r], -1, -1, 0, 0);
  }
  report("pid %d\n", child);
  move_child_into_cgroups(child);

  while (!state.exited) poll_once(-1);
  int64_t drain_until = now_ms() + DRAIN_WAIT_MS;
  while ((state.sync >= 0 || !output_drained()) && now_ms() < drain_until)
    poll_once((int)(drain_until - now_ms()));
  if (state.sync >= 0) on_sync();

  if (settings.mode == MODE_EXEC) {
    report("exit %d\n", state.status);
    _exit(exit_code_of(state.status));
  }
  if (state.aborted || !state.started) _exit(0); /* the runtime handles a failed creation */
  write_exit_file();
  report("exit %d\n", state.status);
  close_if_open(state.mount_namespace);
  int64_t conclude_until = now_ms() + CONCLUDE_WAIT_MS;
  while (!state.concluded && !state.runtime_gone && now_ms() < conclude_until)
    poll_once((int)(conclude_until - now_ms()));
  if (!state.concluded) become_concluder();
  /* Left for the runtime's next collection if it cannot all go. */
  if (state.removed && settings.removal_parent >= 0)
    remove_directory(settings.removal_parent, settings.removal_name);
  _exit(0);
}
