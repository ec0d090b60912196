import { EventName, EventNames } from './event-names';

/** The apps that publish on the bus (the console only proxies HTTP and publishes nothing). */
export const PRODUCER_APPS = ['data', 'registry', 'trainer', 'inference'] as const;

export type ProducerApp = (typeof PRODUCER_APPS)[number];

export function isProducerApp(value: string): value is ProducerApp {
  return (PRODUCER_APPS as readonly string[]).includes(value);
}

/**
 * Who may publish each event: the app whose state it announces. The broker enforces it with topic permissions on
 * `sepal.events` (scripts/provision/rabbitmq-definitions.sh renders them from this table) and every consumer checks it
 * again against the message's AMQP user-id, dead-lettering an event from anyone else.
 */
export const EVENT_OWNERS = {
  [EventNames.DatasetVersioned]: ['data'],
  // The trainer's REST API, schedule and retrain triggers; the registry when a job is retried (from its outbox).
  [EventNames.TrainRequested]: ['trainer', 'registry'],
  // POST /batch-jobs and a retry on the registry, from its outbox.
  [EventNames.BatchRequested]: ['registry'],
  [EventNames.TrainingStarted]: ['trainer'],
  [EventNames.TrainingProgress]: ['trainer'],
  [EventNames.RunFinished]: ['trainer'],
  [EventNames.ModelRegistered]: ['trainer'],
  [EventNames.ModelPromoted]: ['registry'],
  [EventNames.ModelTraffic]: ['registry'],
  [EventNames.JobCancelRequested]: ['registry'],
  [EventNames.JobStepChanged]: ['trainer'],
  [EventNames.TrialRequested]: ['trainer'],
  [EventNames.TrialProgress]: ['trainer'],
  [EventNames.TrialFinished]: ['trainer'],
  [EventNames.FeedbackReceived]: ['inference'],
  [EventNames.DriftDetected]: ['inference'],
  [EventNames.ModelServed]: ['inference'],
  [EventNames.PredictionsLogged]: ['inference'],
} as const satisfies Record<EventName, readonly ProducerApp[]>;

export function eventOwners(type: EventName): readonly ProducerApp[] {
  return EVENT_OWNERS[type];
}

export function isEventOwner(type: EventName, app: string): boolean {
  return (EVENT_OWNERS[type] as readonly string[]).includes(app);
}

/** The routing keys an app may publish on `sepal.events`, sorted. */
export function eventsOwnedBy(app: ProducerApp): EventName[] {
  return (Object.keys(EVENT_OWNERS) as EventName[]).filter((type) => isEventOwner(type, app)).sort();
}
