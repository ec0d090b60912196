import { Inject, Injectable } from '@nestjs/common';
import { ANONYMOUS } from '@sepal/http';
import { imageDriftRows } from '@sepal/ml';
import type { PredictionRow, PredictResponse, ServedModelRef } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics, ShadowTally } from '../metrics/inference-metrics.service';
import { LoadedModel, RunOutput } from '../model/loading/loaded-model';
import { ModelManager } from '../model/model-manager.service';
import { ModelSignature } from './model-signature';
import { ParsedRows, parsePredictBody } from './parse-input';
import { predictionIds } from '../prediction-log/prediction-id';
import type { OnnxImageInput } from '@sepal/contracts';
import { ImageInputError } from './images/image-errors';
import type { MultipartLimits } from './images/image-multipart';
import { decodeImages, imageSourcesFromJson, type ImageSource } from './images/image-request';
import { PredictionLog } from '../prediction-log/prediction-log.service';

/** A run's output with the id of each row's prediction. */
export interface ScoredRows extends RunOutput {
  predictionIds: string[];
}

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

/**
 * The compatibility form: a body that is one flat object of named features (no `features`/`instances` envelope),
 * as the classic Iris services take it; it is answered with `class_name` (or `value`) at the top level too.
 */
export function isCompatibilityForm(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  return (
    !Object.prototype.hasOwnProperty.call(body, 'features') &&
    !Object.prototype.hasOwnProperty.call(body, 'instances')
  );
}

/**
 * Scores rows on a served model (the default one, or one by name); the version is held for the request so a swap
 * never cuts it short. With a shadow version, the same rows are scored again off the response path.
 */
@Injectable()
export class PredictService {
  private shadowPending = 0;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly models: ModelManager,
    private readonly metrics: InferenceMetrics,
    private readonly log: PredictionLog,
  ) {}

  /** Holds the version serving this request of `modelName` (default model when omitted) while `work` runs on it. */
  async withModel<T>(work: (model: LoadedModel) => Promise<T>, modelName?: string): Promise<T> {
    const model = this.models.requireModel(modelName);
    try {
      return await work(model);
    } finally {
      model.release();
    }
  }

  /** Holds a given version of a model (loaded on demand) while `work` runs on it. */
  async withVersion<T>(
    modelName: string,
    version: number,
    work: (model: LoadedModel) => Promise<T>,
  ): Promise<T> {
    const model = await this.models.requireVersion(modelName, version);
    try {
      return await work(model);
    } finally {
      model.release();
    }
  }

  /**
   * Runs parsed rows, gives each row a prediction id and records the rows and per-class counts; starts the shadow
   * run, if any, without waiting.
   */
  async score(model: LoadedModel, parsed: ParsedRows, keyName: string = ANONYMOUS.name): Promise<ScoredRows> {
    const started = performance.now();
    const run = await model.infer(parsed.data, parsed.rows, parsed.categorical);
    const output: ScoredRows = {
      probabilities: run.probabilities,
      labels: run.labels,
      values: run.values,
      predictionIds: predictionIds(parsed.rows),
    };
    const latencyMs = performance.now() - started;
    const { info, signature } = model;
    this.log.record({ info, signature, parsed, output, ids: output.predictionIds, latencyMs, keyName });
    // A copy of the rows into the drift window; its PSI is computed off the request path. An image model's rows are
    // its images' mean intensities and predicted classes.
    const image = model.signature.image;
    if (image && model.drift) {
      const perImage = image.height * image.width;
      model.drift.record(
        imageDriftRows(parsed.data, parsed.rows, perImage, image.channels, output.labels),
        parsed.rows,
      );
    } else model.drift?.record(parsed.data, parsed.rows);
    this.metrics.predictionRows.observe(parsed.rows);
    for (let i = 0; i < parsed.rows; i++) model.tally.add(output.labels[i]);
    const shadow = model.signature.task === 'regression' ? null : this.models.shadowOf(model);
    if (shadow) this.shadow(model, shadow.model, shadow.entry.shadowTally, parsed, output);
    return output;
  }

  /** Scores the same rows on the shadow version and tallies the agreement; never throws, never awaited. */
  private shadow(
    served: LoadedModel,
    shadow: LoadedModel,
    tally: ShadowTally | null,
    parsed: ParsedRows,
    output: RunOutput,
  ): void {
    if (this.shadowPending >= this.config.SHADOW_MAX_PENDING) {
      tally?.skip();
      return;
    }
    this.shadowPending++;
    shadow.acquire();
    shadow
      .infer(parsed.data, parsed.rows, parsed.categorical)
      .then(
        (result) =>
          tally?.compare(
            output.labels,
            served.signature.labels,
            result.labels,
            shadow.signature.labels,
            parsed.rows,
          ),
        () => tally?.failed(),
      )
      .catch(() => tally?.failed())
      .finally(() => {
        this.shadowPending--;
        shadow.release();
      });
  }

  /** The image limits of a request (IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS, IMAGE_MAX_PER_REQUEST, MAX_BODY_BYTES). */
  get imageLimits(): MultipartLimits {
    return {
      maxBytes: this.config.IMAGE_MAX_BYTES,
      maxPixels: this.config.IMAGE_MAX_PIXELS,
      maxImages: this.config.IMAGE_MAX_PER_REQUEST,
      maxBodyBytes: this.config.MAX_BODY_BYTES,
    };
  }

  /**
   * Scores uploaded images (multipart/form-data) on an image model; `collect` reads them once the model is known to
   * take images (a table model answers 415 before the upload is read).
   */
  predictUploads(
    collect: (limits: MultipartLimits) => Promise<ImageSource[]>,
    modelName?: string,
    keyName?: string,
  ): Promise<PredictResponse> {
    return this.withModel(async (model) => {
      const image = model.signature.image;
      if (!image) {
        throw ImageInputError.unsupported(
          'body',
          `model '${model.info.name}' takes table rows, not images: send JSON features (Content-Type: application/json)`,
        );
      }
      const sources = await collect(this.imageLimits);
      return this.scoreImages(model, image, sources, sources.length === 1, keyName);
    }, modelName);
  }

  private async scoreImages(
    model: LoadedModel,
    image: OnnxImageInput,
    sources: readonly ImageSource[],
    single: boolean,
    keyName?: string,
  ): Promise<PredictResponse> {
    const parsed = await decodeImages(sources, image, this.imageLimits);
    const output = await this.score(model, parsed, keyName);
    const predictions = toPredictions(model.signature, parsed.rows, output, output.predictionIds);
    const response: PredictResponse = { model: modelRef(model), predictions };
    if (single) addCompatibilityFields(response, predictions[0]);
    return response;
  }

  /** Scores a POST /predict body; `keyName` is the caller's key, for the prediction log. */
  predict(body: unknown, modelName?: string, keyName?: string): Promise<PredictResponse> {
    return this.withModel(async (model) => {
      const image = model.signature.image;
      if (image) {
        const { sources, single } = imageSourcesFromJson(body, image, this.imageLimits);
        return this.scoreImages(model, image, sources, single, keyName);
      }
      const parsed = parsePredictBody(body, model.signature, this.config.MAX_BATCH_ROWS, {
        ignoreUnknown: this.config.PREDICT_UNKNOWN_FEATURES === 'ignore',
      });
      const output = await this.score(model, parsed, keyName);
      const predictions = toPredictions(model.signature, parsed.rows, output, output.predictionIds);
      const response: PredictResponse = { model: modelRef(model), predictions };
      if (isCompatibilityForm(body)) addCompatibilityFields(response, predictions[0]);
      return response;
    }, modelName);
  }
}

/** `class_name` (classification) or `value` (regression) of the only row, at the top level of the answer. */
export function addCompatibilityFields(response: PredictResponse, row: PredictionRow): void {
  const value = (row as { value?: unknown }).value;
  if (typeof value === 'number') response.value = value;
  else if ('class' in row) response.class_name = row.class;
  response.predictionId = row.predictionId;
}

export function toPredictions(
  signature: ModelSignature,
  rows: number,
  output: RunOutput,
  ids: readonly string[],
): PredictionRow[] {
  // A regressor answers {"predictionId": "…", "value": 5.87} per row.
  if (output.values) {
    const values = output.values;
    return Array.from({ length: rows }, (_, i) => ({ predictionId: ids[i], value: values[i] }));
  }
  const { labels } = signature;
  const classes = labels.length;
  const predictions: PredictionRow[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < classes; c++) probabilities[labels[c]] = output.probabilities[i * classes + c];
    const classIndex = output.labels[i];
    predictions[i] = { predictionId: ids[i], class: labels[classIndex], classIndex, probabilities };
  }
  return predictions;
}
