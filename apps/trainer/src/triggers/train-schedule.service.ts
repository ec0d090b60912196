import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventNames } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { TrainerConfig, TrainerConfigValues } from '../trainer.config';

/**
 * TRAIN_SCHEDULE_MINUTES > 0 requests a retrain of SCHEDULE_DATASET's latest version every N minutes. The timer is
 * per process: enable it on one replica only (the trainer keeps no state to elect a scheduler).
 */
@Injectable()
export class TrainSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TrainSchedule');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: EventBus,
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
  ) {}

  onApplicationBootstrap(): void {
    const minutes = this.config.TRAIN_SCHEDULE_MINUTES;
    if (minutes <= 0) return;
    this.timer = setInterval(() => void this.fire(), minutes * 60_000);
    this.timer.unref();
    this.logger.log(`retraining ${this.config.SCHEDULE_DATASET} every ${minutes} min`);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publishes one scheduled request; exposed for tests. */
  async fire(): Promise<string | undefined> {
    try {
      return await this.bus.publish(EventNames.TrainRequested, {
        dataset: this.config.SCHEDULE_DATASET,
        reason: 'schedule',
        requestedBy: 'schedule',
      });
    } catch (error) {
      this.logger.warn(
        `scheduled retrain not requested: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }
}
