'use client';
import { type PointerEvent, useState } from 'react';

export interface Series {
  readonly values: readonly number[];
  /** The horizontal line the values are measured against (the limit), if any. */
  readonly limit: number | null;
  /** A value in full ("34.2 % of 0.5 CPU"), for the caption and the hover label. */
  readonly format: (value: number) => string;
  /** A value as short as an axis label can be ("50 %", "64 MiB"). */
  readonly tick: (value: number) => string;
}

const WIDTH = 480;

/** The hover label above its sample, kept inside the chart near either edge. */
function valueLabelPlace(fraction: number) {
  const shift = fraction < 0.2 ? '0%' : fraction > 0.8 ? '-100%' : '-50%';
  return { left: `${100 * fraction}%`, transform: `translateX(${shift})` };
}
const HEIGHT = 120;

/**
 * A small line chart of the last samples (one a second) against a limit, in SVG: no chart
 * library, one path per sample. Axis labels are HTML around it (the SVG stretches to its
 * box, text in it would stretch too); hovering shows the value under the pointer.
 */
export function LineChart({
  title,
  series,
  capacity,
}: {
  title: string;
  series: Series;
  capacity: number;
}) {
  const { values, limit, format, tick } = series;
  // Where the pointer is on the time axis (0: the oldest slot): the sample under it changes
  // as samples come in, the place does not.
  const [pointer, setPointer] = useState<number | null>(null);
  const top = Math.max(limit ?? 0, ...values, 1e-9) * 1.1;
  const slot = (index: number) => index + capacity - values.length;
  const x = (index: number) => (WIDTH * slot(index)) / (capacity - 1);
  const y = (value: number) => HEIGHT - (HEIGHT * value) / top;
  const path = values
    .map(
      (value, index) => `${index === 0 ? 'M' : 'L'}${x(index).toFixed(1)},${y(value).toFixed(1)}`,
    )
    .join(' ');
  const last = values.at(-1);
  const hover = (event: PointerEvent<SVGSVGElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    setPointer(Math.round(((event.clientX - box.left) / box.width) * (capacity - 1)));
  };
  const index = pointer === null ? -1 : pointer - (capacity - values.length);
  const hovered = index >= 0 && index < values.length ? index : null;
  const shown = hovered === null ? undefined : values[hovered];
  const secondsAgo = hovered === null ? 0 : values.length - 1 - hovered;
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong>{' '}
        <span className="muted">
          {last === undefined ? 'waiting for samples…' : format(last)}
          {limit === null ? ' · no limit' : ` · limit ${format(limit)}`}
        </span>
      </figcaption>
      <div className="chart-body">
        <div className="chart-y" aria-hidden="true">
          <span>{tick(top)}</span>
          <span>{tick(top / 2)}</span>
          <span>{tick(0)}</span>
        </div>
        <div className="chart-plot">
          <svg
            viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
            role="img"
            aria-label={`${title} over the last ${capacity} seconds`}
            preserveAspectRatio="none"
            onPointerMove={hover}
            onPointerLeave={() => setPointer(null)}
          >
            <line className="chart-grid" x1={0} x2={WIDTH} y1={HEIGHT / 2} y2={HEIGHT / 2} />
            {limit !== null && (
              <line className="chart-limit" x1={0} x2={WIDTH} y1={y(limit)} y2={y(limit)} />
            )}
            {values.length > 1 && <path className="chart-line" d={path} />}
            {hovered !== null && (
              <line className="chart-cursor" x1={x(hovered)} x2={x(hovered)} y1={0} y2={HEIGHT} />
            )}
          </svg>
          {shown !== undefined && hovered !== null && (
            <output className="chart-value" style={valueLabelPlace(slot(hovered) / (capacity - 1))}>
              {format(shown)}
              <span className="muted"> · {secondsAgo === 0 ? 'now' : `${secondsAgo} s ago`}</span>
            </output>
          )}
          <div className="chart-x" aria-hidden="true">
            <span>{Math.round(capacity / 60)} min ago</span>
            <span>now</span>
          </div>
        </div>
      </div>
    </figure>
  );
}
