import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DriftDetected, EventEnvelope, EventNames, UnprocessableError } from '@sepal/contracts';
import { isTransient } from '@sepal/http-client';
import { EventBus, ConsumeEvent } from '@sepal/messaging';
import { datasetOfDefaultModel } from '../jobs/model-naming';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import { TrainerConfig, TrainerConfigValues } from '../trainer.config';
import { ChampionLookup, DatasetVersions } from './retrain-evidence.service';

export const RETRAIN_POLICY_QUEUE = 'trainer.retrain-policy';

/** The dataset a drifting model was trained on: DRIFT_DATASETS (`model=dataset,...`), else by the default naming. */
export function datasetOfModel(modelName: string, mapping: string): string {
  for (const entry of mapping.split(',')) {
    const [model, dataset] = entry.split('=').map((part) => part.trim());
    if (model === modelName && dataset) return dataset;
  }
  return datasetOfDefaultModel(modelName);
}

/** What to do about a drift alert, and why. */
export type DriftDecision =
  { action: 'retrain'; version: string; why: string } | { action: 'skipped'; why: string };

/** What a user can do when a drift alert retrains nothing. */
export const SKIPPED_DRIFT_HINT =
  'To retrain, send labelled feedback (POST /feedback on the gateway: a feedback version retrains by itself) ' +
  'or ask for a retrain (POST /train on the trainer, `sepal train`).';

const short = (id: string) => id.slice(0, 12);

/**
 * Event triggers of a retrain: a dataset version made of feedback, and a drift alert. Each publishes train.requested
 * with the incoming correlation id, so the retrain is traced back to its cause. A work queue: one replica handles each.
 *
 * A drift alert retrains only when it can change something: the same data and the same seed give the same model,
 * which the gate rejects. So the dataset must have a newer version than the one the champion was trained on (asked of
 * the registry and the data service); otherwise the alert is skipped, counted and logged with what the user can do.
 * When either service cannot answer, the alert is not decided on blindly: a transient failure (unreachable, 5xx) is
 * thrown, so the bus redelivers the alert (bounded retries, then its dead-letter queue); any other failure
 * (an unknown dataset, a refused key, a broken contract) is dead-lettered at once with the reason.
 */
@Controller()
export class RetrainTriggersConsumer {
  private readonly logger = new Logger('RetrainPolicy');

  constructor(
    private readonly bus: EventBus,
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    private readonly champions: ChampionLookup,
    private readonly datasets: DatasetVersions,
    private readonly metrics: TrainerMetrics,
  ) {}

  @ConsumeEvent(EventNames.DatasetVersioned, { queue: RETRAIN_POLICY_QUEUE })
  async onDatasetVersioned(
    @Payload() envelope: EventEnvelope<typeof EventNames.DatasetVersioned>,
  ): Promise<void> {
    const { payload } = envelope;
    if (payload.reason !== 'feedback' || !this.config.RETRAIN_ON_FEEDBACK) return;
    await this.bus.publish(
      EventNames.TrainRequested,
      {
        dataset: payload.dataset,
        version: payload.version,
        reason: 'feedback',
        requestedBy: 'retrain-policy',
      },
      { correlationId: envelope.correlationId },
    );
    this.logger.log(
      `feedback version ${payload.version.slice(0, 12)} of ${payload.dataset}: retrain requested`,
    );
  }

  @ConsumeEvent(EventNames.DriftDetected, { queue: RETRAIN_POLICY_QUEUE })
  async onDriftDetected(@Payload() envelope: EventEnvelope<typeof EventNames.DriftDetected>): Promise<void> {
    const alert = envelope.payload;
    const dataset = datasetOfModel(alert.modelName, this.config.DRIFT_DATASETS);
    const decision = this.config.RETRAIN_ON_DRIFT
      ? await this.decideOnDrift(alert, dataset)
      : { action: 'skipped' as const, why: 'RETRAIN_ON_DRIFT is false' };
    const subject = `drift on ${alert.modelName} v${alert.version}${describeDrift(alert)}`;
    if (decision.action === 'skipped') {
      this.metrics.driftAlerts.inc({ model: alert.modelName, action: 'skipped' });
      this.logger.warn(`${subject}: retrain skipped: ${decision.why}. ${SKIPPED_DRIFT_HINT}`);
      return;
    }
    await this.bus.publish(
      EventNames.TrainRequested,
      {
        dataset,
        version: decision.version,
        modelName: alert.modelName,
        reason: 'drift',
        requestedBy: 'drift-monitor',
      },
      { correlationId: envelope.correlationId },
    );
    this.metrics.driftAlerts.inc({ model: alert.modelName, action: 'retrain' });
    this.logger.log(
      `${subject}: retrain of ${dataset} ${short(decision.version)} requested: ${decision.why}`,
    );
  }

  /** Retrain when the dataset's latest version differs from the champion's (or the champion is unknown). */
  private async decideOnDrift(alert: DriftDetected, dataset: string): Promise<DriftDecision> {
    let champion: Awaited<ReturnType<ChampionLookup['championTraining']>>;
    let latest: string;
    try {
      [champion, latest] = await Promise.all([
        this.champions.championTraining(alert.modelName),
        this.datasets.latest(dataset),
      ]);
    } catch (error) {
      const problem =
        `drift on ${alert.modelName} v${alert.version}: cannot tell whether a retrain of ${dataset} could change ` +
        `the model: ${error instanceof Error ? error.message : String(error)}`;
      if (isTransient(error)) {
        this.logger.warn(`${problem}; the alert will be delivered again`);
        throw error;
      }
      throw new UnprocessableError(
        problem,
        'DRIFT_DATASETS names the dataset of each model (`model=dataset,...`); once the cause is fixed, replay the ' +
          `dead letter or ask for a retrain (POST /train). ${SKIPPED_DRIFT_HINT}`,
      );
    }
    if (!champion) return { action: 'retrain', version: latest, why: `${alert.modelName} has no champion` };
    if (!champion.datasetVersion) {
      return {
        action: 'retrain',
        version: latest,
        why: `the lineage of champion v${champion.version} names no dataset version`,
      };
    }
    if (champion.datasetVersion !== latest) {
      return {
        action: 'retrain',
        version: latest,
        why: `champion v${champion.version} was trained on ${short(champion.datasetVersion)}, ${dataset} has a newer version`,
      };
    }
    return {
      action: 'skipped',
      why:
        `champion v${champion.version} was trained on ${dataset} ${short(latest)}, still its latest version, and the ` +
        'same data with the same seed gives the same model, which the promotion gate rejects',
    };
  }
}

/** ` (petal_length PSI 0.412, petal_width PSI 0.305)`, or nothing when the alert names no feature. */
function describeDrift(alert: DriftDetected): string {
  if (alert.features.length === 0) return '';
  return ` (${alert.features.map((f) => `${f.name} PSI ${f.psi.toFixed(3)}`).join(', ')})`;
}
