import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, ConsumeEvent } from '@sepal/messaging';
import { datasetOfDefaultModel } from '../jobs/model-naming';
import { TrainerConfig, TrainerConfigValues } from '../trainer.config';

export const RETRAIN_POLICY_QUEUE = 'trainer.retrain-policy';

/** The dataset a drifting model was trained on: DRIFT_DATASETS (`model=dataset,...`), else by the default naming. */
export function datasetOfModel(modelName: string, mapping: string): string {
  for (const entry of mapping.split(',')) {
    const [model, dataset] = entry.split('=').map((part) => part.trim());
    if (model === modelName && dataset) return dataset;
  }
  return datasetOfDefaultModel(modelName);
}

/**
 * Event triggers of a retrain: a dataset version made of feedback, and a drift alert. Each publishes train.requested
 * with the incoming correlation id, so the retrain is traced back to its cause. A work queue: one replica handles each.
 */
@Controller()
export class RetrainTriggersConsumer {
  private readonly logger = new Logger('RetrainPolicy');

  constructor(
    private readonly bus: EventBus,
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
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
    if (!this.config.RETRAIN_ON_DRIFT) return;
    const dataset = datasetOfModel(envelope.payload.modelName, this.config.DRIFT_DATASETS);
    await this.bus.publish(
      EventNames.TrainRequested,
      { dataset, modelName: envelope.payload.modelName, reason: 'drift', requestedBy: 'drift-monitor' },
      { correlationId: envelope.correlationId },
    );
    this.logger.log(
      `drift on ${envelope.payload.modelName} v${envelope.payload.version}: retrain of ${dataset} requested`,
    );
  }
}
