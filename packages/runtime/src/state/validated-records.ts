import { parseDocument, type RecordDocument } from './record.js';

/**
 * The records this process has validated, each with the exact text it was validated
 * from. Validating a record (zod, the whole runtime configuration) costs ~0.4 ms, and a
 * long-lived process (the agent) reads the same unchanged records over and over: every
 * list, and its collection of leftovers every 10 s (two reads per container: ~0.2 s of
 * blocked event loop with 200 containers). A text seen before gives the same document
 * without validating it again; any other text, whoever wrote it, is validated in full.
 */
export class ValidatedRecords {
  private readonly byId = new Map<
    string,
    { readonly text: string; readonly document: RecordDocument }
  >();

  parse(text: string, id: string): ReturnType<typeof parseDocument> {
    const known = this.byId.get(id);
    if (known?.text === text) return { ok: true, document: known.document };
    const parsed = parseDocument(text, id);
    if (parsed.ok) {
      // Shared by every reader from now on: none may change it (they never do: readonly).
      const document = Object.freeze({
        ...parsed.document,
        record: Object.freeze(parsed.document.record),
      });
      this.byId.set(id, { text, document });
      return { ok: true, document };
    }
    this.byId.delete(id);
    return parsed;
  }

  /** The container is gone: its record is not kept for nothing. */
  forget(id: string): void {
    this.byId.delete(id);
  }

  /** Only these containers exist (others were removed, by any process). */
  keepOnly(ids: readonly string[]): void {
    if (this.byId.size === 0) return;
    const existing = new Set(ids);
    for (const id of this.byId.keys()) if (!existing.has(id)) this.byId.delete(id);
  }
}
