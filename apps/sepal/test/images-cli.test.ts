/**
 * `sepal data import <name> --images <folder-or-zip>` and `sepal data import fashion-mnist --limit n` against the
 * data app (embedded adapters). Needs `npm run build` first (the import worker runs from dist).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { PNG } from 'pngjs';
import { writeZip } from '@sepal/ml';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { ExitCode } from '../src/cli';
import { runCliCaptured as sepal } from './support/captured-cli';
import { startCliDataApp } from './support/cli-services';

function png(shade: number, i: number): Buffer {
  const image = new PNG({ width: 5, height: 5 });
  image.data.fill(shade);
  for (let p = 0; p < 25; p++) image.data[p * 4 + 3] = 255;
  image.data[i * 4] = 255 - shade;
  return PNG.sync.write(image);
}

describe('sepal data import with images', () => {
  let app: INestApplication;
  let folder: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    const namespace = uniqueNamespace('images-cli');
    app = await startCliDataApp(namespace);
    folder = mkdtempSync(join(tmpdir(), 'sepal-images-'));
    for (const [name, shade] of [
      ['light', 220],
      ['dark', 20],
    ] as const) {
      mkdirSync(join(folder, 'pets', name), { recursive: true });
      for (let i = 0; i < 5; i++) writeFileSync(join(folder, 'pets', name, `${i}.png`), png(shade, i));
    }
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await closeEmbeddedDatabases();
    rmSync(folder, { recursive: true, force: true });
    process.env = saved;
  });

  it('zips a folder of class folders and imports it with the declared shape; a zip gives the same version', async () => {
    const imported = await sepal([
      'data',
      'import',
      'pets',
      '--images',
      join(folder, 'pets'),
      '--height',
      '4',
    ]);
    expect(imported.err).toBe('');
    expect(imported.code).toBe(ExitCode.ok);
    expect(imported.out).toMatch(/Created version v1 [0-9a-f]{64} \(10 images written\)/);
    expect(imported.out).toContain('images:   10 read, as 4x28x1 (stretch)');
    expect(imported.out).toMatch(/labels:\s+0=dark, 1=light/);

    const files = ['dark', 'light'].flatMap((name) =>
      [0, 1, 2, 3, 4].map((i) => ({
        name: `${name}/${i}.png`,
        data: new Uint8Array(png(name === 'dark' ? 20 : 220, i)),
      })),
    );
    const zip = join(folder, 'pets.zip');
    writeFileSync(zip, writeZip(files));
    const again = await sepal(['--json', 'data', 'import', 'pets', '--images', zip]);
    expect(again.code).toBe(ExitCode.ok);
    expect(JSON.parse(again.out)).toMatchObject({ created: false, version: { seq: 1 } });
  });

  it('says which file of the folder is broken, and exits 1', async () => {
    writeFileSync(join(folder, 'pets', 'dark', 'torn.png'), png(20, 0).subarray(0, 30));
    const refused = await sepal(['data', 'import', 'pets', '--images', join(folder, 'pets')]);
    expect(refused.code).toBe(ExitCode.failed);
    expect(refused.err).toContain('dark/torn.png cannot be decoded as PNG');
    rmSync(join(folder, 'pets', 'dark', 'torn.png'));
  });

  it('imports a slice of Fashion-MNIST from the Debian files (when installed)', async () => {
    if (!existsSync('/usr/share/datasets/fashion-mnist')) {
      console.warn(
        'skipped: /usr/share/datasets/fashion-mnist is missing (apt-get install dataset-fashion-mnist)',
      );
      return;
    }
    const imported = await sepal(['data', 'import', 'fashion-mnist', '--limit', '70']);
    expect(imported.err).toBe('');
    expect(imported.out).toContain('images:   70 read, as 28x28x1 (exact)');
    expect(imported.out).toMatch(/rows:\s+70 \(train 60, test 10\)/);
  }, 30_000);
});
