/**
 * A data-parallel worker thread (started by WorkerPool through bootstrap.js):
 * its own tfjs backend instance and its own copy of the GPT. Per step it loads
 * the weights main published, computes the gradient of its rows of the batch
 * and writes it to its shared buffer. It never updates weights itself, so every
 * worker computes with exactly main's weights.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backend.ts';
import { BatchSampler } from '../../data/batches.ts';
import { GPT } from '../../model/gpt.ts';
import { accumulateGradients, PhaseTimer, noTimer } from '../step.ts';
import { flatLayout, type FromWorker, type ToWorker, type WorkerInit } from './protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);

async function main(): Promise<void> {
  await initBackend(init.backend, { quiet: true });
  const model = new GPT(init.model);
  const sampler = new BatchSampler(new Int32Array(init.tokens), { batch: init.batch, context: init.model.context, seed: init.seed });
  const { offsets } = flatLayout(model.params.map((p) => p.variable.size));
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  const setup = { model, sampler, batch: init.batch, microBatch: init.microBatch, seed: init.seed };

  port.on('message', (m: ToWorker) => {
    try {
      const timer = m.profile ? new PhaseTimer() : noTimer;
      // main's weights (copied out of shared memory: a backend may keep the array it is given)
      timer.phase('communication', () =>
        tf.tidy(() =>
          model.params.forEach((p, i) => p.variable.assign(tf.tensor(weights.slice(offsets[i]!, offsets[i]! + p.variable.size), p.variable.shape))),
        ),
      );
      const { grads: g, loss } = accumulateGradients(setup, m.step, init.rows[0], init.rows[1], timer);
      const lossValue = timer.phase('communication', () => {
        g.forEach((t, i) => grads.set(t.dataSync() as Float32Array, offsets[i]!));
        return loss.dataSync()[0]!;
      });
      tf.dispose([...g, loss]);
      send({ type: 'done', step: m.step, loss: lossValue, phases: timer instanceof PhaseTimer ? timer.totals : {} });
    } catch (e) {
      send({ type: 'error', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined });
    }
  });
  send({ type: 'ready' });
}

main().catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined }));
