import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  aliasNameSchema,
  AuditQuery,
  auditQuerySchema,
  CreateModelRequest,
  createModelRequestSchema,
  CreateModelVersionRequest,
  createModelVersionRequestSchema,
  modelVersionNumberSchema,
  pagingQuerySchema,
  SetAliasRequest,
  setAliasRequestSchema,
} from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { ModelsService } from './models.service';

const versionPipe = new ZodValidationPipe(modelVersionNumberSchema, 'version number');

@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post()
  @RequireScope('train')
  @ApiOperation({ summary: 'Register a model name (409 if taken).' })
  @ApiBody({
    schema: openApiSchema(createModelRequestSchema),
    examples: { iris: { value: { name: 'iris-classifier' } } },
  })
  create(@Body(new ZodValidationPipe(createModelRequestSchema, 'model')) body: CreateModelRequest) {
    return this.models.createModel(body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Registered models with their latest version and aliases (?limit=&pageToken=).' })
  list(
    @Query(new ZodValidationPipe(pagingQuerySchema, 'query')) query: { limit: number; pageToken?: string },
  ) {
    return this.models.listModels(query.limit, query.pageToken);
  }

  @Get(':name')
  @RequireScope('read')
  @ApiOperation({ summary: 'A model, all its versions and its aliases ({champion: 3, ...}).' })
  get(@Param('name') name: string) {
    return this.models.getModel(name);
  }

  @Post(':name/versions')
  @RequireScope('train')
  @ApiOperation({
    summary:
      'Register the next version from a run and an uploaded artifact (the model is created if missing).',
    description:
      'The artifact must have been uploaded (POST /artifacts), else 422; metrics default to the run’s.',
  })
  @ApiBody({ schema: openApiSchema(createModelVersionRequestSchema) })
  createVersion(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(createModelVersionRequestSchema, 'model version'))
    body: CreateModelVersionRequest,
    @Actor() actor: string,
  ) {
    return this.models.createVersion(name, body, actor);
  }

  @Get(':name/versions/:version')
  @RequireScope('read')
  @ApiOperation({ summary: 'One version of a model.' })
  version(@Param('name') name: string, @Param('version', versionPipe) version: number) {
    return this.models.getVersion(name, version);
  }

  @Get(':name/versions/:version/lineage')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Where a version comes from: its run, the run’s parent sweep, the dataset version.',
  })
  lineage(@Param('name') name: string, @Param('version', versionPipe) version: number) {
    return this.models.lineage(name, version);
  }

  @Get(':name/aliases/:alias')
  @RequireScope('read')
  @ApiOperation({ summary: 'The version an alias points to (404 if the alias is not set).' })
  alias(@Param('name') name: string, @Param('alias') alias: string) {
    return this.models.getAlias(name, alias);
  }

  @Put(':name/aliases/:alias')
  @RequireScope('promote')
  @ApiOperation({
    summary: 'Point an alias at a version (promotion); every move is audited with the calling key’s name.',
    description:
      'Moving `champion` emits model.promoted (through the outbox, so it is delivered even after a broker outage).',
  })
  @ApiBody({
    schema: openApiSchema(setAliasRequestSchema),
    examples: { promote: { value: { version: 2, reason: 'beats v1 on the test split' } } },
  })
  setAlias(
    @Param('name') name: string,
    @Param('alias', new ZodValidationPipe(aliasNameSchema, 'alias')) alias: string,
    @Body(new ZodValidationPipe(setAliasRequestSchema, 'alias move')) body: SetAliasRequest,
    @Actor() actor: string,
  ) {
    return this.models.setAlias(name, alias, body, actor);
  }

  @Get(':name/audit')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every alias move of a model, oldest first (?alias= to narrow).' })
  @ApiQuery({ name: 'alias', required: false })
  audit(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(auditQuerySchema, 'query')) query: AuditQuery,
  ) {
    return this.models.audit(name, query.alias || undefined);
  }
}
