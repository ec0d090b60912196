/*
 * A Grafana dashboard as one self-contained HTML page: its rows and panels on Grafana's 24-column grid, each panel a
 * uPlot time series chart (the library Grafana's own time series panel draws with). uPlot's script and stylesheet are
 * read from node_modules and inlined, so the page needs no network and opens in any browser.
 */
import { readFileSync } from 'node:fs';
import type { GridPos } from './grafana-dashboard';
import { formatValue, type PanelChart } from './panel-data';

export interface DashboardPageSpec {
  title: string;
  /** A line under the title: where the data comes from and which window it shows. */
  subtitle: string;
  /** The time of each value of every series (unix seconds). */
  timestamps: number[];
  /** Grafana rows: section titles across the grid. */
  rows: { title: string; gridPos: GridPos }[];
  charts: PanelChart[];
}

/** Grafana's classic palette, in the order it gives series their colours. */
export const PALETTE = [
  '#73bf69',
  '#f2cc0c',
  '#5794f2',
  '#ff780a',
  '#f2495c',
  '#b877d9',
  '#70dbed',
  '#ff9830',
];

/** Grafana's height of one grid row, in CSS pixels. */
export const GRID_ROW_PX = 30;

/**
 * The CSS grid row of each gridPos `y`: the distinct values in order. Panels keep Grafana's order and columns, and a
 * panel taller than its neighbours makes its whole band taller instead of overlapping the next one.
 */
export function gridRows(ys: number[]): Map<number, number> {
  return new Map([...new Set(ys)].sort((a, b) => a - b).map((y, i) => [y, i + 1]));
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const PAGE_CSS = `
  body { margin: 0; padding: 16px; background: #111217; color: #ccccdc; font: 13px/1.4 "DejaVu Sans", sans-serif; }
  header h1 { margin: 0 0 2px; font-size: 20px; font-weight: 500; }
  header p { margin: 0 0 12px; color: #8e8e9e; }
  #grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); gap: 8px; align-items: start; }
  .row h2 { margin: 8px 0 0; font-size: 15px; font-weight: 500; }
  .panel { position: relative; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px;
    padding: 6px 8px 4px; min-width: 0; }
  .panel h3 { margin: 0 0 4px; font-size: 13px; font-weight: 500; }
  .panel .note { position: absolute; top: 90px; left: 80px; right: 16px; margin: 0; text-align: center;
    color: #f2495c; font-weight: 600; z-index: 1; }
  .uplot { font-family: inherit; width: 100%; }
  .u-legend { font-size: 12px; text-align: left; margin: 0; }
  .u-legend .u-series > * { padding: 1px 4px; }
  .u-legend th { font-weight: 400; }
  .u-legend .u-marker { width: 14px; height: 4px; }
`;

/**
 * Runs in the page: draws every panel with uPlot, then sets body[data-ready]. `formatValue` is the same function the
 * tests check in Node, given to the page by its source.
 */
const PAGE_SCRIPT = `
(() => {
  const formatValue = ${formatValue.toString()};
  const spec = JSON.parse(document.getElementById('dashboard-spec').textContent);
  const palette = ${JSON.stringify(PALETTE)};
  const grid = document.getElementById('grid');
  const axis = { stroke: '#8e8e9e', grid: { stroke: 'rgba(204,204,220,0.08)', width: 1 }, ticks: { show: false } };
  // Grafana's time axis: 24-hour UTC clock, seconds when ticks are closer than a minute, the date past two days.
  const span = spec.timestamps[spec.timestamps.length - 1] - spec.timestamps[0];
  const clock = uPlot.fmtDate(span > 2 * 86400 ? '{MM}-{DD} {HH}:{mm}' : '{HH}:{mm}');
  const clockSeconds = uPlot.fmtDate('{HH}:{mm}:{ss}');
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
  const timeTicks = (_u, splits, _axis, _space, incr) =>
    splits.map((ts) => (incr < 60 ? clockSeconds : clock)(utc(ts)));
  const place = (element, item) => {
    element.style.gridColumn = (item.gridPos.x + 1) + ' / span ' + item.gridPos.w;
    element.style.gridRow = String(item.gridRow);
    grid.append(element);
  };
  for (const row of spec.rows) {
    const element = document.createElement('section');
    element.className = 'row';
    element.innerHTML = '<h2></h2>';
    element.firstChild.textContent = row.title;
    place(element, row);
  }
  for (const chart of spec.charts) {
    const element = document.createElement('section');
    element.className = 'panel';
    element.dataset.panelId = String(chart.id);
    element.innerHTML = '<h3></h3><div class="plot"></div>';
    element.querySelector('h3').textContent = chart.title;
    element.title = chart.description;
    place(element, chart);
    if (chart.note) {
      const note = document.createElement('p');
      note.className = 'note';
      note.textContent = chart.note;
      element.insertBefore(note, element.querySelector('.plot'));
    }
    const plot = element.querySelector('.plot');
    new uPlot(
      {
        width: plot.clientWidth,
        height: Math.max(120, chart.gridPos.h * ${GRID_ROW_PX} - 40),
        tzDate: utc,
        legend: { live: false },
        cursor: { show: false },
        scales: {
          x: { time: true, range: () => [spec.timestamps[0], spec.timestamps[spec.timestamps.length - 1]] },
          y: {
            range: (_u, dataMin, dataMax) => {
              const low = chart.min ?? Math.min(0, dataMin ?? 0);
              let high = chart.max ?? (dataMax ?? 1) + Math.abs(dataMax ?? 1) * 0.05;
              if (!(high > low)) high = low + (Math.abs(low) || 1);
              return [low, high];
            },
          },
        },
        axes: [
          { ...axis, space: 70, values: timeTicks },
          { ...axis, size: 72, values: (_u, splits) => splits.map((v) => formatValue(v, chart.unit)) },
        ],
        series: [
          {},
          ...chart.series.map((series, i) => ({
            label: series.legend,
            stroke: palette[i % palette.length],
            width: 1.5,
            spanGaps: false,
            points: { size: 5, fill: palette[i % palette.length], filter: (_u, _i, show) => (show ? null : series.isolated) },
          })),
        ],
      },
      [spec.timestamps, ...chart.series.map((series) => series.values)],
      plot,
    );
  }
  document.body.dataset.ready = 'true';
})();
`;

/** uPlot's files, inlined so the page opens offline. */
function asset(resolvedPath: string): string {
  return readFileSync(resolvedPath, 'utf8');
}

/** The HTML page of a dashboard; open it in a browser or screenshot it (./screenshot.ts). */
export function dashboardHtml(spec: DashboardPageSpec): string {
  const rowOf = gridRows([...spec.rows, ...spec.charts].map((item) => item.gridPos.y));
  const page = {
    timestamps: spec.timestamps,
    rows: spec.rows.map((row) => ({ ...row, gridRow: rowOf.get(row.gridPos.y) })),
    charts: spec.charts.map((chart) => ({ ...chart, gridRow: rowOf.get(chart.gridPos.y) })),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(spec.title)}</title>
<style>${asset(require.resolve('uplot/dist/uPlot.min.css'))}</style>
<style>${PAGE_CSS}</style>
<script>${asset(require.resolve('uplot/dist/uPlot.iife.min.js'))}</script>
</head>
<body>
<header><h1>${escapeHtml(spec.title)}</h1><p>${escapeHtml(spec.subtitle)}</p></header>
<main id="grid"></main>
<script type="application/json" id="dashboard-spec">${scriptJson(page)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
