import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  CreateRunRequest,
  createRunRequestSchema,
  LogMetricsRequest,
  logMetricsRequestSchema,
  RunPage,
  SearchRunsQuery,
  searchRunsQuerySchema,
  UpdateRunRequest,
  updateRunRequestSchema,
} from '@sepal/contracts';
import { openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { RunsService } from './runs.service';

@ApiTags('runs')
@Controller('runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post()
  @RequireScope('train')
  @ApiOperation({
    summary: 'Create a run; its experiment (by name) is created if missing.',
    description:
      'With a client-chosen runId the call is idempotent: an existing run is returned unchanged (200).',
  })
  @ApiBody({
    schema: openApiSchema(createRunRequestSchema),
    examples: { run: { value: { experiment: 'iris', params: { learning_rate: 0.01 }, dataset: 'iris' } } },
  })
  async create(
    @Body(new ZodValidationPipe(createRunRequestSchema, 'run')) body: CreateRunRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { run, created } = await this.runs.createRun(body);
    void reply.status(created ? 201 : 200);
    return run;
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Search runs.',
    description:
      "filter: `metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason IN ('feedback', 'drift')` " +
      '(also attributes: status, run_name, run_id, dataset, dataset_version, backend, correlation_id, start_time, ' +
      'end_time); operators = != < <= > >= LIKE ILIKE IN NOT IN, each where it fits the key’s type (metrics are ' +
      'numbers, tags and text attributes quoted text, times ISO 8601 or epoch milliseconds): an ill-typed or ' +
      'malformed filter is a 400 saying what to write instead. ' +
      'orderBy: `metrics.f1 DESC, start_time ASC`; follow nextPageToken for more.',
  })
  search(
    @Query(new ZodValidationPipe(searchRunsQuerySchema, 'query')) query: SearchRunsQuery,
  ): Promise<RunPage> {
    return this.runs.searchRuns(query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({
    summary: 'One run: params, tags, the latest value of each metric, and how many child runs it has.',
  })
  get(@Param('id') id: string) {
    return this.runs.getRun(id);
  }

  @Patch(':id')
  @RequireScope('train')
  @ApiOperation({
    summary: 'Update status, tags (merged), end time or error; a final status sets the end time.',
  })
  @ApiBody({
    schema: openApiSchema(updateRunRequestSchema),
    examples: { done: { value: { status: 'finished' } } },
  })
  update(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(updateRunRequestSchema, 'run update')) body: UpdateRunRequest,
  ) {
    return this.runs.updateRun(id, body);
  }

  @Post(':id/metrics')
  @RequireScope('train')
  @ApiOperation({ summary: 'Log metric points (key, finite value, step, timestamp); many per key.' })
  @ApiBody({
    schema: openApiSchema(logMetricsRequestSchema),
    examples: { epoch: { value: { metrics: [{ key: 'loss', value: 0.42, step: 3 }] } } },
  })
  logMetrics(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(logMetricsRequestSchema, 'metrics')) body: LogMetricsRequest,
  ) {
    return this.runs.logMetrics(id, body.metrics);
  }

  @Get(':id/metrics/:key')
  @RequireScope('read')
  @ApiOperation({ summary: 'The history of one metric of a run, by step.' })
  history(@Param('id') id: string, @Param('key') key: string) {
    return this.runs.metricHistory(id, key);
  }
}
