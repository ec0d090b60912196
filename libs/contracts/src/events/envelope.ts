import { z } from 'zod';
import { EventName, EventNames } from './event-names';
import { datasetVersionedSchema, feedbackReceivedSchema } from './data.events';
import {
  driftDetectedSchema,
  modelPromotedSchema,
  modelRegisteredSchema,
  runFinishedSchema,
  trainingProgressSchema,
  trainingStartedSchema,
  trainRequestedSchema,
} from './training.events';
import { trafficSplitSchema } from '../models/traffic';
import { predictionsLoggedSchema } from './prediction.events';
import { jobCancelRequestedSchema, jobStepChangedSchema, modelServedSchema } from '../jobs/job.events';
import { batchRequestedSchema } from '../jobs/batch.events';
import { trialFinishedSchema, trialProgressSchema, trialRequestedSchema } from '../jobs/trial.events';

/** The payload schema of every event: the single source of truth for what may travel on the bus. */
export const eventPayloadSchemas = {
  [EventNames.DatasetVersioned]: datasetVersionedSchema,
  [EventNames.FeedbackReceived]: feedbackReceivedSchema,
  [EventNames.TrainRequested]: trainRequestedSchema,
  [EventNames.BatchRequested]: batchRequestedSchema,
  [EventNames.TrainingStarted]: trainingStartedSchema,
  [EventNames.TrainingProgress]: trainingProgressSchema,
  [EventNames.RunFinished]: runFinishedSchema,
  [EventNames.ModelRegistered]: modelRegisteredSchema,
  [EventNames.ModelPromoted]: modelPromotedSchema,
  [EventNames.DriftDetected]: driftDetectedSchema,
  [EventNames.PredictionsLogged]: predictionsLoggedSchema,
  [EventNames.JobStepChanged]: jobStepChangedSchema,
  [EventNames.JobCancelRequested]: jobCancelRequestedSchema,
  [EventNames.ModelServed]: modelServedSchema,
  [EventNames.ModelTraffic]: trafficSplitSchema,
  [EventNames.TrialRequested]: trialRequestedSchema,
  [EventNames.TrialProgress]: trialProgressSchema,
  [EventNames.TrialFinished]: trialFinishedSchema,
} as const satisfies Record<EventName, z.ZodType>;

export type EventPayload<N extends EventName> = z.output<(typeof eventPayloadSchemas)[N]>;
export type EventPayloadInput<N extends EventName> = z.input<(typeof eventPayloadSchemas)[N]>;

/** What travels as the JSON body of every message; the AMQP properties mirror the ids. */
export interface EventEnvelope<N extends EventName = EventName> {
  messageId: string;
  type: N;
  timestamp: string;
  correlationId: string;
  payload: EventPayload<N>;
}

const envelopeShape = z.object({
  messageId: z.string().min(1).max(200),
  type: z.string(),
  timestamp: z.string().datetime({ offset: true }),
  correlationId: z.string().min(1).max(200),
  payload: z.unknown(),
});

export class InvalidEventError extends Error {
  constructor(
    readonly reason: string,
    readonly eventType?: string,
  ) {
    super(`invalid ${eventType ?? 'event'}: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

export function isEventName(value: string): value is EventName {
  return Object.prototype.hasOwnProperty.call(eventPayloadSchemas, value);
}

export function formatZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Parses a payload against its event's schema; throws InvalidEventError naming every bad field. */
export function parseEventPayload<N extends EventName>(type: N, payload: unknown): EventPayload<N> {
  const result = eventPayloadSchemas[type].safeParse(payload);
  if (!result.success) throw new InvalidEventError(formatZodError(result.error), type);
  return result.data as EventPayload<N>;
}

/** Parses a whole message body (envelope + payload). */
export function parseEnvelope(body: unknown): EventEnvelope {
  const shape = envelopeShape.safeParse(body);
  if (!shape.success) throw new InvalidEventError(`envelope ${formatZodError(shape.error)}`);
  const { type } = shape.data;
  if (!isEventName(type)) throw new InvalidEventError(`unknown event type '${type}'`, type);
  return { ...shape.data, type, payload: parseEventPayload(type, shape.data.payload) };
}
