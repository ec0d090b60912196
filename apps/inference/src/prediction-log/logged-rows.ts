import type { LoggedPrediction } from '@sepal/contracts';
import type { ModelInfo, RunOutput } from '../model/loaded-model';
import type { ModelSignature } from '../predict/model-signature';

/**
 * One scored request waiting in the log's queue: copies of its inputs and outputs (the buffers may be reused once
 * the request is answered), turned into records only when flushed, off the request path.
 */
export interface PendingRows {
  rows: number;
  info: ModelInfo;
  signature: ModelSignature;
  data: Float32Array;
  categorical: string[] | undefined;
  output: RunOutput;
  ids: readonly string[];
  latencyMs: number;
  keyName: string | null;
  at: number;
}

/** Copies what the log needs of a scored request, so later reuse of the request's buffers cannot change it. */
export function pendingRows(
  info: ModelInfo,
  signature: ModelSignature,
  parsed: { rows: number; data: Float32Array; categorical?: string[] },
  output: RunOutput,
  ids: readonly string[],
  latencyMs: number,
  keyName: string | null,
): PendingRows {
  const { rows } = parsed;
  const classes = signature.labels.length;
  return {
    rows,
    info,
    signature,
    data: parsed.data.slice(0, rows * signature.numericCount),
    categorical: parsed.categorical?.slice(0, rows * signature.categoricalCount),
    output: {
      probabilities: output.probabilities.slice(0, rows * classes),
      labels: output.labels.slice(0, rows),
      values: output.values?.slice(0, rows),
    },
    ids,
    latencyMs,
    keyName,
    at: Date.now(),
  };
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** The predictions.logged records of a pending request: inputs by feature name, the class or value answered. */
export function toLoggedPredictions(pending: PendingRows): LoggedPrediction[] {
  const { info, signature, data, categorical, output, rows } = pending;
  const { numericCount, categoricalCount, labels } = signature;
  const at = new Date(pending.at).toISOString();
  const records: LoggedPrediction[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const inputs: Record<string, number | string | null> = {};
    if (signature.columns === null) {
      signature.featureNames.forEach((name, i) => (inputs[name] = finiteOrNull(data[r * numericCount + i])));
    } else {
      for (const column of signature.columns) {
        inputs[column.name] =
          column.type === 'numeric'
            ? finiteOrNull(data[r * numericCount + column.slot])
            : (categorical?.[r * categoricalCount + column.slot] ?? null);
      }
    }
    let result: LoggedPrediction['output'];
    if (output.values) result = { value: output.values[r] };
    else {
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < labels.length; c++)
        probabilities[labels[c]] = output.probabilities[r * labels.length + c];
      result = { class: labels[output.labels[r]], probabilities };
    }
    records[r] = {
      predictionId: pending.ids[r],
      model: info.name,
      version: info.version,
      sha256: info.sha256,
      inputs,
      output: result,
      latencyMs: pending.latencyMs,
      keyName: pending.keyName,
      at,
    };
  }
  return records;
}
