/**
 * What a container's shim becomes once the container has ended and nobody who created it
 * is still there to record that (a CLI's run -d, an agent that stopped): `node
 * conclude.js ID` records the end from the exit file the shim wrote, under the
 * container's lock, exactly as its creator would have.
 */
import { Runtime } from './runtime.js';

const id = process.argv[2];
if (id === undefined || !/^[0-9a-f]{64}$/.test(id)) {
  process.stderr.write('usage: conclude.js CONTAINER_ID\n');
  process.exit(2);
}
const runtime = Runtime.open();
runtime.recordEnd(id);
await runtime.close();
