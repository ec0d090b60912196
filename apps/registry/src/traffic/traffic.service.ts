import { Inject, Injectable, Logger } from '@nestjs/common';
import { InvalidInputError, NotFoundError, SetTrafficRequest, TrafficSplit } from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { TransactionRunner } from '@sepal/persistence';
import { artifactPath } from '../artifacts/artifacts.service';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import { TrafficRecord, TrafficRepository } from './traffic.repository';

/**
 * Traffic splits between a model's versions (canary weights, a shadow version). A change is audited and announced by
 * model.traffic through the outbox in the same transaction, like a promotion, so every gateway replica applies it.
 */
@Injectable()
export class TrafficService {
  private readonly logger = new Logger('TrafficService');

  constructor(
    @Inject(RegistryConfig) private readonly config: RegistryConfigValues,
    private readonly transactions: TransactionRunner,
    private readonly repository: TrafficRepository,
    private readonly outbox: OutboxRelay,
  ) {}

  /** Sets a model's split: 404 for an unknown model, 400 naming a version the model does not have. */
  async set(name: string, request: SetTrafficRequest, by: string): Promise<TrafficSplit> {
    const weights = Object.entries(request.weights)
      .map(([version, weight]) => ({ version: Number(version), weight }))
      .sort((a, b) => b.weight - a.weight || a.version - b.version);
    const shadow = request.shadow ?? null;
    if (shadow !== null && weights.some((w) => w.version === shadow && w.weight > 0)) {
      throw new InvalidInputError(
        `shadow: v${shadow} already takes ${weights.find((w) => w.version === shadow)?.weight}% of the traffic`,
        'A shadow version scores the rows served by another version; name a version without weight.',
      );
    }
    const split = await this.transactions.run(async (tx) => {
      if (!(await this.repository.lockModel(tx, name))) {
        throw new NotFoundError(`unknown model '${name}'`, 'GET /models lists them.');
      }
      const wanted = [...weights.map((w) => w.version), ...(shadow !== null ? [shadow] : [])];
      const digests = await this.repository.versionDigests(name, wanted, tx);
      const unknown = wanted.filter((version) => !digests.has(version));
      if (unknown.length) {
        throw new InvalidInputError(
          `${unknown.includes(shadow ?? -1) && !weights.some((w) => w.version === shadow) ? 'shadow' : 'weights'}: model '${name}' has no version ${unknown.join(', ')}`,
          `GET /models/${name} lists its versions.`,
        );
      }
      const record = await this.repository.save(tx, {
        modelName: name,
        weights,
        shadowVersion: shadow,
        reason: request.reason ?? '',
        changedBy: by,
      });
      const view = this.view(record, digests);
      await this.repository.enqueueTraffic(tx, view);
      return view;
    });
    this.logger.log(
      `${name}: traffic ${split.weights.map((w) => `v${w.version} ${w.weight}%`).join(', ')}` +
        `${split.shadow ? `, shadow v${split.shadow.version}` : ''} by ${split.changedBy}`,
    );
    void this.outbox.flush().catch(() => undefined);
    return split;
  }

  /** The split in force; 404 when the model has none (all its traffic goes to the champion). */
  async get(name: string): Promise<TrafficSplit> {
    const record = await this.repository.find(name);
    if (!record) {
      if (!(await this.repository.modelExists(name))) {
        throw new NotFoundError(`unknown model '${name}'`, 'GET /models lists them.');
      }
      throw new NotFoundError(
        `model '${name}' has no traffic split: all its requests go to the champion`,
        `PUT /models/${name}/traffic sets one.`,
      );
    }
    const versions = [
      ...record.weights.map((w) => w.version),
      ...(record.shadowVersion ? [record.shadowVersion] : []),
    ];
    return this.view(record, await this.repository.versionDigests(name, versions));
  }

  /** Every change of a model's split, oldest first. */
  async audit(name: string): Promise<TrafficRecord[]> {
    if (!(await this.repository.modelExists(name))) {
      throw new NotFoundError(`unknown model '${name}'`, 'GET /models lists them.');
    }
    return this.repository.audit(name);
  }

  private view(record: TrafficRecord, digests: Map<number, string>): TrafficSplit {
    const ref = (version: number) => {
      const sha256 = digests.get(version) ?? '';
      return { version, sha256, artifactUrl: `${this.config.REGISTRY_PUBLIC_URL}${artifactPath(sha256)}` };
    };
    return {
      modelName: record.modelName,
      weights: record.weights.map((w) => ({ ...ref(w.version), weight: w.weight })),
      shadow: record.shadowVersion !== null ? ref(record.shadowVersion) : null,
      reason: record.reason,
      changedBy: record.changedBy,
      changedAt: record.changedAt,
      revision: record.revision ?? 1,
    };
  }
}
