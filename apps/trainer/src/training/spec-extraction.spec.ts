import { loadTensorFlow, type TensorFlow } from './tf-backend';
import { extractDenseLayers } from './spec-extraction';

describe('extractDenseLayers', () => {
  let tf: TensorFlow;
  beforeAll(async () => {
    ({ tf } = await loadTensorFlow());
  });

  it('reads each kernel as row-major [inputs x units] with its bias and activation', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 2, activation: 'tanh' }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    const weights = [
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      tf.tensor1d([0.5, -0.5]),
      tf.tensor2d([
        [7, 8],
        [9, 10],
      ]),
      tf.tensor1d([1, 2]),
    ];
    model.setWeights(weights);

    const [hidden, output] = extractDenseLayers(model);

    expect(hidden).toEqual({
      kernel: new Float32Array([1, 2, 3, 4, 5, 6]),
      bias: new Float32Array([0.5, -0.5]),
      inputs: 3,
      units: 2,
      activation: 'tanh',
    });
    expect(output).toMatchObject({ inputs: 2, units: 2, activation: 'softmax' });
    hidden.kernel[0] = 100;
    expect(model.layers[0].getWeights()[0].dataSync()[0]).toBe(1);
    tf.dispose(weights);
    model.dispose();
  });
});
