/**
 * Model configuration: one small object that fully determines the network
 * (like nanoGPT's GPTConfig). Presets live in configs/models/*.json and carry
 * no vocab_size: it comes from the tokenizer (resolveModelConfig).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.ts';

export interface ModelConfig {
  /** Preset name (e.g. '4m'); defaults to the file name when loaded from a file. */
  name?: string;
  /** Vocabulary size; usually absent in presets and filled in from the tokenizer. */
  vocab_size?: number;
  /** Maximum sequence length T (size of the learned position table). */
  context: number;
  d_model: number;
  n_layers: number;
  n_heads: number;
  /** Hidden width of the MLP; default 4·d_model. */
  d_ff: number;
  /** Dropout rate on embeddings, attention probabilities and residual branches; default 0. */
  dropout: number;
  /** Output head shares the token embedding matrix (GPT-2); default true. */
  tie_embeddings: boolean;
  /** Biases in Linear layers and LayerNorms; default true. */
  bias: boolean;
  /** Seed of the weight initialisation; default 1337. */
  seed: number;
  // The options below are always filled in by parseModelConfig; they are optional in the type
  // (absent = the default) so that configs built in code, or read from older run.json files, stay valid.
  /** MLP nonlinearity: GPT-2's tanh GELU (default) or ReLU (Karpathy's "GPT from scratch"). */
  activation?: Activation;
  /** Bias on the attention input (q, k, v) projection; default: same as `bias`. */
  attn_bias?: boolean;
  /** Bias on an untied lm_head (requires tie_embeddings false); default false. */
  head_bias?: boolean;
  /** Weight initialisation: GPT-2's N(0, 0.02) scheme (default) or PyTorch's layer defaults. */
  init?: InitScheme;
  /** Where dropout applies when training; default all four sites (nanoGPT). */
  dropout_sites?: DropoutSite[];
}

export const ACTIVATIONS = ['gelu', 'relu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const INIT_SCHEMES = ['gpt2', 'pytorch-default'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];
/**
 * embedding: on wte+wpe; attention: on the attention probabilities; attn_proj: on the
 * attention block's output projection; mlp: on the MLP's output (after its c_proj).
 */
export const DROPOUT_SITES = ['embedding', 'attention', 'attn_proj', 'mlp'] as const;
export type DropoutSite = (typeof DROPOUT_SITES)[number];

export type ResolvedModelConfig = ModelConfig & { vocab_size: number };

const posInt = (what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).positive(`${what} must be > 0`);

const schema = z
  .strictObject({
    name: z.string().min(1).optional(),
    vocab_size: posInt('vocab_size').optional(),
    context: posInt('context'),
    d_model: posInt('d_model'),
    n_layers: posInt('n_layers'),
    n_heads: posInt('n_heads'),
    d_ff: posInt('d_ff').optional(),
    dropout: z.number().min(0, 'dropout must be in [0, 1)').lt(1, 'dropout must be in [0, 1)').default(0),
    tie_embeddings: z.boolean().default(true),
    bias: z.boolean().default(true),
    seed: z.number().int('seed must be a whole number').min(0, 'seed must be >= 0').default(1337),
    activation: z.enum(ACTIVATIONS, { error: `activation must be one of ${ACTIVATIONS.join(', ')}` }).default('gelu'),
    attn_bias: z.boolean().optional(),
    head_bias: z.boolean().default(false),
    init: z.enum(INIT_SCHEMES, { error: `init must be one of ${INIT_SCHEMES.join(', ')}` }).default('gpt2'),
    dropout_sites: z
      .array(z.enum(DROPOUT_SITES, { error: `dropout_sites entries must be among ${DROPOUT_SITES.join(', ')}` }))
      .default([...DROPOUT_SITES]),
  })
  .superRefine((c, ctx) => {
    if (c.head_bias && c.tie_embeddings) {
      ctx.addIssue({ code: 'custom', path: ['head_bias'], message: 'head_bias needs an untied head: set "tie_embeddings": false or drop head_bias' });
    }
    if (c.d_model % c.n_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['n_heads'],
        message: `n_heads (${c.n_heads}) must divide d_model (${c.d_model}); pick e.g. n_heads = ${divisorNear(c.d_model, c.n_heads)}`,
      });
    }
  });

/** The divisor of n closest to want (for a helpful error message). */
function divisorNear(n: number, want: number): number {
  let best = 1;
  for (let k = 1; k <= n; k++) if (n % k === 0 && Math.abs(k - want) < Math.abs(best - want)) best = k;
  return best;
}

const FIELD_HELP =
  'fields: context, d_model, n_layers, n_heads (required); d_ff (default 4*d_model), dropout (0), ' +
  'tie_embeddings (true), bias (true), seed (1337), activation (gelu|relu), attn_bias (= bias), head_bias (false), ' +
  'init (gpt2|pytorch-default), dropout_sites (embedding, attention, attn_proj, mlp), vocab_size and name (optional)';

/** Validate a raw config object; `where` names its origin (a file path) in error messages. */
export function parseModelConfig(raw: unknown, where: string): ModelConfig {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const field = i.path.length ? i.path.join('.') : '(top level)';
      if (i.code === 'unrecognized_keys') return `  unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}: remove them`;
      return `  ${field}: ${i.message}`;
    });
    throw new UserError(`invalid model config in ${where}:\n${lines.join('\n')}\n(${FIELD_HELP})`);
  }
  const c = r.data;
  // attn_bias stays absent unless given: absent means "as bias", also after { ...cfg, bias: false }
  const { attn_bias, ...rest } = c;
  return { ...rest, d_ff: c.d_ff ?? 4 * c.d_model, ...(attn_bias === undefined ? {} : { attn_bias }), dropout_sites: [...new Set(c.dropout_sites)] };
}

/** Read and validate a model config JSON file; `name` defaults to the file's base name. */
export function loadModelConfig(path: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read model config ${path}: ${(e as Error).message}; pass a path such as configs/models/4m.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`model config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const cfg = parseModelConfig(raw, path);
  return { ...cfg, name: cfg.name ?? basename(path).replace(/\.json$/i, '') };
}

/** Fill in vocab_size from the tokenizer; a preset that fixes vocab_size must agree with it. */
export function resolveModelConfig(cfg: ModelConfig, vocabSize: number): ResolvedModelConfig {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new UserError(`vocab size ${vocabSize} must be a positive integer`);
  if (cfg.vocab_size !== undefined && cfg.vocab_size !== vocabSize) {
    throw new UserError(
      `model config${cfg.name ? ` "${cfg.name}"` : ''} sets vocab_size ${cfg.vocab_size} but the tokenizer has ${vocabSize} tokens; ` +
        `remove vocab_size from the config (it is taken from the tokenizer) or pick the matching tokenizer`,
    );
  }
  return { ...cfg, vocab_size: vocabSize };
}
