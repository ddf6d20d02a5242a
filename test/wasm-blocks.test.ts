/**
 * The wasm heap-side block cutter (src/model/kernels/wasmBlocks.ts) gives the
 * same bits as the host copy it replaces, and owns its outputs (no leak).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { flatBlocks } from '../src/model/kernels/wasmBlocks.ts';

describe('flatBlocks', () => {
  it('cuts the chosen blocks of the flat data inside the wasm heap', async () => {
    await initBackend('wasm', { quiet: true });
    const x = tf.tensor3d(Float32Array.from({ length: 5 * 3 * 4 }, (_, i) => i * 0.25 - 7), [5, 3, 4]);
    const before = tf.memory().numTensors;
    const blocks = flatBlocks(x, [4, 3], [0, 2, 4])!;
    expect(tf.memory().numTensors).toBe(before + 3);
    const data = x.dataSync();
    [0, 2, 4].forEach((i, j) => {
      expect(blocks[j]!.shape).toEqual([4, 3]);
      expect(Array.from(blocks[j]!.dataSync())).toEqual(Array.from(data.subarray(i * 12, (i + 1) * 12)));
    });
    tf.dispose([x, ...blocks]);
  });

  it('is absent on other backends (the caller copies on the host)', async () => {
    await initBackend('cpu', { quiet: true });
    const x = tf.zeros([2, 4]);
    expect(flatBlocks(x, [2, 2], [0])).toBeNull();
    x.dispose();
  });
});
