import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** The alert rules Sepal tests with promtool (test/monitoring), which docker-compose's Prometheus loads. */
export const ALERTS_FILE = 'prometheus/alerts.yml';
/** Their copy for the Prometheus Operator, generated: `npm run kubernetes:generate` rewrites it. */
export const PROMETHEUS_RULE_FILE = 'deploy/kubernetes/base/monitoring/prometheusrule.yaml';

const HEADER = [
  `# GENERATED from ${ALERTS_FILE} by scripts/kubernetes/generate.ts (npm run kubernetes:generate): do not edit.`,
  '# The same alert rules for the Prometheus Operator; test/deployment/kubernetes.test.ts fails when they differ.',
  '',
].join('\n');

/** The PrometheusRule holding the groups of `alertsYaml` unchanged. */
export function renderPrometheusRule(alertsYaml: string): string {
  const { groups } = parse(alertsYaml) as { groups: unknown[] };
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'sepal', labels: { 'app.kubernetes.io/name': 'sepal-alerts' } },
    spec: { groups },
  };
  return HEADER + stringify(rule, { lineWidth: 0 });
}

/** The PrometheusRule as it should be, from the repository at `root`. */
export function expectedPrometheusRule(root: string): string {
  return renderPrometheusRule(readFileSync(join(root, ALERTS_FILE), 'utf8'));
}
