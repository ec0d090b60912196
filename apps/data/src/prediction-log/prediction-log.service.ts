import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { LiveQualityView, LoggedPrediction, PredictionLogEntry } from '@sepal/contracts';
import { AppMetricsRegistry, gauge } from '@sepal/observability';
import { DataConfig, DataConfigValues } from '../data.config';
import { liveQuality } from './live-quality';
import { LogFilter, PredictionLogRepository } from './prediction-log.repository';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The prediction log's owner: stores predictions.logged batches, joins labels by prediction id, deletes days past
 * PREDICTION_LOG_RETENTION_DAYS, and exports live quality per model version over the sliding window
 * (sepal_live_quality{model,version,metric}, sepal_live_labelled_rows, and the version's test figure beside it in
 * sepal_live_quality_test_figure for the alert rule).
 */
@Injectable()
export class PredictionLogService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PredictionLog');
  private timers: NodeJS.Timeout[] = [];
  private readonly quality = gauge<'model' | 'version' | 'metric'>({
    name: 'sepal_live_quality',
    help: 'Live quality of a model version over the labelled predictions of the window (accuracy, macro_f1, rmse, mae).',
    labelNames: ['model', 'version', 'metric'],
  });
  private readonly labelled = gauge<'model' | 'version'>({
    name: 'sepal_live_labelled_rows',
    help: 'Labelled predictions of a model version in the live quality window.',
    labelNames: ['model', 'version'],
  });
  private readonly testFigure = gauge<'model' | 'version' | 'metric'>({
    name: 'sepal_live_quality_test_figure',
    help: "The model version's registered test figure for each live quality metric (what the alert compares with).",
    labelNames: ['model', 'version', 'metric'],
  });

  constructor(
    private readonly repository: PredictionLogRepository,
    @Inject(DataConfig) private readonly config: DataConfigValues,
    registry: AppMetricsRegistry,
  ) {
    registry.addMetricsOf(this);
  }

  onModuleInit(): void {
    const every = (ms: number, work: () => Promise<unknown>, what: string) => {
      const timer = setInterval(
        () => void work().catch((error) => this.logger.warn(`${what} failed: ${(error as Error).message}`)),
        ms,
      );
      timer.unref();
      this.timers.push(timer);
    };
    every(this.config.PREDICTION_QUALITY_INTERVAL_MS, () => this.refreshQuality(), 'live quality');
    every(HOUR_MS, () => this.applyRetention(), 'prediction log retention');
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  store(records: readonly LoggedPrediction[]): Promise<number> {
    return this.repository.insert(records);
  }

  /** Joins a label to a prediction by id: a class name, or a regressor's true value. */
  label(predictionId: string, label: string | number): Promise<void> {
    return this.repository.label(predictionId, String(label), typeof label === 'number' ? label : null);
  }

  list(filter: LogFilter): Promise<PredictionLogEntry[]> {
    return this.repository.list(filter);
  }

  /** Deletes the days older than the retention. */
  async applyRetention(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.config.PREDICTION_LOG_RETENTION_DAYS * DAY_MS)
      .toISOString()
      .slice(0, 10);
    return this.repository.deleteBefore(cutoff);
  }

  /** Live quality of a model's versions over the window now, each metric beside its test figure. */
  async liveQuality(model: string, version?: number, now = Date.now()): Promise<LiveQualityView> {
    const windowMinutes = this.config.PREDICTION_QUALITY_WINDOW_MINUTES;
    const since = new Date(now - windowMinutes * 60_000);
    const [confusion, errors, figures] = await Promise.all([
      this.repository.confusion(since, model),
      this.repository.errors(since, model),
      this.repository.testFigures(since, model),
    ]);
    const versions = new Map<number, LiveQualityView['versions'][number]>();
    for (const row of liveQuality(confusion, errors)) {
      if (version !== undefined && row.version !== version) continue;
      const entry = versions.get(row.version) ?? {
        version: row.version,
        labelled: row.labelled,
        metrics: [],
      };
      const test = figures.find((f) => f.version === row.version)?.figures[`test_${row.metric}`];
      entry.metrics.push({
        metric: row.metric,
        value: row.value,
        test: typeof test === 'number' && Number.isFinite(test) ? test : null,
      });
      versions.set(row.version, entry);
    }
    return { model, windowMinutes, versions: [...versions.values()].sort((a, b) => a.version - b.version) };
  }

  /** Recomputes the live quality gauges over the window. */
  async refreshQuality(now = Date.now()): Promise<void> {
    const since = new Date(now - this.config.PREDICTION_QUALITY_WINDOW_MINUTES * 60_000);
    const [confusion, errors, figures] = await Promise.all([
      this.repository.confusion(since),
      this.repository.errors(since),
      this.repository.testFigures(since),
    ]);
    const rows = liveQuality(confusion, errors);
    this.quality.reset();
    this.labelled.reset();
    this.testFigure.reset();
    for (const row of rows) {
      const version = String(row.version);
      this.quality.labels(row.model, version, row.metric).set(row.value);
      this.labelled.labels(row.model, version).set(row.labelled);
    }
    for (const { model, version, figures: values } of figures) {
      for (const metric of ['accuracy', 'macro_f1', 'rmse', 'mae']) {
        const value = values[`test_${metric}`];
        if (Number.isFinite(value)) this.testFigure.labels(model, String(version), metric).set(value);
      }
    }
  }
}
