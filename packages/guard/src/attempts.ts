/** How many failures in a row an address has for free, before it must wait. */
const FREE_FAILURES = 5;
const FIRST_LOCK_MS = 1000;
const LONGEST_LOCK_MS = 15 * 60 * 1000;
/** Addresses remembered at most (the oldest forgotten first): an attacker's many addresses cost bounded memory. */
const REMEMBERED = 10_000;

interface Failures {
  count: number;
  lockedUntil: number;
}

/**
 * Failed attempts (sign-ins) per client address: after a few in a row each further one
 * locks the address out for twice as long as the last (1 s, 2 s, 4 s... up to 15 min),
 * whatever it sends meanwhile, the right secret included. A success forgets the address.
 */
export class AttemptLimiter {
  private readonly failures = new Map<string, Failures>();

  constructor(
    /** Told each time an address is locked out, for the log. */
    private readonly lockedOut: (address: string, failures: number, lockMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the address must still wait before it may try again (0: it may). */
  waitFor(address: string): number {
    const failures = this.failures.get(address);
    return failures === undefined ? 0 : Math.max(0, failures.lockedUntil - this.now());
  }

  failed(address: string): void {
    const failures = this.failures.get(address) ?? { count: 0, lockedUntil: 0 };
    this.failures.delete(address); // re-inserted last: the map stays oldest-first
    failures.count++;
    if (failures.count > FREE_FAILURES) {
      const lockMs = Math.min(
        FIRST_LOCK_MS * 2 ** (failures.count - FREE_FAILURES - 1),
        LONGEST_LOCK_MS,
      );
      failures.lockedUntil = this.now() + lockMs;
      this.lockedOut(address, failures.count, lockMs);
    }
    this.failures.set(address, failures);
    if (this.failures.size > REMEMBERED) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
