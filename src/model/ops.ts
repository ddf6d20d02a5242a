/**
 * The transformer's building blocks as tfjs ops with hand-written gradients.
 *
 * Why custom gradients:
 *  - the wasm backend lacks kernels that tfjs's built-in gradients use (e.g. the
 *    gradient of `gather` needs UnsortedSegmentSum); everything below uses only
 *    kernels that wasm has (BatchMatMul, _FusedMatMul, Transpose, Softmax, Sigmoid,
 *    GatherV2, ScatterNd, ...);
 *  - tfjs keeps every intermediate of the forward pass, and every gradient of
 *    the backward pass, alive until the step ends. An op with its own gradient
 *    saves only what its backward needs (e.g. attention keeps q, k, v and the
 *    probabilities, not the scores, masked scores and scaled scores), and its
 *    backward frees its temporaries (each gradFunc runs in tf.tidy).
 *
 * Tensors are 2-D [rows, features] wherever possible (rows = B·T), so that no
 * reshape is needed between blocks.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelLayouts, type KernelLayouts } from '../backend.ts';
import { hashSeed } from '../util/rng.ts';

type Save = (tensors: tf.Tensor[]) => void;

/** Builds a custom-gradient op; `f` receives the (float) inputs and `save`. */
function op<T extends tf.Tensor>(
  f: (inputs: tf.Tensor[], save: Save) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  return tf.customGrad(((...args: (tf.Tensor | Save)[]) => {
    const save = args.pop() as Save;
    const r = f(args as tf.Tensor[], save);
    // Run the backward in its own tidy so that its temporaries die right away.
    return { value: r.value, gradFunc: (dy: T, saved: tf.Tensor[]) => tf.tidy(() => r.gradFunc(dy, saved)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => T;
}

/**
 * The products are plain 2-D a·b with both operands untransposed: the wasm backend
 * runs exactly that case through XNNPACK (~30 GFLOP/s on one core) and every
 * transposed or batched matMul through a naive loop (1–2 GFLOP/s). XNNPACK first
 * repacks b (the "weights"), which costs about as much per element as a transpose;
 * so a product over the N = B·T rows transposes the wider operand and packs the
 * narrower one. Attention's per-head products are laid out the same way.
 *
 * How a few layout-heavy steps are best expressed depends on the backend's kernels:
 * backend.ts's kernelLayouts() says which form to use (measured there).
 */

/** xᵀ for x [r, c]; through b×b tiles (b = 32, 16 or 8 dividing r and c) where that is faster. */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = x.shape;
  const b = kernelLayouts().tiledTranspose ? [32, 16, 8].find((b) => r % b === 0 && c % b === 0) : undefined;
  if (b === undefined) return tf.transpose(x);
  return tf.tidy(() => {
    // [r/b, b, c/b, b] -> [c/b, r/b, b, b]: tile (j, i) transposed in place
    const tiles = tf.transpose(tf.reshape(x, [r / b, b, c / b, b]), [2, 0, 3, 1]);
    // [c/b, r/b, b, b] -> [c/b, b, r/b, b] = [c, r]
    return tf.reshape(tf.transpose(tiles, [0, 2, 1, 3]), [c, r]) as tf.Tensor2D;
  });
}

/** xᵀ·y for x [N, m], y [N, n] -> [m, n]; transposes the wider of x, y and packs the narrower. */
export function matMulTN(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    x.shape[1] >= y.shape[1]
      ? tf.matMul(transpose2d(x), y)
      : tf.transpose(tf.matMul(transpose2d(y), x)), // (yᵀ·x)ᵀ, a small [n, m] transpose
  );
}

/** x·Wᵀ for x [N, k], W [n, k] -> [N, n]. */
export function matMulNT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(x, tf.transpose(w)));
}

/**
 * Column sums of x [N, n] -> [n] as a product (a sum over axis 0 is 2–4× slower on
 * wasm): xᵀ·1 where transposes are tiled (wasm: 1.0 vs 1.9 ms for [4096, 128]), else 1ᵀ·x.
 */
export function colSum(x: tf.Tensor2D): tf.Tensor1D {
  const [N, n] = x.shape;
  return tf.tidy(() =>
    tf.reshape(kernelLayouts().tiledTranspose ? tf.matMul(transpose2d(x), tf.ones([N, 1])) : tf.matMul(tf.ones([1, N]), x), [n]),
  );
}

/** Rows `ids` of table [V, d] -> [N, d] (tf.gather, or copied on the host where that is faster). */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (!kernelLayouts().hostGather) return tf.gather(table, ids) as tf.Tensor2D;
  const [V, d] = table.shape;
  const t = table.dataSync() as Float32Array;
  const idx = ids.dataSync();
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (!(r >= 0 && r < V)) throw new RangeError(`gather: index ${r} is not in [0, ${V - 1}]`);
    out.set(t.subarray(r * d, r * d + d), i * d);
  }
  return tf.tensor2d(out, [idx.length, d]);
}

/**
 * Linear layer y = x·W + b, x [N, in], W [in, out], b [out].
 * Backward: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x, w, b], save) => {
    save([x!, w!]);
    return {
      value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D,
      gradFunc: (dy, [x, w]) => {
        const dx = matMulNT(dy, w as tf.Tensor2D);
        if (x!.shape[1]! > dy.shape[1]) {
          const dw = tf.matMul(transpose2d(x as tf.Tensor2D), dy); // xᵀ·dy, packing dy
          return b ? [dx, dw, colSum(dy)] : [dx, dw];
        }
        // dy is at least as wide: one transpose serves dW = (dyᵀ·x)ᵀ and db = dyᵀ·1
        const dyT = transpose2d(dy); // [out, N]
        const dw = tf.transpose(tf.matMul(dyT, x as tf.Tensor2D));
        return b ? [dx, dw, tf.reshape(tf.matMul(dyT, tf.ones([dy.shape[0], 1])), [dy.shape[1]])] : [dx, dw];
      },
    };
  });
  return b ? f(x, w, b) : f(x, w);
}

/**
 * Embedding lookup: rows `ids` of `table` [V, d] -> [N, d].
 * Gradient: dTable = scatterND(ids, dy, [V, d]), which sums the rows of repeated
 * ids (checked on cpu and wasm in test/model.test.ts); no [N, V] one-hot is built.
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([w], save) => {
    save([ids]);
    return {
      value: gatherRows(w as tf.Tensor2D, ids),
      gradFunc: (dy, [savedIds]) => [tf.scatterND(tf.expandDims(savedIds!, 1), dy, w!.shape)],
    };
  });
  return f(table);
}

/**
 * LayerNorm over the last axis of x [N, d] (eps 1e-5 as in PyTorch):
 *   y = (x - mean) / sqrt(var + eps) · g + b
 * Backward with xhat = (x - mean)·rstd and dxhat = dy·g:
 *   dx = rstd · (dxhat - mean(dxhat) - xhat · mean(dxhat·xhat)),  dg = Σ_rows dy·xhat,  db = Σ_rows dy.
 */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D | null, eps = 1e-5): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x, g, b], save) => {
    const { mean, variance } = tf.moments(x!, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps)); // [N, 1]
    const xhat = tf.mul(tf.sub(x!, mean), rstd); // [N, d]
    save([xhat, rstd, g!]);
    const y = b ? tf.add(tf.mul(xhat, g!), b) : tf.mul(xhat, g!);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy, [xhat, rstd, g]) => {
        const dxhat = tf.mul(dy, g!);
        const dx = tf.mul(
          rstd!,
          tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat!, tf.mean(tf.mul(dxhat, xhat!), -1, true))),
        );
        const dg = colSum(tf.mul(dy, xhat!) as tf.Tensor2D);
        return b ? [dx, dg, colSum(dy)] : [dx, dg];
      },
    };
  });
  return b ? f(x, g, b) : f(x, g);
}

/**
 * GELU in GPT-2's tanh form ("gelu_new"; PyTorch GELU(approximate='tanh')):
 *   y = ½x(1 + tanh(u)),  u = √(2/π)(x + 0.044715x³)
 * computed as y = x·σ(2u), since ½(1 + tanh(u)) = σ(2u) exactly (sigmoid is a fast
 * kernel on wasm, tanh and erf are not). It differs from the erf form by < 5e-4.
 *   dy/dx = σ(2u) + x·σ(2u)(1 − σ(2u))·2u',  u' = √(2/π)(1 + 3·0.044715x²)
 */
const GELU_C = 2 * Math.sqrt(2 / Math.PI); // 2·√(2/π)
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x], save) => {
    const x2 = tf.square(x!);
    const sig = tf.sigmoid(tf.mul(x!, tf.add(tf.mul(x2, GELU_C * 0.044715), GELU_C))); // σ(2u), 2u = x·(C + C·0.044715·x²)
    save([x!, x2, sig]);
    return {
      value: tf.mul(x!, sig) as tf.Tensor2D,
      gradFunc: (dy, [x, x2, sig]) => {
        const du = tf.add(tf.mul(x2!, GELU_C * 3 * 0.044715), GELU_C); // 2u'
        const dsig = tf.mul(sig!, tf.sub(1, sig!)); // σ'(2u)
        return [tf.mul(dy, tf.add(sig!, tf.mul(tf.mul(x!, dsig), du)))];
      },
    };
  });
  return f(x);
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above (softmax gives exact zeros there). */
export function causalMask(T: number): tf.Tensor2D {
  return tf.tidy(() => {
    const i = tf.range(0, T, 1, 'int32').reshape([T, 1]);
    const j = tf.range(0, T, 1, 'int32').reshape([1, T]);
    return tf.mul(tf.cast(tf.greater(j, i), 'float32'), -1e9) as tf.Tensor2D;
  });
}

export type AttentionLayout = KernelLayouts['attention'];

export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  /** Dropout on the attention probabilities (0 = off) and its seed. */
  dropout: number;
  seed: number;
  /** How the per-head products are laid out (default: kernelLayouts().attention). */
  layout?: AttentionLayout;
}


/**
 * Causal multi-head self-attention core, from the fused projection qkv [B·T, 3·d]
 * (columns: q | k | v, each split into H heads of size hd = d/H) to y [B·T, d]
 * (heads concatenated, before the output projection). Per sequence and head:
 *
 *   P = softmax(q·kᵀ/√hd + mask)     [T, T]
 *   y = dropout(P)·v                  [T, hd]
 * Backward (Pd = dropout(P) = P·M, M the scaled keep mask):
 *   dv = Pdᵀ·dy,  dPd = dy·vᵀ,  dP = dPd·M,  dS = P·(dP − Σ_j dP·P),
 *   dq = dS·k/√hd,  dk = dSᵀ·q/√hd.
 * Two layouts compute exactly this (see kernelLayouts in backend.ts).
 */
export function causalSelfAttention(qkv: tf.Tensor2D, mask: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
  return (s.layout ?? kernelLayouts().attention) === 'batched' ? batchedAttention(qkv, mask, s) : perSequenceAttention(qkv, mask, s);
}

/**
 * Batched layout: q, k, v as [B·H, T, hd], products as BatchMatMul over B·H.
 * Saves q (pre-scaled), k, v and P; the scores themselves are not kept.
 * Head split/merge use only 3-D and 4-D transposes (5-D ones are slow on wasm).
 */
function batchedAttention(qkv: tf.Tensor2D, mask: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
  const { B, T, H } = s;
  const d = qkv.shape[1] / 3;
  const hd = d / H;
  const scale = 1 / Math.sqrt(hd);
  const f = op<tf.Tensor2D>(([qkv], save) => {
    // [B·T, 3d] = [B, T, 3H, hd] -> [B, 3H, T, hd] = [B, 3, H·T·hd] -> [3, B, H·T·hd] -> q, k, v as [B·H, T, hd]
    const bht = tf.transpose(tf.reshape(qkv!, [B, T, 3 * H, hd]), [0, 2, 1, 3]);
    const parts = tf.unstack(tf.transpose(tf.reshape(bht, [B, 3, H * T * hd]), [1, 0, 2]));
    const [q0, k, v] = parts.map((t) => tf.reshape(t, [B * H, T, hd]) as tf.Tensor3D);
    const q = tf.mul(q0!, scale) as tf.Tensor3D; // scaling q is cheaper than scaling the [T, T] scores
    const p = tf.softmax(tf.add(tf.matMul(q, k!, false, true), mask)) as tf.Tensor3D; // [B·H, T, T]
    let keep: tf.Tensor3D | null = null;
    let pd = p;
    if (s.dropout > 0) {
      const u = tf.randomUniform(p.shape, 0, 1, 'float32', s.seed);
      keep = tf.div(tf.cast(tf.greaterEqual(u, s.dropout), 'float32'), 1 - s.dropout) as tf.Tensor3D;
      pd = tf.mul(p, keep);
    }
    const y = tf.matMul(pd, v!); // [B·H, T, hd]
    save(keep ? [q, k!, v!, p, keep] : [q, k!, v!, p]);
    return {
      // [B·H, T, hd] = [B, H, T, hd] -> [B, T, H, hd] = [B·T, d]
      value: tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D,
      gradFunc: (dy, [q, k, v, p, keep]) => {
        const dY = tf.reshape(tf.transpose(tf.reshape(dy, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]) as tf.Tensor3D;
        const pd = (keep ? tf.mul(p!, keep) : p!) as tf.Tensor3D;
        const dv = tf.matMul(pd, dY, true, false);
        let dP = tf.matMul(dY, v as tf.Tensor3D, false, true);
        if (keep) dP = tf.mul(dP, keep);
        const dS = tf.mul(p!, tf.sub(dP, tf.sum(tf.mul(dP, p!), -1, true))) as tf.Tensor3D;
        const dq = tf.mul(tf.matMul(dS, k as tf.Tensor3D), scale);
        const dk = tf.matMul(dS, q as tf.Tensor3D, true, false); // q was saved pre-scaled
        // three [B·H, T, hd] -> [3, B, H·T·hd] -> [B, 3, H·T·hd] = [B, 3H, T, hd] -> [B, T, 3H, hd] = [B·T, 3d]
        const st = tf.transpose(tf.reshape(tf.stack([dq, dk, dv]), [3, B, H * T * hd]), [1, 0, 2]);
        return [tf.reshape(tf.transpose(tf.reshape(st, [B, 3 * H, T, hd]), [0, 2, 1, 3]), [B * T, 3 * d])];
      },
    };
  });
  return f(qkv);
}

/**
 * The B·n blocks of x [B·T, n·hd] — sequence b's T rows, the c-th group of hd
 * columns — as separate [T, hd] tensors ([hd, T] when `transposed`), at index
 * b·n + c; only the groups `keep` selects are made (the others are null). One
 * device transpose puts each block's elements next to each other and the blocks
 * are copied out of one host copy: a tf slice of a wasm tensor copies the whole
 * source, so B·n slices would cost B·n times the tensor.
 */
function splitBlocks(x: tf.Tensor2D, B: number, T: number, hd: number, transposed: boolean, keep: (c: number) => boolean): (tf.Tensor2D | null)[] {
  const n = x.shape[1] / hd;
  const grouped = tf.tidy(() => tf.transpose(tf.reshape(x, [B, T, n, hd]), transposed ? [0, 2, 3, 1] : [0, 2, 1, 3])); // [B, n, T, hd] or [B, n, hd, T]
  const data = grouped.dataSync() as Float32Array;
  grouped.dispose();
  const size = T * hd;
  return Array.from({ length: B * n }, (_, i) =>
    keep(i % n) ? tf.tensor2d(data.subarray(i * size, (i + 1) * size), transposed ? [hd, T] : [T, hd]) : null,
  );
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
function perSequenceAttention(qkv: tf.Tensor2D, mask: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
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
function dropoutKeep<R extends tf.Rank>(shape: tf.ShapeMap[R], rate: number, seed: number): tf.Tensor<R> {
  return tf.tidy(() => tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(shape, 0, 1, 'float32', seed), rate), 'float32'), 1 - rate));
}

/**
 * Output head + mean cross-entropy in one op, sparse in the targets:
 *   logits = x·Wᵀ  [N, V]  (x [N, d], W [V, d]: the tied token embedding or an untied head)
 *   P      = softmax(logits)
 *   loss   = mean_i −log P[i, t_i]          (= logsumexp(logits_i) − logits_i[t_i])
 * Gradient: dlogits = (P − onehot(t))·s with s = dy/N. The one-hot part never
 * becomes an [N, V] matrix: it is pushed through the two products instead,
 *   dx = dlogits·W  = (P·W − W[t])·s          (W[t]: gather of N rows)
 *   dW = dlogitsᵀ·x = (Pᵀ·x − scatterND(t, x))·s  (scatterND sums rows of repeated targets)
 * so the backward touches [N, V] only inside two matmuls.
 *
 * P[i, t_i] is clamped at 1e-30 before the log, so one token's loss is at most
 * 69 nats (far above the ~11 nats of a uniform 50257-way guess).
 *
 * Rows are processed in chunks of at most `chunkRows`: with one chunk P is saved
 * for the backward; with several, each chunk's P is recomputed in the backward
 * (one extra N·d·V matmul) so that at most one chunk of [rows, V] is alive —
 * what lets a 50257-token vocabulary fit the wasm heap.
 */
export function headCrossEntropy(x: tf.Tensor2D, W: tf.Tensor2D, targets: tf.Tensor1D, chunkRows: number): tf.Scalar {
  const N = x.shape[0];
  const V = W.shape[0];
  const rows = Math.max(1, Math.min(N, Math.floor(chunkRows)));
  const chunks: [number, number][] = [];
  for (let r = 0; r < N; r += rows) chunks.push([r, Math.min(N, r + rows)]);
  const single = chunks.length === 1;

  const rowsOf = <R extends tf.Rank>(t: tf.Tensor<R>, r0: number, r1: number): tf.Tensor<R> =>
    single ? t : (tf.slice(t, r0, r1 - r0) as tf.Tensor<R>);
  /** Softmax of one chunk's logits: [n, d]·[d, V] -> [n, V]. */
  const probs = (xc: tf.Tensor2D, wT: tf.Tensor2D) => tf.softmax(tf.matMul(xc, wT)) as tf.Tensor2D;
  /** Flat index of each row's target inside an [n, V] matrix: row·V + target. */
  const flatTargetIndex = (t: tf.Tensor1D) =>
    tf.add(tf.mul(tf.range(0, t.shape[0], 1, 'int32'), tf.scalar(V, 'int32')), t) as tf.Tensor1D;

  const f = op<tf.Scalar>(([x, W], save) => {
    const wT = tf.transpose(W!) as tf.Tensor2D; // [d, V]
    let total: tf.Tensor = tf.scalar(0);
    let keptP: tf.Tensor | null = null;
    for (const [r0, r1] of chunks) {
      // One tidy per chunk: only this chunk's [n, V] is alive at a time.
      const [sum, p] = tf.tidy(() => {
        const p = probs(rowsOf(x as tf.Tensor2D, r0, r1), wT);
        const pt = tf.gather(tf.reshape(p, [-1]), flatTargetIndex(rowsOf(targets, r0, r1))); // P[i, t_i]
        const sum = tf.neg(tf.sum(tf.log(tf.maximum(pt, 1e-30))));
        return single ? [sum, p] : [sum];
      });
      total = tf.add(total, sum!);
      if (p) keptP = p;
    }
    save([x!, W!, targets, ...(keptP ? [keptP] : [])]);
    return {
      value: tf.div(total, N) as tf.Scalar,
      gradFunc: (dy, [x, W, t, pAll]) => {
        const s = tf.div(dy, N); // d(mean)/d(sum), times upstream
        const wT = pAll ? null : (tf.transpose(W!) as tf.Tensor2D);
        const dxs: tf.Tensor[] = [];
        let pTx: tf.Tensor | null = null; // Σ_chunks Pᵀ·x  [V, d]
        for (const [r0, r1] of chunks) {
          const [dxc, next] = tf.tidy(() => {
            const xc = rowsOf(x as tf.Tensor2D, r0, r1);
            const p = (pAll as tf.Tensor2D | undefined) ?? probs(xc, wT!);
            const tc = rowsOf(t as tf.Tensor1D, r0, r1);
            const dxc = tf.mul(tf.sub(tf.matMul(p, W as tf.Tensor2D), gatherRows(W as tf.Tensor2D, tc)), s); // [n, d]
            const ptx = matMulTN(p, xc); // [V, d]
            return [dxc, pTx ? tf.add(pTx, ptx) : ptx];
          });
          pTx?.dispose();
          pTx = next!;
          dxs.push(dxc!);
        }
        const dx = dxs.length === 1 ? dxs[0]! : tf.concat(dxs);
        const dW = tf.mul(tf.sub(pTx!, tf.scatterND(tf.expandDims(t!, 1), x!, W!.shape)), s);
        return [dx, dW];
      },
    };
  });
  return f(x, W);
}
