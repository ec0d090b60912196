export * from './job-steps';
export * from './job.events';
export * from './jobs.dto';
export * from './trial.events';
export * from './batch.events';
export * from './batch-jobs.dto';
