import { Injectable } from '@nestjs/common';

/** The jobs this replica is running, each with the controller that cancels it. */
@Injectable()
export class RunningJobs {
  private readonly jobs = new Map<string, AbortController>();

  start(jobId: string): AbortController {
    const controller = new AbortController();
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
}
