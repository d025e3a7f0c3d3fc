/*
 * A TCP sink and source for the network benchmark (packages/cli/bench/network.ts), built
 * static at bench time and run on the host, in network namespaces and in containers alike.
 *
 *   tcp-bench sink PORT                 accepts connections one after another, reads and
 *                                       discards until EOF, prints the bytes of each
 *   tcp-bench source ADDRESS PORT MIB   connects (retrying for 10 s while refused), writes
 *                                       MIB MiB, waits for the sink to close, prints MB/s
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER (256 * 1024)
static char buffer[BUFFER];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "tcp-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void sink(int port) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) die("socket");
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind(server, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
  if (listen(server, 16) < 0) die("listen");
  for (;;) {
    int connection = accept(server, NULL, NULL);
    if (connection < 0) die("accept");
    unsigned long long total = 0;
    ssize_t got;
    while ((got = read(connection, buffer, BUFFER)) > 0) total += (unsigned long long)got;
    close(connection);
    printf("%llu\n", total);
    fflush(stdout);
  }
}

static int source(const char *host, int port, long mib) {
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    fprintf(stderr, "tcp-bench: %s: not an IPv4 address\n", host);
    return 1;
  }
  int connection = -1;
  for (double deadline = now() + 10;;) {
    connection = socket(AF_INET, SOCK_STREAM, 0);
    if (connection < 0) die("socket");
    if (connect(connection, (struct sockaddr *)&address, sizeof address) == 0) break;
    if ((errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH) ||
        now() > deadline)
      die("connect");
    close(connection);
    usleep(10000);
  }
  memset(buffer, 'x', BUFFER);
  unsigned long long total = (unsigned long long)mib << 20, sent = 0;
  double start = now();
  while (sent < total) {
    size_t want = total - sent < BUFFER ? (size_t)(total - sent) : BUFFER;
    ssize_t put = write(connection, buffer, want);
    if (put < 0) die("write");
    sent += (unsigned long long)put;
  }
  shutdown(connection, SHUT_WR);
  /* Done when the sink has read it all: it closes on EOF. */
  while (read(connection, buffer, BUFFER) > 0) {
  }
  double seconds = now() - start;
  printf("%.1f\n", (double)total / seconds / 1e6);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "sink") == 0) sink(atoi(argv[2]));
  if (argc == 5 && strcmp(argv[1], "source") == 0)
    return source(argv[2], atoi(argv[3]), atol(argv[4]));
  fprintf(stderr, "usage: tcp-bench sink PORT | tcp-bench source ADDRESS PORT MIB\n");
  return 2;
}
