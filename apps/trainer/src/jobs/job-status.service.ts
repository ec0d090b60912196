import { Injectable } from '@nestjs/common';
import { JobStatusView } from '@sepal/contracts';

const MAX_JOBS = 500;

/**
 * What this process knows of the jobs it accepted (POST /train) or ran: in memory, the latest MAX_JOBS only. A job
 * another replica runs stays 'queued' here; the registry (runs by correlation id) is the cross-replica view.
 */
@Injectable()
export class JobStatusStore {
  private readonly jobs = new Map<string, JobStatusView>();

  get(jobId: string): JobStatusView | undefined {
    return this.jobs.get(jobId);
  }

  /** Creates the job's entry if needed, then applies `change` to it. */
  update(
    jobId: string,
    init: Pick<JobStatusView, 'correlationId' | 'dataset'>,
    change: (job: JobStatusView) => void = () => undefined,
  ): JobStatusView {
    let job = this.jobs.get(jobId);
    if (!job) {
      job = {
        jobId,
        correlationId: init.correlationId,
        dataset: init.dataset,
        state: 'queued',
        datasetVersion: null,
        parentRunId: null,
        backend: null,
        trials: [],
        selectedTrial: null,
        testMetrics: {},
        modelName: null,
        modelVersion: null,
        gateDecision: null,
        error: null,
        updatedAt: new Date().toISOString(),
      };
      this.jobs.set(jobId, job);
      if (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    }
    change(job);
    job.updatedAt = new Date().toISOString();
    return job;
  }
}
