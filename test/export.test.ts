import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.ts';
import { gpt2Tokenizer } from '../src/data/tokenizer-gpt2.ts';
import { bytesToUnicode, gpt2TokenizerFiles } from '../src/export/gpt2Vocab.ts';
import { parseModelConfig, resolveModelConfig, type ModelConfig } from '../src/model/config.ts';
import { GPT } from '../src/model/gpt.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { decodeSafetensors, tensorData } from '../src/util/safetensors.ts';
import { cli } from './helpers/train.ts';

const dir = mkdtempSync(join(tmpdir(), 'chl-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

/** A run folder: run.json, a checkpoint of a seeded model with noisy weights, and a batch for the PyTorch check. */
async function makeRun(name: string, model: Partial<ModelConfig> & { vocab_size: number }, tokenizer: string, extra: Record<string, unknown> = {}): Promise<string> {
  const run = join(dir, name);
  const cfg = resolveModelConfig(parseModelConfig({ context: 8, d_model: 16, n_layers: 2, n_heads: 2, ...model }, name), model.vocab_size);
  const gpt = new GPT(cfg);
  tf.tidy(() => gpt.params.forEach((p, i) => p.variable.assign(tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', i)))));
  await saveCheckpoint(run, { step: 5, optimizerT: 5, elapsedS: 1, seed: 1, tensors: gpt.params.map((p) => ({ name: `param/${p.name}`, tensor: p.variable as tf.Tensor })) });
  gpt.dispose();
  writeFileSync(join(run, 'run.json'), JSON.stringify({ name, status: 'finished', model: { ...cfg, ...extra }, tokenizer }));
  const ids = () => Array.from({ length: 2 }, (_, b) => Array.from({ length: 8 }, (_, t) => (b * 31 + t * 7 + 3) % cfg.vocab_size));
  writeFileSync(join(run, 'config.json'), JSON.stringify({ model: cfg, idx: ids(), targets: ids().map((r) => r.reverse()) }));
  return run;
}

/** Hugging Face's byte-level BPE (GPT2Tokenizer's algorithm) driven only by vocab.json and merges.txt. */
function hfEncode(text: string, vocab: Record<string, number>, merges: string[]): number[] {
  const u = bytesToUnicode();
  const mergeRank = new Map(merges.map((m, i) => [m, i]));
  const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const ids: number[] = [];
  for (const piece of text.match(pat) ?? []) {
    let word = Array.from(Buffer.from(piece, 'utf8'), (b) => u[b]!);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = mergeRank.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const [a, b] = [word[best]!, word[best + 1]!];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) (next.push(a + b), i++);
        else next.push(word[i]!);
      }
      word = next;
    }
    for (const w of word) ids.push(vocab[w]!);
  }
  return ids;
}

describe('GPT-2 tokenizer files from the js-tiktoken ranks', () => {
  const files = gpt2TokenizerFiles();
  const vocab = JSON.parse(files.vocab) as Record<string, number>;
  const merges = files.merges.trimEnd().split('\n').slice(1);

  it('have GPT-2 sizes and known entries', () => {
    expect(Object.keys(vocab).length).toBe(50257);
    expect(merges.length).toBe(50000);
    expect(files.merges.split('\n')[0]).toBe('#version: 0.2');
    expect(merges.slice(0, 4)).toEqual(['Ġ t', 'Ġ a', 'h e', 'i n']); // the first lines of GPT-2's merges.txt
    expect([vocab['!'], vocab['Ġ'], vocab['Ġthe'], vocab['<|endoftext|>']]).toEqual([0, 220, 262, 50256]);
  });

  it("encode text exactly as our gpt2 tokenizer does, with Hugging Face's algorithm", () => {
    const text =
      ' = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : Unrecorded Chronicles ( Japanese : 戦場のヴァルキュリア3 , lit . ' +
      "Valkyria of the Battlefield 3 ) , commonly referred to as Valkyria Chronicles III outside Japan, isn't it? 1,234.5 — naïve café 🙂\t\ttabs  ";
    expect(hfEncode(text, vocab, merges)).toEqual(gpt2Tokenizer().encode(text));
  });
});

describe('chinchilla export --format hf', () => {
  it('writes config.json and model.safetensors under GPT-2 names with the Conv1D layout; byte-tokenizer runs get no tokenizer files', async () => {
    const run = await makeRun('tied', { vocab_size: 40, d_ff: 24 }, 'byte');
    const out = join(dir, 'tied-hf');
    const r = cli(['export', run, '--format', 'hf', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exported .* \(checkpoint at step 5\)/);
    expect(r.stderr).toMatch(/note: the run used the "byte" tokenizer/);
    const conf = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(conf).toMatchObject({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 40, n_positions: 8, n_embd: 16, n_layer: 2, n_head: 2, n_inner: 24,
      activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true,
    });
    expect(existsSync(join(out, 'vocab.json'))).toBe(false);
    const st = decodeSafetensors(readFileSync(join(out, 'model.safetensors')));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([16, 48]); // Conv1D: [in, out]
    expect(st.tensors.get('transformer.h.0.mlp.c_fc.weight')!.shape).toEqual([16, 24]);
    expect(st.tensors.get('transformer.wte.weight')!.shape).toEqual([40, 16]);
    expect(st.tensors.has('lm_head.weight')).toBe(false); // tied: transformers ties it to wte
    expect(st.tensors.size).toBe(2 + 12 * 2 + 2);
    const ck = decodeSafetensors(readFileSync(join(run, 'checkpoints', 'latest.safetensors')));
    expect(Array.from(tensorData(st, 'transformer.h.1.mlp.c_proj.bias'))).toEqual(Array.from(tensorData(ck, 'param/h.1.mlp.c_proj.bias')));
    // a second export into the same folder needs --force
    expect(cli(['export', run, out]).stderr).toMatch(/is not empty; choose another folder or pass --force/);
    expect(cli(['export', run, out, '--force']).status).toBe(0);
  });

  it('writes vocab.json, merges.txt and tokenizer_config.json for a gpt2-tokenizer run', async () => {
    const run = await makeRun('gpt2tok', { vocab_size: 50257, d_model: 8, n_heads: 1, n_layers: 1 }, 'gpt2');
    const out = join(dir, 'gpt2tok-hf');
    const r = cli(['export', run, out]);
    expect(r.status, r.stderr).toBe(0);
    const conf = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect([conf.bos_token_id, conf.eos_token_id]).toEqual([50256, 50256]);
    expect(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ tokenizer_class: 'GPT2Tokenizer', eos_token: '<|endoftext|>', model_max_length: 8 });
    expect(readFileSync(join(out, 'vocab.json'), 'utf8')).toBe(gpt2TokenizerFiles().vocab);
    expect(readFileSync(join(out, 'merges.txt'), 'utf8').split('\n').length).toBe(50002);
  });

  it('refuses a run without biases, naming the field', async () => {
    const run = await makeRun('nobias', { vocab_size: 30, bias: false }, 'byte');
    const r = cli(['export', run, join(dir, 'nobias-hf')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/model field "bias" is false, but GPT-2 has biases/);
    expect(existsSync(join(dir, 'nobias-hf'))).toBe(false);
  });

  it('refuses a model field GPT-2 has no equivalent for, naming it, and accepts GPT-2 values of the optional fields', async () => {
    for (const [field, value, why] of [
      ['activation', 'relu', /model field "activation" \("relu"\) has no GPT-2 equivalent: GPT-2's MLP uses the tanh GELU/],
      ['head_bias', true, /model field "head_bias" \(true\) has no GPT-2 equivalent: GPT2LMHeadModel's lm_head has no bias/],
      ['attn_bias', false, /model field "attn_bias" \(false\) has no GPT-2 equivalent/],
      ['rotary', true, /model field "rotary" \(true\) has no GPT-2 equivalent: this exporter does not know the field/],
    ] as const) {
      const run = await makeRun(`f-${field}`, { vocab_size: 30 }, 'byte', { [field]: value });
      const r = cli(['export', run, join(dir, `f-${field}-hf`)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(why);
    }
    const run = await makeRun('gpt2-values', { vocab_size: 30, dropout: 0.1 }, 'byte', {
      activation: 'gelu', attn_bias: true, head_bias: false, init: 'pytorch-default', dropout_sites: ['attention', 'attn_proj', 'mlp'],
    });
    const out = join(dir, 'gpt2-values-hf');
    expect(cli(['export', run, out]).status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ embd_pdrop: 0, attn_pdrop: 0.1, resid_pdrop: 0.1 });
  });

  it('refuses a run without a checkpoint, and a corrupt checkpoint', async () => {
    const run = await makeRun('nock', { vocab_size: 30 }, 'byte');
    const p = join(run, 'checkpoints', 'latest.safetensors');
    const buf = readFileSync(p);
    buf.fill(0xff, buf.length >> 1, (buf.length >> 1) + 1024);
    writeFileSync(p, buf);
    expect(cli(['export', run, join(dir, 'x')]).stderr).toMatch(/latest\.safetensors is corrupt or unreadable \(its content does not match its sha256/);
    rmSync(join(run, 'checkpoints'), { recursive: true });
    expect(cli(['export', run, join(dir, 'x')]).stderr).toMatch(/has no checkpoint/);
    mkdirSync(join(dir, 'empty'));
    expect(cli(['export', join(dir, 'empty'), join(dir, 'x')]).stderr).toMatch(/has no run\.json/);
  });
});

const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!torch)('the export in PyTorch under GPT-2 names (scripts/torch-reference.py hf; needs python3-torch)', () => {
  for (const [name, model] of [
    ['pt-tied', { vocab_size: 40, d_ff: 24 }],
    ['pt-untied', { vocab_size: 33, tie_embeddings: false, n_heads: 4 }],
  ] as const) {
    it(`${name}: GPT-2-style forward from the HF folder matches our model's logits`, async () => {
      const run = await makeRun(name, model, 'byte');
      const out = join(dir, `${name}-hf`);
      expect(cli(['export', run, out]).status).toBe(0);
      const r = spawnSync('/usr/bin/python3', [join(PROJECT_ROOT, 'scripts', 'torch-reference.py'), 'hf', out, run], { encoding: 'utf8' });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      console.log(r.stdout.trim());
      const diff = Number(/max \|logits diff\| (\S+)/.exec(r.stdout)![1]);
      expect(diff).toBeLessThan(1e-6);
    });
  }
});
