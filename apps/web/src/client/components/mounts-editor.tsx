'use client';
import type { MountInput } from '@tocker/protocol';
import { useRef } from 'react';
import { Field } from './field';

const KINDS = {
  volume: { label: 'Named volume', source: 'Volume name', hint: 'Created on first use.' },
  bind: {
    label: 'Host directory',
    source: 'Host path',
    hint: 'Under a directory the agent allows (its --allow-bind); none by default.',
  },
  tmpfs: { label: 'tmpfs', source: 'Size', hint: 'Optional, e.g. 64m; in memory, gone at exit.' },
} as const;
type MountKind = keyof typeof KINDS;

/** One row of the editor: what it is and where it goes; `key` keeps React's rows apart. */
export interface MountRow {
  readonly key: number;
  readonly kind: MountKind;
  /** A volume's name, or a host path; unused by a tmpfs. */
  readonly source: string;
  /** A tmpfs's size as typed; unused otherwise. */
  readonly size: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** What the spec's `mounts` holds for each row, in the same order (issues name rows by index). */
export function mountsOf(rows: readonly MountRow[]): MountInput[] {
  return rows.map((row): MountInput => {
    const target = row.target.trim();
    if (row.kind === 'tmpfs')
      return {
        type: 'tmpfs',
        target,
        ...(row.size.trim() === '' ? {} : { size: row.size.trim() }),
      };
    return { type: row.kind, source: row.source.trim(), target, readOnly: row.readOnly };
  });
}

/** The part of a row a message is about: its source (or size) input, or its target input. */
export type MountPart = 'source' | 'target';

/**
 * The mounts of the launch form: rows of a named volume, a host directory or a tmpfs,
 * each with its target, added and removed at will. Errors come from the caller (the
 * spec's schema, or the agent) by row and part.
 */
export function MountsEditor({
  rows,
  onChange,
  errorAt,
}: {
  rows: readonly MountRow[];
  onChange: (rows: readonly MountRow[]) => void;
  errorAt: (index: number, part: MountPart) => string | undefined;
}) {
  const nextKey = useRef(rows.length);
  const change = (key: number, update: Partial<MountRow>) =>
    onChange(rows.map((row) => (row.key === key ? { ...row, ...update } : row)));
  const add = () =>
    onChange([
      ...rows,
      { key: nextKey.current++, kind: 'volume', source: '', size: '', target: '', readOnly: false },
    ]);

  return (
    <div className="mounts">
      {rows.map((row, index) => {
        const kind = KINDS[row.kind];
        const number = index + 1;
        return (
          <fieldset key={row.key} className="mount-row">
            <legend>Mount {number}</legend>
            <Field label="Type">
              {(props) => (
                <select
                  {...props}
                  value={row.kind}
                  onChange={(event) => change(row.key, { kind: event.target.value as MountKind })}
                >
                  {Object.entries(KINDS).map(([value, { label }]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={kind.source} hint={kind.hint} error={errorAt(index, 'source')}>
              {(props) => (
                <input
                  {...props}
                  className="mono"
                  autoComplete="off"
                  value={row.kind === 'tmpfs' ? row.size : row.source}
                  onChange={(event) =>
                    change(
                      row.key,
                      row.kind === 'tmpfs'
                        ? { size: event.target.value }
                        : { source: event.target.value },
                    )
                  }
                />
              )}
            </Field>
            <Field label="Target" hint="Where, in the container." error={errorAt(index, 'target')}>
              {(props) => (
                <input
                  {...props}
                  className="mono"
                  autoComplete="off"
                  value={row.target}
                  onChange={(event) => change(row.key, { target: event.target.value })}
                />
              )}
            </Field>
            <div className="mount-end">
              {row.kind !== 'tmpfs' && (
                <label className="inline">
                  <input
                    type="checkbox"
                    checked={row.readOnly}
                    onChange={(event) => change(row.key, { readOnly: event.target.checked })}
                  />{' '}
                  Read-only
                </label>
              )}
              <button
                type="button"
                className="small ghost"
                aria-label={`Remove mount ${number}`}
                onClick={() => onChange(rows.filter((each) => each.key !== row.key))}
              >
                Remove
              </button>
            </div>
          </fieldset>
        );
      })}
      <div>
        <button type="button" className="small" onClick={add}>
          Add a mount
        </button>
      </div>
    </div>
  );
}
