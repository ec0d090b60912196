import { Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  JobActionQuery,
  jobActionQuerySchema,
  JobListQuery,
  jobListQuerySchema,
  JobListView,
  jobState,
  JobView,
} from '@sepal/contracts';
import { Actor, RequireScope, ZodValidationPipe } from '@sepal/http';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Training jobs with their steps, newest first.',
    description:
      'Filter by state and/or dataset; follow nextPageToken for more (maxResults per page, 100 by default).',
  })
  @ApiQuery({ name: 'state', required: false, enum: jobState.options })
  @ApiQuery({ name: 'dataset', required: false })
  @ApiQuery({ name: 'maxResults', required: false, type: Number })
  @ApiQuery({ name: 'pageToken', required: false })
  list(@Query(new ZodValidationPipe(jobListQuerySchema, 'query')) query: JobListQuery): Promise<JobListView> {
    return this.jobs.listJobs(query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({
    summary:
      'One job: its request, attempt, state, and each step (state, attempt, times, worker, summary, error).',
  })
  @ApiResponse({ status: 404, description: 'No job has this id.' })
  get(@Param('id') id: string): Promise<JobView> {
    return this.jobs.getJob(id);
  }

  @Delete(':id')
  @RequireScope('train')
  @ApiOperation({
    summary: 'Cancel a job.',
    description:
      'A job no trainer has started is cancelled at once (200); a running one is `cancelling` (202) until its ' +
      'trainer stops it. Emits job.cancel-requested through the outbox; asking again announces it again.',
  })
  @ApiResponse({ status: 202, description: 'Cancel requested: the job is cancelling.' })
  @ApiResponse({ status: 409, description: 'The job has already ended.' })
  async cancel(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(jobActionQuerySchema, 'query')) _query: JobActionQuery,
    @Actor() actor: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    const job = await this.jobs.cancelJob(id, actor);
    void reply.status(job.state === 'cancelled' ? 200 : 202);
    return job;
  }

  @Post(':id/retry')
  @RequireScope('train')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Run a failed or cancelled job again, as its next attempt.',
    description:
      'The steps that did not succeed are pending again; emits train.requested (the original request, the same ' +
      'jobId, the next attempt) through the outbox.',
  })
  @ApiResponse({ status: 409, description: 'The job is neither failed nor cancelled.' })
  retry(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(jobActionQuerySchema, 'query')) _query: JobActionQuery,
    @Actor() actor: string,
  ): Promise<JobView> {
    return this.jobs.retryJob(id, actor);
  }
}
