/**
 * The image commands, apart from their code (images.ts): main dispatches on the names
 * without loading it, and the type keeps images.ts to exactly these.
 */
export const IMAGE_COMMANDS = [
  'images',
  'tag',
  'rmi',
  'image',
  'pull',
  'login',
  'logout',
  'load',
  'save',
  'import',
] as const;

export type ImageCommandName = (typeof IMAGE_COMMANDS)[number];

export const isImageCommand = (name: string): name is ImageCommandName =>
  (IMAGE_COMMANDS as readonly string[]).includes(name);
