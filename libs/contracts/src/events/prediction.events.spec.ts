import { randomUUID } from 'node:crypto';
import { parseEventPayload } from './envelope';
import { EventNames } from './event-names';
import {
  expandLoggedPredictions,
  groupLoggedPredictions,
  MAX_LOGGED_PREDICTIONS_PER_EVENT,
  predictionIdSchema,
  type LoggedPrediction,
} from './prediction.events';

const at = new Date('2026-12-07T12:00:00.123Z').toISOString();
const classified = (version: number, predicted: string): LoggedPrediction => ({
  predictionId: randomUUID(),
  model: 'Iris',
  version,
  sha256: 'a'.repeat(64),
  inputs: { sepal_length: 5.1, colour: 'red', petal_width: null },
  output: { class: predicted, probabilities: { setosa: 0.75, versicolor: 0.25 } },
  latencyMs: 0.5,
  keyName: 'reader',
  at,
  testMetrics: { test_accuracy: 0.9 },
});
const regressed: LoggedPrediction = {
  predictionId: randomUUID(),
  model: 'Prices',
  version: 1,
  sha256: 'b'.repeat(64),
  inputs: { rooms: 3 },
  output: { value: 250.5 },
  latencyMs: 1,
  keyName: null,
  at,
};

describe('predictions.logged', () => {
  it('groups records by model version and expands them back unchanged', () => {
    const records = [
      classified(1, 'setosa'),
      regressed,
      classified(2, 'versicolor'),
      classified(1, 'versicolor'),
    ];
    const payload = groupLoggedPredictions(records);
    expect(payload.groups.map((group) => [group.model, group.version, group.predictionIds.length])).toEqual([
      ['Iris', 1, 2],
      ['Prices', 1, 1],
      ['Iris', 2, 1],
    ]);
    expect(payload.groups[0]).toMatchObject({
      features: ['sepal_length', 'colour', 'petal_width'],
      labels: ['setosa', 'versicolor'],
    });
    const parsed = parseEventPayload(EventNames.PredictionsLogged, payload);
    const byId = new Map(expandLoggedPredictions(parsed).map((record) => [record.predictionId, record]));
    for (const record of records) expect(byId.get(record.predictionId)).toEqual(record);
  });

  it("refuses columns that do not fit their group's rows, features and labels, naming the column", () => {
    const payload = groupLoggedPredictions([classified(1, 'setosa'), classified(1, 'versicolor')]);
    const broken = (change: (group: (typeof payload.groups)[number]) => void) => {
      const copy = structuredClone(payload);
      change(copy.groups[0]);
      return () => parseEventPayload(EventNames.PredictionsLogged, copy);
    };
    expect(broken((group) => group.inputs.pop())).toThrow(/inputs: 5 entries for 2 rows of 3/);
    expect(broken((group) => group.latencyMs.pop())).toThrow(/latencyMs: 1 entries for 2 rows/);
    expect(broken((group) => group.keyNames.push('extra'))).toThrow(/keyNames: 3 entries for 2 rows/);
    expect(broken((group) => (group.classes![1] = 2))).toThrow(
      /classes\[1\]: 2 is not an index into the 2 labels/,
    );
    expect(broken((group) => group.probabilities!.push(0))).toThrow(
      /probabilities: 5 entries for 2 rows of 2/,
    );
    expect(broken((group) => delete group.probabilities)).toThrow(/a classifier's group needs both/);
    expect(broken((group) => (group.values = [1, 2]))).toThrow(/a classifier \(labels\) has classes and/);
    expect(broken((group) => (group.at[1] = 8_640_000_000_000_001))).toThrow(/at\.1/);
    expect(broken((group) => (group.predictionIds[0] = 'not-a-uuid'))).toThrow(/predictionIds\.0/);
    // The same rule as a feedback's predictionId: an RFC 9562 variant (a UUID's 17th hex digit is 8, 9, a or b).
    const wrongVariant = '01a252cf-f69a-7e24-c4a9-cbfb80451bb8';
    expect(predictionIdSchema.safeParse(wrongVariant).success).toBe(false);
    expect(broken((group) => (group.predictionIds[1] = wrongVariant))).toThrow(
      /predictionIds\.1: must be a UUID/,
    );
    expect(broken((group) => (group.inputs[4] = { nested: 1 } as never))).toThrow(
      /inputs\.4: must be a finite number, a string of at most 1000 characters or null/,
    );
    expect(broken((group) => (group.probabilities![0] = Number.POSITIVE_INFINITY))).toThrow(
      /probabilities\.0: must be a finite number/,
    );
    expect(broken((group) => (group.latencyMs[1] = -1))).toThrow(
      /latencyMs\.1: must be a finite number from 0/,
    );
    expect(broken((group) => (group.keyNames[0] = 'k'.repeat(201)))).toThrow(
      /keyNames\.0: must be a key name/,
    );
    expect(broken((group) => (group.classes![0] = 0.5))).toThrow(/classes\.0: must be a class index/);
    expect(broken((group) => (group.predictionIds = []))).toThrow(
      /predictionIds: must have 1 to 1000 entries, not 0/,
    );
    const prices = groupLoggedPredictions([regressed]);
    delete prices.groups[0].values;
    expect(() => parseEventPayload(EventNames.PredictionsLogged, prices)).toThrow(
      /a regressor's group needs one value per row/,
    );
  });

  it(`refuses more than ${MAX_LOGGED_PREDICTIONS_PER_EVENT} rows in one event, across groups`, () => {
    const many = (version: number) =>
      groupLoggedPredictions(Array.from({ length: 600 }, () => classified(version, 'setosa'))).groups[0];
    expect(() => parseEventPayload(EventNames.PredictionsLogged, { groups: [many(1), many(2)] })).toThrow(
      /at most 1000 rows in all groups of one event/,
    );
  });

  it('refuses a record whose class has no probability when grouping', () => {
    const record = classified(1, 'virginica');
    expect(() => groupLoggedPredictions([record])).toThrow(`class 'virginica' has no probability`);
  });
});
