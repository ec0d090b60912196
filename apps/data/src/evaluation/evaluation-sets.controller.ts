import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  EvaluationRowsPage,
  EvaluationRowsQuery,
  evaluationRowsQuerySchema,
  EvaluationSetRequest,
  evaluationSetRequestSchema,
  EvaluationSetView,
  nonEmptyName,
} from '@sepal/contracts';
import { Actor, RequireScope, ZodValidationPipe } from '@sepal/http';
import { DatasetsService } from '../datasets/datasets.service';
import { EvaluationSetsService } from './evaluation-sets.service';

const modelName = new ZodValidationPipe(nonEmptyName, 'model');

@ApiTags('evaluation sets')
@Controller('datasets/:name/evaluation-sets/:model')
export class EvaluationSetsController {
  constructor(
    private readonly sets: EvaluationSetsService,
    private readonly datasets: DatasetsService,
  ) {}

  @Post()
  @RequireScope('train')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "The model's frozen evaluation set: frozen at `version` (its test rows, feedback excluded) if the model has " +
      'none yet, then extended with the test rows of later imports (never feedback). The gate decides on it.',
  })
  async freeze(
    @Param('name') name: string,
    @Param('model', modelName) model: string,
    @Body(new ZodValidationPipe(evaluationSetRequestSchema, 'evaluation set')) body: EvaluationSetRequest,
    @Actor() actor: string,
  ): Promise<EvaluationSetView> {
    await this.datasets.requireDataset(name);
    return this.sets.freeze(name, model, body.version, actor);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: "The model's frozen evaluation set: its base version, row count and who froze it.",
  })
  async get(
    @Param('name') name: string,
    @Param('model', modelName) model: string,
  ): Promise<EvaluationSetView> {
    await this.datasets.requireDataset(name);
    return this.sets.get(name, model);
  }

  @Get('rows')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The frozen rows, a page at a time in row-id order (follow nextCursor until null).',
  })
  async rows(
    @Param('name') name: string,
    @Param('model', modelName) model: string,
    @Query(new ZodValidationPipe(evaluationRowsQuerySchema, 'query')) query: EvaluationRowsQuery,
  ): Promise<EvaluationRowsPage> {
    await this.datasets.requireDataset(name);
    return this.sets.rows(name, model, query.cursor, query.limit);
  }
}
