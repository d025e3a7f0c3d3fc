import { TockerError } from '../errors.js';

/** An IPv4 address as an unsigned 32-bit number. */
export type Ipv4 = number;

export function parseIpv4(text: string): Ipv4 | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(address: Ipv4): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join('.');
}

/** An IPv4 network: `base` with its host bits zero. */
export class Subnet {
  private constructor(
    readonly base: Ipv4,
    readonly prefix: number,
  ) {}

  /** `10.88.0.0/16`; host bits set (`10.88.0.1/16`) are refused, as docker does. */
  static parse(text: string): Subnet {
    const match = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
    const base = match ? parseIpv4(match[1] as string) : null;
    const prefix = Number(match?.[2]);
    if (base === null || !(prefix >= 8 && prefix <= 30))
      throw new TockerError(`subnet ${text}: an IPv4 network like 10.88.0.0/16 (a /8 to a /30)`);
    const subnet = new Subnet(base, prefix);
    if ((base & ~subnet.mask) >>> 0 !== 0)
      throw new TockerError(
        `subnet ${text}: has host bits set (${subnet.networkOf(base)} is its network)`,
      );
    return subnet;
  }

  static of(base: Ipv4, prefix: number): Subnet {
    return new Subnet((base & maskOf(prefix)) >>> 0, prefix);
  }

  get mask(): number {
    return maskOf(this.prefix);
  }

  /** The first address after the network's own: the gateway, as docker picks it. */
  get gateway(): Ipv4 {
    return this.base + 1;
  }

  get gatewayText(): string {
    return formatIpv4(this.gateway);
  }

  /** The broadcast address: the last one. */
  get last(): Ipv4 {
    return (this.base | ~this.mask) >>> 0;
  }

  contains(address: Ipv4): boolean {
    return (address & this.mask) >>> 0 === this.base;
  }

  overlaps(other: Subnet): boolean {
    const prefix = Math.min(this.prefix, other.prefix);
    return (this.base & maskOf(prefix)) >>> 0 === (other.base & maskOf(prefix)) >>> 0;
  }

  private networkOf(address: Ipv4): string {
    return `${formatIpv4((address & this.mask) >>> 0)}/${this.prefix}`;
  }

  toString(): string {
    return `${formatIpv4(this.base)}/${this.prefix}`;
  }
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
