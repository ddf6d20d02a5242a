/**
 * The download path, for real: a zip of real split files is served over HTTP on
 * 127.0.0.1 and the loader fetches, verifies (against the production checksum
 * table), extracts and caches it. To keep it small the archive holds only the
 * tokenized release's valid + test members (2.4 MB before compression).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadSplitText, RELEASES, type DataOptions } from '../src/data/index.ts';
import { UserError } from '../src/util/errors.ts';
import { sharedDatasetsOrSkip, userError } from './helpers/data.ts';

const shared = sharedDatasetsOrSkip('data-download');
const tmpRoot = mkdtempSync(join(tmpdir(), 'chinchilla-download-'));
const rel = RELEASES['wikitext-2-v1'];

let server: Server;
let base = '';
const hits: string[] = [];


let n = 0;
/** A fresh cache folder per test, and options that only use the given mirrors. */
function opts(mirrors: string[]): DataOptions & { cacheRoot: string } {
  return { dataset: 'wikitext-2-v1', cacheRoot: join(tmpRoot, `cache${n++}`), mirrors, builtinMirrors: false, quiet: true };
}

/** Files left in a cache root: none may be partial or temporary. */
function cacheFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() || d.name.startsWith('.download'))
    .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
    .sort();
}

describe.skipIf(!shared)('downloading the release archive', () => {
  beforeAll(async () => {
    const member = (name: string) => gunzipSync(readFileSync(join(shared!, 'wikitext-2', `${name}.gz`)));
    const valid = member('wiki.valid.tokens');
    const test = member('wiki.test.tokens');
    const good = zipSync({ 'wikitext-2/wiki.valid.tokens': valid, 'wikitext-2/wiki.test.tokens': test }, { level: 1 });
    // A well-formed zip whose valid member has one byte changed.
    const tampered = Uint8Array.from(valid);
    tampered[500] ^= 0x20;
    const wrongMember = zipSync({ 'wikitext-2/wiki.valid.tokens': tampered, 'wikitext-2/wiki.test.tokens': test }, { level: 1 });
    const truncated = good.subarray(0, Math.floor(good.length / 2));

    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const send = (body: Uint8Array, headers: Record<string, string | number> = {}) => {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length, ...headers });
        res.end(body);
      };
      switch (req.url) {
        case '/good/wikitext-2-v1.zip':
          return send(good);
        case '/tampered/wikitext-2-v1.zip':
          return send(wrongMember);
        case '/truncated/wikitext-2-v1.zip':
          return send(truncated);
        case '/partial/wikitext-2-v1.zip':
          // Promises the whole archive, sends half, then drops the connection.
          res.writeHead(200, { 'content-type': 'application/zip', 'content-length': good.length });
          res.write(truncated);
          setTimeout(() => res.destroy(), 50);
          return;
        case '/stall/wikitext-2-v1.zip':
          return; // never answers: the idle timeout must fire
        default:
          res.writeHead(404);
          res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    vi.stubEnv('WIKITEXT2_DIR', ''); // the loader must not take the shared copies from the environment
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    rmSync(tmpRoot, { recursive: true, force: true });
  });

  it('fetches, verifies, extracts and caches; the next load reads the cache', async () => {
    hits.length = 0;
    // The first mirror answers 404; the loader goes on to the next one.
    const o = opts([`${base}/gone/wikitext-2-v1.zip`, `${base}/good/wikitext-2-v1.zip`]);
    const r = await loadSplitText('validation', o);
    expect(hits).toEqual(['/gone/wikitext-2-v1.zip', '/good/wikitext-2-v1.zip']);
    expect(r.sha256).toBe(rel.files.validation.sha256);
    expect(r.file).toBe(join(o.cacheRoot, 'wikitext-2-v1', 'wiki.valid.tokens'));
    // Both members of the archive were cached, nothing else.
    expect(cacheFiles(o.cacheRoot)).toEqual(['wikitext-2-v1/wiki.test.tokens', 'wikitext-2-v1/wiki.valid.tokens']);
    const t = await loadSplitText('test', o);
    expect(t.sha256).toBe(rel.files.test.sha256);
    expect(hits.length).toBe(2); // served from the cache, no new request
    expect(t.text.split('\n')[1]).toBe(' = Robert <unk> = ');
  });

  it('an archive without the wanted member is an error naming it', async () => {
    const o = opts([`${base}/good/wikitext-2-v1.zip`]);
    const e = await userError(loadSplitText('train', o));
    expect(e.message).toContain('the archive has no wikitext-2/wiki.train.tokens');
    expect(e.message).toContain(`${base}/good/wikitext-2-v1.zip`);
  });

  it('a corrupted archive is rejected and leaves no cache', async () => {
    for (const [kind, why] of [
      ['tampered', `member wikitext-2/wiki.valid.tokens fails verification: expected sha256 ${rel.files.validation.sha256}`],
      ['truncated', 'not a valid zip archive'],
      ['partial', 'wikitext-2-v1.zip: '],
    ] as const) {
      const o = opts([`${base}/${kind}/wikitext-2-v1.zip`]);
      const e = await userError(loadSplitText('validation', o));
      expect(e.message).toContain(why);
      expect(e.message).toContain('--data-dir');
      expect(cacheFiles(o.cacheRoot)).toEqual([]);
    }
  });

  it('a partial body is reported as such', async () => {
    const o = opts([`${base}/partial/wikitext-2-v1.zip`]);
    const e = await userError(loadSplitText('validation', o));
    expect(e.message).toMatch(/partial download: stopped after \d+ of \d+ bytes, connection reset by the server/);
  });

  it('a stalled server hits the idle timeout', async () => {
    const o = { ...opts([`${base}/stall/wikitext-2-v1.zip`]), downloadTimeoutMs: 300 };
    const e = await userError(loadSplitText('validation', o));
    expect(e.message).toContain('timed out (no data for 300 ms)');
    expect(cacheFiles(o.cacheRoot)).toEqual([]);
  });

  it('an unreachable mirror gives a helpful message listing the URLs tried and the way out', async () => {
    // A port that was just free: open a server, note its port, close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dead = `http://127.0.0.1:${port}/wikitext-2-v1.zip`;
    const o = opts([dead, `${base}/gone/wikitext-2-v1.zip`, 'not a url']);
    const e = await userError(loadSplitText('validation', o));
    expect(e.message).toContain('Tried:');
    expect(e.message).toContain(`${dead}: connection refused`);
    expect(e.message).toContain('not a url: not a valid URL');
    expect(e.message).toContain(`${base}/gone/wikitext-2-v1.zip: HTTP 404 Not Found`);
    expect(e.message).toContain('--data-dir DIR (or env WIKITEXT2_DIR=DIR)');
    expect(e.message).toContain('--mirror URL');
    expect(e.message).not.toMatch(/\n\s+at /); // no stack trace in the message
    expect(cacheFiles(o.cacheRoot)).toEqual([]);
  });
});
