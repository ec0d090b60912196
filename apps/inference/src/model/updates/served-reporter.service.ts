import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ModelServed } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import type { ModelInfo } from '../loading/loaded-model';
import { ServedPublisher } from './served-publisher.service';

interface Report {
  event: ModelServed;
  messageId: string;
}

/**
 * Announces each version this replica starts serving (model.served with INFERENCE_REPLICA_ID), so that the registry
 * completes the `served` step of the job that produced it. It never stands in the way of serving: report() returns
 * at once and the publication runs on its own. A failed one is logged and counted, and the version is announced
 * again (same message id and time) by retryUnannounced() while it is still the one served.
 */
@Injectable()
export class ServedReporter {
  private readonly logger = new Logger('ServedReporter');
  /** The last version swapped in: only it is worth announcing again. */
  private latest: Report | null = null;
  /** The latest version when its publication failed, until it is sent again. */
  private unannounced: Report | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly publisher: ServedPublisher,
    private readonly metrics: InferenceMetrics,
  ) {}

  /** `model` is served from now on; publishes model.served in the background. */
  report(model: ModelInfo): void {
    const report: Report = {
      event: {
        modelName: model.name,
        version: model.version,
        sha256: model.sha256,
        replica: this.config.INFERENCE_REPLICA_ID,
        at: new Date().toISOString(),
      },
      messageId: randomUUID(),
    };
    this.latest = report;
    this.unannounced = null;
    this.send(report);
  }

  /** Sends the served version's model.served again if its publication failed (called at each champion check). */
  retryUnannounced(): void {
    if (this.unannounced && this.unannounced === this.latest) this.send(this.unannounced);
  }

  /** Resolves once every publication under way has ended (succeeded or failed). */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private send(report: Report): void {
    if (this.unannounced === report) this.unannounced = null;
    const { modelName, version, replica } = report.event;
    const run = Promise.resolve()
      .then(() => this.publisher.publish(report.event, report.messageId))
      .then(
        () => {
          this.metrics.servedReport('success');
          this.logger.log(`model.served ${modelName} v${version} by ${replica} published`);
        },
        (error: unknown) => {
          this.metrics.servedReport('failure');
          if (report === this.latest) this.unannounced = report;
          this.logger.warn(
            `model.served ${modelName} v${version} could not be published (${error instanceof Error ? error.message : String(error)}); ` +
              `the model is served all the same. ${this.retryHint()}`,
          );
        },
      )
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private retryHint(): string {
    return this.config.MODEL_SYNC_INTERVAL_MS > 0
      ? `It is sent again at the next champion check (MODEL_SYNC_INTERVAL_MS=${this.config.MODEL_SYNC_INTERVAL_MS}) or on POST /admin/reload.`
      : 'POST /admin/reload sends it again once the broker is reachable (MODEL_SYNC_INTERVAL_MS=0: no periodic retry).';
  }
}
