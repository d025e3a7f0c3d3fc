'use client';
import {
  type ContainerSpecInput,
  containerSpecSchema,
  DEFAULT_IMAGE,
  formatBytes,
  NETWORK_MODES,
  type PortMappingInput,
  type PullState,
  parsePublish,
} from '@tocker/protocol';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useId, useState } from 'react';
import type { z } from 'zod';
import { useAgents } from '../agents';
import { splitCommandLine } from '../argv';
import { relay } from '../connection';
import { formatCommand, plural } from '../format';
import { type FieldErrors, fieldOf, issuesByField, useSubmission, words } from '../forms';
import { pullToEnd, useImageNamed, useImages } from '../images';
import { aboutAliases, useNetworks } from '../networks';
import { atField, Field, FormError } from './field';
import { type MountPart, type MountRow, MountsEditor, mountsOf } from './mounts-editor';
import { PullProgress } from './pull-progress';

const FIELDS = [
  'agent',
  'image',
  'rootfs',
  'command',
  'name',
  'hostname',
  'cpus',
  'memory',
  'pidsLimit',
  'env',
  'mounts',
  'network',
  'networkAliases',
  'ports',
  'userns',
] as const;
/** A mount row's input: `mounts.2.target`. */
type MountField = `mounts.${number}.${MountPart}`;
type LaunchField = (typeof FIELDS)[number] | MountField;
type Errors = FieldErrors<LaunchField>;

/** The image the form starts with: set-up puts busybox in every agent's store. */
const DEFAULT_IMAGE_NAME = 'busybox';

const mountField = (index: number, part: MountPart): MountField => `mounts.${index}.${part}`;

/** docker's -p, one per word: `8080:80 127.0.0.1::443 53/udp`. */
function parsePorts(text: string): { ports: PortMappingInput[] } | { error: string } {
  try {
    return {
      ports: words(text).map(parsePublish),
    };
  } catch (error) {
    // "-p abc: not ..." as a field's message: 'ports: "abc": not ...'.
    return { error: (error as Error).message.replace(/^-p (\S+): /, 'ports: "$1": ') };
  }
}

function parseEnv(text: string): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const equals = line.indexOf('=');
    if (equals <= 0) return { error: `env: line ${index + 1} is not NAME=value` };
    env[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return { env };
}

/**
 * The schema's issues by field, those of one mount at its row (`mounts.1.target`; a
 * tmpfs's size is its row's source input), the others by field name.
 */
function issuesAtFields(issues: readonly z.ZodIssue[]): Errors {
  const errors: Errors = {};
  const others: z.ZodIssue[] = [];
  for (const issue of issues) {
    const [field, index, part] = issue.path;
    if (field !== 'mounts' || typeof index !== 'number') others.push(issue);
    else errors[mountField(index, part === 'target' ? 'target' : 'source')] ??= issue.message;
  }
  return { ...issuesByField(others, FIELDS), ...errors };
}

/** Whether `message` names `value` as a word of its own (a path, a volume's name). */
const names = (message: string, value: string) =>
  value !== '' && ` ${message} `.includes(` ${value} `);

/**
 * Builds the spec from the form and validates it with the same schema the server and the
 * agent use, so the browser shows the same messages, next to their fields (a mount's at
 * its row), before anything is sent. The server's own answer is shown the same way.
 */
function toSpec(
  form: FormData,
  root: 'image' | 'rootfs',
  mounts: readonly MountRow[],
): { spec: ContainerSpecInput; errors: Errors } {
  const text = (name: string) => String(form.get(name) ?? '').trim();
  const optional = (name: string) => (text(name) === '' ? undefined : text(name));
  const errors: Errors = {};
  const command = splitCommandLine(text('command'));
  if ('error' in command) errors.command = command.error;
  const env = parseEnv(String(form.get('env') ?? ''));
  if ('error' in env) errors.env = env.error;
  const ports = parsePorts(text('ports'));
  if ('error' in ports) errors.ports = ports.error;
  const spec: ContainerSpecInput = {
    ...(root === 'image' ? { image: text('image') } : { rootfs: text('rootfs') }),
    command: 'argv' in command ? command.argv : [],
    name: optional('name'),
    hostname: optional('hostname'),
    env: 'env' in env ? env.env : {},
    tty: form.get('tty') === 'on',
    interactive: form.get('tty') === 'on',
    init: form.get('init') === 'on',
    privileged: form.get('privileged') === 'on',
    readOnlyRoot: form.get('readOnlyRoot') === 'on',
    // Unset: the agent's default (its --userns).
    userns: optional('userns') as ContainerSpecInput['userns'],
    mounts: mountsOf(mounts),
    network: optional('network') ?? 'bridge',
    networkAliases: words(text('networkAliases')),
    ports: 'ports' in ports ? ports.ports : [],
    limits: {
      cpus: optional('cpus'),
      memory: optional('memory'),
      pidsLimit: optional('pidsLimit'),
    },
  };
  const parsed = containerSpecSchema.safeParse(spec);
  if (!parsed.success) Object.assign(errors, { ...issuesAtFields(parsed.error.issues), ...errors });
  return { spec, errors };
}

/**
 * The image on the agent, pulled first when it does not have it (each state of the pull
 * to `onPull`). Whatever goes wrong here is about the image field.
 */
async function ensureImage(
  agent: number,
  reference: string,
  onPull: (pull: PullState) => void,
): Promise<void> {
  try {
    const present = await relay(agent, 'image:inspect', { image: reference }).then(
      () => true,
      () => false,
    );
    if (present) return;
    const end = await pullToEnd(agent, reference, onPull);
    if (end.status === 'failed') throw new Error(end.error ?? 'the pull failed');
  } catch (error) {
    throw new Error(`image: ${(error as Error).message}`);
  }
}

/** How the chosen image runs when no command is given, and what the agent has of it. */
function useImageHints(agent: number | null, reference: string) {
  const image = useImageNamed(agent, reference);
  if (image === null)
    return {
      image: "An image of the agent's, or one it pulls first (e.g. alpine:3.20).",
      command: undefined,
    };
  const runs = [...image.config.entrypoint, ...image.config.cmd];
  return {
    image: `On the agent: ${formatBytes(image.bytes)}, ${plural(image.layers, 'layer')}.`,
    command: runs.length === 0 ? undefined : formatCommand(runs),
  };
}

export function LaunchForm() {
  const router = useRouter();
  const { agents } = useAgents();
  const online = (agents ?? []).filter((agent) => agent.online);
  const [chosenAgent, setAgent] = useState<number | null>(null);
  const agent = chosenAgent ?? online[0]?.id ?? null;
  const [root, setRoot] = useState<'image' | 'rootfs'>('image');
  const [imageName, setImageName] = useState(DEFAULT_IMAGE_NAME);
  const [mounts, setMounts] = useState<readonly MountRow[]>([]);
  const [pull, setPull] = useState<PullState | null>(null);
  const imagesListId = useId();
  const { data: local } = useImages(agent);
  const { data: networks } = useNetworks(agent);
  // The modes, then the agent's own networks (bridge, the default one, is both).
  const networkChoices = [
    ...NETWORK_MODES,
    ...(networks ?? [])
      .map((network) => network.name)
      .filter((name) => !(NETWORK_MODES as readonly string[]).includes(name)),
  ];
  const hints = useImageHints(agent, root === 'image' ? imageName : '');

  // A refusal that names no field but a mount's source or target (the agent's "bind
  // source /srv is not under a directory this agent allows") is shown at that row.
  const locate = (message: string): LaunchField | 'form' => {
    if (aboutAliases(message)) return 'networkAliases';
    // The runtime's refusals of what cannot go with a user namespace of its own.
    if (message.startsWith('--userns')) return 'userns';
    const field = fieldOf(message, FIELDS);
    if (field !== 'form') return field;
    for (const [index, row] of mounts.entries()) {
      if (row.kind !== 'tmpfs' && names(message, row.source.trim()))
        return mountField(index, 'source');
      if (names(message, row.target.trim())) return mountField(index, 'target');
    }
    return 'form';
  };
  const { errors, busy, submit: send } = useSubmission<LaunchField>(FIELDS, locate);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const { spec, errors: found } = toSpec(form, root, mounts);
    if (agent === null) found.agent = 'agent: choose an online agent';
    setPull(null);
    await send(found, async () => {
      if (agent === null) return;
      if (spec.image !== undefined) await ensureImage(agent, spec.image, setPull);
      const { container } = await relay(agent, 'container:run', { spec });
      router.push(`/containers/${agent}/${container.id}`);
    });
  };

  if (agents !== null && online.length === 0) {
    return (
      <div className="empty">
        No agent is online.{' '}
        <Link prefetch={false} href="/agents">
          Add or check your agents
        </Link>
        .
      </div>
    );
  }

  return (
    <form className="card form-grid" onSubmit={submit} noValidate aria-label="Launch a container">
      <FormError message={errors.form} />
      <Field label="Agent" error={errors.agent}>
        {(props) => (
          <select
            {...props}
            name="agent"
            value={agent ?? ''}
            onChange={(event) => setAgent(Number(event.target.value))}
          >
            {online.map((each) => (
              <option key={each.id} value={each.id}>
                {each.name} ({each.url})
              </option>
            ))}
          </select>
        )}
      </Field>
      {root === 'image' ? (
        <Field label="Image" hint={hints.image} error={errors.image}>
          {(props) => (
            <>
              <input
                {...props}
                name="image"
                list={imagesListId}
                value={imageName}
                onChange={(event) => setImageName(event.target.value)}
                className="mono"
                autoComplete="off"
                spellCheck={false}
              />
              <datalist id={imagesListId}>
                {(local?.images ?? []).flatMap((image) =>
                  image.names.map((name) => <option key={name} value={name} />),
                )}
              </datalist>
            </>
          )}
        </Field>
      ) : (
        <Field
          label="Root filesystem directory"
          hint="A directory on the agent's host."
          error={errors.rootfs}
        >
          {(props) => (
            <input {...props} name="rootfs" defaultValue={DEFAULT_IMAGE} className="mono" />
          )}
        </Field>
      )}
      <Field
        label="Command"
        hint={`${root === 'image' ? "Empty: the image's command. " : ''}Split into arguments like a shell splits words ('quotes' work); never run through a shell.`}
        error={errors.command}
      >
        {(props) => (
          <input
            {...props}
            name="command"
            // A directory has no command of its own: switching to one starts with a shell.
            key={root}
            defaultValue={root === 'image' ? '' : '/bin/sh'}
            placeholder={root === 'image' ? hints.command : undefined}
            className="mono"
          />
        )}
      </Field>
      <label className="inline wide">
        <input
          type="checkbox"
          checked={root === 'rootfs'}
          onChange={(event) => setRoot(event.target.checked ? 'rootfs' : 'image')}
        />{' '}
        A directory as the root, instead of an image
      </label>
      {pull !== null && (
        <div className="wide">
          <PullProgress pull={pull} />
        </div>
      )}
      <Field label="Name" hint="Optional: letters, digits, _ . -" error={errors.name}>
        {(props) => <input {...props} name="name" autoComplete="off" />}
      </Field>
      <Field label="Hostname" hint="Optional: the short id otherwise." error={errors.hostname}>
        {(props) => <input {...props} name="hostname" autoComplete="off" />}
      </Field>
      <Field
        label="Network"
        hint="bridge: an address, the outside through NAT; none: only lo; host: the host's own; or one of the agent's networks."
        error={errors.network}
      >
        {(props) => (
          <select {...props} name="network" defaultValue="bridge">
            {networkChoices.map((choice) => (
              <option key={choice} value={choice}>
                {choice}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="User namespace"
        hint="Its own: its root is an unprivileged range of the host's ids (not with privileged, host network, or another container's); the host's: as docker by default."
        error={errors.userns}
      >
        {(props) => (
          <select {...props} name="userns" defaultValue="">
            <option value="">the agent's default</option>
            <option value="auto">its own (userns auto)</option>
            <option value="host">the host's</option>
          </select>
        )}
      </Field>
      <Field
        label="Network aliases"
        hint="Optional, on a network of yours: more names it answers to there, separated by spaces or commas."
        error={errors.networkAliases}
      >
        {(props) => (
          <input
            {...props}
            name="networkAliases"
            className="mono"
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Field>
      <Field
        label="Published ports"
        hint="e.g. 8080:80 or 80 (a free host port); several separated by spaces."
        error={errors.ports}
      >
        {(props) => <input {...props} name="ports" className="mono" autoComplete="off" />}
      </Field>
      <Field label="CPUs" hint="e.g. 0.5 (half a core); empty: no limit." error={errors.cpus}>
        {(props) => <input {...props} name="cpus" inputMode="decimal" />}
      </Field>
      <Field
        label="Memory"
        hint="e.g. 64m, 1g; a bare number is MiB; empty: no limit."
        error={errors.memory}
      >
        {(props) => <input {...props} name="memory" />}
      </Field>
      <Field
        label="PIDs limit"
        hint="Most processes at once; empty: 2048 (the default); -1: no limit."
        error={errors.pidsLimit}
      >
        {(props) => <input {...props} name="pidsLimit" inputMode="numeric" />}
      </Field>
      <Field label="Environment" hint="One NAME=value per line." error={errors.env}>
        {(props) => <textarea {...props} name="env" rows={3} className="mono" />}
      </Field>
      <fieldset className="wide checks">
        <legend>Volumes and mounts</legend>
        {errors.mounts && (
          <small role="alert" className="error-text">
            {atField(errors.mounts)}
          </small>
        )}
        <MountsEditor
          rows={mounts}
          onChange={setMounts}
          errorAt={(index, part) => errors[mountField(index, part)]}
        />
      </fieldset>
      <fieldset className="checks">
        <legend>Options</legend>
        <label className="inline">
          <input type="checkbox" name="tty" defaultChecked /> Terminal (tty), for a console
        </label>
        <label className="inline">
          <input type="checkbox" name="init" /> Init process (forwards signals, reaps zombies)
        </label>
        <label className="inline">
          <input type="checkbox" name="readOnlyRoot" /> Read-only root filesystem (its mounts stay
          as they are)
        </label>
        <label className="inline">
          <input type="checkbox" name="privileged" /> Privileged: gives up isolation (every
          capability and device, no seccomp)
        </label>
      </fieldset>
      <div className="wide">
        <button type="submit" disabled={busy || agents === null}>
          {!busy ? 'Launch' : pull?.status === 'pulling' ? 'Pulling…' : 'Launching…'}
        </button>
      </div>
    </form>
  );
}
