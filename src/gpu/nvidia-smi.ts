/**
 * The NVIDIA driver's view of the GPUs, from `nvidia-smi`. Its absence is normal
 * (no GPU, no driver, or a container started without GPU access) and is reported,
 * never thrown.
 */
import { spawnSync } from 'node:child_process';

export interface GpuInfo {
  name: string;
  /** Total memory of the card. */
  memoryMiB?: number;
  /** Memory not in use right now. */
  freeMiB?: number;
  /** Driver version, e.g. '535.104.05'. */
  driver?: string;
}

export interface NvidiaSmiResult {
  /** false when the nvidia-smi executable is not on PATH. */
  found: boolean;
  gpus: GpuInfo[];
  /** First line of nvidia-smi's complaint when it is there but fails (e.g. driver not loaded). */
  error?: string;
}

/** The columns we ask for, in this order. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total,memory.free,driver_version', '--format=csv,noheader,nounits'];

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s.trim());
  return s.trim() !== '' && Number.isFinite(v) ? v : undefined; // '[N/A]' -> undefined
}

/**
 * Parse `nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version --format=csv,noheader,nounits`,
 * one GPU per line, e.g. `Tesla T4, 15360, 15101, 535.104.05`. The name is everything before the last
 * three fields (names do not contain commas in practice, but this stays right if one does).
 */
export function parseNvidiaSmiCsv(out: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const raw of out.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 4) continue;
    const driver = f[f.length - 1]!;
    const gpu: GpuInfo = { name: f.slice(0, f.length - 3).join(', ') };
    const total = num(f[f.length - 3]);
    const free = num(f[f.length - 2]);
    if (total !== undefined) gpu.memoryMiB = total;
    if (free !== undefined) gpu.freeMiB = free;
    if (/^\d+(\.\d+)*$/.test(driver)) gpu.driver = driver;
    gpus.push(gpu);
  }
  return gpus;
}

/** Ask nvidia-smi (10 s time limit). Never throws. */
export function queryNvidiaSmi(): NvidiaSmiResult {
  try {
    const r = spawnSync('nvidia-smi', NVIDIA_SMI_ARGS, { encoding: 'utf8', timeout: 10_000 });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { found: false, gpus: [] };
      return { found: true, gpus: [], error: r.error.message };
    }
    if (r.status !== 0) {
      const msg = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((s) => s.trim()).find((s) => s) ?? `exit status ${r.status}`;
      return { found: true, gpus: [], error: msg };
    }
    return { found: true, gpus: parseNvidiaSmiCsv(r.stdout ?? '') };
  } catch (e) {
    return { found: false, gpus: [], error: e instanceof Error ? e.message : String(e) };
  }
}
