/**
 * A data-parallel worker thread (started by WorkerPool through bootstrap.js):
 * its own tfjs backend instance and its own copy of the GPT. Per step it loads
 * the weights main published, computes the gradient of its rows of the batch
 * and writes it to its shared buffer; per evaluation it computes the losses of
 * its chunks of windows. It never updates weights itself, so every worker
 * computes with exactly main's weights. Read-backs are asynchronous.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backend.ts';
import { BatchSampler, evalSet, type Batch } from '../../data/batches.ts';
import { GPT } from '../../model/gpt.ts';
import { computeChunks, type EvalSetId } from '../evaluate.ts';
import { accumulateGradients, noTimer } from '../gradients.ts';
import { PhaseTimer } from '../phaseTimer.ts';
import { flatLayout, type FromWorker, type ToWorker, type WorkerInit } from './protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
const fail = (e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined });

async function main(): Promise<void> {
  await initBackend(init.backend, { quiet: true });
  const model = new GPT(init.model, { kernels: init.kernels });
  const sampler = new BatchSampler(new Int32Array(init.tokens), { batch: init.batch, context: init.model.context, seed: init.seed });
  const { offsets } = flatLayout(model.params.map((p) => p.variable.size));
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  const setup = { model, sampler, batch: init.batch, microBatch: init.microBatch, seed: init.seed };
  const evalSets = new Map<EvalSetId, Batch>();
  const evalSetOf = (id: EvalSetId): Batch => {
    let s = evalSets.get(id);
    if (!s) {
      if (!init.validation || !init.evalSets) throw new Error('this pool was started without validation tokens');
      s = evalSet(new Int32Array(init.validation), { context: init.model.context, ...init.evalSets[id] });
      evalSets.set(id, s);
    }
    return s;
  };
  // main's weights (copied out of shared memory: a backend may keep the array it is given)
  const loadWeights = () =>
    tf.tidy(() => model.params.forEach((p, i) => p.variable.assign(tf.tensor(weights.slice(offsets[i]!, offsets[i]! + p.variable.size), p.variable.shape))));

  // messages are handled one at a time, in order (main waits for each reply before the next request)
  let queue = Promise.resolve();
  port.on('message', (m: ToWorker) => {
    queue = queue.then(() => handle(m)).catch(fail);
  });

  async function handle(m: ToWorker): Promise<void> {
    if (m.type === 'eval') {
      loadWeights();
      const { means, windows } = await computeChunks(model, evalSetOf(m.set), m.chunks);
      send({ type: 'evaluated', set: m.set, means, windows });
      return;
    }
    const timer = m.profile ? new PhaseTimer() : noTimer;
    timer.phase('communication', loadWeights);
    const { grads: g, loss } = accumulateGradients(setup, m.step, init.rows[0], init.rows[1], timer);
    const t0 = performance.now();
    for (let i = 0; i < g.length; i++) grads.set((await g[i]!.data()) as Float32Array, offsets[i]!);
    const lossValue = (await loss.data())[0]!;
    timer.record('communication', performance.now() - t0);
    tf.dispose([...g, loss]);
    send({ type: 'done', step: m.step, loss: lossValue, phases: timer instanceof PhaseTimer ? timer.totals : {} });
  }
  send({ type: 'ready' });
}

main().catch(fail);
