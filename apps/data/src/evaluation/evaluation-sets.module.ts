import { Module } from '@nestjs/common';
import { DatasetsModule } from '../datasets/datasets.module';
import { EvaluationSetsController } from './evaluation-sets.controller';
import { EvaluationSetsRepository } from './evaluation-sets.repository';
import { EvaluationSetsService } from './evaluation-sets.service';

/** The frozen evaluation set of each model: the rows its promotions are decided on. */
@Module({
  imports: [DatasetsModule],
  controllers: [EvaluationSetsController],
  providers: [EvaluationSetsRepository, EvaluationSetsService],
})
export class EvaluationSetsModule {}
