/** Registered models, versions, aliases, their audit and the outbox in memory, for ModelsService specs. */
import {
  AliasAuditEntry,
  EventNames,
  EventPayloadInput,
  ModelPromoted,
  modelPromotedSchema,
} from '@sepal/contracts';
import { Transaction } from '@sepal/persistence';
import {
  ModelRecord,
  ModelsRepository,
  NewAuditEntry,
  VersionRecord,
} from '../../src/models/models.repository';
import { FakeClock, FakeTransactions, PublicOf, TransactionalStore } from './fake-transactions';

interface ModelsState {
  models: ModelRecord[];
  versions: VersionRecord[];
  aliases: { name: string; alias: string; version: number }[];
  audit: AliasAuditEntry[];
  /** The outbox: model.promoted events written in committed transactions. */
  outbox: ModelPromoted[];
}

export class FakeModelsRepository
  extends TransactionalStore<ModelsState>
  implements PublicOf<ModelsRepository>
{
  constructor(
    transactions: FakeTransactions,
    private readonly clock: FakeClock,
  ) {
    super({ models: [], versions: [], aliases: [], audit: [], outbox: [] }, transactions);
  }

  get outbox(): readonly ModelPromoted[] {
    return this.state.outbox;
  }

  get auditLog(): readonly AliasAuditEntry[] {
    return this.state.audit;
  }

  async insertModel(
    tx: Transaction,
    model: { name: string; description: string | null; tags: Record<string, string> },
  ): Promise<ModelRecord | null> {
    this.transactions.write(tx);
    if (this.model(model.name)) return null;
    const created = { ...model, createdAt: this.clock.now() };
    this.state.models.push(created);
    return created;
  }

  async lockModel(tx: Transaction, name: string): Promise<ModelRecord | null> {
    this.transactions.write(tx);
    return this.model(name) ?? null;
  }

  async findModel(name: string): Promise<ModelRecord | null> {
    this.transactions.read(undefined);
    return this.model(name) ?? null;
  }

  async listModels(
    offset: number,
    limit: number,
  ): Promise<(ModelRecord & { latestVersion: number | null })[]> {
    this.transactions.read(undefined);
    return [...this.state.models]
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(offset, offset + limit)
      .map((m) => {
        const versions = this.versionsOf(m.name).map((v) => v.version);
        return { ...m, latestVersion: versions.length ? Math.max(...versions) : null };
      });
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    this.transactions.read(undefined);
    return this.versionsOf(name);
  }

  async findVersion(name: string, version: number, tx?: Transaction): Promise<VersionRecord | null> {
    this.transactions.read(tx);
    return this.versionsOf(name).find((v) => v.version === version) ?? null;
  }

  async nextVersion(tx: Transaction, name: string): Promise<number> {
    this.transactions.write(tx);
    return Math.max(0, ...this.versionsOf(name).map((v) => v.version)) + 1;
  }

  async insertVersion(tx: Transaction, version: Omit<VersionRecord, 'createdAt'>): Promise<VersionRecord> {
    this.transactions.write(tx);
    if (!this.model(version.name)) throw new Error(`foreign key: no model '${version.name}'`);
    if (this.versionsOf(version.name).some((v) => v.version === version.version)) {
      throw new Error(`duplicate key: ${version.name} v${version.version}`);
    }
    const created = { ...version, createdAt: this.clock.now() };
    this.state.versions.push(created);
    return created;
  }

  async aliases(name: string, tx?: Transaction): Promise<Record<string, number>> {
    this.transactions.read(tx);
    const rows = this.state.aliases.filter((a) => a.name === name);
    return Object.fromEntries(
      rows.sort((a, b) => a.alias.localeCompare(b.alias)).map((a) => [a.alias, a.version]),
    );
  }

  async setAlias(tx: Transaction, name: string, alias: string, version: number): Promise<void> {
    this.transactions.write(tx);
    const existing = this.state.aliases.find((a) => a.name === name && a.alias === alias);
    if (existing) existing.version = version;
    else this.state.aliases.push({ name, alias, version });
  }

  async insertAudit(tx: Transaction, entry: NewAuditEntry): Promise<AliasAuditEntry> {
    this.transactions.write(tx);
    const { name, ...rest } = entry;
    const row = { id: this.state.audit.length + 1, model: name, ...rest, at: this.clock.now() };
    this.state.audit.push(row);
    return row;
  }

  async audit(name: string, alias?: string): Promise<AliasAuditEntry[]> {
    this.transactions.read(undefined);
    return this.state.audit.filter((a) => a.model === name && (alias === undefined || a.alias === alias));
  }

  /** Validates the event as the real outbox does (InvalidEventError there, a ZodError here). */
  async enqueuePromotion(
    tx: Transaction,
    promotion: EventPayloadInput<typeof EventNames.ModelPromoted>,
  ): Promise<void> {
    this.transactions.write(tx);
    this.state.outbox.push(modelPromotedSchema.parse(promotion));
  }

  private model(name: string): ModelRecord | undefined {
    return this.state.models.find((m) => m.name === name);
  }

  private versionsOf(name: string): VersionRecord[] {
    return this.state.versions.filter((v) => v.name === name).sort((a, b) => a.version - b.version);
  }
}
