import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerView } from '@tocker/protocol';
import { CliRoot, lines, transitionsByContainer, waitFor } from './helpers.js';

const world = new CliRoot({ name: 'pause' });
after(() => world.cleanup());

async function inspect(reference: string): Promise<ContainerView> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as ContainerView[])[0] as ContainerView;
}

/** How many ticks the container has logged so far. */
async function ticks(id: string): Promise<number> {
  return lines((await world.run(['logs', id])).stdout).length;
}

/** The freezer's state of the container's cgroup (cgroup v1 on this host). */
function freezerState(id: string): string {
  const [parent] = world.cgroupDirs().filter((dir) => dir.includes('/freezer/'));
  assert.ok(parent, 'a freezer hierarchy');
  return readFileSync(join(parent, id, 'freezer.state'), 'utf8').trim();
}

describe('pause and unpause (the cgroup freezer, real containers)', () => {
  test('pause freezes every process (its output stops, ps says Paused); exec and other signals wait for unpause; unpause lets it go on; twice, or on an exited container, is one line', async () => {
    const id = (
      await world.run([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'while :; do echo tick; sleep 0.05; done',
      ])
    ).stdout.trim();
    await waitFor('ticks', async () => ((await ticks(id)) > 2 ? true : undefined));
    assert.equal((await world.run(['pause', id])).code, 0);
    assert.equal(freezerState(id), 'FROZEN');
    assert.equal((await inspect(id)).paused, true);
    assert.match((await world.run(['ps'])).stdout, /Up \S+ seconds? \(Paused\)/);
    const frozenAt = await ticks(id);
    await sleep(500);
    assert.equal(await ticks(id), frozenAt, 'no tick while paused');
    const exec = await world.run(['exec', id, 'true']);
    assert.equal(exec.stderr, `tocker: container ${id.slice(0, 12)} is paused: unpause it first\n`);
    const usr1 = await world.run(['kill', '-s', 'USR1', id]);
    assert.equal(usr1.stderr, `tocker: container ${id.slice(0, 12)} is paused: unpause it first\n`);
    const again = await world.run(['pause', id]);
    assert.equal(again.stderr, `tocker: container ${id.slice(0, 12)} is already paused\n`);
    assert.equal((await world.run(['unpause', id])).code, 0);
    assert.equal(freezerState(id), 'THAWED');
    assert.equal((await inspect(id)).paused, false);
    await waitFor('ticks again', async () => ((await ticks(id)) > frozenAt ? true : undefined));
    const notPaused = await world.run(['unpause', id]);
    assert.equal(notPaused.stderr, `tocker: container ${id.slice(0, 12)} is not paused\n`);
    await world.run(['rm', '-f', id]);
    assert.deepEqual(
      transitionsByContainer(world.root)
        .get(id)
        ?.filter((kind) => kind === 'paused' || kind === 'unpaused'),
      ['paused', 'unpaused'],
    );
    const exited = (await world.run(['run', '-d', 'busybox', 'true'])).stdout.trim();
    await waitFor('it to exit', async () =>
      (await inspect(exited)).status === 'exited' ? true : undefined,
    );
    const refused = await world.run(['pause', exited]);
    assert.equal(refused.stderr, `tocker: container ${exited.slice(0, 12)} is not running\n`);
    await world.run(['rm', exited]);
  });

  test('a paused container still ends: stop delivers SIGTERM to its trap once thawed, rm -f removes it with nothing left', async () => {
    const trapped = (
      await world.run([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        "trap 'exit 3' TERM; while :; do sleep 0.05; done",
      ])
    ).stdout.trim();
    await sleep(200);
    assert.equal((await world.run(['pause', trapped])).code, 0);
    assert.equal((await world.run(['stop', '-t', '5', trapped])).code, 0);
    const stopped = await inspect(trapped);
    assert.equal(stopped.exitCode, 3, 'its trap ran: SIGTERM was handled after the thaw');
    assert.equal(stopped.paused, false);
    const frozen = (await world.run(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    assert.equal((await world.run(['pause', frozen])).code, 0);
    assert.equal((await world.run(['rm', '-f', frozen, trapped])).code, 0);
    assert.deepEqual(lines((await world.run(['ps', '-a', '-q'])).stdout), []);
    await world.check();
  });
});
