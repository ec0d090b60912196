import { Controller, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { RunningJobs } from './running-jobs.service';

export const JOB_CANCEL_QUEUE = 'trainer.job-cancel';

/**
 * `job.cancel-requested` reaches every trainer replica (each has its own queue); the one running the job aborts it:
 * its trials stop at once (their workers are terminated), their runs end `killed`, and the job's step ends `cancelled`.
 */
@Controller()
export class JobCancelConsumer {
  private readonly logger = new Logger('TrainingJob');

  constructor(private readonly running: RunningJobs) {}

  @ConsumeEvent(EventNames.JobCancelRequested, { queue: JOB_CANCEL_QUEUE, broadcast: true })
  async onCancelRequested(
    @Payload() envelope: EventEnvelope<typeof EventNames.JobCancelRequested>,
  ): Promise<void> {
    const { jobId, requestedBy } = envelope.payload;
    const who = requestedBy ? ` by ${requestedBy}` : '';
    if (this.running.cancel(jobId, `the job was cancelled${who}`)) {
      this.logger.log(`${jobId}: cancelled${who}; stopping its trials`);
    }
  }
}
