'use client';
import { formatCommand } from '../format';

/**
 * What a container runs, as a shell user would read it; with no command (and no
 * entrypoint of its own) it runs its image's, which is said so rather than left blank.
 */
export function CommandLine({
  command,
  entrypoint,
}: {
  command: readonly string[];
  entrypoint?: readonly string[] | undefined;
}) {
  const argv = [...(entrypoint ?? []), ...command];
  if (argv.length === 0 && entrypoint === undefined)
    return <span className="muted">the image's command</span>;
  const text = formatCommand(argv);
  return (
    <span className="mono" title={text}>
      {text}
    </span>
  );
}
