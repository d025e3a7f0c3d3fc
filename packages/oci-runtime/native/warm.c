/* create and exec through the warm compiler (src/compiler.ts, whose comment has the
 * protocol): when `tocker-runtime compiler` serves this root, it turns the request into a
 * plan and this process runs the shim itself, so the container (or the exec'd process)
 * stays in the engine's process tree. Without one, they go to a Node process of their own
 * (node.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

#define COMPILER_SOCKET ".compiler.sock"
/* Where the shim finds its plan, its report channel, then what the plan passes it. */
#define PLAN_FD 3
#define CHANNEL_FD 4
#define FIRST_PASSED_FD 5

static int connect_compiler(void) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  int length = snprintf(address.sun_path, sizeof address.sun_path, "%s/" COMPILER_SOCKET,
                        runtime_root);
  if (length < 0 || (size_t)length >= sizeof address.sun_path) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int read_all(int fd, void *into, size_t length) {
  char *at = into;
  while (length > 0) {
    ssize_t got = read(fd, at, length);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    at += got;
    length -= (size_t)got;
  }
  return 0;
}

/* A reply: its kind ('P', 'E', 'O') and its body (allocated). */
static char read_reply(int compiler, char **body, uint32_t *length) {
  char kind;
  if (read_all(compiler, &kind, 1) < 0 || read_all(compiler, length, 4) < 0)
    fail("the compiler went away");
  *body = malloc(*length + 1);
  if (*body == NULL || read_all(compiler, *body, *length) < 0) fail("the compiler went away");
  (*body)[*length] = '\0';
  return kind;
}

/* The shim, with the plan and the compiler's descriptors where the plan expects them. */
static pid_t spawn_shim(const char *name, int plan, int channel, const int *passed,
                        uint32_t count) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setsid(); /* as the Node half's posix_spawn: a session of its own */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Every source above every target first, so that no dup2 clobbers one still to move. */
  int above = FIRST_PASSED_FD + (int)count;
  int sources[2 + 256];
  sources[0] = fcntl(plan, F_DUPFD_CLOEXEC, above);
  sources[1] = fcntl(channel, F_DUPFD_CLOEXEC, above);
  for (uint32_t i = 0; i < count; i++) sources[2 + i] = fcntl(passed[i], F_DUPFD_CLOEXEC, above);
  for (uint32_t i = 0; i < 2 + count; i++)
    if (sources[i] < 0 || dup2(sources[i], PLAN_FD + (int)i) < 0) _exit(125);
  syscall(SYS_close_range, (unsigned)above, ~0U, 0);
  execl(TOCKER_SHIM, "tocker-shim", name, (char *)NULL);
  _exit(125);
}

/* The shim's reports up to its verdict ("ready" for a creation, "started" for an exec, or
 * "error ..."), or its end. */
static void relay_reports(int from, int compiler) {
  struct text lines = {0};
  char buffer[1024];
  for (;;) {
    ssize_t got = read(from, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text_add(&lines, buffer, (size_t)got);
    if (strstr(lines.data, "ready\n") != NULL || strstr(lines.data, "started\n") != NULL ||
        strstr(lines.data, "error ") != NULL) {
      if (lines.data[lines.length - 1] == '\n') break;
    }
  }
  text_add(&lines, "end\n", 4);
  if (write_all(compiler, lines.data, lines.length) < 0) fail("the compiler went away");
  text_free(&lines);
}

int warm_run(const char *command, int argc, char **argv) {
  int compiler = connect_compiler();
  if (compiler < 0) return -1;
  struct ucred peer;
  socklen_t peer_length = sizeof peer;
  if (getsockopt(compiler, SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) < 0) {
    close(compiler);
    return -1;
  }
  int server = (int)syscall(SYS_pidfd_open, peer.pid, 0);
  if (server < 0) {
    close(compiler);
    return -1;
  }
  struct text request = {0};
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL) fail("getcwd: %s", strerror(errno));
  text_add(&request, cwd, strlen(cwd));
  text_add(&request, "", 1);
  text_add(&request, command, strlen(command));
  for (int i = 0; i < argc; i++) {
    text_add(&request, "", 1);
    text_add(&request, argv[i], strlen(argv[i]));
  }
  uint32_t length = (uint32_t)request.length;
  if (write_all(compiler, (const char *)&length, 4) < 0 ||
      write_all(compiler, request.data, request.length) < 0)
    fail("the compiler went away");
  text_free(&request);

  char *body;
  char kind = read_reply(compiler, &body, &length);
  if (kind == 'E') {
    log_error("%s", body);
    return 1;
  }
  if (kind != 'P' || length < 4) fail("the compiler's answer is malformed");
  uint32_t plan_length, count;
  memcpy(&plan_length, body, 4);
  if (plan_length > length - 8) fail("the compiler's answer is malformed");
  memcpy(&count, body + 4 + plan_length, 4);
  if (count > 256 || 8 + plan_length + 4 * count > length) fail("the compiler's answer is malformed");
  int passed[256];
  for (uint32_t i = 0; i < count; i++) {
    int32_t theirs;
    memcpy(&theirs, body + 8 + plan_length + 4 * i, 4);
    passed[i] = (int)syscall(SYS_pidfd_getfd, server, theirs, 0);
    if (passed[i] < 0) fail("taking the compiler's descriptor %d: %s", theirs, strerror(errno));
  }
  int plan = memfd_create("tocker-plan", MFD_CLOEXEC);
  if (plan < 0 || write_all(plan, body + 4, plan_length) < 0 || lseek(plan, 0, SEEK_SET) < 0)
    fail("the plan: %s", strerror(errno));
  free(body);
  int channel[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) < 0)
    fail("socketpair: %s", strerror(errno));
  pid_t shim = spawn_shim(command, plan, channel[1], passed, count);
  if (shim < 0) fail("fork: %s", strerror(errno));
  close(channel[1]);
  close(plan);
  for (uint32_t i = 0; i < count; i++) close(passed[i]);
  relay_reports(channel[0], compiler);
  kind = read_reply(compiler, &body, &length);
  /* The shim's exit is the answer: 0 once a creation is ready or a detached exec runs, an
   * attached exec's own exit code. Its channel stays open until then: its end would tell
   * the shim its caller is gone (and end an attached exec). */
  int status = 0;
  while (waitpid(shim, &status, 0) < 0 && errno == EINTR) continue;
  close(channel[0]);
  if (kind == 'E') {
    log_error("%s", body);
    return 1;
  }
  if (kind != 'O') {
    log_error("the compiler's answer is malformed");
    return 1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
