/**
 * No Docker engine runs here, so the Dockerfile is checked statically: parsed into
 * instructions and stages, ARGs substituted, and the final stage followed back to its base image.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/util/paths.ts';

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name?: string;
  instrs: Instr[];
}

/** Split a Dockerfile into instructions: comments dropped, backslash continuations joined. */
function instructions(text: string): Instr[] {
  const out: Instr[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) continue;
    if (cur !== '' && line.startsWith('#')) continue; // comment inside a continued RUN
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(cur.trim());
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
    cur = '';
  }
  return out;
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => vars[a ?? b] ?? m);
}

/** Stages with ARG defaults declared before the first FROM substituted into FROM lines. */
function stages(ins: Instr[]): Stage[] {
  const globalArgs: Record<string, string> = {};
  const out: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'ARG' && out.length === 0) {
      const [k, v] = i.args.split('=');
      globalArgs[k!] = v ?? '';
    } else if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(i.args, globalArgs))!;
      out.push({ base: m[1]!, name: m[2], instrs: [] });
    } else if (out.length > 0) {
      out[out.length - 1]!.instrs.push(i);
    }
  }
  return out;
}

/** Follow `FROM <stage>` links back to the external image. */
function rootImage(all: Stage[], s: Stage): string {
  const parent = all.find((x) => x.name === s.base);
  return parent ? rootImage(all, parent) : s.base;
}

/** Instructions of a stage and of the stages it builds on, oldest first (what the final image inherits). */
function inherited(all: Stage[], s: Stage): Instr[] {
  const parent = all.find((x) => x.name === s.base);
  return [...(parent ? inherited(all, parent) : []), ...s.instrs];
}

function execForm(args: string): string[] {
  return JSON.parse(args) as string[];
}

const text = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const all = stages(instructions(text));
const final = all[all.length - 1]!;
const finalInstrs = inherited(all, final);
const last = (op: string) => finalInstrs.filter((i) => i.op === op).pop();

describe('Dockerfile', () => {
  it('builds on a CUDA 11.x (>= 11.2) + cuDNN 8 runtime image, as tfjs-node-gpu 4.x needs', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const base = rootImage(all, final);
    const m = /^nvidia\/cuda:11\.(\d+)\.\d+-cudnn8-runtime-ubuntu\d\d\.04$/.exec(base);
    expect(m, base).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(2);
    // every stage comes from the same CUDA base (the build stage too, so node/npm match)
    for (const s of all) expect(rootImage(all, s)).toBe(base);
  });

  it('installs Node 20 (package.json engines) from the official tarball, checksum verified', () => {
    const nodeArg = finalInstrs.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_VERSION='))!;
    const version = nodeArg.args.split('=')[1]!;
    expect(version).toMatch(/^20\.\d+\.\d+$/);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('>=20');
    const run = finalInstrs.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(run).toContain('https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz');
    expect(run).toContain('sha256sum -c');
  });

  it('runs npm ci on the lockfile before copying the sources, and checks the GPU package', () => {
    const build = all.find((s) => s.name === 'build')!;
    const idx = (pred: (i: Instr) => boolean) => build.instrs.findIndex(pred);
    const copyLock = idx((i) => i.op === 'COPY' && i.args.includes('package-lock.json'));
    const ci = idx((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    const copyAll = idx((i) => i.op === 'COPY' && /^\.\s+\.$/.test(i.args));
    expect(copyLock).toBeGreaterThanOrEqual(0);
    expect(ci).toBeGreaterThan(copyLock);
    expect(copyAll).toBeGreaterThan(ci);
    const ciLine = build.instrs[ci]!.args;
    expect(ciLine).not.toContain('--ignore-scripts'); // tfjs-node-gpu's install script must run
    expect(ciLine).not.toContain('--omit=optional'); // tfjs-node-gpu is an optional dependency
    expect(ciLine).toContain('tfjs-node-gpu/lib/napi-v*/tfjs_binding.node');
    // the final image takes /app from the build stage
    expect(final.instrs.some((i) => i.op === 'COPY' && i.args.includes('--from=build') && i.args.endsWith('/app /app'))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const user = last('USER')!.args;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(finalInstrs.some((i) => i.op === 'RUN' && i.args.includes(`useradd --uid 1000`) && i.args.includes(user))).toBe(true);
  });

  it('keeps runs/ and data/ in volumes under WORKDIR /app', () => {
    expect(last('WORKDIR')!.args).toBe('/app');
    const vol = execForm(last('VOLUME')!.args);
    expect(vol).toEqual(expect.arrayContaining(['/app/runs', '/app/data']));
    // data/ is where dataRoot() caches by default: <project root>/data
    const run = final.instrs.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(run).toContain('chown chinchilla:chinchilla /app/runs /app/data');
  });

  it('has chinchilla as ENTRYPOINT and a sweep of an existing config as CMD', () => {
    expect(execForm(last('ENTRYPOINT')!.args)).toEqual(['chinchilla']);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const run = final.instrs.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(run).toContain(`ln -s /app/${pkg.bin.chinchilla} /usr/local/bin/chinchilla`);
    const cmd = execForm(last('CMD')!.args);
    expect(cmd.slice(0, 2)).toEqual(['sweep', 'configs/sweep.json']);
    expect(existsSync(join(PROJECT_ROOT, cmd[1]!))).toBe(true);
    expect(cmd).toEqual(expect.arrayContaining(['--backend', 'tensorflow-gpu']));
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  it('keeps node_modules, runs and data out of the build context', () => {
    for (const p of ['node_modules', 'runs', 'data', '.git']) expect(lines).toContain(p);
  });
  it('does not exclude what the image needs', () => {
    for (const p of ['bin', 'src', 'configs', 'package.json', 'package-lock.json']) expect(lines).not.toContain(p);
  });
});
