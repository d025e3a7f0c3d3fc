import { TockerError } from '@tocker/runtime';
import { eachNamed } from './commands.js';
import { booleanFlag, formatHelp, help, parseFlags } from './flags.js';
import { openLocalRuntime } from './local-runtime.js';
import { printTable } from './table.js';

const usage = `tocker volume create NAME
tocker volume ls [-q]
tocker volume inspect NAME...
tocker volume rm [-f] NAME...
tocker volume prune`;

const flags = [
  { name: 'quiet', short: 'q', help: 'Only print names' },
  { name: 'force', short: 'f', help: 'rm: no error for a volume that does not exist' },
  help,
];

/** `tocker volume ...`: the named volumes of this machine's state root. */
export async function volumeCommand(args: readonly string[]): Promise<number> {
  // docker's order: the action first, then its flags (volume ls -q, volume rm -f NAME).
  const action = args[0]?.startsWith('-') ? undefined : args[0];
  const parsed = parseFlags(action === undefined ? args : args.slice(1), flags, 'volume');
  const names = parsed.positionals;
  if (booleanFlag(parsed, 'help') || action === undefined) {
    process.stdout.write(formatHelp(usage, 'Manage named volumes.', flags));
    return action === undefined && !booleanFlag(parsed, 'help') ? 125 : 0;
  }
  const volumes = openLocalRuntime().volumes;
  switch (action) {
    case 'create': {
      if (names.length !== 1) throw new TockerError('usage: tocker volume create NAME');
      process.stdout.write(`${volumes.ensure(names[0] as string).name}\n`);
      return 0;
    }
    case 'ls': {
      const listed = volumes.list();
      if (booleanFlag(parsed, 'quiet')) {
        for (const volume of listed) process.stdout.write(`${volume.name}\n`);
        return 0;
      }
      printTable([
        ['VOLUME NAME', 'MOUNTPOINT'],
        ...listed.map((volume) => [volume.name, volume.path]),
      ]);
      return 0;
    }
    case 'inspect': {
      if (names.length === 0) throw new TockerError('usage: tocker volume inspect NAME...');
      const found = names.map((name) => {
        const volume = volumes.get(name);
        if (volume === null) throw new TockerError(`no volume ${name}`);
        return { Name: volume.name, Mountpoint: volume.path, CreatedAt: volume.createdAt };
      });
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return 0;
    }
    case 'rm': {
      if (names.length === 0) throw new TockerError('usage: tocker volume rm [-f] NAME...');
      const force = booleanFlag(parsed, 'force');
      return eachNamed(names, async (name) => {
        if (force && volumes.get(name) === null) return;
        volumes.remove(name);
      });
    }
    case 'prune': {
      for (const name of volumes.prune()) process.stdout.write(`Deleted: ${name}\n`);
      return 0;
    }
    default:
      throw new TockerError(`tocker volume ${action}: create, ls, inspect, rm or prune`);
  }
}
