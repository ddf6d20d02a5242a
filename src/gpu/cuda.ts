/**
 * What the GPU build of TensorFlow.js for Node needs, what this machine has, and
 * what to do about the difference.
 *
 * Sources for the requirement:
 *  - @tensorflow/tfjs-node-gpu 4.22.0, scripts/deps-constants.js: LIBTENSORFLOW_VERSION = '2.9.1'
 *    (its install script downloads libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz).
 *  - tfjs-node README (github.com/tensorflow/tfjs/tree/master/tfjs-node): "Linux GPU (Ubuntu 14.04 or
 *    higher and Cuda 11.2 w/ CUDNN v8)"; table: NVIDIA GPU drivers >450.x, CUDA Toolkit 11.2, cuDNN SDK
 *    8.1.0; restated by the maintainers in tensorflow/tfjs#8362 (2024) for tfjs-node-gpu 4.x.
 *  - TensorFlow 2.9's tested build configuration is CUDA 11.2 + cuDNN 8.1, and its loader dlopen()s
 *    CUDA 11 sonames: 'Could not load dynamic library libcudart.so.11.0' (tensorflow/tfjs#8362,
 *    tensorflow/tensorflow#74459 with tfjs-node-gpu) and 'libcudnn.so.8' (tensorflow/tfjs#8269, 4.19.0).
 * Any CUDA 11.x ≥ 11.2 provides those sonames (libcudart.so.11.0 is the soname of every 11.x runtime);
 * CUDA 12 and cuDNN 9 do not, so a machine with only those cannot run tfjs-node-gpu 4.x on the GPU.
 */
import { queryNvidiaSmi, type GpuInfo, type NvidiaSmiResult } from './nvidia-smi.ts';
import { findCudaLibraries, libraryDir, type FoundLibrary } from './libraries.ts';

export type { GpuInfo, NvidiaSmiResult } from './nvidia-smi.ts';
export type { FoundLibrary } from './libraries.ts';

export const TFJS_NODE_GPU_REQUIREMENTS: { readonly cuda: string; readonly cudnn: string; readonly libtensorflow: string } =
  Object.freeze({ cuda: '11.2', cudnn: '8.1.0', libtensorflow: '2.9.1' });

/** Oldest NVIDIA driver that runs CUDA 11.x applications (CUDA minor-version compatibility). */
export const MIN_DRIVER = { linux: '450.80.02', win32: '452.39' } as const;

/** The libraries libtensorflow 2.9 (CUDA 11.2 build) opens, under the names it asks for. */
export interface RequiredLibrary {
  family: string;
  linux: string;
  windows: string;
  what: string;
}
export const REQUIRED_LIBRARIES: readonly RequiredLibrary[] = [
  { family: 'libcudart', linux: 'libcudart.so.11.0', windows: 'cudart64_110.dll', what: 'CUDA 11 runtime' },
  { family: 'libcublas', linux: 'libcublas.so.11', windows: 'cublas64_11.dll', what: 'cuBLAS 11' },
  { family: 'libcublasLt', linux: 'libcublasLt.so.11', windows: 'cublasLt64_11.dll', what: 'cuBLASLt 11' },
  { family: 'libcufft', linux: 'libcufft.so.10', windows: 'cufft64_10.dll', what: 'cuFFT 10 (CUDA 11)' },
  { family: 'libcurand', linux: 'libcurand.so.10', windows: 'curand64_10.dll', what: 'cuRAND 10 (CUDA 11)' },
  { family: 'libcusolver', linux: 'libcusolver.so.11', windows: 'cusolver64_11.dll', what: 'cuSOLVER 11' },
  { family: 'libcusparse', linux: 'libcusparse.so.11', windows: 'cusparse64_11.dll', what: 'cuSPARSE 11' },
  { family: 'libcudnn', linux: 'libcudnn.so.8', windows: 'cudnn64_8.dll', what: 'cuDNN 8' },
];

export interface CudaDiagnosis {
  /** GPUs the NVIDIA driver reports (nvidia-smi); empty when there is none or no driver. */
  gpus: GpuInfo[];
  /** Version of the CUDA 11 runtime (libcudart.so.11.0) the loader would use, e.g. '11.2.152'; null if none. */
  cudart: string | null;
  /** Version of the cuDNN 8 library (libcudnn.so.8) the loader would use, e.g. '8.1.1'; null if none. */
  cudnn: string | null;
  /** What stands between this machine and tfjs-node-gpu on the GPU, as sentences. Empty = nothing found. */
  problems: string[];
  /** What to do, as sentences, in the order of the problems. */
  fixes: string[];
}

/** Everything diagnose() looks at; gathered by collectCudaFacts() or made up by tests. */
export interface CudaFacts {
  platform: NodeJS.Platform;
  arch: string;
  smi: NvidiaSmiResult;
  libraries: FoundLibrary[];
}

/** Compare dotted versions numerically: '450.80.02' vs '460.27.03' -> negative. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Look at this machine. Never throws. */
export function collectCudaFacts(): CudaFacts {
  let smi: NvidiaSmiResult = { found: false, gpus: [] };
  let libraries: FoundLibrary[] = [];
  try {
    smi = queryNvidiaSmi();
  } catch {
    // keep the empty result
  }
  try {
    libraries = findCudaLibraries();
  } catch {
    // keep the empty list
  }
  return { platform: process.platform, arch: process.arch, smi, libraries };
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** How to install the CUDA 11 + cuDNN 8 user-space libraries next to whatever is there. */
export function installCuda11Hint(platform: NodeJS.Platform): string {
  if (platform === 'win32') {
    return (
      `Install CUDA Toolkit ${TFJS_NODE_GPU_REQUIREMENTS.cuda} and cuDNN ${TFJS_NODE_GPU_REQUIREMENTS.cudnn} for CUDA 11 ` +
      `(it installs next to newer CUDA versions) and put their bin folders on PATH`
    );
  }
  return (
    `Install the CUDA 11 user-space libraries next to any newer CUDA (they coexist; the driver stays): ` +
    `either from NVIDIA's apt repository ('sudo apt-get install cuda-libraries-11-8' plus a libcudnn8 build whose ` +
    `version ends in +cuda11.x, see 'apt-cache madison libcudnn8'), or with pip ('pip install nvidia-cuda-runtime-cu11 ` +
    `nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 nvidia-cusolver-cu11 nvidia-cusparse-cu11 ` +
    `nvidia-cudnn-cu11==8.6.0.163') and add each site-packages/nvidia/*/lib folder to LD_LIBRARY_PATH; ` +
    `or run in the project's Docker image (CUDA ${TFJS_NODE_GPU_REQUIREMENTS.cuda} + cuDNN 8.1, see Dockerfile)`
  );
}

/**
 * Turn facts into problems and fixes. Pure: the same facts give the same sentences.
 * The cudart/cudnn fields name what the dynamic loader would actually open.
 */
export function diagnose(f: CudaFacts, workingBackends?: readonly string[]): CudaDiagnosis {
  const problems: string[] = [];
  const fixes: string[] = [];
  const problem = (p: string, fix: string) => {
    problems.push(p);
    fixes.push(fix);
  };
  const win = f.platform === 'win32';
  const req = TFJS_NODE_GPU_REQUIREMENTS;
  // Name only backends that work here (doctor knows them); without that knowledge, say what tensorflow needs.
  const alternatives = workingBackends?.filter((b) => b !== 'tensorflow-gpu' && b !== 'cpu') ?? [];
  const noGpuAlternative = workingBackends
    ? `without a GPU, train with ${alternatives.length ? alternatives.map((b) => `--backend ${b}`).join(' or ') : '--backend cpu'}`
    : "without a GPU, train with --backend wasm (or --backend tensorflow once 'npm install @tensorflow/tfjs-node' has succeeded)";

  // 1. Platform: libtensorflow GPU builds exist for Linux x86-64 and Windows x86-64 only.
  const supported = (f.platform === 'linux' || f.platform === 'win32') && f.arch === 'x64';
  if (!supported) {
    problem(
      `tfjs-node-gpu 4.x has GPU builds only for Linux and Windows on x86-64; this machine is ${f.platform}/${f.arch}.`,
      `Run on a Linux x86-64 machine with an NVIDIA GPU (a cloud VM, Colab, or the Docker image); here, ${noGpuAlternative}.`,
    );
  }

  // 2. The driver's view of the GPU.
  const gpus = f.smi.gpus;
  if (supported) {
    if (!f.smi.found) {
      problem(
        'No NVIDIA GPU visible: nvidia-smi is not on PATH (no NVIDIA GPU or driver here, or a container started without GPU access).',
        `On a GPU machine install the NVIDIA driver (${win ? MIN_DRIVER.win32 : MIN_DRIVER.linux} or newer); in Docker run with ` +
          `'--gpus all' (needs the NVIDIA Container Toolkit); on Colab choose Runtime > Change runtime type > T4 GPU; ${noGpuAlternative}.`,
      );
    } else if (f.smi.error) {
      problem(
        `nvidia-smi is installed but fails: "${f.smi.error}".`,
        'The NVIDIA kernel driver is not loaded or does not match its user-space part: reboot after a driver install or upgrade, or reinstall the driver.',
      );
    } else if (gpus.length === 0) {
      problem('nvidia-smi runs but lists no GPU.', `Check that the GPU is attached to this machine or container (e.g. '--gpus all'); ${noGpuAlternative}.`);
    }
    const minDriver = win ? MIN_DRIVER.win32 : MIN_DRIVER.linux;
    const old = uniq(gpus.filter((g) => g.driver && compareVersions(g.driver, minDriver) < 0).map((g) => g.driver!));
    for (const d of old) {
      problem(
        `NVIDIA driver ${d} is older than ${minDriver}, the oldest that runs CUDA 11 applications.`,
        `Upgrade the NVIDIA driver (any ${minDriver} or newer; newer drivers run CUDA ${req.cuda} applications too).`,
      );
    }
  }

  // 3. The libraries libtensorflow dlopen()s.
  const libs = f.libraries;
  const visibleByName = (name: string) => libs.filter((l) => l.visible && l.file === name);
  const reqName = (r: RequiredLibrary) => (win ? r.windows : r.linux);
  const cudartReq = REQUIRED_LIBRARIES.find((r) => r.family === 'libcudart')!;
  const cudnnReq = REQUIRED_LIBRARIES.find((r) => r.family === 'libcudnn')!;
  const cudartHit = visibleByName(reqName(cudartReq))[0];
  const cudnnHit = visibleByName(reqName(cudnnReq))[0];
  const cudart = cudartHit ? cudartHit.version : null;
  const cudnn = cudnnHit ? cudnnHit.version : null;

  if (supported) {
    const pathVar = win ? 'PATH' : 'LD_LIBRARY_PATH';
    const missing = REQUIRED_LIBRARIES.filter((r) => visibleByName(reqName(r)).length === 0);
    // 3a. Present under the right name but in a folder the loader does not search.
    const hidden = missing
      .map((r) => libs.find((l) => !l.visible && l.file === reqName(r)))
      .filter((l): l is FoundLibrary => l !== undefined);
    const hiddenDirs = uniq(hidden.map(libraryDir));
    if (hidden.length > 0) {
      problem(
        `${hidden.map((l) => l.file).join(', ')} ${hidden.length === 1 ? 'is' : 'are'} installed (in ${hiddenDirs.join(', ')}) ` +
          `but not on the dynamic loader's search path, so tfjs-node-gpu will not find ${hidden.length === 1 ? 'it' : 'them'}.`,
        win
          ? `Add ${hiddenDirs.join(';')} to PATH.`
          : `Run 'export LD_LIBRARY_PATH=${hiddenDirs.join(':')}:$LD_LIBRARY_PATH' before chinchilla (or list the folders in /etc/ld.so.conf.d/cuda-11.conf and run 'sudo ldconfig').`,
      );
    }
    const absent = missing.filter((r) => !hidden.some((h) => h.family === r.family));
    // 3b. The CUDA 11 runtime is absent: say which other CUDA runtimes are here.
    if (absent.some((r) => r.family === 'libcudart')) {
      const others = libs.filter((l) => l.family === 'libcudart' && l.major !== 11);
      const seen = uniq(others.map((l) => `${l.file} (CUDA ${l.version}) in ${libraryDir(l)}`));
      problem(
        (seen.length
          ? `Found only other CUDA runtimes: ${seen.join('; ')}. `
          : `No CUDA runtime library found. `) +
          `tfjs-node-gpu 4.x (libtensorflow ${req.libtensorflow}) loads ${reqName(cudartReq)}, i.e. CUDA 11.x (built against ${req.cuda}); CUDA 12 and newer cannot stand in for it.`,
        installCuda11Hint(f.platform) + '.',
      );
    }
    // 3c. cuDNN 8 absent.
    if (absent.some((r) => r.family === 'libcudnn')) {
      const others = libs.filter((l) => l.family === 'libcudnn' && l.major !== 8);
      const seen = uniq(others.map((l) => `${l.file} (cuDNN ${l.version}) in ${libraryDir(l)}`));
      problem(
        (seen.length ? `Found only other cuDNN versions: ${seen.join('; ')}. ` : 'No cuDNN library found. ') +
          `tfjs-node-gpu 4.x loads ${reqName(cudnnReq)} (cuDNN 8, ${req.cudnn} or a later 8.x); cuDNN 9 cannot stand in for it.`,
        absent.some((r) => r.family === 'libcudart')
          ? 'Install cuDNN 8 for CUDA 11 together with the CUDA 11 libraries (see the previous fix).'
          : `Install cuDNN 8 for CUDA 11: ${win ? 'copy cuDNN 8.x for CUDA 11 into the CUDA bin folder' : "'pip install nvidia-cudnn-cu11==8.6.0.163' and add its nvidia/cudnn/lib folder to LD_LIBRARY_PATH, or apt-get install a libcudnn8 build ending in +cuda11.x"}.`,
      );
    }
    // 3d. The rest of the CUDA 11 math libraries.
    const rest = absent.filter((r) => r.family !== 'libcudart' && r.family !== 'libcudnn');
    if (rest.length > 0) {
      problem(
        `Missing CUDA 11 libraries that TensorFlow opens at start-up: ${rest.map((r) => `${reqName(r)} (${r.what})`).join(', ')}; without them it skips the GPU ("Cannot dlopen some GPU libraries").`,
        absent.some((r) => r.family === 'libcudart')
          ? 'They come with the CUDA 11 libraries (see the fix above).'
          : win
            ? `Install the full CUDA Toolkit ${req.cuda} and put its bin folder on PATH.`
            : `Install them from the same CUDA 11 release as ${reqName(cudartReq)} ('sudo apt-get install cuda-libraries-11-X' for CUDA 11.X, or the matching nvidia-*-cu11 pip wheels) and make them visible on ${pathVar}.`,
      );
    }
    // 3e. cuDNN 8 older than the 8.1 TensorFlow 2.9 was built against: it refuses to use it.
    if (cudnn && cudnn.split('.').length >= 2 && compareVersions(cudnn, '8.1') < 0) {
      problem(
        `cuDNN ${cudnn} is older than ${req.cudnn}; TensorFlow ${req.libtensorflow} needs the same major version and at least the minor version it was built with.`,
        `Install cuDNN ${req.cudnn} or a later 8.x for CUDA 11.`,
      );
    }
    // 3f. The driver library itself (installed by the driver; in containers, injected by the NVIDIA runtime).
    if (!win && f.smi.found && !f.smi.error && gpus.length > 0 && !libs.some((l) => l.visible && l.file === 'libcuda.so.1')) {
      problem(
        'nvidia-smi sees a GPU but the driver library libcuda.so.1 is not on the loader path.',
        "Reinstall the NVIDIA driver's user-space libraries (or in Docker use '--gpus all' so the NVIDIA runtime injects them).",
      );
    }
  }

  return { gpus, cudart, cudnn, problems, fixes };
}

/** Check this machine for what tfjs-node-gpu 4.x needs. Never throws. */
export function diagnoseCuda(): CudaDiagnosis {
  try {
    return diagnose(collectCudaFacts());
  } catch (e) {
    return {
      gpus: [],
      cudart: null,
      cudnn: null,
      problems: [`The CUDA check itself failed: ${e instanceof Error ? e.message : String(e)}.`],
      fixes: ['Run nvidia-smi and ldconfig -p | grep -E "cudart|cudnn" by hand to see what is installed.'],
    };
  }
}
