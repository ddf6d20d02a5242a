import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { existsSync, statfsSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, probeBackends, type BackendAttempt } from '../../backend.ts';
import {
  REQUIRED_LIBRARIES,
  TFJS_NODE_GPU_REQUIREMENTS,
  collectCudaFacts,
  diagnose,
  type FoundLibrary,
  type GpuInfo,
} from '../../gpu/cuda.ts';
import { checkNativePackage, GPU_PACKAGE, type NativePackageCheck } from '../../gpu/install.ts';
import { describeAdapter, listAdapters, type DawnBackend } from '../../gpu/webgpu.ts';
import { dataRoot } from '../../util/paths.ts';

/** Node major version the project needs (package.json engines). */
const NODE_MAJOR_REQUIRED = 20;
/** Below these we warn: a 25M-parameter run plus tfjs needs a few GiB; a sweep writes checkpoints. */
const LOW_MEMORY_BYTES = 2 * 1024 ** 3;
const LOW_DISK_BYTES = 2 * 1024 ** 3;

export type ProblemArea = 'node' | 'backend' | 'gpu' | 'memory' | 'disk';
export interface DoctorProblem {
  area: ProblemArea;
  problem: string;
  fix: string;
}

export interface DiskSpace {
  /** 'runs' or 'data'. */
  what: string;
  path: string;
  /** The existing folder actually measured (the path itself or its nearest existing parent). */
  measured: string;
  freeBytes: number | null;
  totalBytes: number | null;
}

export interface DoctorReport {
  node: { version: string; platform: string; arch: string; required: string; ok: boolean };
  backends: BackendAttempt[];
  gpu: {
    /** What tfjs-node-gpu (libtensorflow) itself sees. */
    tfjs: {
      package: NativePackageCheck;
      /** The tensorflow-gpu backend loaded and ran a test op. */
      loaded: boolean;
      /** TensorFlow placed ops on a CUDA device (NodeJSKernelBackend.isUsingGpuDevice); null when not loaded. */
      usingGpu: boolean | null;
      device: string | null;
    };
    /** What the NVIDIA driver reports. */
    nvidiaSmi: { found: boolean; error?: string; gpus: GpuInfo[] };
    /** Dawn's adapters for the webgpu backend (hardware first) and why a Dawn backend offered none. */
    webgpu: {
      adapters: { index: number; name: string; driver: string; dawnBackend: DawnBackend; software: boolean; usedByAuto: boolean }[];
      problems: string[];
    };
  };
  cuda: {
    required: { cuda: string; cudnn: string; libtensorflow: string };
    /** Versions the loader would open (null = none). */
    cudart: string | null;
    cudnn: string | null;
    /** Each library tfjs-node-gpu needs, and what was found under that name. */
    needed: { file: string; what: string; found: string | null; path: string | null }[];
    /** Every CUDA/cuDNN library seen, including other versions and folders off the loader path. */
    libraries: FoundLibrary[];
  };
  memory: {
    freeBytes: number;
    totalBytes: number;
    /** cgroup limit of this process (containers), when there is one below the machine's memory. */
    limitBytes: number | null;
    gpus: { name: string; totalMiB: number | null; freeMiB: number | null }[];
  };
  disk: DiskSpace[];
  problems: DoctorProblem[];
}

function diskSpace(what: string, path: string): DiskSpace {
  let measured = path;
  while (!existsSync(measured) && dirname(measured) !== measured) measured = dirname(measured);
  try {
    const s = statfsSync(measured);
    return { what, path, measured, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { what, path, measured, freeBytes: null, totalBytes: null };
  }
}

/** Route console.log/info to stderr while `fn` runs, so --json output on stdout stays parseable. */
async function withQuietStdout<T>(quiet: boolean, fn: () => Promise<T>): Promise<T> {
  if (!quiet) return fn();
  const { log, info, debug } = console;
  const toErr = (...a: unknown[]) => console.error(...a);
  console.log = console.info = console.debug = toErr;
  try {
    return await fn();
  } finally {
    Object.assign(console, { log, info, debug });
  }
}

/** Try the tensorflow-gpu backend for real and ask TensorFlow whether it got a CUDA device. */
async function tfjsGpuView(attempts: BackendAttempt[]): Promise<{ loaded: boolean; usingGpu: boolean | null; device: string | null }> {
  const a = attempts.find((x) => x.backend === 'tensorflow-gpu');
  if (!a?.ok) return { loaded: false, usingGpu: null, device: null };
  try {
    const info = await initBackend('tensorflow-gpu', { quiet: true });
    const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    return { loaded: true, usingGpu: typeof b.isUsingGpuDevice === 'boolean' ? b.isUsingGpuDevice : null, device: info.device };
  } catch (e) {
    return { loaded: false, usingGpu: null, device: `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
}

/** Gather the whole report. Each part is guarded: a failing check becomes a problem, never a crash. */
export async function collectDoctorReport(o: { quiet?: boolean } = {}): Promise<DoctorReport> {
  const problems: DoctorProblem[] = [];
  const add = (area: ProblemArea, problem: string, fix: string) => problems.push({ area, problem, fix });

  // Node.js
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const node = {
    version: process.version,
    platform: process.platform,
    arch: process.arch,
    required: `>=${NODE_MAJOR_REQUIRED}`,
    ok: nodeMajor >= NODE_MAJOR_REQUIRED,
  };
  if (!node.ok) add('node', `Node.js ${process.version} is older than ${NODE_MAJOR_REQUIRED}.`, `Install Node.js ${NODE_MAJOR_REQUIRED} LTS (https://nodejs.org).`);

  // Backends
  let backends: BackendAttempt[] = [];
  try {
    backends = await withQuietStdout(!!o.quiet, () => probeBackends());
  } catch (e) {
    add('backend', `Probing the backends failed: ${e instanceof Error ? e.message : String(e)}.`, "Reinstall dependencies with 'npm ci'.");
  }
  if (backends.length > 0 && !backends.some((b) => b.ok)) {
    add('backend', 'No tfjs backend could run.', "Reinstall dependencies with 'npm ci'.");
  }
  for (const b of backends) {
    if (!b.ok && (b.backend === 'wasm' || b.backend === 'cpu')) add('backend', `The ${b.backend} backend does not run: ${b.reason}.`, b.fix ?? "Reinstall dependencies with 'npm ci'.");
  }

  // GPU, CUDA and the tfjs-node-gpu package
  const pkg = checkNativePackage(GPU_PACKAGE);
  const tfjsView = await withQuietStdout(!!o.quiet, () => tfjsGpuView(backends));
  const facts = collectCudaFacts();
  const diag = diagnose(facts, backends.filter((b) => b.ok).map((b) => b.backend));
  const wg = await listAdapters();
  const firstHw = wg.adapters.find((a) => !a.software);
  const webgpu = {
    adapters: wg.adapters.map((a) => ({ index: a.index, name: a.name, driver: a.driver, dawnBackend: a.dawnBackend, software: a.software, usedByAuto: a === firstHw })),
    problems: wg.problems,
  };
  for (let i = 0; i < pkg.problems.length; i++) add('gpu', pkg.problems[i]!, pkg.fixes[i] ?? '');
  if (tfjsView.loaded && tfjsView.usingGpu === false) {
    add(
      'gpu',
      'tfjs-node-gpu loaded, but TensorFlow found no usable CUDA device and runs on the CPU.',
      'Fix the CUDA problems listed here (TensorFlow prints which library it could not open when it starts; run with TF_CPP_MIN_LOG_LEVEL=0 to see it).',
    );
  }
  // When TensorFlow really uses the GPU, library-scan findings are at most curiosities.
  if (tfjsView.usingGpu !== true) for (let i = 0; i < diag.problems.length; i++) add('gpu', diag.problems[i]!, diag.fixes[i] ?? '');

  const win = process.platform === 'win32';
  const needed = REQUIRED_LIBRARIES.map((r) => {
    const file = win ? r.windows : r.linux;
    const hit = facts.libraries.find((l) => l.visible && l.file === file) ?? facts.libraries.find((l) => l.file === file);
    return { file, what: r.what, found: hit ? hit.version + (hit.visible ? '' : ' (not on loader path)') : null, path: hit ? hit.path : null };
  });

  // Memory
  const total = totalmem();
  let limit: number | null = null;
  try {
    const c = (process as unknown as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
    if (c && c > 0 && c < total) limit = c;
  } catch {
    // not available
  }
  const memory = {
    freeBytes: freemem(),
    totalBytes: total,
    limitBytes: limit,
    gpus: facts.smi.gpus.map((g) => ({ name: g.name, totalMiB: g.memoryMiB ?? null, freeMiB: g.freeMiB ?? null })),
  };
  if (memory.freeBytes < LOW_MEMORY_BYTES) {
    add('memory', `Only ${gib(memory.freeBytes)} of RAM is free.`, 'Close other programs, or lower --memory-budget-mb / use a smaller model preset.');
  }

  // Disk
  const disk = [diskSpace('runs', resolve('runs')), diskSpace('data', dataRoot())];
  for (const d of disk) {
    if (d.freeBytes !== null && d.freeBytes < LOW_DISK_BYTES) {
      add('disk', `Only ${gib(d.freeBytes)} free for ${d.what}/ (${d.measured}).`, `Free some space there, or point ${d.what === 'data' ? 'CHINCHILLA_DATA_ROOT' : 'the sweep output (--out)'} at a larger disk.`);
    }
  }

  return {
    node,
    backends,
    gpu: {
      tfjs: { package: pkg, ...tfjsView },
      nvidiaSmi: { found: facts.smi.found, ...(facts.smi.error ? { error: facts.smi.error } : {}), gpus: facts.smi.gpus },
      webgpu,
    },
    cuda: { required: { ...TFJS_NODE_GPU_REQUIREMENTS }, cudart: diag.cudart, cudnn: diag.cudnn, needed, libraries: facts.libraries },
    memory,
    disk,
    problems,
  };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** The report as text for a terminal. */
export function formatDoctorReport(r: DoctorReport): string {
  const L: string[] = [];
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  L.push('chinchilla doctor', '');
  L.push(`Node.js   ${mark(r.node.ok)} ${r.node.version} on ${r.node.platform}/${r.node.arch} (needs ${r.node.required})`, '');

  L.push('Backends (auto picks the first that works, top to bottom)');
  for (const b of r.backends) L.push(`  ${mark(b.ok)} ${b.backend.padEnd(15)}${b.reason}`);
  if (r.backends.length === 0) L.push('  (could not probe)');
  L.push('');

  L.push('GPU');
  const p = r.gpu.tfjs.package;
  const pkgLine = !p.installed
    ? 'not installed'
    : `${p.version ?? '?'} installed; libtensorflow ${p.libtensorflow ? 'present' : 'MISSING'}; native addon ${p.binding ? 'present' : 'MISSING'}`;
  L.push(`  ${GPU_PACKAGE}: ${pkgLine}`);
  const t = r.gpu.tfjs;
  L.push(
    `  TensorFlow (tfjs-node-gpu) sees: ${
      !t.loaded ? 'nothing (backend not loaded)' : t.usingGpu === true ? `a CUDA GPU: ${t.device ?? ''}` : t.usingGpu === false ? 'no CUDA device, CPU only' : (t.device ?? 'unknown')
    }`,
  );
  const smi = r.gpu.nvidiaSmi;
  if (!smi.found) L.push('  nvidia-smi: not found (no NVIDIA driver on this machine/container)');
  else if (smi.error) L.push(`  nvidia-smi: fails: ${smi.error}`);
  else if (smi.gpus.length === 0) L.push('  nvidia-smi: no GPU listed');
  for (const g of smi.gpus) {
    L.push(
      `  nvidia-smi: ${g.name}` +
        (g.memoryMiB !== undefined ? `, ${g.memoryMiB} MiB` : '') +
        (g.freeMiB !== undefined ? ` (${g.freeMiB} MiB free)` : '') +
        (g.driver ? `, driver ${g.driver}` : ''),
    );
  }
  L.push('');

  L.push('WebGPU adapters (Dawn, for --backend webgpu; --gpu-adapter <index|name> picks one)');
  for (const a of r.gpu.webgpu.adapters) {
    const use = a.software
      ? 'auto will not use it (it runs on the CPU); --backend webgpu will'
      : a.usedByAuto
        ? 'auto uses this one'
        : 'used with --gpu-adapter ' + a.index;
    L.push(`  ${describeAdapter(a)}  ${use}`);
  }
  if (r.gpu.webgpu.adapters.length === 0) L.push('  none');
  for (const p of r.gpu.webgpu.problems) L.push(`  (${p})`);
  L.push('');

  const q = r.cuda.required;
  L.push(`CUDA libraries (tfjs-node-gpu 4.x = libtensorflow ${q.libtensorflow}: needs CUDA ${q.cuda} (any 11.x), cuDNN ${q.cudnn} (8.x))`);
  for (const n of r.cuda.needed) {
    const ok = n.found !== null && !n.found.includes('not on loader path');
    L.push(`  ${mark(ok)} ${n.file.padEnd(20)}${n.what.padEnd(22)}${n.found ? `${n.found}  ${n.path}` : 'not found'}`);
  }
  const others = r.cuda.libraries.filter((l) => (l.family === 'libcudart' && l.major !== 11) || (l.family === 'libcudnn' && l.major !== 8));
  if (others.length) {
    L.push('  other versions seen (tfjs-node-gpu 4.x cannot use these):');
    for (const l of others) L.push(`    ${l.file} ${l.version}  ${l.path}${l.visible ? '' : ' (not on loader path)'}`);
  }
  L.push('');

  const m = r.memory;
  L.push(
    `Memory    ${gib(m.freeBytes)} free of ${gib(m.totalBytes)}` +
      (m.limitBytes !== null ? ` (this process is limited to ${gib(m.limitBytes)})` : '') +
      m.gpus.map((g) => `; GPU ${g.name}: ${g.freeMiB ?? '?'} of ${g.totalMiB ?? '?'} MiB free`).join(''),
  );
  for (const d of r.disk) {
    L.push(
      `Disk      ${(d.what + '/').padEnd(6)}${d.freeBytes !== null ? `${gib(d.freeBytes)} free of ${gib(d.totalBytes ?? 0)}` : 'unknown'} (${d.path}${d.measured !== d.path ? `, not created yet: measured ${d.measured}` : ''})`,
    );
  }
  L.push('');

  if (r.problems.length === 0) {
    L.push('No problems found.');
  } else {
    L.push('Problems and what to do');
    const areas: [ProblemArea, string][] = [
      ['node', 'Node.js'],
      ['backend', 'Backends'],
      ['memory', 'Memory'],
      ['disk', 'Disk'],
      ['gpu', 'GPU (only matters for --backend tensorflow-gpu)'],
    ];
    let i = 1;
    for (const [area, title] of areas) {
      const ps = r.problems.filter((x) => x.area === area);
      if (!ps.length) continue;
      L.push(`  ${title}:`);
      for (const x of ps) {
        L.push(`  ${i++}. ${x.problem}`);
        if (x.fix) L.push(`     → ${x.fix}`);
      }
    }
  }
  return L.join('\n') + '\n';
}

type Args = { json: boolean };

const command: CommandModule<object, Args> = {
  command: 'doctor',
  describe: 'check this machine: Node, backends, GPU/CUDA/cuDNN for tfjs-node-gpu, memory and disk, and what to fix',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON on stdout (machine-readable)' })
      .example('$0 doctor', 'human-readable report')
      .example('$0 doctor --json', 'the same as JSON'),
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    // A report, not a gate: always exit 0, even when the GPU is missing.
    const report = await collectDoctorReport({ quiet: argv.json });
    process.stdout.write(argv.json ? JSON.stringify(report, null, 2) + '\n' : formatDoctorReport(report));
  },
};
export default command;
