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
    gateway.holder.swap(await gateway.loader.load(MODEL, source));
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

  it('answers the compatibility form (a flat object of named features) with class_name at the top level', async () => {
    await serve(1);
    const flat = await gateway.predictions.predict({ petal_length: 2, petal_width: 0 });
    expect(flat.class_name).toBe(LABELS[2]);
    expect(flat.predictions[0]).toMatchObject({ class: LABELS[2] });
    const wrapped = await gateway.predictions.predict({ features: { petal_length: 2, petal_width: 0 } });
    expect(wrapped).not.toHaveProperty('class_name');
  });

  it('scores the rows on the shadow off the response path, and a failing shadow leaves the answer intact', async () => {
    const [v1, v2] = [gateway.registry.add(1), gateway.registry.add(2)];
    gateway.registry.promote(v1);
    await gateway.manager.onPromoted({ modelName: MODEL, alias: 'champion', version: 1, sha256: v1.sha256 });
    gateway.registry.setTraffic([[1, 100]], v2.version);
    await gateway.manager.onTraffic({ modelName: MODEL });
    const entry = gateway.manager.find(MODEL);
    const shadowSession = gateway.sessions.created[1];
    let open!: () => void;
    shadowSession.gate = new Promise((resolve) => (open = resolve));
    // The shadow's run is held: the answer does not wait for it.
    const answer = await gateway.predictions.predict({
      instances: [
        [1, 0],
        [2, 0],
      ],
    });
    expect(answer.model.version).toBe(1);
    expect(shadowSession.runs).toEqual([1, 2]); // the warm-up run, then the two rows
    open();
    await new Promise((resolve) => setImmediate(resolve));
    const tally = entry.shadowTally!;
    // Counters that count nothing: the tally itself is what is checked.
    const ignored = { inc: () => undefined };
    const counters = {
      shadowRows: ignored,
      shadowFailures: ignored,
      shadowSkipped: ignored,
      shadowDisagreements: ignored,
    } as never;
    tally.flush(counters);
    expect([tally.rows, tally.agreements, tally.failures]).toEqual([2, 2, 0]);

    jest.spyOn(entry.shadow!, 'infer').mockRejectedValue(new Error('shadow broke'));
    const still = await gateway.predictions.predict({ features: [1, 0] });
    expect(still.predictions[0]).toMatchObject({ class: LABELS[1] });
    await new Promise((resolve) => setImmediate(resolve));
    tally.flush(counters);
    expect(tally.failures).toBe(1);
  });
});
