'use client';
import { type ContainerSpecInput, containerSpecSchema, DEFAULT_IMAGE } from '@tocker/protocol';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import { useAgents } from '../agents';
import { splitCommandLine } from '../argv';
import { relay } from '../connection';
import { type FieldErrors, issuesByField, useSubmission } from '../forms';
import { Field, FormError } from './field';

const FIELDS = [
  'agent',
  'rootfs',
  'command',
  'name',
  'hostname',
  'cpus',
  'memory',
  'pidsLimit',
  'env',
] as const;
type Errors = FieldErrors<(typeof FIELDS)[number]>;

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
 * Builds the spec from the form and validates it with the same schema the server and the
 * agent use, so the browser shows the same messages, next to their fields, before
 * anything is sent. The server's own answer is shown the same way.
 */
function toSpec(form: FormData): { spec: ContainerSpecInput; errors: Errors } {
  const text = (name: string) => String(form.get(name) ?? '').trim();
  const optional = (name: string) => (text(name) === '' ? undefined : text(name));
  const errors: Errors = {};
  const command = splitCommandLine(text('command'));
  if ('error' in command) errors.command = command.error;
  const env = parseEnv(String(form.get('env') ?? ''));
  if ('error' in env) errors.env = env.error;
  const spec: ContainerSpecInput = {
    rootfs: text('rootfs'),
    command: 'argv' in command ? command.argv : [],
    name: optional('name'),
    hostname: optional('hostname'),
    env: 'env' in env ? env.env : {},
    tty: form.get('tty') === 'on',
    interactive: form.get('tty') === 'on',
    init: form.get('init') === 'on',
    privileged: form.get('privileged') === 'on',
    limits: {
      cpus: optional('cpus'),
      memory: optional('memory'),
      pidsLimit: optional('pidsLimit'),
    },
  };
  const parsed = containerSpecSchema.safeParse(spec);
  if (!parsed.success) Object.assign(errors, { ...issuesByField(parsed.error, FIELDS), ...errors });
  return { spec, errors };
}

export function LaunchForm() {
  const router = useRouter();
  const { agents } = useAgents();
  const { errors, busy, submit: send } = useSubmission(FIELDS);
  const online = (agents ?? []).filter((agent) => agent.online);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const { spec, errors: found } = toSpec(form);
    const agent = Number(form.get('agent'));
    if (!Number.isInteger(agent) || agent <= 0) found.agent = 'agent: choose an online agent';
    await send(found, async () => {
      const { container } = await relay(agent, 'container:run', {
        spec,
      });
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
          <select {...props} name="agent" defaultValue={online[0]?.id}>
            {online.map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name} ({agent.url})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Image (root filesystem)"
        hint="A directory on the agent's host."
        error={errors.rootfs}
      >
        {(props) => (
          <input {...props} name="rootfs" defaultValue={DEFAULT_IMAGE} className="mono" />
        )}
      </Field>
      <Field
        label="Command"
        hint={
          "Split into arguments like a shell splits words ('quotes' work); never run through a shell."
        }
        error={errors.command}
      >
        {(props) => <input {...props} name="command" defaultValue="/bin/sh" className="mono" />}
      </Field>
      <Field label="Name" hint="Optional: letters, digits, _ . -" error={errors.name}>
        {(props) => <input {...props} name="name" autoComplete="off" />}
      </Field>
      <Field label="Hostname" hint="Optional: the short id otherwise." error={errors.hostname}>
        {(props) => <input {...props} name="hostname" autoComplete="off" />}
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
      <fieldset className="checks">
        <legend>Options</legend>
        <label className="inline">
          <input type="checkbox" name="tty" defaultChecked /> Terminal (tty), for a console
        </label>
        <label className="inline">
          <input type="checkbox" name="init" /> Init process (forwards signals, reaps zombies)
        </label>
        <label className="inline">
          <input type="checkbox" name="privileged" /> Privileged: gives up isolation (every
          capability and device, no seccomp)
        </label>
      </fieldset>
      <div className="wide">
        <button type="submit" disabled={busy || agents === null}>
          {busy ? 'Launching…' : 'Launch'}
        </button>
      </div>
    </form>
  );
}
