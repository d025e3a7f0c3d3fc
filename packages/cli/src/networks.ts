import { Subnet, TockerError } from '@tocker/runtime';
import { eachNamed } from './commands.js';
import { booleanFlag, flag, formatHelp, help, listFlag, parseFlags } from './flags.js';
import { openLocalRuntime } from './local-runtime.js';
import { printTable } from './table.js';

const usage = `tocker network create [--subnet CIDR] [--bridge NAME] NAME
tocker network ls [-q]
tocker network inspect NAME...
tocker network rm NAME...
tocker network prune
tocker network connect [--alias NAME]... NETWORK CONTAINER
tocker network disconnect NETWORK CONTAINER`;

const flags = [
  {
    name: 'subnet',
    value: 'string' as const,
    placeholder: 'CIDR',
    help: 'create: e.g. 10.90.0.0/24 (default: a free one)',
  },
  {
    name: 'bridge',
    value: 'string' as const,
    placeholder: 'NAME',
    help: "create: its bridge device's name, at most 15 characters (default: tk-<id>)",
  },
  { name: 'quiet', short: 'q', help: 'Only print names' },
  {
    name: 'alias',
    value: 'list' as const,
    placeholder: 'NAME',
    help: "connect: another name for the container on the network's DNS; repeatable",
  },
  help,
];

/** `tocker network ...`: the networks of this machine's state root. */
export async function networkCommand(args: readonly string[]): Promise<number> {
  // docker's order: the action first, then its flags (network ls -q).
  const action = args[0]?.startsWith('-') ? undefined : args[0];
  const parsed = parseFlags(action === undefined ? args : args.slice(1), flags, 'network');
  const names = parsed.positionals;
  if (booleanFlag(parsed, 'help') || action === undefined) {
    process.stdout.write(formatHelp(usage, 'Manage networks.', flags));
    return action === undefined && !booleanFlag(parsed, 'help') ? 125 : 0;
  }
  const runtime = openLocalRuntime();
  const networks = runtime.networks;
  switch (action) {
    case 'create': {
      if (names.length !== 1)
        throw new TockerError('usage: tocker network create [--subnet CIDR] [--bridge NAME] NAME');
      const subnet = flag(parsed, 'subnet');
      const created = networks.createNetwork(
        names[0] as string,
        subnet === undefined ? null : Subnet.parse(subnet),
        flag(parsed, 'bridge') ?? null,
      );
      process.stdout.write(`${created.id}\n`);
      return 0;
    }
    case 'ls': {
      const listed = networks.list();
      if (booleanFlag(parsed, 'quiet')) {
        for (const network of listed) process.stdout.write(`${network.name}\n`);
        return 0;
      }
      printTable([
        ['NETWORK ID', 'NAME', 'SUBNET', 'BRIDGE', 'CONTAINERS'],
        ...listed.map((network) => [
          network.id.slice(0, 12),
          network.name,
          network.subnet.toString(),
          network.bridge,
          String(networks.holders(network).length),
        ]),
      ]);
      return 0;
    }
    case 'inspect': {
      if (names.length === 0) throw new TockerError('usage: tocker network inspect NAME...');
      const found = names.map((name) => {
        const network = networks.get(name);
        if (network === null) throw new TockerError(`no network ${name}`);
        return networks.describe(network);
      });
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return 0;
    }
    case 'rm': {
      if (names.length === 0) throw new TockerError('usage: tocker network rm NAME...');
      return eachNamed(names, async (name) => networks.remove(name));
    }
    case 'prune': {
      for (const name of networks.prune()) process.stdout.write(`Deleted: ${name}\n`);
      return 0;
    }
    case 'connect':
    case 'disconnect': {
      const [network, container] = names;
      if (network === undefined || container === undefined || names.length !== 2)
        throw new TockerError(
          `usage: tocker network ${action === 'connect' ? 'connect [--alias NAME]...' : 'disconnect'} NETWORK CONTAINER`,
        );
      if (action === 'connect') runtime.connect(container, network, listFlag(parsed, 'alias'));
      else runtime.disconnect(container, network);
      return 0;
    }
    default:
      throw new TockerError(
        `tocker network ${action}: create, ls, inspect, rm, prune, connect or disconnect`,
      );
  }
}
