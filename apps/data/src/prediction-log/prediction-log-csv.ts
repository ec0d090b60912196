import type { PredictionLogEntry } from '@sepal/contracts';

const needsQuotes = /[",\n\r]/;
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The log as CSV: one line per prediction, its input features as columns (the union over the rows, in first-seen
 * order), then the prediction (class or value) and the label once one arrived, so it reads as training data.
 */
export function* predictionLogCsv(entries: readonly PredictionLogEntry[]): Generator<string> {
  const features: string[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (Array.isArray(entry.inputs)) continue;
    for (const name of Object.keys(entry.inputs))
      if (!seen.has(name)) {
        seen.add(name);
        features.push(name);
      }
  }
  const head = ['prediction_id', 'at', 'model', 'version', 'sha256', 'key_name', 'latency_ms'];
  yield [...head, ...features, 'prediction', 'label'].map(field).join(',') + '\n';
  for (const entry of entries) {
    const inputs = entry.inputs as Record<string, unknown>;
    const prediction = 'class' in entry.output ? entry.output.class : entry.output.value;
    const cells = [
      entry.predictionId,
      entry.at,
      entry.model,
      entry.version,
      entry.sha256,
      entry.keyName,
      entry.latencyMs,
      ...features.map((name) => (Array.isArray(inputs) ? null : inputs[name])),
      prediction,
      entry.label,
    ];
    yield cells.map(field).join(',') + '\n';
  }
}
