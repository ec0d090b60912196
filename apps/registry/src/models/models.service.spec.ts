import { createHash, randomUUID } from 'node:crypto';
import {
  ConflictError,
  InvalidInputError,
  ModelRegistered,
  NotFoundError,
  UnprocessableError,
} from '@sepal/contracts';
import { smallOnnxModel } from '@sepal/testing/onnx-fixture';
import { PUBLIC_URL, registryOnFakes } from '../../test/fakes/registry-fakes';

const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');

/** The registry on fakes with a sweep, a run of it with an f1 metric, and two uploaded artifacts. */
async function setup() {
  const fakes = registryOnFakes();
  const { runs, artifacts } = fakes;
  const sweep = (
    await runs.createRun({ experiment: 'm', status: 'running', dataset: 'iris', datasetVersion: 'v' })
  ).run;
  const run = (await runs.createRun({ experiment: 'm', status: 'running', parentRunId: sweep.id })).run;
  await runs.logMetrics(run.id, [{ key: 'f1', value: 0.9, step: 1 }]);
  const [v1, v2] = [smallOnnxModel('model one'), smallOnnxModel('model two')];
  await artifacts.upload(v1, sha(v1), 'trainer');
  await artifacts.upload(v2, sha(v2), 'trainer');
  const registered = (overrides: Partial<ModelRegistered> = {}): ModelRegistered => ({
    modelName: 'from-events',
    version: 1,
    runId: run.id,
    sha256: sha(v1),
    artifactUrl: `http://trainer/artifacts/${sha(v1)}`,
    metrics: { accuracy: 0.97 },
    registeredAt: '2025-03-01T00:00:00.000Z',
    ...overrides,
  });
  return { ...fakes, sweep, run, shaV1: sha(v1), shaV2: sha(v2), sizeV1: v1.length, registered };
}

describe('ModelsService', () => {
  it('creates a model once; the same name again is a conflict', async () => {
    const { models } = await setup();
    expect(await models.createModel({ name: 'iris', description: 'MLP' })).toMatchObject({
      name: 'iris',
      description: 'MLP',
      versions: [],
      aliases: {},
    });
    await expect(models.createModel({ name: 'iris' })).rejects.toThrow(ConflictError);
  });

  describe('createVersion', () => {
    it('numbers versions per model from 1, creating the model if missing', async () => {
      const { models, run, shaV1, shaV2 } = await setup();
      const numbers = [
        (await models.createVersion('a', { runId: run.id, sha256: shaV1 }, 'trainer')).version,
        (await models.createVersion('a', { runId: run.id, sha256: shaV2 }, 'trainer')).version,
        (await models.createVersion('b', { runId: run.id, sha256: shaV1 }, 'trainer')).version,
        (await models.createVersion('a', { runId: run.id, sha256: shaV1 }, 'trainer')).version,
      ];
      expect(numbers).toEqual([1, 2, 1, 3]);
      expect((await models.getModel('a')).versions.map((v) => v.version)).toEqual([1, 2, 3]);
    });

    it('records the artifact, its absolute URL and the run’s metrics, overridden by the request’s', async () => {
      const { models, run, shaV1, sizeV1 } = await setup();
      const version = await models.createVersion(
        'iris',
        {
          runId: run.id,
          sha256: shaV1,
          metrics: { accuracy: 0.95 },
        },
        'trainer',
      );
      expect(version).toMatchObject({
        name: 'iris',
        runId: run.id,
        sha256: shaV1,
        size: sizeV1,
        artifactUrl: `${PUBLIC_URL}/artifacts/${shaV1}`,
        metrics: { f1: 0.9, accuracy: 0.95 },
        registeredBy: 'trainer',
      });
    });

    it('refuses an artifact not uploaded (422) or an unknown run (404), creating nothing', async () => {
      const { models, run, shaV1, modelsRepository } = await setup();
      await expect(
        models.createVersion('iris', { runId: run.id, sha256: 'e'.repeat(64) }, 'trainer'),
      ).rejects.toThrow(UnprocessableError);
      await expect(
        models.createVersion('iris', { runId: randomUUID(), sha256: shaV1 }, 'trainer'),
      ).rejects.toThrow(NotFoundError);
      expect(await modelsRepository.findModel('iris')).toBeNull();
    });

    it('refuses a name POST /models would refuse (400), creating no model', async () => {
      const { models, run, shaV1, modelsRepository } = await setup();
      for (const name of [' ', '', ' iris', 'iris ', 'a'.repeat(201)]) {
        await expect(models.createVersion(name, { runId: run.id, sha256: shaV1 }, 'trainer')).rejects.toThrow(
          InvalidInputError,
        );
        expect(await modelsRepository.findModel(name)).toBeNull();
      }
      expect(
        (await models.createVersion('a'.repeat(200), { runId: run.id, sha256: shaV1 }, 'trainer')).version,
      ).toBe(1);
    });
  });

  describe('setAlias', () => {
    async function withTwoVersions() {
      const fixture = await setup();
      const { models, run, shaV1, shaV2 } = fixture;
      await models.createVersion('iris', { runId: run.id, sha256: shaV1 }, 'trainer');
      await models.createVersion('iris', { runId: run.id, sha256: shaV2 }, 'trainer');
      return fixture;
    }

    it('moves the champion, audits each move and writes one model.promoted per change to the outbox', async () => {
      const { models, modelsRepository, outbox, shaV2 } = await withTwoVersions();
      expect(await models.setAlias('iris', 'champion', { version: 1, reason: 'first' }, 'alice')).toEqual({
        alias: 'champion',
        version: 1,
        previousVersion: null,
      });
      expect(await models.setAlias('iris', 'champion', { version: 2, reason: 'better f1' }, 'bob')).toEqual({
        alias: 'champion',
        version: 2,
        previousVersion: 1,
      });
      await models.setAlias('iris', 'champion', { version: 2, reason: 'again' }, 'carol');

      expect(
        modelsRepository.auditLog.map((a) => [a.alias, a.fromVersion, a.toVersion, a.by, a.reason]),
      ).toEqual([
        ['champion', null, 1, 'alice', 'first'],
        ['champion', 1, 2, 'bob', 'better f1'],
        ['champion', 2, 2, 'carol', 'again'],
      ]);
      expect(modelsRepository.outbox.map((e) => [e.version, e.previousVersion])).toEqual([
        [1, null],
        [2, 1],
      ]);
      expect(modelsRepository.outbox[1]).toEqual({
        modelName: 'iris',
        alias: 'champion',
        version: 2,
        sha256: shaV2,
        artifactUrl: `${PUBLIC_URL}/artifacts/${shaV2}`,
        previousVersion: 1,
        reason: 'better f1',
        promotedBy: 'bob',
        promotedAt: modelsRepository.auditLog[1].at,
      });
      expect(outbox.flushes).toBe(2);
      expect((await models.getAlias('iris', 'champion')).version).toBe(2);
      expect(await models.audit('iris', 'champion')).toHaveLength(3);
    });

    it('audits other aliases without announcing them', async () => {
      const { models, modelsRepository, outbox } = await withTwoVersions();
      await models.setAlias('iris', 'challenger', { version: 2 }, 'tester');
      expect(modelsRepository.auditLog).toEqual([
        expect.objectContaining({ alias: 'challenger', toVersion: 2, by: 'tester', reason: '' }),
      ]);
      expect(modelsRepository.outbox).toEqual([]);
      expect(outbox.flushes).toBe(0);
      expect((await models.getModel('iris')).aliases).toEqual({ challenger: 2 });
    });

    it('refuses an unknown model or version with a 404, moving and auditing nothing', async () => {
      const { models, modelsRepository } = await withTwoVersions();
      await expect(models.setAlias('nope', 'champion', { version: 1 }, 'tester')).rejects.toThrow(
        "unknown model 'nope'",
      );
      await expect(models.setAlias('iris', 'champion', { version: 9 }, 'tester')).rejects.toThrow(
        "model 'iris' has no version 9",
      );
      expect(modelsRepository.auditLog).toEqual([]);
      await expect(models.getAlias('iris', 'champion')).rejects.toThrow(
        "model 'iris' has no alias 'champion'",
      );
      await expect(models.getAlias('nope', 'champion')).rejects.toThrow("unknown model 'nope'");
    });

    it('refuses to make champion a version whose artifact was never uploaded (422), and rolls back', async () => {
      const { models, modelsRepository, run, transactions } = await setup();
      // A version recorded before artifacts were required (neither REST nor an event creates one now).
      await transactions.run(async (tx) => {
        await modelsRepository.insertModel(tx, { name: 'from-events', description: null, tags: {} });
        await modelsRepository.insertVersion(tx, {
          name: 'from-events',
          version: 1,
          runId: run.id,
          sha256: 'f'.repeat(64),
          size: null,
          signature: null,
          metrics: {},
          description: null,
          registeredBy: null,
        });
      });
      const rolledBack = transactions.rolledBack;
      await expect(models.setAlias('from-events', 'champion', { version: 1 }, 'tester')).rejects.toThrow(
        UnprocessableError,
      );
      expect(transactions.rolledBack).toBe(rolledBack + 1);
      expect(await modelsRepository.aliases('from-events')).toEqual({});
      expect(modelsRepository.outbox).toEqual([]);
      await models.setAlias('from-events', 'challenger', { version: 1 }, 'tester');
      expect(await modelsRepository.aliases('from-events')).toEqual({ challenger: 1 });
    });
  });

  describe('onModelRegistered', () => {
    it('creates the announced version once per message, merging the run’s metrics', async () => {
      const { models, registered, shaV1, sizeV1 } = await setup();
      await models.onModelRegistered(registered({ version: 3 }), 'm-1');
      await models.onModelRegistered(registered({ version: 3 }), 'm-1');
      await models.onModelRegistered(registered({ version: 3 }), 'm-2');
      const model = await models.getModel('from-events');
      expect(model.versions).toEqual([
        expect.objectContaining({
          version: 3,
          sha256: shaV1,
          size: sizeV1,
          metrics: { f1: 0.9, accuracy: 0.97 },
        }),
      ]);
    });

    it('refuses the same version with another artifact, leaving the message unclaimed', async () => {
      const { models, registered, shaV2, transactions } = await setup();
      await models.onModelRegistered(registered(), 'm-1');
      const conflict = registered({ sha256: shaV2 });
      await expect(models.onModelRegistered(conflict, 'm-2')).rejects.toThrow(ConflictError);
      await expect(models.onModelRegistered(conflict, 'm-2')).rejects.toThrow(ConflictError);
      expect(transactions.rolledBack).toBe(2);
    });

    it('refuses an artifact never uploaded (so never checked as ONNX), creating nothing', async () => {
      const { models, registered, modelsRepository } = await setup();
      await expect(models.onModelRegistered(registered({ sha256: 'f'.repeat(64) }), 'm-1')).rejects.toThrow(
        `model.registered names from-events v1 with artifact ${'f'.repeat(64)}, which was never uploaded here`,
      );
      expect(await modelsRepository.findModel('from-events')).toBeNull();
    });

    it('refuses an unknown run, creating no model', async () => {
      const { models, registered, modelsRepository } = await setup();
      await expect(models.onModelRegistered(registered({ runId: randomUUID() }), 'm-1')).rejects.toThrow(
        NotFoundError,
      );
      expect(await modelsRepository.findModel('from-events')).toBeNull();
    });
  });

  it('traces a version to its run, the run’s sweep and the sweep’s dataset version', async () => {
    const { models, run, sweep, shaV1 } = await setup();
    await models.createVersion('iris', { runId: run.id, sha256: shaV1 }, 'trainer');
    const lineage = await models.lineage('iris', 1);
    expect(lineage).toMatchObject({
      model: 'iris',
      version: 1,
      sha256: shaV1,
      dataset: 'iris',
      datasetVersion: 'v',
    });
    expect([lineage.run?.id, lineage.parentRun?.id]).toEqual([run.id, sweep.id]);
    await expect(models.lineage('iris', 2)).rejects.toThrow("model 'iris' has no version 2");
    await expect(models.lineage('iris', 0)).rejects.toThrow(NotFoundError);
    await expect(models.audit('nope')).rejects.toThrow("unknown model 'nope'");
  });
});
