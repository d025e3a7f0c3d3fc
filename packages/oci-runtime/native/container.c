/* A container's record (record.plan, written by src/state.ts) and its status: the same rule
 * as statusOf in src/state.ts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

const char *runtime_root = DEFAULT_ROOT;

const char *status_name(enum status status) {
  static const char *const names[] = {"created", "running", "paused", "stopped"};
  return names[status];
}

/* runc's rule for ids: they name a directory, so no separators and no dot names. */
void valid_id_or_fail(const char *id) {
  if (id[0] == '\0' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
    fail("invalid container id: %s", id);
  for (const char *at = id; *at; at++)
    if (!(('a' <= *at && *at <= 'z') || ('A' <= *at && *at <= 'Z') ||
          ('0' <= *at && *at <= '9') || *at == '_' || *at == '+' || *at == '-' || *at == '.'))
      fail("invalid container id: %s", id);
}

static void apply(struct container *container, const struct op *op) {
  switch (op->code) {
  case REC_OCI_VERSION: container->oci_version = arg_string(op, 0); break;
  case REC_ID: container->id = arg_string(op, 0); break;
  case REC_INIT:
    container->pid = (pid_t)arg_number(op, 0);
    container->start_time = (uint64_t)arg_number(op, 1);
    break;
  case REC_BUNDLE: container->bundle = arg_string(op, 0); break;
  case REC_ROOTFS: container->rootfs = arg_string(op, 0); break;
  case REC_CREATED: container->created = arg_string(op, 0); break;
  case REC_ANNOTATIONS: container->annotations = arg_string(op, 0); break;
  case REC_CGROUP:
    if (container->cgroup_count == sizeof container->cgroups / sizeof *container->cgroups)
      die("record: too many cgroups");
    container->cgroups[container->cgroup_count++] = arg_string(op, 0);
    break;
  case REC_FREEZER:
    container->freezer_version = (int)arg_number(op, 0);
    container->freezer = arg_string(op, 1);
    break;
  case REC_OWN_PID_NAMESPACE: container->own_pid_namespace = arg_number(op, 0) != 0; break;
  default: break; /* hooks are read where they run; unknown codes are a newer writer's */
  }
}

int container_load(const char *id, struct container *container) {
  *container = (struct container){.oci_version = RUNTIME_SPEC_VERSION};
  snprintf(container->dir, sizeof container->dir, "%s/%s", runtime_root, id);
  char path[4200];
  snprintf(path, sizeof path, "%s/" RECORD_FILE, container->dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int read_status = plan_read(fd, &container->plan);
  close(fd);
  if (read_status < 0) fail("%s: not a valid record", path);
  for (size_t i = 0; i < container->plan.count; i++) apply(container, &container->plan.ops[i]);
  if (container->id == NULL || container->bundle == NULL || container->pid <= 0)
    fail("%s: the record lacks its id, bundle or init", path);
  if (container->rootfs == NULL) container->rootfs = "";
  if (container->created == NULL) container->created = "";
  return 0;
}

void container_load_or_fail(const char *id, struct container *container) {
  valid_id_or_fail(id);
  if (container_load(id, container) < 0) {
    if (errno == ENOENT) fail("container does not exist");
    fail("%s/%s: %s", runtime_root, id, strerror(errno));
  }
}

/* The init is the one we started (same start time: the pid was not reused) and not a zombie. */
int container_init_alive(const struct container *container) {
  uint64_t start_time;
  char state;
  if (process_start_time(container->pid, &start_time, &state) < 0) return 0;
  return start_time == container->start_time && state != 'Z' && state != 'X';
}

enum status container_status(const struct container *container) {
  if (!container_init_alive(container)) return STATUS_STOPPED;
  char fifo[4200];
  snprintf(fifo, sizeof fifo, "%s/" FIFO_FILE, container->dir);
  if (access(fifo, F_OK) == 0) return STATUS_CREATED;
  if (freezer_frozen(container)) return STATUS_PAUSED;
  return STATUS_RUNNING;
}

void container_state_json(const struct container *container, enum status status, int with_pid,
                          struct text *into) {
  pid_t pid = status == STATUS_STOPPED ? 0 : container->pid;
  text_add(into, "{\"ociVersion\":", 14);
  text_json_string(into, container->oci_version);
  text_add(into, ",\"id\":", 6);
  text_json_string(into, container->id);
  if (with_pid || pid != 0) text_printf(into, ",\"pid\":%d", (int)pid);
  text_add(into, ",\"status\":", 10);
  text_json_string(into, status_name(status));
  text_add(into, ",\"bundle\":", 10);
  text_json_string(into, container->bundle);
  text_add(into, ",\"rootfs\":", 10);
  text_json_string(into, container->rootfs);
  text_add(into, ",\"created\":", 11);
  text_json_string(into, container->created);
  text_add(into, ",\"owner\":\"\"", 11);
  if (container->annotations != NULL && strcmp(container->annotations, "{}") != 0) {
    text_add(into, ",\"annotations\":", 15);
    text_add(into, container->annotations, strlen(container->annotations));
  }
  text_add(into, "}", 1);
}

/* poststart and poststop: failures are warnings (crun's reading of the spec; runc kills the
 * container on a failed poststart). */
void container_run_hooks(const struct container *container, int kind, enum status status) {
  struct text state = {0};
  container_state_json(container, status, 0, &state);
  unsigned number = 0;
  for (size_t i = 0; i < container->plan.count; i++) {
    const struct op *op = &container->plan.ops[i];
    if (op->code != REC_HOOK || arg_number(op, 0) != kind) continue;
    struct hook hook;
    hook_from_op(op, 1, &hook);
    char why[2048];
    log_debug("running %s hook #%u: %s", kind == HOOK_POSTSTART ? "poststart" : "poststop",
              number, hook.path);
    if (hook_run(&hook, state.data, state.length, why, sizeof why) < 0)
      log_warning("error running %s hook #%u: %s",
                  kind == HOOK_POSTSTART ? "poststart" : "poststop", number, why);
    free((void *)hook.args);
    free((void *)hook.env);
    number++;
  }
  text_free(&state);
}
