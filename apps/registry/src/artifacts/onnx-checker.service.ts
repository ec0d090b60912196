import { Inject, Injectable } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { workerScript } from '@sepal/config';
import { DEFAULT_ONNX_POLICY, OnnxPolicy, OnnxValidationError, validateOnnxModel } from '@sepal/ml';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';

/** Files up to this size are checked on the calling thread (well under a millisecond for a dense model this size). */
export const INLINE_CHECK_MAX_BYTES = 256 * 1024;

export interface OnnxCheckWorkerData {
  bytes: Uint8Array;
  policy: OnnxPolicy;
}

/** `problem`: the OnnxValidationError's message; `error`: anything else that went wrong in the worker. */
export type FromOnnxCheckWorker = { ok: true } | { ok: false; problem?: string; error?: string };

/** The registry's upload policy: libs/ml's defaults with the configured size and node limits. */
export function uploadPolicy(config: RegistryConfigValues): OnnxPolicy {
  return {
    ...DEFAULT_ONNX_POLICY,
    maxBytes: config.REGISTRY_MAX_ARTIFACT_BYTES,
    maxNodes: config.REGISTRY_ONNX_MAX_NODES,
  };
}

/** Checks an uploaded file with validateOnnxModel; throws its OnnxValidationError (port; see WorkerOnnxChecker). */
export abstract class OnnxChecker {
  abstract check(bytes: Uint8Array): Promise<void>;
}

/** Checks on the calling thread (the unit specs; and small files in WorkerOnnxChecker). */
export class InlineOnnxChecker extends OnnxChecker {
  constructor(private readonly policy: OnnxPolicy) {
    super();
  }

  async check(bytes: Uint8Array): Promise<void> {
    validateOnnxModel(bytes, this.policy);
  }
}

/**
 * Checks a large file in a worker thread of its own: decoding a tree ensemble's millions of attribute values takes
 * some 100 ms per 7 MB, which the registry's event loop must not spend; uploads are rare, so one worker per check.
 */
@Injectable()
export class WorkerOnnxChecker extends OnnxChecker {
  private readonly policy: OnnxPolicy;
  private readonly inline: InlineOnnxChecker;

  constructor(@Inject(RegistryConfig) config: RegistryConfigValues) {
    super();
    this.policy = uploadPolicy(config);
    this.inline = new InlineOnnxChecker(this.policy);
  }

  check(bytes: Uint8Array): Promise<void> {
    if (bytes.length <= INLINE_CHECK_MAX_BYTES || bytes.length > this.policy.maxBytes)
      return this.inline.check(bytes);
    return new Promise((resolve, reject) => {
      const data: OnnxCheckWorkerData = { bytes, policy: this.policy };
      const worker = new Worker(workerScript(__dirname, 'onnx-check-worker'), { workerData: data });
      let answered = false;
      worker.once('message', (message: FromOnnxCheckWorker) => {
        answered = true;
        if (message.ok) resolve();
        else if (message.problem !== undefined) reject(new OnnxValidationError(message.problem));
        else reject(new Error(`checking the ONNX model failed: ${message.error}`));
      });
      worker.once('error', (error) => {
        answered = true;
        reject(error);
      });
      worker.once('exit', (code) => {
        if (!answered) reject(new Error(`the ONNX check worker exited with code ${code} before answering`));
      });
    });
  }
}
