import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { BatchJobRunner } from './batch-job-runner.service';

export const BATCH_JOBS_QUEUE = 'trainer.batch-jobs';

/**
 * The durable work queue of batch scoring jobs, shared by every trainer replica (prefetch 1, like trainer.jobs). The
 * message is acked once the job's outcome is recorded; a failure is final (dead-lettered, retried over REST); a
 * replica that dies or stops leaves it unacked, and another one scores the job from the start.
 */
@Controller()
export class BatchJobConsumer {
  constructor(private readonly runner: BatchJobRunner) {}

  @ConsumeEvent(EventNames.BatchRequested, { queue: BATCH_JOBS_QUEUE, maxRetries: 0 })
  async onBatchRequested(
    @Payload() envelope: EventEnvelope<typeof EventNames.BatchRequested>,
  ): Promise<void> {
    await this.runner.run(envelope);
  }
}
