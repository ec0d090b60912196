import type { Optimizer, Sequential } from '@tensorflow/tfjs';
import type { TrainingParams } from '@sepal/ml';
import type { TensorFlow } from './tf-backend';

export interface DenseModelShape {
  inputs: number;
  /** Output units: the classes (softmax), or 1 for regression (linear, squared-error loss). */
  classes: number;
  params: TrainingParams;
  regression?: boolean;
}

export interface CompiledDenseModel {
  model: Sequential;
  /** Owned by the caller: LayersModel.dispose() leaves an optimizer passed in as an instance alone. */
  optimizer: Optimizer;
}

/**
 * hiddenLayers x Dense(hiddenUnits, activation) then Dense(classes, softmax), compiled for one-hot labels; or, for
 * regression, Dense(1, linear) compiled with the mean squared error (on the standardised target).
 * Every kernel gets its own seed from `random`, so the same seed gives the same initial weights.
 */
export function buildDenseModel(
  tf: TensorFlow,
  { inputs, classes, params, regression = false }: DenseModelShape,
  random: () => number,
): CompiledDenseModel {
  const model = tf.sequential();
  const kernelRegularizer = params.l2 > 0 ? tf.regularizers.l2({ l2: params.l2 }) : undefined;
  const initializer = () => tf.initializers.glorotUniform({ seed: Math.floor(random() * 2 ** 31) });
  for (let layer = 0; layer < params.hiddenLayers; layer++) {
    model.add(
      tf.layers.dense({
        ...(layer === 0 ? { inputShape: [inputs] } : {}),
        units: params.hiddenUnits,
        activation: params.activation,
        kernelInitializer: initializer(),
        kernelRegularizer,
      }),
    );
  }
  model.add(
    tf.layers.dense({
      ...(params.hiddenLayers === 0 ? { inputShape: [inputs] } : {}),
      units: regression ? 1 : classes,
      activation: regression ? 'linear' : 'softmax',
      kernelInitializer: initializer(),
      kernelRegularizer,
    }),
  );
  const optimizer = createOptimizer(tf, params);
  model.compile(
    regression
      ? { optimizer, loss: 'meanSquaredError' }
      : { optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] },
  );
  return { model, optimizer };
}

export function createOptimizer(
  tf: TensorFlow,
  { optimizer, learningRate }: Pick<TrainingParams, 'optimizer' | 'learningRate'>,
): Optimizer {
  switch (optimizer) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    default:
      throw new Error(`Unknown optimizer ${String(optimizer satisfies never)}`);
  }
}
