import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics.service';
import type { LoadedModel } from '../model/loading/loaded-model';
import { OnnxSessions } from '../model/loading/onnx-sessions.service';
import { ModelStack } from './model-stack';
import { StackBuilder } from './stack-builder.service';

/** Rows per member of the parity check a new stack must pass before it serves. */
const PROBE_ROWS = 4;
/** Largest difference of a probability between a stacked run and the member's own run that the check accepts. */
const PROBE_TOLERANCE = 1e-4;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Keeps the loaded classifiers of one architecture in stacks (PREDICT_STACKING): a version joins when it is loaded
 * and leaves when it is retired, and the stacks are rebuilt PREDICT_STACK_DELAY_MS after a change, one build for a
 * burst of loads; the artifacts are fused in a worker thread (StackBuilder). Until a stack that holds a new version serves, that version runs on its own session, so a
 * promotion never waits for a build. A stack serves only after it gave every member's probe rows the answers of the
 * member's own session; a stack that fails to build or to agree is not used, and its members run alone.
 */
@Injectable()
export class ModelStacks implements OnApplicationShutdown {
  private readonly logger = new Logger('ModelStacks');
  private readonly members = new Set<LoadedModel>();
  private stacks: ModelStack[] = [];
  private timer: NodeJS.Timeout | null = null;
  private rebuilding: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly sessions: OnnxSessions,
    private readonly metrics: InferenceMetrics,
    private readonly builder: StackBuilder,
  ) {}

  /** A loaded, verified and warmed version: stacked with the others of its architecture at the next rebuild. */
  add(model: LoadedModel): void {
    if (!this.config.PREDICT_STACKING || model.stackable === null || this.stopped) return;
    this.members.add(model);
    model.onRetired(() => {
      this.members.delete(model);
      this.schedule();
    });
    this.schedule();
  }

  /** The stacks serving now. */
  current(): readonly ModelStack[] {
    return this.stacks;
  }

  /** Resolves once the rebuilds scheduled so far are done. */
  async settled(): Promise<void> {
    while (this.timer !== null) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.rebuilding;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.rebuilding;
    for (const member of this.members) member.useStack(null);
    await Promise.all(this.stacks.map((stack) => stack.release()));
    this.stacks = [];
  }

  private schedule(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.rebuilding = this.rebuilding.then(() =>
        this.rebuild().catch((error) => this.logger.error(`stacks not rebuilt: ${messageOf(error)}`)),
      );
    }, this.config.PREDICT_STACK_DELAY_MS);
    this.timer.unref();
  }

  /** Forms the stacks of the members loaded now; a stack whose members have not changed is kept as it is. */
  private async rebuild(): Promise<void> {
    const next: ModelStack[] = [];
    for (const members of this.groups()) {
      const same = this.stacks.find((stack) => sameMembers(stack.members, members));
      const stack = same ?? (await this.build(members));
      if (stack) next.push(stack);
    }
    if (this.stopped) {
      for (const stack of next) if (!this.stacks.includes(stack)) await stack.release();
      return;
    }
    const placed = new Map<LoadedModel, ModelStack>();
    for (const stack of next) for (const member of stack.members) placed.set(member, stack);
    let stacked = 0;
    for (const member of this.members) {
      const stack = placed.get(member) ?? null;
      member.useStack(stack);
      if (stack) stacked++;
    }
    const previous = this.stacks;
    this.stacks = next;
    this.metrics.stackedVersions.set(stacked);
    for (const stack of previous) if (!next.includes(stack)) void stack.release();
  }

  /** The members by architecture, in chunks of at most PREDICT_STACK_MAX_MODELS; a lone model is no stack. */
  private groups(): LoadedModel[][] {
    const byKey = new Map<string, LoadedModel[]>();
    for (const member of this.members) {
      const key = member.stackable!.key;
      const group = byKey.get(key);
      if (group) group.push(member);
      else byKey.set(key, [member]);
    }
    const chunks: LoadedModel[][] = [];
    const size = this.config.PREDICT_STACK_MAX_MODELS;
    for (const group of byKey.values()) {
      for (let at = 0; at < group.length; at += size) {
        const chunk = group.slice(at, at + size);
        if (chunk.length >= 2) chunks.push(chunk);
      }
    }
    return chunks;
  }

  /** Holds the members while it builds, so none of their sessions is released under the parity check. */
  private async build(members: LoadedModel[]): Promise<ModelStack | null> {
    for (const member of members) member.acquire();
    try {
      return await this.buildHeld(members);
    } finally {
      for (const member of members) member.release();
    }
  }

  private async buildHeld(members: LoadedModel[]): Promise<ModelStack | null> {
    const names = members.map((m) => `${m.info.name} v${m.info.version}`).join(', ');
    const started = Date.now();
    let stack: ModelStack;
    try {
      const bytes = await this.builder.stack(members.map((member) => member.stackable!.bytes));
      const session = await this.sessions.create(bytes);
      stack = new ModelStack(
        session,
        members,
        members[0].signature.featureNames.length,
        this.metrics,
        { windowUs: this.config.PREDICT_BATCH_WINDOW_US, maxRows: Math.max(this.config.MAX_BATCH_ROWS, 1) },
        (error) =>
          this.logger.error(
            `a stacked run of ${names} failed; its rows ran on their own sessions: ${messageOf(error)}`,
          ),
      );
    } catch (error) {
      this.logger.error(`cannot stack ${names}; they run on their own sessions: ${messageOf(error)}`);
      return null;
    }
    const problem = await agreement(stack).catch(
      (error: unknown) => `the probe run failed: ${messageOf(error)}`,
    );
    if (problem !== null) {
      this.logger.error(
        `the stack of ${names} is not used, its answers differ from the models' own: ${problem}`,
      );
      await stack.release();
      return null;
    }
    this.logger.log(
      `stacked ${members.length} models of one architecture (${names}) in ${Date.now() - started} ms`,
    );
    return stack;
  }
}

function sameMembers(a: readonly LoadedModel[], b: readonly LoadedModel[]): boolean {
  return a.length === b.length && a.every((member, index) => member === b[index]);
}

/**
 * Scores PROBE_ROWS rows per member in one stacked run and on each member's own session; null when every
 * probability agrees within PROBE_TOLERANCE, else what differs.
 */
async function agreement(stack: ModelStack): Promise<string | null> {
  const { members } = stack;
  const width = members[0].signature.featureNames.length;
  const probe = new Float32Array(PROBE_ROWS * width);
  for (let i = 0; i < probe.length; i++) probe[i] = (((i * 7) % 13) - 6) * 0.5;
  const data = new Float32Array(members.length * probe.length);
  const index = new BigInt64Array(members.length * PROBE_ROWS);
  members.forEach((_, m) => {
    data.set(probe, m * probe.length);
    index.fill(BigInt(m), m * PROBE_ROWS, (m + 1) * PROBE_ROWS);
  });
  const stacked = await stack.runStacked(data, index.length, index);
  for (let m = 0; m < members.length; m++) {
    const own = await members[m].runSession(probe, PROBE_ROWS);
    const classes = own.probabilities.length / PROBE_ROWS;
    for (let i = 0; i < own.probabilities.length; i++) {
      const difference = Math.abs(stacked.probabilities[m * PROBE_ROWS * classes + i] - own.probabilities[i]);
      if (!(difference <= PROBE_TOLERANCE)) {
        return `${members[m].info.name} v${members[m].info.version}: probability ${i % classes} of probe row ${Math.floor(i / classes)} differs by ${difference}`;
      }
    }
  }
  return null;
}
