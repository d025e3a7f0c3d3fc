/* tocker-runtime: global flags, then one subcommand (runc's command line). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

const char *global_log, *global_log_format = "text";
int global_debug;

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"create", NULL, "create a container (its init waits for start)"},
    {"start", command_start, "start a created container"},
    {"run", command_run, "create and start a container"},
    {"exec", NULL, "run a new process inside a container"},
    {"state", command_state, "output the state of a container"},
    {"kill", command_kill, "send a signal to a container's init (or --all its processes)"},
    {"delete", command_delete, "delete a container and what it holds"},
    {"pause", command_pause, "suspend every process of a container"},
    {"resume", command_resume, "resume a paused container"},
    {"ps", command_ps, "list the processes of a container"},
    {"list", command_list, "list the containers under --root"},
    {"features", command_features, "show what this runtime supports (JSON)"},
    {"spec", command_spec, "write a default config.json"},
};

static void print_help(void) {
  printf("tocker-runtime: an OCI runtime (runc's command line)\n\n"
         "USAGE:\n   tocker-runtime [global options] command [command options] [arguments...]\n\n"
         "COMMANDS:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    printf("   %-9s %s\n", commands[i].name, commands[i].help);
  printf("\nGLOBAL OPTIONS:\n"
         "   --root value        state directory (default: " DEFAULT_ROOT ")\n"
         "   --log value         log file (default: stderr)\n"
         "   --log-format value  text or json (default: text)\n"
         "   --debug             debug lines in the log\n"
         "   --systemd-cgroup    refused: only cgroupfs is supported\n"
         "   --rootless value    false or auto (true is refused)\n"
         "   --criu value        accepted and ignored (no checkpoints)\n"
         "   --version, -v       print the version\n");
}

void usage_fail(const char *command, const char *rule) {
  fail("tocker-runtime: \"%s\" %s", command, rule);
}

/* "--name value" or "--name=value"; returns how many arguments it took, 0 if not this one. */
static int take_option(const struct option_spec *spec, int argc, char **argv, int at) {
  const char *arg = argv[at];
  for (int pass = 0; pass < 2; pass++) {
    const char *name = pass == 0 ? spec->name : spec->alias;
    if (name == NULL) continue;
    size_t length = strlen(name);
    if (strncmp(arg, name, length) != 0) continue;
    if (arg[length] == '\0') {
      if (!spec->takes_value) {
        *spec->value = "1";
        return 1;
      }
      if (at + 1 >= argc) fail("flag needs an argument: %s", name);
      *spec->value = argv[at + 1];
      return 2;
    }
    if (arg[length] == '=') {
      *spec->value = arg + length + 1;
      return 1;
    }
  }
  return 0;
}

/* Options end at the first positional (as urfave/cli, runc's parser). */
int parse_options(const char *command, int argc, char **argv, struct option_spec *specs) {
  int at = 0;
  while (at < argc && argv[at][0] == '-' && argv[at][1] != '\0') {
    if (strcmp(argv[at], "--") == 0) {
      at++;
      break;
    }
    int taken = 0;
    for (struct option_spec *spec = specs; spec != NULL && spec->name != NULL && !taken; spec++)
      taken = take_option(spec, argc, argv, at);
    if (!taken) fail("tocker-runtime: \"%s\": flag provided but not defined: %s", command, argv[at]);
    at += taken;
  }
  memmove(argv, argv + at, (size_t)(argc - at) * sizeof *argv);
  return argc - at;
}

int main(int argc, char **argv) {
  const char *root = NULL, *log = NULL, *format = "text", *debug = NULL, *systemd = NULL,
             *rootless = NULL, *criu = NULL, *version = NULL, *help = NULL;
  struct option_spec globals[] = {
      {"--root", NULL, 1, &root},
      {"--log-format", NULL, 1, &format},
      {"--log", NULL, 1, &log},
      {"--debug", NULL, 0, &debug},
      {"--systemd-cgroup", NULL, 0, &systemd},
      {"--rootless", NULL, 1, &rootless},
      {"--criu", NULL, 1, &criu},
      {"--version", "-v", 0, &version},
      {"--help", "-h", 0, &help},
      {NULL, NULL, 0, NULL},
  };
  int rest = parse_options("tocker-runtime", argc - 1, argv + 1, globals);
  char **args = argv + 1;
  enum log_format log_format = LOG_TEXT;
  if (strcmp(format, "json") == 0) log_format = LOG_JSON;
  else if (strcmp(format, "text") != 0) fail("unknown log-format %s", format);
  global_log = log != NULL && log[0] != '\0' ? log : NULL;
  global_log_format = format;
  global_debug = debug != NULL;
  log_setup(global_log, log_format, global_debug);
  if (root != NULL) {
    if (root[0] == '\0') fail("--root must not be empty");
    runtime_root = root;
  }
  if (systemd != NULL)
    fail("--systemd-cgroup is not supported: tocker-runtime manages cgroups through cgroupfs only");
  if (rootless != NULL && strcmp(rootless, "false") != 0 && strcmp(rootless, "auto") != 0)
    fail("--rootless=%s is not supported: tocker-runtime runs as root", rootless);
  if (version != NULL) {
    printf("tocker-runtime version " RUNTIME_VERSION "\nspec: " RUNTIME_SPEC_VERSION "\n");
    return 0;
  }
  if (help != NULL || rest == 0 || strcmp(args[0], "help") == 0) {
    print_help();
    return rest == 0 && help == NULL ? 1 : 0;
  }
  const char *name = args[0];
  if (strcmp(name, "create") == 0 || strcmp(name, "exec") == 0) node_exec(name, rest - 1, args + 1);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (commands[i].run != NULL && strcmp(commands[i].name, name) == 0)
      return commands[i].run(rest - 1, args + 1);
  fail("tocker-runtime: no such command: %s", name);
}
