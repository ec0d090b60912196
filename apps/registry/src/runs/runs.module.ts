import { Module } from '@nestjs/common';
import { InboxModule } from '../inbox/inbox.module';
import { ExperimentsController } from './experiments.controller';
import { RunsController } from './runs.controller';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

@Module({
  controllers: [ExperimentsController, RunsController],
  imports: [InboxModule],
  providers: [RunsRepository, RunsService],
  exports: [RunsService],
})
export class RunsModule {}
