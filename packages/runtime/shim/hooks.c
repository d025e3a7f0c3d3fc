/* Running an OCI hook (format of its plan arguments: shim.h). Shared by tocker-shim
 * (createContainer, startContainer) and tocker-runtime's front end (poststart, poststop). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define HOOK_OUTPUT_KEPT 512

void hook_from_op(const struct op *op, unsigned index, struct hook *hook) {
  hook->path = arg_string(op, index);
  if (hook->path == NULL) die("plan: a hook without a path");
  int64_t timeout = arg_number(op, index + 1);
  int64_t argc = arg_number(op, index + 2);
  unsigned first = index + 3;
  if (timeout < 0 || timeout > 86400 || argc < 0 || argc > op->argc - first)
    die("plan: a hook of operation %u is malformed", op->code);
  unsigned envc = op->argc - first - (unsigned)argc;
  char **args = calloc((size_t)argc + 1, sizeof *args);
  char **env = calloc((size_t)envc + 1, sizeof *env);
  if (args == NULL || env == NULL) die("out of memory");
  for (unsigned i = 0; i < argc; i++) args[i] = (char *)arg_string(op, first + i);
  for (unsigned i = 0; i < envc; i++) env[i] = (char *)arg_string(op, first + (unsigned)argc + i);
  /* The spec allows args to be absent: the path is then argv[0]. */
  if (argc == 0) args[0] = (char *)hook->path;
  hook->args = args;
  hook->env = env;
  hook->timeout_seconds = (int)timeout;
}

static void exec_hook(const struct hook *hook, const int input[2], const int output[2],
                      const int errors[2]) {
  if (dup2(input[0], 0) < 0 || dup2(output[1], 1) < 0 || dup2(errors[1], 2) < 0) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  for (int signal = 1; signal < NSIG; signal++)
    if (signal != SIGKILL && signal != SIGSTOP) sigaction(signal, &default_action, NULL);
  /* Nothing of ours but the three pipes goes to the hook. */
  syscall(SYS_close_range, 3U, ~0U, 0);
  execve(hook->path, hook->args, hook->env);
  dprintf(2, "exec %s: %s", hook->path, strerror(errno));
  _exit(127);
}

static long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

struct captured {
  char data[HOOK_OUTPUT_KEPT + 1];
  size_t length;
};

/* Keeps the first bytes; the rest is read and dropped so the hook never blocks on us. */
static void capture(int fd, struct captured *into, int *open_fd) {
  char buffer[4096];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0 || errno != EAGAIN) *open_fd = 0;
      return;
    }
    size_t room = HOOK_OUTPUT_KEPT - into->length, kept = (size_t)got < room ? (size_t)got : room;
    memcpy(into->data + into->length, buffer, kept);
    into->length += kept;
  }
}

static void trim(struct captured *captured) {
  while (captured->length > 0 && (captured->data[captured->length - 1] == '\n' ||
                                  captured->data[captured->length - 1] == '\r'))
    captured->length--;
  captured->data[captured->length] = '\0';
}

int hook_run(const struct hook *hook, const char *state, size_t length, char *why,
             size_t why_size) {
  int input[2], output[2], errors[2];
  if (pipe2(input, O_CLOEXEC) < 0) goto pipe_failed;
  if (pipe2(output, O_CLOEXEC) < 0) {
    close(input[0]), close(input[1]);
    goto pipe_failed;
  }
  if (pipe2(errors, O_CLOEXEC) < 0) {
    close(input[0]), close(input[1]), close(output[0]), close(output[1]);
    goto pipe_failed;
  }
  /* A hook that exits without reading its stdin must not kill us with SIGPIPE. */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
  sigaction(SIGPIPE, &ignore, &previous);
  pid_t pid = fork();
  if (pid == 0) exec_hook(hook, input, output, errors);
  int fork_errno = errno;
  close(input[0]), close(output[1]), close(errors[1]);
  int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  if (pid < 0 || pidfd < 0) {
    int error = pid < 0 ? fork_errno : errno;
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    close(input[1]), close(output[0]), close(errors[0]);
    sigaction(SIGPIPE, &previous, NULL);
    snprintf(why, why_size, "%s: %s", pid < 0 ? "fork" : "pidfd_open", strerror(error));
    return -1;
  }
  fcntl(input[1], F_SETFL, O_NONBLOCK);
  fcntl(output[0], F_SETFL, O_NONBLOCK);
  fcntl(errors[0], F_SETFL, O_NONBLOCK);

  struct captured out = {.length = 0}, err = {.length = 0};
  size_t written = 0;
  int input_open = 1, output_open = 1, errors_open = 1, exited = 0, timed_out = 0;
  if (length == 0) close(input[1]), input_open = 0;
  long long deadline = hook->timeout_seconds > 0 ? now_ms() + hook->timeout_seconds * 1000LL : -1;
  while (!exited) {
    struct pollfd fds[4] = {
        {.fd = pidfd, .events = POLLIN},
        {.fd = input_open ? input[1] : -1, .events = POLLOUT},
        {.fd = output_open ? output[0] : -1, .events = POLLIN},
        {.fd = errors_open ? errors[0] : -1, .events = POLLIN},
    };
    int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
    if (deadline >= 0 && wait <= 0) {
      timed_out = 1;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 4, wait) < 0 && errno != EINTR) break;
    if (fds[1].revents) {
      ssize_t sent = write(input[1], state + written, length - written);
      if (sent > 0) written += (size_t)sent;
      if ((sent < 0 && errno != EAGAIN && errno != EINTR) || written == length)
        close(input[1]), input_open = 0;
    }
    if (fds[2].revents) capture(output[0], &out, &output_open);
    if (fds[3].revents) capture(errors[0], &err, &errors_open);
    if (fds[0].revents) exited = 1;
  }
  /* What it wrote before it ended; its own children may hold the pipes: no wait for EOF. */
  if (output_open) capture(output[0], &out, &output_open);
  if (errors_open) capture(errors[0], &err, &errors_open);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
  if (input_open) close(input[1]);
  close(output[0]), close(errors[0]), close(pidfd);
  sigaction(SIGPIPE, &previous, NULL);
  trim(&out), trim(&err);
  if (timed_out) {
    snprintf(why, why_size, "timeout after %d seconds, stdout: %s, stderr: %s",
             hook->timeout_seconds, out.data, err.data);
    return -1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status))
    snprintf(why, why_size, "exit status %d, stdout: %s, stderr: %s", WEXITSTATUS(status),
             out.data, err.data);
  else
    snprintf(why, why_size, "signal: %s, stdout: %s, stderr: %s", strsignal(WTERMSIG(status)),
             out.data, err.data);
  return -1;

pipe_failed:
  snprintf(why, why_size, "pipe: %s", strerror(errno));
  return -1;
}
