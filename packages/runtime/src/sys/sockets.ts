import { koffi } from './koffi.js';
import { SyscallError } from './libc.js';

/**
 * A socket bound to a host address and port and nothing more (no listen): what holds a
 * published port for a container, so that no other program takes it while the kernel's
 * NAT sends its traffic to the container. Node's net module cannot bind without listening.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const void *address, unsigned int length)'),
  getsockname: libc.func(
    'int getsockname(int fd, _Inout_ void *address, _Inout_ unsigned int *length)',
  ),
  close: libc.func('int close(int fd)'),
  connect: libc.func('int connect(int fd, const void *address, unsigned int length)'),
  sendmsg: libc.func('long sendmsg(int fd, const void *message, int flags)'),
};

const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;

/** Binds `address:port` (port 0: one the kernel picks); the descriptor and the port bound. */
export function bindPort(
  address: string,
  port: number,
  protocol: 'tcp' | 'udp',
): { fd: number; port: number } {
  const fd = raw.socket(
    AF_INET,
    (protocol === 'tcp' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC,
    0,
  ) as number;
  if (fd < 0) throw new SyscallError('socket', koffi.errno());
  try {
    const name = Buffer.alloc(16);
    name.writeUInt16LE(AF_INET, 0);
    name.writeUInt16BE(port, 2);
    Buffer.from(address.split('.').map(Number)).copy(name, 4);
    if ((raw.bind(fd, name, name.length) as number) < 0)
      throw new SyscallError('bind', koffi.errno(), `${address}:${port}/${protocol}`);
    const length = [name.length];
    if ((raw.getsockname(fd, name, length) as number) < 0)
      throw new SyscallError('getsockname', koffi.errno());
    return { fd, port: name.readUInt16BE(2) };
  } catch (error) {
    raw.close(fd);
    throw error;
  }
}

/**
 * A unix stream socket connected to `path` (an engine's console socket): a descriptor a
 * child process can use, which Node's net module does not hand out.
 */
export function connectUnix(path: string): number {
  const name = Buffer.alloc(110);
  if (Buffer.byteLength(path) >= name.length - 2)
    throw new SyscallError('connect', 36 /* ENAMETOOLONG */, path);
  name.writeUInt16LE(AF_UNIX, 0);
  name.write(path, 2);
  const fd = raw.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw new SyscallError('socket', koffi.errno());
  if ((raw.connect(fd, name, 2 + Buffer.byteLength(path) + 1) as number) < 0) {
    const errno = koffi.errno();
    raw.close(fd);
    throw new SyscallError('connect', errno, path);
  }
  return fd;
}

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
// struct msghdr, struct iovec and struct cmsghdr on 64-bit Linux.
const MSGHDR_BYTES = 56;
const IOVEC_BYTES = 16;
const CMSGHDR_BYTES = 16;

/**
 * Sends `payload` with `fds` attached (SCM_RIGHTS) in one message on a Unix socket: the
 * receiver gets its own descriptors for the same open files. EPIPE (the receiver is gone)
 * is a SyscallError like any other failure; no SIGPIPE.
 */
export function sendDescriptors(socket: number, payload: Buffer, fds: readonly number[]): void {
  const controlBytes = CMSGHDR_BYTES + Math.ceil((4 * fds.length) / 8) * 8;
  // The message header, its one iovec and the control data, in one buffer that points into itself.
  const message = Buffer.alloc(MSGHDR_BYTES + IOVEC_BYTES + controlBytes);
  const base = koffi.address(message) as bigint;
  const iovec = MSGHDR_BYTES;
  const control = MSGHDR_BYTES + IOVEC_BYTES;
  message.writeBigUInt64LE(base + BigInt(iovec), 16); // msg_iov
  message.writeBigUInt64LE(1n, 24); // msg_iovlen
  message.writeBigUInt64LE(base + BigInt(control), 32); // msg_control
  message.writeBigUInt64LE(BigInt(controlBytes), 40); // msg_controllen
  message.writeBigUInt64LE(koffi.address(payload) as bigint, iovec); // iov_base
  message.writeBigUInt64LE(BigInt(payload.length), iovec + 8); // iov_len
  message.writeBigUInt64LE(BigInt(CMSGHDR_BYTES + 4 * fds.length), control); // cmsg_len
  message.writeInt32LE(SOL_SOCKET, control + 8);
  message.writeInt32LE(SCM_RIGHTS, control + 12);
  fds.forEach((fd, index) => {
    message.writeInt32LE(fd, control + CMSGHDR_BYTES + 4 * index);
  });
  const sent = Number(raw.sendmsg(socket, message, MSG_NOSIGNAL));
  if (sent < 0) throw new SyscallError('sendmsg', koffi.errno());
  if (sent !== payload.length) throw new SyscallError('sendmsg', 5 /* EIO: a partial message */);
}
