/**
 * Picks and initialises the TensorFlow.js backend. This is the only module that
 * knows which backend runs; everything else imports `@tensorflow/tfjs` and uses it.
 *
 * Order for 'auto' (first that loads AND runs a tiny op wins):
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu  (libtensorflow with CUDA)
 *   webgpu          @tensorflow/tfjs-backend-webgpu on Dawn (the optional `webgpu`
 *                   package): Vulkan/Metal/D3D12 on a hardware adapter; a software
 *                   adapter (llvmpipe, SwiftShader) only when asked for explicitly
 *   tensorflow      @tensorflow/tfjs-node      (libtensorflow on CPU)
 *   wasm            @tensorflow/tfjs-backend-wasm (SIMD), with the project's own kernels (src/model/kernels/wasm/)
 *   cpu             pure JavaScript (always there)
 * The two libtensorflow packages are optionalDependencies whose install script
 * downloads a native library, so they are often absent; they are loaded lazily.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { availableParallelism, cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { PLAIN_LAYOUTS, WASM_LAYOUTS, WEBGPU_LAYOUTS, type KernelLayouts } from './model/kernels/layouts.ts';
import { nativeKernelsStatus } from './model/kernels/nativeKernels.ts';
import { installSharingIdentity } from './model/kernels/wasmIdentity.ts';
import { kernelsModule } from './model/kernels/wasmKernels.ts';
import type { BackendAttempt, BackendName, BackendProfile } from './backendProfile.ts';
export type { BackendAttempt, BackendName } from './backendProfile.ts';
import { UserError } from './util/errors.ts';

export type { KernelLayouts };

export type BackendRequest = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendRequest[] = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

const ORDER: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];
const require = createRequire(import.meta.url);

/** What tfjs-node-gpu 4.x needs; overridden by src/gpu/cuda.ts when that module is present. */
const GPU_REQUIREMENTS_FALLBACK = { cuda: '11.2', cudnn: '8.1', libtensorflow: '2.9.1' };

interface CudaDiagnosisLike {
  gpus: { name: string; memoryMiB?: number; driver?: string }[];
  cudart: string | null;
  cudnn: string | null;
  problems: string[];
  fixes: string[];
}
interface CudaModuleLike {
  diagnoseCuda?: () => CudaDiagnosisLike;
  TFJS_NODE_GPU_REQUIREMENTS?: { cuda: string; cudnn: string; libtensorflow: string };
}

/** src/gpu/cuda.ts (another module) explains CUDA problems; tolerate its absence. */
async function loadCudaModule(): Promise<CudaModuleLike | null> {
  const spec = './gpu/cuda.ts';
  try {
    return (await import(spec)) as CudaModuleLike;
  } catch {
    return null;
  }
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}

function moduleInstalled(spec: string): boolean {
  try {
    require.resolve(spec);
    return true;
  } catch {
    return false;
  }
}

/** Runs a tiny matmul + reduction and checks the numbers: a backend that loads but cannot compute is useless. */
async function smokeTest(): Promise<void> {
  const t = tf.tidy(() => tf.sum(tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]))));
  const v = (await t.data())[0]; // [[19,22],[43,50]] sums to 134; asynchronous: every backend can read back so
  t.dispose();
  if (v !== 134) throw new Error(`smoke test computed ${v} instead of 134`);
}

async function activate(tfName: string): Promise<void> {
  if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') failed`);
  await tf.ready();
  await smokeTest();
}

function gpuFix(req: { cuda: string; cudnn: string; libtensorflow: string }): string {
  return (
    `tfjs-node-gpu needs Linux x86-64 with an NVIDIA driver, CUDA ${req.cuda} and cuDNN ${req.cudnn} ` +
    `(libtensorflow ${req.libtensorflow}); install with 'npm install @tensorflow/tfjs-node-gpu' ` +
    `(its install script downloads libtensorflow), or build and run the Docker image (Dockerfile) which has them`
  );
}

/** What a backend that loaded reports about itself. */
interface TryInfo {
  backend: BackendName;
  tfBackend: string;
  device: string;
  threads?: number;
  /** memory one forward+backward may use, when the backend knows it (e.g. from a GPU adapter) */
  memoryBudgetBytes?: number;
  /** largest tensor one kernel may bind (webgpu: the adapter's maxStorageBufferBindingSize; llvmpipe 128 MiB) */
  maxTensorBytes?: number;
  /** the adapter is a software rasteriser on the CPU (webgpu on llvmpipe/SwiftShader) */
  software?: boolean;
}
interface TryResult {
  attempt: BackendAttempt;
  info?: TryInfo;
}

async function tryTensorflow(gpu: boolean): Promise<TryResult> {
  const backend: BackendName = gpu ? 'tensorflow-gpu' : 'tensorflow';
  const spec = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const cudaMod = gpu ? await loadCudaModule() : null;
  const reqs = cudaMod?.TFJS_NODE_GPU_REQUIREMENTS ?? GPU_REQUIREMENTS_FALLBACK;
  const fix = gpu
    ? gpuFix(reqs)
    : `install it with 'npm install @tensorflow/tfjs-node' (its install script downloads libtensorflow ${reqs.libtensorflow}; needs network access at install time)`;
  if (!moduleInstalled(spec)) {
    let reason = `module ${spec} not installed`;
    const gpus = gpu && cudaMod?.diagnoseCuda ? cudaMod.diagnoseCuda().gpus : [];
    if (gpus.length > 0) reason += ` (this machine has ${gpus.map((g) => g.name).join(', ')})`;
    return { attempt: { backend, ok: false, reason, fix } };
  }
  try {
    await import(spec); // registers the 'tensorflow' backend with the shared tfjs-core
  } catch (e) {
    let reason = `loading ${spec} failed: ${errorText(e)}`;
    let extraFix = '';
    if (gpu && cudaMod?.diagnoseCuda) {
      const d = cudaMod.diagnoseCuda();
      if (d.problems.length) reason += ` (CUDA check: ${d.problems.join(' ')})`;
      if (d.fixes.length) extraFix = `. ${d.fixes.join(' ')}`;
    }
    return { attempt: { backend, ok: false, reason, fix: fix + extraFix } };
  }
  if (!tf.findBackendFactory('tensorflow')) {
    return {
      attempt: {
        backend,
        ok: false,
        reason: `${spec} loaded but registered its backend with a different copy of @tensorflow/tfjs-core than this project uses (tfjs ${tf.version.tfjs})`,
        fix: `install the version matching @tensorflow/tfjs ${tf.version.tfjs} and run 'npm dedupe'`,
      },
    };
  }
  try {
    await activate('tensorflow');
  } catch (e) {
    return { attempt: { backend, ok: false, reason: `the tensorflow backend failed to run: ${errorText(e)}`, fix } };
  }
  let device = `CPU via libtensorflow (${cpus().length} cores)`;
  let reason = `${spec} loaded`;
  if (gpu) {
    const d = cudaMod?.diagnoseCuda ? cudaMod.diagnoseCuda() : null;
    if (d && d.gpus.length > 0) {
      device = d.gpus.map((g) => g.name + (g.memoryMiB ? ` (${Math.round(g.memoryMiB / 1024)} GiB)` : '')).join(', ') + ' via CUDA';
    } else if (d) {
      device = 'libtensorflow with CUDA (nvidia-smi saw no GPU; TensorFlow may fall back to the CPU)';
      reason += '; warning: no GPU visible';
    } else {
      device = 'libtensorflow with CUDA';
    }
  }
  return { attempt: { backend, ok: true, reason }, info: { backend, tfBackend: 'tensorflow', device } };
}

async function tryWasm(): Promise<TryResult> {
  const backend: BackendName = 'wasm';
  const fix = "reinstall dependencies ('npm ci'); @tensorflow/tfjs-backend-wasm is a regular dependency";
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { attempt: { backend, ok: false, reason: `loading @tensorflow/tfjs-backend-wasm failed: ${errorText(e)}`, fix } };
  }
  // with the project's kernels, tf.clone (every tensor a custom gradient saves) shares the buffer instead of copying it
  if (kernelsModule()) installSharingIdentity();
  try {
    // Point the loader at the .wasm binaries inside node_modules (they sit next to the main file).
    const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(distDir.endsWith('/') ? distDir : distDir + '/');
  } catch {
    // setWasmPaths throws once the backend has been initialised: the paths are then already fixed.
  }
  try {
    await activate('wasm');
  } catch (e) {
    return { attempt: { backend, ok: false, reason: `the wasm backend failed to run: ${errorText(e)}`, fix } };
  }
  const threads = wasm.getThreadsCount();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  // the model's products, attention, LayerNorm, GELU and AdamW run as the project's own SIMD kernels (src/model/kernels/wasm/)
  const own = simd && kernelsModule() !== null;
  const device = `CPU via WebAssembly (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}; ${own ? `the project's own kernels; ${nativeKernelsStatus()}` : 'tfjs kernels (XNNPACK)'})`;
  // doctor prints the reason: say which kernels run (and why the native ones do not, where they do not)
  return { attempt: { backend, ok: true, reason: `loaded: ${device}` }, info: { backend, tfBackend: 'wasm', device, threads } };
}

async function tryCpu(): Promise<TryResult> {
  try {
    await activate('cpu');
  } catch (e) {
    return { attempt: { backend: 'cpu', ok: false, reason: `the cpu backend failed to run: ${errorText(e)}` } };
  }
  return { attempt: { backend: 'cpu', ok: true, reason: 'loaded' }, info: { backend: 'cpu', tfBackend: 'cpu', device: 'CPU, pure JavaScript' } };
}

/** webgpu: Dawn's adapter list; a software adapter only when webgpu was asked for by name. */
async function tryWebgpu(explicit: boolean, adapterChoice: string | undefined): Promise<TryResult> {
  const backend: BackendName = 'webgpu';
  const gpu = await import('./gpu/webgpu.ts');
  // auto without a chosen adapter looks for hardware only (Vulkan/Metal/D3D12), skipping the GL probe
  const { adapters, problems } = await gpu.listAdapters({ coreOnly: !explicit && !adapterChoice });
  const fix = gpu.WEBGPU_FIX;
  const picked = gpu.pickAdapter(adapters, adapterChoice, explicit);
  if (typeof picked === 'string') {
    const why = adapters.length ? picked : [picked, ...problems].join('; ');
    return { attempt: { backend, ok: false, reason: why, fix } };
  }
  try {
    await gpu.activateWebGpu(picked);
  } catch (e) {
    return { attempt: { backend, ok: false, reason: `the webgpu backend failed to run on ${gpu.describeAdapter(picked)}: ${errorText(e)}`, fix } };
  }
  const device = `${picked.name} via WebGPU (Dawn ${picked.dawnBackend}${picked.software ? ', software rasteriser on the CPU: a correctness path' : ''})`;
  return {
    attempt: { backend, ok: true, reason: `adapter ${gpu.describeAdapter(picked)}` },
    info: { backend, tfBackend: 'webgpu', device, memoryBudgetBytes: gpu.adapterMemoryBudget(picked), maxTensorBytes: picked.maxStorageBufferBindingBytes, software: picked.software },
  };
}

function tryBackend(b: BackendName, explicit = false, gpuAdapter?: string): Promise<TryResult> {
  switch (b) {
    case 'tensorflow-gpu':
      return tryTensorflow(true);
    case 'webgpu':
      return tryWebgpu(explicit, gpuAdapter);
    case 'tensorflow':
      return tryTensorflow(false);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

/** One line: which backend runs, and why the better ones were passed over. */
export function describeBackend(info: BackendInfo): string {
  const skipped = info.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
  return `backend: ${info.backend} on ${info.device}` + (skipped.length ? ` (skipped ${skipped.join('; ')})` : '');
}

let active: { info: TryInfo; attempts: BackendAttempt[] } | null = null;
let activeRequest: BackendRequest | null = null;

/** Production mode: silences tfjs's "install the node backend" banner and skips per-op debug checks. */
function quietTfjs(): void {
  if (!tf.env().getBool('PROD')) tf.enableProdMode();
}

/**
 * Select and initialise a backend. 'auto' takes the first in ORDER that loads and
 * runs a tiny op; an explicit request that cannot load is a UserError with the reason
 * and the fix. Prints one line (unless quiet).
 */
export async function initBackend(req: BackendRequest, o: { quiet?: boolean; gpuAdapter?: string } & ProfileOverrides = {}): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(req)) {
    throw new UserError(`unknown backend '${String(req)}' (--backend); choose one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  quietTfjs();
  if (active && activeRequest === req && tf.getBackend() === active.info.tfBackend) return profileFor(active.info, active.attempts, o);

  const candidates = req === 'auto' ? ORDER : [req];
  const attempts: BackendAttempt[] = [];
  for (const b of candidates) {
    const r = await tryBackend(b, req !== 'auto', o.gpuAdapter);
    attempts.push(r.attempt);
    if (r.info) {
      active = { info: r.info, attempts };
      activeRequest = req;
      const profile = profileFor(r.info, attempts, o);
      if (!o.quiet) console.error(describeBackend(profile));
      return profile;
    }
  }
  const last = attempts[attempts.length - 1]!;
  if (req !== 'auto') {
    throw new UserError(`backend '${req}' (--backend) is not available: ${last.reason}.` + (last.fix ? ` Fix: ${last.fix}.` : '') +
      ` Or use --backend auto to fall back to the best one that works.`);
  }
  throw new UserError(`no tfjs backend could run: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`);
}

/** Try every backend (for `doctor`); never throws. Leaves the previously active backend selected. */
export async function probeBackends(): Promise<BackendAttempt[]> {
  quietTfjs();
  const previous = active ? active.info.tfBackend : null;
  const out: BackendAttempt[] = [];
  for (const b of ORDER) {
    try {
      out.push((await tryBackend(b)).attempt);
    } catch (e) {
      out.push({ backend: b, ok: false, reason: errorText(e) });
    }
  }
  if (previous) {
    try {
      await tf.setBackend(previous);
    } catch {
      // nothing sensible to do: doctor only reports
    }
  }
  return out;
}

export type { BackendProfile } from './backendProfile.ts';
/** The former name of BackendProfile; `backend` is `name`. */
export type BackendInfo = BackendProfile & { backend: BackendName };

const MB = 2 ** 20;

/** What each backend is like (looked up by name here, and only here). */
const TRAITS: Record<string, { budgetMb: number; cpuBound: boolean; bitReproducible: boolean; syncReadback: boolean }> = {
  wasm: { budgetMb: 1500, cpuBound: true, bitReproducible: true, syncReadback: true },
  cpu: { budgetMb: 3000, cpuBound: true, bitReproducible: true, syncReadback: true },
  // libtensorflow's CPU and CUDA kernels may reorder float sums between runs
  tensorflow: { budgetMb: 6000, cpuBound: false, bitReproducible: false, syncReadback: true },
  'tensorflow-gpu': { budgetMb: 9000, cpuBound: false, bitReproducible: false, syncReadback: true },
  // a GPU backend without synchronous read-back (webgpu under Node); its budget comes from the adapter when known
  webgpu: { budgetMb: 4000, cpuBound: false, bitReproducible: false, syncReadback: false },
};
/** The backends that run on a GPU (webgpu on a software adapter does not: see `onGpu`). */
const GPU_BACKENDS: ReadonlySet<BackendName> = new Set(['tensorflow-gpu', 'webgpu']);
export function isGpuBackend(name: BackendName): boolean {
  return GPU_BACKENDS.has(name);
}
const NATIVE_MODULE: Partial<Record<BackendName, string>> = { tensorflow: '@tensorflow/tfjs-node', 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu' };
const UNKNOWN_TRAITS = { budgetMb: 4000, cpuBound: false, bitReproducible: false, syncReadback: false };

/** The profile of a backend that loaded; `overrides` come from the CLI (--memory-budget-mb). */
function profileFor(info: TryInfo, attempts: BackendAttempt[], overrides: ProfileOverrides): BackendInfo {
  const t = TRAITS[info.backend] ?? UNKNOWN_TRAITS;
  return {
    backend: info.backend,
    name: info.backend,
    tfBackend: info.tfBackend,
    device: info.device,
    ...(info.threads !== undefined ? { threads: info.threads } : {}),
    attempts,
    kernels: kernelLayouts(info.tfBackend),
    memoryBudgetBytes: overrides.memoryBudgetMb !== undefined ? overrides.memoryBudgetMb * MB : (info.memoryBudgetBytes ?? t.budgetMb * MB),
    defaultWorkers: t.cpuBound ? availableParallelism() : 1,
    bitReproducible: t.bitReproducible,
    onGpu: isGpuBackend(info.backend) && !info.software,
    syncReadback: t.syncReadback,
    ...(info.maxTensorBytes !== undefined ? { maxTensorBytes: info.maxTensorBytes } : {}),
    ...(NATIVE_MODULE[info.backend] ? { nativeModule: NATIVE_MODULE[info.backend] } : {}),
  };
}

export interface ProfileOverrides {
  /** --memory-budget-mb: bytes one forward+backward may use, in MiB */
  memoryBudgetMb?: number;
}

/** The kernel layouts of a tfjs backend by its registered name (for scripts and tests). */
export function kernelLayouts(tfBackend: string = tf.getBackend()): KernelLayouts {
  return tfBackend === 'wasm' ? WASM_LAYOUTS : tfBackend === 'webgpu' ? WEBGPU_LAYOUTS : PLAIN_LAYOUTS;
}
