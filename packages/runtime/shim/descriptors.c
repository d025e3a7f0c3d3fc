/* Descriptors passed over Unix sockets (SCM_RIGHTS): the idmapped root the shim hands its
 * child (userns.c), and the plan a standby shim is handed by the runtime (standby.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

int send_descriptor(int socket, int fd) {
  char byte = 'r';
  struct iovec data = {&byte, 1};
  char control[CMSG_SPACE(sizeof fd)];
  memset(control, 0, sizeof control);
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = sizeof control};
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof fd);
  memcpy(CMSG_DATA(header), &fd, sizeof fd);
  return sendmsg(socket, &message, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

ssize_t receive_descriptors(int socket, void *payload, size_t size, int *fds, size_t most,
                            size_t *count) {
  char control[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
  if (most > MAX_PASSED_FDS) most = MAX_PASSED_FDS;
  struct iovec data = {payload, size};
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = CMSG_SPACE(sizeof(int) * most)};
  ssize_t got;
  do got = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  *count = 0;
  if (got <= 0) return got;
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  if (header != NULL && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
    *count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    memcpy(fds, CMSG_DATA(header), *count * sizeof(int));
  }
  if (message.msg_flags & MSG_CTRUNC) {
    for (size_t i = 0; i < *count; i++) close(fds[i]);
    *count = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return got;
}
