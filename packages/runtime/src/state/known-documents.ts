import type { RecordDocument } from './record.js';

/** Enough for every container of a busy agent; past it the memory is given back at once. */
const MAX_KNOWN = 4096;

/**
 * The document this process last wrote or read in each container directory, with its
 * text. Reading a record back costs a JSON.parse and the validation of its whole
 * configuration, and a start reads its record three times (the agent every record, for
 * each list): a text seen before needs neither. Matched on the text itself, so a record
 * another process wrote since is always parsed and validated.
 */
export class KnownDocuments {
  readonly #byDir = new Map<string, { readonly json: string; readonly document: RecordDocument }>();

  /**
   * `json` as serialized, without the padding a record file carries. The document is
   * shared by every reader from now on: it is frozen, so that none can change it.
   */
  remember(dir: string, json: string, document: RecordDocument): void {
    if (this.#byDir.size >= MAX_KNOWN) this.#byDir.clear();
    Object.freeze(document.record);
    this.#byDir.set(dir, { json, document: Object.freeze(document) });
  }

  /** The document serialized as `json` (a file's text without its padding), if known here. */
  lookup(dir: string, json: string): RecordDocument | undefined {
    const known = this.#byDir.get(dir);
    return known?.json === json ? known.document : undefined;
  }

  forget(dir: string): void {
    this.#byDir.delete(dir);
  }

  /** Only these directories hold containers now (others were removed, by any process). */
  keepOnly(dirs: readonly string[]): void {
    if (this.#byDir.size === 0) return;
    const existing = new Set(dirs);
    for (const dir of this.#byDir.keys()) if (!existing.has(dir)) this.#byDir.delete(dir);
  }
}
