import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConsoleConfig, ConsoleConfigValues } from '../console.config';
import { parsePrometheusText } from './prometheus-text';
import { summariseTraffic, toTrafficSample, TrafficSample, TrafficView } from './traffic';

const KEPT = new Set([
  'sepal_predictions_total',
  'sepal_model_info',
  'http_requests_total',
  'http_request_duration_seconds_bucket',
]);

/**
 * Samples the gateway's /metrics every CONSOLE_METRICS_INTERVAL_MS and keeps CONSOLE_METRICS_WINDOW_MS of it, so the
 * overview shows traffic without a Prometheus (the embedded mode has none).
 */
@Injectable()
export class MetricsSampler implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('MetricsSampler');
  private readonly samples: TrafficSample[] = [];
  private timer?: NodeJS.Timeout;
  private lastError: string | null = null;
  private inFlight = false;

  constructor(@Inject(ConsoleConfig) private readonly config: ConsoleConfigValues) {}

  onModuleInit(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.config.CONSOLE_METRICS_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One scrape of the gateway; a failure is kept to be shown, never thrown. */
  async sample(now = Date.now()): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const response = await fetch(`${this.config.INFERENCE_URL}/metrics`, {
        signal: AbortSignal.timeout(Math.min(this.config.CONSOLE_METRICS_INTERVAL_MS, 10_000)),
      });
      if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
      const text = await response.text();
      this.samples.push(
        toTrafficSample(
          now,
          parsePrometheusText(text, (name) => KEPT.has(name)),
        ),
      );
      const oldest = now - this.config.CONSOLE_METRICS_WINDOW_MS;
      while (this.samples.length > 2 && this.samples[1].at <= oldest) this.samples.shift();
      if (this.lastError) this.logger.log('the gateway metrics answer again');
      this.lastError = null;
    } catch (error) {
      const message = `cannot read the gateway's metrics at ${this.config.INFERENCE_URL}/metrics (${(error as Error).message})`;
      if (message !== this.lastError) this.logger.warn(message);
      this.lastError = message;
    } finally {
      this.inFlight = false;
    }
  }

  view(): TrafficView {
    return {
      available: this.samples.length > 0,
      error: this.lastError,
      ...summariseTraffic(this.samples),
    };
  }
}
