/* Decoding the plan the runtime wrote (format: shim.h). Every length is checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define PLAN_LIMIT (16u << 20)

struct cursor {
  const unsigned char *at;
  const unsigned char *end;
};

static int take(struct cursor *cursor, void *into, size_t size) {
  if ((size_t)(cursor->end - cursor->at) < size) return -1;
  memcpy(into, cursor->at, size);
  cursor->at += size;
  return 0;
}

static unsigned char *read_all(int fd, size_t *length) {
  size_t capacity = 1 << 16, used = 0;
  unsigned char *buffer = malloc(capacity);
  if (buffer == NULL) return NULL;
  for (;;) {
    if (used == capacity) {
      if (capacity >= PLAN_LIMIT) goto fail;
      capacity *= 2;
      unsigned char *grown = realloc(buffer, capacity);
      if (grown == NULL) goto fail;
      buffer = grown;
    }
    ssize_t got = read(fd, buffer + used, capacity - used);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) goto fail;
    if (got == 0) break;
    used += (size_t)got;
  }
  *length = used;
  return buffer;
fail:
  free(buffer);
  return NULL;
}

int plan_read(int fd, struct plan *plan) {
  size_t length;
  unsigned char *data = read_all(fd, &length);
  if (data == NULL) return -1;
  struct cursor cursor = {data, data + length};
  char magic[4];
  uint32_t count;
  if (take(&cursor, magic, 4) < 0 || memcmp(magic, "TKS1", 4) != 0) return -1;
  if (take(&cursor, &count, 4) < 0 || count > 100000) return -1;
  plan->ops = calloc(count, sizeof *plan->ops);
  if (plan->ops == NULL && count > 0) return -1;
  plan->count = count;
  for (uint32_t i = 0; i < count; i++) {
    struct op *op = &plan->ops[i];
    if (take(&cursor, &op->code, 2) < 0 || take(&cursor, &op->argc, 2) < 0) return -1;
    op->args = calloc(op->argc ? op->argc : 1, sizeof *op->args);
    if (op->args == NULL) return -1;
    for (unsigned a = 0; a < op->argc; a++) {
      struct arg *arg = &op->args[a];
      uint8_t kind;
      if (take(&cursor, &kind, 1) < 0) return -1;
      if (kind == 1) {
        if (take(&cursor, &arg->number, 8) < 0) return -1;
      } else if (kind == 2) {
        uint32_t size;
        if (take(&cursor, &size, 4) < 0 || (size_t)(cursor.end - cursor.at) < size) return -1;
        arg->is_bytes = 1;
        arg->length = size;
        arg->bytes = size == 0 ? NULL : (const char *)cursor.at;
        cursor.at += size;
      } else {
        return -1;
      }
    }
  }
  return cursor.at == cursor.end ? 0 : -1;
}

const struct arg *arg_at(const struct op *op, unsigned index) {
  if (index >= op->argc) die("plan: operation %u lacks argument %u", op->code, index);
  return &op->args[index];
}

int64_t arg_number(const struct op *op, unsigned index) {
  const struct arg *arg = arg_at(op, index);
  if (arg->is_bytes) die("plan: operation %u argument %u is not a number", op->code, index);
  return arg->number;
}

/* A string argument: NULL, or bytes whose last one is the terminating NUL. */
const char *arg_string(const struct op *op, unsigned index) {
  const struct arg *arg = arg_at(op, index);
  if (!arg->is_bytes) die("plan: operation %u argument %u is not a string", op->code, index);
  if (arg->bytes != NULL && arg->bytes[arg->length - 1] != '\0')
    die("plan: operation %u argument %u is not terminated", op->code, index);
  return arg->bytes;
}
