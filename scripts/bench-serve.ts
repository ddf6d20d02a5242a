/**
 * How the dashboard copes with a big sweep: writes a synthetic sweep of RUNS
 * runs × ROWS evaluations each (curves from a Chinchilla-style law, as the fit
 * tests use), serves it, opens it in headless Chromium and prints
 *
 *   - the server's scan of the folder and its /api/graphs answer (ms),
 *   - first paint: page load until the runs table and every graph are drawn (ms),
 *   - update: a row appended to one metrics.csv until the page has redrawn with it (ms).
 *
 *   npx tsx scripts/bench-serve.ts [RUNS=300] [ROWS=100]
 *
 * Needs /usr/bin/chromium (or CHROMIUM_PATH). Times depend on the machine and its load.
 * SHOT=file.png also saves a screenshot of the page's first screen.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveSweep, writeSweep } from '../test/fixtures/fit/synthetic.ts';
import { FIXTURE_LAW } from '../test/fixtures/fit/make.ts';
import { startServer } from '../src/serve/server.ts';
import { RunsTree } from '../src/serve/scan.ts';
import { sweepGraphs } from '../src/serve/graphs.ts';
import { launchChromium } from '../test/helpers/browser.ts';

type Win = { dashboard: { draws: number; timings: { firstPaint: number | null; updates: number[] }; points(g: string): number } };

const runs = Number(process.argv[2] ?? 300);
const rows = Number(process.argv[3] ?? 100);
const tmp = mkdtempSync(join(tmpdir(), 'chinchilla-bench-serve-'));
const dir = join(tmp, 'big');
const sizes = Array.from({ length: runs }, (_, i) => 1e6 * Math.pow(2, (i * 6) / Math.max(1, runs - 1)));
writeSweep(dir, curveSweep(FIXTURE_LAW, { sizes, tokensPerStep: 65536, steps: 500 * (rows - 1), evalEvery: 500, sigma: 0.003, seed: 1 }), { name: 'big' });
console.log(`synthetic sweep: ${runs} runs × ${rows} rows = ${runs * rows} rows in ${dir}`);

let t = performance.now();
const tree = new RunsTree(dir);
tree.refresh();
console.log(`scan (first, parses every file): ${(performance.now() - t).toFixed(0)} ms`);
t = performance.now();
tree.refresh();
console.log(`scan (nothing changed, stat only): ${(performance.now() - t).toFixed(0)} ms`);
const st = tree.get('.')!;
t = performance.now();
const g = sweepGraphs(st.dir, st.data, 'total');
console.log(`graphs (live fit + 6 specs): ${(performance.now() - t).toFixed(0)} ms, ${JSON.stringify(g).length >> 10} KiB JSON, drawn: ${g.graphs.filter((x) => x.spec).map((x) => x.id).join(' ')}`);

const srv = await startServer({ dir, port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
  await page.goto(srv.url);
  await page.waitForFunction(() => (globalThis as unknown as Win).dashboard?.draws > 0, null, { timeout: 300_000 });
  const first = await page.evaluate(() => (globalThis as unknown as Win).dashboard.timings.firstPaint);
  const pts = await page.evaluate(() => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step'));
  console.log(`first paint: ${first?.toFixed(0)} ms after navigation (${pts} points on graph 1)`);
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
  for (let k = 0; k < 3; k++) {
    const before = await page.evaluate(() => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step'));
    const t0 = Date.now();
    const step = 500 * (rows + k);
    appendFileSync(join(dir, 'n0-1000000', 'metrics.csv'), `${step},${step * 65536},${6e6 * step * 65536},${6e6 * step * 65536},${6e6 * step * 65536},3.5,3.4,0.0006,${step / 10},10000\n`);
    // the count changes by +1, or more when the step axis turns logarithmic and drops step 0 (steps spanning > 100×)
    await page.waitForFunction((n) => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step') !== n, before, { timeout: 120_000 });
    console.log(`update ${k + 1}: row appended -> page redrawn in ${Date.now() - t0} ms (poll interval 1000 ms included)`);
  }
} finally {
  await browser.close();
  await srv.close();
  rmSync(tmp, { recursive: true, force: true });
}
