import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '@sepal/http';
import { ModelManager, ReloadOutcome } from '../model/model-manager.service';

@ApiTags('admin')
@Controller()
export class AdminController {
  constructor(private readonly manager: ModelManager) {}

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

  @Post('admin/reload/:model')
  @RequireScope('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'The same as POST /admin/reload, for the named model.' })
  reloadModel(@Param('model') model: string): Promise<ReloadOutcome> {
    return this.manager.reloadChampion(model);
  }

  @Get('models')
  @RequireScope('read')
  @ApiOperation({
    summary:
      'Every model this gateway serves: champion, traffic split, shadow, versions loaded and why a model is not served.',
  })
  models() {
    return [...this.manager.models()].map((entry) => ({
      name: entry.name,
      served: entry.champion.model !== null,
      champion: entry.champion.model?.info ?? null,
      problem: entry.champion.model ? null : entry.problem,
      traffic: entry.split
        ? entry.split.map((part, i, all) => ({
            version: part.version,
            weight: part.upTo - (i ? all[i - 1].upTo : 0),
          }))
        : null,
      shadow: entry.shadow?.info.version ?? null,
      loaded: [...entry.others.keys()],
    }));
  }

  @Get('model')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "The model served: name, version, SHA-256, run, dataset version, features, classes and an image model's input.",
  })
  model() {
    const model = this.manager.defaultModel.champion.model;
    if (!model) return { served: false };
    return {
      served: true,
      ...model.info,
      featureNames: model.signature.featureNames,
      labels: model.signature.labels,
      // An image model's input ([N, height, width, channels] pixel values), null for a table model.
      image: model.signature.image ?? null,
    };
  }
}
