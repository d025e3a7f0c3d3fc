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
