import type { GbdtTrial } from './boosting';
import type { CnnTrial } from './cnn';
import type { DenseTrial } from './dense';
import type { ForestTrial } from './forest';

/**
 * The model families a grid can search: a dense network, a random forest, gradient-boosted trees on tables; a
 * convolutional network on images.
 */
export const MODEL_FAMILIES = ['dense', 'forest', 'gbdt', 'cnn'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** One trial of a grid: its family and that family's parameters. A plain object, so any transport carries it. */
export type TrialParams = DenseTrial | ForestTrial | GbdtTrial | CnnTrial;
