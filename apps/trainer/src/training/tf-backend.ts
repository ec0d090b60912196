import * as path from 'node:path';
import { registerWasmTrainingKernels } from './wasm-conv-kernels';

export type TensorFlow = typeof import('@tensorflow/tfjs');
export type BackendPreference = 'auto' | 'node' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TensorFlowHandle {
  tf: TensorFlow;
  /** The backend every tensor runs on; a run records it. */
  backend: BackendName;
}

export type BackendLogger = (message: string) => void;

/*
 * 'auto' tries tfjs-node (native libtensorflow), then WASM, then the pure JavaScript CPU backend.
 * Measured with trainDenseClassifier on Node 20, 2 cores (busy), single-threaded SIMD WASM, fastest of repeated runs:
 *   Iris 96 rows, 4-16-3, batch 16, 100 epochs:  cpu 0.77-1.22 s, wasm 1.16-1.38 s per training
 *   5,800 x 11 rows (Wine-sized), batch 16:       cpu 0.79-0.84 s, wasm 0.61-0.78 s per epoch
 *   100,000 x 10 rows, batch 256:                 cpu 2.2-2.7 s,   wasm 1.25-1.4 s per epoch
 * With tiny batches the per-call overhead dominates and CPU is slightly ahead (a few tenths of a second
 * per Iris training); as soon as batches carry real work WASM is about twice as fast. WASM is the default.
 */
const AUTO_ORDER: readonly Exclude<BackendPreference, 'auto'>[] = ['node', 'wasm', 'cpu'];

let loaded: Promise<TensorFlowHandle> | undefined;

/**
 * Loads TensorFlow.js once per process and selects its backend. The backend is global to the process,
 * so a later call asking for a different explicit backend is refused rather than silently switching it
 * under models that are already training.
 */
export function loadTensorFlow(
  preferred: BackendPreference = 'auto',
  log: BackendLogger = () => undefined,
): Promise<TensorFlowHandle> {
  if (loaded) {
    return loaded.then((handle) => {
      if (preferred !== 'auto' && !matches(preferred, handle.backend)) {
        throw new Error(
          `TensorFlow.js is already running on the '${handle.backend}' backend; cannot switch to '${preferred}'`,
        );
      }
      return handle;
    });
  }
  loaded = selectBackend(preferred, log).catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

async function selectBackend(preferred: BackendPreference, log: BackendLogger): Promise<TensorFlowHandle> {
  const candidates = preferred === 'auto' ? AUTO_ORDER : [preferred];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const handle = await BACKEND_LOADERS[candidate]();
      log(`TensorFlow.js backend: ${handle.backend}`);
      return handle;
    } catch (error) {
      const reason = `${candidate}: ${describe(error)}`;
      failures.push(reason);
      if (preferred === 'auto') log(`TensorFlow.js backend ${reason}; trying the next one`);
    }
  }
  throw new Error(`No TensorFlow.js backend could start (${failures.join('; ')})`);
}

const BACKEND_LOADERS: Record<Exclude<BackendPreference, 'auto'>, () => Promise<TensorFlowHandle>> = {
  node: async () => {
    // Optional dependency: its native libtensorflow is missing on many machines, and then require throws.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require('@tensorflow/tfjs-node') as TensorFlow;
    return activate(tf, 'tensorflow');
  },
  wasm: async () => {
    const tf = await import('@tensorflow/tfjs');
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from disk: the prefix is a directory path ending in a separator.
    const binary = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    setWasmPaths(path.dirname(binary) + path.sep);
    // The WASM backend lacks the convolution filter gradient; without it no CNN can train there.
    registerWasmTrainingKernels(tf);
    return activate(tf, 'wasm');
  },
  cpu: async () => activate(await import('@tensorflow/tfjs'), 'cpu'),
};

/** Switches to the backend and runs one operation on it, since setBackend can succeed on a broken module. */
async function activate(tf: TensorFlow, backend: BackendName): Promise<TensorFlowHandle> {
  if (!(await tf.setBackend(backend))) {
    throw new Error(`tf.setBackend('${backend}') failed`);
  }
  await tf.ready();
  const sum = tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]);
  if (sum !== 5) {
    throw new Error(`the ${backend} backend computed 2 + 3 = ${sum}`);
  }
  return { tf, backend };
}

function matches(preference: BackendPreference, backend: BackendName): boolean {
  return (preference === 'node' ? 'tensorflow' : preference) === backend;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
