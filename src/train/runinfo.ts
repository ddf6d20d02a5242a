import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as os from 'node:os';
import { PROJECT_ROOT } from '../util/paths.ts';

const require = createRequire(import.meta.url);

function pkgVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Versions of the runtime and of the packages that affect numbers. */
export function packageVersions(): Record<string, string | null> {
  const own = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    'chinchilla-lab': own.version,
    node: process.versions.node,
    '@tensorflow/tfjs': pkgVersion('@tensorflow/tfjs'),
    '@tensorflow/tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
    '@tensorflow/tfjs-node': pkgVersion('@tensorflow/tfjs-node'),
    '@tensorflow/tfjs-node-gpu': pkgVersion('@tensorflow/tfjs-node-gpu'),
    'js-tiktoken': pkgVersion('js-tiktoken'),
  };
}

/** The git commit of the project checkout ("+dirty" if it has local changes), or null outside git. */
export function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

export function hostInfo(): { hostname: string; cpus: string; cores: number; memory_gb: number; platform: string } {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
  };
}
