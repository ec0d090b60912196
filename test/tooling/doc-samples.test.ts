/*
 * Every sample of the manual (README.md, docs/*.md) is checked against the code, so the docs cannot promise what Sepal
 * does not do: `sepal` commands parse against the CLI program, `npm run` names a script, `curl` names a route the app
 * on that port serves and sends JSON that parses, paths into the repository exist, `ts` samples import what their
 * module exports, `json` samples parse, and relative links reach a page and a heading. A sample none of these checks
 * covers fails the test: check it here or take it out of the docs.
 */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as sepalHttp from '@sepal/http';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';
import { cliProgram } from '../../scripts/docs/cli-reference';
import { fromRoot } from '../../scripts/docs/repo-root';
import {
  fencedBlocks,
  headingAnchors,
  manualFiles,
  readManual,
  relativeLinks,
  shellCommands,
  type Block,
} from './doc-samples';

jest.setTimeout(120_000);

/** Pages other branches write (Kubernetes, the prediction log, images): linked already, checked once they exist. */
const PAGES_OF_OTHER_BRANCHES = new Set(['docs/kubernetes.md', 'docs/prediction-log.md', 'docs/images.md']);
/** The modules `ts` samples may import from, by specifier. */
const SAMPLE_MODULES: Record<string, Record<string, unknown>> = { '@sepal/http': sepalHttp };
/** Programs whose words are only checked for repository paths. */
const PLAIN_PROGRAMS = new Set([
  'export',
  // The broker's own tools, for an operator on the broker's machine (docs/messaging.md), and the package manager that
  // installs the Kubernetes operators (docs/kubernetes.md): not Sepal's to run here.
  'helm',
  'rabbitmqctl',
  'rabbitmqadmin',
  'rabbitmq-plugins',
  'awk',
  'cp',
  'grep',
  'openssl',
  'sha256sum',
  'cut',
  'pg_ctlcluster',
  'rabbitmq-server',
]);
const PORTS: Record<string, string> = {
  '3000': 'inference',
  '3001': 'data',
  '3002': 'registry',
  '3003': 'trainer',
};
const REPOSITORY_PATH = /^@?(\.ci|apps|bench|bin|data|docs|grafana|libs|prometheus|scripts|test)\//;

const blocks = manualFiles().flatMap((file) => fencedBlocks(file));
const where = (block: Block, text?: string) => `${block.file}:${block.line}${text ? ` \`${text}\`` : ''}`;
const packageScripts = Object.keys(
  (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
);
const composeServices = Object.keys(
  (parseYaml(readFileSync(fromRoot('docker-compose.yml'), 'utf8')) as { services: Record<string, unknown> })
    .services,
);

/** Parses `sepal <args>` with every action replaced by nothing; the problem commander found, if any. */
async function sepalProblem(args: string[]): Promise<string | undefined> {
  const program = cliProgram();
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    if (command.commands.length === 0) command.action(() => undefined);
    command.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return undefined;
    return error instanceof Error ? error.message : String(error);
  }
}

/** The arguments after `sepal` when the command runs the CLI, else undefined. */
function sepalArgs(words: string[]): string[] | undefined {
  if (words[0] === 'sepal') return words.slice(1);
  if (words[0] === 'npx' && words[1] === 'sepal') return words.slice(2);
  if (words[0] === 'node' && words[1] === 'bin/sepal.js') return words.slice(2);
  if (words[0] === 'docker' && words[1] === 'compose' && words[2] === 'exec')
    return sepalArgs(words.slice(4));
  return undefined;
}

interface CurlCall {
  method: string;
  port: string;
  path: string;
  json?: string;
}

function curlCall(words: string[]): CurlCall {
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  let json = false;
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (word === '-X') method = words[++i];
    else if (word === '-d' || word === '--data-binary') body = words[++i];
    else if (word === '-H') json ||= /content-type: *application\/json/i.test(words[++i]);
    else if (/^(https?:\/\/)?(localhost|127\.0\.0\.1):\d+/.test(word)) url = word;
  }
  const parts = url ? /^(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):(\d+)(\/[^?#]*)?/.exec(url) : null;
  if (!parts) throw new Error('names no localhost:<port> URL');
  return {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    port: parts[1],
    path: parts[2] ?? '/',
    json: json && body !== undefined && !body.startsWith('@') ? body : undefined,
  };
}

const pattern = (route: string) =>
  new RegExp(`^${route.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\/:[^/]+/g, '/[^/]+')}$`);

/** The routes each app serves, by app name (filled in beforeAll). */
const routes = new Map<string, { method: string; path: RegExp }[]>();

/** What is wrong with one shell command of the manual (empty: nothing). */
async function commandProblems(all: string[]): Promise<string[]> {
  const problems: string[] = [];
  const problem = (message: string) => problems.push(message);
  let words = all;
  while (words.length > 1 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words = words.slice(1);
  for (const word of words) {
    if (REPOSITORY_PATH.test(word) && !existsSync(fromRoot(word.replace(/^@/, '')))) {
      problem(`${word} does not exist in the repository`);
    }
  }
  const sepal = sepalArgs(words);
  if (sepal) {
    if (words[0] === 'docker' && !composeServices.includes(words[3])) {
      problem(`docker-compose.yml has no service ${words[3]}`);
    }
    const refused = await sepalProblem(sepal);
    if (refused) problem(`the CLI refuses it: ${refused}`);
    return problems;
  }
  const [program, first, second] = words;
  if (program === 'npm') {
    if (first === 'run' && !packageScripts.includes(second)) problem(`package.json has no script ${second}`);
    else if (first !== 'run' && !['ci', 'start', 'test', 'i'].includes(first)) problem(`npm ${first}?`);
  } else if (program === 'curl') {
    try {
      const call = curlCall(words);
      const app = PORTS[call.port];
      if (!app) throw new Error(`port ${call.port} is no app's`);
      const served = routes.get(app)!.some((r) => r.method === call.method && r.path.test(call.path));
      if (!served) throw new Error(`${app} serves no ${call.method} ${call.path}`);
      if (call.json !== undefined) {
        try {
          JSON.parse(call.json);
        } catch (error) {
          throw new Error(`its JSON body does not parse: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      problem((error as Error).message);
    }
  } else if (program === 'docker') {
    const service = first === 'compose' && second === 'exec' ? words[3] : undefined;
    if (first !== 'compose') problem('only docker compose is documented');
    if (service !== undefined && !composeServices.includes(service)) problem(`no compose service ${service}`);
  } else if (program === 'npx' && first === 'jest') {
    if (!existsSync(fromRoot(second))) problem(`no test ${second}`);
  } else if (program === 'kubectl') {
    // An overlay must be one of deploy/kubernetes's (rendered by test/deployment/kubernetes.test.ts); -f takes an
    // operator's published manifest only.
    const at = words.findIndex((word) => word === '-k' || word === 'kustomize');
    const overlay = at >= 0 ? words[at + 1] : undefined;
    if (overlay !== undefined && !existsSync(join(fromRoot(overlay), 'kustomization.yaml')))
      problem(`no kustomization in ${overlay}`);
    const file = words[words.indexOf('-f') + 1];
    if (words.includes('-f') && !/^https:\/\//.test(file ?? ''))
      problem(`kubectl -f ${file}: not an operator's release`);
  } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(program)) {
    // a shell variable for the commands after it
  } else if (program === 'bash' || REPOSITORY_PATH.test(program)) {
    // a repository script: its path was checked above
  } else if (!PLAIN_PROGRAMS.has(program)) {
    problem(`no check knows ${program}: check it in test/tooling/doc-samples.test.ts, or remove the sample`);
  }
  return problems;
}

describe('the samples of the manual', () => {
  const apps: NestFastifyApplication[] = [];
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-doc-samples-'));
    const env = {
      SEPAL_HOME: `memory://${uniqueNamespace('docs')}`,
      MODELS_DIR: modelsDir,
      REGISTRY_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'error',
    };
    const started: [string, NestFastifyApplication][] = [
      ['data', await startDataApp(DataConfig.load(env), { listen: false })],
      ['registry', await startRegistryApp(RegistryConfig.load(env), { listen: false })],
      ['trainer', await startTrainerApp(TrainerConfig.load(env), { listen: false })],
      ['inference', await startInferenceApp(InferenceConfig.load(env), { listen: false })],
    ];
    for (const [name, app] of started) {
      apps.push(app);
      routes.set(
        name,
        sepalHttp.routeTable(app).map((row) => ({ method: row.method, path: pattern(row.path) })),
      );
    }
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('are found (the checks below read something)', () => {
    expect(blocks.filter((b) => b.lang === 'bash').length).toBeGreaterThan(10);
    expect(manualFiles()).toEqual(
      expect.arrayContaining(['README.md', 'docs/cli.md', 'docs/configuration.md']),
    );
  });

  it('keep README.md a front page: at most 250 lines, with the command .ci/run runs', () => {
    const readme = readManual('README.md');
    expect(readme.split('\n').length - 1).toBeLessThanOrEqual(250);
    const ci = readFileSync(fromRoot('.ci/run'), 'utf8');
    expect(ci).toContain('npm ci && npm test');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('npm ci && npm start');
  });

  it('name their language: bash, ts, json or text', () => {
    const unnamed = blocks
      .filter((b) => !['bash', 'ts', 'json', 'text'].includes(b.lang))
      .map((b) => where(b));
    expect(unnamed).toEqual([]);
  });

  it('run only commands the code has: sepal, npm scripts, routes, repository paths', async () => {
    const problems: string[] = [];
    const programs: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'bash')) {
      for (const { text, words } of shellCommands(block.body)) {
        programs.push(sepalArgs(words) ? 'sepal' : words[0]);
        for (const message of await commandProblems(words))
          problems.push(`${where(block, text)}: ${message}`);
      }
    }
    expect(problems).toEqual([]);
    // The checks ran on the samples that matter most: the CLI and the REST routes.
    expect(programs.filter((p) => p === 'sepal').length).toBeGreaterThan(40);
    expect(programs.filter((p) => p === 'curl').length).toBeGreaterThan(40);
  });

  it('catch a wrong sample of each kind', async () => {
    const wrong = async (line: string) => (await commandProblems(shellCommands(line)[0].words)).join('; ');
    expect(await wrong('npx sepal train --budget 60')).toMatch(/required option .*--dataset/);
    expect(await wrong('npx sepal models promote IrisModel 2 --because x')).toMatch(
      /unknown option '--because'/,
    );
    expect(await wrong('npx sepal model ls')).toMatch(/unknown command 'model'/);
    expect(await wrong('npx sepal data lss')).toMatch(/unknown command 'lss'/);
    expect(await wrong('docker compose exec db node bin/sepal.js data ls')).toMatch(/no service db/);
    expect(await wrong('npm run docs:make')).toMatch(/no script docs:make/);
    expect(await wrong('curl localhost:3002/model/IrisModel')).toMatch(
      /registry serves no GET \/model\/IrisModel/,
    );
    expect(await wrong('curl -X DELETE localhost:3001/datasets/iris')).toMatch(/data serves no DELETE/);
    expect(
      await wrong(`curl localhost:3000/predict -H 'content-type: application/json' -d '{"features":[1,}'`),
    ).toMatch(/JSON/);
    expect(await wrong('curl localhost:9999/x')).toMatch(/port 9999/);
    expect(await wrong('bash scripts/no-such-script.sh')).toMatch(/does not exist/);
    expect(await wrong('kubectl apply -k deploy')).toMatch(/no kustomization in deploy/);
    expect(await wrong('systemctl start sepal')).toMatch(/no check knows systemctl/);
    expect(await wrong('npx sepal models promote IrisModel 2 --reason "a b"')).toBe('');
    expect(await wrong(`curl -X PUT localhost:3002/models/IrisModel/aliases/champion -d '{}'`)).toBe('');
  });

  it('import in ts samples only what the module exports, and write json that parses', () => {
    const problems: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'ts')) {
      for (const match of block.body.matchAll(/import \{([^}]+)\} from '([^']+)'/g)) {
        const module = SAMPLE_MODULES[match[2]];
        if (!module) {
          problems.push(`${where(block)}: add ${match[2]} to SAMPLE_MODULES to check this sample's imports`);
          continue;
        }
        for (const name of match[1].split(',').map((n) => n.trim())) {
          if (!(name in module)) problems.push(`${where(block)}: ${match[2]} exports no ${name}`);
        }
      }
    }
    for (const block of blocks.filter((b) => b.lang === 'json')) {
      try {
        JSON.parse(block.body);
      } catch (error) {
        problems.push(`${where(block)}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('name headings as GitHub anchors them', () => {
    const anchors = headingAnchors(
      "## REST (port 3002)\n### The gateway's metrics\n## `sepal data import`\n",
    );
    expect([...anchors]).toEqual(['rest-port-3002', 'the-gateways-metrics', 'sepal-data-import']);
  });

  it('link to pages and headings that exist', () => {
    const problems: string[] = [];
    for (const link of manualFiles().flatMap((file) => relativeLinks(file))) {
      const target = link.target
        ? posix.normalize(posix.join(posix.dirname(link.file), link.target))
        : link.file;
      if (!existsSync(fromRoot(target))) {
        if (!PAGES_OF_OTHER_BRANCHES.has(target)) problems.push(`${link.file}: ${target} does not exist`);
        continue;
      }
      if (link.anchor && target.endsWith('.md') && !headingAnchors(readManual(target)).has(link.anchor)) {
        problems.push(`${link.file}: ${target} has no heading #${link.anchor}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
