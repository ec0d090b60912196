import {
  EventNames,
  expandLoggedPredictions,
  MAX_LOGGED_PREDICTIONS_PER_EVENT,
  parseEventPayload,
} from '@sepal/contracts';
import { modelInfo } from '../../test/fakes';
import type { ModelInfo } from '../model/loading/loaded-model';
import { createSignature } from '../predict/model-signature';
import type { ScoredRequest } from './logged-rows';
import { PendingEvents } from './pending-events';
import { predictionIds } from './prediction-id';

const signature = createSignature(['a', 'b'], ['no', 'yes']);
const versions = new Map<number, ModelInfo>();
/** The loaded version `version` (one ModelInfo object per version, as the gateway has). */
const infoOf = (version: number): ModelInfo => {
  let info = versions.get(version);
  if (!info) {
    info = modelInfo({ version, sha256: String(version).repeat(64) });
    versions.set(version, info);
  }
  return info;
};

/** A scored request of `rows` rows: row r has inputs (2r, 2r+1) and class r % 2. */
function scored(version: number, rows: number): ScoredRequest {
  return {
    info: infoOf(version),
    signature,
    parsed: { rows, data: new Float32Array(rows * 2).map((_, i) => i) },
    output: {
      probabilities: new Float32Array(rows * 2).map((_, i) => (i % 2 ? 0.75 : 0.25)),
      labels: new Int32Array(rows).map((_, i) => i % 2),
    },
    ids: predictionIds(rows),
    latencyMs: 1,
    keyName: null,
  };
}

const drain = (queue: PendingEvents) => {
  const events = [];
  for (let event = queue.take(); event !== null; event = queue.take()) events.push(event);
  return events;
};

describe('PendingEvents', () => {
  it('packs requests into events of at most MAX_LOGGED_PREDICTIONS_PER_EVENT rows, one group per model version', () => {
    const queue = new PendingEvents(10_000);
    const first = scored(1, 600);
    for (const request of [first, scored(2, 300), scored(1, 600)]) expect(queue.offer(request)).toBe(true);
    expect(queue.size).toBe(1500);
    const events = drain(queue);
    expect(events.map((event) => event.groups.map((g) => [g.version, g.predictionIds.length]))).toEqual([
      [
        [1, 700],
        [2, 300],
      ],
      [[1, 500]],
    ]);
    expect(MAX_LOGGED_PREDICTIONS_PER_EVENT).toBe(1000);
    expect(events.map((event) => event.rows)).toEqual([1000, 500]);
    expect(queue.size).toBe(0);
    // Each event is a valid predictions.logged payload, its rows in request order.
    const records = events.flatMap(({ groups }) =>
      expandLoggedPredictions(parseEventPayload(EventNames.PredictionsLogged, { groups })),
    );
    expect(new Set(records.map((r) => r.predictionId)).size).toBe(1500);
    expect(records.slice(0, 600).map((r) => r.predictionId)).toEqual(first.ids);
    expect(records[599]).toMatchObject({ inputs: { a: 1198, b: 1199 }, output: { class: 'yes' } });
  });

  it('copies the rows when offered: the request buffers may be reused once it is answered', () => {
    const queue = new PendingEvents(10);
    const request = scored(1, 1);
    queue.offer(request);
    request.parsed.data.fill(42);
    request.output.probabilities.fill(0);
    const [record] = expandLoggedPredictions({ groups: queue.take()!.groups });
    expect(record).toMatchObject({
      inputs: { a: 0, b: 1 },
      output: { probabilities: { no: 0.25, yes: 0.75 } },
    });
  });

  it('refuses a request that does not fit whole and never grows past its capacity', () => {
    const queue = new PendingEvents(10, 4);
    expect(queue.offer(scored(1, 4))).toBe(true);
    expect(queue.offer(scored(1, 6))).toBe(true);
    expect(queue.offer(scored(1, 1))).toBe(false);
    expect(queue.offer(scored(1, 3))).toBe(false);
    expect(queue.size).toBe(10);
    // Room again once taken: the queue keeps working after a full spell.
    expect(queue.take()!.rows).toBe(4);
    expect(queue.offer(scored(1, 4))).toBe(true);
    expect(drain(queue).map((event) => event.rows)).toEqual([4, 4, 2]);
    expect(queue.size).toBe(0);
  });

  it('takes nothing when empty, and refuses rows per event outside 1 to the event limit', () => {
    expect(new PendingEvents(10).take()).toBeNull();
    expect(() => new PendingEvents(10, 0)).toThrow(/rows per event must be 1 to 1000, not 0/);
    expect(() => new PendingEvents(10, 1001)).toThrow(/not 1001/);
  });
});
