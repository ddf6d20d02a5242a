import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKEND_CHOICES, describeBackend, initBackend, probeBackends } from '../src/backend.ts';
import { UserError } from '../src/util/errors.ts';
import { listAdapters } from '../src/gpu/webgpu.ts';

const require = createRequire(import.meta.url);
function installed(spec: string): boolean {
  try {
    require.resolve(spec);
    return true;
  } catch {
    return false;
  }
}
const hasNode = installed('@tensorflow/tfjs-node');
const hasNodeGpu = installed('@tensorflow/tfjs-node-gpu');
/** A hardware WebGPU adapter (Vulkan/Metal/D3D12) would be auto's choice before wasm. */
const hasGpuAdapter = (await listAdapters({ coreOnly: true })).adapters.some((a) => !a.software);

describe('backends', () => {
  it('lists the choices in preference order', () => {
    expect(BACKEND_CHOICES).toEqual(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
  });

  it('explicit cpu and wasm load and compute', async () => {
    const cpu = await initBackend('cpu', { quiet: true });
    expect(cpu).toMatchObject({ backend: 'cpu', tfBackend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend('wasm', { quiet: true });
    expect(wasm).toMatchObject({ backend: 'wasm', tfBackend: 'wasm', threads: 1 });
    expect(wasm.device).toMatch(/WebAssembly/);
    expect(tf.getBackend()).toBe('wasm');
    // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]
    expect(Array.from(tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync())).toEqual([19, 22, 43, 50]);
  });

  it('returns a profile: kernel layouts, memory budget, default workers, reproducibility, read-back', async () => {
    const wasm = await initBackend('wasm', { quiet: true });
    expect(wasm).toMatchObject({
      name: 'wasm',
      kernels: { attention: 'fused', tiledTranspose: true, hostGather: true, targetGather: 'flat' },
      memoryBudgetBytes: 1500 * 2 ** 20,
      defaultWorkers: availableParallelism(),
      bitReproducible: true,
      syncReadback: true,
      onGpu: false,
    });
    // --memory-budget-mb reaches the profile explicitly (no environment variable), and only for that call
    expect((await initBackend('wasm', { quiet: true, memoryBudgetMb: 256 })).memoryBudgetBytes).toBe(256 * 2 ** 20);
    expect((await initBackend('wasm', { quiet: true })).memoryBudgetBytes).toBe(1500 * 2 ** 20);
    const cpu = await initBackend('cpu', { quiet: true });
    expect(cpu).toMatchObject({ name: 'cpu', kernels: { attention: 'batched', tiledTranspose: false, hostGather: false, targetGather: 'flat' }, memoryBudgetBytes: 3000 * 2 ** 20 });
  });

  it.skipIf(hasNode || hasNodeGpu || hasGpuAdapter)('auto passes over the absent libtensorflow packages and software WebGPU adapters, and says why', async () => {
    const info = await initBackend('auto', { quiet: true });
    expect(info.backend).toBe('wasm');
    expect(info.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['tensorflow-gpu', false],
      ['webgpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(info.attempts[0]!.reason).toMatch(/^module @tensorflow\/tfjs-node-gpu not installed/);
    expect(info.attempts[0]!.fix).toMatch(/CUDA 11\.2.*cuDNN 8\.1/);
    expect(info.attempts[0]!.fix).toContain('Dockerfile');
    expect(info.attempts[1]!.reason).toMatch(/^no hardware WebGPU adapter \(auto never uses a software one/);
    expect(describeBackend(info)).toMatch(/^backend: wasm on CPU via WebAssembly .*\(skipped tensorflow-gpu: module @tensorflow\/tfjs-node-gpu not installed.*; webgpu: no hardware WebGPU adapter.*; tensorflow: module @tensorflow\/tfjs-node not installed\)$/);
  });

  it.skipIf(hasNodeGpu)('an explicit backend that cannot load is a UserError with the reason and the fix', async () => {
    const err = await initBackend('tensorflow-gpu', { quiet: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const msg = (err as UserError).message;
    expect(msg).toContain("backend 'tensorflow-gpu' (--backend) is not available: module @tensorflow/tfjs-node-gpu not installed");
    expect(msg).toContain("npm install @tensorflow/tfjs-node-gpu");
    expect(msg).toContain('--backend auto');
  });

  it('rejects unknown names', async () => {
    await expect(initBackend('metal' as never, { quiet: true })).rejects.toThrow(/unknown backend 'metal'.*auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu/);
  });

  it('probeBackends reports every backend without throwing and keeps the active one', async () => {
    await initBackend('wasm', { quiet: true });
    const r = await probeBackends();
    expect(r.map((a) => a.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    expect(r.find((a) => a.backend === 'wasm')!.ok).toBe(true);
    expect(r.find((a) => a.backend === 'cpu')!.ok).toBe(true);
    for (const a of r) expect(a.reason.length).toBeGreaterThan(0);
    expect(tf.getBackend()).toBe('wasm');
  });
});
