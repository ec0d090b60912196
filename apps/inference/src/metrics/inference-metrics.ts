import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { counter, gauge, histogram } from '@sepal/observability';
import type { DriftMonitor } from '../drift/drift-monitor';
import type { ClassTally, ModelInfo, RunObserver } from '../model/loaded-model';

export type ReloadResult = 'success' | 'failure' | 'skipped';
export type ServedReportResult = 'success' | 'failure';

/**
 * Per-class prediction counts of one served model, tallied in a typed array on the hot path and added to
 * sepal_predictions_total when Prometheus scrapes (prom-client's collect hook), so a prediction costs one increment.
 */
export class PredictionTally implements ClassTally {
  private readonly counts: Float64Array;

  constructor(
    private readonly model: string,
    private readonly version: string,
    private readonly classes: readonly string[],
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

const tallies = new Set<PredictionTally>();
/** Drift monitors of the models loaded in this process (the current one, and one still loading). */
const driftMonitors = new Set<DriftMonitor>();

const INFERENCE_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
const ROW_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

/** The gateway's Prometheus metrics (process-wide, like prom-client's registry). */
@Injectable()
export class InferenceMetrics implements RunObserver {
  readonly predictions = counter({
    name: 'sepal_predictions_total',
    help: 'Rows scored, by model, version and predicted class.',
    labelNames: ['model', 'version', 'class'] as const,
    collect() {
      for (const tally of tallies) tally.flush(this);
    },
  });
  readonly inferenceDuration = histogram({
    name: 'sepal_inference_duration_seconds',
    help: 'Time of one ONNX Runtime run (one request, or several coalesced ones).',
    buckets: INFERENCE_BUCKETS,
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
    collect() {
      this.reset();
      for (const monitor of driftMonitors) {
        const psi = monitor.evaluate();
        if (!psi) continue;
        const version = String(monitor.version);
        for (const { name, psi: value } of psi)
          this.set({ model: monitor.model, version, feature: name }, value);
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

  constructor() {
    for (const result of ['success', 'failure', 'skipped'] as const) this.reloads.inc({ result }, 0);
    for (const result of ['success', 'failure'] as const) this.servedReports.inc({ result }, 0);
  }

  onRun(seconds: number): void {
    this.inferenceDuration.observe(seconds);
  }

  tally(info: ModelInfo, classes: readonly string[]): PredictionTally {
    const tally = new PredictionTally(info.name, String(info.version), classes);
    tallies.add(tally);
    return tally;
  }

  /** Flushes a retired model's counts into the counter and forgets it. */
  dropTally(tally: ClassTally): void {
    if (!(tally instanceof PredictionTally)) return;
    tally.flush(this.predictions);
    tallies.delete(tally);
  }

  /** Reports a model's drift monitor in sepal_feature_drift_psi until unwatchDrift. */
  watchDrift(monitor: DriftMonitor): void {
    driftMonitors.add(monitor);
  }

  unwatchDrift(monitor: DriftMonitor): void {
    driftMonitors.delete(monitor);
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
