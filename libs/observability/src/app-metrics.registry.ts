import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Metric, register, Registry, Summary } from 'prom-client';
import { HttpTally, registerHttpTally } from './http-metrics';

/**
 * The metrics one app owns (its HTTP tally, and what its injectables register), kept in their state rather than in
 * module variables: `/metrics` serves them beside the process's own in prom-client's default registry (Node.js's
 * metrics). Two apps in one process (`npm start`), or two gateways in one test, each report their own.
 */
@Injectable()
export class AppMetricsRegistry extends Registry {
  /** The app's HTTP answers (http_requests_total, http_request_duration_seconds). */
  readonly http: HttpTally = registerHttpTally(this);

  /** Registers metrics an injectable of the app owns (made by `counter`, `gauge` and `histogram`). */
  add(...metrics: Metric<string>[]): void {
    for (const metric of metrics) this.registerMetric(metric);
  }

  /**
   * Registers every metric held in a field of `owner` (an injectable whose fields are made by `counter`, `gauge` and
   * `histogram`): a metric field added later is served without a list to keep in step.
   */
  addMetricsOf(owner: object): void {
    this.add(...Object.values(owner).filter(isMetric));
  }

  /** What `/metrics` answers: this app's metrics and the process's, in Prometheus' text format. */
  exposition(): Promise<string> {
    return Registry.merge([register, this]).metrics();
  }
}

function isMetric(value: unknown): value is Metric<string> {
  return (
    value instanceof Counter ||
    value instanceof Gauge ||
    value instanceof Histogram ||
    value instanceof Summary
  );
}
