import { createRunRequestSchema, logMetricsRequestSchema } from '../http/registry.dto';
import { InvalidEventError, parseEventPayload } from './envelope';
import { EventNames } from './event-names';
import { MAX_DRIFT_FEATURES, MAX_FEATURE_NAME_LENGTH } from './training.events';
import {
  MAX_EVENT_ENTRIES,
  MAX_METRIC_KEY_LENGTH,
  MAX_METRICS_PER_BATCH,
  MAX_PARAM_VALUE_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
} from './tracking-fields';

const RUN_ID = '3f1c8a52-6a0e-4c4b-9d0f-2b1e5a7c9d10';
const AT = '2025-02-01T00:00:00.000Z';
const many = <T>(n: number, value: T): Record<string, T> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

const started = (overrides: Record<string, unknown> = {}) => ({
  runId: RUN_ID,
  parentRunId: null,
  experiment: 'e',
  dataset: 'iris',
  datasetVersion: 'd'.repeat(64),
  params: { units: 8 },
  tags: {},
  backend: 'cpu',
  startedAt: AT,
  ...overrides,
});
const progress = (metrics: Record<string, number>) => ({ runId: RUN_ID, step: 1, metrics, timestamp: AT });
const finished = (overrides: Record<string, unknown> = {}) => ({
  runId: RUN_ID,
  status: 'finished',
  endedAt: AT,
  ...overrides,
});

/** The zod message an event is dead-lettered with (after `invalid <type>: `), or null when it is valid. */
function refusal(type: Parameters<typeof parseEventPayload>[0], payload: unknown): string | null {
  try {
    parseEventPayload(type, payload);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return (error as Error).message.replace(/^invalid [a-z.]+: /, '');
  }
}

describe('the tracked fields of training events are held to the bounds of the REST API', () => {
  it('training.started: tag keys, tag values and param values as long as REST takes, no longer', () => {
    const longKey = 'k'.repeat(MAX_TAG_KEY_LENGTH);
    const ok = started({
      tags: { [longKey]: 'v'.repeat(MAX_TAG_VALUE_LENGTH) },
      params: { p: 'v'.repeat(MAX_PARAM_VALUE_LENGTH) },
    });
    expect(refusal(EventNames.TrainingStarted, ok)).toBeNull();
    expect(
      createRunRequestSchema.safeParse({ experiment: 'e', tags: ok.tags, params: ok.params }).success,
    ).toBe(true);

    expect(refusal(EventNames.TrainingStarted, started({ tags: { [`${longKey}k`]: 'v' } }))).toMatch(
      /^tags\./,
    );
    expect(refusal(EventNames.TrainingStarted, started({ tags: { '': 'v' } }))).toMatch(/^tags\./);
    expect(refusal(EventNames.TrainingStarted, started({ tags: { t: 'v'.repeat(5001) } }))).toMatch(
      /^tags\.t: .*5000/,
    );
    expect(refusal(EventNames.TrainingStarted, started({ params: { p: 'v'.repeat(5001) } }))).toMatch(
      /^params\.p: /,
    );
    expect(refusal(EventNames.TrainingStarted, started({ params: { ['p'.repeat(251)]: 1 } }))).toMatch(
      /^params\./,
    );
  });

  it('training.started: at most MAX_EVENT_ENTRIES tags and params (the most the registry settings accept)', () => {
    expect(MAX_EVENT_ENTRIES).toBe(100_000);
    expect(refusal(EventNames.TrainingStarted, started({ tags: many(MAX_EVENT_ENTRIES, 'v') }))).toBeNull();
    expect(refusal(EventNames.TrainingStarted, started({ tags: many(MAX_EVENT_ENTRIES + 1, 'v') }))).toBe(
      'tags: 100001 entries, at most 100000',
    );
    expect(refusal(EventNames.TrainingStarted, started({ params: many(MAX_EVENT_ENTRIES + 1, 1) }))).toBe(
      'params: 100001 entries, at most 100000',
    );
  });

  it('training.progress and run.finished: at most a REST batch of metric keys, each as long as REST takes', () => {
    expect(MAX_METRICS_PER_BATCH).toBe(10_000);
    const batch = Array.from({ length: MAX_METRICS_PER_BATCH + 1 }, () => ({ key: 'loss', value: 1 }));
    expect(logMetricsRequestSchema.safeParse({ metrics: batch.slice(1) }).success).toBe(true);
    expect(logMetricsRequestSchema.safeParse({ metrics: batch }).success).toBe(false);

    expect(refusal(EventNames.TrainingProgress, progress(many(MAX_METRICS_PER_BATCH, 1)))).toBeNull();
    expect(refusal(EventNames.TrainingProgress, progress(many(MAX_METRICS_PER_BATCH + 1, 1)))).toBe(
      'metrics: 10001 entries, at most 10000',
    );
    expect(refusal(EventNames.RunFinished, finished({ metrics: many(MAX_METRICS_PER_BATCH + 1, 1) }))).toBe(
      'metrics: 10001 entries, at most 10000',
    );

    const longKey = 'm'.repeat(MAX_METRIC_KEY_LENGTH);
    expect(logMetricsRequestSchema.safeParse({ metrics: [{ key: longKey, value: 1 }] }).success).toBe(true);
    expect(refusal(EventNames.TrainingProgress, progress({ [longKey]: 1 }))).toBeNull();
    expect(refusal(EventNames.TrainingProgress, progress({ [`${longKey}m`]: 1 }))).toMatch(/^metrics\./);
    expect(refusal(EventNames.RunFinished, finished({ metrics: { '': 1 } }))).toMatch(/^metrics\./);
  });

  it('run.finished: tags held like training.started, and absent ones still default to none', () => {
    expect(parseEventPayload(EventNames.RunFinished, finished())).toMatchObject({ tags: {}, metrics: {} });
    expect(refusal(EventNames.RunFinished, finished({ tags: { t: 'v'.repeat(5001) } }))).toMatch(
      /^tags\.t: /,
    );
    expect(refusal(EventNames.RunFinished, finished({ tags: many(MAX_EVENT_ENTRIES + 1, 'v') }))).toBe(
      'tags: 100001 entries, at most 100000',
    );
  });
});

describe('model.registered and drift.detected are bounded too', () => {
  const registered = (metrics: Record<string, number>) => ({
    modelName: 'iris',
    version: 1,
    runId: RUN_ID,
    sha256: 'a'.repeat(64),
    artifactUrl: 'http://registry/artifacts/x',
    metrics,
    registeredAt: AT,
  });
  const drift = (features: { name: string; psi: number }[]) => ({
    modelName: 'iris',
    version: 1,
    features,
    threshold: 0.2,
    detectedAt: AT,
  });

  it('model.registered: metrics like a run event', () => {
    expect(refusal(EventNames.ModelRegistered, registered(many(MAX_METRICS_PER_BATCH, 1)))).toBeNull();
    expect(refusal(EventNames.ModelRegistered, registered(many(MAX_METRICS_PER_BATCH + 1, 1)))).toBe(
      'metrics: 10001 entries, at most 10000',
    );
    expect(refusal(EventNames.ModelRegistered, registered({ ['m'.repeat(251)]: 1 }))).toMatch(/^metrics\./);
  });

  it('drift.detected: at most a dataset of columns, names as long as a cell', () => {
    const feature = (i: number) => ({ name: `f${i}`, psi: 0.3 });
    expect(
      refusal(
        EventNames.DriftDetected,
        drift(Array.from({ length: MAX_DRIFT_FEATURES }, (_, i) => feature(i))),
      ),
    ).toBeNull();
    expect(
      refusal(
        EventNames.DriftDetected,
        drift(Array.from({ length: MAX_DRIFT_FEATURES + 1 }, (_, i) => feature(i))),
      ),
    ).toMatch(/^features: /);
    expect(
      refusal(EventNames.DriftDetected, drift([{ name: 'n'.repeat(MAX_FEATURE_NAME_LENGTH + 1), psi: 0.3 }])),
    ).toMatch(/^features\.0\.name: /);
  });
});
