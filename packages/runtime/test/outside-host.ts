/**
 * The program of a test's "outside host" (outside.ts), run in the host's own network
 * namespace: an HTTP server on the port of argv[2] that answers with the address each
 * request came from, and a DNS server on port 53 that knows the names of the JSON map
 * argv[3] (anything else: NXDOMAIN) and prints each name it is asked, so that a test sees
 * what reached "the upstream". It prints "listening" once both answer.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import {
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  readQuestion,
  writeAnswer,
} from '../src/network/dns/wire.js';

const port = Number(process.argv[2]);
const names = new Map(
  Object.entries(JSON.parse(process.argv[3] ?? '{}') as Record<string, string>),
);

const http = createServer((request, response) =>
  response.end(request.socket.remoteAddress?.replace(/^::ffff:/, '')),
);
const dns = createSocket('udp4');
dns.on('message', (query, peer) => {
  const question = readQuestion(query);
  if (question === null) return;
  process.stdout.write(`asked ${question.name}\n`);
  const address = names.get(question.name);
  const answer =
    address === undefined
      ? writeAnswer(query, question, [], RCODE_NXDOMAIN, 0)
      : writeAnswer(query, question, [address], RCODE_NOERROR, 60);
  dns.send(answer, peer.port, peer.address);
});
dns.bind(53, () => http.listen(port, () => process.stdout.write('listening\n')));
