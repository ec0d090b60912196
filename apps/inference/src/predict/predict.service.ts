import { Inject, Injectable } from '@nestjs/common';
import type { PredictionRow, PredictResponse, ServedModelRef } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics';
import { LoadedModel, RunOutput } from '../model/loaded-model';
import { ModelManager } from '../model/model-manager.service';
import { ModelSignature } from './model-signature';
import { ParsedRows, parsePredictBody } from './parse-input';

const refs = new WeakMap<LoadedModel, ServedModelRef>();

function modelRef(model: LoadedModel): ServedModelRef {
  let ref = refs.get(model);
  if (!ref) {
    const { name, version, sha256, runId, datasetVersion } = model.info;
    ref = { name, version, sha256, runId, datasetVersion };
    refs.set(model, ref);
  }
  return ref;
}

/** Scores rows on the served model; the model is held for the request so a swap never cuts it short. */
@Injectable()
export class PredictService {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly models: ModelManager,
    private readonly metrics: InferenceMetrics,
  ) {}

  /** Holds the served model while `work` runs on it. */
  async withModel<T>(work: (model: LoadedModel) => Promise<T>): Promise<T> {
    const model = this.models.requireModel();
    try {
      return await work(model);
    } finally {
      model.release();
    }
  }

  /** Runs parsed rows and records the rows and per-class counts. */
  async score(model: LoadedModel, parsed: ParsedRows): Promise<RunOutput> {
    const output = await model.infer(parsed.data, parsed.rows, parsed.categorical);
    // A copy of the rows into the drift window; its PSI is computed off the request path.
    model.drift?.record(parsed.data, parsed.rows);
    this.metrics.predictionRows.observe(parsed.rows);
    for (let i = 0; i < parsed.rows; i++) model.tally.add(output.labels[i]);
    return output;
  }

  predict(body: unknown): Promise<PredictResponse> {
    return this.withModel(async (model) => {
      const parsed = parsePredictBody(body, model.signature, this.config.MAX_BATCH_ROWS);
      const output = await this.score(model, parsed);
      return { model: modelRef(model), predictions: toPredictions(model.signature, parsed.rows, output) };
    });
  }
}

export function toPredictions(signature: ModelSignature, rows: number, output: RunOutput): PredictionRow[] {
  // A regressor answers {"value": 5.87} per row.
  if (output.values) return Array.from(output.values.subarray(0, rows), (value) => ({ value }));
  const { labels } = signature;
  const classes = labels.length;
  const predictions: PredictionRow[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < classes; c++) probabilities[labels[c]] = output.probabilities[i * classes + c];
    const classIndex = output.labels[i];
    predictions[i] = { class: labels[classIndex], classIndex, probabilities };
  }
  return predictions;
}
