import { loadTensorFlow } from './tf-backend';

function nativeTensorFlowLoads(): boolean {
  try {
    jest.requireActual('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('loadTensorFlow', () => {
  const nativeAvailable = nativeTensorFlowLoads();

  it('prefers tfjs-node and otherwise falls back to a working WASM backend, logging the choice', async () => {
    const messages: string[] = [];
    const { tf, backend } = await loadTensorFlow('auto', (message) => messages.push(message));

    expect(backend).toBe(nativeAvailable ? 'tensorflow' : 'wasm');
    expect(tf.getBackend()).toBe(backend);
    expect(messages.at(-1)).toBe(`TensorFlow.js backend: ${backend}`);
    if (!nativeAvailable)
      expect(messages[0]).toMatch(/^TensorFlow.js backend node: .+; trying the next one$/);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync());
    expect(Array.from(product)).toEqual([11]);
  });

  it('loads once and hands the same instance to every caller', async () => {
    const log = jest.fn();
    const first = await loadTensorFlow('auto');
    const again = await loadTensorFlow('auto', log);
    expect(again).toBe(first);
    expect(await loadTensorFlow(first.backend === 'tensorflow' ? 'node' : first.backend)).toBe(first);
    expect(log).not.toHaveBeenCalled();
  });

  it('refuses to switch the process-wide backend once loaded', async () => {
    const { backend } = await loadTensorFlow('auto');
    await expect(loadTensorFlow(backend === 'cpu' ? 'wasm' : 'cpu')).rejects.toThrow(
      `already running on the '${backend}' backend`,
    );
  });

  (nativeAvailable ? it.skip : it)(
    'fails clearly when tfjs-node is asked for explicitly but cannot load',
    async () => {
      let isolated: typeof import('./tf-backend') | undefined;
      jest.isolateModules(() => {
        isolated = jest.requireActual<typeof import('./tf-backend')>('./tf-backend');
      });
      await expect(isolated?.loadTensorFlow('node')).rejects.toThrow(
        /^No TensorFlow.js backend could start \(node: /,
      );
    },
  );
});
