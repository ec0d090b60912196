import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventContext, ConsumeEvent } from '@sepal/messaging';
import { JobRunner } from './job-runner.service';

export const JOBS_QUEUE = 'trainer.jobs';

/**
 * The durable work queue of training jobs, shared by every trainer replica (prefetch 1: one job per worker at a time).
 * The message is acked once the job's outcome is recorded. Every failure the runner throws has already been recorded
 * on the run and is final (transient outages are retried inside the job, for a bounded time), so the queue does not
 * retry: the message goes straight to trainer.jobs.dlq with the reason. A worker that dies leaves its message unacked,
 * and the broker redelivers it to another one.
 */
@Controller()
export class TrainJobConsumer {
  constructor(private readonly runner: JobRunner) {}

  @ConsumeEvent(EventNames.TrainRequested, { queue: JOBS_QUEUE, maxRetries: 0 })
  async onTrainRequested(
    @Payload() envelope: EventEnvelope<typeof EventNames.TrainRequested>,
    @Ctx() context: EventContext,
  ): Promise<void> {
    await this.runner.run(envelope, { redelivered: context.isRedelivered(), attempt: context.getAttempt() });
  }
}
