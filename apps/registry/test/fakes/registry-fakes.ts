/**
 * In-memory fakes of the registry's repositories, artifact store and transaction port, for the `*.service.spec.ts`
 * beside each service. They keep the semantics the services rely on (ON CONFLICT DO NOTHING, merges, the latest metric
 * by step, row order) and check how services use transactions: a write must run in an open transaction, a failed one
 * is rolled back, and a read inside a transaction must go through it (the embedded database has a single session, so
 * a read beside the open transaction would wait for it forever).
 */
import { Logger } from '@nestjs/common';
import type { OutboxRelay } from '@sepal/messaging';
import { ArtifactsRepository } from '../../src/artifacts/artifacts.repository';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import { ArtifactStore } from '../../src/artifacts/artifact-store.repository';
import { InlineOnnxChecker, uploadPolicy } from '../../src/artifacts/onnx-checker.service';
import { InboxRepository } from '../../src/inbox/inbox.repository';
import { ModelsRepository } from '../../src/models/models.repository';
import { ModelsService } from '../../src/models/models.service';
import { RegistryConfig } from '../../src/registry.config';
import { RunsRepository } from '../../src/runs/runs.repository';
import { RunsService } from '../../src/runs/runs.service';
import { FakeArtifactsRepository, FakeArtifactStore } from './fake-artifacts';
import { FakeModelsRepository } from './fake-models';
import { FakeRunsRepository } from './fake-runs';
import { FakeClock, FakeInbox, FakeTransactions } from './fake-transactions';

export { FakeArtifactsRepository, FakeArtifactStore } from './fake-artifacts';
export { FakeModelsRepository } from './fake-models';
export { FakeRunsRepository } from './fake-runs';
export { FakeClock, FakeInbox, FakeTransactions } from './fake-transactions';

/** Counts flushes instead of publishing. */
export class FakeOutboxRelay implements Pick<OutboxRelay, 'flush'> {
  flushes = 0;

  async flush(): Promise<number> {
    this.flushes++;
    return 0;
  }
}

export const PUBLIC_URL = 'http://registry.test:3002';

/** The registry's services wired on fakes, with the fakes to inspect. */
export function registryOnFakes() {
  Logger.overrideLogger(false); // services log through Nest's Logger; specs stay quiet
  const clock = new FakeClock();
  const transactions = new FakeTransactions();
  const inbox = new FakeInbox(transactions);
  const runsRepository = new FakeRunsRepository(transactions, clock);
  const modelsRepository = new FakeModelsRepository(transactions, clock);
  const artifactsRepository = new FakeArtifactsRepository(transactions);
  const store = new FakeArtifactStore();
  const outbox = new FakeOutboxRelay();
  const runs = new RunsService(
    runsRepository as unknown as RunsRepository,
    inbox as unknown as InboxRepository,
    transactions,
    RegistryConfig.load({}),
  );
  const artifacts = new ArtifactsService(
    artifactsRepository as unknown as ArtifactsRepository,
    store as unknown as ArtifactStore,
    new InlineOnnxChecker(uploadPolicy(RegistryConfig.load({}))),
  );
  const models = new ModelsService(
    modelsRepository as unknown as ModelsRepository,
    inbox as unknown as InboxRepository,
    transactions,
    runs,
    artifacts,
    outbox as unknown as OutboxRelay,
    RegistryConfig.load({ REGISTRY_PUBLIC_URL: `${PUBLIC_URL}/` }),
  );
  return {
    runs,
    models,
    artifacts,
    transactions,
    inbox,
    runsRepository,
    modelsRepository,
    artifactsRepository,
    store,
    outbox,
  };
}
