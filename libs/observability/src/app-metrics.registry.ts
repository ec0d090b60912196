import { Injectable } from '@nestjs/common';
import { Metric, register, Registry } from 'prom-client';
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

  /** What `/metrics` answers: this app's metrics and the process's, in Prometheus' text format. */
  exposition(): Promise<string> {
    return Registry.merge([register, this]).metrics();
  }
}
