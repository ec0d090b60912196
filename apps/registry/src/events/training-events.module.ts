import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { RunsModule } from '../runs/runs.module';
import { TrainingConsumer } from './training.consumer';

@Module({
  imports: [RunsModule, ModelsModule],
  controllers: [TrainingConsumer],
})
export class TrainingEventsModule {}
