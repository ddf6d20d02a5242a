/**
 * A decoder-only transformer in the shape of GPT-2 / nanoGPT's model.py:
 *
 *   x = wte[idx] + wpe[0..T)                       token + learned position embeddings
 *   for each block:  x = x + attn(ln_1(x))         pre-LayerNorm, causal multi-head self-attention
 *                    x = x + mlp(ln_2(x))          GELU (or ReLU) MLP (d -> d_ff -> d)
 *   logits = ln_f(x) · wteᵀ                        tied output head (or an untied lm_head [+ bias])
 *
 * The options of ModelConfig also give Karpathy's "GPT from scratch" model (the
 * blog's): ReLU, bias-free q/k/v, untied head with bias, PyTorch's default init,
 * dropout only on the attention probabilities and the MLP output.
 *
 * Linear weights are stored [in, out] (y = x·W + b). The attention, LayerNorm,
 * GELU, embedding and head+loss ops have hand-written gradients (./ops.ts) built
 * from kernels every backend has, including wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { hashSeed } from '../util/rng.ts';
import { relu } from './activations.ts';
import { linearBound, normalArray, uniformArray } from './init.ts';
import { DROPOUT_SITES, type DropoutSite, type ResolvedModelConfig } from './config.ts';
import { paramCounts } from './params.ts';
import {
  causalMask,
  causalSelfAttention,
  embedding,
  gelu,
  headCrossEntropy,
  headTokenLosses,
  layerNorm,
  linear as linearOp,
  matMulNT,
  type AttentionLayout,
} from './ops.ts';
import { PLAIN_LAYOUTS, useKernelLayouts, type KernelLayouts } from './kernels/layouts.ts';

export interface Param {
  /** nanoGPT-style name, e.g. 'h.0.attn.c_attn.weight'. */
  name: string;
  variable: tf.Variable;
  /** Weight decay applies (Linear weights); false for biases, LayerNorm gains and embeddings. */
  decay: boolean;
}

export interface ForwardOptions {
  /** Enables dropout (when cfg.dropout > 0). */
  training?: boolean;
  /** Seed of this call's dropout masks (e.g. the step number); required for reproducible dropout. */
  dropoutSeed?: number;
}

export interface GPTOptions {
  /**
   * Largest number of logits (rows × vocab) the loss materialises at once; larger
   * batches are processed in row chunks whose logits are recomputed in the backward.
   * Default 2^27 (512 MB of float32): the recomputation costs one extra head matmul
   * (about +20% step time with a 50257-token vocabulary), so chunking is a last resort.
   */
  maxLogitsPerChunk?: number;
  /** Layout of attention's per-head products (default: kernels.attention). */
  attention?: AttentionLayout;
  /** Kernel layouts the ops use (from the backend profile, src/backend.ts; default: the plain forms). */
  kernels?: KernelLayouts;
}

export const DEFAULT_MAX_LOGITS_PER_CHUNK = 2 ** 27;

interface Block {
  ln1: { g: tf.Variable; b: tf.Variable | null };
  attn: { w: tf.Variable; b: tf.Variable | null; projW: tf.Variable; projB: tf.Variable | null };
  ln2: { g: tf.Variable; b: tf.Variable | null };
  mlp: { fcW: tf.Variable; fcB: tf.Variable | null; projW: tf.Variable; projB: tf.Variable | null };
}

let instances = 0;

export class GPT {
  readonly config: ResolvedModelConfig;
  readonly params: Param[] = [];
  private readonly wte: tf.Variable; // [V, d]
  private readonly wpe: tf.Variable; // [context, d]
  private readonly blocks: Block[] = [];
  private readonly lnF: { g: tf.Variable; b: tf.Variable | null };
  private readonly lmHead: tf.Variable | null; // [V, d] when untied
  private readonly lmHeadBias: tf.Variable | null; // [V] when untied with head_bias
  private readonly masks = new Map<number, tf.Tensor2D>();
  private readonly maxLogitsPerChunk: number;
  private readonly attention: AttentionLayout | undefined;
  private readonly kernels: KernelLayouts;
  private readonly prefix = `gpt${instances++}`;
  private calls = 0;

  constructor(cfg: ResolvedModelConfig, o: GPTOptions = {}) {
    this.config = cfg;
    this.maxLogitsPerChunk = o.maxLogitsPerChunk ?? DEFAULT_MAX_LOGITS_PER_CHUNK;
    this.attention = o.attention;
    this.kernels = o.kernels ?? PLAIN_LAYOUTS;
    const { vocab_size: V, context, d_model: d, d_ff, n_layers: L, bias } = cfg;
    // gpt2: N(0, 0.02) weights; residual projections N(0, 0.02/√(2L)); zero biases; LN gain 1.
    // pytorch-default: embeddings N(0, 1); Linear weight and bias U(±1/√fan_in); LN gain 1 (see ./init.ts).
    const pytorch = cfg.init === 'pytorch-default';
    const std = 0.02;
    const projStd = 0.02 / Math.sqrt(2 * L);
    const seedOf = () => hashSeed(cfg.seed, this.params.length);
    const sized = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const normal = (name: string, shape: number[], s: number, decay: boolean) =>
      this.add(name, tf.tensor(normalArray(sized(shape), s, seedOf()), shape), decay);
    const fill = (name: string, shape: number[], value: number) => this.add(name, tf.fill(shape, value), false);
    const maybeBias = (name: string, n: number) => (bias ? fill(name, [n], 0) : null);
    /** A Linear layer's weight with `fanIn` inputs (GPT-2 std `s`). */
    const weight = (name: string, shape: number[], fanIn: number, s: number) =>
      pytorch ? this.add(name, tf.tensor(uniformArray(sized(shape), linearBound(fanIn), seedOf()), shape), true) : normal(name, shape, s, true);
    /** A Linear layer's bias of n outputs, when `present`. */
    const linBias = (name: string, n: number, fanIn: number, present: boolean) =>
      !present ? null : pytorch ? this.add(name, tf.tensor(uniformArray(n, linearBound(fanIn), seedOf()), [n]), false) : fill(name, [n], 0);
    const embed = (name: string, shape: number[]) => normal(name, shape, pytorch ? 1 : std, false);

    this.wte = embed('wte', [V, d]);
    this.wpe = embed('wpe', [context, d]);
    for (let l = 0; l < L; l++) {
      const p = `h.${l}.`;
      this.blocks.push({
        ln1: { g: fill(p + 'ln_1.weight', [d], 1), b: maybeBias(p + 'ln_1.bias', d) },
        attn: {
          w: weight(p + 'attn.c_attn.weight', [d, 3 * d], d, std),
          b: linBias(p + 'attn.c_attn.bias', 3 * d, d, cfg.attn_bias ?? bias),
          projW: weight(p + 'attn.c_proj.weight', [d, d], d, projStd),
          projB: linBias(p + 'attn.c_proj.bias', d, d, bias),
        },
        ln2: { g: fill(p + 'ln_2.weight', [d], 1), b: maybeBias(p + 'ln_2.bias', d) },
        mlp: {
          fcW: weight(p + 'mlp.c_fc.weight', [d, d_ff], d, std),
          fcB: linBias(p + 'mlp.c_fc.bias', d_ff, d, bias),
          projW: weight(p + 'mlp.c_proj.weight', [d_ff, d], d_ff, projStd),
          projB: linBias(p + 'mlp.c_proj.bias', d, d_ff, bias),
        },
      });
    }
    this.lnF = { g: fill('ln_f.weight', [d], 1), b: maybeBias('ln_f.bias', d) };
    // An untied head is an ordinary Linear layer (decayed); stored [V, d] like wte.
    this.lmHead = cfg.tie_embeddings ? null : weight('lm_head.weight', [V, d], d, std);
    this.lmHeadBias = !cfg.tie_embeddings && cfg.head_bias ? linBias('lm_head.bias', V, d, true) : null;
  }

  private add(name: string, init: tf.Tensor, decay: boolean): tf.Variable {
    const variable = tf.variable(init, true, `${this.prefix}/${name}`);
    init.dispose();
    this.params.push({ name, variable, decay });
    return variable;
  }

  /** The final hidden states ln_f(x) as [B·T, d]. */
  private trunk(idx: tf.Tensor2D, o: ForwardOptions): tf.Tensor2D {
    const { context, d_model: d, n_heads: H, dropout } = this.config;
    const [B, T] = idx.shape;
    if (T > context) throw new Error(`sequence length ${T} exceeds the model's context ${context}`);
    if (idx.dtype !== 'int32') throw new Error(`token ids must be int32, got ${idx.dtype}`);
    const train = (o.training ?? false) && dropout > 0;
    const sites = new Set(this.config.dropout_sites ?? DROPOUT_SITES);
    const seed0 = o.dropoutSeed ?? this.calls;
    // masks are keyed by (dropoutSeed = run seed, step, micro-batch), layer and site
    const drop = (x: tf.Tensor2D, site: DropoutSite, ...key: number[]): tf.Tensor2D =>
      train && sites.has(site) ? (tf.dropout(x, dropout, undefined, hashSeed(seed0, ...key)) as tf.Tensor2D) : x;
    const act = this.config.activation === 'relu' ? relu : gelu;
    const linear = (x: tf.Tensor2D, w: tf.Variable, b: tf.Variable | null) =>
      linearOp(x, w as tf.Tensor2D, b as tf.Tensor1D | null);

    // Embeddings: [B·T, d] token rows plus the first T position rows (broadcast over the batch).
    const tok = embedding(this.wte as tf.Tensor2D, tf.reshape(idx, [B * T]) as tf.Tensor1D); // [B·T, d]
    const pos = tf.slice(this.wpe, [0, 0], [T, d]); // [T, d]
    let x = drop(tf.reshape(tf.add(tf.reshape(tok, [B, T, d]), pos), [B * T, d]) as tf.Tensor2D, 'embedding', -1);

    const mask = this.causalMask(T);
    this.blocks.forEach((blk, l) => {
      // x = x + c_proj(attention(c_attn(ln_1(x))))
      const h1 = layerNorm(x, blk.ln1.g as tf.Tensor1D, blk.ln1.b as tf.Tensor1D | null); // [B·T, d]
      const qkv = linear(h1, blk.attn.w, blk.attn.b); // [B·T, 3d]
      const att = causalSelfAttention(qkv, mask, { B, T, H, dropout: train && sites.has('attention') ? dropout : 0, seed: hashSeed(seed0, l, 0), layout: this.attention }); // [B·T, d]
      x = tf.add(x, drop(linear(att, blk.attn.projW, blk.attn.projB), 'attn_proj', l, 1));
      // x = x + c_proj(act(c_fc(ln_2(x))))   act = GELU or ReLU
      const h2 = layerNorm(x, blk.ln2.g as tf.Tensor1D, blk.ln2.b as tf.Tensor1D | null); // [B·T, d]
      const u = act(linear(h2, blk.mlp.fcW, blk.mlp.fcB)); // [B·T, d_ff]
      x = tf.add(x, drop(linear(u, blk.mlp.projW, blk.mlp.projB), 'mlp', l, 2));
    });
    return layerNorm(x, this.lnF.g as tf.Tensor1D, this.lnF.b as tf.Tensor1D | null); // [B·T, d]
  }

  /** Output embedding [V, d]: wte when tied, else lm_head. */
  private get head(): tf.Tensor2D {
    return (this.lmHead ?? this.wte) as tf.Tensor2D;
  }

  /** Logits [B, T, V] for int32 token ids [B, T]. */
  forward(idx: tf.Tensor2D, o: ForwardOptions = {}): tf.Tensor3D {
    this.calls++;
    useKernelLayouts(this.kernels);
    const [B, T] = idx.shape;
    return tf.tidy(() => {
      const h = this.trunk(idx, o);
      const logits = matMulNT(h, this.head); // [B·T, V]
      return tf.reshape(this.lmHeadBias ? tf.add(logits, this.lmHeadBias) : logits, [B, T, this.config.vocab_size]) as tf.Tensor3D;
    });
  }

  /** Mean next-token cross-entropy in nats; targets [B, T] int32. Never builds the [B·T, V] one-hot. */
  loss(idx: tf.Tensor2D, targets: tf.Tensor2D, o: ForwardOptions = {}): tf.Scalar {
    this.calls++;
    const [B, T] = idx.shape;
    if (targets.shape[0] !== B || targets.shape[1] !== T) {
      throw new Error(`targets shape [${targets.shape}] differs from inputs [${idx.shape}]`);
    }
    const chunkRows = Math.max(1, Math.floor(this.maxLogitsPerChunk / this.config.vocab_size));
    useKernelLayouts(this.kernels);
    return tf.tidy(() => {
      const h = this.trunk(idx, o);
      const tgt = tf.reshape(targets, [B * T]) as tf.Tensor1D;
      if (!this.lmHeadBias) return headCrossEntropy(h, this.head, tgt, chunkRows);
      // logits + b = [h, 1]·[W | b]ᵀ: the bias rides along as one more input column
      const h1 = tf.concat([h, tf.ones([B * T, 1])], 1) as tf.Tensor2D; // [B·T, d+1]
      const w1 = tf.concat([this.head, tf.reshape(this.lmHeadBias, [-1, 1])], 1) as tf.Tensor2D; // [V, d+1]
      return headCrossEntropy(h1, w1, tgt, chunkRows);
    });
  }

  /**
   * Evaluation: the batch's mean loss exactly as loss() computes it (same bits),
   * and each sequence's mean loss [B].
   */
  evalLosses(idx: tf.Tensor2D, targets: tf.Tensor2D): { mean: tf.Scalar; perSequence: tf.Tensor1D } {
    this.calls++;
    const [B, T] = idx.shape;
    const chunkRows = Math.max(1, Math.floor(this.maxLogitsPerChunk / this.config.vocab_size));
    useKernelLayouts(this.kernels);
    return tf.tidy(() => {
      const h = this.trunk(idx, { training: false });
      const { mean, rows } = headTokenLosses(h, this.head, tf.reshape(targets, [B * T]) as tf.Tensor1D, chunkRows);
      return { mean, perSequence: tf.mean(tf.reshape(rows, [B, T]), 1) as tf.Tensor1D };
    });
  }

  private causalMask(T: number): tf.Tensor2D {
    let m = this.masks.get(T);
    if (!m) {
      m = tf.keep(causalMask(T));
      this.masks.set(T, m);
    }
    return m;
  }

  /** Number of scalar weights (equals paramCounts(config).total). */
  get numParams(): number {
    return this.params.reduce((s, p) => s + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/**
 * Estimated peak bytes of one forward+backward of `microBatch` full-context
 * sequences (float32), on top of the weights. tfjs keeps every tensor an op saves
 * for its gradient until the step ends and every gradient until the backward ends,
 * so the peak comes late in the backward, inside the first block's attention. In floats,
 * with N = b·T rows:
 *   per layer        N·(28·d + 4·d_ff) + 2·b·H·T²   saved activations and their gradients
 *   transient        32·N·d + 4·b·H·T²               embeddings, final LN, attention-backward temporaries
 *   head             3·rows·V                        logits, softmax, its saved copy (rows = one loss chunk)
 *   weight gradients N_total
 * Calibrated against tf.profile() peaks on wasm (d 128–256, 1–8 layers, 4–8 heads,
 * T 128–256, V 256–16384, b 4–8) when every op was built from tfjs kernels: the estimate
 * was 0.96–1.23× the measured peak; the head term is the conservative one. Since GELU
 * and LayerNorm run as the wasm backend's own kernels (GELU saves x only) it is
 * 1.35–1.40× there (test/model.test.ts, d 64, 2 layers, b 2 and 4): a safe margin, which
 * costs at most a smaller micro-batch than would fit.
 */
export function estimateStepBytes(cfg: ResolvedModelConfig, microBatch: number, o: GPTOptions = {}): number {
  const { vocab_size: V, context: T, d_model: d, d_ff: f, n_heads: H, n_layers: L } = cfg;
  const N = microBatch * T;
  const attn = microBatch * H * T * T;
  const maxLogits = o.maxLogitsPerChunk ?? DEFAULT_MAX_LOGITS_PER_CHUNK;
  const rows = Math.min(N, Math.max(1, Math.floor(maxLogits / V)));
  const layers = L * (N * (28 * d + 4 * f) + 2 * attn);
  const transient = 32 * N * d + 4 * attn;
  const head = 3 * rows * V;
  return 4 * (layers + transient + head + paramCounts(cfg).total);
}
