/*
 * A Grafana panel and the Prometheus answers to its targets, turned into what a chart draws: series aligned on the
 * time grid of the range query, legends as Grafana writes them, values in the panel's unit. Pure: no I/O.
 */
import type { DashboardPanel, GridPos } from './grafana-dashboard';
import type { PromSeries } from './prometheus-query';

/** The window of a range query: unix seconds, both ends included, one sample every `step` seconds. */
export interface TimeRange {
  start: number;
  end: number;
  step: number;
}

/** One line of a chart: a value (or null: no sample, or not a finite number) at each time of the grid. */
export interface ChartSeries {
  name: string;
  values: (number | null)[];
  /** Legend text: the name and the last value in the panel's unit. */
  legend: string;
  /** Indices of samples without a neighbour: a line cannot show them, so the chart draws them as points. */
  isolated: number[];
}

export interface PanelChart {
  id: number | undefined;
  title: string;
  description: string;
  unit: string | undefined;
  min: number | undefined;
  max: number | undefined;
  gridPos: GridPos;
  series: ChartSeries[];
  /** Each target Prometheus refused, as `refId: message`. */
  errors: string[];
  /** Said over the chart when it has nothing to draw or a query failed. */
  note: string | undefined;
}

/** What Prometheus answered to one target of a panel: its series, or why it refused. */
export interface TargetResult {
  refId: string;
  legendFormat: string;
  series?: PromSeries[];
  error?: string;
}

/** Grafana's legend: `{{label}}` replaced by the series' label value; no format gives `name{label="value", ...}`. */
export function formatLegend(format: string, labels: Record<string, string>): string {
  if (!format) {
    const inner = Object.entries(labels)
      .filter(([name]) => name !== '__name__')
      .map(([name, value]) => `${name}="${value}"`)
      .join(', ');
    return `${labels.__name__ ?? ''}{${inner}}`;
  }
  return format.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
}

/**
 * A value in the panel's unit (the common Grafana ones). Self-contained on purpose: the dashboard page runs this very
 * function (its source) to label the chart's axis.
 */
export function formatValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  const short = (v: number): string => {
    const abs = Math.abs(v);
    if (abs >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
    if (abs >= 1e3) return `${(v / 1e3).toPrecision(3)}K`;
    if (abs === 0) return '0';
    return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toPrecision(3) : v.toPrecision(2);
  };
  switch (unit) {
    case 'percentunit':
      return `${short(value * 100)}%`;
    case 's':
      return Math.abs(value) >= 1 || value === 0 ? `${short(value)} s` : `${short(value * 1000)} ms`;
    case 'reqps':
      return `${short(value)} req/s`;
    default:
      return short(value);
  }
}

/** The times a range query answers at: start, start + step, ... up to end. */
export function timeGrid(range: TimeRange): number[] {
  if (!(range.step > 0) || range.end < range.start) {
    throw new Error(`not a time range: start ${range.start}, end ${range.end}, step ${range.step}`);
  }
  const count = Math.floor((range.end - range.start) / range.step) + 1;
  return Array.from({ length: count }, (_, i) => range.start + i * range.step);
}

/** A series' samples placed on the grid of `range`: null where Prometheus left a step out or the value is NaN/Inf. */
export function alignOnGrid(samples: [number, string][], range: TimeRange): (number | null)[] {
  const values: (number | null)[] = timeGrid(range).map(() => null);
  for (const [time, text] of samples) {
    const index = Math.round((time - range.start) / range.step);
    const value = Number(text);
    if (index >= 0 && index < values.length && Number.isFinite(value)) values[index] = value;
  }
  return values;
}

/** Indices of values whose neighbours on both sides are missing. */
export function isolatedPoints(values: (number | null)[]): number[] {
  return values.flatMap((value, i) =>
    value !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null ? [i] : [],
  );
}

function lastValue(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

/** What a chart of `panel` shows, from the answers to its targets (in the panel's target order). */
export function panelChart(panel: DashboardPanel, results: TargetResult[], range: TimeRange): PanelChart {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const series = results.flatMap((result) =>
    (result.series ?? []).map((promSeries): ChartSeries => {
      const name = formatLegend(result.legendFormat, promSeries.metric);
      const values = alignOnGrid(promSeries.values, range);
      const last = lastValue(values);
      return {
        name,
        values,
        legend: last === null ? name : `${name}  (last ${formatValue(last, defaults.unit)})`,
        isolated: isolatedPoints(values),
      };
    }),
  );
  const errors = results.filter((r) => r.error !== undefined).map((r) => `${r.refId || '?'}: ${r.error}`);
  return {
    id: panel.id,
    title: panel.title ?? '',
    description: panel.description ?? '',
    unit: defaults.unit,
    min: defaults.min,
    max: defaults.max,
    gridPos: panel.gridPos ?? { x: 0, y: 0, w: 24, h: 8 },
    series,
    errors,
    note: errors.length ? `Query failed: ${errors.join('; ')}` : series.length ? undefined : 'No data',
  };
}
