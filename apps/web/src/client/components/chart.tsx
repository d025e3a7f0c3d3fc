'use client';

export interface Series {
  readonly values: readonly number[];
  /** The horizontal line the values are measured against (the limit), if any. */
  readonly limit: number | null;
  readonly format: (value: number) => string;
}

const WIDTH = 480;
const HEIGHT = 120;

/**
 * A small line chart of the last samples against a limit, in SVG: no chart library,
 * and nothing to redraw but one path per sample.
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
  const { values, limit, format } = series;
  const top = Math.max(limit ?? 0, ...values, 1e-9) * 1.1;
  const x = (index: number) => (WIDTH * (index + capacity - values.length)) / (capacity - 1);
  const y = (value: number) => HEIGHT - (HEIGHT * value) / top;
  const path = values
    .map(
      (value, index) => `${index === 0 ? 'M' : 'L'}${x(index).toFixed(1)},${y(value).toFixed(1)}`,
    )
    .join(' ');
  const last = values.at(-1);
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong>{' '}
        <span className="muted">
          {last === undefined ? 'waiting for samples…' : format(last)}
          {limit === null ? ' · no limit' : ` · limit ${format(limit)}`}
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${title} over the last ${capacity} seconds`}
        preserveAspectRatio="none"
      >
        {limit !== null && (
          <line className="chart-limit" x1={0} x2={WIDTH} y1={y(limit)} y2={y(limit)} />
        )}
        {values.length > 1 && <path className="chart-line" d={path} />}
      </svg>
    </figure>
  );
}
