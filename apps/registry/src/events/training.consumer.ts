import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { ModelsService } from '../models/models.service';
import { RunsService } from '../runs/runs.service';

export const TRAINING_QUEUE = 'registry.training';

/**
 * The trainer's events, so training never waits for the registry: each is applied idempotently (claimed by message id
 * in the transaction that does the work). A payload failing its schema is dead-lettered by the transport.
 */
@Controller()
export class TrainingConsumer {
  constructor(
    private readonly runs: RunsService,
    private readonly models: ModelsService,
  ) {}

  @ConsumeEvent(EventNames.TrainingStarted, { queue: TRAINING_QUEUE })
  async onStarted(@Payload() envelope: EventEnvelope<typeof EventNames.TrainingStarted>): Promise<void> {
    await this.runs.onTrainingStarted(envelope.payload, envelope.messageId, envelope.correlationId);
  }

  @ConsumeEvent(EventNames.TrainingProgress, { queue: TRAINING_QUEUE })
  async onProgress(@Payload() envelope: EventEnvelope<typeof EventNames.TrainingProgress>): Promise<void> {
    await this.runs.onTrainingProgress(envelope.payload, envelope.messageId);
  }

  @ConsumeEvent(EventNames.RunFinished, { queue: TRAINING_QUEUE })
  async onFinished(@Payload() envelope: EventEnvelope<typeof EventNames.RunFinished>): Promise<void> {
    await this.runs.onRunFinished(envelope.payload, envelope.messageId);
  }

  @ConsumeEvent(EventNames.ModelRegistered, { queue: TRAINING_QUEUE })
  async onModelRegistered(
    @Payload() envelope: EventEnvelope<typeof EventNames.ModelRegistered>,
  ): Promise<void> {
    await this.models.onModelRegistered(envelope.payload, envelope.messageId);
  }
}
