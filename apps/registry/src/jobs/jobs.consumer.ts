import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { JobsService } from './jobs.service';

/** The work queue of job records: every registry replica competes for it; any of them may apply any report. */
export const JOBS_QUEUE = 'registry.jobs';

/**
 * Training requests, the trainers' step reports and the gateways' model.served, applied so that redeliveries and any
 * arrival order converge to the same job record. A payload failing its schema is dead-lettered by the transport.
 */
@Controller()
export class JobsConsumer {
  constructor(private readonly jobs: JobsService) {}

  @ConsumeEvent(EventNames.TrainRequested, { queue: JOBS_QUEUE })
  async onTrainRequested(
    @Payload() envelope: EventEnvelope<typeof EventNames.TrainRequested>,
  ): Promise<void> {
    await this.jobs.onTrainRequested(envelope.payload, envelope.messageId, envelope.correlationId);
  }

  @ConsumeEvent(EventNames.JobStepChanged, { queue: JOBS_QUEUE })
  async onStepChanged(@Payload() envelope: EventEnvelope<typeof EventNames.JobStepChanged>): Promise<void> {
    await this.jobs.onStepChanged(envelope.payload, envelope.correlationId);
  }

  @ConsumeEvent(EventNames.ModelServed, { queue: JOBS_QUEUE })
  async onModelServed(@Payload() envelope: EventEnvelope<typeof EventNames.ModelServed>): Promise<void> {
    await this.jobs.onModelServed(envelope.payload);
  }
}
