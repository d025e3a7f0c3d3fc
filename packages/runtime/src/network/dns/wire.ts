/**
 * The little of DNS's wire format (RFC 1035) a network's resolver needs: a query's one
 * question read, and an answer written for it. Everything else is forwarded untouched.
 */

export const TYPE_A = 1;
export const TYPE_ANY = 255;
const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

const HEADER_BYTES = 12;
const FLAG_RESPONSE = 0x8000;
const FLAG_AUTHORITATIVE = 0x0400;
const FLAG_RECURSION_DESIRED = 0x0100;
const FLAG_RECURSION_AVAILABLE = 0x0080;
const OPCODE_MASK = 0x7800;

/** A query's question: the one thing a resolver asks. */
export interface Question {
  readonly id: number;
  readonly flags: number;
  /** Lower case, without the final dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** Where the question ends in the message: an answer repeats the bytes before it. */
  readonly end: number;
}

/** The query's question; null for what is not one query with one question. */
export function readQuestion(message: Buffer): Question | null {
  const question = firstQuestion(message);
  return question === null || (question.flags & FLAG_RESPONSE) !== 0 ? null : question;
}

/** The first question of a message (query or answer) that asks exactly one. */
function firstQuestion(message: Buffer): Question | null {
  if (message.length < HEADER_BYTES || message.readUInt16BE(4) !== 1) return null;
  const flags = message.readUInt16BE(2);
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  for (;;) {
    const length = message[offset];
    // A query has no reason to compress its only name: a pointer is not taken.
    if (length === undefined || length > 63) return null;
    offset++;
    if (length === 0) break;
    if (offset + length > message.length) return null;
    labels.push(message.toString('latin1', offset, offset + length).toLowerCase());
    offset += length;
  }
  if (offset + 4 > message.length) return null;
  return {
    id: message.readUInt16BE(0),
    flags,
    name: labels.join('.'),
    type: message.readUInt16BE(offset),
    class: message.readUInt16BE(offset + 2),
    end: offset + 4,
  };
}

/**
 * The answer to `question` (asked in `query`): its IPv4 `addresses` as A records, or none
 * with `rcode`. Authoritative: the names of a network are the network's own.
 */
export function writeAnswer(
  query: Buffer,
  question: Question,
  addresses: readonly string[],
  rcode: number,
  ttlSeconds: number,
): Buffer {
  const answers = question.class === CLASS_IN ? addresses : [];
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(question.id, 0);
  header.writeUInt16BE(
    FLAG_RESPONSE |
      (question.flags & (OPCODE_MASK | FLAG_RECURSION_DESIRED)) |
      FLAG_AUTHORITATIVE |
      FLAG_RECURSION_AVAILABLE |
      rcode,
    2,
  );
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc000 | HEADER_BYTES, 0); // the question's name
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(ttlSeconds, 6);
    record.writeUInt16BE(4, 10);
    for (const [index, byte] of address.split('.').entries())
      record.writeUInt8(Number(byte), 12 + index);
    return record;
  });
  return Buffer.concat([header, query.subarray(HEADER_BYTES, question.end), ...records]);
}

/** A query for `name` (the forwarding tests' client, and a test's upstream's reader). */
export function writeQuery(id: number, name: string, type = TYPE_A): Buffer {
  const labels = name
    .split('.')
    .filter((label) => label !== '')
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RECURSION_DESIRED, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  return Buffer.concat([header, ...labels, tail]);
}

/** The A records' addresses of an answer, and its rcode (a test's reader). */
export function readAnswer(message: Buffer): { rcode: number; addresses: string[] } {
  const question = firstQuestion(message);
  const rcode = message.readUInt16BE(2) & 0xf;
  if (question === null) return { rcode, addresses: [] };
  const addresses: string[] = [];
  let offset = question.end;
  for (let index = 0; index < message.readUInt16BE(6); index++) {
    offset += (message[offset] ?? 0) >= 0xc0 ? 2 : skipName(message, offset);
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    if (type === TYPE_A && length === 4)
      addresses.push([...message.subarray(offset + 10, offset + 14)].join('.'));
    offset += 10 + length;
  }
  return { rcode, addresses };
}

function skipName(message: Buffer, start: number): number {
  let offset = start;
  for (let length = message[offset] ?? 0; length !== 0; length = message[offset] ?? 0) {
    if (length >= 0xc0) return offset + 2 - start;
    offset += 1 + length;
  }
  return offset + 1 - start;
}
