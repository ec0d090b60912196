import { Inject, Injectable } from '@nestjs/common';
import { InferenceSession } from 'onnxruntime-node';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';

/** What the gateway uses of an onnxruntime session (inputMetadata: to check an image model's input). */
export type OnnxSession = Pick<InferenceSession, 'run' | 'release'> &
  Partial<Pick<InferenceSession, 'inputMetadata'>>;

/** Creates ONNX sessions (port; OrtSessions uses onnxruntime-node). */
export abstract class OnnxSessions {
  abstract create(bytes: Uint8Array): Promise<OnnxSession>;
}

/** onnxruntime-node sessions with the configured threads, sequential execution and every graph optimisation. */
@Injectable()
export class OrtSessions extends OnnxSessions {
  constructor(@Inject(InferenceConfig) private readonly config: InferenceConfigValues) {
    super();
  }

  create(bytes: Uint8Array): Promise<OnnxSession> {
    return InferenceSession.create(bytes, {
      intraOpNumThreads: this.config.ORT_INTRA_OP_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  }
}
