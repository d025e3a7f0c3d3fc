/**
 * Byte streams cut into pieces (pty reads, log tails) must not be cut inside a UTF-8
 * character, or each piece decodes to garbage at its edges.
 */

/** The length of the longest prefix that does not end inside a UTF-8 character. */
export function completeUtf8Length(bytes: Uint8Array): number {
  for (let back = 1; back <= 4 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length; // not UTF-8 at all: nothing to wait for
}

/** How many leading bytes to skip so that the rest starts on a character. */
export function utf8StartOffset(bytes: Uint8Array): number {
  let start = 0;
  while (start < bytes.length && start < 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return start;
}
