import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { createReadStream } from 'node:fs';
import { ImageImportResponse, imageImportResponseSchema } from '@sepal/contracts';
import type { ServiceClient } from '@sepal/http-client';
import { writeZip } from '@sepal/ml';

export interface ImageCliOptions {
  images?: string;
  limit?: string;
  height?: string;
  width?: string;
  channels?: string;
  resize?: string;
  newSchema?: boolean;
}

/** Every file below `folder` (hidden files and folders skipped), as zip entries named relative to it. */
async function zipFolder(folder: string): Promise<Uint8Array> {
  const files: { name: string; data: Uint8Array }[] = [];
  const walk = async (directory: string): Promise<void> => {
    const entries = (await readdir(directory, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(directory, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        files.push({ name: relative(folder, path).split(sep).join('/'), data: await readFile(path) });
      }
    }
  };
  await walk(folder);
  if (!files.length) throw new Error(`--images ${folder}: the folder holds no file`);
  return writeZip(files);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * `sepal data import <name> --images <folder-or-zip>` and `sepal data import fashion-mnist`: a folder is zipped
 * here (stored: pictures are compressed already), a zip is streamed as it is, and a built-in dataset sends nothing.
 */
export async function importImages(
  client: ServiceClient,
  dataset: string,
  options: ImageCliOptions,
): Promise<ImageImportResponse> {
  const query = new URLSearchParams();
  for (const key of ['limit', 'height', 'width', 'channels', 'resize'] as const) {
    if (options[key] !== undefined) query.set(key, options[key]);
  }
  if (options.newSchema) query.set('newSchema', 'true');
  let upload: { body: AsyncIterable<Uint8Array>; contentType: string } | undefined;
  if (options.images) {
    const info = await stat(options.images).catch(() => {
      throw new Error(`cannot read --images ${options.images}: no such file or folder`);
    });
    query.set('fileName', basename(options.images));
    upload = {
      body: info.isDirectory() ? once(await zipFolder(options.images)) : createReadStream(options.images),
      contentType: 'application/zip',
    };
  }
  const url = `/datasets/${encodeURIComponent(dataset)}/images/import${query.size ? `?${query}` : ''}`;
  return client.post(url, undefined, { schema: imageImportResponseSchema, upload });
}

export function describeImageImport(result: ImageImportResponse): string {
  const image = result.version.schema.image;
  return [
    `${result.created ? 'Created' : 'Unchanged, existing'} version v${result.version.seq} ${result.version.id}` +
      (result.rowsWritten !== undefined ? ` (${result.rowsWritten} images written)` : ''),
    `images:   ${result.images.read} read` +
      (image ? `, as ${image.height}x${image.width}x${image.channels} (${image.resize})` : ''),
    ...(result.images.ignored.length ? [`ignored:  ${result.images.ignored.join(', ')}`] : []),
  ].join('\n');
}
