import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');

/** The queues the apps declare (unprefixed): what a test removes from its namespace afterwards. */
export const QUEUES = [
  'data.feedback',
  'registry.training',
  'registry.jobs',
  'trainer.jobs',
  'trainer.retrain-policy',
  'inference.model-promoted',
];

/** One Sepal app started as its own Node process from the build, with its output kept for failure reports. */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly output: string[] = [];

  constructor(
    readonly app: 'data' | 'registry' | 'trainer' | 'inference' | 'console',
    readonly url: string,
    private readonly env: Record<string, string>,
  ) {}

  start(): void {
    const entry = join(ROOT, 'dist/apps', this.app, 'src/main.js');
    if (!existsSync(entry))
      throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does).`);
    this.child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  tail(lines = 40): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }
}
