import type { Counter } from 'prom-client';

/** The counters a ShadowTally adds to when Prometheus scrapes (InferenceMetrics' shadow counters). */
export interface ShadowCounters {
  shadowRows: Counter<'model' | 'version'>;
  shadowFailures: Counter<'model' | 'version'>;
  shadowSkipped: Counter<'model' | 'version'>;
  shadowDisagreements: Counter<'model' | 'version' | 'served_class' | 'shadow_class'>;
}

/**
 * How often a shadow version agrees with the version that served the same rows, tallied off the response path and
 * added to the counters when Prometheus scrapes.
 */
export class ShadowTally {
  rows = 0;
  agreements = 0;
  failures = 0;
  skipped = 0;
  /** Rows counted since the last scrape, and disagreements by "served\0shadow" class pair. */
  private pendingRows = 0;
  private pendingAgreements = 0;
  private pendingFailures = 0;
  private pendingSkipped = 0;
  private readonly pairs = new Map<string, number>();

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** Compares the classes of `rows` rows as served and as the shadow scored them. */
  compare(
    servedLabels: Int32Array,
    servedClasses: readonly string[],
    shadowLabels: Int32Array,
    shadowClasses: readonly string[],
    rows: number,
  ): void {
    for (let i = 0; i < rows; i++) {
      const served = servedClasses[servedLabels[i]];
      const shadow = shadowClasses[shadowLabels[i]];
      if (served === shadow) this.pendingAgreements++;
      else {
        const key = `${served}\0${shadow}`;
        this.pairs.set(key, (this.pairs.get(key) ?? 0) + 1);
      }
    }
    this.pendingRows += rows;
  }

  failed(): void {
    this.pendingFailures++;
  }

  skip(): void {
    this.pendingSkipped++;
  }

  flush(metrics: ShadowCounters): void {
    const labels = { model: this.model, version: this.version };
    this.rows += this.pendingRows;
    this.agreements += this.pendingAgreements;
    this.failures += this.pendingFailures;
    this.skipped += this.pendingSkipped;
    metrics.shadowRows.inc(labels, this.pendingRows);
    metrics.shadowFailures.inc(labels, this.pendingFailures);
    metrics.shadowSkipped.inc(labels, this.pendingSkipped);
    for (const [key, count] of this.pairs) {
      const [served, shadow] = key.split('\0');
      metrics.shadowDisagreements.inc({ ...labels, served_class: served, shadow_class: shadow }, count);
    }
    this.pairs.clear();
    this.pendingRows = this.pendingAgreements = this.pendingFailures = this.pendingSkipped = 0;
  }
}
