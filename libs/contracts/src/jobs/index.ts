export * from './job-steps';
export * from './job.events';
export * from './jobs.dto';
export * from './trial.events';
