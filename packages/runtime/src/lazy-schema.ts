import { z } from 'zod';

/**
 * A schema built when it first checks something, not when its module loads: building a
 * large zod schema takes milliseconds, which a CLI start that never checks one (a record
 * read back, say) would otherwise pay every time.
 */
export function lazySchema<T extends z.ZodTypeAny>(build: () => T): z.ZodLazy<T> {
  let built: T | undefined;
  return z.lazy(() => {
    built ??= build();
    return built;
  });
}
