/*
 * A worker thread that reads one image import: unzips the archive (or reads the IDX files of a built-in dataset),
 * decodes every PNG/JPEG, converts and resizes it to the declared shape, hashes it and formats batches ready to
 * stage (rows as COPY text or JSON, pixels as base64). The service's event loop only writes the batches.
 */
import { readFileSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { runInBackground } from '@sepal/config';
import { parseIdx, readZipEntries, ZipFormatError } from '@sepal/ml';
import { importedRowHash, importedRowKey, splitRank } from '../../datasets/domain/content-hash';
import { stageBatchOf, StagedRow } from '../../datasets/domain/staged-batch';
import { imageHash, ImageLimitError, LoadedImages, planImages } from '../domain/image-reader';
import { archiveLayout, LayoutError } from '../domain/image-sources';
import type {
  FromImageWorker,
  ImageBlobs,
  ImageImportWorkerData,
  ImageWorkerError,
} from './image-import-protocol';

const port = parentPort;
if (!port) throw new Error('image-import-worker.js runs as a worker thread only');
// Under contention the process's serving thread gets the core first (see runInBackground).
runInBackground();
const job = workerData as ImageImportWorkerData;
const send = (message: FromImageWorker) => port.postMessage(message);

/** Batches posted and not yet staged: one being written, one ready; the next waits (memory stays flat). */
const MAX_UNSTAGED = 2;
const MAX_IGNORED_NAMED = 100;
let unstaged = 0;
let stagedWake: (() => void) | null = null;
port.on('message', () => {
  unstaged -= 1;
  stagedWake?.();
  stagedWake = null;
});

/** Parses an IDX file; a damaged one is a layout problem naming it (422), not a failure of the service. */
function parse(name: string, bytes: () => Uint8Array) {
  try {
    return parseIdx(bytes(), name);
  } catch (error) {
    throw new LayoutError(`${name}: ${(error as Error).message.replace(`${name}: `, '')}`);
  }
}

function load(): { loaded: LoadedImages; ignored: string[]; bytes: number } {
  const source = job.source;
  if (source.kind === 'idx-files') {
    let bytes = 0;
    const pairs = source.pairs.map((pair) => {
      const images = readFileSync(pair.images);
      const labels = readFileSync(pair.labels);
      bytes += images.length + labels.length;
      return {
        name: pair.prefix,
        split: pair.split,
        images: parse(pair.images, () => images),
        labels: parse(pair.labels, () => labels),
      };
    });
    return { loaded: { kind: 'idx', pairs, classNames: source.classNames }, ignored: [], bytes };
  }
  const layout = archiveLayout(readZipEntries(source.zip));
  const bytes = source.zip.length;
  if (layout.kind === 'folders')
    return { loaded: { kind: 'folders', images: layout.images }, ignored: layout.ignored, bytes };
  const pairs = layout.pairs.map((pair) => ({
    name: pair.prefix,
    split: pair.split,
    images: parse(pair.imagesName, pair.images),
    labels: parse(pair.labelsName, pair.labels),
  }));
  return { loaded: { kind: 'idx', pairs }, ignored: layout.ignored, bytes };
}

async function post(
  shape: ImageBlobs['shape'],
  rows: StagedRow[],
  hashes: string[],
  pixels: string[],
): Promise<void> {
  while (unstaged >= MAX_UNSTAGED) await new Promise<void>((resolve) => (stagedWake = resolve));
  unstaged += 1;
  send({ type: 'batch', batch: stageBatchOf(rows, job.copy), blobs: { shape, hashes, pixels } });
}

async function run(): Promise<void> {
  const { loaded, ignored, bytes } = load();
  const plan = planImages(loaded, {
    spec: job.spec,
    labels: job.labels,
    limit: job.limit,
    maxFiles: job.limits.maxFiles,
    maxFileBytes: job.limits.maxFileBytes,
    maxPixels: job.limits.maxPixels,
  });
  const problems: string[] = [];
  let problemCount = 0;
  const sent = new Set<string>();
  const declaredTest: Record<string, number> = {};
  let rows: StagedRow[] = [];
  let hashes: string[] = [];
  let pixels: string[] = [];
  let ord = 0;
  for (const outcome of plan.read()) {
    if ('problem' in outcome) {
      problemCount += 1;
      if (problems.length < job.maxProblems) problems.push(`${outcome.file} ${outcome.problem}`);
      continue;
    }
    // Once a file failed the import is refused: the rest are only read for their problems.
    if (problemCount) continue;
    const hash = imageHash(plan.spec, outcome.pixels);
    if (!sent.has(hash)) {
      sent.add(hash);
      hashes.push(hash);
      pixels.push(
        Buffer.from(outcome.pixels.buffer, outcome.pixels.byteOffset, outcome.pixels.byteLength).toString(
          'base64',
        ),
      );
    }
    const featuresJson = `["${hash}"]`;
    const rowHash = importedRowHash(job.dataset, 'classification', featuresJson, outcome.className);
    let rank = splitRank(job.seed, importedRowKey(rowHash));
    if (plan.declared) {
      // A declared split: every test row ranks before every train row, and each class's quota is its test rows.
      rank = `${outcome.split === 'test' ? '00' : '80'}${rank.slice(2)}`;
      const stratum = String(plan.labels.indexOf(outcome.className));
      if (outcome.split === 'test') declaredTest[stratum] = (declaredTest[stratum] ?? 0) + 1;
    }
    rows.push({
      ord: ord++,
      hash: rowHash,
      rank,
      featuresJson,
      label: outcome.className,
      origin: outcome.file,
    });
    if (rows.length >= job.batchRows) {
      await post(plan.spec, rows, hashes, pixels);
      rows = [];
      hashes = [];
      pixels = [];
    }
  }
  if (problemCount) {
    send({ type: 'failed', error: { kind: 'files', problems, total: problemCount } });
    return;
  }
  if (rows.length) await post(plan.spec, rows, hashes, pixels);
  send({
    type: 'done',
    threadId,
    summary: {
      rows: ord,
      spec: plan.spec,
      labels: plan.labels,
      ignored: ignored.slice(0, MAX_IGNORED_NAMED),
      bytes,
      declaredTest: plan.declared ? declaredTest : null,
    },
  });
}

function describe(error: unknown): ImageWorkerError {
  if (error instanceof ImageLimitError)
    return { kind: 'limit', message: error.message, setting: error.setting };
  if (error instanceof LayoutError || error instanceof ZipFormatError) {
    return { kind: 'layout', message: error.message };
  }
  return { kind: 'other', message: (error as Error)?.message ?? String(error) };
}

run().catch((error: unknown) => send({ type: 'failed', error: describe(error) }));
