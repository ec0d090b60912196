import { packedTreeBuffers, packTrees, unpackTrees } from '@sepal/ml';
import type { PackedTreeTrialOutput, SentTrialOutput, TreeTrialOutput, TrialOutput } from './trial-protocol';

/**
 * A tree trial's answer packed for its way back to the parent thread, with the buffers to transfer: the structured
 * clone of a forest's node arrays took longer than growing it (Wine white, 300 trees: 1.35 s of the trial worker's
 * time in postMessage), and the parent's share of it ran on its event loop.
 */
export function packTreeOutput(output: TreeTrialOutput): {
  output: PackedTreeTrialOutput;
  transfer: ArrayBuffer[];
} {
  const { trees, ...model } = output.model;
  const packed = packTrees(trees);
  return { output: { ...output, model, trees: packed }, transfer: packedTreeBuffers(packed) };
}

/** A worker's answer as the trainer uses it: a tree trial's trees unpacked. */
export function receivedTrialOutput(output: SentTrialOutput): TrialOutput {
  if (output.family === 'dense' || output.family === 'cnn') return output;
  const { trees, model, ...rest } = output;
  return { ...rest, model: { ...model, trees: unpackTrees(trees) } as TreeTrialOutput['model'] };
}
