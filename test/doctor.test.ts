import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseNvidiaSmiCsv } from '../src/gpu/nvidia-smi.ts';
import { expandDirPattern, findCudaLibraries, parseLdconfig, parseLibraryName } from '../src/gpu/libraries.ts';
import { compareVersions, diagnose, REQUIRED_LIBRARIES, TFJS_NODE_GPU_REQUIREMENTS, type CudaFacts } from '../src/gpu/cuda.ts';
import { checkNativePackage } from '../src/gpu/install.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import type { DoctorReport } from '../src/cli/commands/doctor.ts';

const T4 = { name: 'Tesla T4', memoryMiB: 15360, freeMiB: 15101, driver: '535.104.05' };

describe('TFJS_NODE_GPU_REQUIREMENTS', () => {
  it('names what libtensorflow 2.9.1 (tfjs-node-gpu 4.x) was built with', () => {
    expect(TFJS_NODE_GPU_REQUIREMENTS).toEqual({ cuda: '11.2', cudnn: '8.1.0', libtensorflow: '2.9.1' });
    // The table is for tfjs-node-gpu 4.x: bumping the major version means re-checking it.
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu']).toMatch(/^\^?4\./);
  });
  it('asks for the CUDA 11 / cuDNN 8 sonames', () => {
    const linux = Object.fromEntries(REQUIRED_LIBRARIES.map((r) => [r.family, r.linux]));
    expect(linux.libcudart).toBe('libcudart.so.11.0');
    expect(linux.libcudnn).toBe('libcudnn.so.8');
    expect(linux.libcublas).toBe('libcublas.so.11');
    expect(REQUIRED_LIBRARIES.find((r) => r.family === 'libcudart')!.windows).toBe('cudart64_110.dll');
  });
});

describe('parsers', () => {
  it('reads nvidia-smi CSV, one GPU per line; [N/A] becomes undefined', () => {
    const out = 'Tesla T4, 15360, 15101, 535.104.05\nNVIDIA A100-SXM4-40GB, [N/A], [N/A], 470.57.02\n\n';
    expect(parseNvidiaSmiCsv(out)).toEqual([T4, { name: 'NVIDIA A100-SXM4-40GB', driver: '470.57.02' }]);
    expect(parseNvidiaSmiCsv('')).toEqual([]);
  });

  it('reads ldconfig -p, skipping 32-bit entries on x64', () => {
    const out = [
      '1234 libs found in cache `/etc/ld.so.cache\'',
      '\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0',
      '\tlibcudnn.so.8 (libc6,x86-64, OS ABI: Linux 3.2.0) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8',
      '\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1',
    ].join('\n');
    expect(parseLdconfig(out, 'x64')).toEqual([
      { file: 'libcudart.so.11.0', path: '/usr/local/cuda-11.2/lib64/libcudart.so.11.0' },
      { file: 'libcudnn.so.8', path: '/usr/lib/x86_64-linux-gnu/libcudnn.so.8' },
    ]);
    expect(parseLdconfig(out, 'arm64')).toHaveLength(3);
  });

  it('recognises loader names of CUDA libraries only', () => {
    expect(parseLibraryName('libcudart.so.11.0')).toEqual({ family: 'libcudart', version: '11.0' });
    expect(parseLibraryName('libcublasLt.so.11')).toEqual({ family: 'libcublasLt', version: '11' });
    expect(parseLibraryName('libcudnn.so.8.1.1')).toEqual({ family: 'libcudnn', version: '8.1.1' });
    expect(parseLibraryName('libcudnn_ops_infer.so.8')).toBeNull();
    expect(parseLibraryName('libcudart.so')).toBeNull();
    expect(parseLibraryName('libcudart_static.a')).toBeNull();
    expect(parseLibraryName('cudart64_110.dll')).toEqual({ family: 'libcudart', version: '11.0' });
    expect(parseLibraryName('cudnn64_8.dll')).toEqual({ family: 'libcudnn', version: '8' });
    expect(parseLibraryName('cublasLt64_11.dll')).toEqual({ family: 'libcublasLt', version: '11' });
  });

  it('compares dotted versions numerically', () => {
    expect(compareVersions('450.80.02', '450.80.2')).toBe(0);
    expect(compareVersions('418.67', '450.80.02')).toBeLessThan(0);
    expect(compareVersions('535.104.05', '450.80.02')).toBeGreaterThan(0);
    expect(compareVersions('8.0.5', '8.1')).toBeLessThan(0);
    expect(compareVersions('8.9.7', '8.1')).toBeGreaterThan(0);
  });
});

/** A fake machine: CUDA 11.2 + cuDNN 8.1.1 under root/cuda-11.2/lib64 (links like the real packages), CUDA 13 elsewhere. */
function fakeCuda(root: string, o: { cudnn?: string; libcuda?: boolean } = {}): string {
  const lib = join(root, 'cuda-11.2', 'lib64');
  mkdirSync(lib, { recursive: true });
  const real: Record<string, string> = {
    'libcudart.so.11.0': 'libcudart.so.11.2.152',
    'libcublas.so.11': 'libcublas.so.11.4.1.1043',
    'libcublasLt.so.11': 'libcublasLt.so.11.4.1.1043',
    'libcufft.so.10': 'libcufft.so.10.4.1.152',
    'libcurand.so.10': 'libcurand.so.10.2.3.152',
    'libcusolver.so.11': 'libcusolver.so.11.1.0.152',
    'libcusparse.so.11': 'libcusparse.so.11.4.1.1152',
    'libcudnn.so.8': `libcudnn.so.${o.cudnn ?? '8.1.1'}`,
  };
  for (const [soname, file] of Object.entries(real)) {
    writeFileSync(join(lib, file), '');
    symlinkSync(file, join(lib, soname));
  }
  if (o.libcuda) {
    writeFileSync(join(lib, 'libcuda.so.535.104.05'), '');
    symlinkSync('libcuda.so.535.104.05', join(lib, 'libcuda.so.1'));
  }
  const lib13 = join(root, 'cuda-13.0', 'lib');
  mkdirSync(lib13, { recursive: true });
  writeFileSync(join(lib13, 'libcudart.so.13'), '');
  return lib;
}

describe('findCudaLibraries + diagnose on a fake machine', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'chinchilla-cuda-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds CUDA 11 off the loader path, says so, and gives the export line', () => {
    const dir = join(root, 'a');
    const lib = fakeCuda(dir);
    const cache = `\tlibcudart.so.13 (libc6,x86-64) => ${join(dir, 'cuda-13.0', 'lib', 'libcudart.so.13')}\n`;
    const libs = findCudaLibraries({
      platform: 'linux', arch: 'x64', ldconfig: cache, searchPath: '', systemDirs: [],
      scanPatterns: [join(dir, 'cuda-*/lib64')],
    });
    // 8 sonames from the scan + libcudart.so.13 from the cache; the fully versioned files are not loader names.
    expect(libs).toHaveLength(9);
    const cudart11 = libs.find((l) => l.file === 'libcudart.so.11.0')!;
    expect(cudart11).toMatchObject({ family: 'libcudart', version: '11.2.152', major: 11, visible: false, via: 'scan' });
    expect(libs.find((l) => l.file === 'libcudnn.so.8')!.version).toBe('8.1.1');
    expect(libs.find((l) => l.file === 'libcudart.so.13')).toMatchObject({ visible: true, via: 'ldconfig', major: 13 });

    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [T4] }, libraries: libs });
    expect(d.gpus).toEqual([T4]);
    expect(d.cudart).toBeNull(); // the loader would not find it
    expect(d.cudnn).toBeNull();
    expect(d.problems).toHaveLength(2); // hidden libraries; libcuda.so.1 missing
    expect(d.problems[0]).toContain('not on the dynamic loader');
    expect(d.problems[0]).toContain(lib);
    expect(d.fixes[0]).toContain(`export LD_LIBRARY_PATH=${lib}:$LD_LIBRARY_PATH`);
    expect(d.problems[1]).toContain('libcuda.so.1');
  });

  it('is happy once LD_LIBRARY_PATH names the folder and the driver library is there', () => {
    const dir = join(root, 'b');
    const lib = fakeCuda(dir, { libcuda: true });
    const libs = findCudaLibraries({ platform: 'linux', arch: 'x64', ldconfig: '', searchPath: lib, systemDirs: [], scanPatterns: [join(dir, 'cuda-*/lib64')] });
    expect(libs.filter((l) => l.visible).map((l) => l.via)).toEqual(Array(9).fill('LD_LIBRARY_PATH'));
    // the same files reached again through the scan are not listed twice
    expect(libs).toHaveLength(9);
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [T4] }, libraries: libs });
    expect(d).toEqual({ gpus: [T4], cudart: '11.2.152', cudnn: '8.1.1', problems: [], fixes: [] });
  });

  it('flags a cuDNN 8 older than the 8.1 TensorFlow 2.9 was built with', () => {
    const dir = join(root, 'c');
    const lib = fakeCuda(dir, { cudnn: '8.0.5', libcuda: true });
    const libs = findCudaLibraries({ platform: 'linux', arch: 'x64', ldconfig: '', searchPath: lib, systemDirs: [], scanPatterns: [] });
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [T4] }, libraries: libs });
    expect(d.cudnn).toBe('8.0.5');
    expect(d.problems).toEqual([expect.stringContaining('cuDNN 8.0.5 is older than 8.1.0')]);
  });

  it('expands * within folder names', () => {
    const dir = join(root, 'd');
    fakeCuda(dir);
    expect(expandDirPattern(join(dir, 'cuda-*/lib*'))).toEqual([join(dir, 'cuda-11.2', 'lib64'), join(dir, 'cuda-13.0', 'lib')]);
    expect(expandDirPattern(join(dir, 'nothing-*/lib'))).toEqual([]);
  });
});

describe('diagnose: the usual broken machines', () => {
  const cuda12: CudaFacts['libraries'] = [
    { family: 'libcudart', file: 'libcudart.so.12', version: '12.2.140', major: 12, path: '/usr/local/cuda-12.2/lib64/libcudart.so.12', visible: true, via: 'ldconfig' },
    { family: 'libcudnn', file: 'libcudnn.so.9', version: '9.1.0', major: 9, path: '/usr/lib/x86_64-linux-gnu/libcudnn.so.9', visible: true, via: 'ldconfig' },
    { family: 'libcuda', file: 'libcuda.so.1', version: '535.104.05', major: 1, path: '/usr/lib64-nvidia/libcuda.so.1', visible: true, via: 'ldconfig' },
  ];

  it('a CUDA 12 / cuDNN 9 machine (today\'s Colab): names what it found and what is needed', () => {
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [T4] }, libraries: cuda12 });
    expect(d.cudart).toBeNull();
    expect(d.cudnn).toBeNull();
    expect(d.problems).toHaveLength(3); // cudart, cudnn, the other CUDA 11 math libraries
    expect(d.problems[0]).toContain('libcudart.so.12 (CUDA 12.2.140)');
    expect(d.problems[0]).toContain('loads libcudart.so.11.0');
    expect(d.fixes[0]).toContain('nvidia-cudnn-cu11==8.6.0.163');
    expect(d.problems[1]).toContain('libcudnn.so.9 (cuDNN 9.1.0)');
    expect(d.problems[2]).toContain('libcusolver.so.11');
  });

  it('no driver at all: the GPU problem comes first and points at --gpus all / CPU backends', () => {
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: false, gpus: [] }, libraries: [] });
    expect(d.gpus).toEqual([]);
    expect(d.problems[0]).toContain('nvidia-smi is not on PATH');
    expect(d.fixes[0]).toContain("'--gpus all'");
    expect(d.fixes[0]).toContain('--backend wasm');
    expect(d.problems[1]).toContain('No CUDA runtime library found');
  });

  it('a driver older than CUDA 11 allows', () => {
    const old = { ...T4, driver: '418.67' };
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [old, old] }, libraries: cuda12 });
    expect(d.problems.filter((p) => p.includes('418.67'))).toEqual(['NVIDIA driver 418.67 is older than 450.80.02, the oldest that runs CUDA 11 applications.']);
  });

  it('nvidia-smi present but failing', () => {
    const msg = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    const d = diagnose({ platform: 'linux', arch: 'x64', smi: { found: true, gpus: [], error: msg }, libraries: cuda12 });
    expect(d.problems[0]).toContain(msg);
  });

  it('the no-GPU advice names only backends that work here (not tensorflow when it is not installed)', () => {
    const facts = { platform: 'linux' as const, arch: 'x64', smi: { found: false, gpus: [] }, libraries: [] };
    const d = diagnose(facts, ['wasm', 'cpu']);
    expect(d.fixes[0]).toContain('without a GPU, train with --backend wasm.');
    expect(d.fixes[0]).not.toContain('--backend tensorflow');
    expect(diagnose(facts, ['webgpu', 'tensorflow', 'wasm', 'cpu']).fixes[0]).toContain('--backend webgpu or --backend tensorflow or --backend wasm');
  });

  it('macOS / arm64: no GPU build exists', () => {
    const d = diagnose({ platform: 'darwin', arch: 'arm64', smi: { found: false, gpus: [] }, libraries: [] });
    expect(d.problems).toEqual(['tfjs-node-gpu 4.x has GPU builds only for Linux and Windows on x86-64; this machine is darwin/arm64.']);
  });
});

describe('checkNativePackage', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'chinchilla-pkg-'));
    writeFileSync(join(root, 'package.json'), '{"name":"x","version":"1.0.0"}');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports a missing package, then missing native parts, then all present', () => {
    const none = checkNativePackage('@tensorflow/tfjs-node-gpu', root);
    expect(none).toMatchObject({ installed: false, libtensorflow: null, binding: null });
    expect(none.fixes[0]).toContain('npm install @tensorflow/tfjs-node-gpu');

    const dir = join(root, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"@tensorflow/tfjs-node-gpu","version":"4.22.0","main":"index.js"}');
    const bare = checkNativePackage('@tensorflow/tfjs-node-gpu', root);
    expect(bare).toMatchObject({ installed: true, version: '4.22.0', libtensorflow: null, binding: null });
    expect(bare.problems[0]).toContain('libtensorflow (deps/lib) and the native addon');
    expect(bare.fixes[0]).toContain('npm rebuild @tensorflow/tfjs-node-gpu');

    mkdirSync(join(dir, 'deps', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'deps', 'lib', 'libtensorflow.so.2.9.1'), '');
    mkdirSync(join(dir, 'lib', 'napi-v8'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    const ok = checkNativePackage('@tensorflow/tfjs-node-gpu', root);
    expect(ok.problems).toEqual([]);
    expect(ok.libtensorflow).toBe(join(dir, 'deps', 'lib', 'libtensorflow.so.2.9.1'));
    expect(ok.binding).toBe(join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'));
  });
});

describe('chinchilla doctor (the CLI, on this machine)', () => {
  it('--json: exits 0 and reports wasm working and tensorflow-gpu not, with a reason', () => {
    const r = spawnSync(process.execPath, ['bin/chinchilla.js', 'doctor', '--json'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as DoctorReport;
    expect(rep.node.version).toBe(process.version);
    expect(rep.node.ok).toBe(Number(process.versions.node.split('.')[0]) >= 20);
    expect(rep.backends.map((b) => b.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    const by = Object.fromEntries(rep.backends.map((b) => [b.backend, b]));
    expect(by.wasm!.ok).toBe(true);
    expect(by.cpu!.ok).toBe(true);
    expect(by['tensorflow-gpu']!.ok).toBe(false);
    expect(by['tensorflow-gpu']!.reason.length).toBeGreaterThan(10);
    expect(rep.gpu.tfjs.loaded).toBe(false);
    expect(rep.cuda.required).toEqual(TFJS_NODE_GPU_REQUIREMENTS);
    expect(rep.cuda.needed.map((n) => n.file)).toEqual(REQUIRED_LIBRARIES.map((l) => l.linux));
    expect(rep.memory.totalBytes).toBe(totalmem());
    expect(rep.memory.freeBytes).toBeGreaterThan(0);
    expect(rep.disk.map((d) => d.what)).toEqual(['runs', 'data']);
    for (const d of rep.disk) expect(d.freeBytes).toBeGreaterThan(0);
    // Every problem comes with a fix.
    expect(rep.problems.length).toBeGreaterThan(0);
    for (const p of rep.problems) expect(p.fix.length).toBeGreaterThan(0);
    expect(rep.problems.some((p) => p.area === 'gpu')).toBe(true);
  });

  it('lists the WebGPU adapters; a software one (llvmpipe) is marked and auto does not use it', () => {
    const r = spawnSync(process.execPath, ['bin/chinchilla.js', 'doctor', '--json'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 });
    const rep = JSON.parse(r.stdout) as DoctorReport;
    const sw = rep.gpu.webgpu.adapters.filter((a) => a.software);
    if (!rep.backends.find((b) => b.backend === 'tensorflow')!.ok) {
      // issue 14: the advice must not send the user to a backend that is not installed
      for (const p of rep.problems) expect(p.fix).not.toMatch(/train with --backend tensorflow\b/);
    }
    if (sw.length === 0) return; // no Mesa here: nothing more to check
    expect(sw.every((a) => !a.usedByAuto)).toBe(true);
    expect(sw[0]!.name).toMatch(/llvmpipe|swiftshader|lavapipe/i);
    const text = spawnSync(process.execPath, ['bin/chinchilla.js', 'doctor'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 }).stdout;
    expect(text).toMatch(/WebGPU adapters[^\n]*\n  #\d+ .*software rasteriser\).*auto will not use it/);
  });

  it('prints a readable report and exits 0 without a GPU', () => {
    const r = spawnSync(process.execPath, ['bin/chinchilla.js', 'doctor'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('✓ wasm');
    expect(r.stdout).toContain('✗ tensorflow-gpu');
    expect(r.stdout).toMatch(/libcudart\.so\.11\.0 +CUDA 11 runtime/);
    expect(r.stdout).toContain('Problems and what to do');
  });
});
