#!/usr/bin/env node
/**
 * Builds the native kernels (products.c, pointwise.c, addon.c) into
 * build/native/chinchilla-native.node, a Node-API addon that the wasm backend's product and
 * GELU kernels call where it loads (wasmProducts.ts, wasmPointwise.ts), with the same bits as
 * its own wasm kernels. Runs from `npm ci` (package.json's postinstall)
 * with --optional: without a C compiler, or on Windows, it says so and the wasm kernels run.
 *   node src/model/kernels/native/build.mjs [--optional] [--out file.node]
 * Env: CC (the compiler; default cc, then gcc, then clang), CHINCHILLA_NATIVE=0 (skip).
 * Needs a C11 compiler and the Node-API headers (the node-api-headers package, else the
 * headers installed beside node). On x86-64 it compiles the kernels three times (SSE2,
 * AVX2, AVX-512) and the addon picks the widest the CPU runs; elsewhere once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');
const argv = process.argv.slice(2);
const optional = argv.includes('--optional');
const outIdx = argv.indexOf('--out');
const out = resolve(outIdx >= 0 ? argv[outIdx + 1] : join(root, 'build/native/chinchilla-native.node'));

function give_up(why) {
  const msg = `native kernels not built: ${why}. The wasm kernels run instead (the same numbers, slower on CPUs with 256-bit vectors).`;
  if (optional) {
    console.warn(`chinchilla-lab: ${msg}`);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

if (process.env.CHINCHILLA_NATIVE === '0') give_up('CHINCHILLA_NATIVE=0');
if (process.platform === 'win32') give_up('Windows is not supported by this build script');

const runs = (cc) => {
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
if (process.env.CC && !runs(process.env.CC)) give_up(`CC=${process.env.CC} does not run`);
const cc = [process.env.CC, 'cc', 'gcc', 'clang'].find((c) => c && runs(c));
if (!cc) give_up('no C compiler found (set CC, or install gcc or clang)');

function napiInclude() {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-api-headers/package.json');
    return join(dirname(pkg), 'include');
  } catch {
    const beside = [join(dirname(process.execPath), '../include/node'), '/usr/include/node'];
    return beside.find((d) => existsSync(join(d, 'node_api.h')));
  }
}
const include = napiInclude();
if (!include) give_up('the Node-API headers were not found (npm install node-api-headers)');

const common = ['-std=c11', '-O3', '-fPIC', '-ffp-contract=off', '-fno-fast-math', '-fvisibility=hidden', '-Wall', '-Wextra'];
const x86 = process.arch === 'x64';
const variants = [
  { name: 'generic', vw: 4, flags: [] },
  ...(x86 ? [{ name: 'avx2', vw: 8, flags: ['-mavx2'] }, { name: 'avx512', vw: 16, flags: ['-mavx512f'] }] : []),
];
const tmp = mkdtempSync(join(tmpdir(), 'chinchilla-native-'));
try {
  const objs = [];
  const defines = [];
  const built = [];
  for (const v of variants) {
    // a compiler too old for a wide variant's flags leaves that variant out; the generic one must build
    const mine = [];
    try {
      for (const src of ['products', 'pointwise']) {
        const obj = join(tmp, `${src}-${v.name}.o`);
        execFileSync(cc, [...common, ...v.flags, `-DVW=${v.vw}`, `-DVARIANT=${v.name}`, '-c', join(here, `${src}.c`), '-o', obj], { stdio: v.name === 'generic' ? 'inherit' : 'pipe' });
        mine.push(obj);
      }
    } catch (e) {
      if (v.name === 'generic') throw e;
      console.warn(`chinchilla-lab: ${cc} cannot build the ${v.name} variant (${v.flags.join(' ')}); left out`);
      continue;
    }
    objs.push(...mine);
    built.push(v.name);
    if (v.name !== 'generic') defines.push(`-DHAVE_${v.name.toUpperCase()}`);
  }
  const link = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
  mkdirSync(dirname(out), { recursive: true });
  const tmpOut = `${out}.${process.pid}.tmp`; // renamed into place: a half-written addon is never loaded
  execFileSync(cc, [...common, ...defines, `-I${include}`, ...link, join(here, 'addon.c'), ...objs, '-o', tmpOut, '-lpthread'], { stdio: 'inherit' });
  renameSync(tmpOut, out);
  console.log(`chinchilla-lab: native kernels built with ${cc} (${built.join(', ')}) -> ${out}`);
} catch (e) {
  give_up(`${cc} failed (${e.message.split('\n')[0]})`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
