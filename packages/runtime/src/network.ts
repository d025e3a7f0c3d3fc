import { close, ioctl, socket } from './sys/libc.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_BYTES = 40;
const IFREQ_FLAGS_OFFSET = 16;

/** A new network namespace starts with lo down; `--network none` containers still expect 127.0.0.1. */
export function bringUpLoopback(): void {
  const fd = socket(AF_INET, SOCK_DGRAM, 0);
  try {
    const request = Buffer.alloc(IFREQ_BYTES);
    request.write('lo', 0, 'ascii');
    ioctl(fd, SIOCGIFFLAGS, request);
    request.writeInt16LE(request.readInt16LE(IFREQ_FLAGS_OFFSET) | IFF_UP, IFREQ_FLAGS_OFFSET);
    ioctl(fd, SIOCSIFFLAGS, request);
  } finally {
    close(fd);
  }
}
