import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '@sepal/http';
import { ModelHolder } from '../model/model-holder';
import { ModelManager, ReloadOutcome } from '../model/model-manager.service';

@ApiTags('admin')
@Controller()
export class AdminController {
  constructor(
    private readonly manager: ModelManager,
    private readonly holder: ModelHolder,
  ) {}

  @Post('admin/reload')
  @RequireScope('admin')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Load the current champion from the registry now (also a rollback to an older version). result: success, skipped (already served) or failure (the old model keeps serving).',
  })
  reload(): Promise<ReloadOutcome> {
    return this.manager.reloadChampion();
  }

  @Get('model')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The model served: name, version, SHA-256, run, dataset version, features and classes.',
  })
  model() {
    const model = this.holder.model;
    if (!model) return { served: false };
    return {
      served: true,
      ...model.info,
      featureNames: model.signature.featureNames,
      labels: model.signature.labels,
    };
  }
}
