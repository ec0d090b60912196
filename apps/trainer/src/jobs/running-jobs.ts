import { Injectable } from '@nestjs/common';
import { TrainerStoppingError } from './job-errors';

/** The jobs this replica is running, each with the controller that cancels it (or hands it back when stopping). */
@Injectable()
export class RunningJobs {
  private readonly jobs = new Map<string, AbortController>();
  private stopping: TrainerStoppingError | undefined;

  /** A job that starts while the trainer stops is aborted at once, so it goes back to the queue. */
  start(jobId: string): AbortController {
    const controller = new AbortController();
    if (this.stopping) controller.abort(this.stopping);
    this.jobs.set(jobId, controller);
    return controller;
  }

  end(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** Cancels the job if this replica runs it; false when it does not. */
  cancel(jobId: string, reason: string): boolean {
    const controller = this.jobs.get(jobId);
    if (!controller) return false;
    controller.abort(new Error(reason));
    return true;
  }

  /** The trainer is stopping: every running job stops now (its trials' workers are terminated); answers how many. */
  stopAll(reason = new TrainerStoppingError()): number {
    this.stopping = reason;
    for (const controller of this.jobs.values()) controller.abort(reason);
    return this.jobs.size;
  }
}
