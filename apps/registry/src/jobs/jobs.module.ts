import { Module } from '@nestjs/common';
import { JobsConsumer } from './jobs.consumer';
import { JobsController } from './jobs.controller';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

/** Durable training jobs and their steps: REST (list, view, cancel, retry) and the consumers that record them. */
@Module({
  controllers: [JobsController, JobsConsumer],
  providers: [JobsRepository, JobsService],
  exports: [JobsRepository, JobsService],
})
export class JobsModule {}
