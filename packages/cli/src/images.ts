import { createReadStream } from 'node:fs';
import { text } from 'node:stream/consumers';
import {
  credentialsFile,
  familiarName,
  ImageCatalog,
  ImageStore,
  importTarball,
  loadImages,
  type RunConfig,
  removeCredentials,
  type StoredImage,
  saveImages,
  storeCredentials,
} from '@tocker/images';
import { formatBytes, shortDigest } from '@tocker/protocol/vocabulary';
import { TockerError } from '@tocker/runtime';
import {
  booleanFlag,
  type FlagSpec,
  flag,
  formatHelp,
  help,
  listFlag,
  parseFlags,
} from './flags.js';
import type { ImageCommandName } from './image-names.js';
import { openLocalRuntime } from './local-runtime.js';
import { pullWithProgress } from './pull.js';
import { printTable } from './table.js';

interface ImageCommand {
  readonly usage: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  /** How many positional arguments it takes, at least. */
  readonly arguments: number;
  run(
    catalog: ImageCatalog,
    args: readonly string[],
    flags: ReturnType<typeof parseFlags>,
  ): Promise<number>;
}

function nameParts(name: string): [string, string] {
  const familiar = familiarName(name);
  const at = familiar.indexOf('@');
  if (at >= 0) return [familiar.slice(0, at), '<none>'];
  const colon = familiar.lastIndexOf(':');
  return [familiar.slice(0, colon), familiar.slice(colon + 1)];
}

function created(image: StoredImage): string {
  return image.config.created === undefined
    ? ''
    : image.config.created.slice(0, 19).replace('T', ' ');
}

/**
 * `tocker import --change`: docker's instructions for a root filesystem that comes
 * without a configuration (CMD and ENTRYPOINT as JSON arrays, ENV, WORKDIR, USER).
 */
export function parseChanges(changes: readonly string[]): RunConfig {
  const config: RunConfig = {};
  for (const change of changes) {
    const match = /^\s*(CMD|ENTRYPOINT|ENV|WORKDIR|USER)\s+(.+)$/i.exec(change);
    if (match === null)
      throw new TockerError(
        `--change ${JSON.stringify(change)}: CMD, ENTRYPOINT, ENV, WORKDIR or USER`,
      );
    const [, instruction, value] = match as unknown as [string, string, string];
    const list = () => {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'))
          return parsed as string[];
      } catch {}
      throw new TockerError(`--change ${instruction}: a JSON array of strings, e.g. ["sh"]`);
    };
    switch (instruction.toUpperCase()) {
      case 'CMD':
        config.Cmd = list();
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = list();
        break;
      case 'ENV':
        if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value))
          throw new TockerError(`--change ENV ${value}: NAME=value`);
        config.Env = [...(config.Env ?? []), value];
        break;
      case 'WORKDIR':
        if (!value.startsWith('/'))
          throw new TockerError(`--change WORKDIR ${value}: an absolute path`);
        config.WorkingDir = value;
        break;
      case 'USER':
        config.User = value;
        break;
    }
  }
  return config;
}

const imageCommands: Record<ImageCommandName, ImageCommand> = {
  images: {
    usage: 'tocker images [-q]',
    description: 'List the images in the store.',
    flags: [{ name: 'quiet', short: 'q', help: 'Only print image ids' }, help],
    arguments: 0,
    async run({ store }, _args, flags) {
      const images = store.list();
      if (booleanFlag(flags, 'quiet')) {
        for (const id of new Set(images.map((image) => shortDigest(image.id))))
          process.stdout.write(`${id}\n`);
        return 0;
      }
      printTable([
        ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        ...images.flatMap((image) =>
          image.names.map((name) => [
            ...nameParts(name),
            shortDigest(image.id),
            created(image),
            formatBytes(image.bytes),
          ]),
        ),
      ]);
      return 0;
    },
  },
  tag: {
    usage: 'tocker tag SOURCE TARGET',
    description: 'Give an image another name.',
    flags: [help],
    arguments: 2,
    async run({ store }, [source, target]) {
      store.tag(target as string, store.resolve(source as string).digest);
      return 0;
    },
  },
  rmi: {
    usage: 'tocker rmi [-f] IMAGE...',
    description:
      'Remove names of images; an image, and the layers only it had, go with its last name.',
    flags: [{ name: 'force', short: 'f', help: 'Also when containers were made from it' }, help],
    arguments: 1,
    async run(catalog, args, flags) {
      let status = 0;
      for (const reference of args) {
        try {
          const { untagged, deleted } = catalog.remove(reference, booleanFlag(flags, 'force'));
          for (const name of untagged) process.stdout.write(`Untagged: ${name}\n`);
          for (const digest of deleted) process.stdout.write(`Deleted: ${digest}\n`);
        } catch (error) {
          if (!(error instanceof TockerError)) throw error;
          process.stderr.write(`tocker: ${error.message}\n`);
          status = 1;
        }
      }
      return status;
    },
  },
  image: {
    usage: 'tocker image inspect IMAGE... | tocker image prune',
    description: 'Print images as JSON, or remove what no image needs any more.',
    flags: [help],
    arguments: 1,
    async run(catalog, [action, ...references]) {
      if (action === 'prune') {
        const { blobs, layers } = catalog.prune();
        process.stdout.write(`Removed ${layers} layers and ${blobs} blobs\n`);
        return 0;
      }
      if (action !== 'inspect' || references.length === 0)
        throw new TockerError('usage: tocker image inspect IMAGE... | tocker image prune');
      const found = references.map((reference) => catalog.store.resolve(reference));
      process.stdout.write(`${JSON.stringify(found.map(describeImage), null, 2)}\n`);
      return 0;
    },
  },
  pull: {
    usage: 'tocker pull [--insecure-registry HOST] IMAGE',
    description: 'Pull an image from a registry (Docker Registry API v2 / OCI distribution).',
    flags: [
      {
        name: 'insecure-registry',
        value: 'list',
        placeholder: 'HOST',
        help: 'Plain HTTP to this registry (loopback ones always are)',
      },
      help,
    ],
    arguments: 1,
    async run({ store }, [reference], flags) {
      await pullWithProgress(store, reference as string, listFlag(flags, 'insecure-registry'));
      return 0;
    },
  },
  login: {
    usage: 'tocker login -u USER --password-stdin REGISTRY',
    description: `Keep credentials for a registry (in ${credentialsFile()}, mode 0600).`,
    flags: [
      { name: 'username', short: 'u', value: 'string', placeholder: 'USER', help: 'The account' },
      {
        name: 'password-stdin',
        help: 'Read the password from standard input (never on the command line, where ps shows it)',
      },
      help,
    ],
    arguments: 1,
    async run(_catalog, [registry], flags) {
      const username = flag(flags, 'username');
      if (username === undefined || !booleanFlag(flags, 'password-stdin'))
        throw new TockerError(
          'tocker login needs -u USER and --password-stdin (the password on stdin)',
        );
      const password = (await text(process.stdin)).replace(/\r?\n$/, '');
      if (password === '') throw new TockerError('tocker login: no password on standard input');
      storeCredentials(registry as string, { username, password });
      process.stdout.write('Login Succeeded\n');
      return 0;
    },
  },
  logout: {
    usage: 'tocker logout REGISTRY',
    description: 'Forget the credentials of a registry.',
    flags: [help],
    arguments: 1,
    async run(_catalog, [registry]) {
      if (!removeCredentials(registry as string))
        throw new TockerError(`not logged in to ${registry}`);
      process.stdout.write(`Removing login credentials for ${registry}\n`);
      return 0;
    },
  },
  load: {
    usage: 'tocker load -i FILE',
    description:
      'Load images from a docker save tarball, an OCI archive or an OCI layout directory.',
    flags: [
      { name: 'input', short: 'i', value: 'string', help: 'The archive (or OCI layout directory)' },
      help,
    ],
    arguments: 0,
    async run({ store }, _args, flags) {
      const input = flag(flags, 'input');
      if (input === undefined) throw new TockerError('tocker load needs -i FILE');
      for (const { image, names } of await loadImages(store, input)) {
        if (names.length === 0) process.stdout.write(`Loaded image ID: ${image.id}\n`);
        for (const name of names) process.stdout.write(`Loaded image: ${familiarName(name)}\n`);
      }
      return 0;
    },
  },
  save: {
    usage: 'tocker save -o FILE IMAGE...',
    description: 'Write images to an OCI archive (docker load and tocker load read it too).',
    flags: [
      {
        name: 'output',
        short: 'o',
        value: 'string',
        placeholder: 'FILE',
        help: 'The archive to write',
      },
      help,
    ],
    arguments: 1,
    async run({ store }, references, flags) {
      const output = flag(flags, 'output');
      if (output === undefined) throw new TockerError('tocker save needs -o FILE');
      await saveImages(store, references, output);
      return 0;
    },
  },
  import: {
    usage: 'tocker import [-c INSTRUCTION]... FILE NAME',
    description: 'Make a one-layer image of a root filesystem tarball (- reads standard input).',
    flags: [
      {
        name: 'change',
        short: 'c',
        value: 'list',
        help: 'CMD ["sh"], ENTRYPOINT [...], ENV K=V, WORKDIR /dir, USER name',
      },
      help,
    ],
    arguments: 2,
    async run({ store }, [file, name], flags) {
      const config = parseChanges(listFlag(flags, 'change'));
      const input = file === '-' ? process.stdin : createReadStream(file as string);
      const image = await importTarball(store, input, name as string, config);
      process.stdout.write(`${image.id}\n`);
      return 0;
    },
  },
};

/** What `image inspect` shows: docker's fields that exist here. */
function describeImage(image: StoredImage) {
  return {
    Id: image.id,
    RepoTags: image.names.map(familiarName),
    RepoDigests: [image.digest],
    Created: image.config.created ?? null,
    Architecture: image.config.architecture,
    Os: image.config.os,
    Size: image.bytes,
    Config: image.config.config ?? {},
    RootFS: { Type: 'layers', Layers: image.layers.map((layer) => layer.diffId) },
  };
}

export async function runImageCommand(
  name: ImageCommandName,
  args: readonly string[],
): Promise<number> {
  const command = imageCommands[name];
  const parsed = parseFlags(args, command.flags, name);
  if (booleanFlag(parsed, 'help')) {
    process.stdout.write(formatHelp(command.usage, command.description, command.flags));
    return 0;
  }
  if (parsed.positionals.length < command.arguments)
    throw new TockerError(
      `"tocker ${name}" needs ${command.arguments} argument(s) (usage: ${command.usage})`,
    );
  return command.run(
    new ImageCatalog(ImageStore.open(), () => openLocalRuntime().list()),
    parsed.positionals,
    parsed,
  );
}
