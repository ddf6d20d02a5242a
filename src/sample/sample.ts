/**
 * Text from a trained run (nanoGPT's sample.py): the run's model config and
 * tokenizer from run.json, its weights from checkpoints/latest.ckpt, then
 * autoregressive sampling — for each new token, the logits of the last position
 * over at most `context` previous tokens, divided by the temperature, cut to the
 * top k, softmax, one draw from a seeded stream. Read-backs are asynchronous
 * (`await data()`), so it runs on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { getTokenizer, type DataOptions, type Tokenizer } from '../data/index.ts';
import { parseModelConfig, resolveModelConfig } from '../model/config.ts';
import type { BackendProfile } from '../backend.ts';
import { GPT } from '../model/gpt.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { gptOptions } from '../train/memory.ts';
import { readRunJson } from '../train/trainer.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

export interface SampleOptions {
  prompt: string;
  tokens: number;
  temperature: number;
  /** keep the k most likely tokens; 0 = all */
  topK: number;
  seed: number;
}

/**
 * One draw from softmax(logits / temperature) restricted to the top k logits
 * (ties at the k-th value are kept), using u ∈ [0, 1) from the caller's stream.
 */
export function sampleToken(logits: ArrayLike<number>, o: { temperature: number; topK: number }, u: number): number {
  const n = logits.length;
  let cutoff = -Infinity;
  if (o.topK > 0 && o.topK < n) cutoff = Array.from(logits).sort((a, b) => b - a)[o.topK - 1]!;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! >= cutoff) max = Math.max(max, logits[i]!);
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i]! < cutoff) continue;
    w[i] = Math.exp((logits[i]! - max) / o.temperature);
    sum += w[i]!;
  }
  let acc = 0;
  const target = u * sum;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (w[i]! === 0) continue;
    last = i;
    acc += w[i]!;
    if (target < acc) return i;
  }
  return last; // rounding: u·sum at the very top
}

export interface LoadedRun {
  model: GPT;
  tokenizer: Tokenizer;
  step: number;
  name: string;
}

/**
 * The run's model with its latest checkpoint's weights, and its tokenizer. `profile`: the
 * backend's kernel layouts and memory limits (initBackend), as the trainer builds the model.
 */
export async function loadRunModel(runDir: string, data: Omit<DataOptions, 'dataset'>, profile?: BackendProfile): Promise<LoadedRun> {
  const info = readRunJson(runDir);
  if (!info) throw new UserError(`${runDir} has no readable run.json: pass a run folder such as runs/quick/s`);
  const ckpt = loadCheckpoint(runDir);
  if (!ckpt)
    throw new UserError(`${runDir} has no checkpoint (checkpoints/latest.ckpt): train the run first (chinchilla train / sweep)`);
  const text = (info.text ?? {}) as { strip_markers?: boolean; drop_blank_lines?: boolean; join_lines?: boolean };
  const tokenizer = await getTokenizer(info.tokenizer, {
    ...data,
    dataset: info.dataset as DataOptions['dataset'],
    stripMarkers: text.strip_markers ?? false,
    dropBlankLines: text.drop_blank_lines ?? false,
    joinLines: text.join_lines ?? false,
  });
  // run.json's model is a resolved config; parsing it again fills options older runs lack with today's defaults
  const cfg = resolveModelConfig(parseModelConfig(info.model, join(runDir, 'run.json')), tokenizer.vocabSize);
  const model = new GPT(cfg, profile ? { kernels: profile.kernels, ...gptOptions(profile) } : {});
  tf.tidy(() => {
    for (const p of model.params) p.variable.assign(tf.tensor(ckpt.get(`param/${p.name}`), p.variable.shape));
  });
  return { model, tokenizer, step: ckpt.header.step, name: info.name };
}

/** Generate `o.tokens` tokens after the prompt; returns the prompt ids and the new ids. `onToken` reports progress. */
export async function generate(
  model: GPT,
  promptIds: number[],
  o: Omit<SampleOptions, 'prompt'>,
  onToken?: (done: number) => void,
): Promise<number[]> {
  const { context, vocab_size: V } = model.config;
  const rng = new Rng(o.seed);
  const ids = [...promptIds];
  const out: number[] = [];
  for (let i = 0; i < o.tokens; i++) {
    const window = ids.slice(-context);
    const T = window.length;
    const last = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(window, [1, T], 'int32')); // [1, T, V]
      return tf.reshape(tf.slice(logits, [0, T - 1, 0], [1, 1, V]), [V]);
    });
    const values = (await last.data()) as Float32Array;
    last.dispose();
    const next = sampleToken(values, o, rng.next());
    ids.push(next);
    out.push(next);
    onToken?.(i + 1);
  }
  return out;
}
