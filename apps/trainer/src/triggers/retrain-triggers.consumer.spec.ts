import { Logger } from '@nestjs/common';
import { EventEnvelope, EventName, EventNames, UnprocessableError } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import { EventBus } from '@sepal/messaging';
import { isPermanentFailure } from '@sepal/messaging/retry-policy';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import { TrainerConfig } from '../trainer.config';
import { ChampionLookup, ChampionTraining, DatasetVersions } from './retrain-evidence.service';
import { RetrainTriggersConsumer, SKIPPED_DRIFT_HINT } from './retrain-triggers.consumer';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);

/** Records what the consumer publishes instead of sending it. */
class RecordingBus {
  readonly published: { type: EventName; payload: unknown; correlationId?: string }[] = [];
  async publish(type: EventName, payload: unknown, options?: { correlationId?: string }): Promise<string> {
    this.published.push({ type, payload, correlationId: options?.correlationId });
    return 'id';
  }
}

/** The registry's champions by model; `failure` makes every lookup throw it. */
class FakeChampions extends ChampionLookup {
  readonly of = new Map<string, ChampionTraining>();
  failure: Error | null = null;
  async championTraining(modelName: string): Promise<ChampionTraining | null> {
    if (this.failure) throw this.failure;
    return this.of.get(modelName) ?? null;
  }
}

/** The data service's latest version by dataset; `failure` makes every lookup throw it. */
class FakeDatasets extends DatasetVersions {
  readonly latestOf = new Map<string, string>();
  failure: Error | null = null;
  asked: string[] = [];
  async latest(dataset: string): Promise<string> {
    this.asked.push(dataset);
    if (this.failure) throw this.failure;
    const id = this.latestOf.get(dataset);
    if (!id)
      throw new ServiceCallError(
        'data',
        'GET',
        `http://data.test/datasets/${dataset}/versions/latest`,
        404,
        `unknown dataset '${dataset}'`,
      );
    return id;
  }
}

const envelope = <N extends EventName>(type: N, payload: unknown): EventEnvelope<N> =>
  ({
    messageId: 'm',
    type,
    timestamp: new Date().toISOString(),
    correlationId: 'corr-1',
    payload,
  }) as EventEnvelope<N>;

const versioned = (reason: string) =>
  envelope(EventNames.DatasetVersioned, { dataset: 'iris', version: OLD, reason });

const drift = (modelName = 'IrisModel') =>
  envelope(EventNames.DriftDetected, {
    modelName,
    version: 3,
    features: [{ name: 'petal_length', psi: 0.4123 }],
    threshold: 0.2,
    detectedAt: '2025-01-01T12:00:00.000Z',
  });

const metrics = new TrainerMetrics();
async function driftAlerts(model: string, action: 'retrain' | 'skipped'): Promise<number> {
  const { values } = await metrics.driftAlerts.get();
  return values.find((v) => v.labels.model === model && v.labels.action === action)?.value ?? 0;
}

function consumer(env: NodeJS.ProcessEnv = {}) {
  const bus = new RecordingBus();
  const champions = new FakeChampions();
  const datasets = new FakeDatasets();
  // The champion was trained on OLD; the data service has NEW unless a test says otherwise.
  champions.of.set('IrisModel', { version: 3, datasetVersion: OLD });
  datasets.latestOf.set('iris', NEW);
  const triggers = new RetrainTriggersConsumer(
    bus as unknown as EventBus,
    TrainerConfig.load(env),
    champions,
    datasets,
    metrics,
  );
  return { bus, champions, datasets, triggers };
}

describe('RetrainTriggersConsumer', () => {
  let logs: { level: string; message: string }[];

  beforeEach(() => {
    logs = [];
    for (const level of ['log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => void logs.push({ level, message: String(args[0]) }));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('requests a retrain of a feedback version, traced to its cause', async () => {
    const { bus, triggers } = consumer();
    await triggers.onDatasetVersioned(versioned('feedback'));
    expect(bus.published).toEqual([
      {
        type: EventNames.TrainRequested,
        payload: {
          dataset: 'iris',
          version: OLD,
          reason: 'feedback',
          requestedBy: 'retrain-policy',
        },
        correlationId: 'corr-1',
      },
    ]);
  });

  it('ignores imports, and feedback versions when RETRAIN_ON_FEEDBACK is false', async () => {
    const { bus, triggers } = consumer();
    await triggers.onDatasetVersioned(versioned('import'));
    const off = consumer({ RETRAIN_ON_FEEDBACK: 'false' });
    await off.triggers.onDatasetVersioned(versioned('feedback'));
    expect(bus.published).toEqual([]);
    expect(off.bus.published).toEqual([]);
  });

  describe('drift.detected', () => {
    it('retrains on the newer dataset version when the champion was trained on an older one, and counts it', async () => {
      const { bus, triggers } = consumer();
      const before = await driftAlerts('IrisModel', 'retrain');
      await triggers.onDriftDetected(drift());
      expect(bus.published).toEqual([
        {
          type: EventNames.TrainRequested,
          payload: {
            dataset: 'iris',
            version: NEW,
            modelName: 'IrisModel',
            reason: 'drift',
            requestedBy: 'drift-monitor',
          },
          correlationId: 'corr-1',
        },
      ]);
      expect(await driftAlerts('IrisModel', 'retrain')).toBe(before + 1);
      expect(logs).toEqual([
        {
          level: 'log',
          message:
            'drift on IrisModel v3 (petal_length PSI 0.412): retrain of iris bbbbbbbbbbbb requested: ' +
            'champion v3 was trained on aaaaaaaaaaaa, iris has a newer version',
        },
      ]);
    });

    it('skips a retrain on the data the champion was trained on, counts it and says what the user can do', async () => {
      const { bus, triggers, datasets } = consumer();
      datasets.latestOf.set('iris', OLD);
      const before = await driftAlerts('IrisModel', 'skipped');
      const retrainsBefore = await driftAlerts('IrisModel', 'retrain');
      await triggers.onDriftDetected(drift());
      expect(bus.published).toEqual([]);
      expect(await driftAlerts('IrisModel', 'skipped')).toBe(before + 1);
      expect(await driftAlerts('IrisModel', 'retrain')).toBe(retrainsBefore);
      expect(logs).toEqual([
        {
          level: 'warn',
          message:
            'drift on IrisModel v3 (petal_length PSI 0.412): retrain skipped: champion v3 was trained on iris ' +
            'aaaaaaaaaaaa, still its latest version, and the same data with the same seed gives the same model, ' +
            `which the promotion gate rejects. ${SKIPPED_DRIFT_HINT}`,
        },
      ]);
      expect(SKIPPED_DRIFT_HINT).toMatch(/POST \/feedback.*POST \/train/);
    });

    it('retrains when there is nothing to compare with: no champion, or a champion of unknown data', async () => {
      const { bus, triggers, champions } = consumer();
      champions.of.clear();
      await triggers.onDriftDetected(drift());
      champions.of.set('IrisModel', { version: 3, datasetVersion: null });
      await triggers.onDriftDetected(drift());
      expect(bus.published.map((p) => p.payload)).toEqual([
        expect.objectContaining({ dataset: 'iris', version: NEW }),
        expect.objectContaining({ dataset: 'iris', version: NEW }),
      ]);
      expect(logs.map((l) => l.message)).toEqual([
        expect.stringMatching(/requested: IrisModel has no champion$/),
        expect.stringMatching(/requested: the lineage of champion v3 names no dataset version$/),
      ]);
    });

    it('compares with the dataset of the model: by default naming or by DRIFT_DATASETS', async () => {
      const mapped = consumer({ DRIFT_DATASETS: 'IrisModel=iris-v2' });
      mapped.datasets.latestOf.set('iris-v2', NEW);
      await mapped.triggers.onDriftDetected(drift());
      expect(mapped.datasets.asked).toEqual(['iris-v2']);
      expect(mapped.bus.published[0].payload).toMatchObject({ dataset: 'iris-v2', version: NEW });
    });

    it('records an alert with RETRAIN_ON_DRIFT false as skipped, asking no service', async () => {
      const off = consumer({ RETRAIN_ON_DRIFT: 'false' });
      const before = await driftAlerts('IrisModel', 'skipped');
      await off.triggers.onDriftDetected(drift());
      expect(off.bus.published).toEqual([]);
      expect(off.datasets.asked).toEqual([]);
      expect(await driftAlerts('IrisModel', 'skipped')).toBe(before + 1);
      expect(logs[0].message).toMatch(/retrain skipped: RETRAIN_ON_DRIFT is false\. To retrain/);
    });

    it('throws when the registry or the data service is unreachable, so the bus delivers the alert again', async () => {
      const unreachable = (service: string) =>
        new ServiceCallError(service, 'GET', `http://${service}.test/x`, null, 'connect ECONNREFUSED');
      for (const side of ['registry', 'data'] as const) {
        const { bus, triggers, champions, datasets } = consumer();
        const error = unreachable(side);
        if (side === 'registry') champions.failure = error;
        else datasets.failure = error;
        const before = {
          retrain: await driftAlerts('IrisModel', 'retrain'),
          skipped: await driftAlerts('IrisModel', 'skipped'),
        };
        const thrown = await triggers.onDriftDetected(drift()).catch((e: unknown) => e);
        expect(thrown).toBe(error);
        expect(isPermanentFailure(thrown)).toBe(false);
        expect(bus.published).toEqual([]);
        // Not decided, so not counted: it is counted once, when a delivery decides it.
        expect(await driftAlerts('IrisModel', 'retrain')).toBe(before.retrain);
        expect(await driftAlerts('IrisModel', 'skipped')).toBe(before.skipped);
      }
      expect(logs.map((l) => l.level)).toEqual(['warn', 'warn']);
      expect(logs[1].message).toMatch(
        /^drift on IrisModel v3: cannot tell whether a retrain of iris could change the model: data: GET .* failed: connect ECONNREFUSED; the alert will be delivered again$/,
      );
    });

    it('dead-letters at once an alert no retry can decide, e.g. for a dataset the data service does not know', async () => {
      const { bus, triggers } = consumer({ DRIFT_DATASETS: 'IrisModel=irsi' });
      const thrown = await triggers.onDriftDetected(drift()).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(UnprocessableError);
      expect(isPermanentFailure(thrown)).toBe(true);
      expect((thrown as UnprocessableError).message).toMatch(
        /^drift on IrisModel v3: cannot tell whether a retrain of irsi could change the model: data: GET .* answered 404: unknown dataset 'irsi'$/,
      );
      expect((thrown as UnprocessableError).hint).toMatch(/^DRIFT_DATASETS names the dataset of each model/);
      expect(bus.published).toEqual([]);
    });
  });
});
