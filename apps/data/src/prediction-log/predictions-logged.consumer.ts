import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, EventNames, expandLoggedPredictions } from '@sepal/contracts';
import { ConsumeEvent } from '@sepal/messaging';
import { PredictionLogService } from './prediction-log.service';

export const PREDICTIONS_LOGGED_QUEUE = 'data.predictions';

/** predictions.logged from the gateways: stored once per prediction id (a redelivery changes nothing). */
@Controller()
export class PredictionsLoggedConsumer {
  constructor(private readonly log: PredictionLogService) {}

  @ConsumeEvent(EventNames.PredictionsLogged, { queue: PREDICTIONS_LOGGED_QUEUE })
  async onLogged(@Payload() envelope: EventEnvelope<typeof EventNames.PredictionsLogged>): Promise<void> {
    await this.log.store(expandLoggedPredictions(envelope.payload));
  }
}
