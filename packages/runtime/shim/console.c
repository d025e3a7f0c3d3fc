/*
 * The terminal of an OCI engine's container (runc's --console-socket): a pty of the
 * container's own devpts instance, so that inside it is /dev/pts/0 like any other. The
 * engine (conmon, containerd's shim) gets the master over its unix socket as one
 * SCM_RIGHTS descriptor, already sized; the slave is the container's stdio.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

static int send_master(int socket, int master) {
  /* The payload is a name only (engines ignore it); the descriptor is what counts. */
  static const char name[] = "/dev/ptmx";
  struct iovec payload = {.iov_base = (void *)name, .iov_len = sizeof name - 1};
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr message = {
      .msg_iov = &payload,
      .msg_iovlen = 1,
      .msg_control = control.bytes,
      .msg_controllen = sizeof control.bytes,
  };
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &master, sizeof(int));
  ssize_t sent;
  do sent = sendmsg(socket, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  return sent < 0 ? -1 : 0;
}

int console_create(int socket, unsigned rows, unsigned columns, unsigned *number,
                   const char **what) {
  *what = "open /dev/pts/ptmx";
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -1;
  int unlock = 0;
  *what = "unlock the pty";
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) goto failed;
  *what = "number the pty";
  if (ioctl(master, TIOCGPTN, number) < 0) goto failed;
  *what = "open the pty's slave";
  /* By the master, not by a name: nothing in the container can put another file there. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) goto failed;
  if (rows > 0 && columns > 0) {
    struct winsize size = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)columns};
    *what = "size the pty";
    if (ioctl(slave, TIOCSWINSZ, &size) < 0) goto failed_slave;
  }
  *what = "send the pty to the console socket";
  if (send_master(socket, master) < 0) goto failed_slave;
  close(master);
  close(socket);
  return slave;
failed_slave: {
  int saved = errno;
  close(slave);
  errno = saved;
}
failed: {
  int saved = errno;
  close(master);
  errno = saved;
  return -1;
}
}
