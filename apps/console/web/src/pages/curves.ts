import { api, enc } from '../api';
import type { LineSeries } from '../charts';

export interface MetricPoint {
  value: number;
  step: number;
}

/** Per-step histories of a run's metrics (only those with more than one step are curves). */
export async function curves(runId: string, keys: string[]): Promise<Record<string, MetricPoint[]>> {
  const entries = await Promise.all(
    keys
      .slice(0, 12)
      .map(
        async (key) =>
          [key, await api<MetricPoint[]>('registry', `/runs/${enc(runId)}/metrics/${enc(key)}`)] as const,
      ),
  );
  return Object.fromEntries(entries.filter(([, points]) => points.length > 1));
}

export const toSeries = (label: string, points: MetricPoint[]): LineSeries => ({
  label,
  points: points.map((p) => ({ x: p.step, y: p.value })),
});
