import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppMetricsRegistry, counter, gauge, histogram } from '@sepal/observability';
import type { DriftMonitor } from '../drift/drift-monitor';
import type { ClassTally, ModelInfo, RunObserver } from '../model/loading/loaded-model';
import type { ServedModel } from '../model/catalog/served-model';
import { ModelRequests, modelRequestHistogram } from './model-requests';
import { ShadowCounters, ShadowTally } from './shadow-tally';

export { ModelRequests } from './model-requests';
export { ShadowTally } from './shadow-tally';

export type ReloadResult = 'success' | 'failure' | 'skipped';
export type ServedReportResult = 'success' | 'failure';

/**
 * Per-class prediction counts of one served model, tallied in a typed array on the hot path and added to
 * sepal_predictions_total when Prometheus scrapes (prom-client's collect hook), so a prediction costs one increment.
 */
export class PredictionTally implements ClassTally {
  private readonly counts: Float64Array;

  constructor(
    readonly model: string,
    readonly version: string,
    private readonly classes: readonly string[],
    /** The artifact's size: sepal_loaded_model_bytes. */
    readonly bytes: number = 0,
  ) {
    this.counts = new Float64Array(classes.length);
  }

  add(classIndex: number): void {
    this.counts[classIndex]++;
  }

  flush(target: Counter<'model' | 'version' | 'class'>): void {
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] > 0) {
        target.inc({ model: this.model, version: this.version, class: this.classes[i] }, this.counts[i]);
        this.counts[i] = 0;
      }
    }
  }
}

const INFERENCE_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
const ROW_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

/**
 * The gateway's Prometheus metrics and the tallies they are read from at scrape time, registered with the app's
 * AppMetricsRegistry (its `/metrics`): one instance per gateway, no state outside it.
 */
@Injectable()
export class InferenceMetrics implements RunObserver, ShadowCounters {
  /** Per-model request tallies, one per model name (the gateway's entries: registered or listed models only). */
  private readonly modelRequestTallies = new Map<string, ModelRequests>();
  /** One per open ONNX session (created with the session, dropped when it is released): the loaded versions. */
  private readonly tallies = new Set<PredictionTally>();
  private readonly shadowTallies = new Map<string, ShadowTally>();
  private catalog: (() => Iterable<ServedModel>) | null = null;
  /** Drift monitors of the models loaded in this gateway (the current one, and one still loading). */
  private readonly driftMonitors = new Set<DriftMonitor>();

  readonly predictions = counter({
    name: 'sepal_predictions_total',
    help: 'Rows scored, by model, version and predicted class.',
    labelNames: ['model', 'version', 'class'] as const,
    collect: () => {
      for (const tally of this.tallies) tally.flush(this.predictions);
    },
  });
  readonly inferenceDuration = histogram({
    name: 'sepal_inference_duration_seconds',
    help: 'Time of one ONNX Runtime run (one request, or several coalesced ones), by model and version.',
    labelNames: ['model', 'version'] as const,
    buckets: INFERENCE_BUCKETS,
  });
  readonly modelRequests = counter({
    name: 'sepal_model_requests_total',
    help: 'Prediction requests (POST /predict, /predict/{model}, /v2/models/{name}[/versions/{v}]/infer) of a served model, by status class (2xx, 4xx, 5xx). Requests naming a model this gateway does not serve are not counted here (see http_requests_total).',
    labelNames: ['model', 'code'] as const,
    collect: () => {
      for (const requests of this.modelRequestTallies.values()) requests.flush(this.modelRequests);
    },
  });
  readonly loadedModels = gauge({
    name: 'sepal_loaded_models',
    help: 'Model versions loaded in this gateway (champions, canary and shadow versions, versions loaded on demand, and retired ones still finishing requests).',
    collect: () => {
      this.loadedModels.set(this.tallies.size);
    },
  });
  readonly stackedVersions = gauge({
    name: 'sepal_stacked_versions',
    help: 'Loaded model versions scored through a stack: one ONNX run serves the requests of several models of one architecture (PREDICT_STACKING).',
  });
  readonly loadedBytes = gauge({
    name: 'sepal_loaded_model_bytes',
    help: 'Size of the ONNX artifact of each loaded model version.',
    labelNames: ['model', 'version'] as const,
    collect: () => {
      this.loadedBytes.reset();
      for (const tally of this.tallies)
        this.loadedBytes.inc({ model: tally.model, version: tally.version }, tally.bytes);
    },
  });
  readonly unloads = counter({
    name: 'sepal_model_unloads_total',
    help: 'Versions loaded on demand that were unloaded to stay within MAX_LOADED_MODELS (least recently used first).',
  });
  readonly trafficWeight = gauge({
    name: 'sepal_model_traffic_weight',
    help: "Share of a model's requests (percent) each version receives; the champion has 100 without a split.",
    labelNames: ['model', 'version'] as const,
    collect: () => {
      if (!this.catalog) return;
      const weights = this.trafficWeight;
      weights.reset();
      for (const entry of this.catalog()) {
        const champion = entry.champion.model;
        if (entry.split === null) {
          if (champion) weights.set({ model: entry.name, version: String(champion.info.version) }, 100);
          continue;
        }
        let from = 0;
        for (const part of entry.split) {
          weights.set({ model: entry.name, version: String(part.version) }, part.upTo - from);
          from = part.upTo;
        }
      }
    },
  });
  readonly shadowRows = counter({
    name: 'sepal_shadow_rows_total',
    help: 'Rows scored by a shadow version (off the response path), by model and shadow version.',
    labelNames: ['model', 'version'] as const,
    collect: () => {
      for (const tally of this.shadowTallies.values()) tally.flush(this);
    },
  });
  readonly shadowDisagreements = counter({
    name: 'sepal_shadow_disagreements_total',
    help: 'Rows where the shadow version predicted another class than the version that served them, by class pair.',
    labelNames: ['model', 'version', 'served_class', 'shadow_class'] as const,
  });
  readonly shadowFailures = counter({
    name: 'sepal_shadow_failures_total',
    help: 'Shadow runs that failed (the served answers were not affected).',
    labelNames: ['model', 'version'] as const,
  });
  readonly shadowSkipped = counter({
    name: 'sepal_shadow_skipped_total',
    help: 'Requests not shadowed because SHADOW_MAX_PENDING shadow runs were already waiting.',
    labelNames: ['model', 'version'] as const,
  });
  readonly shadowAgreement = gauge({
    name: 'sepal_shadow_agreement_ratio',
    help: 'Share of the rows scored by a shadow version where it predicted the same class as the served version.',
    labelNames: ['model', 'version'] as const,
    collect: () => {
      this.shadowAgreement.reset();
      for (const tally of this.shadowTallies.values()) {
        tally.flush(this);
        if (tally.rows > 0)
          this.shadowAgreement.set(
            { model: tally.model, version: tally.version },
            tally.agreements / tally.rows,
          );
      }
    },
  });
  readonly predictionRows = histogram({
    name: 'sepal_prediction_rows',
    help: 'Rows per prediction request.',
    buckets: ROW_BUCKETS,
  });
  readonly modelInfo = gauge({
    name: 'sepal_model_info',
    help: 'The model version served: 1 for the current one.',
    labelNames: ['model', 'version', 'sha256'] as const,
  });
  readonly featureDrift = gauge({
    name: 'sepal_feature_drift_psi',
    help: 'Population stability index of each feature over the last scored rows against the training split (< 0.1 stable, 0.1-0.2 moderate, > 0.2 significant).',
    labelNames: ['model', 'version', 'feature'] as const,
    collect: () => {
      this.featureDrift.reset();
      for (const monitor of this.driftMonitors) {
        const psi = monitor.evaluate();
        if (!psi) continue;
        const version = String(monitor.version);
        for (const { name, psi: value } of psi)
          this.featureDrift.set({ model: monitor.model, version, feature: name }, value);
      }
    },
  });
  readonly reloads = counter({
    name: 'sepal_model_reloads_total',
    help: 'Model loads by result: success (swapped in), failure (old model kept), skipped (older or same version).',
    labelNames: ['result'] as const,
  });
  readonly servedReports = counter({
    name: 'sepal_model_served_reports_total',
    help: 'model.served publications by result: success (the broker confirmed it), failure (logged; retried at the next champion check).',
    labelNames: ['result'] as const,
  });

  constructor(readonly registry: AppMetricsRegistry = new AppMetricsRegistry()) {
    registry.addMetricsOf(this);
    registry.registerMetric(modelRequestHistogram(() => this.modelRequestTallies.values()));
    for (const result of ['success', 'failure', 'skipped'] as const) this.reloads.inc({ result }, 0);
    for (const result of ['success', 'failure'] as const) this.servedReports.inc({ result }, 0);
  }

  /** A histogram child per model version (a label lookup once per version, not per run). */
  private readonly durations = new WeakMap<ModelInfo, { observe(value: number): void }>();

  onRun(seconds: number, _rows: number, info: ModelInfo): void {
    let child = this.durations.get(info);
    if (!child) {
      child = this.inferenceDuration.labels({ model: info.name, version: String(info.version) });
      this.durations.set(info, child);
    }
    child.observe(seconds);
  }

  /**
   * The request tally of a served model, created with its entry: its series exist from the next scrape (every status
   * class at 0), so rates and error ratios exist before the first request or error.
   */
  requestsOf(model: string): ModelRequests {
    let requests = this.modelRequestTallies.get(model);
    if (!requests) {
      requests = new ModelRequests(model);
      this.modelRequestTallies.set(model, requests);
    }
    return requests;
  }

  /** Reports the models in the catalog (traffic weights) when Prometheus scrapes. */
  watchCatalog(models: () => Iterable<ServedModel>): void {
    this.catalog = models;
  }

  unloaded(): void {
    this.unloads.inc();
  }

  /** Starts a shadow agreement tally for a model's shadow version (one per model; a new shadow replaces it). */
  shadowTally(model: string, version: number): ShadowTally {
    const existing = this.shadowTallies.get(model);
    existing?.flush(this);
    const tally = new ShadowTally(model, String(version));
    this.shadowTallies.set(model, tally);
    return tally;
  }

  /** A model has no shadow any more: its tally is flushed and no longer reported. */
  dropShadow(model: string): void {
    this.shadowTallies.get(model)?.flush(this);
    this.shadowTallies.delete(model);
  }

  tally(info: ModelInfo, classes: readonly string[]): PredictionTally {
    const tally = new PredictionTally(info.name, String(info.version), classes, info.size);
    this.tallies.add(tally);
    return tally;
  }

  /** Flushes a retired model's counts into the counter and forgets it. */
  dropTally(tally: ClassTally): void {
    if (!(tally instanceof PredictionTally)) return;
    tally.flush(this.predictions);
    this.tallies.delete(tally);
  }

  /** Reports a model's drift monitor in sepal_feature_drift_psi until unwatchDrift. */
  watchDrift(monitor: DriftMonitor): void {
    this.driftMonitors.add(monitor);
  }

  unwatchDrift(monitor: DriftMonitor): void {
    this.driftMonitors.delete(monitor);
  }

  served(current: ModelInfo, previous: ModelInfo | null): void {
    if (previous) {
      this.modelInfo.remove({
        model: previous.name,
        version: String(previous.version),
        sha256: previous.sha256,
      });
    }
    this.modelInfo.set({ model: current.name, version: String(current.version), sha256: current.sha256 }, 1);
  }

  reload(result: ReloadResult): void {
    this.reloads.inc({ result });
  }

  servedReport(result: ServedReportResult): void {
    this.servedReports.inc({ result });
  }
}
