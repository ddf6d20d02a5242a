/**
 * The committed wasm kernels (src/model/kernels/wasm/kernels.wasm) are what their sources build
 * to, and safe to run inside tfjs-backend-wasm's memory: the module imports that memory and
 * nothing else, and has no data segment (nothing is written at instantiation). The products
 * equal a plain float32 loop bit for bit; attention is checked against the other attention
 * layouts in bench.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../src/model/kernels/wasm/', import.meta.url).pathname;
const bytes = readFileSync(join(dir, 'kernels.wasm'));

/** The parts of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(m: object): object[]; exports(m: object): { name: string }[] };
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => object;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Section ids of a wasm binary, in order. */
function sectionIds(b: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8; // magic + version
  while (i < b.length) {
    const id = b[i++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = b[i++]!;
      size |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    ids.push(id);
    i += size;
  }
  return ids;
}

/** clang 14 with wasm-ld, the toolchain the committed binary was built with. */
interface Kernels {
  attn_work_floats(T: number, hd: number): number;
  matmul_work_floats(): number;
  matmul_nn(a: number, b: number, bias: number, c: number, M: number, K: number, N: number, work: number): void;
  matmul_tn(a: number, b: number, c: number, K: number, M: number, N: number, work: number): void;
  col_sum(x: number, out: number, N: number, n: number): void;
}

/** The kernels on a fresh 8 MB memory (byte offsets from 4096 are free to use). */
function instance(): { e: Kernels; f32: Float32Array } {
  const memory = new WA.Memory({ initial: 128 }) as { buffer: ArrayBuffer };
  const e = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports as Kernels;
  return { e, f32: new Float32Array(memory.buffer) };
}

function clang14(): boolean {
  const v = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  const ld = spawnSync('wasm-ld', ['--version'], { encoding: 'utf8' });
  return v.status === 0 && /clang version 14\./.test(v.stdout) && ld.status === 0;
}

describe('wasm kernels', () => {
  it('imports only the memory, exports its functions, and has no data segment', () => {
    const m = new WA.Module(bytes);
    expect(WA.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WA.Module.exports(m).map((e) => e.name).sort()).toEqual([
      'adamw_update', 'attn_backward', 'attn_forward', 'attn_work_floats', 'col_sum', 'gelu_backward', 'gelu_forward', 'layernorm_backward', 'layernorm_forward', 'matmul_nn', 'matmul_tn', 'matmul_work_floats', 'softmax_rows',
    ]);
    const ids = sectionIds(bytes);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11); // data
    expect(ids).not.toContain(12); // data count
  });

  it('reports the scratch attention needs: 4 padded [T, T] and 5 padded [T, hd] blocks', () => {
    const { e } = instance();
    expect(e.attn_work_floats(256, 32)).toBe(4 * 256 * 256 + 5 * 256 * 32);
    expect(e.attn_work_floats(61, 10)).toBe(4 * 64 * 64 + 5 * 64 * 16);
  });

  // odd sizes: every tail of the 4×8 blocks, K across the 256-row passes, and (from 32 rows on)
  // the packed panels of 256 columns, Aᵀ's slices copied from 64 columns on
  for (const [M, K, N] of [[13, 300, 11], [8, 7, 24], [5, 513, 3], [16, 64, 12], [40, 300, 270], [36, 513, 72], [33, 20, 64]] as const) {
    it(`matmul_nn, matmul_tn and col_sum equal a float32 loop bit for bit (M ${M}, K ${K}, N ${N})`, () => {
      const { e, f32 } = instance();
      expect(e.matmul_work_floats() * 4).toBeLessThan(2 ** 20);
      const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 3);
      const a = rnd(M * K, 1), b = rnd(K * N, 2), bias = rnd(N, 3), at = rnd(K * M, 4);
      const [pa, pb, pbias, pat, pc, pw] = [0, 1, 2, 3, 4, 5].map((i) => 4096 + i * 2 ** 20);
      f32.set(a, pa / 4), f32.set(b, pb / 4), f32.set(bias, pbias / 4), f32.set(at, pat / 4);
      const fr = Math.fround;
      const dot = (A: (i: number, k: number) => number, i: number, j: number) => {
        let s = 0;
        for (let k = 0; k < K; k++) s = fr(s + fr(A(i, k) * b[k * N + j]!));
        return s;
      };
      const expectC = (want: (i: number, j: number) => number) => {
        const got = f32.subarray(pc / 4, pc / 4 + M * N);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) expect(got[i * N + j]).toBe(want(i, j));
      };
      e.matmul_nn(pa, pb, 0, pc, M, K, N, pw);
      expectC((i, j) => dot((i, k) => a[i * K + k]!, i, j));
      e.matmul_nn(pa, pb, pbias, pc, M, K, N, pw);
      expectC((i, j) => fr(dot((i, k) => a[i * K + k]!, i, j) + bias[j]!));
      e.matmul_tn(pat, pb, pc, K, M, N, pw);
      expectC((i, j) => dot((i, k) => at[k * M + i]!, i, j));
      e.col_sum(pb, pc, K, N);
      const sums = f32.subarray(pc / 4, pc / 4 + N);
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s = fr(s + b[k * N + j]!);
        expect(sums[j]).toBe(s);
      }
    });
  }

  // CI installs clang and lld and sets CHINCHILLA_REQUIRE_CLANG=1, so that this runs there
  const required = process.env.CHINCHILLA_REQUIRE_CLANG === '1';
  it.skipIf(!required && !clang14())('is what build.sh makes from its C sources (clang 14)', () => {
    expect(clang14()).toBe(true);
    const tmp = mkdtempSync(join(tmpdir(), 'wasm-'));
    try {
      execFileSync(join(dir, 'build.sh'), [join(tmp, 'a.wasm')]);
      expect(Buffer.compare(readFileSync(join(tmp, 'a.wasm')), bytes)).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
