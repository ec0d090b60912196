import { Controller, Get, Header, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import {
  DataAuditEntry,
  DatasetDiffView,
  DatasetSummaryView,
  DatasetVersionView,
  diffQuerySchema,
  importDatasetRequestSchema,
  ImportDatasetResponse,
  ImportDryRunResponse,
  ImportQuery,
  importQuerySchema,
  InvalidInputError,
  RowPageResponse,
  RowsQuery,
  rowsQuerySchema,
  splitQuerySchema,
} from '@sepal/contracts';
import { Actor, RequireScope, ZodValidationPipe } from '@sepal/http';
import { DataAuditService } from '../audit/data-audit.service';
import { versionView } from './version-view';
import { answerImport, withUpload } from './import-answer';
import { DatasetImportService } from './dataset-import.service';
import { DatasetVersionsService } from './dataset-versions.service';
import { DatasetsService } from './datasets.service';

@ApiTags('datasets')
@Controller('datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly imports: DatasetImportService,
    private readonly datasetVersions: DatasetVersionsService,
    private readonly audit: DataAuditService,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Datasets known to Sepal: the catalog of importable ones and what has been imported.',
  })
  async list(): Promise<DatasetSummaryView[]> {
    const imported = new Map((await this.datasets.listDatasets()).map((d) => [d.name, d]));
    const builtIn = this.datasets.catalog().map((definition) => ({
      name: definition.name,
      description: definition.description,
      file: definition.file,
      features: imported.get(definition.name)?.schema.features ?? definition.features,
      target: imported.get(definition.name)?.schema.target ?? definition.target,
      imported: imported.has(definition.name),
      versionCount: imported.get(definition.name)?.versionCount ?? 0,
      latestVersion: imported.get(definition.name)?.latestVersion ?? null,
    }));
    const own = [...imported.values()]
      .filter((d) => !builtIn.some((b) => b.name === d.name))
      .map((d) => ({
        name: d.name,
        description: d.description,
        file: '',
        features: d.schema.features,
        target: d.schema.target,
        imported: true,
        versionCount: d.versionCount,
        latestVersion: d.latestVersion,
      }));
    return [...builtIn, ...own];
  }

  @Post(':name/import')
  @RequireScope('data:write')
  @ApiOperation({
    summary:
      'Import a CSV (the body, Content-Type text/csv, streamed) or, with no body, a built-in dataset’s shipped file.',
    description:
      'Options are query parameters: target, task (classification|regression), features (a,b), categorical (c,d), ' +
      'delimiter (, ; tab), header (true|false), dryRun, newSchema. The first import infers the schema; later ' +
      'ones must fit it (400 naming the column) unless newSchema=true. dryRun=true answers the inferred schema, ' +
      'the row count and the problems found, and writes nothing. Identical content returns the existing version ' +
      '(200) instead of creating a duplicate (201). A body over DATA_MAX_IMPORT_BYTES is refused with 413.',
  })
  @ApiConsumes('text/csv', 'application/json')
  @ApiBody({ schema: { type: 'string', format: 'binary' }, required: false })
  async import(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(importQuerySchema, 'query')) query: ImportQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Actor() actor: string,
  ): Promise<ImportDatasetResponse | ImportDryRunResponse> {
    return withUpload(request, async (stream, declaredBytes) => {
      const outcome = await this.imports.importDataset({
        dataset: name,
        body: stream ?? legacyContent(request.body),
        declaredBytes,
        query,
      });
      if ('dryRun' in outcome) {
        void reply.status(200);
        return outcome;
      }
      return answerImport(this.audit, reply, name, actor, outcome);
    });
  }

  @Get(':name/versions')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every version of a dataset, oldest first.' })
  async versions(@Param('name') name: string): Promise<DatasetVersionView[]> {
    return (await this.datasetVersions.listVersions(name)).map(versionView);
  }

  @Get(':name/versions/:ref')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "One version: 'latest', a number (v2) or an id prefix; schema, label map, counts, cleaning rules.",
  })
  async version(@Param('name') name: string, @Param('ref') ref: string): Promise<DatasetVersionView> {
    return versionView(await this.datasetVersions.resolveVersion(name, ref));
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
    const version = await this.datasetVersions.resolveVersion(name, ref);
    const page = await this.datasetVersions.rowPage(version, query.split, query.cursor, query.limit);
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
    const version = await this.datasetVersions.resolveVersion(name, ref);
    const fileName = `${name}-v${version.seq}-${version.id.slice(0, 12)}${query.split ? `-${query.split}` : ''}.csv`;
    void reply
      .header('Content-Disposition', `attachment; filename="${fileName}"`)
      .header('X-Dataset-Version', version.id)
      .type('text/csv; charset=utf-8')
      .send(Readable.from(this.datasetVersions.exportCsv(version, query.split)));
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
    return this.datasetVersions.diff(name, query.from, query.to);
  }
}

/** A JSON body `{"content": "..."}` (the former import request): its text, as a one-chunk stream. */
function legacyContent(body: unknown): Readable | undefined {
  if (body === undefined || body === null) return undefined;
  const parsed = importDatasetRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the import body must be the CSV itself (Content-Type: text/csv)',
      'Send the file as the request body with Content-Type: text/csv; options go in the query string.',
    );
  }
  return parsed.data.content === undefined ? undefined : Readable.from([parsed.data.content]);
}
