/**
 * `npm run bench:data`: a 1,000,000-row × 12-column CSV (8 numeric and 3 categorical features with missing cells,
 * a numeric target) imported into a fresh PostgreSQL database through the data service's REST API (a separate
 * process, so its peak RSS is its own), then a 25-sample feedback commit, then the training split read in pages,
 * and the database size per version. Baselines in the same run: a full copy (what a version wrote before) against
 * the commit's rows, and the bench's own read of the file against the import.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { Client } from 'pg';
import { createRng } from '@sepal/ml';
import { printSettings } from './settings';

const ROOT = join(__dirname, '../..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CITIES = [
  'lisbon',
  'porto',
  'braga',
  'faro',
  'evora',
  'coimbra',
  'aveiro',
  'viseu',
  'leiria',
  'setubal',
];
const COLOURS = ['red', 'green', 'blue', 'white', 'black', 'grey'];
const GRADES = ['A', 'B', 'C', 'D', 'E'];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Writes the CSV: 8 numeric features (2% missing), 3 categorical (1% missing), a numeric target. */
async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  const next = createRng(42);
  out.write('x1,x2,x3,x4,x5,x6,x7,x8,city,colour,grade,price\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const xs = Array.from({ length: 8 }, (_, j) => Math.round((next() * 100 + j) * 1000) / 1000);
    const cells = xs.map((x) => (next() < 0.02 ? '' : String(x)));
    const city = CITIES[Math.floor(next() * CITIES.length)];
    const colour = COLOURS[Math.floor(next() * COLOURS.length)];
    const grade = GRADES[Math.floor(next() * GRADES.length)];
    const price = xs[0] * 3 + xs[1] - xs[2] * 0.5 + CITIES.indexOf(city) * 10 + next() * 5;
    cells.push(next() < 0.01 ? 'NA' : city, colour, next() < 0.01 ? '?' : grade, price.toFixed(3));
    chunk += `${cells.join(',')}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the data service exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the data service did not become ready in 120 s');
}

/** CPU seconds (user + system) of a process, from /proc. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** CPU seconds of the PostgreSQL backends serving a database (their process titles name it). */
function backendCpuSeconds(database: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `))
        total += cpuSeconds(Number(entry));
    } catch {
      // the process ended
    }
  }
  return total;
}

const peakRssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
};

async function call(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function main(): Promise<void> {
  printSettings(
    'data app',
    { FEEDBACK_COMMIT_EVERY: '0', LOG_LEVEL: 'warn' },
    'its own process on PostgreSQL (DATABASE_URL), keys off, no broker',
  );
  const dir = mkdtempSync(join(tmpdir(), 'sepal-bench-data-'));
  const csv = join(dir, 'bench.csv');
  const dbName = `sepal_bench_data_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  // BENCH_PROFILE=1: a CPU profile of the data process (in BENCH_PROFILE_DIR, default the working directory) and every
  // statement over 50 ms in PostgreSQL's log, to see where an import's time goes.
  const profile = Boolean(process.env.BENCH_PROFILE);
  if (profile) {
    await admin.query(`ALTER DATABASE "${dbName}" SET log_min_duration_statement = 50`);
    // The plans of statements over a second, with their actual row counts and times.
    await admin.query(`ALTER DATABASE "${dbName}" SET session_preload_libraries = 'auto_explain'`);
    await admin.query(`ALTER DATABASE "${dbName}" SET auto_explain.log_min_duration = 1000`);
    await admin.query(`ALTER DATABASE "${dbName}" SET auto_explain.log_analyze = on`);
    await admin.query(`ALTER DATABASE "${dbName}" SET auto_explain.log_timing = off`);
    await admin.query(`ALTER DATABASE "${dbName}" SET auto_explain.log_triggers = on`);
    // Each statement's CPU time (user and system), which a loaded machine does not inflate as it does the wall time.
    await admin.query(`ALTER DATABASE "${dbName}" SET log_statement_stats = on`);
  }
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  let child: ChildProcess | undefined;
  try {
    let t = performance.now();
    await writeCsv(csv, ROWS);
    const bytes = statSync(csv).size;
    console.log(
      `generated ${ROWS.toLocaleString('en')} rows × 12 columns, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // Baseline: the bench reading the same file line by line (no parsing, no database).
    t = performance.now();
    let lines = 0;
    for await (const chunk of createReadStream(csv)) {
      for (let i = (chunk as Buffer).indexOf(10); i >= 0; i = (chunk as Buffer).indexOf(10, i + 1))
        lines += 1;
    }
    const readSeconds = (performance.now() - t) / 1000;

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const profileArgs = profile
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? process.cwd()}`]
      : [];
    child = spawn(process.execPath, [...profileArgs, join(ROOT, 'dist/apps/data/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: dbUrl.toString(),
        AMQP_URL: '',
        DATA_PORT: String(port),
        DATA_HOST: '127.0.0.1',
        FEEDBACK_COMMIT_EVERY: '0',
        SEPAL_API_KEY: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
    });
    await waitReady(url, child);
    const rssBefore = peakRssMb(child.pid!);

    const cpuBefore = [cpuSeconds(child.pid!), backendCpuSeconds(dbName)];
    t = performance.now();
    const imported = await upload(`${url}/datasets/bench/import?target=price&fileName=bench.csv`, csv);
    const importSeconds = (performance.now() - t) / 1000;
    const v1 = imported.version as {
      id: string;
      rowCount: number;
      trainRows: number;
      schema: { task: string };
    };
    const importRss = peakRssMb(child.pid!);
    const importCpu = [cpuSeconds(child.pid!) - cpuBefore[0], backendCpuSeconds(dbName) - cpuBefore[1]];
    const size1 = await databaseSize(admin, dbName);

    for (let i = 0; i < 25; i++) {
      await call(`${url}/datasets/bench/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
        body: JSON.stringify({
          features: [i, 2, 3, 4, 5, 6, 7, null, CITIES[i % CITIES.length], 'red', i % 2 ? 'A' : null],
          label: 100 + i,
        }),
      });
    }
    t = performance.now();
    const committed = await call(`${url}/datasets/bench/feedback/commit`, {
      method: 'POST',
      headers: { 'x-sepal-client': '1' },
    });
    const commitSeconds = (performance.now() - t) / 1000;
    const v2 = committed.version as { id: string; rowCount: number; trainRows: number };
    const size2 = await databaseSize(admin, dbName);

    t = performance.now();
    let read = 0;
    let cursor = -1;
    for (;;) {
      const page = await call(
        `${url}/datasets/bench/versions/${v2.id}/rows?split=train&limit=10000&cursor=${cursor}`,
      );
      read += (page.labels as unknown[]).length;
      if (page.nextCursor === null) break;
      cursor = page.nextCursor as number;
    }
    const readPagesSeconds = (performance.now() - t) / 1000;
    const peakRss = peakRssMb(child.pid!);

    const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
    console.log(
      `\nbench:data against PostgreSQL (fresh database ${dbName}), data service in its own process`,
    );
    console.log(
      `import:   ${v1.rowCount.toLocaleString('en')} rows (${v1.schema.task}) in ${importSeconds.toFixed(1)} s = ${rate(v1.rowCount, importSeconds)} rows/s ` +
        `(target ≥ 50,000); baseline: reading the file alone ${rate(lines, readSeconds)} lines/s (import is ${(importSeconds / readSeconds).toFixed(0)}× slower)`,
    );
    console.log(
      `cpu:      the import took ${importCpu[0].toFixed(1)} s of CPU in the data process and ${importCpu[1].toFixed(1)} s in PostgreSQL (wall ${importSeconds.toFixed(1)} s)`,
    );
    console.log(
      `peak RSS: ${importRss.toFixed(0)} MB after the import (${rssBefore.toFixed(0)} MB at start, file ${(bytes / 1e6).toFixed(0)} MB; target ≤ 500 MB); ${peakRss.toFixed(0)} MB at the end`,
    );
    console.log(
      `commit:   25 feedback samples in ${commitSeconds.toFixed(3)} s (target ≤ 1 s), rows written ${String(committed.rowsWritten)} ` +
        `(a full copy would write ${v2.rowCount.toLocaleString('en')}: ${(v2.rowCount / Number(committed.rowsWritten)).toLocaleString('en', { maximumFractionDigits: 0 })}× more)`,
    );
    console.log(
      `read:     training split, ${read.toLocaleString('en')} rows in pages of 10,000 in ${readPagesSeconds.toFixed(1)} s = ${rate(read, readPagesSeconds)} rows/s`,
    );
    console.log(
      `database: ${(size1 / 1e6).toFixed(0)} MB after v1 (${v1.rowCount.toLocaleString('en')} rows, ${(size1 / v1.rowCount).toFixed(0)} B/row); ` +
        `v2 (+25 rows) added ${((size2 - size1) / 1e3).toFixed(0)} kB`,
    );
  } finally {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
    }
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** POSTs a file as a streamed text/csv body (node:http: no client-side timeout on a long import). */
function upload(url: string, file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          if ((response.statusCode ?? 500) >= 300)
            reject(new Error(`POST ${url}: ${response.statusCode} ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
      },
    );
    request.on('error', reject);
    createReadStream(file).pipe(request);
  });
}

async function databaseSize(admin: Client, name: string): Promise<number> {
  const { rows } = await admin.query(`SELECT pg_database_size($1)::bigint AS n`, [name]);
  return Number(rows[0].n);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
