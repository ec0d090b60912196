import { randomUUID } from 'node:crypto';
import { EventName, EventNames, EventPayloadInput } from '@sepal/contracts';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

type SamplePayloads = { [N in EventName]: () => EventPayloadInput<N> };

const samples: SamplePayloads = {
  [EventNames.DatasetVersioned]: () => ({
    dataset: 'iris',
    version: SHA_A,
    parentVersion: null,
    rowCount: 150,
    trainRows: 120,
    testRows: 30,
    classCounts: { setosa: 50, versicolor: 50, virginica: 50 },
    reason: 'import',
    createdAt: new Date().toISOString(),
  }),
  [EventNames.TrainRequested]: () => ({ dataset: 'iris', reason: 'manual' }),
  [EventNames.BatchRequested]: () => ({
    jobId: randomUUID(),
    input: { type: 'dataset', dataset: 'iris' },
    model: { name: 'iris', version: 1, sha256: SHA_A },
  }),
  [EventNames.TrainingStarted]: () => ({
    runId: randomUUID(),
    parentRunId: null,
    experiment: 'iris',
    dataset: 'iris',
    datasetVersion: SHA_A,
    params: { epochs: 10 },
    backend: 'cpu',
    startedAt: new Date().toISOString(),
  }),
  [EventNames.TrainingProgress]: () => ({
    runId: randomUUID(),
    step: 1,
    metrics: { loss: 0.5 },
    timestamp: new Date().toISOString(),
  }),
  [EventNames.RunFinished]: () => ({
    runId: randomUUID(),
    status: 'finished',
    endedAt: new Date().toISOString(),
  }),
  [EventNames.ModelRegistered]: () => ({
    modelName: 'iris-classifier',
    version: 1,
    runId: randomUUID(),
    sha256: SHA_B,
    artifactUrl: `http://registry/artifacts/${SHA_B}`,
    registeredAt: new Date().toISOString(),
  }),
  [EventNames.ModelPromoted]: () => ({
    modelName: 'iris-classifier',
    alias: 'champion',
    version: 2,
    sha256: SHA_B,
    artifactUrl: `http://registry/artifacts/${SHA_B}`,
    previousVersion: 1,
    reason: 'beats the champion',
    promotedBy: 'test',
    promotedAt: new Date().toISOString(),
  }),
  [EventNames.FeedbackReceived]: () => ({ dataset: 'iris', features: [5.1, 3.5, 1.4, 0.2], label: 'setosa' }),
  [EventNames.DriftDetected]: () => ({
    modelName: 'iris-classifier',
    version: 2,
    features: [{ name: 'petal_length', psi: 0.31 }],
    threshold: 0.2,
    detectedAt: new Date().toISOString(),
  }),
  [EventNames.PredictionsLogged]: () => ({
    groups: [
      {
        model: 'iris-classifier',
        version: 2,
        sha256: SHA_B,
        features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
        labels: ['setosa', 'versicolor', 'virginica'],
        predictionIds: [randomUUID()],
        inputs: [5.1, 3.5, 1.4, 0.2],
        classes: [0],
        probabilities: [0.9, 0.05, 0.05],
        latencyMs: [1.5],
        keyNames: [null],
        at: [Date.now()],
      },
    ],
  }),
  [EventNames.JobStepChanged]: () => ({
    jobId: randomUUID(),
    step: 'train-trials',
    state: 'running',
    attempt: 1,
    sequence: 1,
    at: new Date().toISOString(),
  }),
  [EventNames.JobCancelRequested]: () => ({ jobId: randomUUID(), at: new Date().toISOString() }),
  [EventNames.ModelServed]: () => ({
    modelName: 'iris-classifier',
    version: 2,
    sha256: SHA_B,
    replica: 'gateway-1',
    at: new Date().toISOString(),
  }),
  [EventNames.ModelTraffic]: () => ({
    modelName: 'iris-classifier',
    weights: [
      { version: 2, weight: 90, sha256: SHA_B, artifactUrl: `/artifacts/${SHA_B}` },
      { version: 3, weight: 10, sha256: SHA_A, artifactUrl: `/artifacts/${SHA_A}` },
    ],
    shadow: null,
    reason: 'canary',
    changedBy: 'alice',
    changedAt: new Date().toISOString(),
    revision: 2,
  }),
  [EventNames.TrialRequested]: () => ({
    jobId: 'job-1',
    trialId: '6b2c0f43-2d0c-4c5e-9a39-1f6f1f1c2b3a',
    index: 0,
    task: { params: { learningRate: 0.01 } },
    requestedAt: new Date().toISOString(),
  }),
  [EventNames.TrialProgress]: () => ({
    jobId: 'job-1',
    trialId: '6b2c0f43-2d0c-4c5e-9a39-1f6f1f1c2b3a',
    index: 0,
    metrics: { epoch: 1, loss: 0.9 },
  }),
  [EventNames.TrialFinished]: () => ({
    jobId: 'job-1',
    trialId: '6b2c0f43-2d0c-4c5e-9a39-1f6f1f1c2b3a',
    index: 0,
    worker: 'trainer-a',
    status: 'failed' as const,
    error: 'the trial exceeded its time limit',
    seconds: 1.5,
  }),
};

/** A valid payload of each event, fresh on every call (new ids and timestamps). */
export function sampleEventPayload<N extends EventName>(type: N): EventPayloadInput<N> {
  return samples[type]();
}
