import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CreateExperimentRequest, createExperimentRequestSchema, pagingQuerySchema } from '@sepal/contracts';
import { openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { RunsService } from './runs.service';

@ApiTags('experiments')
@Controller('experiments')
export class ExperimentsController {
  constructor(private readonly runs: RunsService) {}

  @Post()
  @RequireScope('train')
  @ApiOperation({ summary: 'Create an experiment (409 if the name is taken).' })
  @ApiBody({
    schema: openApiSchema(createExperimentRequestSchema),
    examples: { iris: { value: { name: 'iris' } } },
  })
  create(
    @Body(new ZodValidationPipe(createExperimentRequestSchema, 'experiment')) body: CreateExperimentRequest,
  ) {
    return this.runs.createExperiment(body.name, body.tags);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Experiments, oldest first (?limit=&pageToken=).' })
  list(
    @Query(new ZodValidationPipe(pagingQuerySchema, 'query')) query: { limit: number; pageToken?: string },
  ) {
    return this.runs.listExperiments(query.limit, query.pageToken);
  }

  @Get(':idOrName')
  @RequireScope('read')
  @ApiOperation({ summary: 'One experiment, by id or name.' })
  get(@Param('idOrName') idOrName: string) {
    return this.runs.getExperiment(idOrName);
  }
}
