import { Body, Controller, Get, Header, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import {
  DataAuditEntry,
  DatasetDiffView,
  DatasetSummaryView,
  DatasetVersionView,
  diffQuerySchema,
  ImportDatasetRequest,
  importDatasetRequestSchema,
  ImportDatasetResponse,
  RowPageResponse,
  RowsQuery,
  rowsQuerySchema,
  splitQuerySchema,
} from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { DataAuditService } from '../audit/data-audit.service';
import { DatasetsService } from './datasets.service';

@ApiTags('datasets')
@Controller('datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly audit: DataAuditService,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Datasets known to Sepal: the catalog of importable ones and what has been imported.',
  })
  async list(): Promise<DatasetSummaryView[]> {
    const imported = new Map((await this.datasets.listDatasets()).map((d) => [d.name, d]));
    return this.datasets.catalog().map((definition) => ({
      name: definition.name,
      description: definition.description,
      file: definition.file,
      features: definition.features,
      target: definition.target,
      imported: imported.has(definition.name),
      versionCount: imported.get(definition.name)?.versionCount ?? 0,
      latestVersion: imported.get(definition.name)?.latestVersion ?? null,
    }));
  }

  @Post(':name/import')
  @RequireScope('data:write')
  @ApiOperation({
    summary: 'Import the shipped raw file (empty body) or the raw file text given in `content`.',
    description:
      'Identical content returns the existing version (200) instead of creating a duplicate (201).',
  })
  @ApiBody({ schema: openApiSchema(importDatasetRequestSchema), examples: { shipped: { value: {} } } })
  async import(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(importDatasetRequestSchema, 'import request')) body: ImportDatasetRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Actor() actor: string,
  ): Promise<ImportDatasetResponse> {
    const outcome = await this.datasets.importDataset({ dataset: name, ...body });
    await this.audit.record({
      dataset: name,
      action: 'import',
      version: outcome.version.id,
      created: outcome.created,
      actor,
    });
    void reply.status(outcome.created ? 201 : 200);
    return { created: outcome.created, version: outcome.version };
  }

  @Get(':name/versions')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every version of a dataset, oldest first.' })
  versions(@Param('name') name: string): Promise<DatasetVersionView[]> {
    return this.datasets.listVersions(name);
  }

  @Get(':name/versions/:ref')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "One version: 'latest', a number (v2) or an id prefix; schema, label map, counts, cleaning rules.",
  })
  version(@Param('name') name: string, @Param('ref') ref: string): Promise<DatasetVersionView> {
    return this.datasets.resolveVersion(name, ref);
  }

  @Get(':name/versions/:ref/rows')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Rows of a version or split, a page at a time (follow nextCursor until it is null).',
  })
  async rows(
    @Param('name') name: string,
    @Param('ref') ref: string,
    @Query(new ZodValidationPipe(rowsQuerySchema, 'query')) query: RowsQuery,
  ): Promise<RowPageResponse> {
    const version = await this.datasets.resolveVersion(name, ref);
    const page = await this.datasets.rowPage(version, query.split, query.cursor, query.limit);
    return {
      dataset: name,
      version: version.id,
      split: query.split ?? 'all',
      features: page.features,
      labels: page.labels,
      nextCursor: page.nextCursor,
    };
  }

  @Get(':name/versions/:ref/export.csv')
  @RequireScope('read')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiOperation({ summary: 'A version, or one split of it (?split=train|test), as CSV with class names.' })
  async export(
    @Param('name') name: string,
    @Param('ref') ref: string,
    @Query(new ZodValidationPipe(splitQuerySchema, 'query')) query: { split?: 'train' | 'test' },
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const version = await this.datasets.resolveVersion(name, ref);
    const fileName = `${name}-v${version.seq}-${version.id.slice(0, 12)}${query.split ? `-${query.split}` : ''}.csv`;
    void reply
      .header('Content-Disposition', `attachment; filename="${fileName}"`)
      .header('X-Dataset-Version', version.id)
      .type('text/csv; charset=utf-8')
      .send(Readable.from(this.datasets.exportCsv(version, query.split)));
  }

  @Get(':name/audit')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Who imported data or committed feedback into this dataset (the key names), oldest first.',
  })
  auditLog(@Param('name') name: string): Promise<DataAuditEntry[]> {
    return this.audit.list(name);
  }

  @Get(':name/diff')
  @RequireScope('read')
  @ApiOperation({ summary: 'Rows added/removed and class counts between two versions (?from=v1&to=latest).' })
  diff(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(diffQuerySchema, 'query')) query: { from: string; to: string },
  ): Promise<DatasetDiffView> {
    return this.datasets.diff(name, query.from, query.to);
  }
}
