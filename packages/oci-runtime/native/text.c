/* A growing string, for JSON output without a JSON library. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

void text_add(struct text *text, const char *bytes, size_t length) {
  if (text->length + length + 1 > text->capacity) {
    size_t capacity = text->capacity ? text->capacity : 256;
    while (capacity < text->length + length + 1) capacity *= 2;
    char *grown = realloc(text->data, capacity);
    if (grown == NULL) {
      dprintf(2, "tocker-runtime: out of memory\n");
      exit(1);
    }
    text->data = grown;
    text->capacity = capacity;
  }
  memcpy(text->data + text->length, bytes, length);
  text->length += length;
  text->data[text->length] = '\0';
}

void text_printf(struct text *text, const char *format, ...) {
  char small[1024];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(small, sizeof small, format, args);
  va_end(args);
  if (length < 0) return;
  if ((size_t)length < sizeof small) {
    text_add(text, small, (size_t)length);
    return;
  }
  char *large = malloc((size_t)length + 1);
  if (large == NULL) return;
  va_start(args, format);
  vsnprintf(large, (size_t)length + 1, format, args);
  va_end(args);
  text_add(text, large, (size_t)length);
  free(large);
}

/* Bytes of 0x80 and above pass as they are (UTF-8 stays UTF-8). */
void text_json_string(struct text *text, const char *value) {
  text_add(text, "\"", 1);
  for (const unsigned char *at = (const unsigned char *)value; *at; at++) {
    switch (*at) {
    case '"': text_add(text, "\\\"", 2); break;
    case '\\': text_add(text, "\\\\", 2); break;
    case '\n': text_add(text, "\\n", 2); break;
    case '\r': text_add(text, "\\r", 2); break;
    case '\t': text_add(text, "\\t", 2); break;
    case '\b': text_add(text, "\\b", 2); break;
    case '\f': text_add(text, "\\f", 2); break;
    default:
      if (*at < 0x20) text_printf(text, "\\u%04x", *at);
      else text_add(text, (const char *)at, 1);
    }
  }
  text_add(text, "\"", 1);
}

void text_free(struct text *text) {
  free(text->data);
  *text = (struct text){0};
}

int write_all(int fd, const char *bytes, size_t length) {
  while (length > 0) {
    ssize_t done = write(fd, bytes, length);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return -1;
    bytes += done;
    length -= (size_t)done;
  }
  return 0;
}
