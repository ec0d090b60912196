import { Injectable } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { TrainerStoppingError } from './job-errors';

/** The jobs this replica is running, each with the controller that cancels it (or hands it back when stopping). */
@Injectable()
export class RunningJobs {
  private readonly jobs = new Map<string, AbortController>();
  /** Queued trials this replica trains for jobs (its own or other replicas'), by job. */
  private readonly trials = new Map<string, Set<AbortController>>();
  private stopping: TrainerStoppingError | undefined;

  /** A job that starts while the trainer stops is aborted at once, so it goes back to the queue. */
  start(jobId: string): AbortController {
    const controller = new AbortController();
    // Every trial of the sweep (up to TRAIN_MAX_TRIALS, all queued at once with TRAINER_TRIALS=queue) listens to it.
    setMaxListeners(1000, controller.signal);
    if (this.stopping) controller.abort(this.stopping);
    this.jobs.set(jobId, controller);
    return controller;
  }

  end(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** A queued trial of `jobId` that this replica trains: stopped with its job, or when the trainer stops. */
  startTrial(jobId: string): AbortController {
    const controller = new AbortController();
    if (this.stopping) controller.abort(this.stopping);
    const trials = this.trials.get(jobId) ?? new Set<AbortController>();
    trials.add(controller);
    this.trials.set(jobId, trials);
    return controller;
  }

  endTrial(jobId: string, controller: AbortController): void {
    const trials = this.trials.get(jobId);
    trials?.delete(controller);
    if (trials?.size === 0) this.trials.delete(jobId);
  }

  /** Cancels the job, and the trials of it this replica trains; false when it does neither. */
  cancel(jobId: string, reason: string): boolean {
    const controllers = [
      ...(this.jobs.has(jobId) ? [this.jobs.get(jobId)!] : []),
      ...(this.trials.get(jobId) ?? []),
    ];
    for (const controller of controllers) controller.abort(new Error(reason));
    return controllers.length > 0;
  }

  /** The trainer is stopping: every running job stops now (its trials' workers are terminated); answers how many. */
  stopAll(reason = new TrainerStoppingError()): number {
    this.stopping = reason;
    for (const controller of this.jobs.values()) controller.abort(reason);
    for (const trials of this.trials.values()) for (const controller of trials) controller.abort(reason);
    return this.jobs.size;
  }
}
