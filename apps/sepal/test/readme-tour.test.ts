/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * The README's five-minute tour, run as a reader runs it: every command of its bash blocks, in order, against an
 * embedded system (`sepal up`) on free ports. curl commands run through bash with the real curl; `npx sepal` commands
 * run the CLI in this process with the argv bash makes of them (a process per command spent 5-10 s loading the apps).
 * Needs `npm run build` first (the trial workers run from dist/).
 *
 * Settings changed from `npm start`'s, so the test stays short: the first Iris training gets the embedded test
 * system's 5 s budget (EMBEDDED_FIRST_TRAINING_BUDGET_S; the tour's own `--budget` is kept), one trial worker, and no
 * retrain when the tour's feedback is committed (RETRAIN_ON_FEEDBACK=false: the tour ends there).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { EMBEDDED_FIRST_TRAINING_BUDGET_S, startEmbeddedSystem, type EmbeddedSystem } from '@sepal/testing';
import { launchSystem, type LaunchedSystem } from '../src/up/launcher';
import { runCliCaptured } from './support/captured-cli';

const run = promisify(execFile);
const ROOT = join(__dirname, '../../..');
const SETTINGS = { TRAINER_WORKERS: '1', RETRAIN_ON_FEEDBACK: 'false' };

/** The command lines of the tour's bash blocks, continuations joined, in reading order. */
function tourCommands(readme: string): string[] {
  const start = readme.indexOf('## A five-minute tour');
  const end = readme.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README.md has no "## A five-minute tour" section');
  const section = readme.slice(start, end);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```/gm)].flatMap((block) =>
    block[1]
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

jest.setTimeout(900_000);

describe("the README's five-minute tour", () => {
  let embedded: EmbeddedSystem<LaunchedSystem>;
  const commands = tourCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  beforeAll(async () => {
    console.log(
      `the tour runs with ${JSON.stringify(SETTINGS)} and a first training budget of ${EMBEDDED_FIRST_TRAINING_BUDGET_S} s (see the header of this file)`,
    );
    embedded = await startEmbeddedSystem(launchSystem, {
      name: 'tour',
      dataDir: join(ROOT, 'data'),
      env: SETTINGS,
    });
  }, 600_000);

  afterAll(async () => {
    await embedded?.close();
    await closeEmbeddedDatabases();
  });

  it('has the five steps', () => {
    expect(commands.filter((c) => c.startsWith('npx sepal')).length).toBeGreaterThanOrEqual(8);
    expect(commands.some((c) => c.startsWith('curl'))).toBe(true);
  });

  it('runs every command, in order, as written', async () => {
    const { ports } = embedded;
    const port: Record<string, number> = {
      '3000': ports.inference,
      '3001': ports.data,
      '3002': ports.registry,
      '3003': ports.trainer,
      '8080': ports.console,
    };
    const url = (p: number) => `http://127.0.0.1:${p}`;
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const urls = {
      SEPAL_DATA_URL: url(ports.data),
      SEPAL_REGISTRY_URL: url(ports.registry),
      SEPAL_TRAINER_URL: url(ports.trainer),
      SEPAL_INFERENCE_URL: url(ports.inference),
    };
    const saved = { ...process.env };
    Object.assign(process.env, urls);
    delete process.env.SEPAL_API_KEY;
    const bash = async (script: string) =>
      (
        await run('bash', ['-c', `set -eo pipefail\n${script}\n`], {
          cwd: ROOT,
          env,
          maxBuffer: 16 * 2 ** 20,
        })
      ).stdout;
    const transcript: string[] = [];
    const timings: string[] = [];
    for (const command of commands) {
      const local = command.replace(/localhost:(\d{4})/g, (_, p: string) => `127.0.0.1:${port[p] ?? p}`);
      const started = Date.now();
      let output: string;
      try {
        if (local.startsWith('npx sepal ')) {
          // The words bash makes of the line (quotes, escapes), given to the CLI as its argv.
          const argv = (await bash(local.replace(/^npx sepal /, "printf '%s\\0' "))).split('\0').slice(0, -1);
          const { code, out, err } = await runCliCaptured(argv);
          if (code !== 0) throw Object.assign(new Error(`exit code ${code}`), { stdout: out, stderr: err });
          output = out;
        } else {
          // curl answers an HTTP error with exit code 22 (and its body), as `set -e` needs; a pipe fails with any part.
          output = await bash(`curl() { command curl --fail-with-body -sS "$@"; }\n${local}`);
        }
      } catch (error) {
        const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
        process.env = saved;
        throw new Error(
          `the tour's command failed (${message}): ${command}\n${stdout ?? ''}\n${stderr ?? ''}\n` +
            `--- before it:\n${transcript.join('\n').slice(-4000)}`,
        );
      }
      transcript.push(`$ ${command}\n${output}`);
      timings.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${command.slice(0, 100)}`);
    }
    process.env = saved;
    console.log(`the tour's commands:\n${timings.join('\n')}`);
    const all = transcript.join('\n');
    expect(all).toContain('Iris-');
    expect(all).toContain('WineModel');
    // Step 4's story: the default gate (0.9 accuracy) kept the wine model a challenger until it was promoted by hand.
    expect(all).toMatch(/challenger/);
    expect(all).toContain('first wine model');
    expect(all).toMatch(/sepal_model_requests_total\{model="WineModel",code="2xx"\} [1-9]/);
  });
});
