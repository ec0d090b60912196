import { Controller, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { ModelManager } from '../model-manager.service';

export const MODEL_PROMOTED_QUEUE = 'inference.model-promoted';
export const MODEL_TRAFFIC_QUEUE = 'inference.model-traffic';

/**
 * model.promoted on this replica's own exclusive, auto-delete queue (broadcast), so every replica hears it. The event
 * is news, not an instruction: it names the model whose champion and split the manager re-reads from the registry;
 * its version, SHA-256, artifact URL and time decide nothing. A failed load is counted and logged and the message
 * acked: retrying a broadcast would not help the other replicas.
 */
@Controller()
export class ModelPromotedConsumer {
  private readonly logger = new Logger('ModelPromoted');

  constructor(private readonly manager: ModelManager) {}

  @ConsumeEvent(EventNames.ModelPromoted, { queue: MODEL_PROMOTED_QUEUE, broadcast: true })
  async onPromoted(@Payload() envelope: EventEnvelope<typeof EventNames.ModelPromoted>): Promise<void> {
    const outcome = await this.manager.onPromoted(envelope.payload);
    this.logger.log(
      `model.promoted ${envelope.payload.modelName} v${envelope.payload.version} (${envelope.messageId}): ${outcome.result}`,
    );
  }

  /** model.traffic, broadcast the same way: every replica re-reads the model's split from the registry. */
  @ConsumeEvent(EventNames.ModelTraffic, { queue: MODEL_TRAFFIC_QUEUE, broadcast: true })
  async onTraffic(@Payload() envelope: EventEnvelope<typeof EventNames.ModelTraffic>): Promise<void> {
    const outcome = await this.manager.onTraffic(envelope.payload);
    this.logger.log(`model.traffic ${envelope.payload.modelName} (${envelope.messageId}): ${outcome.result}`);
  }
}
