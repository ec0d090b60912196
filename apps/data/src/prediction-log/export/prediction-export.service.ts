import { Injectable, Logger } from '@nestjs/common';
import {
  DatasetSchema,
  PredictionExportRequest,
  PredictionExportResponse,
  PredictionLogEntry,
  UnprocessableError,
} from '@sepal/contracts';
import { DataAuditService } from '../../audit/data-audit.service';
import { DatasetVersionsRepository } from '../../datasets/dataset-versions.repository';
import { DatasetsService } from '../../datasets/datasets.service';
import { versionView } from '../../datasets/version-view';
import { AppendedRow, VersionWriterService } from '../../datasets/version-writer.service';
import { encodeLabel, featureVector } from '../../feedback/feedback-validation';
import { PredictionLogService } from '../prediction-log.service';
import { PredictionExportRepository, predictionRowKey } from './prediction-export.repository';

/** Logged predictions read per query. */
const PAGE = 1000;
/** Reasons of invalid rows the answer names. */
const MAX_PROBLEMS = 5;

interface Candidate {
  predictionId: string;
  at: string;
  row: AppendedRow;
  labelled: boolean;
}

/**
 * Turns a model's logged predictions in a window into a new version of a dataset: the child of its latest version
 * that appends them (train split only, like feedback: logged traffic never enters a test split, which decides
 * promotions), keyed by prediction id so a prediction is exported once per dataset, with the window in the
 * version's lineage (`source.predictionLog`) and the export in the dataset's audit log.
 */
@Injectable()
export class PredictionExportService {
  private readonly logger = new Logger('PredictionExport');

  constructor(
    private readonly log: PredictionLogService,
    private readonly datasets: DatasetsService,
    private readonly versions: DatasetVersionsRepository,
    private readonly writer: VersionWriterService,
    private readonly repository: PredictionExportRepository,
    private readonly audit: DataAuditService,
  ) {}

  async export(
    request: PredictionExportRequest,
    actor: string,
    correlationId?: string,
  ): Promise<PredictionExportResponse> {
    const { dataset, model, labels } = request;
    await this.datasets.requireDataset(dataset);
    const latest = await this.versions.latestVersion(dataset);
    if (!latest) {
      throw new UnprocessableError(
        `dataset '${dataset}' has no version yet, so logged predictions cannot be checked against its schema`,
        `Import it first: POST /datasets/${dataset}/import.`,
      );
    }
    const schema = latest.schema;
    const candidates: Candidate[] = [];
    const problems: string[] = [];
    let read = 0;
    let unlabelled = 0;
    let invalid = 0;
    let after: string | undefined;
    while (read < request.limit) {
      const page = await this.log.list({
        model,
        version: request.version,
        from: request.from,
        to: request.to,
        after,
        limit: Math.min(PAGE, request.limit - read),
      });
      read += page.length;
      for (const entry of page) {
        if (entry.label === null && labels === 'labelled') {
          unlabelled++;
          continue;
        }
        const candidate = toCandidate(schema, entry);
        if (typeof candidate === 'string') {
          invalid++;
          if (problems.length < MAX_PROBLEMS) problems.push(`${entry.predictionId}: ${candidate}`);
        } else candidates.push(candidate);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].predictionId;
    }
    const window = `${model}${request.version ? ` v${request.version}` : ''} from ${request.from ?? 'the start'} to ${request.to ?? 'now'}`;
    if (read === 0) {
      throw new UnprocessableError(
        `the prediction log holds no prediction of ${window}`,
        'Check the model name, version and window: GET /predictions lists what is logged.',
      );
    }

    let fresh: Candidate[] = [];
    let alreadyInDataset = 0;
    const outcome = await this.writer.appendRows(
      dataset,
      {
        reason: 'prediction-log',
        trainOnly: true,
        source: () => lineage(request, fresh, actor),
        rows: async (tx) => {
          const present = await this.repository.alreadyInDataset(
            tx,
            dataset,
            candidates.map((c) => c.predictionId),
          );
          fresh = candidates.filter((c) => !present.has(c.predictionId));
          alreadyInDataset = candidates.length - fresh.length;
          if (fresh.length === 0) {
            throw new UnprocessableError(
              `none of the ${read} logged prediction(s) of ${window} can be exported into '${dataset}': ` +
                `${unlabelled} without a label, ${alreadyInDataset} already in the dataset, ${invalid} not fitting its schema` +
                (problems.length ? ` (${problems[0]})` : ''),
              labels === 'labelled' && unlabelled > 0
                ? 'Send labels by prediction id (POST /feedback with predictionId), or pass labels=predicted to take the model’s answers as labels.'
                : 'Widen the window, or export into a dataset whose features are the model’s inputs.',
            );
          }
          return fresh.map((c) => c.row);
        },
        afterInsert: async (tx, version) => {
          await this.audit.record(
            { dataset, action: 'prediction-log-export', version: version.id, created: true, actor },
            tx,
          );
        },
      },
      correlationId,
    );
    const labelled = fresh.filter((c) => c.labelled).length;
    this.logger.log(
      `exported ${fresh.length} logged prediction(s) of ${window} into ${dataset} ` +
        `${outcome.version.id.slice(0, 12)} (${labelled} labelled, by ${actor})`,
    );
    return {
      created: outcome.created,
      version: versionView(outcome.version),
      rowsWritten: outcome.rowsWritten,
      rowsRemoved: outcome.rowsRemoved,
      read,
      exported: fresh.length,
      labelled,
      predicted: fresh.length - labelled,
      skipped: { unlabelled, alreadyInDataset, invalid },
      problems,
    };
  }
}

/** The version's lineage: where its new rows came from. */
function lineage(request: PredictionExportRequest, rows: readonly Candidate[], actor: string) {
  const times = rows.map((r) => r.at).sort();
  const labelled = rows.filter((r) => r.labelled).length;
  return {
    predictionLog: {
      model: request.model,
      version: request.version ?? null,
      from: request.from ?? null,
      to: request.to ?? null,
      labels: request.labels,
      predictions: rows.length,
      labelled,
      predicted: rows.length - labelled,
      firstPredictedAt: times[0] ?? null,
      lastPredictedAt: times[times.length - 1] ?? null,
    },
    exportedBy: actor,
  };
}

/** A logged prediction as a dataset row, or why it does not fit the schema. */
function toCandidate(schema: DatasetSchema, entry: PredictionLogEntry): Candidate | string {
  const labelled = entry.label !== null;
  const label = entry.label ?? ('class' in entry.output ? entry.output.class : entry.output.value);
  try {
    const features = featureVector(schema, entry.inputs);
    const encoded = encodeLabel(schema, label);
    return {
      predictionId: entry.predictionId,
      at: entry.at,
      labelled,
      row: {
        key: predictionRowKey(entry.predictionId),
        features,
        label: encoded.label,
        origin: `prediction:${entry.model}:v${entry.version}:${entry.predictionId}`,
      },
    };
  } catch (error) {
    if (error instanceof UnprocessableError) return error.message;
    throw error;
  }
}
