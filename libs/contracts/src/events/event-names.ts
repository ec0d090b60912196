/** Routing keys on the `sepal.events` topic exchange; the routing key of a message is its event name. */
export const EventNames = {
  DatasetVersioned: 'dataset.versioned',
  TrainRequested: 'train.requested',
  /** A batch scoring job to run (the registry's outbox: a new job or a retry). */
  BatchRequested: 'batch.requested',
  TrainingStarted: 'training.started',
  TrainingProgress: 'training.progress',
  RunFinished: 'run.finished',
  ModelRegistered: 'model.registered',
  ModelPromoted: 'model.promoted',
  FeedbackReceived: 'feedback.received',
  DriftDetected: 'drift.detected',
  /** A batch of sampled predictions from a gateway, for the data service's prediction log. */
  PredictionsLogged: 'predictions.logged',
  JobStepChanged: 'job.step-changed',
  JobCancelRequested: 'job.cancel-requested',
  ModelServed: 'model.served',
  /** A model's traffic split (canary weights, shadow version) changed in the registry. */
  ModelTraffic: 'model.traffic',
  TrialRequested: 'trial.requested',
  TrialProgress: 'trial.progress',
  TrialFinished: 'trial.finished',
} as const;

export type EventName = (typeof EventNames)[keyof typeof EventNames];

export const ALL_EVENT_NAMES: readonly EventName[] = Object.values(EventNames);
