/*
 * The built CLI (`npm run build` first, as `npm test` does) in its own process, its answer piped to another process:
 * a JSON answer larger than a pipe's buffer (64 KiB) must arrive whole, e.g. for `sepal runs ls --json | jq`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { RegistryConfig, startRegistryApp } from '../../registry/src';

const CLI = join(__dirname, '../../../dist/apps/sepal/src/main.js');
const RUNS = 200;
/** Reads all of standard input, parses it as JSON (an array of runs) and prints how many bytes and runs it got. */
const CONSUMER =
  'const text = require("fs").readFileSync(0, "utf8"); const runs = JSON.parse(text);' +
  ' process.stdout.write(JSON.stringify({ bytes: Buffer.byteLength(text), runs: runs.length }));';

/** `node <CLI> ...args | node -e CONSUMER` through a real pipe (made by bash); fails if either side fails. */
function pipeCli(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const script = 'set -o pipefail; "$0" "$1" "${@:3}" | "$0" -e "$2"';
    const shell = spawn('bash', ['-c', script, process.execPath, CLI, CONSUMER, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    shell.stdout.on('data', (chunk) => (out += chunk));
    shell.stderr.on('data', (chunk) => (err += chunk));
    shell.once('error', reject);
    shell.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('the built CLI with its output piped', () => {
  let registry: NestFastifyApplication;
  let registryUrl: string;
  let modelsDir: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
    const namespace = uniqueNamespace('cli_pipe');
    modelsDir = mkdtempSync(join(tmpdir(), 'sepal-cli-pipe-'));
    registry = await startRegistryApp(
      RegistryConfig.load({
        SEPAL_HOME: `memory://${namespace}`,
        SEPAL_NAMESPACE: namespace,
        LOG_LEVEL: 'error',
        REGISTRY_PORT: '0',
        REGISTRY_HOST: '127.0.0.1',
        MODELS_DIR: modelsDir,
      }),
    );
    registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
    const http = registry.getHttpAdapter().getInstance();
    for (let i = 0; i < RUNS; i++) {
      const created = await http.inject({
        method: 'POST',
        url: '/runs',
        headers: { 'x-sepal-client': '1' },
        payload: {
          experiment: 'pipe',
          name: `trial-${i}`,
          params: { learningRate: 0.01 * (i + 1), hiddenUnits: 8, epochs: 100 },
          tags: { purpose: 'a JSON answer larger than a pipe buffer', padding: 'x'.repeat(200) },
          dataset: 'iris',
        },
      });
      if (created.statusCode !== 201) throw new Error(`POST /runs: ${created.statusCode} ${created.body}`);
    }
  }, 120_000);

  afterAll(async () => {
    await registry?.close();
    await closeEmbeddedDatabases();
    if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
  });

  it('writes a JSON answer over 64 KiB whole before it exits', async () => {
    const piped = await pipeCli(['runs', 'ls', '--json', '--limit', String(RUNS)], {
      ...process.env,
      NODE_OPTIONS: '',
      SEPAL_REGISTRY_URL: registryUrl,
    });
    expect({ code: piped.code, err: piped.err }).toEqual({ code: 0, err: '' });
    const received = JSON.parse(piped.out) as { bytes: number; runs: number };
    expect(received.runs).toBe(RUNS);
    expect(received.bytes).toBeGreaterThan(64 * 1024);
  }, 60_000);
});
