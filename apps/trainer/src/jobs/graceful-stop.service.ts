import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventTransport } from '@sepal/messaging';
import { RunningJobs } from './running-jobs.service';

/**
 * SIGTERM (or app.close()) while jobs run: the first shutdown hook stops every queue from delivering to this replica,
 * then stops the running jobs at once (their trials' workers are terminated). Each job's train.requested is handed
 * back to the queue unacked (RequeueDelivery), so another replica takes it, as after a crash, but without waiting for
 * the broker to notice a dead connection. The trial pool itself closes last (onApplicationShutdown).
 */
@Injectable()
export class GracefulStop implements OnModuleDestroy {
  private readonly logger = new Logger('TrainingJob');

  constructor(
    private readonly transport: EventTransport,
    private readonly running: RunningJobs,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.transport.stopConsuming();
    const stopped = this.running.stopAll();
    if (stopped > 0) this.logger.warn(`stopping: ${stopped} job(s) handed back to the queue`);
  }
}
