/**
 * Export a run as a Hugging Face GPT-2 folder that transformers' GPT2LMHeadModel
 * (and so lm-evaluation-harness) loads:
 *
 *   config.json          GPT2Config: n_embd, n_layer, n_head, n_inner, n_positions, vocab_size,
 *                        activation_function "gelu_new", layer_norm_epsilon 1e-5, …
 *   model.safetensors    the weights under GPT-2's names (metadata format "pt")
 *   vocab.json, merges.txt, tokenizer_config.json
 *                        only when the run used the gpt2 tokenizer (see gpt2Vocab.ts)
 *
 * Our GPT is GPT-2's architecture, so the weights map one to one:
 *
 *   ours                     GPT-2 (transformers)               layout
 *   wte [V, d]               transformer.wte.weight [V, d]      same
 *   wpe [context, d]         transformer.wpe.weight             same
 *   h.l.ln_1.weight/bias     transformer.h.l.ln_1.weight/bias   LayerNorm, eps 1e-5 both
 *   h.l.attn.c_attn.w [d,3d] transformer.h.l.attn.c_attn.weight Conv1D stores [in, out] as we do;
 *                                                                q | k | v columns, heads contiguous in each
 *   h.l.attn.c_proj, h.l.ln_2, h.l.mlp.c_fc, h.l.mlp.c_proj      likewise
 *   ln_f                     transformer.ln_f
 *   (tied head)              lm_head = wte (tie_word_embeddings true; not stored)
 *   lm_head.weight [V, d]    lm_head.weight [V, d]              untied head: tie_word_embeddings false
 *
 * GELU: ours is the tanh form (src/model/ops.ts), GPT-2's "gelu_new". Attention scores
 * are scaled by 1/√head_dim in both. Where a run's model has no GPT-2 equivalent
 * (no biases, or any config field this exporter does not know), export refuses.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2_EOT } from '../data/tokenizer-gpt2.ts';
import { loadCheckpoint, checkpointPath } from '../train/checkpoint.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { encodeSafetensors, type TensorEntry } from '../util/safetensors.ts';
import { gpt2TokenizerFiles, GPT2_EOT_TEXT } from './gpt2Vocab.ts';
import type { ResolvedModelConfig } from '../model/config.ts';

/** The model config fields of run.json.model this exporter understands. */
type ExportModel = Pick<ResolvedModelConfig, 'vocab_size' | 'context' | 'd_model' | 'n_layers' | 'n_heads' | 'd_ff' | 'dropout' | 'tie_embeddings' | 'bias'>;

/** Fields with a GPT-2 equivalent, and fields that do not affect the network. */
const MAPPED = ['vocab_size', 'context', 'd_model', 'n_layers', 'n_heads', 'd_ff', 'dropout', 'tie_embeddings', 'bias'] as const;
const IGNORED = new Set(['name', 'seed', 'init']);
const ALL_DROPOUT_SITES = ['embedding', 'attention', 'attn_proj', 'mlp'];

/**
 * Optional architecture fields (the blog's model options) and the values GPT-2 has:
 * each returns why a value has no GPT-2 equivalent, or null when it is GPT-2's.
 */
const OPTIONAL: Record<string, (v: unknown, m: Record<string, unknown>) => string | null> = {
  activation: (v) => (v === 'gelu' ? null : `GPT-2's MLP uses the tanh GELU ("gelu_new"); this run used ${JSON.stringify(v)}`),
  attn_bias: (v) => (v === true ? null : "GPT-2's c_attn (q, k, v projection) always has a bias"),
  head_bias: (v) => (v === false ? null : "GPT2LMHeadModel's lm_head has no bias"),
  dropout_sites: (v, m) => {
    if (!Array.isArray(v) || !v.every((x) => ALL_DROPOUT_SITES.includes(x))) return 'unknown dropout sites';
    if (m.dropout === 0 || v.length === ALL_DROPOUT_SITES.length) return null;
    return v.includes('attn_proj') === v.includes('mlp') ? null : 'GPT-2 has one resid_pdrop for both residual branches (attn_proj and mlp)';
  },
};

/**
 * Check a run's model config against GPT-2's architecture; return it typed, or
 * throw a UserError naming the field that has no GPT-2 equivalent.
 */
export function gpt2Compatible(model: Record<string, unknown>, where: string): ExportModel {
  for (const [k, v] of Object.entries(model)) {
    if ((MAPPED as readonly string[]).includes(k) || IGNORED.has(k) || v === undefined) continue;
    const why = OPTIONAL[k] ? OPTIONAL[k](v, model) : 'this exporter does not know the field';
    if (why !== null) {
      throw new UserError(
        `${where}: model field "${k}" (${JSON.stringify(v)}) has no GPT-2 equivalent: ${why}; ` +
          `only runs whose architecture is GPT-2's can be exported as a GPT-2 folder`,
      );
    }
  }
  for (const k of MAPPED) {
    const v = model[k];
    const ok = k === 'tie_embeddings' || k === 'bias' ? typeof v === 'boolean' : typeof v === 'number' && Number.isFinite(v);
    if (!ok) throw new UserError(`${where}: model field "${k}" is missing or not a ${k === 'bias' || k === 'tie_embeddings' ? 'boolean' : 'number'}`);
  }
  const m = model as unknown as ExportModel;
  if (!m.bias) {
    throw new UserError(
      `${where}: model field "bias" is false, but GPT-2 has biases in every Linear layer and LayerNorm and ` +
        `transformers' GPT2LMHeadModel has no option to drop them; only runs trained with bias: true can be exported as GPT-2`,
    );
  }
  return m;
}

/** GPT-2's three dropout rates for our dropout and its sites (all four when the config has none). */
function dropoutRates(m: ExportModel & { dropout_sites?: string[] }): { embd: number; attn: number; resid: number } {
  const sites = m.dropout_sites ?? ALL_DROPOUT_SITES;
  const at = (s: string) => (sites.includes(s) ? m.dropout : 0);
  return { embd: at('embedding'), attn: at('attention'), resid: at('mlp') };
}

/** GPT2Config (transformers) for our model. */
export function gpt2Config(m: ExportModel, eot: number | null): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: m.vocab_size,
    n_positions: m.context,
    n_ctx: m.context,
    n_embd: m.d_model,
    n_layer: m.n_layers,
    n_head: m.n_heads,
    n_inner: m.d_ff,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    resid_pdrop: dropoutRates(m).resid,
    embd_pdrop: dropoutRates(m).embd,
    attn_pdrop: dropoutRates(m).attn,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: m.tie_embeddings,
    use_cache: true,
    torch_dtype: 'float32',
    ...(eot === null ? {} : { bos_token_id: eot, eos_token_id: eot }),
  };
}

/** Our parameter name -> GPT-2's. */
export function gpt2Name(ours: string): string {
  if (ours === 'wte' || ours === 'wpe') return `transformer.${ours}.weight`;
  if (ours === 'lm_head.weight') return ours;
  if (ours.startsWith('h.') || ours.startsWith('ln_f.')) return `transformer.${ours}`;
  throw new Error(`no GPT-2 name for parameter ${ours}`);
}

export interface ExportResult {
  files: string[];
  step: number;
  tokenizer: string;
  tokenizerFiles: boolean;
}

/** Write RUN_DIR's latest checkpoint as a Hugging Face GPT-2 folder in outDir. */
export function exportHf(runDir: string, outDir: string, o: { force?: boolean } = {}): ExportResult {
  const runJsonPath = join(runDir, 'run.json');
  if (!existsSync(runJsonPath)) throw new UserError(`${runDir} has no run.json: pass the folder of one run (e.g. runs/wikitext2-gpt2/4m)`);
  let info: { model?: Record<string, unknown>; tokenizer?: string; status?: string };
  try {
    info = JSON.parse(readFileSync(runJsonPath, 'utf8'));
  } catch (e) {
    throw new UserError(`${runJsonPath} is not valid JSON (${(e as Error).message})`);
  }
  if (!info.model || typeof info.model !== 'object') throw new UserError(`${runJsonPath} has no "model" config`);
  const m = gpt2Compatible(info.model, runJsonPath);
  const ck = loadCheckpoint(runDir);
  if (!ck) throw new UserError(`${runDir} has no checkpoint (${checkpointPath(runDir)}); train the run (or --resume it) first`);

  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !o.force) {
    throw new UserError(`${outDir} is not empty; choose another folder or pass --force to overwrite the export files in it`);
  }
  const params = ck.header.tensors.filter((t) => t.name.startsWith('param/'));
  const entries: TensorEntry[] = params.map((t) => {
    const ours = t.name.slice('param/'.length);
    return { name: gpt2Name(ours), dtype: 'F32', shape: t.shape, data: ck.get(t.name) };
  });
  const expected = m.tie_embeddings ? 2 + 12 * m.n_layers + 2 : 2 + 12 * m.n_layers + 3;
  if (entries.length !== expected) {
    throw new UserError(`checkpoint ${checkpointPath(runDir)} holds ${entries.length} weight tensors, but run.json's model needs ${expected}: is it from a different run?`);
  }
  const wte = params.find((t) => t.name === 'param/wte');
  if (!wte || wte.shape[0] !== m.vocab_size || wte.shape[1] !== m.d_model) {
    throw new UserError(`checkpoint ${checkpointPath(runDir)} does not match run.json's model (wte is [${wte?.shape}], expected [${m.vocab_size}, ${m.d_model}])`);
  }

  const gpt2Tok = info.tokenizer === 'gpt2';
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    writeFileAtomic(join(outDir, name), data);
    files.push(name);
  };
  write('model.safetensors', encodeSafetensors(entries, { format: 'pt' }));
  writeJsonAtomic(join(outDir, 'config.json'), gpt2Config(m, gpt2Tok ? GPT2_EOT : null));
  files.push('config.json');
  if (gpt2Tok) {
    const tok = gpt2TokenizerFiles();
    write('vocab.json', tok.vocab);
    write('merges.txt', tok.merges);
    writeJsonAtomic(join(outDir, 'tokenizer_config.json'), {
      tokenizer_class: 'GPT2Tokenizer',
      model_max_length: m.context,
      bos_token: GPT2_EOT_TEXT,
      eos_token: GPT2_EOT_TEXT,
      unk_token: GPT2_EOT_TEXT,
      add_prefix_space: false,
    });
    files.push('tokenizer_config.json');
  }
  return { files, step: ck.header.step, tokenizer: info.tokenizer ?? 'unknown', tokenizerFiles: gpt2Tok };
}
