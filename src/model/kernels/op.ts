/** The custom-gradient helper every hand-written op (../ops.ts, ./*.ts) is built with. */
import * as tf from '@tensorflow/tfjs';

export type Save = (tensors: tf.Tensor[]) => void;

/** Builds a custom-gradient op; `f` receives the (float) inputs and `save`. */
export function op<T extends tf.Tensor>(
  f: (inputs: tf.Tensor[], save: Save) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  return tf.customGrad(((...args: (tf.Tensor | Save)[]) => {
    const save = args.pop() as Save;
    const r = f(args as tf.Tensor[], save);
    // Run the backward in its own tidy so that its temporaries die right away.
    return { value: r.value, gradFunc: (dy: T, saved: tf.Tensor[]) => tf.tidy(() => r.gradFunc(dy, saved)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => T;
}
