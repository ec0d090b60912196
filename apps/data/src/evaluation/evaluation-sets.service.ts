import { Inject, Injectable, Logger } from '@nestjs/common';
import { EvaluationRowsPage, EvaluationSetView, NotFoundError, UnprocessableError } from '@sepal/contracts';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { DataAuditService } from '../audit/data-audit.service';
import { sameBase } from '../datasets/datasets.service';
import { EvaluationSetRecord, EvaluationSetsRepository, VersionStep } from './evaluation-sets.repository';

/** The repository as the service uses it (an in-memory fake in its spec). */
export type EvaluationSetStore = Pick<
  EvaluationSetsRepository,
  | 'lockDataset'
  | 'find'
  | 'version'
  | 'versionsAfter'
  | 'importer'
  | 'save'
  | 'markSeen'
  | 'takeTestRows'
  | 'count'
  | 'page'
>;

const short = (id: string) => id.slice(0, 12);

/**
 * Each model's frozen evaluation set: what its promotions are decided on. Frozen at the model's first promotion from
 * the test rows of the dataset version it was trained on (by row id; feedback rows never), then changed only by
 * imports (a data:write key): an import's new test rows extend it, and an import under another base schema (whose
 * rows the old ones cannot be compared with) refreezes it from that version. Feedback commits never touch it.
 * Every change is audited with the key that made it (the importer's, for an extension).
 */
@Injectable()
export class EvaluationSetsService {
  private readonly logger = new Logger('EvaluationSets');

  constructor(
    @Inject(EvaluationSetsRepository) private readonly store: EvaluationSetStore,
    private readonly transactions: TransactionRunner,
    private readonly audit: DataAuditService,
  ) {}

  /**
   * The model's set, frozen at `versionId` if it has none yet, brought up to date with the imports since. Idempotent:
   * once frozen, `versionId` is ignored.
   */
  async freeze(dataset: string, model: string, versionId: string, actor: string): Promise<EvaluationSetView> {
    const set = await this.transactions.run(async (tx) => {
      if (!(await this.store.lockDataset(tx, dataset))) {
        throw new NotFoundError(
          `unknown dataset '${dataset}'`,
          `Import it: POST /datasets/${dataset}/import.`,
        );
      }
      const existing = await this.store.find(model, dataset, tx);
      const current = existing ?? (await this.freezeAt(tx, dataset, model, versionId, actor));
      return this.catchUp(tx, current);
    });
    return this.view(set);
  }

  /** The model's set as it stands (no catch-up); 404 when it was never frozen. */
  async get(dataset: string, model: string): Promise<EvaluationSetView> {
    const set = await this.store.find(model, dataset);
    if (!set) throw notFrozen(dataset, model);
    return this.view(set);
  }

  async rows(dataset: string, model: string, cursor: number, limit: number): Promise<EvaluationRowsPage> {
    if (!(await this.store.find(model, dataset))) throw notFrozen(dataset, model);
    const page = await this.store.page(model, dataset, cursor, limit);
    return { model, dataset, ...page };
  }

  private async freezeAt(
    tx: Transaction,
    dataset: string,
    model: string,
    versionId: string,
    actor: string,
  ): Promise<EvaluationSetRecord> {
    const version = await this.store.version(tx, dataset, versionId);
    if (!version) {
      throw new UnprocessableError(
        `dataset '${dataset}' has no version ${short(versionId)} to freeze the evaluation set of '${model}' from`,
        `List the versions: GET /datasets/${dataset}/versions.`,
      );
    }
    return this.rebase(tx, { model, dataset }, version, actor, 'the first promotion');
  }

  /** (Re)freezes a set at `version`: its rows become that version's live test rows, feedback excluded. */
  private async rebase(
    tx: Transaction,
    key: Pick<EvaluationSetRecord, 'model' | 'dataset'>,
    version: VersionStep,
    actor: string,
    why: string,
  ): Promise<EvaluationSetRecord> {
    const record = {
      ...key,
      baseVersion: version.id,
      schema: version.schema,
      seenSeq: version.seq,
      frozenBy: actor,
    };
    await this.store.save(tx, record);
    const rows = await this.store.takeTestRows(tx, key, version, 'live');
    await this.audit.record(
      { dataset: key.dataset, action: 'evaluation-set-frozen', version: version.id, created: true, actor },
      tx,
    );
    this.logger.log(
      `${key.model}: evaluation set frozen at ${key.dataset} v${version.seq} ${short(version.id)} ` +
        `(${rows} test rows, ${why}) by ${actor}`,
    );
    return { ...record, frozenAt: new Date().toISOString() };
  }

  /** Takes the imports since the set last looked; feedback versions are passed over. */
  private async catchUp(tx: Transaction, set: EvaluationSetRecord): Promise<EvaluationSetRecord> {
    let current = set;
    const later = await this.store.versionsAfter(tx, set.dataset, set.seenSeq);
    for (const version of later) {
      if (version.reason !== 'import') continue;
      const actor = (await this.store.importer(tx, version.id)) ?? `import of v${version.seq}`;
      if (!sameBase(current.schema, version.schema)) {
        current = await this.rebase(tx, current, version, actor, 'an import changed the schema');
        continue;
      }
      const added = await this.store.takeTestRows(tx, current, version, 'added');
      if (added > 0) {
        await this.audit.record(
          {
            dataset: set.dataset,
            action: 'evaluation-set-extended',
            version: version.id,
            created: true,
            actor,
          },
          tx,
        );
        this.logger.log(
          `${set.model}: evaluation set extended by ${added} test rows of import v${version.seq} by ${actor}`,
        );
      }
      current = { ...current, schema: version.schema };
    }
    const last = later.at(-1);
    if (last && last.seq > current.seenSeq) {
      await this.store.markSeen(tx, current, last.seq, current.schema);
      current = { ...current, seenSeq: last.seq };
    }
    return current;
  }

  private async view(set: EvaluationSetRecord): Promise<EvaluationSetView> {
    return {
      model: set.model,
      dataset: set.dataset,
      baseVersion: set.baseVersion,
      seenSeq: set.seenSeq,
      rows: await this.store.count(set.model, set.dataset),
      frozenBy: set.frozenBy,
      frozenAt: set.frozenAt,
    };
  }
}

function notFrozen(dataset: string, model: string): NotFoundError {
  return new NotFoundError(
    `model '${model}' has no frozen evaluation set on dataset '${dataset}'`,
    'It is frozen at the model’s first gated promotion (POST /datasets/:name/evaluation-sets/:model).',
  );
}
