/*
 * `npm run dashboards:screenshot`: draws every panel of grafana/dashboards/*.json as a PNG line chart from a real
 * Prometheus (PROMETHEUS_URL, default http://127.0.0.1:9090), so one can see what Grafana will show without it.
 *
 *   PROMETHEUS_URL   Prometheus to query                   (default http://127.0.0.1:9090)
 *   DASHBOARDS_DIR   folder of dashboard JSON files        (default grafana/dashboards)
 *   OUT_DIR          where the PNGs go (git-ignored)       (default dashboards-out)
 *   RANGE            how far back from now, e.g. 30m, 6h   (default 1h)
 *   RATE_INTERVAL    what $__rate_interval stands for      (default 1m)
 *
 * Pure Node: a 5x7 bitmap font, a line rasteriser and a PNG encoder on node:zlib; no browser, no npm package.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { allPanels, readDashboards, substituteGrafanaVariables } from './dashboards/grafana-dashboard';
import { parseDuration, PrometheusHttp } from './dashboards/prometheus-query';

/** Grafana's legend: `{{label}}` replaced by the series' label value. */
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

// ---------------------------------------------------------------- a tiny raster canvas

/** 5x7 glyphs, one number per row, bit 4 = leftmost column. Lowercase letters are drawn as capitals. */
const FONT: Record<string, number[]> = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ',': [0, 0, 0, 0, 12, 4, 8],
  ':': [0, 12, 12, 0, 12, 12, 0],
  ';': [0, 12, 12, 0, 12, 4, 8],
  '-': [0, 0, 0, 31, 0, 0, 0],
  _: [0, 0, 0, 0, 0, 0, 31],
  '/': [0, 1, 2, 4, 8, 16, 0],
  '\\': [0, 16, 8, 4, 2, 1, 0],
  '%': [24, 25, 2, 4, 8, 19, 3],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  '[': [14, 8, 8, 8, 8, 8, 14],
  ']': [14, 2, 2, 2, 2, 2, 14],
  '{': [6, 4, 4, 8, 4, 4, 6],
  '}': [12, 4, 4, 2, 4, 4, 12],
  '=': [0, 0, 31, 0, 31, 0, 0],
  '<': [2, 4, 8, 16, 8, 4, 2],
  '>': [8, 4, 2, 1, 2, 4, 8],
  '+': [0, 4, 4, 31, 4, 4, 0],
  '*': [0, 4, 21, 14, 21, 4, 0],
  "'": [12, 4, 8, 0, 0, 0, 0],
  '"': [10, 10, 0, 0, 0, 0, 0],
  '!': [4, 4, 4, 4, 4, 0, 4],
  '?': [14, 17, 1, 2, 4, 0, 4],
  '#': [10, 10, 31, 10, 31, 10, 10],
  '&': [12, 18, 20, 8, 21, 18, 13],
  '|': [4, 4, 4, 4, 4, 4, 4],
  '~': [0, 0, 8, 21, 2, 0, 0],
  '@': [14, 17, 1, 13, 21, 21, 14],
  $: [4, 15, 20, 14, 5, 30, 4],
  '^': [4, 10, 17, 0, 0, 0, 0],
};
const GLYPH_ADVANCE = 6;

type Rgb = readonly [number, number, number];

class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  set(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.pixels.set(color, (py * this.width + px) * 3);
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, color);
  }

  /** Bresenham, `thickness` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    let [x, y] = [Math.round(x0), Math.round(y0)];
    const [xe, ye] = [Math.round(x1), Math.round(y1)];
    const dx = Math.abs(xe - x);
    const dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1;
    const sy = y < ye ? 1 : -1;
    let error = dx + dy;
    for (;;) {
      if (thickness > 1) this.rect(x, y - 1, 2, 2, color);
      else this.set(x, y, color);
      if (x === xe && y === ye) return;
      const e2 = 2 * error;
      if (e2 >= dy) {
        error += dy;
        x += sx;
      }
      if (e2 <= dx) {
        error += dx;
        y += sy;
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y); returns the width drawn. */
  text(x: number, y: number, text: string, color: Rgb, maxWidth = Infinity): number {
    let cx = x;
    for (const char of text) {
      if (cx - x + GLYPH_ADVANCE > maxWidth) break;
      const glyph = FONT[char] ?? FONT[char.toUpperCase()] ?? FONT['?'];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 5; col++) if (bits & (16 >> col)) this.set(cx + col, y + row, color);
      });
      cx += GLYPH_ADVANCE;
    }
    return cx - x;
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      const offset = y * (this.width * 3 + 1);
      raw[offset] = 0; // filter: none
      Buffer.from(this.pixels.buffer, y * this.width * 3, this.width * 3).copy(raw, offset + 1);
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', header),
      pngChunk('IDAT', deflateSync(raw)),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// ---------------------------------------------------------------- charts

const PALETTE: Rgb[] = [
  [115, 191, 105],
  [242, 204, 12],
  [87, 148, 242],
  [255, 120, 10],
  [242, 73, 92],
  [184, 119, 217],
  [112, 219, 237],
  [255, 152, 48],
];
const BACKGROUND: Rgb = [24, 27, 31];
const GRID: Rgb = [50, 54, 60];
const TEXT: Rgb = [204, 204, 220];
const MUTED: Rgb = [140, 140, 155];

export interface ChartSeries {
  name: string;
  points: [number, number][];
}

/** Formats an axis value in the panel's unit (the common Grafana ones). */
export function formatValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  const short = (v: number) => {
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

function clock(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}:${String(d.getUTCSeconds()).padStart(2, '0')}`;
}

/** A Grafana-like time series chart of one panel, as PNG bytes. */
export function renderChart(options: {
  title: string;
  unit?: string;
  min?: number;
  max?: number;
  start: number;
  end: number;
  series: ChartSeries[];
  /** Consecutive points further apart than this are not joined. */
  gapSeconds: number;
  note?: string;
}): Buffer {
  const width = 900;
  const legendRows = Math.min(options.series.length, 10);
  const height = 300 + legendRows * 12;
  const canvas = new Canvas(width, height, BACKGROUND);
  canvas.text(10, 8, options.title, TEXT, width - 20);
  const plot = { left: 80, top: 28, right: width - 16, bottom: 260 };

  const values = options.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let low = options.min ?? (values.length ? Math.min(...values) : 0);
  let high = options.max ?? (values.length ? Math.max(...values) : 1);
  if (options.min === undefined && low > 0) low = 0;
  if (high <= low) high = low + (Math.abs(low) || 1);
  const x = (t: number) =>
    plot.left + ((t - options.start) / Math.max(options.end - options.start, 1)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - ((v - low) / (high - low)) * (plot.bottom - plot.top);

  for (let i = 0; i <= 4; i++) {
    const v = low + ((high - low) * i) / 4;
    canvas.line(plot.left, y(v), plot.right, y(v), GRID);
    const label = formatValue(v, options.unit);
    canvas.text(plot.left - 6 - label.length * GLYPH_ADVANCE, y(v) - 3, label, MUTED);
  }
  for (let i = 0; i <= 4; i++) {
    const t = options.start + ((options.end - options.start) * i) / 4;
    canvas.line(x(t), plot.top, x(t), plot.bottom, GRID);
    const label = clock(t);
    const labelWidth = label.length * GLYPH_ADVANCE;
    canvas.text(Math.min(x(t) - labelWidth / 2, width - labelWidth - 4), plot.bottom + 6, label, MUTED);
  }
  canvas.text(plot.right - 18, plot.bottom + 18, 'UTC', MUTED);

  options.series.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length];
    let previous: { t: number; x: number; y: number } | null = null;
    for (const [t, v] of series.points) {
      if (!Number.isFinite(v)) {
        previous = null;
        continue;
      }
      const point = { t, x: x(t), y: y(v) };
      // Prometheus leaves out the steps without data: do not bridge such a gap.
      if (previous && t - previous.t <= options.gapSeconds)
        canvas.line(previous.x, previous.y, point.x, point.y, color, 2);
      else canvas.rect(point.x - 1, point.y - 1, 3, 3, color);
      previous = point;
    }
    if (index < legendRows) {
      const ly = plot.bottom + 32 + index * 12;
      canvas.rect(plot.left, ly, 8, 7, color);
      const last = [...series.points].reverse().find(([, v]) => Number.isFinite(v));
      const label = `${series.name}${last ? `  (last ${formatValue(last[1], options.unit)})` : ''}`;
      canvas.text(plot.left + 14, ly, label, TEXT, plot.right - plot.left - 14);
    }
  });
  if (options.series.length > legendRows) {
    canvas.text(plot.left, height - 10, `... and ${options.series.length - legendRows} more series`, MUTED);
  }
  if (options.note)
    canvas.text(plot.left + 10, plot.top + 10, options.note, [242, 73, 92], plot.right - plot.left - 20);
  return canvas.png();
}

// ---------------------------------------------------------------- the command

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'panel'
  );
}

export interface RenderOptions {
  prometheusUrl: string;
  dashboardsDir: string;
  outDir: string;
  rangeSeconds: number;
  rateInterval: string;
  now?: number;
  log?: (line: string) => void;
}

/** Renders every query panel of every dashboard; returns the files written and the panels whose query failed. */
export async function renderDashboards(
  options: RenderOptions,
): Promise<{ files: string[]; failures: string[] }> {
  const prometheus = new PrometheusHttp(options.prometheusUrl);
  const end = options.now ?? Math.floor(Date.now() / 1000);
  const start = end - options.rangeSeconds;
  const step = Math.max(1, Math.round(options.rangeSeconds / 300));
  const log = options.log ?? ((line: string) => console.log(line));
  const files: string[] = [];
  const failures: string[] = [];
  for (const { file, dashboard } of readDashboards(options.dashboardsDir)) {
    const folder = join(options.outDir, file.replace(/\.json$/, ''));
    mkdirSync(folder, { recursive: true });
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      const series: ChartSeries[] = [];
      const problems: string[] = [];
      for (const target of panel.targets ?? []) {
        try {
          const expr = substituteGrafanaVariables(target.expr ?? '', {
            rateInterval: options.rateInterval,
            range: `${options.rangeSeconds}s`,
          });
          const result = await prometheus.queryRange(expr, start, end, step);
          for (const s of result) {
            series.push({
              name: formatLegend(target.legendFormat ?? '', s.metric),
              points: s.values.map(([t, v]) => [t, Number(v)]),
            });
          }
        } catch (error) {
          problems.push(`${target.refId ?? '?'}: ${(error as Error).message}`);
        }
      }
      const defaults = panel.fieldConfig?.defaults ?? {};
      const png = renderChart({
        title: panel.title ?? '',
        unit: defaults.unit,
        min: defaults.min,
        max: defaults.max,
        start,
        end,
        series,
        gapSeconds: step * 2.5,
        note: problems.length
          ? `QUERY FAILED: ${problems.join('; ')}`
          : series.length
            ? undefined
            : 'NO DATA',
      });
      const path = join(folder, `${String(panel.id ?? 0).padStart(2, '0')}-${slug(panel.title ?? '')}.png`);
      writeFileSync(path, png);
      files.push(path);
      if (problems.length)
        failures.push(`${file} panel ${panel.id} "${panel.title}": ${problems.join('; ')}`);
      log(`${path}  ${series.length} series${problems.length ? `  FAILED: ${problems.join('; ')}` : ''}`);
    }
  }
  return { files, failures };
}

async function main(): Promise<void> {
  const env = process.env;
  const prometheusUrl = env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
  const ready = await fetch(`${prometheusUrl.replace(/\/+$/, '')}/-/ready`).then(
    (response) => response.ok,
    () => false,
  );
  if (!ready) {
    throw new Error(
      `Prometheus at ${prometheusUrl} does not answer: start it (docker compose up -d prometheus) or set PROMETHEUS_URL.`,
    );
  }
  const { files, failures } = await renderDashboards({
    prometheusUrl,
    dashboardsDir: env.DASHBOARDS_DIR ?? 'grafana/dashboards',
    outDir: env.OUT_DIR ?? 'dashboards-out',
    rangeSeconds: parseDuration(env.RANGE ?? '1h'),
    rateInterval: env.RATE_INTERVAL ?? '1m',
  });
  console.log(
    `${files.length} panel image(s) written${failures.length ? `, ${failures.length} failed` : ''}.`,
  );
  if (failures.length) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
