import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  PredictionExportRequest,
  predictionExportRequestSchema,
  PredictionExportResponse,
} from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { PredictionExportService } from './prediction-export.service';

/** The prediction log into a dataset version. */
@ApiTags('prediction log')
@Controller('predictions')
export class PredictionExportController {
  constructor(private readonly exports: PredictionExportService) {}

  @Post('export')
  @RequireScope('data:write')
  @HttpCode(201)
  @ApiOperation({
    summary:
      "A model's logged predictions in a window (model, version, from, to; at most `limit` <= 100,000) appended to " +
      '`dataset` as a new version (train split only), with their joined labels (labels=labelled, the default) or the ' +
      "model's answers where no label arrived (labels=predicted); the version's source names the window. Emits " +
      'dataset.versioned.',
  })
  @ApiBody({ schema: openApiSchema(predictionExportRequestSchema) })
  export(
    @Body(new ZodValidationPipe(predictionExportRequestSchema, 'export')) body: PredictionExportRequest,
    @Actor() actor: string,
  ): Promise<PredictionExportResponse> {
    return this.exports.export(body, actor);
  }
}
