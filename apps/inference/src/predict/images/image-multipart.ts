import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
import type { ImageRequestLimits, ImageSource } from './image-request';
import { ImageInputError } from './image-errors';

/** Text fields a multipart request may carry besides its files (they are ignored), and their size. */
const MAX_FIELDS = 16;
const MAX_FIELD_BYTES = 1024;

export interface MultipartLimits extends ImageRequestLimits {
  /** The whole request's bytes (MAX_BODY_BYTES, as for a JSON body). */
  maxBodyBytes: number;
}

/**
 * Reads the files of a multipart/form-data request (any field name; each file is one image, in order), within the
 * limits: bytes per file (IMAGE_MAX_BYTES), files per request (IMAGE_MAX_PER_REQUEST) and bytes in all
 * (MAX_BODY_BYTES), each a 413 naming it. Text fields are ignored (at most 16 of 1 KiB).
 */
export async function imageSourcesFromMultipart(
  request: FastifyRequest,
  limits: MultipartLimits,
): Promise<ImageSource[]> {
  const sources: ImageSource[] = [];
  let total = 0;
  const fileSize = Math.min(limits.maxBytes, limits.maxBodyBytes);
  try {
    const parts = request.parts({
      limits: {
        fileSize,
        files: limits.maxImages,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: limits.maxImages + MAX_FIELDS,
        headerPairs: 100,
      },
    });
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      const what = `file ${JSON.stringify(part.filename ?? part.fieldname)} (part ${sources.length + 1})`;
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (total > limits.maxBodyBytes) {
        throw ImageInputError.tooLarge(
          what,
          `the files add up to more than the limit of ${limits.maxBodyBytes} bytes per request (MAX_BODY_BYTES)`,
        );
      }
      sources.push({ what, bytes });
    }
  } catch (error) {
    throw multipartError(error, limits, fileSize, sources.length);
  }
  if (sources.length === 0) {
    throw ImageInputError.unprocessable(
      'body',
      'a multipart/form-data request without a file; attach the images as files (e.g. curl -F image=@shirt.png)',
    );
  }
  return sources;
}

/** @fastify/multipart's errors, as answers naming the limit. */
function multipartError(error: unknown, limits: MultipartLimits, fileSize: number, read: number): unknown {
  if (error instanceof ImageInputError) return error;
  const code = (error as { code?: string } | null)?.code;
  const part = `file (part ${read + 1})`;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return ImageInputError.tooLarge(
        part,
        `over the limit of ${fileSize} bytes per image (${fileSize === limits.maxBytes ? 'IMAGE_MAX_BYTES' : 'MAX_BODY_BYTES'})`,
      );
    case 'FST_FILES_LIMIT':
      return ImageInputError.tooLarge(
        'body',
        `more than ${limits.maxImages} images per request (IMAGE_MAX_PER_REQUEST)`,
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return ImageInputError.tooLarge(
        'body',
        `too many parts: at most ${limits.maxImages} files (IMAGE_MAX_PER_REQUEST) and ${MAX_FIELDS} text fields`,
      );
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return ImageInputError.unprocessable('body', 'a malformed multipart/form-data body');
    default:
      if (error instanceof Error && /boundary|multipart|Unexpected end/i.test(error.message)) {
        return ImageInputError.unprocessable(
          'body',
          `a malformed multipart/form-data body (${error.message})`,
        );
      }
      return error;
  }
}
