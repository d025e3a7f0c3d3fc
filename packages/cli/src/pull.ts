import {
  familiarName,
  type ImageStore,
  type PullEvent,
  pullImage,
  type StoredImage,
} from '@tocker/images';
import { formatBytes } from '@tocker/protocol';

const short = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);

/**
 * docker pull's display: a line per layer. On a terminal the lines are redrawn as bytes
 * arrive (at most every 100 ms); elsewhere only each layer's end is printed.
 */
class PullDisplay {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private lastDraw = 0;
  private readonly live: boolean;

  constructor(
    private readonly reference: string,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.live = out.isTTY === true;
  }

  readonly onEvent = (event: PullEvent): void => {
    if (event.kind === 'resolved') {
      for (const layer of event.layers) this.lines.set(layer.digest, 'Waiting');
      this.draw(true);
    } else if (event.kind === 'layer') {
      this.lines.set(
        event.digest,
        `Downloading ${formatBytes(event.received)}/${formatBytes(event.total)}`,
      );
      this.draw(false);
    } else {
      const status = event.cached ? 'Already exists' : 'Pull complete';
      this.lines.set(event.digest, status);
      if (this.live) this.draw(true);
      else this.out.write(`${short(event.digest)}: ${status}\n`);
    }
  };

  private draw(now: boolean): void {
    if (!this.live || (!now && Date.now() - this.lastDraw < 100)) return;
    this.lastDraw = Date.now();
    const text = [...this.lines].map(([digest, status]) => `${short(digest)}: ${status}\x1b[K`);
    this.out.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A\r` : ''}${text.join('\n')}\n`);
    this.drawn = text.length;
  }

  finish(image: StoredImage): void {
    this.out.write(`Digest: ${image.digest}\nStatus: Downloaded ${familiarName(this.reference)}\n`);
  }
}

/** Pulls `reference` into this machine's store, showing progress on `out`. */
export async function pullWithProgress(
  store: ImageStore,
  reference: string,
  insecure: readonly string[] = [],
  out: NodeJS.WriteStream = process.stdout,
): Promise<StoredImage> {
  out.write(`Pulling ${reference}\n`);
  const display = new PullDisplay(reference, out);
  const image = await pullImage(store, reference, { insecure, onEvent: display.onEvent });
  display.finish(image);
  return image;
}
