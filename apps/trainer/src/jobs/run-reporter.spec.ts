import { Logger } from '@nestjs/common';
import {
  EventName,
  MAX_METRICS_PER_BATCH,
  MAX_PARAM_VALUE_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  parseEventPayload,
} from '@sepal/contracts';
import type { EventBus } from '@sepal/messaging';
import { gridParam } from './parent-run';
import { RunReporter } from './run-reporter';

const RUN_ID = '3f1c8a52-6a0e-4c4b-9d0f-2b1e5a7c9d10';

function reporter() {
  const published: { type: EventName; payload: unknown }[] = [];
  const bus = {
    publish: async (type: EventName, payload: unknown) => {
      published.push({ type, payload });
      return `m-${published.length}`;
    },
  } as unknown as EventBus;
  const run = new RunReporter(bus, 'corr', {
    experiment: 'e',
    dataset: 'iris',
    datasetVersion: 'd'.repeat(64),
    backend: 'cpu',
  });
  /** The last event as the registry parses it: throws (a dead letter) if it is outside the contract. */
  const last = () => {
    const { type, payload } = published[published.length - 1];
    return parseEventPayload(type, payload) as Record<string, unknown>;
  };
  return { run, last };
}

describe("the trainer's run events stay within the bounds the registry holds events to", () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('cuts long tag values, string params and run names, with an ellipsis', async () => {
    const { run, last } = reporter();
    await run.started({
      runId: RUN_ID,
      parentRunId: null,
      runName: 'n'.repeat(500),
      params: { grid: 'g'.repeat(20_000), units: 8 },
      tags: { reason: 'r'.repeat(20_000), role: 'sweep' },
    });
    const started = last() as {
      runName: string;
      params: Record<string, unknown>;
      tags: Record<string, string>;
    };
    expect(started.runName).toHaveLength(200);
    expect(started.params.grid).toHaveLength(MAX_PARAM_VALUE_LENGTH);
    expect(started.params.units).toBe(8);
    expect(started.tags.reason).toHaveLength(MAX_TAG_VALUE_LENGTH);
    expect(started.tags.reason.endsWith('…')).toBe(true);
    expect(started.tags.role).toBe('sweep');

    await run.finished(RUN_ID, { status: 'finished', tags: { gate_reason: 'x'.repeat(6000) } });
    expect((last().tags as Record<string, string>).gate_reason).toHaveLength(MAX_TAG_VALUE_LENGTH);
  });

  it('leaves out metrics with keys the registry refuses, and any beyond one batch', async () => {
    const { run, last } = reporter();
    const many = Object.fromEntries(
      Array.from({ length: MAX_METRICS_PER_BATCH + 5 }, (_, i) => [`importance_f${i}`, i]),
    );
    await run.progress(RUN_ID, 1, { loss: 0.5, ['k'.repeat(251)]: 1, '': 2, nan: Number.NaN });
    expect(last().metrics).toEqual({ loss: 0.5 });
    await run.finished(RUN_ID, { status: 'finished', metrics: many });
    expect(Object.keys(last().metrics as object)).toHaveLength(MAX_METRICS_PER_BATCH);
  });

  it("records a grid too long for a param as each parameter's number of candidates, still JSON", () => {
    const small = { learningRate: [0.01, 0.1] };
    expect(gridParam(small)).toBe(JSON.stringify(small));
    expect(gridParam(null)).toBe('null');
    const huge = [
      { model: ['dense'], learningRate: Array.from({ length: 3000 }, (_, i) => i / 3000) },
      { model: ['gbdt', 'forest'] },
    ];
    expect(JSON.parse(gridParam(huge))).toEqual({ model: '3 candidates', learningRate: '3000 candidates' });
  });
});
