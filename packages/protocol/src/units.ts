const MiB = 1024 * 1024;
const unitFactors: Record<string, number> = {
  b: 1,
  k: 1024,
  m: MiB,
  g: 1024 * MiB,
  t: 1024 * 1024 * MiB,
};

/**
 * Parses a memory size the way docker does (64m, 1g, 512k, 104857600b, also 64MiB / 64mb),
 * except that a bare number means MiB: gocker's `-m=100` meant 100 MiB and its users keep
 * typing it. Returns bytes, or undefined when the text is not a size.
 */
export function parseMemorySize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt])?(?:i?b)?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const unit = match[2]?.toLowerCase() ?? 'm';
  const bytes = Math.floor(Number(match[1]) * (unitFactors[unit] ?? Number.NaN));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function formatBytes(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 * MiB],
    ['MiB', MiB],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor) return `${Number((bytes / factor).toFixed(1))} ${unit}`;
  }
  return `${bytes} B`;
}

export const MIN_MEMORY_BYTES = 6 * MiB;
