import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatasetFeatureValues, FeedbackReceipt, UnprocessableError } from '@sepal/contracts';
import { feedbackRateLimit, PerKeyLimit } from '@sepal/http';
import { DataAuditService } from '../audit/data-audit.service';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { DataConfig, DataConfigValues } from '../data.config';
import { DatasetVersionsRepository } from '../datasets/dataset-versions.repository';
import { DatasetsService } from '../datasets/datasets.service';
import { VersionOutcome, VersionWriterService } from '../datasets/version-writer.service';
import { FeedbackRecord, FeedbackRepository } from './feedback.repository';
import { validateFeedback } from './feedback-validation';

export interface FeedbackInput {
  dataset: string;
  features: DatasetFeatureValues;
  label: string | number;
  source?: string;
  /** The client's id of the sample: idempotency only (per key and dataset); the stored row gets the server's id. */
  clientId?: string;
  /** The name of the key that sent it (@Actor, or the gateway's submittedBy). */
  submittedBy: string;
  /** The logged prediction this label judges: joined for live quality. */
  predictionId?: string;
}

/** Who commits: the calling key, and whether it was the every-N policy acting on that key's sample. */
export interface CommitActor {
  actor: string;
  automatic?: boolean;
}

/**
 * Labelled samples from users: validated against the latest version's schema, stored at once with the key that sent
 * them (FEEDBACK_RATE_PER_KEY per minute per key), committed later into a new version (by a data:write key, or every
 * FEEDBACK_COMMIT_EVERY samples), each commit audited with its actor. Committed samples go to the train split only:
 * feedback never enters a test split, so it never decides a promotion.
 */
@Injectable()
export class FeedbackService {
  private readonly logger = new Logger(FeedbackService.name);
  private readonly limit: PerKeyLimit;

  constructor(
    private readonly feedback: FeedbackRepository,
    private readonly versions: DatasetVersionsRepository,
    private readonly datasets: DatasetsService,
    private readonly writer: VersionWriterService,
    private readonly audit: DataAuditService,
    @Inject(DataConfig) private readonly config: DataConfigValues,
    private readonly predictionLog: PredictionLogService,
  ) {
    this.limit = feedbackRateLimit(config);
  }

  async receive(input: FeedbackInput, messageId?: string, correlationId?: string): Promise<FeedbackReceipt> {
    // Counted before any work: a key over its allowance costs no query.
    this.limit.take(input.submittedBy);
    await this.datasets.requireDataset(input.dataset);
    const latest = await this.versions.latestVersion(input.dataset);
    if (!latest) {
      throw new UnprocessableError(
        `dataset '${input.dataset}' has no version yet, so feedback cannot be checked against its schema`,
        `Import it first: POST /datasets/${input.dataset}/import.`,
      );
    }
    const stats = latest.stats ?? (await this.versions.computeStats(latest));
    const valid = validateFeedback(latest.schema, input.features, input.label, stats.ranges);
    const stored = await this.feedback.insert(
      {
        id: randomUUID(),
        dataset: input.dataset,
        features: valid.features,
        label: valid.label,
        className: valid.className,
        flags: valid.flags,
        source: input.source ?? null,
        submittedBy: input.submittedBy,
        clientId: input.clientId ?? null,
      },
      messageId,
      input.predictionId,
    );
    if (input.predictionId !== undefined) {
      await this.predictionLog.label(
        input.predictionId,
        latest.schema.task === 'regression' ? Number(input.label) : valid.className,
      );
    }
    const pending = await this.feedback.countPending(input.dataset);
    const receipt: FeedbackReceipt = {
      id: stored.id,
      dataset: stored.dataset,
      label: stored.className,
      flags: stored.flags,
      pending,
    };
    const every = this.config.FEEDBACK_COMMIT_EVERY;
    if (every > 0 && pending >= every) {
      try {
        const outcome = await this.commit(
          input.dataset,
          { actor: input.submittedBy, automatic: true },
          correlationId,
        );
        return { ...receipt, pending: 0, committedVersion: outcome.version.id };
      } catch (error) {
        // Another sample's commit took them all meanwhile: this one is stored and committed, not refused.
        if (error instanceof NothingPending) return { ...receipt, pending: 0 };
        throw error;
      }
    }
    return receipt;
  }

  /**
   * Creates a child of the latest version holding every pending sample (in its train split only), audits the commit
   * with its actor in the same transaction, and emits dataset.versioned.
   */
  async commit(
    dataset: string,
    by: CommitActor,
    correlationId?: string,
  ): Promise<VersionOutcome & { feedbackRows: number }> {
    let committed: FeedbackRecord[] = [];
    const outcome = await this.writer.appendRows(
      dataset,
      {
        reason: 'feedback',
        source: { feedback: 'pending samples', committedBy: by.actor, automatic: by.automatic === true },
        trainOnly: true,
        rows: async (tx) => {
          committed = await this.feedback.pending(tx, dataset);
          if (committed.length === 0) throw new NothingPending(dataset);
          return committed.map((f) => ({
            key: `feedback:${f.id}`,
            features: f.features,
            label: f.label,
            origin: `feedback:${f.id}`,
          }));
        },
        afterInsert: async (tx, version) => {
          await this.feedback.markCommitted(
            tx,
            committed.map((f) => f.id),
            version.id,
          );
          await this.audit.record(
            {
              dataset,
              action: by.automatic ? 'feedback-auto-commit' : 'feedback-commit',
              version: version.id,
              created: true,
              actor: by.actor,
            },
            tx,
          );
        },
      },
      correlationId,
    );
    this.logger.log(
      `committed ${committed.length} feedback row(s) of ${dataset} into ${outcome.version.id.slice(0, 12)} ` +
        `(${by.automatic ? 'every-N policy, on a sample' : 'commit'} by ${by.actor})`,
    );
    return { ...outcome, feedbackRows: committed.length };
  }

  async list(
    dataset: string,
    state: 'pending' | 'committed' | 'all',
    limit: number,
  ): Promise<FeedbackRecord[]> {
    await this.datasets.requireDataset(dataset);
    return this.feedback.list(dataset, state, limit);
  }
}

/** A commit found nothing pending (422): none was sent, or another commit took it. */
class NothingPending extends UnprocessableError {
  constructor(dataset: string) {
    super(`dataset '${dataset}' has no pending feedback to commit`, 'Send feedback first.');
  }
}
