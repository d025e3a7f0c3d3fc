/*
 * tocker-runtime's C front end: runc's command line for everything that is file and syscall
 * work (state, start, kill, delete, pause, resume, ps, list, features, spec, run); create and
 * exec are handed to the Node half (src/main.ts), which compiles config.json into a plan.
 *
 * The state of a container lives in <root>/<id>/ (docs/oci-runtime.md, "State"): exec.fifo
 * while it is created, state.json for people and the agent, and record.plan, the same facts
 * in tocker's plan encoding (shim.h) for this side, which so needs no JSON parser.
 */
#ifndef TOCKER_RUNTIME_H
#define TOCKER_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "shim.h"

#define RUNTIME_VERSION "0.1.0"
/* The runtime-spec version this runtime implements (its features' ociVersionMax). */
#define RUNTIME_SPEC_VERSION "1.0.2"
#define DEFAULT_ROOT "/run/tocker-runtime"
#define RECORD_FILE "record.plan"
#define STATE_FILE "state.json"
#define FIFO_FILE "exec.fifo"

/* The record's operations (record.plan); the TypeScript writer is src/state.ts. */
enum {
  REC_OCI_VERSION = 1,    /* string */
  REC_ID = 2,             /* string */
  REC_INIT = 3,           /* i64 pid, i64 start time (/proc/<pid>/stat field 22) */
  REC_BUNDLE = 4,         /* string */
  REC_ROOTFS = 5,         /* string */
  REC_CREATED = 6,        /* string, RFC 3339 */
  REC_ANNOTATIONS = 7,    /* string: one JSON object, already serialized (absent: none) */
  REC_CGROUP = 8,         /* string: an absolute cgroup directory (one per hierarchy) */
  REC_FREEZER = 9,        /* i64 version (1 or 2), string: the v1 freezer or v2 directory */
  REC_OWN_PID_NAMESPACE = 10, /* i64 0 or 1 */
  REC_HOOK = 11,          /* i64 kind (HOOK_*), then a hook's arguments (hooks.c) */
};
enum { HOOK_POSTSTART = 1, HOOK_POSTSTOP = 2 };

/* log.c: runc's error lines, as text or JSON, to stderr or the --log file */
enum log_format { LOG_TEXT, LOG_JSON };
void log_setup(const char *file, enum log_format format, int debug);
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* The error, logged, and exit 1. */
void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
void rfc3339_now(char *into, size_t size);

/* text.c: a growing string, and JSON string quoting */
struct text {
  char *data;
  size_t length, capacity;
};
void text_add(struct text *text, const char *bytes, size_t length);
void text_printf(struct text *text, const char *format, ...) __attribute__((format(printf, 2, 3)));
void text_json_string(struct text *text, const char *value);
void text_free(struct text *text);
int write_all(int fd, const char *bytes, size_t length);

/* container.c: a container's record and its status */
enum status { STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };
struct container {
  char dir[4096];
  struct plan plan;
  const char *oci_version, *id, *bundle, *rootfs, *created, *annotations;
  pid_t pid;
  uint64_t start_time;
  const char *cgroups[32];
  size_t cgroup_count;
  int freezer_version; /* 0: none */
  const char *freezer;
  int own_pid_namespace;
};
extern const char *runtime_root;
const char *status_name(enum status status);
/* 0, or -1 (errno ENOENT: no such container). */
int container_load(const char *id, struct container *container);
/* Loads or fails with "container does not exist". */
void container_load_or_fail(const char *id, struct container *container);
int container_init_alive(const struct container *container);
enum status container_status(const struct container *container);
/* The state as `state` prints it (with_pid: always write "pid", as runc does). */
void container_state_json(const struct container *container, enum status status, int with_pid,
                          struct text *into);
void container_run_hooks(const struct container *container, int kind, enum status status);
void valid_id_or_fail(const char *id);

/* cgroup.c */
int freezer_frozen(const struct container *container);
int freezer_set(const struct container *container, int frozen);
size_t cgroup_pids(const struct container *container, pid_t *pids, size_t capacity);
void cgroup_signal_all(const struct container *container, int signal);
/* Every cgroup (the first failure's reason in why, the others still tried). */
int cgroup_remove_all(const struct container *container, char *why, size_t why_size);

/* process.c */
int pidfd_of(pid_t pid);
/* Waits up to timeout_ms (-1: forever) for the process behind pidfd to exit: 0, or -1. */
int pidfd_wait(int pidfd, int timeout_ms);
int process_start_time(pid_t pid, uint64_t *start_time, char *state);

/* signals.c: "9", "KILL", "SIGKILL", "kill"; -1 when none */
int signal_parse(const char *text);

/* The commands: each gets the arguments after its name. */
int command_state(int argc, char **argv);
int command_list(int argc, char **argv);
int command_start(int argc, char **argv);
int command_kill(int argc, char **argv);
int command_delete(int argc, char **argv);
int command_pause(int argc, char **argv);
int command_resume(int argc, char **argv);
int command_ps(int argc, char **argv);
int command_features(int argc, char **argv);
int command_spec(int argc, char **argv);
int command_run(int argc, char **argv);

/* start.c: shared with run; 0, or -1 with the error logged */
int start_container(const char *id);
/* delete.c: shared with run */
void delete_container(const char *id, int force);
/* warm.c: create or exec through `tocker-runtime compiler` when it serves this root: the
 * exit code, or -1 when none does (the Node half then compiles it). */
int warm_run(const char *command, int argc, char **argv);
/* node.c: create and exec go to the Node half; node_run forks it and waits (its exit code). */
void node_exec(const char *command, int argc, char **argv) __attribute__((noreturn));
int node_run(const char *command, int argc, char **argv, const sigset_t *child_mask);

/* main.c: the global flags, as given (node.c passes them on), and how a command's arguments are read */
extern const char *global_log, *global_log_format;
extern int global_debug;
struct option_spec {
  const char *name;  /* "--all" */
  const char *alias; /* "-a", or NULL */
  int takes_value;
  const char **value; /* the value, or "1" for a flag */
};
/* Parses options (in any order before/among the positionals); returns the positional
 * count, moved to the front of argv. Fails on an unknown option. */
int parse_options(const char *command, int argc, char **argv, struct option_spec *specs);
void usage_fail(const char *command, const char *rule) __attribute__((noreturn));

#endif
