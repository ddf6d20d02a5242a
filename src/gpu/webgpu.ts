/**
 * The `webgpu` backend: TensorFlow.js's WebGPU kernels (@tensorflow/tfjs-backend-webgpu)
 * on Dawn, Chrome's WebGPU implementation, which the optional `webgpu` npm package ships
 * prebuilt for Node (dawn.node for linux-x64/arm64, macOS, Windows). Dawn drives Vulkan
 * (NVIDIA, AMD, Intel on Linux), Metal (Macs), D3D12 (Windows) and, in WebGPU's
 * "compatibility" feature level only, OpenGL ES — the path Mesa's software rasteriser
 * (llvmpipe) takes on a machine without a GPU, which is how CI tests this backend.
 *
 * We enumerate the adapters ourselves (one Dawn instance per Dawn backend), create the
 * device with the limits tfjs needs, and register tfjs's WebGPUBackend on it, because
 * tfjs's own registration looks for a browser's `navigator.gpu`.
 *
 * Read-back on this backend is asynchronous only: dataSync()/arraySync() throw under
 * Node ("OffscreenCanvas is not defined"), so every read-back must be `await t.data()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.ts';
import { queryNvidiaSmi } from './nvidia-smi.ts';

export type DawnBackend = 'vulkan' | 'metal' | 'd3d12' | 'opengles';

export interface WebGpuAdapter {
  /** Position in listAdapters()'s list (what `--gpu-adapter 0` picks). */
  index: number;
  /** e.g. 'NVIDIA GeForce RTX 4090', 'Apple M2', 'llvmpipe (LLVM 15.0.6, 256 bits)'. */
  name: string;
  /** Driver / API version string as Dawn reports it, e.g. 'OpenGL ES 3.2 Mesa 22.3.6'. */
  driver: string;
  vendor: string;
  dawnBackend: DawnBackend;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP): correct but slow; auto never picks it. */
  software: boolean;
  /** WebGPU 'core', or 'compatibility' (Dawn's GL backends exist only there). */
  featureLevel: 'core' | 'compatibility';
  maxBufferBytes: number;
  maxStorageBufferBindingBytes: number;
  /** Held for creating the device; not part of the report. */
  handle: GPUAdapter;
}

export interface AdapterListing {
  adapters: WebGpuAdapter[];
  /** Why a Dawn backend gave no adapter (missing loader library, driver refused, …). */
  problems: string[];
}

/** What to tell a user whose webgpu backend did not load. */
export const WEBGPU_FIX =
  "needs the optional 'webgpu' package ('npm install webgpu', prebuilt Dawn for linux-x64/arm64, macOS, Windows) and a GPU driver Dawn can use: " +
  'Metal on a Mac; on Linux the Vulkan loader (libvulkan1) and the GPU vendor\'s Vulkan driver (NVIDIA: the driver\'s Vulkan ICD; in Docker set NVIDIA_DRIVER_CAPABILITIES to include graphics), ' +
  'or for a software adapter Mesa\'s EGL/GLES (apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri); see the README section "WebGPU"';

const SOFTWARE = /llvmpipe|softpipe|lavapipe|swiftshader|swrast|software|microsoft basic render/i;

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** GPUAdapter.info (newer than the @webgpu/types version tfjs pins). */
interface AdapterInfoLike {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
function adapterInfo(a: GPUAdapter): AdapterInfoLike {
  return (a as unknown as { info: AdapterInfoLike }).info;
}

let dawn: DawnModule | null = null;
const listings = new Map<boolean, AdapterListing>();
/** Dawn instances stay referenced for the life of the process: one collected under its device crashes Dawn. */
const instances: GPU[] = [];

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/** Load dawn.node once and put the WebGPU constants (GPUBufferUsage, …) where tfjs looks for them. */
async function loadDawn(): Promise<DawnModule> {
  if (dawn) return dawn;
  if (process.platform === 'linux') {
    // Mesa's EGL needs no display server this way; XDG_RUNTIME_DIR silences its warning.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    if (!process.env.XDG_RUNTIME_DIR) {
      const dir = join(tmpdir(), `chinchilla-xdg-${process.getuid?.() ?? 0}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      process.env.XDG_RUNTIME_DIR = dir;
    }
  }
  const spec = 'webgpu';
  const mod = (await import(spec)) as DawnModule;
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  dawn = mod;
  return mod;
}

/** Whether libvulkan.so.1 can be opened (asking Dawn without it prints a warning on stderr). */
function vulkanLoaderPresent(): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu');
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

function dawnBackendsHere(): DawnBackend[] {
  switch (process.platform) {
    case 'darwin':
      return ['metal'];
    case 'win32':
      return ['d3d12', 'vulkan'];
    default:
      return ['vulkan', 'opengles'];
  }
}

/**
 * Every adapter Dawn offers here, hardware first. Each Dawn backend is asked for its
 * high-performance and its low-power adapter (a laptop's discrete and integrated GPU).
 * With `coreOnly`, Dawn's OpenGL ES backend is skipped: it offers software rasterisers (and GPUs
 * old enough to lack Vulkan), costs a second or two and prints Dawn warnings, so `auto` does
 * without it. Never throws; each listing is made once per process.
 */
export async function listAdapters(o: { coreOnly?: boolean } = {}): Promise<AdapterListing> {
  const coreOnly = !!o.coreOnly;
  const cached = listings.get(coreOnly);
  if (cached) return cached;
  let listing: AdapterListing;
  const problems: string[] = [];
  let mod: DawnModule;
  try {
    mod = await loadDawn();
  } catch (e) {
    const msg = errorText(e);
    const missing = /Cannot find (package|module) 'webgpu'/.test(msg);
    listing = { adapters: [], problems: [missing ? 'module webgpu not installed' : `loading Dawn (webgpu) failed: ${msg}`] };
    listings.set(coreOnly, listing);
    return listing;
  }
  const found: WebGpuAdapter[] = [];
  for (const b of dawnBackendsHere().filter((d) => !(coreOnly && d === 'opengles'))) {
    if (b === 'vulkan' && process.platform === 'linux' && !vulkanLoaderPresent()) {
      problems.push('vulkan: the Vulkan loader libvulkan.so.1 is not installed');
      continue;
    }
    const featureLevel = b === 'opengles' ? 'compatibility' : 'core';
    let before = found.length;
    try {
      const gpu = mod.create([`backend=${b}`]);
      instances.push(gpu);
      for (const powerPreference of ['high-performance', 'low-power'] as const) {
        const a = await gpu.requestAdapter({ featureLevel, powerPreference } as GPURequestAdapterOptions);
        if (!a) continue;
        const info = adapterInfo(a);
        const name = (info.device || info.description || `${info.vendor} ${info.architecture}`.trim() || 'unknown adapter').replace(/-+$/, '');
        const driver = info.description && info.description !== name ? info.description.replace(/^OpenGL version /, '') : '';
        if (found.some((f) => f.dawnBackend === b && f.name === name && f.driver === driver)) continue;
        found.push({
          index: -1,
          name,
          driver,
          vendor: info.vendor,
          dawnBackend: b,
          software: SOFTWARE.test(`${name} ${info.description} ${info.architecture}`) || info.isFallbackAdapter === true,
          featureLevel,
          maxBufferBytes: a.limits.maxBufferSize,
          maxStorageBufferBindingBytes: a.limits.maxStorageBufferBindingSize,
          handle: a,
        });
      }
    } catch (e) {
      problems.push(`${b}: ${errorText(e)}`);
      before = -1;
    }
    if (before === found.length) problems.push(`${b}: no adapter (no driver for it, or the driver lacks what WebGPU needs)`);
  }
  // Hardware before software, otherwise Dawn's order (vulkan before GL, high-performance first).
  const adapters = [...found.filter((a) => !a.software), ...found.filter((a) => a.software)].map((a, index) => ({ ...a, index }));
  listing = { adapters, problems };
  listings.set(coreOnly, listing);
  return listing;
}

/** One line for an adapter, e.g. '#0 llvmpipe-llvm-15-0-6-256-bits (opengles, OpenGL ES 3.2 Mesa 22.3.6, software)'. */
export function describeAdapter(a: Pick<WebGpuAdapter, 'index' | 'name' | 'dawnBackend' | 'driver' | 'software'>): string {
  return `#${a.index} ${a.name} (${[a.dawnBackend, a.driver, a.software ? 'software rasteriser' : 'hardware'].filter(Boolean).join(', ')})`;
}

/**
 * The adapter to use. `choice` (from --gpu-adapter) is an index into
 * the list or a case-insensitive part of the name, driver or Dawn backend. Without a choice:
 * the first hardware adapter, or — only when `allowSoftware` (webgpu asked for explicitly) —
 * the first software one. Returns the adapter or the reason there is none.
 */
export function pickAdapter(adapters: WebGpuAdapter[], choice: string | undefined, allowSoftware: boolean): WebGpuAdapter | string {
  const list = adapters.map(describeAdapter).join('; ') || 'none';
  if (choice !== undefined && choice !== '') {
    const q = choice.toLowerCase();
    // a number is an index, never part of a name ('5' would match 'llvm-15')
    const hit = /^\d+$/.test(choice) ? adapters[Number(choice)] : adapters.find((a) => `${a.name} ${a.driver} ${a.dawnBackend}`.toLowerCase().includes(q));
    if (!hit) throw new UserError(`--gpu-adapter '${choice}' matches no WebGPU adapter; the adapters here are: ${list}. Give an index or part of a name.`);
    return hit;
  }
  const hw = adapters.find((a) => !a.software);
  if (hw) return hw;
  const sw = adapters.find((a) => a.software);
  if (sw && allowSoftware) return sw;
  if (sw) return `only a software adapter (${sw.name}, a CPU rasteriser: a correctness path, not a fast one), which auto does not use; ask for it with --backend webgpu`;
  return allowSoftware ? 'no WebGPU adapter' : 'no hardware WebGPU adapter (auto never uses a software one such as llvmpipe: ask for that with --backend webgpu)';
}

/**
 * Memory a forward+backward may use on this adapter. WebGPU does not report a device's memory,
 * so: an NVIDIA GPU's total from nvidia-smi (60 %), a software adapter's half of free RAM,
 * otherwise 4 GB (any GPU Dawn runs on has at least that, and tfjs pages nothing out).
 */
export function adapterMemoryBudget(a: WebGpuAdapter): number {
  if (a.software) return Math.min(4000 * 2 ** 20, freemem() / 2);
  if (/nvidia/i.test(`${a.vendor} ${a.name}`)) {
    const smi = queryNvidiaSmi();
    const mib = smi.gpus.find((g) => a.name.includes(g.name) || g.name.includes(a.name))?.memoryMiB ?? smi.gpus[0]?.memoryMiB;
    if (mib) return mib * 2 ** 20 * 0.6;
  }
  return 4000 * 2 ** 20;
}

/** A tiny matmul and reduction, read back asynchronously (the only way on this backend). */
async function smokeTest(): Promise<void> {
  const s = tf.tidy(() => tf.sum(tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]))));
  const v = (await s.data())[0];
  s.dispose();
  if (v !== 134) throw new Error(`smoke test computed ${v} instead of 134`);
}

let registeredOn: WebGpuAdapter | null = null;

/**
 * tfjs's WebGPU AddN binds every input as one storage buffer, so summing more inputs than the
 * adapter's maxStorageBuffersPerShaderStage − 1 (e.g. the gradient norm over 28 tensors on an
 * adapter with 16) builds an invalid pipeline and silently returns garbage. This wraps it to sum
 * at most `maxInputs` at a time (tfjs's Concat already splits this way).
 */
function chunkAddN(maxInputs: number): void {
  const orig = tf.getKernel('AddN', 'webgpu');
  if (!orig || (orig.kernelFunc as { chunked?: boolean }).chunked) return;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    let xs = Object.values(inputs) as tf.TensorInfo[];
    const made: tf.TensorInfo[] = [];
    while (xs.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < xs.length; i += maxInputs) {
        const part = xs.slice(i, i + maxInputs);
        if (part.length === 1) next.push(part[0]!);
        else {
          const sum = orig.kernelFunc({ inputs: part as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
          made.push(sum);
          next.push(sum);
        }
      }
      xs = next;
    }
    const out = orig.kernelFunc({ inputs: xs as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    for (const t of made) (backend as tf.KernelBackend).disposeData(t.dataId);
    return out;
  };
  Object.assign(kernelFunc, { chunked: true });
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...orig, kernelFunc });
}

/**
 * A WebGPU validation or out-of-memory error means a kernel did not run and its output is
 * garbage; Dawn would only print it. Stop the process instead of training on wrong numbers.
 */
function failOnDeviceErrors(device: GPUDevice): void {
  device.onuncapturederror = (ev: Event) => {
    const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? String(ev);
    console.error(`error: the WebGPU device reported: ${msg.split('\n')[0]} — a kernel did not run, so the numbers would be wrong; stopping. ` +
      'Try another adapter (--gpu-adapter) or backend, and report this with the output of `chinchilla doctor`.');
    process.exit(70);
  };
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') {
      console.error(`error: the WebGPU device was lost (${info.message}); stopping.`);
      process.exit(70);
    }
  });
}

/** tfjs's WebGPUBackend refuses to start unless `navigator.gpu` exists (as in a browser). */
function exposeNavigatorGpu(a: WebGpuAdapter): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  const gpu = { requestAdapter: async () => a.handle, getPreferredCanvasFormat: () => 'rgba8unorm' };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
}

/**
 * Create a device on `a`, register tfjs's WebGPU backend on it as 'webgpu', make it the
 * active backend and check that it computes. Calling it again with the same adapter only
 * re-activates the backend.
 */
export async function activateWebGpu(a: WebGpuAdapter): Promise<void> {
  if (registeredOn !== a) {
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    const l = a.handle.limits;
    const device = await a.handle.requestDevice({
      requiredFeatures: (['timestamp-query'] as GPUFeatureName[]).filter((f) => a.handle.features.has(f)),
      // What tfjs's own registration asks for, plus the storage-buffer count: compatibility mode defaults to 4
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      },
    });
    exposeNavigatorGpu(a);
    failOnDeviceErrors(device);
    chunkAddN(l.maxStorageBuffersPerShaderStage - 1);
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapterInfo(a.handle) as unknown as GPUAdapterInfo), 0);
    registeredOn = a;
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  await smokeTest();
}
