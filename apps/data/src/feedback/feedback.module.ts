import { Module } from '@nestjs/common';
import { DatasetsModule } from '../datasets/datasets.module';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { FeedbackConsumer } from './feedback.consumer';
import { FeedbackController } from './feedback.controller';
import { FeedbackRepository } from './feedback.repository';
import { FeedbackService } from './feedback.service';

@Module({
  imports: [DatasetsModule, PredictionLogModule],
  controllers: [FeedbackController, FeedbackConsumer],
  providers: [FeedbackRepository, FeedbackService],
})
export class FeedbackModule {}
