import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AliasAuditEntry,
  AliasMoveView,
  ConflictError,
  CreateModelRequest,
  CreateModelVersionRequest,
  InvalidInputError,
  LineageView,
  ModelPage,
  ModelRegistered,
  ModelVersionView,
  ModelView,
  nonEmptyName,
  NotFoundError,
  RunView,
  SetAliasRequest,
  UnprocessableError,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { artifactPath, ArtifactsService } from '../artifacts/artifacts.service';
import { InboxRepository, TRAINING_EVENTS } from '../inbox/inbox.repository';
import { decodePageToken, pageOf } from '../paging';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import { RunsService } from '../runs/runs.service';
import { ModelsRepository, VersionRecord } from './models.repository';

/** The alias whose moves are announced as model.promoted (inference serves it). */
export const CHAMPION = 'champion';

/** Registered models, versions, aliases (promotion with an outbox event) and lineage. */
@Injectable()
export class ModelsService {
  private readonly logger = new Logger(ModelsService.name);

  constructor(
    private readonly repository: ModelsRepository,
    private readonly inbox: InboxRepository,
    private readonly transactions: TransactionRunner,
    private readonly runs: RunsService,
    private readonly artifacts: ArtifactsService,
    private readonly outbox: OutboxRelay,
    @Inject(RegistryConfig) private readonly config: RegistryConfigValues,
  ) {}

  async createModel(request: CreateModelRequest) {
    this.runs.checkTags(request.tags);
    const created = await this.transactions.run((tx) =>
      this.repository.insertModel(tx, {
        name: request.name,
        description: request.description ?? null,
        tags: request.tags ?? {},
      }),
    );
    if (!created)
      throw new ConflictError(
        `model '${request.name}' already exists`,
        `GET /models/${request.name} shows it.`,
      );
    return { ...created, versions: [], aliases: {} };
  }

  async listModels(limit: number, pageToken?: string): Promise<ModelPage> {
    const offset = decodePageToken(pageToken);
    const page = pageOf(await this.repository.listModels(offset, limit + 1), offset, limit);
    const models = await Promise.all(
      page.items.map(async (model) => ({ ...model, aliases: await this.repository.aliases(model.name) })),
    );
    return { models, nextPageToken: page.nextPageToken };
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await this.repository.findModel(name);
    if (!model) throw new NotFoundError(`unknown model '${name}'`, 'GET /models lists them.');
    const versions = await this.repository.listVersions(name);
    return {
      ...model,
      versions: versions.map((v) => this.view(v)),
      aliases: await this.repository.aliases(name),
    };
  }

  async getVersion(name: string, version: number): Promise<ModelVersionView> {
    return this.view(await this.requireVersion(name, version));
  }

  /**
   * Registers the next version of a model (created if missing) from a run and an uploaded artifact (checked as an
   * ONNX model when it was uploaded), recording the key that registered it.
   */
  async createVersion(
    name: string,
    request: CreateModelVersionRequest,
    registeredBy: string,
  ): Promise<ModelVersionView> {
    // The name comes from the path and may create the model: it must be one POST /models and the events accept, or
    // every reader of the model list (the gateways) would find a model its contract refuses.
    if (nonEmptyName.safeParse(name).data !== name) {
      throw new InvalidInputError(
        `name: a model name is 1 to 200 characters with no leading or trailing space (got '${name.slice(0, 80)}')`,
        'POST /models registers a name; its versions are then added under it.',
      );
    }
    const artifact = await this.artifacts.find(request.sha256);
    if (!artifact) {
      throw new UnprocessableError(
        `artifact ${request.sha256} has not been uploaded`,
        'Upload it first: POST /artifacts with the bytes and an X-Content-SHA256 header.',
      );
    }
    const run = await this.runs.getRun(request.runId);
    const version = await this.transactions.run(async (tx) => {
      await this.ensureModelLocked(tx, name);
      return this.repository.insertVersion(tx, {
        name,
        version: await this.repository.nextVersion(tx, name),
        runId: run.id,
        sha256: artifact.sha256,
        size: artifact.size,
        signature: request.signature ?? null,
        metrics: { ...run.metrics, ...request.metrics },
        description: request.description ?? null,
        registeredBy,
      });
    });
    this.logger.log(
      `registered ${name} v${version.version} (${version.sha256.slice(0, 12)}) from run ${run.id}`,
    );
    return this.view(version);
  }

  /**
   * model.registered: creates that version unless it exists (same artifact: nothing to do; another: conflict). Only
   * over an artifact uploaded here, which was checked as an ONNX model then: an event never makes unchecked bytes a
   * version (refused, so dead-lettered with the reason).
   */
  async onModelRegistered(event: ModelRegistered, messageId: string): Promise<void> {
    const artifact = await this.artifacts.find(event.sha256);
    if (!artifact) {
      throw new UnprocessableError(
        `model.registered names ${event.modelName} v${event.version} with artifact ${event.sha256}, which was never uploaded here`,
      );
    }
    await this.transactions.run(async (tx) => {
      if (!(await this.inbox.claim(tx, messageId, TRAINING_EVENTS))) return;
      await this.ensureModelLocked(tx, event.modelName);
      const existing = await this.repository.findVersion(event.modelName, event.version, tx);
      if (existing) {
        if (existing.sha256 === event.sha256) return;
        throw new ConflictError(
          `${event.modelName} v${event.version} already exists with artifact ${existing.sha256}, not ${event.sha256}`,
        );
      }
      const run = await this.runs.getRun(event.runId, tx);
      await this.repository.insertVersion(tx, {
        name: event.modelName,
        version: event.version,
        runId: run.id,
        sha256: event.sha256,
        size: artifact.size,
        signature: null,
        metrics: { ...run.metrics, ...event.metrics },
        description: null,
        registeredBy: null,
      });
    });
  }

  async getAlias(name: string, alias: string): Promise<ModelVersionView & { alias: string }> {
    const aliases = await this.repository.aliases(name);
    const version = aliases[alias];
    if (version === undefined) {
      await this.requireModel(name);
      throw new NotFoundError(
        `model '${name}' has no alias '${alias}'`,
        `PUT /models/${name}/aliases/${alias} sets it.`,
      );
    }
    return { alias, ...(await this.getVersion(name, version)) };
  }

  /**
   * Points an alias at a version. The model row lock serialises concurrent moves, each is audited; moving the
   * champion also writes model.promoted to the outbox in the same transaction (published by the relay, with confirms).
   */
  async setAlias(name: string, alias: string, request: SetAliasRequest, by: string): Promise<AliasMoveView> {
    const reason = request.reason ?? '';
    const move = await this.transactions.run(async (tx) => {
      if (!(await this.repository.lockModel(tx, name))) throw new NotFoundError(`unknown model '${name}'`);
      const version = await this.repository.findVersion(name, request.version, tx);
      if (!version) {
        throw new NotFoundError(
          `model '${name}' has no version ${request.version}`,
          `GET /models/${name} lists them.`,
        );
      }
      if (alias === CHAMPION && version.size === null && !(await this.artifacts.find(version.sha256, tx))) {
        throw new UnprocessableError(
          `${name} v${version.version}'s artifact ${version.sha256} has not been uploaded, so it cannot be served`,
        );
      }
      const previousVersion = (await this.repository.aliases(name, tx))[alias] ?? null;
      await this.repository.setAlias(tx, name, alias, version.version);
      const entry = await this.repository.insertAudit(tx, {
        name,
        alias,
        fromVersion: previousVersion,
        toVersion: version.version,
        by,
        reason,
      });
      const announce = alias === CHAMPION && previousVersion !== version.version;
      if (announce) {
        await this.repository.enqueuePromotion(tx, {
          modelName: name,
          alias,
          version: version.version,
          sha256: version.sha256,
          artifactUrl: this.artifactUrl(version.sha256),
          previousVersion,
          reason,
          promotedBy: by,
          promotedAt: entry.at,
        });
      }
      return { alias, version: version.version, previousVersion, announce };
    });
    this.logger.log(`${name}: ${alias} ${move.previousVersion ?? '-'} -> ${move.version} by ${by}`);
    if (move.announce) void this.outbox.flush().catch(() => undefined);
    return { alias: move.alias, version: move.version, previousVersion: move.previousVersion };
  }

  async audit(name: string, alias?: string): Promise<AliasAuditEntry[]> {
    await this.requireModel(name);
    return this.repository.audit(name, alias);
  }

  /** Model version → source run → its parent sweep → the dataset version it trained on. */
  async lineage(name: string, versionNumber: number): Promise<LineageView> {
    const version = await this.requireVersion(name, versionNumber);
    const run: RunView | null = version.runId
      ? await this.runs.getRun(version.runId).catch(() => null)
      : null;
    const parentRun = run?.parentRunId ? await this.runs.getRun(run.parentRunId).catch(() => null) : null;
    return {
      model: name,
      version: version.version,
      sha256: version.sha256,
      run,
      parentRun,
      dataset: run?.dataset ?? parentRun?.dataset ?? null,
      datasetVersion: run?.datasetVersion ?? parentRun?.datasetVersion ?? null,
    };
  }

  private async ensureModelLocked(tx: Transaction, name: string): Promise<void> {
    await this.repository.insertModel(tx, { name, description: null, tags: {} });
    await this.repository.lockModel(tx, name);
  }

  private async requireModel(name: string): Promise<void> {
    if (!(await this.repository.findModel(name)))
      throw new NotFoundError(`unknown model '${name}'`, 'GET /models lists them.');
  }

  private async requireVersion(name: string, version: number): Promise<VersionRecord> {
    const found =
      Number.isInteger(version) && version > 0 ? await this.repository.findVersion(name, version) : null;
    if (!found) {
      await this.requireModel(name);
      throw new NotFoundError(`model '${name}' has no version ${version}`, `GET /models/${name} lists them.`);
    }
    return found;
  }

  private artifactUrl(sha256: string): string {
    return `${this.config.REGISTRY_PUBLIC_URL}${artifactPath(sha256)}`;
  }

  private view(version: VersionRecord): ModelVersionView {
    return { ...version, artifactUrl: this.artifactUrl(version.sha256) };
  }
}
