/**
 * The dashboard server without a browser: what it lists, that a half-written
 * metrics.csv row is skipped, that changes are pushed by server-sent events,
 * that nothing outside the served folder can be read, and that it writes nothing.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsText } from '../src/artifacts/metrics.ts';
import { resolveInside } from '../src/serve/safePath.ts';
import { startServer, type DashboardServer } from '../src/serve/server.ts';
import type { SweepView } from '../src/serve/scan.ts';
import type { GraphsResponse } from '../src/serve/graphs.ts';
import { announce } from '../src/serve/announce.ts';

const tmp = mkdtempSync(join(tmpdir(), 'chinchilla-serve-'));
const root = join(tmp, 'runs');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'fit', 'sweep');
let srv: DashboardServer;

/** GET with the path sent exactly as written (no client-side normalisation of .. or %2e). */
function get(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under dir with its size and mtime, to show the server wrote nothing. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => join(e.parentPath, e.name))
    .sort()
    .map((p) => {
      const s = statSync(p, { throwIfNoEntry: false });
      return `${p} ${s?.size} ${s?.mtimeMs}`;
    });
}

beforeAll(async () => {
  cpSync(FIXTURE, join(root, 'fixture'), { recursive: true });
  writeFileSync(join(tmp, 'secret.txt'), 'outside the served folder\n');
  mkdirSync(join(root, 'fixture', 'plots'));
  writeFileSync(join(root, 'fixture', 'plots', '1-loss-vs-step.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  symlinkSync(join(tmp, 'secret.txt'), join(root, 'fixture', 'plots', 'leak.svg'));
  symlinkSync(tmp, join(root, 'up'));
  symlinkSync(join(root, 'fixture', 'sweep.json'), join(root, 'fixture', 'alias.json'));
  srv = await startServer({ dir: root, port: 0, host: '127.0.0.1', pollMs: 200 });
});
afterAll(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('metrics.csv while it is being written', () => {
  const head = 'step,tokens,flops_6nd,flops_kaplan,flops_chinchilla,train_loss,val_loss,lr,elapsed_s,tokens_per_s\n';
  it('keeps complete rows and skips an unfinished last line', () => {
    const r = parseMetricsText(head + '0,0,0,0,0,,5.5,0.001,0,\n10,640,1e9,1e9,1e9,5.1,5.0,0.001,2,320\n20,1280,2e9');
    expect(r.rows.map((x) => [x.step, x.val_loss])).toEqual([[0, 5.5], [10, 5]]);
    expect(Number.isNaN(r.rows[0]!.train_loss)).toBe(true);
    expect(r.skipped).toBe(1);
  });
  it('skips rows with the wrong number of cells or cells that are not numbers', () => {
    const r = parseMetricsText(head + '10,640,1e9,1e9,1e9,5.1,5.0,0.001,2,320\n20,1280,2e9\n30,x,1,1,1,1,1,1,1,1\n40,2560,4e9,4e9,4e9,4.8,4.7,0.001,8,320\n');
    expect(r.rows.map((x) => x.step)).toEqual([10, 40]);
    expect(r.skipped).toBe(2);
  });
  it('reads a header alone, or nothing, as no rows', () => {
    expect(parseMetricsText(head).rows).toEqual([]);
    expect(parseMetricsText('').rows).toEqual([]);
    expect(parseMetricsText('step,tok').rows).toEqual([]);
  });
});

describe('resolveInside', () => {
  it('maps plain paths and refuses every way out', () => {
    const r = srv.tree.root;
    expect(resolveInside(r, 'fixture/sweep.json')).toBe(join(r, 'fixture', 'sweep.json'));
    expect(resolveInside(r, 'fixture/alias.json')).toBe(join(r, 'fixture', 'sweep.json')); // symlink inside: allowed
    for (const bad of ['../secret.txt', '%2e%2e/secret.txt', '%2E%2E%2Fsecret.txt', 'fixture/..%2f..%2fsecret.txt', 'fixture/%2e%2e/%2e%2e/secret.txt',
      '..%5csecret.txt', 'up/secret.txt', 'fixture/plots/leak.svg', '%2fetc%2fpasswd', 'fixture/%00', 'fixture', '%zz', '.lock']) {
      expect(resolveInside(r, bad), bad).toBeNull();
    }
  });
});

describe('server', () => {
  it('lists the sweep and its runs with status, parameters and last validation loss', async () => {
    const res = await get('/api/sweeps');
    expect(res.status).toBe(200);
    const sweeps = JSON.parse(res.body) as SweepView[];
    expect(sweeps.map((s) => s.id)).toEqual(['fixture']);
    const s = sweeps[0]!;
    expect(s.runs).toHaveLength(6);
    const n0 = s.runs.find((r) => r.name === 'n0-1000000')!;
    expect(n0).toMatchObject({ status: 'finished', step: 20000, steps: 20000, progress: 1, params_total: 1000000, rows: 41, skipped_rows: 0 });
    const lastLine = readFileSync(join(FIXTURE, 'n0-1000000', 'metrics.csv'), 'utf8').trim().split('\n').pop()!;
    expect(n0.val_loss).toBe(Number(lastLine.split(',')[6]));
    expect(s.plots).toEqual(['fixture/plots/1-loss-vs-step.svg']); // leak.svg points outside: not listed (and not served)
  });

  it('serves the graphs of `chinchilla plot` as vega-lite specs, for all runs or a chosen few, by total or non-embedding N', async () => {
    const all = JSON.parse((await get('/api/graphs?sweep=fixture&n=total')).body) as GraphsResponse;
    expect(all.graphs.map((g) => g.id)).toEqual(['1-loss-vs-step', '2-loss-vs-compute', '3-compute-frontier', '4-isoflop-profiles', '5-optimal-allocation', '6-loss-surface', 'blog-1-val-loss-vs-step', 'blog-2-loss-vs-compute']); // the blog's two graphs too, as `chinchilla plot` draws them
    const g1 = all.graphs[0]!.spec as { data: { values: { series: string }[] } };
    expect(g1.data.values).toHaveLength(6 * 41);
    const two = JSON.parse((await get('/api/graphs?sweep=fixture&n=non-embedding&runs=n0-1000000,n5-32000000')).body) as GraphsResponse;
    expect(two.n).toBe('non-embedding');
    expect(two.fit).toBe('live');
    expect((two.graphs[0]!.spec as typeof g1).data.values).toHaveLength(2 * 41);
    expect(two.graphs[4]!.skipped).toMatch(/fit\.json/);
  });

  it('serves the page and the vega bundles from node_modules', async () => {
    expect((await get('/')).body).toContain('/vendor/vega-embed.js');
    for (const lib of ['vega', 'vega-lite', 'vega-embed']) {
      const r = await get(`/vendor/${lib}.js`);
      expect(r.status, lib).toBe(200);
      expect(r.body.length).toBeGreaterThan(50_000);
    }
    expect((await get('/vendor/yargs.js')).status).toBe(404);
    expect((await get('/static/../server.ts')).status).toBe(404);
  });

  it('answers 404 to every path that leaves the folder, raw or encoded, and to symlinks out of it', async () => {
    expect((await get('/files/fixture/sweep.json')).status).toBe(200);
    for (const p of ['/files/../secret.txt', '/files/%2e%2e/secret.txt', '/files/%2E%2E/secret.txt', '/files/..%2fsecret.txt',
      '/files/%2e%2e%2fsecret.txt', '/files/fixture/../../secret.txt', '/files/fixture/%2e%2e/%2e%2e/secret.txt', '/files/..%5csecret.txt',
      '/files//etc/passwd', '/files/%2fetc%2fpasswd', '/files/up/secret.txt', '/files/fixture/plots/leak.svg', '/files/fixture/nope.json',
      '/../secret.txt', '/files/%c0%ae%c0%ae/secret.txt']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('outside the served folder');
    }
  });

  it('is read-only: other methods are refused', async () => {
    for (const m of ['POST', 'PUT', 'DELETE']) expect((await get('/files/fixture/sweep.json', m)).status).toBe(405);
  });

  it('pushes a server-sent event when a row is appended, and never writes into the folder', async () => {
    const before = snapshot(root);
    const events: string[] = [];
    const got = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: srv.port, path: '/api/events' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          events.push(d);
          if (d.includes('event: sweeps')) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (events.some((x) => x.includes('event: sweeps')) ? resolve() : reject(e)));
      req.end();
      setTimeout(() => reject(new Error('no event within 5 s')), 5000);
    });
    await new Promise((r) => setTimeout(r, 300));
    const csv = join(root, 'fixture', 'n0-1000000', 'metrics.csv');
    appendFileSync(csv, '20500,1343488000,8.06e15,8e15,8.3e15,4.1,4.0,0.0006,2050,10000,0.01,16384\n');
    const t0 = Date.now();
    await got;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(events.join('')).toContain('data: ["fixture"]');
    const sweeps = JSON.parse((await get('/api/sweeps')).body) as SweepView[];
    expect(sweeps[0]!.runs.find((r) => r.name === 'n0-1000000')!.rows).toBe(42);
    // only the file this test appended to changed
    const after = snapshot(root);
    expect(after.filter((l) => !before.includes(l)).map((l) => l.split(' ')[0])).toEqual([csv]);
  });

  it('warns when it listens beyond this machine', () => {
    expect(announce('http://127.0.0.1:6006/', '127.0.0.1', '/r')).not.toMatch(/warning/);
    expect(announce('http://0.0.0.0:6006/', '0.0.0.0', '/r')).toMatch(/warning: listening on 0\.0\.0\.0.*anyone who can reach this port can read every run/);
  });
});
