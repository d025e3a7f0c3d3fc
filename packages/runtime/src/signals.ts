import { constants } from 'node:os';
import { TockerError } from './errors.js';

/** "TERM", "SIGTERM", "sigterm" or "15". */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number >= 1 && number <= 64) return number;
  }
  const name = text.toUpperCase().startsWith('SIG')
    ? text.toUpperCase()
    : `SIG${text.toUpperCase()}`;
  const number = (constants.signals as Record<string, number>)[name];
  if (number === undefined) throw new TockerError(`invalid signal: ${text}`);
  return number;
}
