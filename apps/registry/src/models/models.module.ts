import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { InboxModule } from '../inbox/inbox.module';
import { RunsModule } from '../runs/runs.module';
import { ModelsController } from './models.controller';
import { ModelsRepository } from './models.repository';
import { ModelsService } from './models.service';

@Module({
  imports: [RunsModule, ArtifactsModule, InboxModule],
  controllers: [ModelsController],
  providers: [ModelsRepository, ModelsService],
  exports: [ModelsService, ModelsRepository],
})
export class ModelsModule {}
