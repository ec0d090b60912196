import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import {
  IMAGE_BATCH_CONTENT_TYPE,
  ImageImportQuery,
  imageImportQuerySchema,
  ImageImportResponse,
  ImagePageQuery,
  imagePageQuerySchema,
  ImageSamplesResponse,
  imageSamplesQuerySchema,
  InvalidInputError,
} from '@sepal/contracts';
import { Actor, RequireScope, ZodValidationPipe } from '@sepal/http';
import { DataAuditService } from '../audit/data-audit.service';
import { answerImport, withUpload } from '../datasets/import-answer';
import { ImageImportService } from './image-import.service';
import { ImageReadService } from './image-read.service';

@ApiTags('images')
@Controller('datasets')
export class ImagesController {
  constructor(
    private readonly imports: ImageImportService,
    private readonly reads: ImageReadService,
    private readonly audit: DataAuditService,
  ) {}

  @Post(':name/images/import')
  @RequireScope('data:write')
  @ApiOperation({
    summary:
      'Import images: a zip of class folders (PNG/JPEG) or IDX pairs as the body, or no body for fashion-mnist.',
    description:
      'Query: height, width, channels (1|3), resize (stretch|fit|exact), limit (built-in only), newSchema. Every ' +
      'image is decoded, converted and resized to the declared shape in a worker thread, and keyed by the hash of ' +
      'its pixels. A file that cannot be decoded is a 422 naming it; a limit passed (DATA_MAX_IMAGE_IMPORT_BYTES, ' +
      'DATA_MAX_IMAGE_FILES, DATA_MAX_IMAGE_FILE_BYTES, DATA_MAX_IMAGE_PIXELS) a 413 naming it; either way nothing ' +
      'is written. Identical content returns the existing version (200) instead of a new one (201).',
  })
  @ApiConsumes('application/zip')
  @ApiBody({ schema: { type: 'string', format: 'binary' }, required: false })
  async import(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(imageImportQuerySchema, 'query')) query: ImageImportQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Actor() actor: string,
  ): Promise<ImageImportResponse> {
    const stream = request.body instanceof Readable ? request.body : undefined;
    // No body (or the empty JSON object clients send for one) imports a built-in dataset.
    const empty =
      request.body === undefined ||
      request.body === null ||
      (typeof request.body === 'object' && Object.keys(request.body).length === 0);
    if (!stream && !empty) {
      throw new InvalidInputError(
        'the body of an image import must be a zip (Content-Type: application/zip)',
        'Send the zip itself as the body; options go in the query string.',
      );
    }
    return withUpload(request, async (body, declaredBytes) => {
      const outcome = await this.imports.importImages({ dataset: name, body, declaredBytes, query });
      return {
        ...(await answerImport(this.audit, reply, name, actor, outcome)),
        images: { read: outcome.summary.rows, ignored: outcome.summary.ignored },
      };
    });
  }

  @Get(':name/versions/:ref/images')
  @RequireScope('read')
  @ApiOperation({
    summary: `A page of a version's images (?split=train|test&cursor=&limit=) as ${IMAGE_BATCH_CONTENT_TYPE}.`,
    description:
      'Binary: "SEPALIMG", a uint32 LE header length, a JSON header (count, height, width, channels, labels, ' +
      'nextCursor, hashes), count×H×W×C uint8 pixels (NHWC), count uint16 LE class indexes. libs/contracts ' +
      'decodeImageBatch reads it. Follow nextCursor until it is null.',
  })
  @ApiProduces(IMAGE_BATCH_CONTENT_TYPE)
  async images(
    @Param('name') name: string,
    @Param('ref') ref: string,
    @Query(new ZodValidationPipe(imagePageQuerySchema, 'query')) query: ImagePageQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const page = await this.reads.page(name, ref, query);
    void reply
      .header('X-Dataset-Version', page.version)
      .type(IMAGE_BATCH_CONTENT_TYPE)
      .send(Buffer.from(page.body.buffer, page.body.byteOffset, page.body.byteLength));
  }

  @Get(':name/versions/:ref/samples')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The first images of each class of a version (hashes), for a per-class sample grid.',
  })
  samples(
    @Param('name') name: string,
    @Param('ref') ref: string,
    @Query(new ZodValidationPipe(imageSamplesQuerySchema, 'query'))
    query: { perClass: number; split?: 'train' | 'test' },
  ): Promise<ImageSamplesResponse> {
    return this.reads.samples(name, ref, query.perClass, query.split);
  }

  @Get(':name/images/:hash')
  @RequireScope('read')
  @ApiOperation({ summary: 'One stored image (by its hash) as a PNG, at the dataset’s declared shape.' })
  @ApiProduces('image/png')
  async image(
    @Param('name') name: string,
    @Param('hash') hash: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const png = await this.reads.png(name, hash);
    // Content-addressed: the same hash is always the same picture.
    void reply.header('Cache-Control', 'private, max-age=31536000, immutable').type('image/png').send(png);
  }
}
