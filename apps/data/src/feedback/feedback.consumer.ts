import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { FeedbackService } from './feedback.service';

/** feedback.received from the gateway: stored idempotently (by message id); invalid samples are dead-lettered. */
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
        feedbackId: payload.feedbackId,
        predictionId: payload.predictionId,
      },
      envelope.messageId,
      envelope.correlationId,
    );
  }
}
