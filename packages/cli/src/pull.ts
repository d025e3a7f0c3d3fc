import {
  familiarName,
  type ImageStore,
  type PullEvent,
  PullProgress,
  pullImage,
  type StoredImage,
} from '@tocker/images';
import { describeLayer, shortDigest } from '@tocker/protocol/vocabulary';

/**
 * docker pull's display: a line per layer. On a terminal the lines are redrawn as bytes
 * arrive (at most every 100 ms); elsewhere only each layer's end is printed.
 */
class PullDisplay {
  private readonly progress = new PullProgress();
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
    const changed = this.progress.apply(event);
    if (this.live) this.draw(changed);
    else if (event.kind === 'layer-done') this.out.write(`${this.line(event.digest)}\n`);
  };

  private line(digest: string): string {
    const layer = this.progress.state.find((each) => each.digest === digest);
    return `${shortDigest(digest)}: ${layer === undefined ? '' : describeLayer(layer)}`;
  }

  private draw(now: boolean): void {
    if (!now && Date.now() - this.lastDraw < 100) return;
    this.lastDraw = Date.now();
    const text = this.progress.state.map((layer) => `${this.line(layer.digest)}\x1b[K`);
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
