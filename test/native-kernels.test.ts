/**
 * The native kernels (src/model/kernels/native, built at `npm ci` into
 * build/native/chinchilla-native.node) give the same bits as the wasm kernels in every vector
 * variant this CPU runs: the products equal a plain float32 loop, GELU equals the wasm GELU,
 * so a run ends at the same loss whether or not the addon loaded. Skipped where the addon was not built, unless CHINCHILLA_REQUIRE_NATIVE=1
 * (CI builds it and sets that).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_ADDON, type NativeKernels } from '../src/model/kernels/nativeKernels.ts';
import { sharedDatasetsOrSkip } from './helpers/data.ts';
import { trainTinyWith } from './helpers/train.ts';

const addon = NATIVE_ADDON.pathname;
const required = process.env.CHINCHILLA_REQUIRE_NATIVE === '1';
const built = existsSync(addon);
const shared = sharedDatasetsOrSkip('native kernels run');

/**
 * Run in a child per variant (the addon picks its variant once per process): every product on
 * odd shapes (each tail of the 6-row and 2-vector blocks, K across 256-row passes, N across
 * 256-column panels) against a float32 loop; prints the variant and the count of differing elements.
 */
const CHILD = `
const native = require(process.argv[1]);
const heap = new ArrayBuffer(24 << 20), f32 = new Float32Array(heap), fr = Math.fround;
let diff = 0;
for (const [M, K, N] of [[13, 300, 11], [8, 7, 24], [5, 513, 3], [16, 64, 12], [40, 300, 270], [36, 513, 72], [33, 20, 64], [64, 80, 80], [7, 1, 300]]) {
  const rnd = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 3);
  const a = rnd(M * K, 1), b = rnd(K * N, 2), bias = rnd(N, 3);
  const [pa, pb, pbias, pc] = [0, 1, 2, 3].map((i) => 64 + i * (4 << 20));
  f32.set(a, pa / 4), f32.set(b, pb / 4), f32.set(bias, pbias / 4);
  const check = (want) => { for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) if (!Object.is(f32[pc / 4 + i * N + j], want(i, j))) diff++; };
  const dot = (A, i, j) => { let s = 0; for (let k = 0; k < K; k++) s = fr(s + fr(A(i, k) * b[k * N + j])); return s; };
  native.nn(heap, pa, pb, 0, pc, M, K, N);
  check((i, j) => dot((i, k) => a[i * K + k], i, j));
  native.nn(heap, pa, pb, pbias, pc, M, K, N);
  check((i, j) => fr(dot((i, k) => a[i * K + k], i, j) + bias[j]));
  native.tn(heap, pa, pb, pc, K, M, N); // a read as [K, M]
  check((i, j) => dot((i, k) => a[k * M + i], i, j));
}
console.log(JSON.stringify({ variant: native.variant(), diff }));
`;

/** GELU forward and backward and the row softmax, native against the committed wasm kernels on one heap (argv: addon, kernels.wasm). */
const GELU_CHILD = `
const native = require(process.argv[1]);
const memory = new WebAssembly.Memory({ initial: 256 });
const w = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(process.argv[2])), { env: { memory } }).exports;
const f32 = new Float32Array(memory.buffer);
let diff = 0, n = 0;
for (const len of [1, 3, 4, 7, 8, 15, 16, 17, 33, 1000, 4099]) {
  const x = Float32Array.from({ length: len }, (_, i) => (i % 97 === 0 ? [0, -0, 100, -100, 30, -30][i % 6] : Math.sin(i * 12.9898 + len) * 9));
  const dy = Float32Array.from({ length: len }, (_, i) => Math.cos(i * 3.1 + len));
  const [px, pdy, pw, pn] = [4096, 4096 + (1 << 20), 4096 + (2 << 20), 4096 + (3 << 20)];
  f32.set(x, px / 4), f32.set(dy, pdy / 4);
  const same = (a, b) => { for (let i = 0; i < len; i++, n++) if (!Object.is(f32[a / 4 + i], f32[b / 4 + i])) diff++; };
  w.gelu_forward(px, pw, len), native.geluForward(memory.buffer, px, pn, len), same(pw, pn);
  w.gelu_backward(px, pdy, pw, len), native.geluBackward(memory.buffer, px, pdy, pn, len), same(pw, pn);
}
for (const [N, V] of [[1, 1], [2, 3], [3, 4], [2, 7], [5, 8], [3, 17], [4, 33], [16, 512], [2, 50257]]) {
  const x = Float32Array.from({ length: N * V }, (_, i) => (i % 101 === 0 ? [0, -0, 80, -80, 30][i % 5] : Math.sin(i * 12.9898 + V) * 12));
  const [px, pw, pn] = [4096, 4096 + (1 << 20), 4096 + (2 << 20)];
  f32.set(x, px / 4);
  w.softmax_rows(px, pw, N, V), native.softmaxRows(memory.buffer, px, pn, N, V);
  for (let i = 0; i < N * V; i++, n++) if (!Object.is(f32[pw / 4 + i], f32[pn / 4 + i])) diff++;
}
console.log(JSON.stringify({ variant: native.variant(), diff, n }));
`;
const wasmKernels = new URL('../src/model/kernels/wasm/kernels.wasm', import.meta.url).pathname;

describe.skipIf(!built && !required)('native kernels', () => {
  it('was built (CI requires it)', () => {
    expect(built, `missing ${addon}: run npm run build:native`).toBe(true);
  });

  const seen = new Set<string>();
  for (const want of ['generic', 'avx2', 'avx512']) {
    it(`equal a float32 loop bit for bit (${want}, where this CPU runs it)`, () => {
      const r = spawnSync(process.execPath, ['-e', CHILD, addon], { encoding: 'utf8', env: { ...process.env, CHINCHILLA_NATIVE_VARIANT: want } });
      expect(r.status, r.stderr).toBe(0);
      const { variant, diff } = JSON.parse(r.stdout) as { variant: string; diff: number };
      if (seen.has(variant)) return; // this CPU lacks `want`: the addon fell back to one already checked
      seen.add(variant);
      expect(diff).toBe(0);
    });
  }

  const seenGelu = new Set<string>();
  for (const want of ['generic', 'avx2', 'avx512']) {
    it(`GELU forward and backward and the row softmax equal the wasm kernels' bit for bit (${want}, where this CPU runs it)`, () => {
      const r = spawnSync(process.execPath, ['-e', GELU_CHILD, addon, wasmKernels], { encoding: 'utf8', env: { ...process.env, CHINCHILLA_NATIVE_VARIANT: want } });
      expect(r.status, r.stderr).toBe(0);
      const { variant, diff, n } = JSON.parse(r.stdout) as { variant: string; diff: number; n: number };
      if (seenGelu.has(variant)) return;
      seenGelu.add(variant);
      expect(n).toBe(2 * (1 + 3 + 4 + 7 + 8 + 15 + 16 + 17 + 33 + 1000 + 4099) + (1 + 6 + 12 + 14 + 40 + 51 + 132 + 16 * 512 + 2 * 50257));
      expect(diff).toBe(0);
    });
  }

  it('refuses operands outside the heap, and a heap that is not an ArrayBuffer', () => {
    const n = createRequire(import.meta.url)(addon) as NativeKernels;
    const heap = new ArrayBuffer(4096);
    expect(() => n.nn(heap, 0, 0, 0, 4084, 4, 4, 4)).toThrow(/outside the wasm heap/);
    expect(() => n.tn(heap, 2, 0, 0, 1, 1, 1)).toThrow(/outside the wasm heap/); // misaligned
    expect(() => n.nn(new Float32Array(16) as unknown as ArrayBuffer, 0, 0, 0, 0, 1, 1, 1)).toThrow(/ArrayBuffer/);
    expect(() => n.tn(heap, 0, 0, 0, -1, 1, 1)).toThrow(/non-negative/);
    expect(() => n.geluForward(heap, 0, 2048, 600)).toThrow(/outside the wasm heap/);
    expect(() => n.softmaxRows(heap, 0, 2048, 2, 300)).toThrow(/outside the wasm heap/);
  });

  it.skipIf(!shared)('leave a run bit-identical: CHINCHILLA_NATIVE=0 ends at the same validation loss', () => {
    const [on, off] = trainTinyWith(shared!, { context: 32, d_model: 48, n_layers: 2, n_heads: 2 }, { steps: 20, batch: 8 }, [{}, { CHINCHILLA_NATIVE: '0' }]);
    expect(on!.stdout).toMatch(/products, GELU and softmax native (generic|avx2|avx512)/);
    expect(off!.stdout).toMatch(/native kernels off \(CHINCHILLA_NATIVE=0\)/);
    expect(on!.info.final_eval.val_loss).toBe(off!.info.final_eval.val_loss);
    expect(on!.info.final_eval.val_loss).toBeLessThan(Math.log(256) - 0.5);
  });
});

describe('native/build.mjs without a working compiler', () => {
  const script = new URL('../src/model/kernels/native/build.mjs', import.meta.url).pathname;
  it('warns and exits 0 under --optional (npm ci goes on, the wasm kernels run), exits 1 without it; writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chl-native-build-'));
    try {
      const out = join(dir, 'x.node');
      const env = { ...process.env, CC: '/bin/false' };
      const opt = spawnSync(process.execPath, [script, '--optional', '--out', out], { encoding: 'utf8', env });
      expect(opt.status).toBe(0);
      expect(opt.stderr).toMatch(/native kernels not built: CC=\/bin\/false does not run\. The wasm kernels run instead/);
      const req = spawnSync(process.execPath, [script, '--out', out], { encoding: 'utf8', env });
      expect(req.status).toBe(1);
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
