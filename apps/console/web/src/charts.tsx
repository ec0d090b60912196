import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = [
  '#1f5fa8',
  '#c2410c',
  '#15803d',
  '#7e22ce',
  '#b91c1c',
  '#0e7490',
  '#a16207',
  '#be185d',
  '#4d7c0f',
  '#334155',
];

export interface LineSeries {
  label: string;
  /** y by x (x: epoch or time); series may cover different x values. */
  points: { x: number; y: number }[];
}

/** Aligns series of different x values on one x axis (gaps where a series has no point). */
function align(series: LineSeries[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = series.map((s) => {
    const byX = new Map(s.points.map((p) => [p.x, p.y]));
    return xs.map((x) => byX.get(x) ?? null);
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

function useUPlot(make: (el: HTMLDivElement, width: number) => uPlot, deps: unknown[]) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const plot = make(el, Math.max(240, el.clientWidth || 480));
    const observer = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(240, el.clientWidth), height: plot.height }),
    );
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, deps);
  return ref;
}

/** Curves (e.g. per-epoch loss of several runs) with uPlot. */
export function LineChart({
  title,
  series,
  xLabel,
  height = 240,
  time = false,
}: {
  title: string;
  series: LineSeries[];
  xLabel: string;
  height?: number;
  time?: boolean;
}) {
  const key = JSON.stringify(series);
  const ref = useUPlot(
    (el, width) =>
      new uPlot(
        {
          width,
          height,
          scales: { x: { time } },
          axes: [{ label: xLabel }, {}],
          series: [
            { label: xLabel },
            ...series.map((s, i) => ({
              label: s.label,
              stroke: PALETTE[i % PALETTE.length],
              width: 2,
              spanGaps: true,
            })),
          ],
          legend: { show: true },
        },
        align(series),
        el,
      ),
    [key, height, xLabel],
  );
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(', ')}`} />
    </figure>
  );
}

/** Bars (class probabilities, predictions per class) with uPlot's bar path builder. */
export function BarChart({
  title,
  labels,
  values,
  height = 200,
  max,
}: {
  title: string;
  labels: string[];
  values: number[];
  height?: number;
  max?: number;
}) {
  const key = JSON.stringify([labels, values, max]);
  const ref = useUPlot(
    (el, width) =>
      new uPlot(
        {
          width,
          height,
          scales: {
            x: { time: false, range: [-0.5, labels.length - 0.5] },
            y: { range: [0, max ?? Math.max(1, ...values) * 1.1] },
          },
          axes: [
            {
              values: (_u, splits) => splits.map((v) => labels[v] ?? ''),
              splits: () => labels.map((_, i) => i),
            },
            {},
          ],
          series: [
            {},
            {
              label: title,
              fill: '#1f5fa8cc',
              stroke: '#1f5fa8',
              paths: uPlot.paths.bars!({ size: [0.6, 80] }),
              points: { show: false },
            },
          ],
          legend: { show: false },
          cursor: { show: false },
        },
        [labels.map((_, i) => i), values],
        el,
      ),
    [key, height],
  );
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={ref}
        role="img"
        aria-label={`${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`}
      />
    </figure>
  );
}

/** Two bar series side by side per bin (a feature's reference and live distributions), with uPlot's bar paths. */
export function PairedBarChart({
  title,
  labels,
  series,
  height = 180,
}: {
  title: string;
  labels: string[];
  series: [{ label: string; values: number[] }, { label: string; values: (number | null)[] }];
  height?: number;
}) {
  const key = JSON.stringify([labels, series]);
  const top = Math.max(0.05, ...series.flatMap((s) => s.values.map((v) => v ?? 0))) * 1.1;
  const ref = useUPlot(
    (el, width) =>
      new uPlot(
        {
          width,
          height,
          scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: [0, top] } },
          axes: [
            {
              values: (_u, splits) => splits.map((v) => labels[v] ?? ''),
              splits: () => labels.map((_, i) => i),
            },
            { values: (_u, splits) => splits.map((v) => `${Math.round(v * 100)}%`) },
          ],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              fill: `${PALETTE[i]}cc`,
              stroke: PALETTE[i],
              paths: uPlot.paths.bars!({ size: [0.4, 40], align: i === 0 ? -1 : 1 }),
              points: { show: false },
            })),
          ],
          legend: { show: true },
          cursor: { show: false },
        },
        [labels.map((_, i) => i), ...series.map((s) => s.values)] as uPlot.AlignedData,
        el,
      ),
    [key, height],
  );
  const describe = (s: { label: string; values: (number | null)[] }) =>
    `${s.label}: ${labels.map((l, i) => `${l} ${s.values[i] === null ? 'none' : `${Math.round(s.values[i]! * 100)}%`}`).join(', ')}`;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title}. ${series.map(describe).join('. ')}`} />
    </figure>
  );
}
