/*
 * `npm run kubernetes:generate`: rewrites the Kubernetes files generated from other sources of the repository, after
 * one of those changed (test/deployment/kubernetes.test.ts fails until then):
 *   deploy/kubernetes/base/monitoring/prometheusrule.yaml   from prometheus/alerts.yml
 * (The Grafana dashboards need no step: grafana/kustomization.yaml generates their ConfigMap from the JSON files.)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { expectedPrometheusRule, PROMETHEUS_RULE_FILE } from './prometheus-rule';

async function main(): Promise<void> {
  // npm runs scripts from the repository's root.
  const file = join(process.cwd(), PROMETHEUS_RULE_FILE);
  const options = { ...(await resolveConfig(file)), filepath: file };
  await writeFile(file, await format(expectedPrometheusRule(process.cwd()), options));
  process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
