import { Logger } from '@nestjs/common';
import { InvalidInputError, UnavailableError, type ClassPredictionRow } from '@sepal/contracts';
import { DATASET_VERSION, fakeGateway, LABELS, MODEL, RUN_ID } from '../../test/fakes';
import { PredictInputError } from './parse-input';

describe('PredictService', () => {
  let gateway: ReturnType<typeof fakeGateway>;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    gateway = fakeGateway({ MAX_BATCH_ROWS: '3' });
  });
  afterEach(async () => {
    await gateway.manager.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  async function serve(version: number) {
    const source = gateway.registry.add(version);
    gateway.holder.swap(await gateway.loader.load(source));
    return source;
  }

  it('answers each row with its class and probabilities, and the model name, version and SHA-256', async () => {
    const source = await serve(3);
    const answer = await gateway.predictions.predict({
      instances: [{ petal_length: 1, petal_width: 0 }, [2, 5]],
    });
    expect(answer.model).toEqual({
      name: MODEL,
      version: 3,
      sha256: source.sha256,
      runId: RUN_ID,
      datasetVersion: DATASET_VERSION,
    });
    const rows = answer.predictions as ClassPredictionRow[];
    expect(rows.map((p) => [p.class, p.classIndex])).toEqual([
      [LABELS[1], 1],
      [LABELS[2], 2],
    ]);
    expect(rows[0].probabilities).toEqual({
      [LABELS[0]]: expect.closeTo(0.1, 6),
      [LABELS[1]]: expect.closeTo(0.8, 6),
      [LABELS[2]]: expect.closeTo(0.1, 6),
    });
  });

  it('names the model that scored the request even when a new one is swapped in meanwhile', async () => {
    await serve(1);
    const session = gateway.sessions.created[0];
    let open!: () => void;
    session.gate = new Promise((resolve) => (open = resolve));
    const answer = gateway.predictions.predict({ features: [0, 0] });
    await serve(2);
    expect(session.released).toBe(false);
    open();
    expect((await answer).model.version).toBe(1);
    expect(session.released).toBe(true);
    expect((await gateway.predictions.predict({ features: [0, 0] })).model.version).toBe(2);
  });

  it.each([
    [{ features: { petal_length: 1 } }, 'features: missing feature(s) petal_width'],
    [{ features: [1, 'x'] }, 'features[1] (petal_width): must be a finite number (got a string "x")'],
    [
      {
        instances: [
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
        ],
      },
      'instances: 4 rows is more than the maximum of 3',
    ],
    ['rows', 'body: expected a JSON object, got a string "rows"'],
  ])('refuses %j as a 400 naming the field, and releases the model', async (body, message) => {
    await serve(1);
    const error = await gateway.predictions.predict(body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PredictInputError);
    expect((error as InvalidInputError).kind).toBe('invalid');
    expect((error as Error).message).toContain(message);
    expect(gateway.holder.model!.inUse).toBe(0);
    expect(gateway.sessions.created[0].runs).toEqual([1]);
  });

  it('answers 503 while no model is served', async () => {
    const error = await gateway.predictions.predict({ features: [1, 2] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/^no model is being served yet/);
  });
});
