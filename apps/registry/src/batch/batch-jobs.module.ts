import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { BatchFilesRepository } from './batch-files.repository';
import { BatchJobsController } from './batch-jobs.controller';
import { BatchJobsService } from './batch-jobs.service';

/** Batch scoring jobs: REST, their CSVs in the content-addressed store, their records in the job system. */
@Module({
  imports: [ArtifactsModule, JobsModule, ModelsModule],
  controllers: [BatchJobsController],
  providers: [BatchFilesRepository, BatchJobsService],
})
export class BatchJobsModule {}
