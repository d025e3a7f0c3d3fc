/** See front-end.mjs. */
export function compileFrontEnd(options: {
  readonly output: string;
  readonly node: string;
  readonly compileScript: string;
  readonly shimPath: string;
}): void;
