/*
 * The part of Grafana's dashboard JSON the screenshots and the monitoring tests read, and Grafana's own variables
 * replaced so that Prometheus can run a panel's expression.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

/** Where a panel sits on Grafana's 24-column grid; `h` in rows of 30 px. */
export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  gridPos?: GridPos;
  datasource?: { type?: string; uid?: string } | null;
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number } };
}

export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: DashboardPanel[];
}

export interface PanelQuery {
  dashboard: string;
  panelId: number | undefined;
  panelTitle: string;
  refId: string;
  expr: string;
  legendFormat: string;
}

/** The dashboards of a folder, by file name. */
export function readDashboards(dir: string): { file: string; dashboard: Dashboard }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Every panel, rows' nested panels included (collapsed rows keep theirs in `panels`). */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** The panels that show data: every panel but rows. */
export function queryPanels(dashboard: Dashboard): DashboardPanel[] {
  return allPanels(dashboard).filter((panel) => panel.type !== 'row');
}

/** Every query panel (rows excluded) and each of its targets' expression (may be empty: tests check that). */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  return queryPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      dashboard: dashboard.title ?? dashboard.uid ?? '?',
      panelId: panel.id,
      panelTitle: panel.title ?? '',
      refId: target.refId ?? '',
      expr: target.expr ?? '',
      legendFormat: target.legendFormat ?? '',
    })),
  );
}

export interface GrafanaVariableValues {
  /** What `$__rate_interval` and `$__interval` stand for, e.g. '1m'. */
  rateInterval: string;
  /** What `$__range` stands for, e.g. '1h'. */
  range: string;
}

/**
 * Replaces Grafana's built-in interval variables by PromQL durations, so Prometheus can run the expression. Any
 * other `$variable` throws: the dashboards define no template variables, so one would be a typo.
 */
export function substituteGrafanaVariables(expr: string, values: GrafanaVariableValues): string {
  const replaced = expr
    .replace(/\$\{?__rate_interval\}?/g, values.rateInterval)
    .replace(/\$\{?__interval\}?/g, values.rateInterval)
    .replace(/\$\{?__range\}?/g, values.range);
  const unknown = /\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/.exec(replaced);
  if (unknown) throw new Error(`unknown Grafana variable ${unknown[0]} in: ${expr}`);
  return replaced;
}
