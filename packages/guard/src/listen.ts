import { isIP } from 'node:net';

/** `--listen HOST:PORT`, with an IP address (IPv6 in brackets): shared by the agent and the dashboard. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match?.[1] || isIP(match[1]) === 0 || !Number.isInteger(port) || port > 65535) {
    throw new Error(
      `--listen: "${text}" is not HOST:PORT with an IP address (e.g. 127.0.0.1:7070)`,
    );
  }
  return { host: match[1], port };
}

export const isLoopback = (host: string) => host === '::1' || host.startsWith('127.');

/** The address to listen on: anything but loopback is said out loud, with what it exposes. */
export function listenAddress(
  text: string,
  program: string,
  exposes: string,
): { host: string; port: number } {
  const address = parseListen(text);
  if (!isLoopback(address.host)) {
    process.stderr.write(
      `${program}: WARNING: listening on ${address.host}, not loopback: ${exposes}\n`,
    );
  }
  return address;
}
