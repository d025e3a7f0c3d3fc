/* `state ID` and `list`: what the record says, with the status computed now. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

int command_state(int argc, char **argv) {
  argc = parse_options("state", argc, argv, NULL);
  if (argc != 1) usage_fail("state", "requires exactly 1 argument(s)");
  struct container container;
  container_load_or_fail(argv[0], &container);
  struct text state = {0};
  container_state_json(&container, container_status(&container), 1, &state);
  printf("%s\n", state.data);
  text_free(&state);
  return 0;
}

static int by_name(const void *left, const void *right) {
  return strcmp(*(char *const *)left, *(char *const *)right);
}

int command_list(int argc, char **argv) {
  const char *quiet = NULL, *format = "table";
  struct option_spec options[] = {
      {"--quiet", "-q", 0, &quiet}, {"--format", "-f", 1, &format}, {NULL, NULL, 0, NULL}};
  argc = parse_options("list", argc, argv, options);
  if (argc != 0) usage_fail("list", "requires exactly 0 argument(s)");
  int json = strcmp(format, "json") == 0;
  if (!json && strcmp(format, "table") != 0) fail("invalid format option");

  char *ids[4096];
  size_t count = 0;
  DIR *entries = opendir(runtime_root);
  if (entries == NULL && errno != ENOENT) fail("open %s: %s", runtime_root, strerror(errno));
  for (struct dirent *entry; entries != NULL && (entry = readdir(entries)) != NULL;)
    if (entry->d_name[0] != '.' && count < sizeof ids / sizeof *ids)
      ids[count++] = strdup(entry->d_name);
  if (entries != NULL) closedir(entries);
  qsort(ids, count, sizeof *ids, by_name);

  struct text out = {0};
  /* runc prints `null` for no containers; an empty array is the same answer, typed. */
  if (json) text_add(&out, "[", 1);
  else if (!quiet) text_printf(&out, "%-12s%-8s%-10s%-40s%-32s%s\n", "ID", "PID", "STATUS",
                               "BUNDLE", "CREATED", "OWNER");
  int first = 1;
  for (size_t i = 0; i < count; i++) {
    struct container container;
    /* A directory without its record is a create in progress (or a crash's leftover). */
    if (container_load(ids[i], &container) < 0) continue;
    enum status status = container_status(&container);
    if (quiet && !json) text_printf(&out, "%s\n", container.id);
    else if (json) {
      if (!first) text_add(&out, ",", 1);
      container_state_json(&container, status, 1, &out);
    } else
      text_printf(&out, "%-12s%-8d%-10s%-40s%-32s%s\n", container.id,
                  status == STATUS_STOPPED ? 0 : (int)container.pid, status_name(status),
                  container.bundle, container.created, "root");
    first = 0;
  }
  if (json) text_add(&out, "]\n", 2);
  if (out.length > 0) fwrite(out.data, 1, out.length, stdout);
  text_free(&out);
  return 0;
}
