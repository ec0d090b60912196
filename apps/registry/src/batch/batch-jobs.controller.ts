import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiConsumes, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  BatchJobListQuery,
  batchJobListQuerySchema,
  BatchJobListView,
  BatchJobView,
  BatchOutputQuery,
  batchOutputQuerySchema,
  BatchOutputView,
  batchUploadQuerySchema,
  createBatchJobSchema,
  InvalidInputError,
  JobView,
} from '@sepal/contracts';
import { Actor, RequireScope, ZodValidationPipe } from '@sepal/http';
import { BatchJobsService } from './batch-jobs.service';

@ApiTags('batch-jobs')
@Controller('batch-jobs')
export class BatchJobsController {
  constructor(private readonly batch: BatchJobsService) {}

  @Post()
  @RequireScope('predict')
  @HttpCode(202)
  @ApiConsumes('application/json', 'text/csv')
  @ApiOperation({
    summary: 'Start a batch scoring job over a dataset version or an uploaded CSV.',
    description:
      'JSON {"model", "alias" | "version", "dataset", "datasetVersion", "split"} scores a dataset version; a CSV ' +
      'body (Content-Type: text/csv, header naming the features) with ?model=&alias=|version= scores the upload ' +
      '(REGISTRY_BATCH_MAX_UPLOAD_BYTES, REGISTRY_BATCH_MAX_ROWS: 413 naming the limit). The alias (champion by ' +
      'default) is resolved now: the job scores that version. Follow it with GET /batch-jobs/:id.',
  })
  @ApiQuery({ name: 'model', required: false })
  @ApiQuery({ name: 'alias', required: false })
  @ApiQuery({ name: 'version', required: false, type: Number })
  async create(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Actor() actor: string,
  ): Promise<BatchJobView> {
    const query = request.query as Record<string, unknown>;
    if (isCsv(request)) {
      const parsed = new ZodValidationPipe(batchUploadQuerySchema, 'query').transform(query);
      return this.batch.createFromUpload(body, parsed, actor);
    }
    if (Object.keys(query).length > 0) {
      throw new InvalidInputError(
        'a JSON batch request takes no query string: name the model, alias or version in the body',
      );
    }
    const parsed = new ZodValidationPipe(createBatchJobSchema, 'batch request').transform(body);
    return this.batch.createFromDataset(parsed, actor);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Batch jobs, newest first, each with its steps, progress and output once complete.',
  })
  list(
    @Query(new ZodValidationPipe(batchJobListQuerySchema, 'query')) query: BatchJobListQuery,
  ): Promise<BatchJobListView> {
    return this.batch.list(query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "One batch job: its steps (the score step's summary has rowsScored and rowsTotal) and its output.",
  })
  get(@Param('id') id: string): Promise<BatchJobView> {
    return this.batch.get(id);
  }

  @Get(':id/output.csv')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The output CSV of a succeeded job, streamed: the input rows, prediction, probabilities, model.',
  })
  @ApiResponse({ status: 409, description: 'The job has not succeeded: it has no complete output.' })
  async output(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const { stream, size, fileName } = await this.batch.openOutput(id);
    void reply
      .header('Content-Length', String(size))
      .header('Content-Disposition', `attachment; filename="${fileName}"`)
      .type('text/csv; charset=utf-8')
      .send(stream);
  }

  @Get(':id/input.csv')
  @RequireScope('read')
  @ApiOperation({ summary: 'The CSV uploaded for a batch job (what the trainer scores).' })
  async input(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const { stream, size } = await this.batch.openInput(id);
    void reply.header('Content-Length', String(size)).type('text/csv; charset=utf-8').send(stream);
  }

  @Put(':id/output')
  @RequireScope('train')
  @ApiConsumes('text/csv')
  @ApiHeader({ name: 'X-Content-SHA256', required: true, description: 'hex SHA-256 of the body' })
  @ApiOperation({
    summary:
      "A trainer stores a job attempt's whole output (registered only while that attempt runs uncancelled).",
  })
  @ApiResponse({ status: 409, description: 'The job runs another attempt, was cancelled or has ended.' })
  storeOutput(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(batchOutputQuerySchema, 'query')) query: BatchOutputQuery,
    @Headers('x-content-sha256') sha256: string | undefined,
    @Body() body: unknown,
    @Actor() actor: string,
  ): Promise<BatchOutputView> {
    return this.batch.storeOutput(id, query, sha256, body, actor);
  }

  @Delete(':id')
  @RequireScope('predict')
  @ApiOperation({
    summary:
      'Cancel a batch job: at once when no trainer started it (200), else cancelling (202) until it stops.',
  })
  async cancel(
    @Param('id') id: string,
    @Actor() actor: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    const job = await this.batch.cancel(id, actor);
    void reply.status(job.state === 'cancelled' ? 200 : 202);
    return job;
  }

  @Post(':id/retry')
  @RequireScope('predict')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Run a failed or cancelled batch job again from the start, with the same model version.',
  })
  retry(@Param('id') id: string, @Actor() actor: string): Promise<JobView> {
    return this.batch.retry(id, actor);
  }
}

function isCsv(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return /^text\/csv\b/i.test(type);
}
