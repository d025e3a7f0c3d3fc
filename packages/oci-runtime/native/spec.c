/* `spec [--bundle DIR]`: a config.json to start from, in the shape `runc spec` gives (a
 * shell on a terminal in a read-only rootfs/, few capabilities, the usual masked paths),
 * with tocker's choices: a cgroup namespace too, and tocker as the hostname. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

static const char default_config[] =
    "{\n"
    "\t\"ociVersion\": \"" RUNTIME_SPEC_VERSION "\",\n"
    "\t\"process\": {\n"
    "\t\t\"terminal\": true,\n"
    "\t\t\"user\": {\"uid\": 0, \"gid\": 0},\n"
    "\t\t\"args\": [\"sh\"],\n"
    "\t\t\"env\": [\n"
    "\t\t\t\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
    "\t\t\t\"TERM=xterm\"\n"
    "\t\t],\n"
    "\t\t\"cwd\": \"/\",\n"
    "\t\t\"capabilities\": {\n"
    "\t\t\t\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
    "\t\t\t\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
    "\t\t\t\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]\n"
    "\t\t},\n"
    "\t\t\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
    "\t\t\"noNewPrivileges\": true\n"
    "\t},\n"
    "\t\"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
    "\t\"hostname\": \"tocker\",\n"
    "\t\"mounts\": [\n"
    "\t\t{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
    "\t\t{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
    "\"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
    "\t\t{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", "
    "\"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", "
    "\"gid=5\"]},\n"
    "\t\t{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", "
    "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
    "\t\t{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
    "\"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
    "\t\t{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", "
    "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
    "\t\t{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", "
    "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n"
    "\t],\n"
    "\t\"linux\": {\n"
    "\t\t\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
    "\t\t\"namespaces\": [\n"
    "\t\t\t{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, "
    "{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}\n"
    "\t\t],\n"
    "\t\t\"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", "
    "\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", "
    "\"/proc/sched_debug\", \"/proc/scsi\", \"/sys/firmware\"],\n"
    "\t\t\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
    "\"/proc/sysrq-trigger\"]\n"
    "\t}\n"
    "}\n";

int command_spec(int argc, char **argv) {
  const char *bundle = ".", *rootless = NULL;
  struct option_spec options[] = {
      {"--bundle", "-b", 1, &bundle}, {"--rootless", NULL, 0, &rootless}, {NULL, NULL, 0, NULL}};
  argc = parse_options("spec", argc, argv, options);
  if (argc != 0) usage_fail("spec", "requires exactly 0 argument(s)");
  if (rootless != NULL) fail("spec --rootless is not supported: tocker-runtime runs as root");
  char path[4200];
  if (strcmp(bundle, ".") == 0) snprintf(path, sizeof path, "config.json");
  else snprintf(path, sizeof path, "%s/config.json", bundle);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) fail("File %s exists. Remove it first", path);
  if (fd < 0) fail("open %s: %s", path, strerror(errno));
  if (write_all(fd, default_config, sizeof default_config - 1) < 0 || close(fd) < 0)
    fail("write %s: %s", path, strerror(errno));
  return 0;
}
