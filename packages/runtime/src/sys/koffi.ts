import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

const require = createRequire(import.meta.url);

/**
 * koffi's own entry point spends ~12 ms detecting the libc flavour by reading Node's ELF
 * header; the CLI pays that on every container start. On glibc (the only libc we target)
 * the prebuilt module sits at a known place, so load it directly and fall back to the
 * official entry point when the layout is different.
 */
function loadKoffi(): typeof Koffi {
  const arch = process.arch;
  try {
    return require(`@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`) as typeof Koffi;
  } catch {
    return require('koffi') as typeof Koffi;
  }
}

export const koffi = loadKoffi();
