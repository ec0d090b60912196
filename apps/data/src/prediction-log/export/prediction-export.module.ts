import { Module } from '@nestjs/common';
import { DatasetsModule } from '../../datasets/datasets.module';
import { PredictionLogModule } from '../prediction-log.module';
import { PredictionExportController } from './prediction-export.controller';
import { PredictionExportRepository } from './prediction-export.repository';
import { PredictionExportService } from './prediction-export.service';

/** Logged predictions into a dataset version (the way logged traffic becomes training data). */
@Module({
  imports: [DatasetsModule, PredictionLogModule],
  controllers: [PredictionExportController],
  providers: [PredictionExportRepository, PredictionExportService],
})
export class PredictionExportModule {}
