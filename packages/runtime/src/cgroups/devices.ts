import { TockerError } from '../errors.js';

/**
 * A container's device allow-list, in the terms of the v1 devices controller
 * (Documentation/admin-guide/cgroup-v1/devices.rst). v1 writes the rules to
 * devices.allow / devices.deny; v2 compiles them into a BPF program (device-filter.ts).
 *
 * A rule list is a catch-all rule (type 'a', any major and minor, access 'rwm') that gives
 * every device its verdict, followed by exceptions of the opposite verdict. An access is
 * decided by the last rule that matches it: an allow rule matches when it grants everything
 * asked for (opening read-write asks for r and w together), a deny rule when it covers any
 * of it. That is exactly what the v1 kernel does with such a list (the catch-all resets the
 * cgroup, each exception adds to its list), so v1 and v2 enforce the same thing. Other
 * shapes are refused: v1 cannot express them (a deny rule inside an allowed range, for
 * instance, only removes an identical allow entry there).
 */
export interface DeviceRule {
  readonly allow: boolean;
  /** 'a': every device (the catch-all only), 'b': block, 'c': character. */
  readonly type: 'a' | 'b' | 'c';
  /** null: any. */
  readonly major: number | null;
  /** null: any. */
  readonly minor: number | null;
  /** A combination of r (open for reading), w (open for writing) and m (mknod). */
  readonly access: string;
}

const ACCESS_LETTERS = 'rwm';
/** The kernel's dev_t: 12 bits of major, 20 bits of minor. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

const everyDevice = (allow: boolean): DeviceRule => ({
  allow,
  type: 'a',
  major: null,
  minor: null,
  access: ACCESS_LETTERS,
});

const allowChar = (major: number, minor: number | null): DeviceRule => ({
  allow: true,
  type: 'c',
  major,
  minor,
  access: ACCESS_LETTERS,
});

/** Docker's (and runc's) default: the harmless character devices and the container's ptys. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  everyDevice(false),
  // Creating nodes stays possible (images and programs mknod their own /dev); opening
  // them is what the rules below decide.
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  allowChar(1, 3), // null
  allowChar(1, 5), // zero
  allowChar(1, 7), // full
  allowChar(1, 8), // random
  allowChar(1, 9), // urandom
  allowChar(5, 0), // tty
  allowChar(5, 1), // console
  allowChar(5, 2), // ptmx
  allowChar(136, null), // pts/*
];

/** Permissions as docker --device takes them ("rwm", "r", "mr"...), returned in rwm order. */
export function parseDeviceAccess(text: string): string {
  const letters = new Set(text);
  if (
    text === '' ||
    letters.size !== text.length ||
    [...letters].some((letter) => !ACCESS_LETTERS.includes(letter))
  ) {
    throw new TockerError(`invalid device permissions "${text}": use one or more of r, w and m`);
  }
  return [...ACCESS_LETTERS].filter((letter) => letters.has(letter)).join('');
}

/** The rules that give a container one more device (--device), to append to a rule list. */
export function rulesForDevice(
  type: 'b' | 'c',
  major: number,
  minor: number,
  access: string,
): DeviceRule[] {
  return [{ allow: true, type, major, minor, access: parseDeviceAccess(access) }];
}

/** The v1 file format ("c 1:3 rwm", "b *:* m"); the catch-all is just "a". */
export function formatDeviceRule(rule: DeviceRule): string {
  if (rule.type === 'a') return 'a';
  return `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}

function checkNumber(value: number | null, max: number, what: string, rule: string): void {
  if (value !== null && !(Number.isInteger(value) && value >= 0 && value <= max)) {
    throw new TockerError(`invalid device rule "${rule}": the ${what} must be 0 to ${max}`);
  }
}

/** Throws a TockerError unless the list has the shape described at DeviceRule. */
export function checkDeviceRules(rules: readonly DeviceRule[]): void {
  const [catchAll, ...exceptions] = rules;
  if (
    catchAll === undefined ||
    catchAll.type !== 'a' ||
    catchAll.major !== null ||
    catchAll.minor !== null ||
    parseDeviceAccess(catchAll.access) !== ACCESS_LETTERS
  ) {
    throw new TockerError('a device rule list must start with a rule for every device ("a")');
  }
  for (const rule of exceptions) {
    const text = `${rule.allow ? 'allow' : 'deny'} ${formatDeviceRule(rule)}`;
    if (rule.type !== 'b' && rule.type !== 'c') {
      throw new TockerError(`invalid device rule "${text}": only the first rule may be "a"`);
    }
    if (rule.allow === catchAll.allow) {
      throw new TockerError(
        `invalid device rule "${text}": after "${catchAll.allow ? 'allow' : 'deny'} a" only ${catchAll.allow ? 'deny' : 'allow'} rules can follow`,
      );
    }
    checkNumber(rule.major, MAX_MAJOR, 'major', text);
    checkNumber(rule.minor, MAX_MINOR, 'minor', text);
    parseDeviceAccess(rule.access);
  }
}
