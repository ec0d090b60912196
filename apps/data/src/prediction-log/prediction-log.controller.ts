import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import {
  LiveQualityQuery,
  liveQualityQuerySchema,
  LiveQualityView,
  PredictionLogExportQuery,
  predictionLogExportQuerySchema,
  PredictionLogPage,
  PredictionLogQuery,
  predictionLogQuerySchema,
} from '@sepal/contracts';
import { RequireScope, ZodValidationPipe } from '@sepal/http';
import { predictionLogCsv } from './prediction-log-csv';
import { PredictionLogService } from './prediction-log.service';

/** The prediction log, read: by model, version and time window, paged, or as one CSV. */
@ApiTags('prediction log')
@Controller('predictions')
export class PredictionLogController {
  constructor(private readonly log: PredictionLogService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary:
      "A model's logged predictions (?model=&version=&from=&to=), oldest first, at most `limit` (<= 1000) a page; pass `next` back as `after`.",
  })
  async list(
    @Query(new ZodValidationPipe(predictionLogQuerySchema, 'query')) query: PredictionLogQuery,
  ): Promise<PredictionLogPage> {
    const rows = await this.log.list({ ...query, limit: query.limit + 1 });
    const items = rows.slice(0, query.limit);
    return { items, next: rows.length > query.limit ? items[items.length - 1].predictionId : null };
  }

  @Get('quality')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "Live quality of a model's versions (?model=&version=) over PREDICTION_QUALITY_WINDOW_MINUTES: accuracy and " +
      'macro-F1 or RMSE and MAE of the labelled predictions, the labelled rows, and each test figure beside it.',
  })
  quality(
    @Query(new ZodValidationPipe(liveQualityQuerySchema, 'query')) query: LiveQualityQuery,
  ): Promise<LiveQualityView> {
    return this.log.liveQuality(query.model, query.version);
  }

  @Get('export.csv')
  @RequireScope('read')
  @ApiOperation({
    summary:
      'The same filters as GET /predictions as one CSV (inputs as columns, prediction, label), at most `limit` (<= 100,000) rows.',
  })
  async export(
    @Query(new ZodValidationPipe(predictionLogExportQuerySchema, 'query')) query: PredictionLogExportQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const rows = await this.log.list(query);
    void reply
      .header('Content-Disposition', `attachment; filename="predictions-${fileNamePart(query.model)}.csv"`)
      .type('text/csv; charset=utf-8')
      .send(Readable.from(predictionLogCsv(rows)));
  }
}

/**
 * A model name as a header-safe file name part: a model name may hold any character (a quote, a lone surrogate), and
 * Node refuses to write a header holding one of those, which left the request unanswered (found by the fuzz suite).
 */
function fileNamePart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
