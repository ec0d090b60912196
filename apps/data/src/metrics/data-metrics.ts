import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { counter, gauge } from '@sepal/observability';
import { DataMetricsRepository, DataMetricsSnapshot, DataMetricsSource } from './data-metrics.repository';

/** Characters of the version id used as the `version` label (as in the logs and `sepal data versions`). */
export const VERSION_LABEL_LENGTH = 12;

/*
 * The data service's metrics are read from the database when Prometheus scrapes (prom-client's collect hook), so
 * they are right from the first scrape after a start, after imports, commits and feedback through any replica,
 * and need no call from the services. The sources are process-wide like prom-client's registry: in the embedded
 * mode or in tests several data apps may share the process, and a metric is registered once.
 */
const sources = new Set<DataMetricsSource>();
const logger = new Logger('DataMetrics');
/** One database round per scrape, shared by the three metrics' collect hooks. */
const SNAPSHOT_REUSE_MS = 500;
let cached: { at: number; snapshot: Promise<DataMetricsSnapshot> } | null = null;

async function readSnapshot(): Promise<DataMetricsSnapshot> {
  if (cached && Date.now() - cached.at < SNAPSHOT_REUSE_MS) return cached.snapshot;
  const snapshot = Promise.all(
    [...sources].map((source) =>
      source.snapshot().catch((error: unknown) => {
        logger.warn(
          `reading the data metrics failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        return { versions: [], feedback: [] } satisfies DataMetricsSnapshot;
      }),
    ),
  ).then(merge);
  cached = { at: Date.now(), snapshot };
  return snapshot;
}

/** Several sources on the same database report the same numbers: keep one value per label set (the largest). */
function merge(snapshots: DataMetricsSnapshot[]): DataMetricsSnapshot {
  const versions = new Map<string, DataMetricsSnapshot['versions'][number]>();
  const feedback = new Map<string, DataMetricsSnapshot['feedback'][number]>();
  for (const snapshot of snapshots) {
    for (const v of snapshot.versions) {
      const seen = versions.get(v.dataset);
      if (!seen || v.trainRows + v.testRows > seen.trainRows + seen.testRows) versions.set(v.dataset, v);
    }
    for (const f of snapshot.feedback) {
      const seen = feedback.get(f.dataset);
      feedback.set(f.dataset, {
        dataset: f.dataset,
        received: Math.max(f.received, seen?.received ?? 0),
        pending: Math.max(f.pending, seen?.pending ?? 0),
      });
    }
  }
  return { versions: [...versions.values()], feedback: [...feedback.values()] };
}

/** Registers the three metrics (once per process) and returns them. */
export function dataMetrics() {
  return {
    datasetRows: gauge({
      name: 'sepal_dataset_rows',
      help: 'Rows of the latest version of each dataset, by split (version = first 12 characters of its id).',
      labelNames: ['dataset', 'version', 'split'] as const,
      async collect() {
        const { versions } = await readSnapshot();
        this.reset();
        for (const v of versions) {
          const version = v.versionId.slice(0, VERSION_LABEL_LENGTH);
          this.set({ dataset: v.dataset, version, split: 'train' }, v.trainRows);
          this.set({ dataset: v.dataset, version, split: 'test' }, v.testRows);
        }
      },
    }),
    feedbackReceived: counter({
      name: 'sepal_feedback_received_total',
      help: 'Feedback rows (features + true label) stored for each dataset, committed or not.',
      labelNames: ['dataset'] as const,
      async collect() {
        const { feedback } = await readSnapshot();
        // The database holds the running total; restate it rather than count in this process (restarts, replicas).
        this.reset();
        for (const f of feedback) this.inc({ dataset: f.dataset }, f.received);
      },
    }),
    feedbackPending: gauge({
      name: 'sepal_feedback_pending',
      help: 'Feedback rows stored but not yet committed into a dataset version.',
      labelNames: ['dataset'] as const,
      async collect() {
        const { feedback } = await readSnapshot();
        this.reset();
        for (const f of feedback) this.set({ dataset: f.dataset }, f.pending);
      },
    }),
  };
}

/** Adds a source of data metrics (and registers the metrics); call the returned function to remove it. */
export function registerDataMetricsSource(source: DataMetricsSource): () => void {
  dataMetrics();
  sources.add(source);
  cached = null;
  return () => {
    sources.delete(source);
    cached = null;
  };
}

/** Exposes sepal_dataset_rows, sepal_feedback_received_total and sepal_feedback_pending while the app runs. */
@Injectable()
export class DataMetrics implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(private readonly repository: DataMetricsRepository) {}

  onModuleInit(): void {
    this.unregister = registerDataMetricsSource(this.repository);
  }

  onModuleDestroy(): void {
    this.unregister?.();
    this.unregister = null;
  }
}
