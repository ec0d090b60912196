import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { FeedbackService } from './feedback.service';

/**
 * feedback.received from the gateway: stored idempotently (by message id) with the key the gateway saw ('unknown'
 * from a gateway that does not say); invalid samples are dead-lettered, a key over its rate is retried, then
 * dead-lettered.
 */
@Controller()
export class FeedbackConsumer {
  constructor(private readonly feedback: FeedbackService) {}

  @ConsumeEvent(EventNames.FeedbackReceived, { queue: 'data.feedback' })
  async onFeedback(@Payload() envelope: EventEnvelope<typeof EventNames.FeedbackReceived>): Promise<void> {
    const { payload } = envelope;
    await this.feedback.receive(
      {
        dataset: payload.dataset,
        features: payload.features,
        label: payload.label,
        source: payload.source ?? 'event',
        clientId: payload.feedbackId,
        submittedBy: payload.submittedBy ?? 'unknown',
        predictionId: payload.predictionId,
      },
      envelope.messageId,
      envelope.correlationId,
    );
  }
}
