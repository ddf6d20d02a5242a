/**
 * Attention in the per-sequence layout (fast on wasm, see layouts.ts): the same
 * equations as ops.ts's causalSelfAttention, as plain 2-D products per sequence and head.
 * Cutting the blocks out happens inside the wasm heap (./wasmBlocks.ts); elsewhere it
 * reads the tensor back synchronously (splitBlocks): this layout is only chosen for
 * backends whose profile has syncReadback.
 */
import * as tf from '@tensorflow/tfjs';
import { hashSeed } from '../../util/rng.ts';
import type { AttentionShape } from './layouts.ts';
import { op } from './op.ts';
import { transpose2d } from './transpose.ts';
import { flatBlocks } from './wasmBlocks.ts';

/**
 * The B·n blocks of x [B·T, n·hd] — sequence b's T rows, the c-th group of hd
 * columns — as separate [T, hd] tensors ([hd, T] when `transposed`), at index
 * b·n + c; only the groups `keep` selects are made (the others are null). One
 * device transpose puts each block's elements next to each other; on wasm the
 * blocks are then copied out inside the heap (flatBlocks), elsewhere out of one
 * host copy: a tf slice of a wasm tensor copies the whole source, so B·n slices
 * would cost B·n times the tensor. (786k, one core: the heap copy took the step
 * from 2,304 to 2,041 ms.)
 */
function splitBlocks(x: tf.Tensor2D, B: number, T: number, hd: number, transposed: boolean, keep: (c: number) => boolean): (tf.Tensor2D | null)[] {
  const n = x.shape[1] / hd;
  const grouped = tf.tidy(() => tf.transpose(tf.reshape(x, [B, T, n, hd]), transposed ? [0, 2, 3, 1] : [0, 2, 1, 3])); // [B, n, T, hd] or [B, n, hd, T]
  const shape: [number, number] = transposed ? [hd, T] : [T, hd];
  const kept = Array.from({ length: B * n }, (_, i) => i).filter((i) => keep(i % n));
  const onDevice = flatBlocks(grouped, shape, kept); // wasm: cut inside the heap
  const blocks: (tf.Tensor2D | null)[] = new Array(B * n).fill(null);
  if (onDevice) {
    kept.forEach((i, j) => (blocks[i] = onDevice[j]!));
  } else {
    const data = grouped.dataSync() as Float32Array;
    const size = T * hd;
    for (const i of kept) blocks[i] = tf.tensor2d(data.subarray(i * size, (i + 1) * size), shape);
  }
  grouped.dispose();
  return blocks;
}

/** The inverse of splitBlocks: blocks [T, hd] at index b·n + c -> [B·T, n·hd]. */
function mergeBlocks(blocks: tf.Tensor2D[], B: number, T: number, hd: number): tf.Tensor2D {
  const n = blocks.length / B;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(tf.concat(blocks), [B, n, T, hd]), [0, 2, 1, 3]), [B * T, n * hd]) as tf.Tensor2D);
}

/**
 * Per-sequence layout: for each sequence b and head h, plain 2-D products of
 * [T, hd] and [hd, T] blocks, all untransposed (the fast case of wasm's matmul):
 *   forward   S = q·kᵀ,  P = softmax(S + mask),  y = Pd·v
 *   backward  dv = Pdᵀ·dy,  dPd = dy·vᵀ,  dq = dS·k,  dk = dSᵀ·q
 * The [T, T] matrices are the left operands: XNNPACK repacks the right one, which
 * costs more than transposing Pd and dS. q is pre-scaled: the blocks are cut from
 * qkv ⊙ c with c = (1/√hd for q's columns, 1 for k's and v's), so d(qkv) = d(qkv ⊙ c) ⊙ c.
 * Saves qkv and the B·H probability matrices P (and keep masks with dropout).
 * (Causal query blocks — rows [t0, t1) against keys [0, t1) — save a quarter of the
 * FLOPs at T = 256 but were no faster: twice the ops, half the size.)
 */
export function perSequenceAttention(qkv: tf.Tensor2D, mask: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
  const { B, T, H } = s;
  const d = qkv.shape[1] / 3;
  const hd = d / H;
  const n = 3 * H; // column groups of qkv: q of head h is group h, k is H + h, v is 2H + h
  const isQ = (g: number) => g < H, isK = (g: number) => g >= H && g < 2 * H, isV = (g: number) => g >= 2 * H;
  const colScale = () => tf.concat([tf.fill([d], 1 / Math.sqrt(hd)), tf.ones([2 * d])]) as tf.Tensor1D;
  const f = op<tf.Tensor2D>(([qkv], save) => {
    const xs = tf.tidy(() => tf.mul(qkv!, colScale()) as tf.Tensor2D);
    const blk = splitBlocks(xs, B, T, hd, false, (g) => !isK(g)); // q (pre-scaled) and v [T, hd]
    const blkT = splitBlocks(xs, B, T, hd, true, isK); // kᵀ [hd, T]
    xs.dispose();
    const ys: tf.Tensor2D[] = [];
    const probs: tf.Tensor2D[] = [];
    const keeps: tf.Tensor2D[] = [];
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const [q, kT, v] = [blk[b * n + h]!, blkT[b * n + H + h]!, blk[b * n + 2 * H + h]!];
        const [p, y, keep] = tf.tidy(() => {
          const p = tf.softmax(tf.add(tf.matMul(q, kT), mask)) as tf.Tensor2D; // [T, T]
          if (!(s.dropout > 0)) return [p, tf.matMul(p, v)]; // [T, hd]
          const keep = dropoutKeep<tf.Rank.R2>(p.shape, s.dropout, hashSeed(s.seed, b, h));
          return [p, tf.matMul(tf.mul(p, keep), v), keep];
        });
        tf.dispose([q, kT, v]);
        ys.push(y as tf.Tensor2D);
        probs.push(p as tf.Tensor2D);
        if (keep) keeps.push(keep as tf.Tensor2D);
      }
    }
    const value = mergeBlocks(ys, B, T, hd); // [B·T, d]
    tf.dispose(ys);
    save([qkv!, ...probs, ...keeps]);
    return {
      value,
      gradFunc: (dy, [qkv, ...rest]) => {
        const xs = tf.mul(qkv!, colScale()) as tf.Tensor2D;
        const blk = splitBlocks(xs, B, T, hd, false, (g) => !isV(g)); // q (pre-scaled, as in the forward) and k [T, hd]
        const blkT = splitBlocks(xs, B, T, hd, true, isV); // vᵀ [hd, T]
        const dY = splitBlocks(dy, B, T, hd, false, () => true); // [T, hd] per head
        const grads: tf.Tensor2D[] = new Array(B * n);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const i = b * H + h;
            const [p, keep] = [rest[i] as tf.Tensor2D, (rest[B * H + i] ?? null) as tf.Tensor2D | null];
            const [q, k, vT, g] = [blk[b * n + h]!, blk[b * n + H + h]!, blkT[b * n + 2 * H + h]!, dY[i]!];
            const [dq, dk, dv] = tf.tidy(() => {
              const dv = tf.matMul(transpose2d(keep ? (tf.mul(p, keep) as tf.Tensor2D) : p), g); // [T, hd]
              const dPd = tf.matMul(g, vT); // [T, T]
              const dP = keep ? tf.mul(dPd, keep) : dPd;
              const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor2D;
              return [tf.matMul(dS, k), tf.matMul(transpose2d(dS), q), dv] as tf.Tensor2D[]; // [T, hd] each
            });
            tf.dispose([q, k, vT, g]);
            [grads[b * n + h], grads[b * n + H + h], grads[b * n + 2 * H + h]] = [dq!, dk!, dv!];
          }
        }
        return [tf.mul(mergeBlocks(grads, B, T, hd), colScale())]; // [B·T, 3d]
      },
    };
  });
  return f(qkv);
}

/** Inverted-dropout keep mask: 1/(1−rate) with probability 1−rate, else 0. */
export function dropoutKeep<R extends tf.Rank>(shape: tf.ShapeMap[R], rate: number, seed: number): tf.Tensor<R> {
  return tf.tidy(() => tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(shape, 0, 1, 'float32', seed), rate), 'float32'), 1 - rate));
}
