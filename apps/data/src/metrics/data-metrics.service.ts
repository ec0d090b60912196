import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppMetricsRegistry, counter, gauge } from '@sepal/observability';
import { DataMetricsRepository, DataMetricsSnapshot, DataMetricsSource } from './data-metrics.repository';

/** Characters of the version id used as the `version` label (as in the logs and `sepal data versions`). */
export const VERSION_LABEL_LENGTH = 12;

const NOTHING: DataMetricsSnapshot = { versions: [], feedback: [] };

/**
 * sepal_dataset_rows, sepal_feedback_received_total and sepal_feedback_pending, read from the database when
 * Prometheus scrapes (prom-client's collect hook), so they are right from the first scrape after a start, after
 * imports, commits and feedback through any replica, and need no call from the services. Registered with the app's
 * AppMetricsRegistry: each data app reports its own database.
 */
@Injectable()
export class DataMetrics {
  private readonly logger = new Logger(DataMetrics.name);
  /** The snapshot being read: the three metrics of one scrape share one database round. */
  private reading: Promise<DataMetricsSnapshot> | null = null;

  readonly datasetRows = gauge({
    name: 'sepal_dataset_rows',
    help: 'Rows of the latest version of each dataset, by split (version = first 12 characters of its id).',
    labelNames: ['dataset', 'version', 'split'] as const,
    collect: async () => {
      const { versions } = await this.snapshot();
      this.datasetRows.reset();
      for (const v of versions) {
        const version = v.versionId.slice(0, VERSION_LABEL_LENGTH);
        this.datasetRows.set({ dataset: v.dataset, version, split: 'train' }, v.trainRows);
        this.datasetRows.set({ dataset: v.dataset, version, split: 'test' }, v.testRows);
      }
    },
  });
  readonly feedbackReceived = counter({
    name: 'sepal_feedback_received_total',
    help: 'Feedback rows (features + true label) stored for each dataset, committed or not.',
    labelNames: ['dataset'] as const,
    collect: async () => {
      const { feedback } = await this.snapshot();
      // The database holds the running total; restate it rather than count in this process (restarts, replicas).
      this.feedbackReceived.reset();
      for (const f of feedback) this.feedbackReceived.inc({ dataset: f.dataset }, f.received);
    },
  });
  readonly feedbackPending = gauge({
    name: 'sepal_feedback_pending',
    help: 'Feedback rows stored but not yet committed into a dataset version.',
    labelNames: ['dataset'] as const,
    collect: async () => {
      const { feedback } = await this.snapshot();
      this.feedbackPending.reset();
      for (const f of feedback) this.feedbackPending.set({ dataset: f.dataset }, f.pending);
    },
  });

  constructor(
    @Inject(DataMetricsRepository) private readonly source: DataMetricsSource,
    registry: AppMetricsRegistry,
  ) {
    registry.addMetricsOf(this);
  }

  /** The source's figures, read once for the collect hooks that ask while a read is under way. */
  private snapshot(): Promise<DataMetricsSnapshot> {
    this.reading ??= this.source
      .snapshot()
      .catch((error: unknown) => {
        this.logger.warn(
          `reading the data metrics failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        return NOTHING;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}
