import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatasetFeatureValues, FeedbackReceipt, UnprocessableError } from '@sepal/contracts';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { DataConfig, DataConfigValues } from '../data.config';
import { DatasetsRepository } from '../datasets/datasets.repository';
import { DatasetsService, VersionOutcome } from '../datasets/datasets.service';
import { FeedbackRecord, FeedbackRepository } from './feedback.repository';
import { validateFeedback } from './feedback-validation';

export interface FeedbackInput {
  dataset: string;
  features: DatasetFeatureValues;
  label: string | number;
  source?: string;
  feedbackId?: string;
  /** The logged prediction this label judges: joined for live quality. */
  predictionId?: string;
}

/** Labelled samples from users: validated against the latest version's schema, stored at once, committed later. */
@Injectable()
export class FeedbackService {
  private readonly logger = new Logger(FeedbackService.name);

  constructor(
    private readonly feedback: FeedbackRepository,
    private readonly datasetsRepository: DatasetsRepository,
    private readonly datasets: DatasetsService,
    @Inject(DataConfig) private readonly config: DataConfigValues,
    private readonly predictionLog: PredictionLogService,
  ) {}

  async receive(input: FeedbackInput, messageId?: string, correlationId?: string): Promise<FeedbackReceipt> {
    await this.datasets.requireDataset(input.dataset);
    const latest = await this.datasetsRepository.latestVersion(input.dataset);
    if (!latest) {
      throw new UnprocessableError(
        `dataset '${input.dataset}' has no version yet, so feedback cannot be checked against its schema`,
        `Import it first: POST /datasets/${input.dataset}/import.`,
      );
    }
    const stats = latest.stats ?? (await this.datasetsRepository.computeStats(latest));
    const valid = validateFeedback(latest.schema, input.features, input.label, stats.ranges);
    const stored = await this.feedback.insert(
      {
        id: input.feedbackId ?? randomUUID(),
        dataset: input.dataset,
        features: valid.features,
        label: valid.label,
        className: valid.className,
        flags: valid.flags,
        source: input.source ?? null,
      },
      messageId,
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
      const outcome = await this.commit(input.dataset, correlationId);
      return { ...receipt, pending: 0, committedVersion: outcome.version.id };
    }
    return receipt;
  }

  /** Creates a child of the latest version holding every pending sample, and emits dataset.versioned. */
  async commit(dataset: string, correlationId?: string): Promise<VersionOutcome & { feedbackRows: number }> {
    let committed: FeedbackRecord[] = [];
    const outcome = await this.datasets.appendRows(
      dataset,
      {
        reason: 'feedback',
        source: { feedback: 'pending samples' },
        rows: async (tx) => {
          committed = await this.feedback.pending(tx, dataset);
          if (committed.length === 0) {
            throw new UnprocessableError(
              `dataset '${dataset}' has no pending feedback to commit`,
              'Send feedback first.',
            );
          }
          return committed.map((f) => ({
            key: `feedback:${f.id}`,
            features: f.features,
            label: f.label,
            origin: `feedback:${f.id}`,
          }));
        },
        afterInsert: (tx, version) =>
          this.feedback.markCommitted(
            tx,
            committed.map((f) => f.id),
            version.id,
          ),
      },
      correlationId,
    );
    this.logger.log(
      `committed ${committed.length} feedback row(s) of ${dataset} into ${outcome.version.id.slice(0, 12)}`,
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
