/*
 * A container's veth pairs, made by its shim over rtnetlink the moment the child's network
 * namespace exists (while the child goes on building its root): the host's end up on the
 * network's bridge, in hairpin mode; the other end created straight inside the child's
 * namespace (by the child's pid, which cannot be reused while the shim has not reaped it),
 * with the lease's MAC, for the child to name and address after its start.
 *
 * The host's end gets no IPv6 address (address generation off, set before the container's
 * end comes up, when a link-local would be made): networks are IPv4, and a new address on
 * the host is a network change to whoever watches them, a browser on the host failing the
 * requests it has in flight.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

struct message {
  struct nlmsghdr header;
  char body[1024];
};

/* An attribute appended to the message (and its nest, if `data` is NULL and `length` 0). */
static struct rtattr *put(struct message *message, unsigned short type, const void *data,
                          size_t length) {
  size_t offset = NLMSG_ALIGN(message->header.nlmsg_len);
  size_t total = RTA_LENGTH(length);
  if (offset + RTA_ALIGN(total) > sizeof *message) return NULL;
  struct rtattr *attribute = (struct rtattr *)((char *)message + offset);
  attribute->rta_type = type;
  attribute->rta_len = (unsigned short)total;
  if (length > 0) memcpy(RTA_DATA(attribute), data, length);
  message->header.nlmsg_len = (uint32_t)(offset + RTA_ALIGN(total));
  return attribute;
}

static void end_nest(struct message *message, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)message + message->header.nlmsg_len - (char *)nest);
}

static void start(struct message *message, uint16_t flags, int index, unsigned up) {
  memset(message, 0, sizeof *message);
  message->header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  message->header.nlmsg_type = RTM_NEWLINK;
  message->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  struct ifinfomsg *link = NLMSG_DATA(&message->header);
  link->ifi_family = AF_UNSPEC;
  link->ifi_index = index;
  link->ifi_flags = up;
  link->ifi_change = up;
}

/* Sends the message and reads the kernel's acknowledgement: 0, or the errno it gave. */
static int transact(int fd, struct message *message) {
  if (send(fd, message, message->header.nlmsg_len, 0) < 0) return errno;
  char reply[4096];
  ssize_t got;
  do got = recv(fd, reply, sizeof reply, 0);
  while (got < 0 && errno == EINTR);
  if (got < 0) return errno;
  struct nlmsghdr *header = (struct nlmsghdr *)reply;
  if (!NLMSG_OK(header, (size_t)got) || header->nlmsg_type != NLMSG_ERROR) return EPROTO;
  return -((struct nlmsgerr *)NLMSG_DATA(header))->error;
}

static int parse_mac(const char *text, unsigned char mac[6]) {
  return sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
                &mac[4], &mac[5]) == 6
             ? 0
             : -1;
}

/* ip link set dev HOST addrgenmode none; a kernel without IPv6 has nothing to turn off. */
static int no_ipv6_address(int fd, struct message *message, int index) {
  start(message, 0, index, 0);
  struct rtattr *spec = put(message, IFLA_AF_SPEC, NULL, 0);
  struct rtattr *inet6 = put(message, AF_INET6, NULL, 0);
  unsigned char none = IN6_ADDR_GEN_MODE_NONE;
  put(message, IFLA_INET6_ADDR_GEN_MODE, &none, sizeof none);
  end_nest(message, inet6);
  end_nest(message, spec);
  int error = transact(fd, message);
  return error == EAFNOSUPPORT ? 0 : error;
}

int veth_attach(const struct veth *veth, pid_t pid, char *why, size_t why_size) {
  unsigned char mac[6];
  unsigned bridge = if_nametoindex(veth->bridge);
  if (bridge == 0 || parse_mac(veth->mac, mac) < 0 || strlen(veth->host) >= IFNAMSIZ ||
      strlen(veth->peer) >= IFNAMSIZ) {
    snprintf(why, why_size, "no bridge %s, or a bad interface setting", veth->bridge);
    return -1;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    snprintf(why, why_size, "netlink: %s", strerror(errno));
    return -1;
  }
  struct message message;
  /* ip link add HOST master BRIDGE up type veth peer name PEER address MAC netns PID */
  start(&message, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP);
  put(&message, IFLA_IFNAME, veth->host, strlen(veth->host) + 1);
  put(&message, IFLA_MASTER, &bridge, sizeof bridge);
  struct rtattr *info = put(&message, IFLA_LINKINFO, NULL, 0);
  put(&message, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = put(&message, IFLA_INFO_DATA, NULL, 0);
  struct ifinfomsg peer_link = {.ifi_family = AF_UNSPEC};
  struct rtattr *peer = put(&message, VETH_INFO_PEER, &peer_link, sizeof peer_link);
  put(&message, IFLA_IFNAME, veth->peer, strlen(veth->peer) + 1);
  put(&message, IFLA_ADDRESS, mac, sizeof mac);
  uint32_t into = (uint32_t)pid;
  struct rtattr *last = put(&message, IFLA_NET_NS_PID, &into, sizeof into);
  if (last == NULL) {
    close(fd);
    snprintf(why, why_size, "netlink: message too long");
    return -1;
  }
  end_nest(&message, peer);
  end_nest(&message, data);
  end_nest(&message, info);
  int error = transact(fd, &message);
  int host = error == 0 ? (int)if_nametoindex(veth->host) : 0;
  if (error == 0) error = no_ipv6_address(fd, &message, host);
  if (error == 0) {
    /* ip link set dev HOST type bridge_slave hairpin on: a container reaching its own
     * published port goes out and back through this port. */
    start(&message, 0, host, 0);
    struct rtattr *port = put(&message, IFLA_LINKINFO, NULL, 0);
    put(&message, IFLA_INFO_SLAVE_KIND, "bridge", 7);
    struct rtattr *settings = put(&message, IFLA_INFO_SLAVE_DATA, NULL, 0);
    unsigned char hairpin = 1;
    put(&message, IFLA_BRPORT_MODE, &hairpin, sizeof hairpin);
    end_nest(&message, settings);
    end_nest(&message, port);
    error = transact(fd, &message);
  }
  close(fd);
  if (error != 0) {
    snprintf(why, why_size, "veth %s on %s: %s", veth->host, veth->bridge, strerror(error));
    return -1;
  }
  return 0;
}
