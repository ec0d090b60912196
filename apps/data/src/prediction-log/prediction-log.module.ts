import { Module } from '@nestjs/common';
import { PredictionLogController } from './prediction-log.controller';
import { PredictionLogRepository } from './prediction-log.repository';
import { PredictionLogService } from './prediction-log.service';
import { PredictionsLoggedConsumer } from './predictions-logged.consumer';

@Module({
  controllers: [PredictionLogController, PredictionsLoggedConsumer],
  providers: [PredictionLogRepository, PredictionLogService],
  exports: [PredictionLogService],
})
export class PredictionLogModule {}
