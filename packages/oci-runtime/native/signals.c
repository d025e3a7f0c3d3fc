/* Signals as runc's kill takes them: a number, or a name with or without SIG, in any case. */
#define _GNU_SOURCE
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime.h"

static const struct {
  const char *name;
  int number;
} names[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},    {"CONT", SIGCONT},
    {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},
    {"URG", SIGURG},     {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},   {"WINCH", SIGWINCH},   {"IO", SIGIO},       {"POLL", SIGPOLL},
    {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int signal_parse(const char *text) {
  if (isdigit((unsigned char)text[0])) {
    char *end;
    long number = strtol(text, &end, 10);
    return *end == '\0' && number >= 0 && number <= SIGRTMAX ? (int)number : -1;
  }
  const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcasecmp(name, names[i].name) == 0) return names[i].number;
  /* RTMIN, RTMIN+3, RTMAX-2 */
  if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
    int base = strncasecmp(name, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
    if (name[5] == '\0') return base;
    char *end;
    long offset = strtol(name + 5, &end, 10);
    int number = base + (int)offset;
    if (*end == '\0' && (name[5] == '+' || name[5] == '-') && number >= SIGRTMIN &&
        number <= SIGRTMAX)
      return number;
  }
  return -1;
}
