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
import { activeKernelLayouts, type AttentionShape } from './kernels/layouts.ts';
import { op } from './kernels/op.ts';
import { fusedAttention, fusedAttentionReady } from './kernels/fusedAttention.ts';
import { wasmProductsReady } from './kernels/wasmProducts.ts';
import { wasmGelu, wasmLayerNorm, wasmPointwiseReady, wasmSoftmax } from './kernels/wasmPointwise.ts';
import { perSequenceAttention } from './kernels/perSequenceAttention.ts';
import { colSum, gatherRows, matMul, matMulNT, matMulTN, transpose2d } from './kernels/transpose.ts';

export { colSum, gatherRows, matMul, matMulNT, matMulTN, transpose2d };
export type { AttentionLayout, AttentionShape } from './kernels/layouts.ts';

/**
 * Linear layer y = x·W + b, x [N, in], W [in, out], b [out].
 * Backward: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor2D {
  const f = op<tf.Tensor2D>(([x, w, b], save) => {
    save([x!, w!]);
    return {
      value: matMul(x as tf.Tensor2D, w as tf.Tensor2D, (b ?? null) as tf.Tensor1D | null),
      gradFunc: (dy, [x, w]) => {
        const dx = matMulNT(dy, w as tf.Tensor2D);
        if (wasmProductsReady() || x!.shape[1]! > dy.shape[1]) {
          const dw = matMulTN(x as tf.Tensor2D, dy); // xᵀ·dy: one kernel on wasm, else packing dy
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
  if (wasmPointwiseReady()) return wasmLayerNorm(x, g, b, eps); // one kernel per direction on wasm
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
  if (wasmPointwiseReady()) return wasmGelu(x); // one kernel per direction on wasm
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
 * Three layouts compute exactly this (see kernels/layouts.ts; the per-sequence and fused ones are in kernels/).
 */
export function causalSelfAttention(qkv: tf.Tensor2D, mask: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
  const layout = s.layout ?? activeKernelLayouts().attention;
  if (layout === 'batched') return batchedAttention(qkv, mask, s);
  // the fused kernels have no attention dropout: with some, the per-sequence layout computes it
  if (layout === 'fused' && !(s.dropout > 0) && fusedAttentionReady()) return fusedAttention(qkv, s.B, s.T, s.H);
  return perSequenceAttention(qkv, mask, s);
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
/** The head's softmax over the vocabulary, [n, V] -> [n, V]: one kernel on wasm (no gradient needed: the head's op has its own). */
const rowSoftmax = (logits: tf.Tensor2D): tf.Tensor2D => (wasmPointwiseReady() ? wasmSoftmax(logits) : (tf.softmax(logits) as tf.Tensor2D));

/**
 * P[i, t_i] of each row of p [n, V], in the form the kernel layouts name (./kernels/layouts.ts,
 * targetGather): a flat gather at row·V + t_i, or a gather along the vocabulary with one index
 * per row. The same values either way.
 */
function targetProbs(p: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [n, V] = p.shape;
  if (activeKernelLayouts().targetGather === 'per-row') return tf.reshape(tf.gather(p, tf.reshape(targets, [n, 1]), 1, 1), [n]);
  const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), targets); // row·V + t_i
  return tf.gather(tf.reshape(p, [-1]), flat) as tf.Tensor1D;
}

export function headCrossEntropy(x: tf.Tensor2D, W: tf.Tensor2D, targets: tf.Tensor1D, chunkRows: number): tf.Scalar {
  const N = x.shape[0];
  const rows = Math.max(1, Math.min(N, Math.floor(chunkRows)));
  const chunks: [number, number][] = [];
  for (let r = 0; r < N; r += rows) chunks.push([r, Math.min(N, r + rows)]);
  const single = chunks.length === 1;

  const rowsOf = <R extends tf.Rank>(t: tf.Tensor<R>, r0: number, r1: number): tf.Tensor<R> =>
    single ? t : (tf.slice(t, r0, r1 - r0) as tf.Tensor<R>);
  /** Softmax of one chunk's logits: [n, d]·[d, V] -> [n, V]. */
  const probs = (xc: tf.Tensor2D, wT: tf.Tensor2D) => rowSoftmax(matMul(xc, wT));

  const f = op<tf.Scalar>(([x, W], save) => {
    const wT = tf.transpose(W!) as tf.Tensor2D; // [d, V]
    let total: tf.Tensor = tf.scalar(0);
    let keptP: tf.Tensor | null = null;
    for (const [r0, r1] of chunks) {
      // One tidy per chunk: only this chunk's [n, V] is alive at a time.
      const [sum, p] = tf.tidy(() => {
        const p = probs(rowsOf(x as tf.Tensor2D, r0, r1), wT);
        const pt = targetProbs(p, rowsOf(targets, r0, r1)); // P[i, t_i]
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
            const dxc = tf.mul(tf.sub(matMul(p, W as tf.Tensor2D), gatherRows(W as tf.Tensor2D, tc)), s); // [n, d]
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

/**
 * Evaluation (no gradient): the mean cross-entropy of headCrossEntropy, computed
 * with the same kernels in the same order (so it has the same bits), and the loss
 * of each row, −log P[i, t_i] [N], for the standard error over windows.
 */
export function headTokenLosses(x: tf.Tensor2D, W: tf.Tensor2D, targets: tf.Tensor1D, chunkRows: number): { mean: tf.Scalar; rows: tf.Tensor1D } {
  const N = x.shape[0];
  const size = Math.max(1, Math.min(N, Math.floor(chunkRows)));
  const single = size >= N;
  return tf.tidy(() => {
    const wT = tf.transpose(W) as tf.Tensor2D; // [d, V]
    let total: tf.Tensor = tf.scalar(0);
    const parts: tf.Tensor[] = [];
    for (let r0 = 0; r0 < N; r0 += size) {
      const n = Math.min(N, r0 + size) - r0;
      const xc = single ? x : (tf.slice(x, r0, n) as tf.Tensor2D);
      const tc = single ? targets : (tf.slice(targets, r0, n) as tf.Tensor1D);
      const p = rowSoftmax(matMul(xc, wT)); // [n, V]
      const logPt = tf.log(tf.maximum(targetProbs(p, tc), 1e-30)); // log P[i, t_i]
      total = tf.add(total, tf.neg(tf.sum(logPt)));
      parts.push(tf.neg(logPt));
    }
    return { mean: tf.div(total, N) as tf.Scalar, rows: (parts.length === 1 ? parts[0]! : tf.concat(parts)) as tf.Tensor1D };
  });
}
