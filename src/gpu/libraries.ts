/**
 * Find the CUDA / cuDNN shared libraries on this machine and whether the dynamic
 * loader would find them when libtensorflow dlopen()s them by soname.
 *
 * On Linux dlopen('libcudart.so.11.0') searches LD_LIBRARY_PATH, then the ld.so cache
 * (`ldconfig -p`, built from /etc/ld.so.conf.d), then /lib and /usr/lib (+lib64). So a
 * library is *visible* when it sits under its exact soname in one of those places. We also
 * scan the usual install folders (/usr/local/cuda-* /lib64, pip's nvidia/* /lib, ...) to
 * tell the user "it is there, add this folder to LD_LIBRARY_PATH" instead of "missing".
 * On Windows the DLLs are searched on PATH.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';

/** How a library was found; all but 'scan' are places the loader looks. */
export type LibraryVia = 'LD_LIBRARY_PATH' | 'ldconfig' | 'system' | 'PATH' | 'scan';

export interface FoundLibrary {
  /** 'libcudart', 'libcudnn', 'libcublas', ...; 'libcuda' is the driver's own library. */
  family: string;
  /** The file name the loader asks for, e.g. 'libcudart.so.11.0' or 'cudnn64_8.dll'. */
  file: string;
  /** Full version when the link resolves to a versioned file ('11.2.152', '8.1.1'), else the soname's. */
  version: string;
  /** First number of the soname version: 11 for libcudart.so.11.0, 8 for libcudnn.so.8. */
  major: number;
  path: string;
  /** The dynamic loader finds it as things stand. */
  visible: boolean;
  via: LibraryVia;
}

const LINUX_NAME = /^(libcudart|libcudnn|libcublasLt|libcublas|libcufft|libcurand|libcusolver|libcusparse|libcuda)\.so\.(\d+(?:\.\d+)*)$/;
const WINDOWS_NAME = /^(cudart|cudnn|cublasLt|cublas|cufft|curand|cusolver|cusparse)64_(\d+)\.dll$/i;

/** 'libcudart.so.11.0' -> { family: 'libcudart', version: '11.0' }; null for anything else. */
export function parseLibraryName(file: string): { family: string; version: string } | null {
  const m = LINUX_NAME.exec(file);
  if (m) return { family: m[1]!, version: m[2]! };
  const w = WINDOWS_NAME.exec(file);
  if (w) {
    // cudart64_110.dll is CUDA 11.0's runtime naming: last digit is the minor version.
    const digits = w[2]!;
    const fam = w[1]!.toLowerCase() === 'cublaslt' ? 'libcublasLt' : `lib${w[1]!.toLowerCase()}`;
    const version = fam === 'libcudart' && digits.length >= 3 ? `${digits.slice(0, -1)}.${digits.slice(-1)}` : digits;
    return { family: fam, version };
  }
  return null;
}

/** Parse `ldconfig -p`: lines like "\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.11.0". */
export function parseLdconfig(out: string, arch: string = process.arch): { file: string; path: string }[] {
  const res: { file: string; path: string }[] = [];
  for (const line of out.split(/\r?\n/)) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    const flags = m[2]!;
    // Skip 32-bit entries on a 64-bit x86 machine: the loader would not use them.
    if (arch === 'x64' && !flags.includes('x86-64')) continue;
    res.push({ file: m[1]!, path: m[3]! });
  }
  return res;
}

/** Run `ldconfig -p` (it lives in /sbin on most distributions). null when it cannot be run. */
export function readLdconfigCache(): string | null {
  for (const exe of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const r = spawnSync(exe, ['-p'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 64 * 1024 * 1024 });
      if (!r.error && r.status === 0 && r.stdout) return r.stdout;
    } catch {
      // try the next location
    }
  }
  return null;
}

/** Folders listed in /etc/ld.so.conf and /etc/ld.so.conf.d/*.conf (used only when ldconfig cannot be run). */
export function readLdSoConfDirs(root = '/etc'): string[] {
  const dirs: string[] = [];
  const files = [join(root, 'ld.so.conf')];
  try {
    for (const f of readdirSync(join(root, 'ld.so.conf.d'))) if (f.endsWith('.conf')) files.push(join(root, 'ld.so.conf.d', f));
  } catch {
    // no conf.d
  }
  for (const f of files) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line.startsWith('/')) dirs.push(line);
    }
  }
  return dirs;
}

/**
 * Expand a path pattern whose segments may contain '*' (matching any run of characters
 * within one folder name), e.g. '/usr/local/cuda-*\/lib64'. Only existing folders come back.
 */
export function expandDirPattern(pattern: string): string[] {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let current = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    const next: string[] = [];
    for (const base of current) {
      if (!part.includes('*')) {
        next.push(join(base, part));
        continue;
      }
      const re = new RegExp('^' + part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
      let entries: string[] = [];
      try {
        entries = readdirSync(base);
      } catch {
        continue;
      }
      for (const e of entries.sort()) if (re.test(e)) next.push(join(base, e));
    }
    current = next;
  }
  return current.filter((d) => {
    try {
      return statSync(d).isDirectory();
    } catch {
      return false;
    }
  });
}

/** Where CUDA libraries usually live without being on the loader's path. */
export const COMMON_CUDA_DIR_PATTERNS: readonly string[] = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda-*/lib64',
  '/usr/local/cuda-*/targets/x86_64-linux/lib',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib64-nvidia', // Google Colab's driver libraries
  '/usr/lib/wsl/lib', // WSL2's libcuda
  '/opt/conda/lib',
  // pip wheels nvidia-cuda-runtime-cu11, nvidia-cudnn-cu11, ...: site-packages/nvidia/<lib>/lib
  '/usr/local/lib/python3*/dist-packages/nvidia/*/lib',
  '/usr/local/lib/python3*/site-packages/nvidia/*/lib',
  '/usr/lib/python3/dist-packages/nvidia/*/lib',
];

/** Folders the Linux loader searches by default after LD_LIBRARY_PATH and the cache. */
export const LINUX_SYSTEM_DIRS: readonly string[] = ['/lib', '/usr/lib', '/lib64', '/usr/lib64'];

export interface LibraryScanOptions {
  platform?: NodeJS.Platform;
  arch?: string;
  /** `ldconfig -p` output; undefined = run ldconfig; null = not available. */
  ldconfig?: string | null;
  /** Value of LD_LIBRARY_PATH (Linux) or PATH (Windows); default from process.env. */
  searchPath?: string;
  /** Loader default folders (Linux); default LINUX_SYSTEM_DIRS. */
  systemDirs?: readonly string[];
  /** Patterns of extra folders to scan; default COMMON_CUDA_DIR_PATTERNS (+ ~/.local pip folders). */
  scanPatterns?: readonly string[];
}

function fullVersion(path: string, sonameVersion: string): string {
  // libcudart.so.11.0 -> libcudart.so.11.2.152: the real file carries the full version.
  try {
    const real = parseLibraryName(basename(realpathSync(path)));
    if (real && real.version.split('.').length > sonameVersion.split('.').length && real.version.startsWith(sonameVersion.split('.')[0]! + '.')) {
      return real.version;
    }
  } catch {
    // dangling link: keep the soname's version
  }
  return sonameVersion;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Every CUDA/cuDNN library under a name the loader could ask for, with where it was
 * found and whether the loader sees it. Sorted by family, then visible first, then path.
 * Never throws.
 */
export function findCudaLibraries(o: LibraryScanOptions = {}): FoundLibrary[] {
  const platform = o.platform ?? process.platform;
  const arch = o.arch ?? process.arch;
  // One entry per (real file, name): /usr/local/cuda/lib64 and /usr/local/cuda-11.2/lib64 are
  // usually the same folder. A visible route to the file wins over a hidden one.
  const found = new Map<string, FoundLibrary>();
  const add = (path: string, file: string, via: LibraryVia, visible: boolean) => {
    const p = parseLibraryName(file);
    // Only names the loader asks for (sonames: 'libcudart.so.11.0', 'libcudnn.so.8'), not the
    // fully versioned files behind them ('libcudnn.so.8.1.1').
    if (!p || (platform !== 'win32' && p.version.split('.').length > 2)) return;
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // dangling link: key by its own path
    }
    const key = `${real}|${file}`;
    const prev = found.get(key);
    if (prev && (prev.visible || !visible)) return;
    const version = fullVersion(path, p.version);
    found.set(key, { family: p.family, file, version, major: Number(p.version.split('.')[0]), path, visible, via });
  };
  const scanDir = (dir: string, via: LibraryVia, visible: boolean) => {
    for (const f of listDir(dir)) if (parseLibraryName(f)) add(join(dir, f), f, via, visible);
  };

  try {
    if (platform === 'win32') {
      const path = o.searchPath ?? process.env.PATH ?? '';
      for (const d of path.split(';').filter(Boolean)) scanDir(d, 'PATH', true);
      const cudaRoot = 'C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA';
      for (const v of listDir(cudaRoot)) scanDir(join(cudaRoot, v, 'bin'), 'scan', false);
    } else {
      const ldPath = o.searchPath ?? process.env.LD_LIBRARY_PATH ?? '';
      for (const d of ldPath.split(':').filter(Boolean)) scanDir(d, 'LD_LIBRARY_PATH', true);
      const cache = o.ldconfig === undefined ? readLdconfigCache() : o.ldconfig;
      if (cache !== null) {
        for (const e of parseLdconfig(cache, arch)) if (parseLibraryName(e.file) && existsSync(e.path)) add(e.path, e.file, 'ldconfig', true);
      } else {
        for (const d of readLdSoConfDirs()) scanDir(d, 'system', true);
      }
      for (const d of o.systemDirs ?? LINUX_SYSTEM_DIRS) scanDir(d, 'system', true);
      const patterns = o.scanPatterns ?? [
        ...COMMON_CUDA_DIR_PATTERNS,
        join(homedir(), '.local/lib/python3*/site-packages/nvidia/*/lib'),
      ];
      for (const pat of patterns) for (const d of expandDirPattern(pat)) scanDir(d, 'scan', false);
    }
  } catch {
    // a report, not a failure: return what we have
  }
  return [...found.values()].sort(
    (a, b) => a.family.localeCompare(b.family) || Number(b.visible) - Number(a.visible) || a.path.localeCompare(b.path),
  );
}

/** The folder to put on LD_LIBRARY_PATH (or PATH) to make `lib` visible. */
export function libraryDir(lib: FoundLibrary): string {
  return dirname(lib.path);
}
