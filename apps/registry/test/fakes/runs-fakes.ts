/** The registry's services on fakes with the training events the RunsService specs deliver. */
import { RunFinished, TrainingStarted } from '@sepal/contracts';
import { registryOnFakes } from './registry-fakes';

export const DATASET_VERSION = 'd'.repeat(64);

/** registryOnFakes() plus builders of training.started, run.finished and training.progress payloads. */
export function runsOnFakes() {
  const fakes = registryOnFakes();
  const started = (runId: string, overrides: Partial<TrainingStarted> = {}): TrainingStarted => ({
    runId,
    parentRunId: null,
    experiment: 'events',
    dataset: 'iris',
    datasetVersion: DATASET_VERSION,
    params: { units: 8 },
    tags: {},
    backend: 'cpu',
    startedAt: '2025-02-01T00:00:00.000Z',
    ...overrides,
  });
  const finished = (runId: string, overrides: Partial<RunFinished> = {}): RunFinished => ({
    runId,
    status: 'finished',
    metrics: {},
    tags: {},
    endedAt: '2025-02-01T01:00:00.000Z',
    ...overrides,
  });
  const progress = (runId: string, step: number, metrics: Record<string, number>) => ({
    runId,
    step,
    metrics,
    timestamp: new Date(Date.UTC(2025, 1, 1, 0, step)).toISOString(),
  });
  return { ...fakes, started, finished, progress };
}
