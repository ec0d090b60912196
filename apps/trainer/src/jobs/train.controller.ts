import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import {
  EventNames,
  InvalidInputError,
  JobView,
  NotFoundError,
  TrainAcceptedResponse,
  TrainRequest,
  trainRequestSchema,
  UnavailableError,
  UnprocessableError,
} from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { ServiceCallError } from '@sepal/http-client';
import { EventBus } from '@sepal/messaging';
import { DataClient } from '../clients/data-client';
import { RegistryClient } from '../clients/registry-client';
import { planJob } from '../sweep/job-plan';
import { planLimits, TrainerConfig, TrainerConfigValues } from '../trainer.config';
import { errorMessage } from './job-errors';
import { JobStatusStore } from './job-status.service';

const SHA256 = /^[0-9a-f]{64}$/;

@ApiTags('training')
@Controller()
export class TrainController {
  constructor(
    private readonly bus: EventBus,
    private readonly data: DataClient,
    private readonly registry: RegistryClient,
    private readonly status: JobStatusStore,
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
  ) {}

  @Post('train')
  @RequireScope('train')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Request a training job: publishes train.requested and answers {jobId, correlationId} at once.',
    description:
      'The grid is checked here (400 naming every problem) and again by the worker. A version ref (v2, prefix) is ' +
      "resolved to its full id through the data service. Follow the job's durable record with GET /jobs/:id (here " +
      'or on the registry).',
  })
  @ApiBody({
    schema: openApiSchema(trainRequestSchema),
    examples: {
      default: { value: { dataset: 'iris' } },
      grid: {
        value: {
          dataset: 'iris',
          grid: { learningRate: [0.01, 0.05], hiddenUnits: [8, 16] },
          params: { epochs: 60 },
        },
      },
      families: {
        value: {
          dataset: 'wine-quality-white',
          grid: [
            { model: ['forest'], trees: [300] },
            { model: ['gbdt'], learningRate: [0.05, 0.1] },
          ],
          budgetSeconds: 120,
        },
      },
    },
  })
  async train(
    @Body(new ZodValidationPipe(trainRequestSchema, 'training request')) body: TrainRequest,
    @Actor() actor: string,
  ): Promise<TrainAcceptedResponse> {
    try {
      planJob(body.grid, body.params, planLimits(this.config), body.budgetSeconds);
    } catch (error) {
      throw new InvalidInputError(
        errorMessage(error),
        'Families (grid key model): dense, forest, gbdt on tables, cnn on images; their parameters and limits: see docs/training.md "Model families".',
      );
    }
    const version = body.version ? await this.resolveVersion(body.dataset, body.version) : undefined;
    const correlationId = randomUUID();
    const jobId = await this.bus.publish(
      EventNames.TrainRequested,
      {
        dataset: body.dataset,
        ...(version ? { version } : {}),
        ...(body.modelName ? { modelName: body.modelName } : {}),
        ...(body.experiment ? { experiment: body.experiment } : {}),
        ...(body.grid ? { grid: body.grid } : {}),
        ...(body.params ? { params: body.params } : {}),
        ...(body.seed !== undefined ? { seed: body.seed } : {}),
        ...(body.budgetSeconds !== undefined ? { budgetSeconds: body.budgetSeconds } : {}),
        reason: 'manual',
        requestedBy: actor,
      },
      { correlationId },
    );
    this.status.update(
      jobId,
      { correlationId, dataset: body.dataset },
      (job) => (job.datasetVersion = version ?? null),
    );
    return { jobId, correlationId, dataset: body.dataset, version: version ?? null };
  }

  @Get('jobs/:id')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "The job's durable record from the registry (GET /jobs/:id there): the same answer from every replica.",
    description:
      'State, attempt, each step with its state, times, worker replica, figures and error. The registry is the ' +
      'source of truth; this is a convenience for clients that only know the trainer.',
  })
  async job(@Param('id') id: string): Promise<JobView> {
    try {
      return await this.registry.job(id);
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) {
        throw new NotFoundError(
          `job '${id}' is unknown to the registry`,
          'A job just requested is recorded once the registry consumes its train.requested: try again shortly.',
        );
      }
      throw new UnavailableError(`cannot read job '${id}' from the registry: ${errorMessage(error)}`);
    }
  }

  private async resolveVersion(dataset: string, ref: string): Promise<string> {
    if (SHA256.test(ref)) return ref;
    try {
      return (await this.data.version(dataset, ref)).id;
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) {
        throw new NotFoundError(`version '${ref}' of dataset '${dataset}' not found`, errorMessage(error));
      }
      if (error instanceof ServiceCallError && error.status !== null && error.status < 500) {
        throw new UnprocessableError(errorMessage(error));
      }
      throw new UnavailableError(`cannot resolve version '${ref}': ${errorMessage(error)}`);
    }
  }
}
