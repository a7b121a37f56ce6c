// A small SVG chart: lines over time or stacked bars per day, with axes, a legend and a
// hover read-out. Drawn at the container's real width so text is never stretched.
import type { RefObject } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatDay } from '../format.js';

interface Point {
  /** Milliseconds since the epoch (or any increasing number). */
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
  color?: string;
}

interface ChartProps {
  kind: 'line' | 'bar';
  series: Series[];
  /** What the chart shows, for screen readers and the empty message. */
  label: string;
  height?: number;
  yFormat?: (v: number) => string;
  xFormat?: (x: number) => string;
  /** Values are bytes: ticks fall on round binary units. */
  bytes?: boolean;
}

const PALETTE = ['#2563a8', '#e07b1a', '#2f9e6e', '#b8458f', '#7a5bc7', '#c9a227', '#3aa3b5', '#8a6d5a'];

const M = { top: 12, right: 16, bottom: 26, left: 68 };

/**
 * Round steps (1, 2, 2.5, 5 × 10ⁿ) from 0 to at least `max`; with `binary`, round in
 * the KiB/MiB/GiB unit the values are shown in, so the axis reads 100 GiB, not 107 GB.
 */
function niceTicks(max: number, count = 4, binary = false): number[] {
  if (!(max > 0)) return [0, 1];
  if (binary) {
    let unit = 1;
    while (max / unit >= 1024) unit *= 1024;
    return niceTicks(max / unit, count).map((t) => t * unit);
  }
  const rough = max / count;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * pow >= rough) ?? 10) * pow;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.001; v += step) ticks.push(v);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth || 640);
    const ro = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w && w > 0) setWidth(Math.round(w));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function Chart(props: ChartProps) {
  const { kind, label } = props;
  const height = props.height ?? 220;
  const yFormat = props.yFormat ?? ((v: number) => String(v));
  const xFormat = props.xFormat ?? formatDay;
  const [ref, width] = useWidth();
  const [hover, setHover] = useState<number | undefined>();
  const series = useMemo(() => props.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! })), [props.series]);

  const xs = useMemo(() => [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b), [series]);
  // Per series, its value at each x (missing = 0 for bars, a gap for lines).
  const values = useMemo(() => series.map((s) => new Map(s.points.map((p) => [p.x, p.y]))), [series]);

  if (xs.length === 0) {
    return (
      <div class="chart" ref={ref}>
        <p class="empty">No data for {label.toLowerCase()} in this period.</p>
      </div>
    );
  }

  const innerW = Math.max(50, width - M.left - M.right);
  const innerH = height - M.top - M.bottom;
  const maxY =
    kind === 'bar'
      ? Math.max(...xs.map((x) => values.reduce((sum, v) => sum + (v.get(x) ?? 0), 0)))
      : Math.max(...series.flatMap((s) => s.points.map((p) => p.y)));
  const ticks = niceTicks(maxY, 4, props.bytes);
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => M.top + innerH - (v / top) * innerH;

  // Bars sit in equal bands; lines use a linear time axis.
  const band = innerW / xs.length;
  const minX = xs[0]!;
  const maxX = xs[xs.length - 1]!;
  const x = (v: number, i: number) =>
    kind === 'bar' ? M.left + band * i + band / 2 : M.left + (maxX === minX ? innerW / 2 : ((v - minX) / (maxX - minX)) * innerW);

  const labelEvery = Math.max(1, Math.ceil(xs.length / Math.max(2, Math.floor(innerW / 70))));

  const onMove = (e: MouseEvent) => {
    const rect = (e.currentTarget as SVGElement).getBoundingClientRect();
    const px = e.clientX - rect.left;
    let best = 0;
    let bestD = Infinity;
    xs.forEach((v, i) => {
      const d = Math.abs(x(v, i) - px);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    });
    setHover(best);
  };

  const hx = hover === undefined ? undefined : xs[hover];
  return (
    <div class="chart" ref={ref}>
      {series.length > 1 && (
        <ul class="legend">
          {series.map((s) => (
            <li key={s.name}>
              <span class="swatch" style={{ background: s.color }} />
              {s.name}
            </li>
          ))}
        </ul>
      )}
      <svg width={width} height={height} role="img" aria-label={label} onMouseMove={onMove} onMouseLeave={() => setHover(undefined)}>
        <title>{label}</title>
        {ticks.map((t) => (
          <g key={t} class="tick">
            <line x1={M.left} x2={M.left + innerW} y1={y(t)} y2={y(t)} class="grid" />
            <text x={M.left - 8} y={y(t)} dy="0.32em" text-anchor="end">
              {yFormat(t)}
            </text>
          </g>
        ))}
        {xs.map((v, i) =>
          i % labelEvery === 0 ? (
            <text key={v} class="xlabel" x={x(v, i)} y={height - 8} text-anchor="middle">
              {xFormat(v)}
            </text>
          ) : null,
        )}
        {kind === 'bar'
          ? xs.map((v, i) => {
              let base = 0;
              const w = Math.max(2, Math.min(40, band * 0.7));
              return (
                <g key={v}>
                  {series.map((s, si) => {
                    const val = values[si]!.get(v) ?? 0;
                    if (val <= 0) return null;
                    const y0 = y(base);
                    base += val;
                    const y1 = y(base);
                    return <rect key={s.name} x={x(v, i) - w / 2} y={y1} width={w} height={Math.max(1, y0 - y1)} fill={s.color} />;
                  })}
                </g>
              );
            })
          : series.map((s, si) => {
              const vals = values[si]!;
              const pts = xs.map((v, i) => (vals.has(v) ? `${x(v, i).toFixed(1)},${y(vals.get(v)!).toFixed(1)}` : null));
              const d = pts.reduce<string>((acc, p, i) => (p === null ? acc : `${acc}${acc === '' || pts[i - 1] === null ? 'M' : 'L'}${p}`), '');
              return (
                <g key={s.name}>
                  <path d={d} fill="none" stroke={s.color} stroke-width={2} stroke-linejoin="round" />
                  {xs.length <= 40 && xs.map((v, i) => (vals.has(v) ? <circle key={v} cx={x(v, i)} cy={y(vals.get(v)!)} r={2.5} fill={s.color} /> : null))}
                </g>
              );
            })}
        <line x1={M.left} x2={M.left + innerW} y1={y(0)} y2={y(0)} class="axis" />
        {hover !== undefined && hx !== undefined && <line class="guide" x1={x(hx, hover)} x2={x(hx, hover)} y1={M.top} y2={M.top + innerH} />}
      </svg>
      {hover !== undefined && hx !== undefined && (
        <div class="chart-tip" style={{ left: `${Math.min(width - 180, Math.max(0, x(hx, hover) + 10))}px`, top: `${M.top + (series.length > 1 ? 28 : 0)}px` }}>
          <strong>{xFormat(hx)}</strong>
          {series.map((s, si) => (
            <div key={s.name}>
              <span class="swatch" style={{ background: s.color }} />
              {s.name}: {values[si]!.has(hx) ? yFormat(values[si]!.get(hx)!) : '—'}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
