/**
 * The committed wasm kernel (src/model/kernels/wasm/attention.wasm) is what its source builds
 * to, and it is safe to run inside tfjs-backend-wasm's memory: it imports that memory and
 * nothing else, and has no data segment (nothing is written at instantiation). Its numbers are
 * checked against the other attention layouts in bench.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../src/model/kernels/wasm/', import.meta.url).pathname;
const bytes = readFileSync(join(dir, 'attention.wasm'));

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
function clang14(): boolean {
  const v = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  const ld = spawnSync('wasm-ld', ['--version'], { encoding: 'utf8' });
  return v.status === 0 && /clang version 14\./.test(v.stdout) && ld.status === 0;
}

describe('wasm attention kernel', () => {
  it('imports only the memory, exports its three functions, and has no data segment', () => {
    const m = new WA.Module(bytes);
    expect(WA.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WA.Module.exports(m).map((e) => e.name).sort()).toEqual(['attn_backward', 'attn_forward', 'attn_work_floats']);
    const ids = sectionIds(bytes);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11); // data
    expect(ids).not.toContain(12); // data count
  });

  it('reports the scratch it needs: 4 padded [T, T] and 5 padded [T, hd] blocks', () => {
    const mem = new WA.Memory({ initial: 2 });
    const e = new WA.Instance(new WA.Module(bytes), { env: { memory: mem } }).exports as { attn_work_floats(T: number, hd: number): number };
    expect(e.attn_work_floats(256, 32)).toBe(4 * 256 * 256 + 5 * 256 * 32);
    expect(e.attn_work_floats(61, 10)).toBe(4 * 64 * 64 + 5 * 64 * 16);
  });

  // CI installs clang and lld and sets CHINCHILLA_REQUIRE_CLANG=1, so that this runs there
  const required = process.env.CHINCHILLA_REQUIRE_CLANG === '1';
  it.skipIf(!required && !clang14())('is what build.sh makes from attention.c (clang 14)', () => {
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
