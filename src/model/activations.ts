/**
 * ReLU as a custom-gradient op (Karpathy's "GPT from scratch" MLP uses nn.ReLU):
 *   y = max(x, 0),   dy/dx = 1 where x > 0, else 0
 * Saves only the 0/1 mask; built from Relu, Greater and Cast, which every backend
 * (wasm included) has.
 */
import * as tf from '@tensorflow/tfjs';

export function relu(x: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((x: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const mask = tf.cast(tf.greater(x, 0), 'float32');
    save([mask]);
    return {
      value: tf.relu(x),
      gradFunc: (dy: tf.Tensor, [m]: tf.Tensor[]) => tf.tidy(() => [tf.mul(dy, m!)]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}
